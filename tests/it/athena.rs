//! `--cost-source athena`: the query's SQL run for real in DuckDB over a CUR 2.0 table laid out
//! as the Cloud Intelligence Dashboards lay it out, equal row for row to what `--cost-export`
//! reads from the same files; the Athena protocol against the fake (paging, queueing, failure,
//! throttling, bytes scanned); and `run --cost-source athena` end to end.
//!
//! DuckDB comes from PyPI (`duckdb==2.0.1` in `~/.cache/entitlement-audit/duckdb-venv`, as
//! `scripts/bench-analysis.sh` and `.ci/run` install it; `ENTITLEMENT_AUDIT_DUCKDB_PYTHON`
//! names another interpreter). Without it the DuckDB tests fail, saying how to install it.

// A test reads its own switches (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use entitlement_audit::inputs::athena::sql::{self, TableColumns, Target};
use entitlement_audit::inputs::athena::usage_from_rows;
use entitlement_audit::inputs::cost_export::{self, Format};
use entitlement_audit::model::usage::{rows as usage_rows, UsageRow};
use serde_json::{json, Value};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/athena_duckdb.py");

/// The Python with DuckDB in it, or a failure saying how to get one.
fn duckdb_python() -> PathBuf {
    let python = std::env::var_os("ENTITLEMENT_AUDIT_DUCKDB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME");
            Path::new(&home).join(".cache/entitlement-audit/duckdb-venv/bin/python")
        });
    let ok = Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "DuckDB is needed to run the Athena SQL: `python3 -m venv ~/.cache/entitlement-audit/duckdb-venv && \
         ~/.cache/entitlement-audit/duckdb-venv/bin/pip install duckdb==2.0.1` (.ci/run does it), \
         or set ENTITLEMENT_AUDIT_DUCKDB_PYTHON; `{}` has no duckdb",
        python.display()
    );
    python
}

fn duckdb(args: &[&str]) -> String {
    let out = Command::new(duckdb_python())
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "athena_duckdb.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `lines` (CUR 2.0 line items with their partition) as the CID table under `root`.
pub fn write_cur2_table(root: &Path, lines: &[Value]) {
    write_table(root, "cur2", lines)
}

/// Writes `lines` as the table `name` under `root/name`.
fn write_table(root: &Path, name: &str, lines: &[Value]) {
    let file = root.join("lines.jsonl");
    let mut f = std::fs::File::create(&file).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let data = root.join(name);
    duckdb(&["write", data.to_str().unwrap(), file.to_str().unwrap()]);
    std::fs::remove_file(file).unwrap();
}

/// The table's columns (what `GetTableMetadata` would list) as (name, DuckDB type).
pub fn describe(root: &Path) -> Vec<(String, String)> {
    describe_table(root, "cur2")
}

/// [`describe`] of the table `name` (`cur2`, `focus`) under `root/name`.
fn describe_table(root: &Path, name: &str) -> Vec<(String, String)> {
    let text = duckdb(&["describe", root.join(name).to_str().unwrap(), name]);
    let cols: Vec<(String, String)> = serde_json::from_str(&text).unwrap();
    cols
}

/// Athena's SQL as DuckDB runs it: a small translation for this test only.
///
/// DuckDB (2.0.1) is close to Trino, the engine behind Athena, but not equal. What the query
/// uses and differs:
/// - `element_at(map, key)`: the value, or NULL for a missing key, in Trino; a LIST (`[v]` or
///   `[]`) in DuckDB. Written `map[key]` for DuckDB, whose subscript gives the value or NULL
///   (Trino's subscript fails on a missing key, which is why the query uses `element_at`).
/// - `?` execution parameters: Athena substitutes each value's literal text; so does this.
///
/// Everything else it uses means the same in both: `CAST(.. AS date|timestamp|varchar|double)`,
/// `coalesce`, `nullif`, `trim`, `rtrim`, `LIKE`, `IN`, `CASE`, `sum`, `count(*)`, `GROUP BY`
/// ordinals, quoted `"database"."table"`. Any other function in the SQL fails the test, so the
/// list cannot silently grow past what was checked.
pub fn to_duckdb(athena: &str, parameters: &[String]) -> String {
    const SAME: &[&str] = &[
        "CAST", "coalesce", "nullif", "trim", "rtrim", "sum", "count", "IN",
    ];
    let mut out = String::new();
    let mut rest = athena;
    let mut params = parameters.iter();
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            // A literal, copied whole ('' inside is an escaped quote).
            let bytes = rest.as_bytes();
            let mut end = 1;
            loop {
                assert!(end < bytes.len(), "an unclosed literal");
                if bytes[end] == b'\'' {
                    if bytes.get(end + 1) == Some(&b'\'') {
                        end += 2;
                        continue;
                    }
                    break;
                }
                end += 1;
            }
            out.push_str(&rest[..=end]);
            rest = &rest[end + 1..];
        } else if c == '?' {
            out.push_str(params.next().expect("a parameter for each ?"));
            rest = &rest[1..];
        } else if let Some(args) = rest.strip_prefix("element_at(") {
            let (map, after) = args.split_once(", ").expect("element_at(map, key)");
            let close = after.find(')').expect("element_at closes");
            out.push_str(&format!("{map}[{}]", &after[..close]));
            rest = &after[close + 1..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            if rest[len..].starts_with('(') {
                assert!(
                    SAME.contains(&word),
                    "`{word}(` in the query: check how DuckDB differs and add it to `to_duckdb`"
                );
            }
            out.push_str(word);
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    assert!(params.next().is_none(), "more parameters than `?`");
    out
}

/// Runs `query` in DuckDB over the table under `root`: its result as Athena would send it.
pub fn run_in_duckdb(root: &Path, query: &sql::Query) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    run_in_duckdb_on(root, "cur2", query)
}

/// [`run_in_duckdb`] over the table `name`.
fn run_in_duckdb_on(
    root: &Path,
    name: &str,
    query: &sql::Query,
) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let file = root.join("query.sql");
    std::fs::write(&file, to_duckdb(&query.sql, &query.parameters)).unwrap();
    let data = root.join(name);
    let text = duckdb(&[
        "query",
        data.to_str().unwrap(),
        name,
        file.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let header = serde_json::from_value(doc["header"].clone()).unwrap();
    let rows = serde_json::from_value(doc["rows"].clone()).unwrap();
    (header, rows)
}

/// The query over the table under `root` for `start..=end`, with the columns it has.
pub fn query_for(root: &Path, start: NaiveDate, end: NaiveDate, tag_key: &str) -> sql::Query {
    let cols = describe(root);
    let table = TableColumns::new(cols.iter().map(|(n, _)| n.as_str()));
    let target = Target::new("cid_data_export", "cur2", tag_key).unwrap();
    sql::build(Format::Cur2, &target, &table, start, end)
}

/// A CUR 2.0 line item as the test writes it.
pub struct Line<'a> {
    pub payer: &'a str,
    pub period: &'a str,
    /// `YYYY-MM-DD HH:MM:SS`
    pub start: String,
    pub account: &'a str,
    pub entity: &'a str,
    pub kind: &'a str,
    pub product: Option<&'a str>,
    pub usage_type: Option<&'a str>,
    pub cost: Option<f64>,
    pub amount: Option<f64>,
    pub public: Option<f64>,
    /// `None`: the file has no principal column at all (an older export).
    pub principal: Option<Option<String>>,
    pub resource_tags: Value,
    pub tags: Option<Value>,
}

impl Line<'_> {
    pub fn json(&self) -> Value {
        let mut product = json!({"region": "us-east-1"});
        if let Some(p) = self.product {
            product["product_name"] = json!(p);
        }
        let mut v = json!({
            "source_account_id": self.payer,
            "billing_period": self.period,
            "bill_payer_account_id": self.payer,
            "bill_billing_entity": self.entity,
            "line_item_line_item_type": self.kind,
            "line_item_usage_start_date": self.start,
            "line_item_usage_account_id": self.account,
            "line_item_product_code": "prod-abc123",
            "line_item_usage_type": self.usage_type,
            "line_item_unblended_cost": self.cost,
            "line_item_usage_amount": self.amount,
            "pricing_public_on_demand_cost": self.public,
            "product": product,
            "resource_tags": self.resource_tags,
        });
        if let Some(p) = &self.principal {
            v["line_item_iam_principal"] = json!(p);
        }
        if let Some(t) = &self.tags {
            v["tags"] = t.clone();
        }
        v
    }
}

