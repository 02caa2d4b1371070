//! Cost exports as the spend source: CUR 2.0 and FOCUS files (Parquet, CSV, gzip CSV, an export
//! directory tree) generated here, read into the usage table, allocated to the cent, with the
//! IAM-principal redistribution and errors naming file and column.

use std::io::Write;
use std::path::Path;

use crate::support::cli::Bin;
use crate::support::fixtures::*;

use entitlement_audit::analyze::analyze;
use entitlement_audit::config::Config;
use entitlement_audit::inputs::cost_export;
use entitlement_audit::model::usage::{self, UsageRow};
use entitlement_audit::model::{EventKind, GrantStatus};
use entitlement_audit::snapshot::Snapshot;
use polars::prelude::*;

const INPUT: &str = "USE1-MP:USE1_InputTokenCount-Units";

/// One CUR 2.0 line item.
struct Cur {
    start: &'static str,
    entity: &'static str,
    kind: &'static str,
    account: &'static str,
    principal: &'static str,
    product: &'static str,
    cost: f64,
    amount: f64,
    public: Option<f64>,
    tags: &'static str,
}

fn cur(start: &'static str, account: &'static str, principal: &'static str, cost: f64) -> Cur {
    Cur {
        start,
        entity: "AWS Marketplace",
        kind: "Usage",
        account,
        principal,
        product: SONNET_CE,
        cost,
        amount: cost / 3e-6,
        public: Some(cost / 0.75),
        tags: "",
    }
}

fn role(account: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/BedrockApp/session")
}

/// Hourly Bedrock usage billed to the subscriber naming callers, a member's own tagged line, a
/// credit, and lines that are not Marketplace Bedrock usage (another Marketplace product, a
/// first-party AWS line, tax).
fn cur_sample() -> Vec<Cur> {
    vec![
        cur("2026-09-01T10:00:00Z", MGMT, "P", 10.25),
        cur("2026-09-01T11:00:00Z", MGMT, "P", 4.5),
        cur("2026-09-01T12:00:00Z", MGMT, "S", 3.125),
        cur("2026-09-02T09:00:00Z", MGMT, "", 7.0),
        Cur {
            tags: r#"{"user_team":"checkout","user_env":"prod"}"#,
            ..cur("2026-09-02T10:00:00Z", PAYMENTS, "", 20.0)
        },
        Cur {
            kind: "Credit",
            amount: 0.0,
            public: Some(0.0),
            ..cur("2026-09-03T00:00:00Z", MGMT, "P", -2.5)
        },
        Cur {
            product: "Acme Log Search",
            ..cur("2026-09-01T10:00:00Z", MGMT, "P", 99.0)
        },
        Cur {
            entity: "AWS",
            product: "Amazon Bedrock",
            ..cur("2026-09-01T10:00:00Z", MGMT, "P", 55.0)
        },
        Cur {
            kind: "Tax",
            ..cur("2026-09-30T00:00:00Z", MGMT, "", 1.5)
        },
    ]
}

/// The Marketplace Bedrock usage and credit of `cur_sample`, the only spend that must be read.
const SAMPLE_SPEND: f64 = 10.25 + 4.5 + 3.125 + 7.0 + 20.0 - 2.5;

fn principal(c: &Cur) -> String {
    match c.principal {
        "P" => role(PAYMENTS),
        "S" => role(SANDBOX),
        _ => String::new(),
    }
}

/// The CUR 2.0 columns the test exports write (also `live_e2e`'s export of the demo).
pub(crate) const CUR_COLUMNS: &[&str] = &[
    "bill_billing_entity",
    "bill_payer_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_account_id",
    "line_item_iam_principal",
    "product_product_name",
    "line_item_usage_type",
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "resource_tags",
];

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn cur_csv(rows: &[Cur]) -> String {
    let mut out = CUR_COLUMNS.join(",") + "\n";
    for c in rows {
        let cells = [
            c.entity.to_string(),
            MGMT.to_string(),
            c.kind.to_string(),
            c.start.to_string(),
            c.account.to_string(),
            principal(c),
            c.product.to_string(),
            INPUT.to_string(),
            c.cost.to_string(),
            c.amount.to_string(),
            c.public.map(|p| p.to_string()).unwrap_or_default(),
            c.tags.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|s| csv_cell(s)).collect();
        out += &(line.join(",") + "\n");
    }
    out
}

