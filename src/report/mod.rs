//! Reports: every output file of a run, each writer taking the analysis and an `impl Write`.
//!
//! CSV for spreadsheets (`csv`), JSON as the machine contract (`json`), and for people one
//! HTML page (`html`, with `charts`) and a Markdown summary (`markdown`), both rendered from
//! the shared `view` through the overridable `templates`. Column lists here are the contract
//! documented in docs/report-schema.md; a test keeps the two in step.

pub mod charts;
pub mod csv;
pub mod html;
pub mod json;
pub mod markdown;
pub mod templates;
pub mod view;

use std::fs::{self, File};
use std::io::BufWriter;
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
        }
    }
}

fn fail_on_text<S: serde::Serializer>(v: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.map_or("none", Severity::as_str))
}

pub const FINDINGS_COLUMNS: &[&str] = &[
    "id",
    "rule",
    "name",
    "severity",
    "account_id",
    "account_name",
    "ou_path",
    "team",
    "product",
    "license_arn",
    "grant_arn",
    "first_day",
    "last_day",
    "cost_usd",
    "overspend_usd",
    "overspend_basis",
    "activation_unknown_usd",
    "data_incomplete",
    "message",
    "remediation",
    "change",
    "first_seen",
    "age_days",
    "suppressed",
    "suppression_reason",
    "suppression_owner",
    "suppression_expires",
];
pub const COVERAGE_COLUMNS: &[&str] = &[
    "account_id",
    "account_name",
    "ou_path",
    "product",
    "license_arn",
    "state",
    "grant_arn",
    "sub_grant_arn",
    "grant_status",
    "activation_time_unknown",
    "from",
    "to",
    "days",
    "cost_usd",
    "overspend_usd",
    "overspend_basis",
];
pub const GRANTS_COLUMNS: &[&str] = &[
    "grant_arn",
    "name",
    "product",
    "license_arn",
    "parent_arn",
    "is_sub_grant",
    "relation",
    "grantee_kind",
    "grantee_id",
    "grantee_name",
    "status",
    "status_reason",
    "version",
    "created_at",
    "activated_at",
    "activation_time_unknown",
    "findings",
];
pub const ALLOCATION_COLUMNS: &[&str] = &[
    "month",
    "team",
    "method",
    "product",
    "account_id",
    "account_name",
    "cost_usd",
    "rows",
    "used_by_account_id",
    "used_by_account_name",
    "redistributed",
];

/// The file `verify-cleanup` writes.
pub const CLEANUP_FILE: &str = "cleanup_verification.csv";

/// `cleanup_verification.csv`, written by `verify-cleanup`.
pub const CLEANUP_COLUMNS: &[&str] = &[
    "check",
    "result",
    "license_arn",
    "product",
    "cut_off",
    "checked_from",
    "account_id",
    "account_name",
    "grant_arn",
    "grant_status",
    "grantee_kind",
    "grantee_id",
    "first_day",
    "last_day",
    "days",
    "rows",
    "cost_usd",
    "public_cost_usd",
    "detail",
];

pub const ACTIVATION_COLUMNS: &[&str] = &[
    "scope",
    "account_id",
    "product",
    "license_arn",
    "grant_arn",
    "parent_grant_arn",
    "via",
    "first_seen",
    "created_at",
    "accepted_at",
    "activated_at",
    "activated_after",
    "activated_by",
    "activation_source",
    "disabled_at",
    "deleted_at",
    "status",
    "days_to_activation",
];

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

/// Writes every report of a run into `dir`, the HTML and Markdown ones with `templates`.
pub fn write_all(r: &Report, dir: &Path, templates: &Templates) -> Result<Vec<String>> {
    let (a, run) = (r.analysis, r.run);
    fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
    let mut written = Vec::new();
    let mut file = |name: &str, f: &dyn Fn(BufWriter<File>) -> Result<()>| -> Result<()> {
        let path = dir.join(name);
        let out = File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        crate::progress::timed(name, || f(BufWriter::with_capacity(1 << 18, out)))
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        written.push(name.to_string());
        Ok(())
    };
    file("findings.csv", &|w| {
        csv::write(w, FINDINGS_COLUMNS, &a.findings)
    })?;
    file("coverage.csv", &|w| {
        csv::write(w, COVERAGE_COLUMNS, &a.coverage)
    })?;
    file("grants.csv", &|w| csv::write(w, GRANTS_COLUMNS, &a.grants))?;
    file("cost_allocation.csv", &|w| {
        csv::write(w, ALLOCATION_COLUMNS, &a.allocation)
    })?;
    if let Some(h) = r.history {
        file("activation_history.csv", &|w| {
            csv::write(w, ACTIVATION_COLUMNS, &h.activation)
        })?;
    }
    file("findings.json", &|w| json::findings(w, a, run))?;
    file("summary.json", &|w| json::summary(w, r))?;
    let page = crate::progress::timed("report view", || view::Page::new(r));
    file("report.html", &|w| html::write(w, templates, &page))?;
    file("summary.md", &|w| markdown::write(w, templates, &page))?;
    Ok(written)
}
