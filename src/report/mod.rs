//! Reports: every output file of a run, each writer taking the analysis and an `impl Write`.
//!
//! CSV for spreadsheets (`csv`), JSON as the machine contract (`json`), and for people one
//! HTML page (`html`, with `charts`) and a Markdown summary (`markdown`), both rendered from
//! the shared `view` through the overridable `templates`. Column lists here are the contract
//! documented in docs/report-schema.md; a test keeps the two in step.

pub mod cells;
pub mod charts;
pub mod csv;
pub mod html;
pub mod json;
pub mod markdown;
pub mod templates;
pub mod view;
pub mod xlsx;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

pub use templates::Templates;
pub use view::Changes;

use crate::history::{RunHistory, SuppressionReport};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::analyze::Analysis;
use crate::model::Severity;

/// Version of the JSON contract; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// About the run, for every report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub tool_version: String,
    pub as_of: NaiveDate,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    /// `demo`, `aws`, or the snapshot directory's source.
    pub source: String,
    pub collected_at: DateTime<Utc>,
    /// `--fail-on`; `none` when findings never fail the run.
    #[serde(serialize_with = "fail_on_text")]
    pub fail_on: Option<Severity>,
    /// The Athena query that gave the usage (`--cost-source athena`): its id, state, bytes
    /// scanned and their cost. Absent for the other sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub athena: Option<crate::inputs::athena::AthenaQuery>,
}

impl RunInfo {
    /// The run of `analysis` over `snap`.
    pub fn new(
        snap: &crate::snapshot::Snapshot,
        a: &Analysis,
        fail_on: Option<Severity>,
    ) -> RunInfo {
        RunInfo {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of: a.as_of,
            window_start: a.window_start,
            window_end: a.as_of,
            source: snap.manifest.source.clone(),
            collected_at: snap.manifest.collected_at,
            fail_on,
            athena: snap.manifest.athena.clone(),
        }
    }
}

fn fail_on_text<S: serde::Serializer>(v: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.map_or("none", Severity::as_str))
}

/// What a column holds. The CSV files write every kind as plain text; the workbook types its
/// cells by it (docs/report-schema.md "report.xlsx").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, identifiers included (account, OU, grant, license and finding ids stay text).
    Text,
    /// US dollars, full precision.
    Usd,
    /// A day, `YYYY-MM-DD`.
    Date,
    /// A month, `YYYY-MM`.
    Month,
    /// A whole number.
    Count,
    Bool,
}

/// One column of a report table: its name (the CSV header) and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// The names of `columns`, for the `*_COLUMNS` lists the CSV writer takes.
const fn names<const N: usize>(columns: &[Column]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = columns[i].name;
        i += 1;
    }
    out
}

use Kind::{Bool, Count, Date, Month, Text, Usd};

