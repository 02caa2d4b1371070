//! `--cost-source athena`: the window's Marketplace Bedrock spend aggregated by Amazon Athena
//! over a CUR 2.0 or FOCUS table (the Cloud Intelligence Dashboards' `cid_data_export.cur2`
//! by default), pulled back page by page (one row per day and key with spend: 1.66 million at
//! 10,000 spending accounts, docs/performance.md) and made into the usage table exactly as
//! [`crate::inputs::cost_export`] makes it from the same files.
//!
//! Here: the options, the query's statistics for the manifest, and the result rows turned into
//! the usage table. The query text is [`sql`]; the calls to Athena (start, poll, page) are the
//! collector `inputs/collect/athena.rs`, paced and ledgered like every other AWS call.

pub mod sql;

use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inputs::cost_export::{self, Format};
use crate::model::usage::{self, epoch_days};
use crate::snapshot::{Snapshot, Table, TableInfo};

/// The default Glue database and table: what the Cloud Intelligence Dashboards' Data Exports
/// stack creates.
pub const DEFAULT_DATABASE: &str = "cid_data_export";
pub const DEFAULT_TABLE: &str = "cur2";

/// Athena's price: $5 per TB scanned, each query rounded up to the MB with a 10 MB minimum.
/// MB and TB are taken as binary (2^20, 2^40 bytes); which one AWS means is not stated on the
/// pages the project has read, and the difference is 10 % of a fraction of a cent.
pub const USD_PER_TB: f64 = 5.0;
const MB: u64 = 1 << 20;
const TB: f64 = (1u64 << 40) as f64;
const MIN_BILLED_MB: u64 = 10;

/// The bytes a query scanning `scanned` bytes is billed for.
pub fn billed_bytes(scanned: u64) -> u64 {
    scanned.div_ceil(MB).max(MIN_BILLED_MB) * MB
}

/// What a query scanning `scanned` bytes costs, in USD.
pub fn scan_cost_usd(scanned: u64) -> f64 {
    billed_bytes(scanned) as f64 / TB * USD_PER_TB
}

/// How the run reaches the table.
#[derive(Debug, Clone, PartialEq)]
pub struct AthenaOptions {
    /// `None`: the caller's default workgroup (`primary`).
    pub workgroup: Option<String>,
    pub database: String,
    pub table: String,
    /// `s3://...` for the query results, when the workgroup sets none.
    pub output: Option<String>,
    pub format: Format,
    /// Refuse to start the query unless the workgroup cancels queries scanning more than this
    /// (its `BytesScannedCutoffPerQuery`): Athena gives no estimate before a query runs.
    pub max_scan_gb: Option<f64>,
    /// Reuse a result of the same query at most this old (0: never). Default 60.
    pub reuse_minutes: u32,
    /// First wait between two `GetQueryExecution` polls; doubles up to `poll_max`.
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Give up waiting for the query after this long.
    pub timeout: Duration,
}