fn cur_frame(rows: &[Cur]) -> DataFrame {
    let text = |f: &dyn Fn(&Cur) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let millis: Vec<i64> = rows
        .iter()
        .map(|c| {
            chrono::DateTime::parse_from_rfc3339(c.start)
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    let start = Column::new("line_item_usage_start_date".into(), millis)
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
    DataFrame::new(
        rows.len(),
        vec![
            Column::new("bill_billing_entity".into(), text(&|c| c.entity.into())),
            Column::new("bill_payer_account_id".into(), text(&|_| MGMT.into())),
            Column::new("line_item_line_item_type".into(), text(&|c| c.kind.into())),
            start,
            Column::new(
                "line_item_usage_account_id".into(),
                text(&|c| c.account.into()),
            ),
            Column::new("line_item_iam_principal".into(), text(&principal)),
            Column::new("product_product_name".into(), text(&|c| c.product.into())),
            Column::new("line_item_usage_type".into(), text(&|_| INPUT.into())),
            Column::new(
                "line_item_unblended_cost".into(),
                rows.iter().map(|c| c.cost).collect::<Vec<_>>(),
            ),
            Column::new(
                "line_item_usage_amount".into(),
                rows.iter().map(|c| c.amount).collect::<Vec<_>>(),
            ),
            Column::new(
                "pricing_public_on_demand_cost".into(),
                rows.iter().map(|c| c.public).collect::<Vec<_>>(),
            ),
            Column::new("resource_tags".into(), text(&|c| c.tags.into())),
        ],
    )
    .unwrap()
}

fn write_parquet(path: &Path, mut df: DataFrame) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
}

fn write_gz(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

fn read(path: &Path) -> cost_export::Loaded {
    cost_export::read(path, "team").unwrap()
}

fn rows(l: &cost_export::Loaded) -> Vec<UsageRow> {
    usage::rows(&l.usage).unwrap()
}

fn total(l: &cost_export::Loaded) -> f64 {
    rows(l).iter().map(|r| r.cost_usd).sum()
}

/// Management (subscriber), payments (team tag `payments`, ACTIVE grant) and sandbox (under an
/// OU rule), with the Claude 3.7 Sonnet license.
fn org_snapshot() -> Snapshot {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .event(&g, Some(PAYMENTS), EventKind::Activated, at(8, 1));
    b.build(d(8, 3), d(10, 31), collected())
}

fn cfg() -> Config {
    Config::parse("[[team_rules]]\nou_path_prefix = \"/Root/Sandbox\"\nteam = \"sandbox\"\n")
        .unwrap()
}

#[test]
fn cur_parquet_and_gzip_csv_read_the_same_daily_usage() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("cur.parquet");
    let gz = dir.path().join("cur.csv.gz");
    write_parquet(&parquet, cur_frame(&cur_sample()));
    write_gz(&gz, &cur_csv(&cur_sample()));
    let (a, b) = (read(&parquet), read(&gz));
    assert_eq!(rows(&a), rows(&b));
    let r = rows(&a);
    // 09-01: two hours called from payments make one daily row, one from sandbox.
    let day1: Vec<_> = r.iter().filter(|r| r.date == d(9, 1)).collect();
    assert_eq!(day1.len(), 2, "{r:#?}");
    let payments = day1
        .iter()
        .find(|r| r.caller_account_id.as_deref() == Some(PAYMENTS))
        .unwrap();
    assert_eq!(payments.account_id, MGMT);
    assert!((payments.cost_usd - 14.75).abs() < 1e-9);
    assert!((payments.public_cost_usd.unwrap() - 14.75 / 0.75).abs() < 1e-9);
    assert_eq!(payments.product, SONNET_CE);
    assert_eq!(payments.usage_type, INPUT);
    // The tagged line carries its team; the credit stays its own row without a public cost.
    let tagged = r.iter().find(|r| r.account_id == PAYMENTS).unwrap();
    assert_eq!(tagged.team_tag.as_deref(), Some("checkout"));
    let credit = r.iter().find(|r| r.cost_usd < 0.0).unwrap();
    assert_eq!(
        (credit.usage_type.as_str(), credit.public_cost_usd),
        ("Credit", None)
    );
    // Other products, first-party lines and tax are left out.
    assert!((total(&a) - SAMPLE_SPEND).abs() < 1e-9);
    assert!(r.iter().all(|r| r.product == SONNET_CE));
}

#[test]
fn cur_sample_allocates_to_the_cent_with_iam_principal_redistribution() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cur.csv.gz");
    write_gz(&path, &cur_csv(&cur_sample()));
    let mut snap = org_snapshot();
    read(&path).replace_usage(&mut snap, &path);
    assert!(snap.manifest.tables["usage"]
        .source
        .starts_with("cost-export:"));
    let a = analyze(&snap, &cfg(), d(10, 31)).unwrap();
    let allocated: f64 = a.allocation.iter().map(|r| r.cost_usd).sum();
    assert!((a.totals.spend_usd - SAMPLE_SPEND).abs() < 0.005);
    assert!(
        (allocated - SAMPLE_SPEND).abs() < 0.005,
        "reconciles to the cent"
    );
    let cost = |team: &str, method: &str, used_by: &str| -> f64 {
        a.allocation
            .iter()
            .filter(|r| {
                r.team == team && r.method.as_str() == method && r.used_by_account_id == used_by
            })
            .map(|r| r.cost_usd)
            .sum()
    };
    // Billed to the subscriber, used by payments (usage minus its credit) and sandbox.
    assert!((cost("payments", "account-tag", PAYMENTS) - (14.75 - 2.5)).abs() < 1e-9);
    assert!((cost("sandbox", "ou-rule", SANDBOX) - 3.125).abs() < 1e-9);
    assert!((cost("", "shared-pool", "") - 7.0).abs() < 1e-9);
    assert!((cost("checkout", "cost-allocation-tag", PAYMENTS) - 20.0).abs() < 1e-9);
    assert!((a.totals.redistributed_usd - (14.75 - 2.5 + 3.125)).abs() < 1e-9);
    // The covered usage's public cost gives the observed private rate (25% off).
    assert!(a
        .coverage
        .iter()
        .all(|c| c.overspend_basis.as_str() != "configured-discount"));
}

