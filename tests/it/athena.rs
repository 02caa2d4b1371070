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
    let file = root.join("lines.jsonl");
    let mut f = std::fs::File::create(&file).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let data = root.join("cur2");
    duckdb(&["write", data.to_str().unwrap(), file.to_str().unwrap()]);
    std::fs::remove_file(file).unwrap();
}

/// The table's columns (what `GetTableMetadata` would list) as (name, DuckDB type).
pub fn describe(root: &Path) -> Vec<(String, String)> {
    let text = duckdb(&["describe", root.join("cur2").to_str().unwrap()]);
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
    let file = root.join("query.sql");
    std::fs::write(&file, to_duckdb(&query.sql, &query.parameters)).unwrap();
    let text = duckdb(&[
        "query",
        root.join("cur2").to_str().unwrap(),
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

/// Rows equal in their keys and, to a billionth of a dollar or unit, in their sums.
pub fn assert_same_rows(athena: &[UsageRow], export: &[UsageRow]) {
    assert_eq!(athena.len(), export.len(), "row counts");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    for (i, (a, e)) in athena.iter().zip(export).enumerate() {
        let key = |r: &UsageRow| {
            (
                r.date,
                r.account_id.clone(),
                r.product.clone(),
                r.usage_type.clone(),
                r.team_tag.clone(),
                r.caller_account_id.clone(),
            )
        };
        assert_eq!(key(a), key(e), "row {i}");
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