impl AthenaOptions {
    pub fn new(format: Format) -> Self {
        Self {
            workgroup: None,
            database: DEFAULT_DATABASE.to_string(),
            table: DEFAULT_TABLE.to_string(),
            output: None,
            format,
            max_scan_gb: None,
            reuse_minutes: 60,
            poll_initial: Duration::from_millis(500),
            poll_max: Duration::from_secs(5),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// The query of one run, for the manifest and summary.json (`athena`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AthenaQuery {
    pub query_execution_id: String,
    pub workgroup: Option<String>,
    /// `database.table`.
    pub table: String,
    /// `cur2` or `focus`.
    pub format: String,
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`, or `TIMED_OUT` (this run stopped waiting).
    pub state: String,
    /// `Statistics.DataScannedInBytes`.
    pub data_scanned_bytes: u64,
    /// What Athena bills for it (rounded up to the MB, 10 MB at least; 0 for a failed query).
    pub billed_bytes: u64,
    pub cost_usd: f64,
    /// Athena answered with an earlier run's result (nothing scanned).
    pub reused_previous_result: bool,
    /// Rows of the aggregate read back.
    pub result_rows: u64,
    /// The table has `line_item_iam_principal`; when false, callers are unknown and spend
    /// stays with the billed account.
    pub reads_iam_principal: bool,
    /// Optional columns the table lacks (read as NULL).
    pub absent_columns: Vec<String>,
}

impl AthenaQuery {
    /// The progress line's text.
    pub fn summary(&self) -> String {
        let reused = if self.reused_previous_result {
            ", reused an earlier result"
        } else {
            ""
        };
        format!(
            "Athena query `{}` {}: {} rows, {:.1} MB scanned (${:.4}){reused}",
            self.query_execution_id,
            self.state,
            self.result_rows,
            self.data_scanned_bytes as f64 / MB as f64,
            self.cost_usd
        )
    }
}

/// The text for the manifest's `tables.usage.source`: the operations that read it, and the
/// table.
pub fn source(opts: &AthenaOptions) -> String {
    let mut ops = vec!["athena:GetTableMetadata"];
    if opts.max_scan_gb.is_some() {
        ops.push("athena:GetWorkGroup");
    }
    ops.extend([
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
    ]);
    format!(
        "{} over {}.{} ({})",
        ops.join(", "),
        opts.database,
        opts.table,
        cost_export::Format::name(opts.format)
    )
}

/// Replaces the snapshot's usage table with the Athena aggregate's and says so in the manifest
/// (Cost Explorer gaps no longer apply). With `usage` `None` (the query failed; its ledger
/// entry is in `gaps`), the usage table is emptied and the ledger says it is incomplete: the
/// run exits 2 and never reports the empty table as clean.
pub fn replace_usage(
    snap: &mut Snapshot,
    opts: &AthenaOptions,
    usage: Option<DataFrame>,
    query: Option<AthenaQuery>,
    gaps: Vec<crate::snapshot::LedgerEntry>,
) {
    let source = source(opts);
    snap.manifest.source = format!("{} with usage from {source}", snap.manifest.source);
    snap.manifest
        .completeness
        .retain(|e| e.service != "cost-explorer");
    snap.manifest.completeness.extend(gaps);
    snap.manifest.completeness.sort();
    snap.usage = usage.unwrap_or_else(|| {
        usage::conform(usage::UsageBuilder::default().finish()).expect("the usage schema")
    });
    snap.manifest.tables.insert(
        Table::Usage.to_string(),
        TableInfo {
            rows: snap.usage.height() as u64,
            source,
        },
    );
    snap.manifest.athena = query;
}

/// The usage table from the query's result rows (values as Athena sends them: text, `None`
/// for NULL), `header` the result's column names: the principal becomes the caller's account
/// and the rows are summed per day and key as the export reader sums them.
pub fn usage_from_rows(header: &[String], rows: &[Vec<Option<String>>]) -> Result<DataFrame> {
    if header != sql::RESULT_COLUMNS {
        bail!(
            "the Athena result has columns {header:?}, expected {:?}",
            sql::RESULT_COLUMNS
        );
    }
    let n = rows.len();
    let mut date = Vec::with_capacity(n);
    let mut text: [Vec<Option<&str>>; 4] = Default::default();
    let mut caller = Vec::with_capacity(n);
    let mut numbers: [Vec<Option<f64>>; 3] = Default::default();
    for (i, row) in rows.iter().enumerate() {
        let at = || format!("Athena result row {}", i + 1);
        if row.len() != header.len() {
            bail!(
                "{} has {} values, expected {}",
                at(),
                row.len(),
                header.len()
            );
        }
        let day = row[0]
            .as_deref()
            .with_context(|| format!("{}: no `usage_date`", at()))?;
        let day = NaiveDate::parse_from_str(day.get(..10).unwrap_or(day), "%Y-%m-%d")
            .with_context(|| format!("{}: `usage_date` `{day}` is not a date", at()))?;
        date.push(epoch_days(day));
        for (j, out) in text.iter_mut().enumerate() {
            // account, product, usage type, team
            out.push(row[j + 1].as_deref());
        }
        caller.push(row[5].as_deref().and_then(cost_export::caller_account));
        for (j, out) in numbers.iter_mut().enumerate() {
            let name = header[j + 6].as_str();
            out.push(match row[j + 6].as_deref().map(str::trim) {
                None | Some("") => None,
                Some(v) => {
                    Some(v.parse::<f64>().with_context(|| {
                        format!("{}: `{name}` has `{v}`, expected a number", at())
                    })?)
                }
            });
        }
    }
    let [account, product, usage_type, team] = text;
    let [cost, quantity, public] = numbers;
    let required = |name: &str, v: &[Option<&str>]| -> Result<()> {
        match v.iter().position(Option::is_none) {
            Some(i) => bail!("Athena result row {}: no `{name}`", i + 1),
            None => Ok(()),
        }
    };
    required("account_id", &account)?;
    required("product", &product)?;
    let df = DataFrame::new(
        n,
        vec![
            Column::new(usage::DATE.into(), date).cast(&DataType::Date)?,
            Column::new(usage::ACCOUNT_ID.into(), account),
            Column::new(usage::PRODUCT.into(), product),
            Column::new(usage::USAGE_TYPE.into(), usage_type),
            Column::new(
                usage::COST_USD.into(),
                cost.iter().map(|c| c.unwrap_or(0.0)).collect::<Vec<f64>>(),
            ),
            Column::new(
                usage::USAGE_QUANTITY.into(),
                quantity
                    .iter()
                    .map(|c| c.unwrap_or(0.0))
                    .collect::<Vec<f64>>(),
            ),
            Column::new(usage::PUBLIC_COST_USD.into(), public),
            Column::new(usage::TEAM_TAG.into(), team),
            Column::new(usage::CALLER_ACCOUNT_ID.into(), caller),
        ],
    )?;
    let df = df
        .lazy()
        .with_column(col(usage::USAGE_TYPE).fill_null(lit("")))
        .collect()?;
    cost_export::daily(df.lazy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_are_billed_by_the_mb_with_a_10_mb_minimum() {
        assert_eq!(billed_bytes(0), 10 * MB);
        assert_eq!(billed_bytes(1), 10 * MB);
        assert_eq!(billed_bytes(10 * MB + 1), 11 * MB);
        assert_eq!(billed_bytes(1 << 40), 1 << 40);
        assert!((scan_cost_usd(1 << 40) - 5.0).abs() < 1e-12);
        assert!((scan_cost_usd(3 << 40) - 15.0).abs() < 1e-12);
        assert!((scan_cost_usd(0) - 10.0 / (1u64 << 20) as f64 * 5.0).abs() < 1e-15);
    }

    fn header() -> Vec<String> {
        sql::RESULT_COLUMNS.iter().map(|s| s.to_string()).collect()
    }

    /// A result row written `a|b|...`, `~` for NULL.
    fn row(text: &str) -> Vec<Option<String>> {
        text.split('|')
            .map(|v| (v != "~").then(|| v.to_string()))
            .collect()
    }

    const P: &str = "Claude 3 Haiku (Amazon Bedrock Edition)";

    #[test]
    fn principals_become_callers_and_rows_are_summed_per_key() {
        let input = "USE1-MP:USE1_InputTokenCount-Units";
        let rows = vec![
            row(&format!("2026-10-01|123456789012|{P}|{input}|search|arn:aws:sts::111122223333:assumed-role/App/a|1.5|1000|3.0|2")),
            row(&format!("2026-10-01|123456789012|{P}|{input}|search|arn:aws:iam::111122223333:user/b|2.5E-1|10|~|1")),
            row(&format!("2026-10-02|123456789012|{P}|Credit|~|~|-1|~|~|1")),
        ];
        let df = usage_from_rows(&header(), &rows).unwrap();
        let got = usage::rows(&df).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].caller_account_id.as_deref(), Some("111122223333"));
        assert!((got[0].cost_usd - 1.75).abs() < 1e-12);
        assert_eq!(got[0].usage_quantity, 1010.0);
        assert_eq!(got[0].public_cost_usd, Some(3.0));
        assert_eq!(got[0].team_tag.as_deref(), Some("search"));
        assert_eq!(got[1].usage_type, "Credit");
        assert_eq!((got[1].public_cost_usd, got[1].usage_quantity), (None, 0.0));
        assert_eq!(got[1].caller_account_id, None);
    }

    #[test]
    fn a_result_of_other_columns_or_values_is_an_error() {
        let mut h = header();
        h.swap(0, 1);
        assert!(usage_from_rows(&h, &[])
            .unwrap_err()
            .to_string()
            .contains("expected"));
        let bad = row(&format!("2026-10-01|123456789012|{P}||~|~|x|~|~|1"));
        let err = usage_from_rows(&header(), &[bad]).unwrap_err();
        assert!(format!("{err:#}").contains("`cost_usd` has `x`"), "{err:#}");
        let no_account = row(&format!("2026-10-01|~|{P}||~|~|1|~|~|1"));
        assert!(usage_from_rows(&header(), &[no_account]).is_err());
        let short = row("2026-10-01|123456789012");
        assert!(usage_from_rows(&header(), &[short]).is_err());
    }
}