/// One FOCUS charge: (start, account, service, category, billed, list).
fn focus_csv(rows: &[(&str, &str, &str, &str, f64, f64)]) -> String {
    let mut out = String::from(
        "BillingAccountId,SubAccountId,ChargePeriodStart,ChargePeriodEnd,ServiceName,ChargeCategory,ProviderName,PublisherName,BilledCost,ListCost,ConsumedQuantity,x_UsageType,Tags\n",
    );
    for (start, account, service, category, billed, list) in rows {
        out += &format!(
            "{MGMT},{account},{start},{start},{service},{category},AWS,Anthropic,{billed},{list},{},{INPUT},\"{{\"\"user:team\"\":\"\"ml\"\"}}\"\n",
            billed / 3e-6
        );
    }
    out
}

fn focus_sample() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
)> {
    vec![
        (
            "2026-09-01T00:00:00Z",
            PAYMENTS,
            SONNET_CE,
            "Usage",
            30.0,
            40.0,
        ),
        (
            "2026-09-01T01:00:00Z",
            PAYMENTS,
            SONNET_CE,
            "Usage",
            15.0,
            20.0,
        ),
        (
            "2026-09-02T00:00:00Z",
            SANDBOX,
            SONNET_CE,
            "Usage",
            8.0,
            8.0,
        ),
        (
            "2026-09-02T00:00:00Z",
            SANDBOX,
            "Amazon Bedrock",
            "Usage",
            5.0,
            5.0,
        ),
        ("2026-09-30T00:00:00Z", PAYMENTS, SONNET_CE, "Tax", 4.0, 0.0),
    ]
}

#[test]
fn focus_csv_and_parquet_in_an_export_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("focus-export");
    let text = focus_csv(&focus_sample());
    let csv = root.join("data/BILLING_PERIOD=2026-09/focus-export-00001.csv");
    std::fs::create_dir_all(csv.parent().unwrap()).unwrap();
    std::fs::write(&csv, &text).unwrap();
    std::fs::create_dir_all(root.join("metadata")).unwrap();
    std::fs::write(root.join("metadata/manifest.json"), "{}").unwrap();
    let csv_only = read(&root);
    assert_eq!(csv_only.files.len(), 1, "metadata is skipped");
    let r = rows(&csv_only);
    assert_eq!(r.len(), 2, "{r:#?}");
    assert!((total(&csv_only) - 53.0).abs() < 1e-9);
    let payments = r.iter().find(|r| r.account_id == PAYMENTS).unwrap();
    assert_eq!(
        (payments.cost_usd, payments.public_cost_usd),
        (45.0, Some(60.0))
    );
    assert_eq!(payments.team_tag.as_deref(), Some("ml"));
    assert_eq!(payments.usage_type, INPUT);

    // The same month again as Parquet, in October's folder: both files are read.
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::io::Cursor::new(text.into_bytes()))
        .finish()
        .unwrap();
    for c in ["BilledCost", "ListCost", "ConsumedQuantity"] {
        let typed = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
        df.with_column(typed).unwrap();
    }
    write_parquet(
        &root.join("data/BILLING_PERIOD=2026-10/focus-export-00001.parquet"),
        df,
    );
    let both = read(&root);
    assert_eq!(both.files.len(), 2);
    assert!((total(&both) - 106.0).abs() < 1e-9);
    assert!(both.source(&root).contains("FOCUS"));
}