// Each report table once: the CSV files and the workbook's sheets take their columns from
// here, in this order.
pub const FINDINGS: &[Column] = &[
    col("id", Text),
    col("rule", Text),
    col("name", Text),
    col("severity", Text),
    col("account_id", Text),
    col("account_name", Text),
    col("ou_path", Text),
    col("team", Text),
    col("product", Text),
    col("license_arn", Text),
    col("grant_arn", Text),
    col("first_day", Date),
    col("last_day", Date),
    col("cost_usd", Usd),
    col("overspend_usd", Usd),
    col("overspend_basis", Text),
    col("activation_unknown_usd", Usd),
    col("data_incomplete", Bool),
    col("related_finding_id", Text),
    col("message", Text),
    col("remediation", Text),
    col("change", Text),
    col("first_seen", Date),
    col("age_days", Count),
    col("suppressed", Bool),
    col("suppression_reason", Text),
    col("suppression_owner", Text),
    col("suppression_expires", Date),
];
pub const FINDINGS_COLUMNS: &[&str] = &names::<{ FINDINGS.len() }>(FINDINGS);
pub const COVERAGE: &[Column] = &[
    col("account_id", Text),
    col("account_name", Text),
    col("ou_path", Text),
    col("product", Text),
    col("license_arn", Text),
    col("state", Text),
    col("grant_arn", Text),
    col("sub_grant_arn", Text),
    col("grant_status", Text),
    col("activation_time_unknown", Bool),
    col("from", Date),
    col("to", Date),
    col("days", Count),
    col("cost_usd", Usd),
    col("overspend_usd", Usd),
    col("overspend_basis", Text),
];
pub const COVERAGE_COLUMNS: &[&str] = &names::<{ COVERAGE.len() }>(COVERAGE);
pub const GRANTS: &[Column] = &[
    col("grant_arn", Text),
    col("name", Text),
    col("product", Text),
    col("license_arn", Text),
    col("parent_arn", Text),
    col("is_sub_grant", Bool),
    col("relation", Text),
    col("grantee_kind", Text),
    col("grantee_id", Text),
    col("grantee_name", Text),
    col("status", Text),
    col("status_reason", Text),
    col("version", Text),
    col("created_at", Date),
    col("activated_at", Date),
    col("activation_time_unknown", Bool),
    col("findings", Text),
];
pub const GRANTS_COLUMNS: &[&str] = &names::<{ GRANTS.len() }>(GRANTS);
pub const ALLOCATION: &[Column] = &[
    col("month", Month),
    col("team", Text),
    col("method", Text),
    col("product", Text),
    col("account_id", Text),
    col("account_name", Text),
    col("cost_usd", Usd),
    col("rows", Count),
    col("used_by_account_id", Text),
    col("used_by_account_name", Text),
    col("redistributed", Bool),
    col("exposed_usd", Usd),
    col("overspend_usd", Usd),
    col("overspend_basis", Text),
];
pub const ALLOCATION_COLUMNS: &[&str] = &names::<{ ALLOCATION.len() }>(ALLOCATION);

/// The file `verify-cleanup` writes.
pub const CLEANUP_FILE: &str = "cleanup_verification.csv";

/// `cleanup_verification.csv`, written by `verify-cleanup`.
pub const CLEANUP: &[Column] = &[
    col("check", Text),
    col("result", Text),
    col("license_arn", Text),
    col("product", Text),
    col("cut_off", Date),
    col("checked_from", Date),
    col("account_id", Text),
    col("account_name", Text),
    col("grant_arn", Text),
    col("grant_status", Text),
    col("grantee_kind", Text),
    col("grantee_id", Text),
    col("first_day", Date),
    col("last_day", Date),
    col("days", Count),
    col("rows", Count),
    col("cost_usd", Usd),
    col("public_cost_usd", Usd),
    col("detail", Text),
];
pub const CLEANUP_COLUMNS: &[&str] = &names::<{ CLEANUP.len() }>(CLEANUP);

pub const ACTIVATION: &[Column] = &[
    col("scope", Text),
    col("account_id", Text),
    col("product", Text),
    col("license_arn", Text),
    col("grant_arn", Text),
    col("parent_grant_arn", Text),
    col("via", Text),
    col("first_seen", Date),
    col("created_at", Date),
    col("accepted_at", Date),
    col("activated_at", Date),
    col("activated_after", Date),
    col("activated_by", Date),
    col("activation_source", Text),
    col("disabled_at", Date),
    col("deleted_at", Date),
    col("status", Text),
    col("days_to_activation", Count),
];
pub const ACTIVATION_COLUMNS: &[&str] = &names::<{ ACTIVATION.len() }>(ACTIVATION);

/// What the reports show: the analysis, and what the history stage and the suppressions file
/// added after it. Each writer derives what it needs (the change lists, say) from these.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub analysis: &'a Analysis,
    /// `None` when the run keeps no history.
    pub history: Option<&'a RunHistory>,
    /// `None` without a suppressions file.
    pub suppressions: Option<&'a SuppressionReport>,
    pub run: &'a RunInfo,
}