/// A small deterministic generator (no dependency for it).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Line items over September and October 2026 of every shape the reader and the query must
/// agree on: Bedrock and other Marketplace products (one name with a trailing space), first-party
/// AWS lines, usage, credits, discounts and tax, days before, inside and after the window,
/// principals as role sessions, users, empty or absent, team tags in `resource_tags` or only
/// in `tags`, blank or missing, public costs missing, usage types NULL. September is an older
/// export: its files have no `line_item_iam_principal` column.
fn mixed_lines() -> Vec<Value> {
    let products = [
        Some("Claude 3 Haiku (Amazon Bedrock Edition)"),
        Some("Command R+ (Amazon Bedrock Edition) "),
        Some("Acme Log Analytics"),
        None,
    ];
    let accounts = ["111122223333", "444455556666", "123456789012"];
    let kinds = ["Usage", "Usage", "Usage", "Credit", "EdpDiscount", "Tax"];
    let usage_types = [
        Some("USE1-MP:USE1_InputTokenCount-Units"),
        Some("USE1-MP:USE1_OutputTokenCount-Units"),
        None,
    ];
    let mut rng = Lcg(7);
    let mut lines = Vec::new();
    for (period, days) in [("2026-09", 1..=30), ("2026-10", 1..=31)] {
        for day in days {
            for hour in [0, 13, 23] {
                for _ in 0..3 {
                    let entity = if rng.next(8) == 0 {
                        "AWS"
                    } else {
                        "AWS Marketplace"
                    };
                    let kind = kinds[rng.next(kinds.len())];
                    let account = accounts[rng.next(accounts.len())];
                    let principal = match rng.next(5) {
                        0 => None,
                        1 => Some(String::new()),
                        2 => Some(format!("arn:aws:iam::{account}:user/alice")),
                        _ => Some(format!(
                            "arn:aws:sts::{}:assumed-role/BedrockApp/s{}",
                            accounts[rng.next(2)],
                            rng.next(3)
                        )),
                    };
                    let team = ["payments", " search ", "   ", "ml"][rng.next(4)];
                    let (resource_tags, tags) = match rng.next(4) {
                        0 => (json!({}), Some(json!({"user_team": team}))),
                        1 => (json!({"user_env": "prod"}), None),
                        _ => (json!({"user_team": team, "user_env": "dev"}), None),
                    };
                    let cost = (rng.next(100_000) as f64 - 10_000.0) / 997.0;
                    lines.push(
                        Line {
                            payer: "123456789012",
                            period,
                            start: format!("{period}-{day:02} {hour:02}:00:00"),
                            account,
                            entity,
                            kind,
                            product: products[rng.next(products.len())],
                            usage_type: usage_types[rng.next(usage_types.len())],
                            cost: (rng.next(20) != 0).then_some(cost),
                            amount: (rng.next(10) != 0).then(|| rng.next(50_000) as f64),
                            public: (rng.next(3) != 0).then(|| cost.abs() * 1.25),
                            principal: (period == "2026-10").then_some(principal),
                            resource_tags,
                            tags: (period == "2026-10").then(|| tags.unwrap_or(json!({}))),
                        }
                        .json(),
                    );
                }
            }
        }
    }
    lines
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A usage row's key: day, account, product, usage type, team, caller.
pub type RowKey = (
    NaiveDate,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

pub fn row_key(r: &UsageRow) -> RowKey {
    (
        r.date,
        r.account_id.clone(),
        r.product.clone(),
        r.usage_type.clone(),
        r.team_tag.clone(),
        r.caller_account_id.clone(),
    )
}

/// Rows equal in their keys and, to a billionth of a dollar or unit, in their sums.
pub fn assert_same_rows(athena: &[UsageRow], export: &[UsageRow]) {
    assert_eq!(athena.len(), export.len(), "row counts");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    for (i, (a, e)) in athena.iter().zip(export).enumerate() {
        assert_eq!(row_key(a), row_key(e), "row {i}");
        assert!(close(a.cost_usd, e.cost_usd), "row {i}: {a:?} vs {e:?}");
        assert!(
            close(a.usage_quantity, e.usage_quantity),
            "row {i}: {a:?} vs {e:?}"
        );
        match (a.public_cost_usd, e.public_cost_usd) {
            (Some(x), Some(y)) => assert!(close(x, y), "row {i}: {a:?} vs {e:?}"),
            (x, y) => assert_eq!(x, y, "row {i}"),
        }
    }
}

/// The SQL of `--cost-source athena`, run in DuckDB over the CID layout of CUR 2.0 (hive
/// partitions, MAP columns, an older period without the principal column), gives the usage
/// table the export reader reads from the same files, restricted to the window, row for row.
#[test]
fn the_athena_sql_in_duckdb_reads_what_the_export_reader_reads() {
    let dir = tempfile::tempdir().unwrap();
    write_cur2_table(dir.path(), &mixed_lines());
    let (start, end) = (day("2026-09-12"), day("2026-10-20"));
    let query = query_for(dir.path(), start, end, "team");
    assert!(query.reads_principal, "the October files have the column");
    assert_eq!(query.parameters.len(), 4, "{:?}", query.parameters);
    let (header, rows) = run_in_duckdb(dir.path(), &query);
    let athena = usage_rows(&usage_from_rows(&header, &rows).unwrap()).unwrap();

    let export = cost_export::read(&dir.path().join("cur2"), "team").unwrap();
    assert_eq!(export.files.len(), 2);
    assert!(export.notes.is_empty(), "{:?}", export.notes);
    let all = usage_rows(&export.usage).unwrap();
    let in_window: Vec<UsageRow> = all
        .iter()
        .filter(|r| (start..=end).contains(&r.date))
        .cloned()
        .collect();
    assert!(
        in_window.len() < all.len(),
        "the files reach beyond the window"
    );
    assert!(in_window.len() > 100, "{}", in_window.len());
    assert_same_rows(&athena, &in_window);

    // The shapes the comparison rests on are there.
    let some = |f: &dyn Fn(&UsageRow) -> bool| athena.iter().any(f);
    assert!(some(
        &|r| r.usage_type == "Credit" && r.public_cost_usd.is_none()
    ));
    assert!(some(&|r| r.usage_type == "EdpDiscount"));
    assert!(!some(&|r| r.usage_type == "Tax"));
    assert!(some(&|r| r.product.ends_with(' ')));
    assert!(!some(&|r| r.product == "Acme Log Analytics"));
    assert!(some(&|r| r.team_tag.as_deref() == Some("search")));
    assert!(!some(&|r| r.team_tag.as_deref() == Some("   ")));
    assert!(some(&|r| r.caller_account_id.is_some()));
    assert!(some(
        &|r| r.date < day("2026-10-01") && r.caller_account_id.is_none()
    ));
    assert!(some(&|r| r.usage_type.is_empty()));
}

/// A table that never had the principal column: the query does not name it, spend stays with
/// the billed account, and the rows still equal the reader's.
#[test]
fn a_table_without_the_principal_column_is_queried_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<Value> = mixed_lines()
        .into_iter()
        .filter(|l| l["billing_period"] == "2026-09")
        .collect();
    write_cur2_table(dir.path(), &lines);
    let (start, end) = (day("2026-09-01"), day("2026-09-30"));
    let query = query_for(dir.path(), start, end, "team");
    assert!(!query.reads_principal);
    assert!(query.absent.contains(&"line_item_iam_principal"));
    let (header, rows) = run_in_duckdb(dir.path(), &query);
    let athena = usage_rows(&usage_from_rows(&header, &rows).unwrap()).unwrap();
    let export = cost_export::read(&dir.path().join("cur2"), "team").unwrap();
    assert_same_rows(&athena, &usage_rows(&export.usage).unwrap());
    assert!(athena.iter().all(|r| r.caller_account_id.is_none()));
}

/// FOCUS line items over two months: Bedrock and other services, the charge categories kept and
/// not, tags in FOCUS's `user:<key>` form, blank or missing, no `x_UsageType` in October (as
/// FOCUS 1.2 has none).
fn focus_lines() -> Vec<Value> {
    let services = [
        "Claude 3 Haiku (Amazon Bedrock Edition)",
        "Command R+ (Amazon Bedrock Edition)",
        "Amazon Elastic Compute Cloud",
    ];
    let categories = ["Usage", "Usage", "Credit", "Adjustment", "Tax", "Purchase"];
    let accounts = ["111122223333", "444455556666"];
    let mut rng = Lcg(11);
    let mut lines = Vec::new();
    for (period, days) in [("2026-09", 1..=30), ("2026-10", 1..=31)] {
        for day in days {
            for hour in [1, 12, 22] {
                let cost = (rng.next(50_000) as f64 - 5_000.0) / 331.0;
                let team = ["payments", " ml ", " "][rng.next(3)];
                let tags = match rng.next(3) {
                    0 => json!({}),
                    1 => json!({"user:team": team}),
                    _ => json!({"user:team": team, "user:env": "prod"}),
                };
                let mut line = json!({
                    "source_account_id": "123456789012",
                    "billing_period": period,
                    "ChargePeriodStart": format!("{period}-{day:02} {hour:02}:00:00"),
                    "SubAccountId": accounts[rng.next(2)],
                    "ServiceName": services[rng.next(services.len())],
                    "ChargeCategory": categories[rng.next(categories.len())],
                    "BilledCost": (rng.next(15) != 0).then_some(cost),
                    "ConsumedQuantity": (rng.next(8) != 0).then(|| rng.next(9_000) as f64),
                    "ListCost": (rng.next(3) != 0).then(|| cost.abs() * 1.3),
                    "Tags": tags,
                });
                if period == "2026-09" {
                    line["x_UsageType"] =
                        json!(["USE1-MP:USE1_InputTokenCount-Units", "x"][rng.next(2)]);
                }
                lines.push(line);
            }
        }
    }
    lines
}

/// The FOCUS query in DuckDB over a `cid_data_export.focus` table reads what the export reader
/// reads from the same FOCUS files, row for row.
#[test]
fn the_focus_sql_in_duckdb_reads_what_the_export_reader_reads() {
    let dir = tempfile::tempdir().unwrap();
    write_table(dir.path(), "focus", &focus_lines());
    let (start, end) = (day("2026-09-20"), day("2026-10-10"));
    let cols = describe_table(dir.path(), "focus");
    let table = TableColumns::new(cols.iter().map(|(n, _)| n.as_str()));
    let target = Target::new("cid_data_export", "focus", "team").unwrap();
    let query = sql::build(Format::Focus, &target, &table, start, end);
    assert!(!query.reads_principal);
    assert!(sql::missing_columns(Format::Focus, &table).is_empty());
    let (header, rows) = run_in_duckdb_on(dir.path(), "focus", &query);
    let athena = usage_rows(&usage_from_rows(&header, &rows).unwrap()).unwrap();
    let export = cost_export::read(&dir.path().join("focus"), "team").unwrap();
    assert!(export.files.iter().all(|f| f.1 == Format::Focus));
    let in_window: Vec<UsageRow> = usage_rows(&export.usage)
        .unwrap()
        .into_iter()
        .filter(|r| (start..=end).contains(&r.date))
        .collect();
    assert!(in_window.len() > 20, "{}", in_window.len());
    assert_same_rows(&athena, &in_window);
    assert!(athena.iter().any(|r| r.usage_type == "Adjustment"));
    assert!(athena.iter().any(|r| r.team_tag.as_deref() == Some("ml")));
    assert!(!athena
        .iter()
        .any(|r| r.usage_type == "Tax" || r.product.starts_with("Amazon Elastic")));
}

#[test]
fn the_dialect_translation_rewrites_maps_and_parameters_only() {
    let sql = "SELECT element_at(product, 'product_name') AS p, trim(x) FROM \"d\".\"t\" \
               WHERE a IN (?, ?) AND b = 'it''s ?' AND c < CAST(? AS timestamp)";
    let params = ["'2026-09'", "'2026-10'", "'2026-10-04 00:00:00'"].map(String::from);
    assert_eq!(
        to_duckdb(sql, &params),
        "SELECT product['product_name'] AS p, trim(x) FROM \"d\".\"t\" \
         WHERE a IN ('2026-09', '2026-10') AND b = 'it''s ?' AND c < CAST('2026-10-04 00:00:00' AS timestamp)"
    );
    let unknown = std::panic::catch_unwind(|| to_duckdb("SELECT date_format(x, '%Y')", &[]));
    assert!(unknown.is_err());
}

// The protocol, against the fake Athena, through the real SDK client.

use crate::support;
use entitlement_audit::inputs::athena::AthenaOptions;
use entitlement_audit::inputs::collect::athena::{QUERY_FAILED, SCAN_LIMIT_NOT_ENFORCED};
use entitlement_audit::inputs::collect::{athena_usage_with, AthenaUsage, NoProgress};
use support::fake_aws::{Athena, FakeAws, Faults};

/// The CID `cur2` table's columns the query reads (with or without the principal).
pub fn cur2_columns(principal: bool) -> Vec<(String, String)> {
    let mut cols = vec![
        ("bill_billing_entity", "string"),
        ("line_item_line_item_type", "string"),
        ("line_item_usage_start_date", "timestamp"),
        ("line_item_usage_account_id", "string"),
        ("line_item_usage_type", "string"),
        ("line_item_unblended_cost", "double"),
        ("line_item_usage_amount", "double"),
        ("pricing_public_on_demand_cost", "double"),
        ("product", "map<string,string>"),
        ("resource_tags", "map<string,string>"),
    ];
    if principal {
        cols.push(("line_item_iam_principal", "string"));
    }
    cols.into_iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

const PARTITIONS: [&str; 4] = ["source_account_id", "report_name", "data", "billing_period"];

/// A fake table with `rows` result rows (distinct keys), every query succeeding at once.
pub fn served(rows: usize) -> Athena {
    let header: Vec<String> = sql::RESULT_COLUMNS.iter().map(|s| s.to_string()).collect();
    let rows = (0..rows)
        .map(|i| {
            let text = format!(
                "2026-10-0{}|{}|Claude 3 Haiku (Amazon Bedrock Edition)|USE1-MP:USE1_Dimension{}-Units|{}|{}|{}|{}|~|1",
                1 + i % 3,
                ["111122223333", "444455556666", "777788889999"][i % 3],
                i / 3,
                if i % 2 == 0 { "payments" } else { "~" },
                if i % 5 == 0 { "arn:aws:sts::444455556666:assumed-role/App/s" } else { "~" },
                (i % 97) as f64 / 8.0,
                i * 10,
            );
            text.split('|')
                .map(|v| (v != "~").then(|| v.to_string()))
                .collect()
        })
        .collect();
    Athena {
        columns: cur2_columns(true),
        partitions: PARTITIONS.map(String::from).to_vec(),
        header,
        rows,
        ..Athena::default()
    }
}

pub fn fast_athena() -> AthenaOptions {
    let mut o = AthenaOptions::new(Format::Cur2);
    o.poll_initial = std::time::Duration::from_millis(1);
    o.poll_max = std::time::Duration::from_millis(4);
    o.timeout = std::time::Duration::from_secs(10);
    o
}

async fn query_fake(fake: &FakeAws, athena: &AthenaOptions) -> AthenaUsage {
    let opts = support::options();
    let clients = support::clients(fake, &opts).await;
    athena_usage_with(&clients, &opts, athena, support::now(), &NoProgress)
        .await
        .unwrap()
}

fn calls<'a>(fake: &'a FakeAws, op: &'a str) -> Vec<support::fake_aws::Call> {
    fake.calls().into_iter().filter(|c| c.op == op).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_paged_by_1000_rows_with_the_header_on_the_first_page_only() {
    let fake = support::start(Faults::default()).await;
    fake.set_athena(served(2500));
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    let usage = usage_rows(&got.usage.unwrap()).unwrap();
    assert_eq!(
        usage.len(),
        2500,
        "each row a key of its own, none the header"
    );
    assert!(usage.iter().all(|r| r.account_id != "account_id"));
    assert_eq!(got.query.as_ref().unwrap().result_rows, 2500);
    let pages = calls(&fake, "GetQueryResults");
    let tokens: Vec<Option<&str>> = pages.iter().map(|c| c.body["NextToken"].as_str()).collect();
    assert_eq!(tokens, [None, Some("r999"), Some("r1999")]);
    assert!(pages
        .iter()
        .all(|c| c.body["MaxResults"] == 1000 && c.status == 200));
    // NULLs (no VarCharValue) are NULL, not text.
    assert!(usage.iter().any(|r| r.team_tag.is_none()));
    assert!(usage
        .iter()
        .any(|r| r.caller_account_id.as_deref() == Some("444455556666")));
    assert!(usage.iter().all(|r| r.public_cost_usd.is_none()));
    assert!(fake.calls().iter().all(|c| c.prefix == "AmazonAthena"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_names_the_workgroup_database_output_parameters_and_reuse() {
    let fake = support::start(Faults::default()).await;
    fake.set_athena(served(3));
    let mut athena = fast_athena();
    athena.workgroup = Some("finops".into());
    athena.output = Some("s3://audit-results-123456789012/athena/".into());
    let got = query_fake(&fake, &athena).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    let meta = &calls(&fake, "GetTableMetadata")[0].body;
    assert_eq!(meta["CatalogName"], "AwsDataCatalog");
    assert_eq!(meta["DatabaseName"], "cid_data_export");
    assert_eq!(meta["TableName"], "cur2");
    let start = &calls(&fake, "StartQueryExecution")[0].body;
    assert_eq!(start["WorkGroup"], "finops");
    assert_eq!(
        start["QueryExecutionContext"]["Database"],
        "cid_data_export"
    );
    assert_eq!(
        start["ResultConfiguration"]["OutputLocation"],
        "s3://audit-results-123456789012/athena/"
    );
    assert_eq!(
        start["ExecutionParameters"],
        json!([
            "'2026-10'",
            "'2026-10-01 00:00:00'",
            "'2026-10-04 00:00:00'"
        ])
    );
    assert_eq!(
        start["ResultReuseConfiguration"]["ResultReuseByAgeConfiguration"],
        json!({"Enabled": true, "MaxAgeInMinutes": 60})
    );
    assert_eq!(start["ClientRequestToken"].as_str().unwrap().len(), 64);
    let text = start["QueryString"].as_str().unwrap();
    assert!(text.contains("line_item_iam_principal"));
    assert!(text.contains("FROM \"cid_data_export\".\"cur2\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_going_back_to_queued_is_waited_for() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(4);
    a.states = ["QUEUED", "RUNNING", "QUEUED", "RUNNING", "SUCCEEDED"]
        .map(String::from)
        .to_vec();
    fake.set_athena(a);
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    assert_eq!(usage_rows(&got.usage.unwrap()).unwrap().len(), 4);
    assert_eq!(fake.ok_calls("GetQueryExecution"), 5);
    assert_eq!(got.query.unwrap().state, "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_query_is_a_gap_with_its_reason_never_an_empty_table() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(4);
    a.states = ["RUNNING", "FAILED"].map(String::from).to_vec();
    a.reason = Some((
        "HIVE_BAD_DATA: Field line_item_usage_amount's type BINARY in parquet is incompatible with type double".into(),
        json!({"ErrorCategory": 2, "ErrorType": 1001, "Retryable": false, "ErrorMessage": "HIVE_BAD_DATA"}),
    ));
    a.scanned_bytes = 5_000_000;
    fake.set_athena(a);
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.usage.is_none());
    assert_eq!(got.gaps.len(), 1, "{:?}", got.gaps);
    let gap = &got.gaps[0];
    assert_eq!(
        (
            gap.service.as_str(),
            gap.operation.as_str(),
            gap.error_code.as_str()
        ),
        ("athena", "GetQueryExecution", QUERY_FAILED)
    );
    assert_eq!(gap.scope, "cid_data_export.cur2");
    assert!(
        gap.message
            .contains("HIVE_BAD_DATA: Field line_item_usage_amount"),
        "{}",
        gap.message
    );
    assert!(
        gap.message
            .contains("category 2, type 1001, retryable false"),
        "{}",
        gap.message
    );
    assert_eq!(gap.tables, [entitlement_audit::snapshot::Table::Usage]);
    assert_eq!(fake.ok_calls("GetQueryResults"), 0);
    let q = got.query.unwrap();
    assert_eq!(
        (q.state.as_str(), q.cost_usd, q.billed_bytes),
        ("FAILED", 0.0, 0)
    );

    // In the snapshot: the usage table is empty and the ledger says it is incomplete.
    let mut snap = entitlement_audit::inputs::demo::builtin();
    entitlement_audit::inputs::athena::replace_usage(
        &mut snap,
        &fast_athena(),
        None,
        None,
        got.gaps,
    );
    assert_eq!(snap.usage.height(), 0);
    assert!(!snap.is_complete());
    assert!(snap
        .incomplete_tables()
        .contains(&entitlement_audit::snapshot::Table::Usage));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_retried_with_the_same_request_token() {
    let mut faults = Faults::default();
    for (op, n) in [
        ("StartQueryExecution", 2),
        ("GetQueryExecution", 1),
        ("GetQueryResults", 1),
        ("GetTableMetadata", 1),
    ] {
        faults.throttle.insert(op.to_string(), n);
    }
    let fake = support::start(faults).await;
    fake.set_athena(served(1200));
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    assert_eq!(usage_rows(&got.usage.unwrap()).unwrap().len(), 1200);
    let starts = calls(&fake, "StartQueryExecution");
    assert_eq!(starts.len(), 3);
    assert_eq!(
        starts
            .iter()
            .filter(|c| c.error.as_deref() == Some("TooManyRequestsException"))
            .count(),
        2
    );
    let tokens: BTreeSet<&str> = starts
        .iter()
        .map(|c| c.body["ClientRequestToken"].as_str().unwrap())
        .collect();
    assert_eq!(tokens.len(), 1, "a retried start is the same query");
    assert_eq!(fake.failed_calls("GetQueryResults"), 1);
    assert_eq!(fake.ok_calls("GetQueryResults"), 2);
    // Every call is a listed operation, and a read.
    for c in fake.calls() {
        let op = entitlement_audit::inputs::collect::permissions::find(c.service(), &c.op)
            .unwrap_or_else(|| panic!("`{}` is not in the permissions list", c.op));
        assert!(entitlement_audit::inputs::collect::permissions::is_read(
            op.name
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_scanned_are_reported_and_priced() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(2);
    a.scanned_bytes = 3 * (1 << 30) + 1;
    fake.set_athena(a);
    let q = query_fake(&fake, &fast_athena()).await.query.unwrap();
    assert_eq!(q.data_scanned_bytes, 3 * (1 << 30) + 1);
    assert_eq!(q.billed_bytes, 3 * (1 << 30) + (1 << 20));
    assert!((q.cost_usd - (3.0 * 1024.0 + 1.0) / (1024.0 * 1024.0) * 5.0).abs() < 1e-12);
    assert!(q.summary().contains("3072.0 MB scanned"), "{}", q.summary());

    // A reused result scanned nothing and costs nothing.
    let fake = support::start(Faults::default()).await;
    let mut a = served(2);
    a.reused = true;
    fake.set_athena(a);
    let q = query_fake(&fake, &fast_athena()).await.query.unwrap();
    assert!(q.reused_previous_result);
    assert_eq!(q.cost_usd, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_the_principal_column_is_said_so() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(2);
    a.columns = cur2_columns(false);
    fake.set_athena(a);
    let got = query_fake(&fake, &fast_athena()).await;
    let q = got.query.unwrap();
    assert!(!q.reads_iam_principal);
    assert!(q
        .absent_columns
        .contains(&"line_item_iam_principal".to_string()));
    let start = &calls(&fake, "StartQueryExecution")[0].body;
    assert!(!start["QueryString"]
        .as_str()
        .unwrap()
        .contains("line_item_iam_principal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_another_shape_is_a_gap_naming_the_missing_columns() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(2);
    a.columns.retain(|(n, _)| n != "product");
    a.partitions.clear();
    fake.set_athena(a);
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.usage.is_none());
    assert_eq!(got.gaps[0].error_code, "MissingColumns");
    assert!(
        got.gaps[0].message.contains("`product`, `billing_period`"),
        "{}",
        got.gaps[0].message
    );
    assert!(calls(&fake, "StartQueryExecution").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scan_limit_needs_the_workgroup_cutoff() {
    let fake = support::start(Faults::default()).await;
    fake.set_athena(served(2));
    let mut athena = fast_athena();
    athena.max_scan_gb = Some(10.0);
    let got = query_fake(&fake, &athena).await;
    assert!(got.usage.is_none());
    assert_eq!(got.gaps[0].error_code, SCAN_LIMIT_NOT_ENFORCED);
    assert!(
        got.gaps[0].message.contains("not set"),
        "{}",
        got.gaps[0].message
    );
    assert!(calls(&fake, "StartQueryExecution").is_empty());

    let mut a = served(2);
    a.cutoff = Some(20 * (1 << 30));
    fake.set_athena(a.clone());
    let got = query_fake(&fake, &athena).await;
    assert!(
        got.gaps[0].message.contains("20.0 GB"),
        "{}",
        got.gaps[0].message
    );

    a.cutoff = Some(1 << 30);
    fake.set_athena(a);
    let got = query_fake(&fake, &athena).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    assert!(got.usage.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workgroup_refusing_result_reuse_gets_the_query_without_it() {
    let fake = support::start(Faults::default()).await;
    let mut a = served(2);
    a.refuse_reuse = true;
    fake.set_athena(a);
    let got = query_fake(&fake, &fast_athena()).await;
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    let starts = calls(&fake, "StartQueryExecution");
    assert_eq!(starts.len(), 2);
    assert!(starts[1].body.get("ResultReuseConfiguration").is_none());
    assert_eq!(starts[1].status, 200);
}

// `run --cost-source athena` end to end, against the fake serving the demo organization.

use entitlement_audit::snapshot::Snapshot;
use support::cli::Bin;
use support::fake_aws::Scenario;

const DEMO_CONFIG_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.toml");

/// The demo's usage as CUR 2.0 line items in the CID layout: each row split in two hourly
/// lines (a `Credit` for a negative cost), its team as the `user_team` resource tag; every
/// fourth row billed to the subscriber with the member that called as the IAM principal (the
/// demo has no callers of its own, so the allocation's move to the caller is exercised);
/// beside them lines neither source may keep (another Marketplace product, a first-party line,
/// tax).
pub fn demo_lines(snap: &Snapshot) -> Vec<Value> {
    let payer = snap.organization.management_account_id.clone();
    let subscriber = snap.organization.subscriber_account_id.clone();
    let mut lines = Vec::new();
    for (i, mut r) in usage_rows(&snap.usage).unwrap().into_iter().enumerate() {
        let kind = if r.cost_usd < 0.0 { "Credit" } else { "Usage" };
        let mut principal = None;
        if i % 4 == 0 && r.account_id != subscriber {
            principal = Some(format!(
                "arn:aws:sts::{}:assumed-role/BedrockApp/session",
                r.account_id
            ));
            r.account_id = subscriber.clone();
        }
        let tags = match &r.team_tag {
            Some(t) => json!({"user_team": t}),
            None => json!({}),
        };
        let period = r.date.format("%Y-%m").to_string();
        for (hour, share) in [(3, 0.25), (17, 0.75)] {
            lines.push(
                Line {
                    payer: &payer,
                    period: &period,
                    start: format!("{} {hour:02}:00:00", r.date),
                    account: &r.account_id,
                    entity: "AWS Marketplace",
                    kind,
                    product: Some(&r.product),
                    usage_type: Some(&r.usage_type),
                    cost: Some(r.cost_usd * share),
                    amount: Some(r.usage_quantity * share),
                    public: r.public_cost_usd.map(|p| p * share),
                    principal: Some(principal.clone()),
                    resource_tags: tags.clone(),
                    tags: None,
                }
                .json(),
            );
        }
    }
    let first = usage_rows(&snap.usage).unwrap()[0].clone();
    let period = first.date.format("%Y-%m").to_string();
    for (entity, kind, product) in [
        ("AWS Marketplace", "Usage", "Acme Log Analytics"),
        ("AWS", "Usage", "Claude 3 Haiku (Amazon Bedrock Edition)"),
        (
            "AWS Marketplace",
            "Tax",
            "Claude 3 Haiku (Amazon Bedrock Edition)",
        ),
    ] {
        lines.push(
            Line {
                payer: &payer,
                period: &period,
                start: format!("{} 05:00:00", first.date),
                account: &first.account_id,
                entity,
                kind,
                product: Some(product),
                usage_type: Some("USE1-MP:USE1_InputTokenCount-Units"),
                cost: Some(1234.5),
                amount: Some(1.0),
                public: None,
                principal: Some(None),
                resource_tags: json!({}),
                tags: None,
            }
            .json(),
        );
    }
    lines
}

/// `run` of the demo organization collected live from `fake`, with `extra`, its clock and
/// window the demo snapshot's.
async fn run_demo(
    fake: &FakeAws,
    snap: &Snapshot,
    extra: &[&str],
) -> (support::cli::Outcome, tempfile::TempDir) {
    let m = &snap.manifest;
    let days = (m.period_end - m.period_start).num_days() + 1;
    let out = tempfile::tempdir().unwrap();
    let bin = Bin::new()
        .arg("run")
        .args([
            "--now",
            &m.collected_at.to_rfc3339(),
            "--days",
            &days.to_string(),
        ])
        .args([
            "--as-of",
            &m.period_end.to_string(),
            "--config",
            DEMO_CONFIG_FILE,
        ])
        .args(if extra.contains(&"--account-tags") {
            &[][..]
        } else {
            &["--account-tags", "all"][..]
        })
        .args(["--no-history", "--out"])
        .arg(out.path())
        .args([
            "--pace",
            "cloudtrail=1000/4",
            "--pace",
            "organizations=1000/8",
        ])
        .args([
            "--pace",
            "license-manager=1000/8",
            "--pace",
            "athena=1000/1",
        ])
        .args(extra)
        .aws(fake);
    let outcome = tokio::task::spawn_blocking(move || bin.run())
        .await
        .unwrap();
    (outcome, out)
}

/// Every number in a JSON document rounded to the cent.
pub fn to_cents(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => json!((n.as_f64().unwrap() * 100.0).round() as i64),
        Value::Array(a) => Value::Array(a.iter().map(to_cents).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), to_cents(v))).collect())
        }
        other => other.clone(),
    }
}

/// A CSV's rows with every number rounded to the cent.
pub fn csv_cents(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut rows: Vec<Vec<String>> = vec![r.headers().unwrap().iter().map(String::from).collect()];
    for rec in r.records() {
        rows.push(
            rec.unwrap()
                .iter()
                .map(|c| match c.parse::<f64>() {
                    Ok(x) if c.contains('.') => format!("{}", (x * 100.0).round() as i64),
                    _ => c.to_string(),
                })
                .collect(),
        );
    }
    rows
}

pub fn read_json(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

/// The "done when": `run --cost-source athena` against the fake, serving the aggregate
/// DuckDB computed with the SQL the binary sent, finds what `run --cost-export` finds on the same
/// generated CUR 2.0 files, and allocates the same spend, to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_athena_finds_and_allocates_what_the_export_gives_to_the_cent() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let dir = tempfile::tempdir().unwrap();
    write_cur2_table(dir.path(), &demo_lines(&snap));
    let m = &snap.manifest;
    let query = query_for(dir.path(), m.period_start, m.period_end, "team");
    let (header, rows) = run_in_duckdb(dir.path(), &query);
    assert!(rows.len() > 1000, "the result takes pages: {}", rows.len());
    let fake = FakeAws::start(Scenario::from_snapshot(&snap), Faults::default()).await;
    fake.set_athena(Athena {
        columns: describe(dir.path()),
        partitions: PARTITIONS.map(String::from).to_vec(),
        header,
        rows,
        states: ["QUEUED", "RUNNING", "SUCCEEDED"]
            .map(String::from)
            .to_vec(),
        scanned_bytes: 42 << 20,
        ..Athena::default()
    });

    let (athena, a_out) = run_demo(&fake, &snap, &["--cost-source", "athena"]).await;
    assert_eq!(athena.code, 0, "{}", athena.stderr);
    assert!(
        athena.stderr.contains("42.0 MB scanned"),
        "{}",
        athena.stderr
    );
    // The binary sent exactly the query DuckDB ran.
    let start = &calls(&fake, "StartQueryExecution")[0].body;
    assert_eq!(start["QueryString"], json!(query.sql));
    assert_eq!(start["ExecutionParameters"], json!(query.parameters));
    assert_eq!(fake.ok_calls("GetQueryResults"), rows_pages(&fake));
    // The usage is Athena's: Cost Explorer's spend queries, whose answer would be thrown away
    // ($0.01 a page), are not sent, and the run says where the usage came from.
    assert_no_spend_query(
        &fake,
        &athena.stderr,
        "the Athena query over `cid_data_export.cur2`",
    );

    let export_dir = dir.path().join("cur2").display().to_string();
    let (export, e_out) = run_demo(&fake, &snap, &["--cost-export", &export_dir]).await;
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert_no_spend_query(&fake, &export.stderr, "the cost export `");

    let findings = |d: &Path| to_cents(&read_json(d, "findings.json")["findings"]);
    let f = findings(a_out.path());
    assert!(f.as_array().unwrap().len() > 5);
    assert_eq!(f, findings(e_out.path()));
    let allocation = csv_cents(&a_out.path().join("cost_allocation.csv"));
    assert!(allocation.len() > 10);
    assert_eq!(
        allocation,
        csv_cents(&e_out.path().join("cost_allocation.csv"))
    );
    let summary = |d: &Path| {
        let s = read_json(d, "summary.json");
        to_cents(&json!([s["totals"], s["cost_by_team"], s["counts"]]))
    };
    assert_eq!(summary(a_out.path()), summary(e_out.path()));

    let s = read_json(a_out.path(), "summary.json");
    let q = &s["run"]["athena"];
    assert_eq!(q["state"], "SUCCEEDED");
    assert_eq!(q["data_scanned_bytes"], 42 << 20);
    assert_eq!(q["reads_iam_principal"], true);
    assert!(s["run"]["source"]
        .as_str()
        .unwrap()
        .contains("athena:GetQueryResults over cid_data_export.cur2 (cur2)"));
    assert!(read_json(e_out.path(), "summary.json")["run"]
        .get("athena")
        .is_none());
}

/// No `GetCostAndUsage` reached the fake, and the progress names the usage's source.
fn assert_no_spend_query(fake: &FakeAws, stderr: &str, source: &str) {
    let ce = fake.ok_calls("GetCostAndUsage") + fake.failed_calls("GetCostAndUsage");
    assert_eq!(ce, 0, "Cost Explorer was asked for spend");
    assert!(
        stderr.contains(&format!("from {source}")) && stderr.contains("no Cost Explorer requests"),
        "{stderr}"
    );
}

/// With `--account-tags needed` and the usage from Athena, the tags read are exactly those of
/// the accounts the query's rows name (billed, and calling through the IAM principal), not
/// those Cost Explorer would have named (it is not asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_athena_reads_the_tags_of_the_accounts_its_rows_name() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let fake = FakeAws::start(Scenario::from_snapshot(&snap), Faults::default()).await;
    let mut served = served(30);
    // Two of the demo's accounts billed, a third calling through the subscriber.
    let ids: Vec<String> = snap.accounts.iter().map(|a| a.id.clone()).collect();
    assert!(ids.len() > 4);
    let mut named = BTreeSet::new();
    for (i, r) in served.rows.iter_mut().enumerate() {
        r[1] = Some(ids[i % 2].clone());
        named.insert(ids[i % 2].clone());
        if r[5].is_some() {
            r[5] = Some(format!("arn:aws:sts::{}:assumed-role/App/s", ids[2]));
            named.insert(ids[2].clone());
        }
    }
    fake.set_athena(served);
    let (out, _dir) = run_demo(
        &fake,
        &snap,
        &["--cost-source", "athena", "--account-tags", "needed"],
    )
    .await;
    assert!(out.code < 2, "{}", out.stderr);
    assert_no_spend_query(&fake, &out.stderr, "the Athena query over");
    assert_eq!(named.len(), 3);
    assert_eq!(fake.tags_asked(), named);
}

/// Pages the fake answered: the result rows plus the header, 1,000 a page.
fn rows_pages(fake: &FakeAws) -> usize {
    let n = fake.state.lock().unwrap().athena.rows.len() + 1;
    n.div_ceil(1000)
}

/// A failed query: exit 2, the gap with Athena's reason in summary.json, the usage table
/// empty but never reported as complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_a_failed_athena_query_exits_2_with_the_reason() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let fake = FakeAws::start(Scenario::from_snapshot(&snap), Faults::default()).await;
    let mut a = served(3);
    a.states = ["RUNNING", "FAILED"].map(String::from).to_vec();
    a.reason = Some((
        "Access denied when writing output to url: s3://audit-results-123456789012/athena/".into(),
        json!({"ErrorCategory": 2, "ErrorType": 1002, "Retryable": false, "ErrorMessage": "Access denied"}),
    ));
    fake.set_athena(a);
    let (out, dir) = run_demo(&fake, &snap, &["--cost-source", "athena"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("Access denied when writing output"),
        "{}",
        out.stderr
    );
    let s = read_json(dir.path(), "summary.json");
    let gap = usage_gap(&s, "athena");
    assert_eq!(gap["error_code"], QUERY_FAILED);
    assert_eq!(s["run"]["athena"]["state"], "FAILED");
    assert_eq!(s["totals"]["usage_rows"], 0);
    assert_eq!(s["totals"]["spend_usd"].as_f64(), Some(0.0));
}

/// summary.json's ledger entry of `service` on the usage table, the run marked incomplete and
/// the usage table among the incomplete ones.
pub fn usage_gap<'a>(summary: &'a Value, service: &str) -> &'a Value {
    let c = &summary["completeness"];
    assert_eq!(c["complete"], false);
    assert!(c["incomplete_tables"]
        .as_array()
        .unwrap()
        .contains(&json!("usage")));
    let gap = c["missing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["service"] == service)
        .unwrap_or_else(|| panic!("no `{service}` gap in {c}"));
    assert_eq!(gap["tables"], json!(["usage"]));
    gap
}

/// Names that would change the SQL are refused before anything is read (exit 3).
#[test]
fn run_refuses_an_athena_name_that_is_not_an_identifier() {
    let out = tempfile::tempdir().unwrap();
    let r = Bin::new()
        .args(["run", "--demo", "--no-history", "--cost-source", "athena"])
        .args(["--athena-table", "cur2\" --"])
        .arg("--out")
        .arg(out.path())
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("is not a Glue name"), "{}", r.stderr);
    let r = Bin::new()
        .args(["run", "--demo", "--no-history", "--athena-table", "cur2"])
        .arg("--out")
        .arg(out.path())
        .run();
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("need `--cost-source athena`"),
        "{}",
        r.stderr
    );
}

// `doctor` with `--cost-source athena` and `--cost-export s3://...`: the workgroup, the table
// and the export's bucket, read-only.

use entitlement_audit::deliver::remote::S3Url;
use entitlement_audit::inputs::collect::{doctor_sources_with, Check, CheckStatus, SourceChecks};

const EXPORT_BUCKET: &str = "cid-123456789012-data-exports";
const EXPORT_PREFIX: &str = "cur2/123456789012/cid-cur2";

fn export_url() -> S3Url {
    S3Url {
        bucket: EXPORT_BUCKET.to_string(),
        key: EXPORT_PREFIX.to_string(),
    }
}

/// A ready Athena setup: the table with the principal, a results location and a 10 GB cutoff;
/// the export's bucket with a delivered period.
async fn ready_fake(faults: Faults) -> FakeAws {
    let fake = FakeAws::start(support::scenario(), faults).await;
    let mut a = served(1);
    a.output_location = Some("s3://audit-results-123456789012/athena/".into());
    a.cutoff = Some(10 << 30);
    fake.set_athena(a);
    fake.state.lock().unwrap().s3_keys.insert(
        EXPORT_BUCKET.to_string(),
        vec![
            format!("{EXPORT_PREFIX}/data/BILLING_PERIOD=2026-10/cid-cur2-00001.snappy.parquet"),
            format!("{EXPORT_PREFIX}/metadata/BILLING_PERIOD=2026-10/cid-cur2-Manifest.json"),
        ],
    );
    fake
}

async fn doctor_sources(fake: &FakeAws, sources: &SourceChecks) -> Vec<Check> {
    let opts = support::options();
    let clients = support::clients(fake, &opts).await;
    doctor_sources_with(&clients, &opts, sources).await
}

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {checks:#?}"))
}

fn both(athena: AthenaOptions) -> SourceChecks {
    SourceChecks {
        athena: Some(athena),
        export: Some(export_url()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_ready_athena_setup_and_export_bucket() {
    let fake = ready_fake(Faults::default()).await;
    let mut athena = fast_athena();
    athena.max_scan_gb = Some(20.0);
    let checks = doctor_sources(&fake, &both(athena)).await;
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "athena-workgroup",
            "athena-scan-cutoff",
            "athena-table",
            "athena-iam-principal",
            "cost-export-s3"
        ]
    );
    for c in &checks {
        assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
    }
    assert!(check(&checks, "athena-workgroup")
        .detail
        .contains("results to the workgroup's `s3://audit-results-123456789012/athena/`"));
    assert!(check(&checks, "athena-scan-cutoff")
        .detail
        .contains("10.0 GB"));
    // Read-only: the workgroup, the table's metadata and one listing; no query started.
    let mut ops: Vec<String> = fake.calls().into_iter().map(|c| c.op).collect();
    ops.sort();
    assert_eq!(ops, ["GetTableMetadata", "GetWorkGroup", "ListObjectsV2"]);
    let listing = calls(&fake, "ListObjectsV2")[0].body.clone();
    assert_eq!(listing["Prefix"], format!("{EXPORT_PREFIX}/metadata/"));
    assert_eq!(listing["MaxKeys"], 1);
    // Nothing asked for: nothing checked.
    assert!(doctor_sources(&fake, &SourceChecks::default())
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_fails_a_denied_athena_or_s3_read_naming_the_action() {
    let mut faults = Faults::default();
    for op in ["GetWorkGroup", "GetTableMetadata", "ListObjectsV2"] {
        faults.deny.insert(op.into());
    }
    let fake = ready_fake(faults).await;
    let checks = doctor_sources(&fake, &both(fast_athena())).await;
    for (name, action) in [
        ("athena-workgroup", "athena:GetWorkGroup"),
        ("athena-table", "athena:GetTableMetadata"),
        ("cost-export-s3", "s3:ListBucket"),
    ] {
        let c = check(&checks, name);
        assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
        assert!(c.detail.contains(action), "{c:?}");
        assert!(
            c.fix
                .as_deref()
                .unwrap()
                .contains(&format!("allow `{action}`")),
            "{c:?}"
        );
    }
    assert!(check(&checks, "cost-export-s3")
        .fix
        .as_deref()
        .unwrap()
        .contains("iam-policy --cost-export s3://cid-123456789012-data-exports/cur2/"));

    // Glue refusing the catalog read comes back through GetTableMetadata: the Glue actions.
    let fake = ready_fake(Faults::default()).await;
    fake.state.lock().unwrap().athena.metadata_error = Some((
        "MetadataException".into(),
        "User: arn:aws:sts::123456789012:assumed-role/audit/s is not authorized to perform: glue:GetTable".into(),
    ));
    let checks = doctor_sources(&fake, &both(fast_athena())).await;
    let c = check(&checks, "athena-table");
    assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
    assert!(c.fix.as_deref().unwrap().contains("glue:GetTable"), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_warns_and_fails_on_what_the_athena_run_would_miss() {
    // No cutoff, no principal column, an empty export folder: warnings.
    let fake = ready_fake(Faults::default()).await;
    {
        let mut st = fake.state.lock().unwrap();
        st.athena.cutoff = None;
        st.athena.columns = cur2_columns(false);
        st.s3_keys.insert(EXPORT_BUCKET.to_string(), Vec::new());
    }
    let checks = doctor_sources(&fake, &both(fast_athena())).await;
    for name in [
        "athena-scan-cutoff",
        "athena-iam-principal",
        "cost-export-s3",
    ] {
        let c = check(&checks, name);
        assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
        assert!(c.fix.is_some(), "{c:?}");
    }
    assert!(check(&checks, "athena-iam-principal")
        .detail
        .contains("no `line_item_iam_principal`"));
    assert_eq!(check(&checks, "athena-table").status, CheckStatus::Pass);

    // With `--max-athena-scan-gb` the missing cutoff stops the run: a failure. A table missing
    // required columns fails naming them; no results location anywhere fails; no bucket fails.
    {
        let mut st = fake.state.lock().unwrap();
        st.athena.output_location = None;
        st.athena
            .columns
            .retain(|(n, _)| n != "line_item_unblended_cost" && n != "line_item_usage_account_id");
        st.s3_keys.clear();
    }
    let mut athena = fast_athena();
    athena.max_scan_gb = Some(5.0);
    let checks = doctor_sources(&fake, &both(athena.clone())).await;
    let fail = |name: &str| {
        let c = check(&checks, name).clone();
        assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
        c
    };
    assert!(fail("athena-scan-cutoff").detail.contains("not set"));
    let table = fail("athena-table");
    assert!(
        table.detail.contains("`line_item_unblended_cost`")
            && table.detail.contains("`line_item_usage_account_id`"),
        "{table:?}"
    );
    assert!(fail("athena-workgroup")
        .fix
        .unwrap()
        .contains("--athena-output"));
    assert!(fail("cost-export-s3").detail.contains("NoSuchBucket"));
    // A table without the required columns gets no principal check: the table check says it.
    assert!(checks.iter().all(|c| c.name != "athena-iam-principal"));

    // `--athena-output` is a results location.
    athena.output = Some("s3://audit-results-123456789012/athena/".into());
    let checks = doctor_sources(&fake, &both(athena)).await;
    let c = check(&checks, "athena-workgroup");
    assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
    assert!(c.detail.contains("(`--athena-output`)"), "{c:?}");
}

/// The binary: `doctor --cost-source athena --cost-export s3://...` runs these checks too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_command_checks_athena_and_the_export_bucket() {
    let fake = ready_fake(Faults::default()).await;
    let url = export_url().to_string();
    let run = |extra: Vec<String>| {
        let bin = Bin::new().arg("doctor").args(extra).aws(&fake);
        tokio::task::spawn_blocking(move || bin.run())
    };
    let out = run(vec!["--cost-source".into(), "athena".into()])
        .await
        .unwrap();
    assert!(out.stdout.contains("athena-table"), "{}", out.stdout);
    assert!(out.stdout.contains("athena-workgroup"), "{}", out.stdout);
    assert!(!out.stdout.contains("cost-export-s3"), "{}", out.stdout);
    let out = run(vec!["--cost-export".into(), url]).await.unwrap();
    assert!(
        out.stdout.contains("cost-export-s3"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("athena-table"), "{}", out.stdout);
    let out = run(vec![]).await.unwrap();
    assert!(!out.stdout.contains("athena-"), "{}", out.stdout);
}