fn error(path: &Path) -> String {
    format!("{:#}", cost_export::read(path, "team").unwrap_err())
}

fn assert_names(err: &str, file: &Path, column: &str) {
    assert!(
        err.contains(&file.display().to_string()) && err.contains(&format!("`{column}`")),
        "{err}"
    );
}

#[test]
fn missing_or_mistyped_columns_name_the_file_and_the_column() {
    let dir = tempfile::tempdir().unwrap();

    // CUR without the usage account.
    let path = dir.path().join("no-account.csv");
    let text = cur_csv(&cur_sample()).replace("line_item_usage_account_id", "usage_account");
    std::fs::write(&path, text).unwrap();
    assert_names(&error(&path), &path, "line_item_usage_account_id");

    // A cost that is not a number, in gzip CSV.
    let path = dir.path().join("bad-cost.csv.gz");
    let mut bad = cur_sample();
    bad[0].cost = f64::NAN;
    let text = cur_csv(&bad).replace("NaN", "12.50 USD");
    write_gz(&path, &text);
    let err = error(&path);
    assert_names(&err, &path, "line_item_unblended_cost");
    assert!(err.contains("12.50 USD"), "{err}");

    // A Parquet account id stored as a number (leading zeros lost).
    let path = dir.path().join("int-account.parquet");
    let mut df = cur_frame(&cur_sample());
    let ids = df
        .column("line_item_usage_account_id")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    df.with_column(ids).unwrap();
    write_parquet(&path, df);
    assert_names(&error(&path), &path, "line_item_usage_account_id");

    // A file that is neither format.
    let path = dir.path().join("other.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let err = error(&path);
    assert!(
        err.contains("neither CUR 2.0") && err.contains("other.csv"),
        "{err}"
    );

    // A bad timestamp in FOCUS.
    let path = dir.path().join("focus.csv");
    std::fs::write(
        &path,
        focus_csv(&focus_sample()).replace("2026-09-01T00:00:00Z", "first of September"),
    )
    .unwrap();
    assert_names(&error(&path), &path, "ChargePeriodStart");
}

#[test]
fn run_reads_a_cost_export_in_place_of_cost_explorer() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cur.parquet");
    write_parquet(&export, cur_frame(&cur_sample()));
    let snap_dir = dir.path().join("snap");
    entitlement_audit::snapshot::write(&org_snapshot(), &snap_dir).unwrap();
    let out = dir.path().join("out");
    let o = Bin::new()
        .args(["run", "--no-history", "--snapshot"])
        .arg(&snap_dir)
        .arg("--cost-export")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let source = summary["run"]["source"].as_str().unwrap();
    assert!(source.contains("usage from cost-export:"), "{source}");
    let spend = summary["totals"]["spend_usd"].as_f64().unwrap();
    assert!((spend - SAMPLE_SPEND).abs() < 0.005, "{spend}");

    let missing = dir.path().join("nothing-here");
    std::fs::create_dir_all(&missing).unwrap();
    let o = Bin::new()
        .args(["run", "--no-history", "--snapshot"])
        .arg(&snap_dir)
        .arg("--cost-export")
        .arg(&missing)
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(o.code, 3);
    assert!(o.stderr.contains("nothing-here"), "{}", o.stderr);
}

#[test]
fn the_example_export_on_the_demo_organization() {
    // docs/finance.md's worked example.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cur2-sample.csv");
    let mut snap = entitlement_audit::inputs::demo::builtin();
    read(&path).replace_usage(&mut snap, &path);
    let cfg = demo_config();
    let a = analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
    assert!((a.totals.spend_usd - 66.25).abs() < 1e-9);
    assert!((a.totals.redistributed_usd - 25.75).abs() < 1e-9);
    assert!((a.totals.shared_pool_usd - 30.0).abs() < 1e-9);
    let allocated: f64 = a.allocation.iter().map(|r| r.cost_usd).sum();
    assert!((allocated - 66.25).abs() < 0.005);
    // Its amounts are millions of tokens billed at the private rate the subscriber holds.
    assert!(a
        .findings
        .iter()
        .all(|f| f.rule != "EA013" && f.rule != "EA014"));
    // Billed at the public rate instead (cost over amount = 3.00 on an input row), the
    // subscriber's covered usage is named.
    let mut snap = entitlement_audit::inputs::demo::builtin();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(",30.0,13.333333,", ",30.0,10.0,");
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("cur2-public.csv");
    std::fs::write(&public, text).unwrap();
    read(&public).replace_usage(&mut snap, &public);
    let a = analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
    let f: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA013").collect();
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    assert_eq!(f[0].account_id, MGMT);
    assert_eq!(f[0].cost_usd, Some(30.0));
}