impl<'a> Report<'a> {
    /// The report of an analysis alone (no history, no suppressions).
    pub fn of(analysis: &'a Analysis, run: &'a RunInfo) -> Report<'a> {
        Report {
            analysis,
            history: None,
            suppressions: None,
            run,
        }
    }
}

/// The reports a run may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outputs {
    /// `report.xlsx` (`--no-xlsx` leaves it out).
    pub xlsx: bool,
}

impl Default for Outputs {
    fn default() -> Outputs {
        Outputs { xlsx: true }
    }
}

/// The fix plan's files (src/plan).
pub const PLAN_JSON: &str = "fix-plan.json";
pub const PLAN_SCRIPT: &str = "fix-plan.sh";

/// Writes every report of a run into `dir`, the HTML and Markdown ones with `templates`.
pub fn write_all(
    r: &Report,
    dir: &Path,
    templates: &Templates,
    outputs: &Outputs,
) -> Result<Vec<String>> {
    let (a, run) = (r.analysis, r.run);
    fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
    let file = |name: &str, f: &dyn Fn(BufWriter<File>) -> Result<()>| -> Result<String> {
        let path = dir.join(name);
        let out = File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        let written = crate::progress::timed(name, || f(BufWriter::with_capacity(1 << 18, out)));
        if let Err(e) = written {
            // A half-written file is not left to pass for a report.
            let _ = fs::remove_file(&path);
            return Err(e.context(format!("failed to write `{}`", path.display())));
        }
        Ok(name.to_string())
    };
    let fix = crate::progress::timed("fix plan", || {
        crate::plan::plan(a, &a.subscriber_account_id)
    });
    let page = crate::progress::timed("report view", || view::Page::new(r).with_plan(&fix));
    // The workbook is the slowest writer: it runs beside the others (and its sheets beside
    // each other), so a run on two cores waits for the longest of them, not their sum.
    let (written, workbook) = std::thread::scope(|scope| {
        let workbook = outputs
            .xlsx
            .then(|| scope.spawn(|| file(xlsx::FILE, &|w| xlsx::write(w, r, &page))));
        let others = (|| {
            let mut written = vec![
                file("findings.csv", &|w| {
                    csv::write(w, FINDINGS_COLUMNS, &a.findings)
                })?,
                file("coverage.csv", &|w| {
                    csv::write(w, COVERAGE_COLUMNS, &a.coverage)
                })?,
                file("grants.csv", &|w| csv::write(w, GRANTS_COLUMNS, &a.grants))?,
                file("cost_allocation.csv", &|w| {
                    csv::write(w, ALLOCATION_COLUMNS, &a.allocation)
                })?,
            ];
            written.push(file("findings.json", &|w| json::findings(w, a, run))?);
            written.push(file("summary.json", &|w| json::summary(w, r))?);
            written.push(file("report.html", &|w| html::write(w, templates, &page))?);
            written.push(file("summary.md", &|w| {
                markdown::write(w, templates, &page)
            })?);
            written.push(file(PLAN_JSON, &|w| fix.write_json(w))?);
            written.push(file(PLAN_SCRIPT, &|mut w| {
                w.write_all(crate::plan::script(&fix).as_bytes())?;
                Ok(())
            })?);
            // Last: it waits for the history store's write (`commands::run`), and the files
            // above are written even when that fails.
            if let Some(h) = r.history {
                written.push(file("activation_history.csv", &|w| {
                    csv::write(w, ACTIVATION_COLUMNS, h.activation.rows()?)
                })?);
            }
            Ok::<_, anyhow::Error>(written)
        })();
        let workbook = workbook.map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (others, workbook)
    });
    let mut written = written?;
    if let Some(name) = workbook.transpose()? {
        written.push(name);
    }
    Ok(written)
}
