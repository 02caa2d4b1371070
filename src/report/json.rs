//! JSON outputs, the machine contract: `findings.json` and `summary.json`.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{Report, RunInfo, SCHEMA_VERSION};
use crate::analyze::finding::Finding;
use crate::analyze::rules::RULES;
use crate::analyze::{Analysis, Completeness, Totals};
use crate::model::Severity;

#[derive(Serialize)]
struct FindingsDoc<'a> {
    schema_version: u32,
    run: &'a RunInfo,
    findings: &'a [Finding],
}

/// Counts of findings, every rule and severity listed (zero included).
#[derive(Debug, Serialize)]
pub struct Counts {
    pub findings: usize,
    pub at_or_above_fail_on: usize,
    pub by_rule: BTreeMap<&'static str, usize>,
    pub by_severity: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
pub struct TeamCost {
    pub team: String,
    /// `team`, or for the empty team `shared-pool` or `unallocated` (kept apart).
    pub owner: &'static str,
    pub cost_usd: f64,
    /// The part of `cost_usd` at public price, and what it lost (over the rows with a price
    /// basis; `overspend_complete` false when some exposed spend has none).
    pub exposed_usd: f64,
    pub overspend_usd: f64,
    pub overspend_complete: bool,
}

#[derive(Serialize)]
struct SummaryDoc<'a> {
    schema_version: u32,
    run: &'a RunInfo,
    counts: Counts,
    totals: &'a Totals,
    cost_by_team: Vec<TeamCost>,
    completeness: &'a Completeness,
    /// Changes since the previous run; `null` when the run kept no history.
    changes: Option<&'a crate::history::Changes>,
    /// What the suppressions file did; `null` without one.
    suppressions: Option<&'a crate::history::SuppressionReport>,
}

pub fn counts(a: &Analysis, fail_on: Option<Severity>) -> Counts {
    let mut by_rule: BTreeMap<&'static str, usize> = RULES.iter().map(|r| (r.code(), 0)).collect();
    let mut by_severity: BTreeMap<String, usize> =
        Severity::KNOWN.iter().map(|s| (s.to_string(), 0)).collect();
    for f in &a.findings {
        *by_rule.entry(f.rule).or_default() += 1;
        *by_severity.entry(f.severity.to_string()).or_default() += 1;
    }
    Counts {
        findings: a.findings.len(),
        at_or_above_fail_on: a.count_at_or_above(fail_on),
        by_rule,
        by_severity,
    }
}

/// Spend per team over the window; the spend of no team as two rows with the empty team,
/// the shared pool and the unallocated.
pub fn cost_by_team(a: &Analysis) -> Vec<TeamCost> {
    let mut by: BTreeMap<(&str, &'static str), (f64, f64, f64, bool)> = BTreeMap::new();
    for r in &a.allocation {
        let t = by.entry((r.team.as_str(), r.owner())).or_default();
        t.0 += r.cost_usd;
        t.1 += r.exposed_usd;
        t.2 += r.overspend_usd.unwrap_or(0.0);
        t.3 |= r.has_unpriced_exposure();
    }
    let round = crate::money::round;
    by.into_iter()
        .map(
            |((team, owner), (cost, exposed, overspend, unpriced))| TeamCost {
                team: team.to_string(),
                owner,
                cost_usd: round(cost),
                exposed_usd: round(exposed),
                overspend_usd: round(overspend),
                overspend_complete: !unpriced,
            },
        )
        .collect()
}

pub fn findings<W: Write>(mut w: W, a: &Analysis, run: &RunInfo) -> Result<()> {
    serde_json::to_writer_pretty(
        &mut w,
        &FindingsDoc {
            schema_version: SCHEMA_VERSION,
            run,
            findings: &a.findings,
        },
    )?;
    writeln!(w)?;
    Ok(())
}

pub fn summary<W: Write>(mut w: W, r: &Report) -> Result<()> {
    let a = r.analysis;
    let doc = SummaryDoc {
        schema_version: SCHEMA_VERSION,
        run: r.run,
        counts: counts(a, r.run.fail_on),
        totals: &a.totals,
        cost_by_team: cost_by_team(a),
        completeness: &a.completeness,
        changes: r.history.map(|h| &h.changes),
        suppressions: r.suppressions,
    };
    serde_json::to_writer_pretty(&mut w, &doc)?;
    writeln!(w)?;
    Ok(())
}
