//! Week-over-week changes: each finding is new or persisting against the previous run (the
//! latest stored run with an earlier as-of date), and the previous run's findings that are
//! gone are resolved.

use chrono::NaiveDate;
use serde::Serialize;

use super::store::PastRun;
use crate::analyze::finding::{Change, Finding, FindingRef};

/// The `changes` section of summary.json.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// The run compared with; `null` on the first run, when every finding is new.
    pub previous_run: Option<PreviousRun>,
    pub new: usize,
    pub persisting: usize,
    pub resolved: usize,
    /// The previous run's findings that this run no longer has, sorted by id.
    pub resolved_findings: Vec<ResolvedFinding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousRun {
    pub as_of: NaiveDate,
    pub tool_version: String,
    pub complete: bool,
}

/// A finding of the previous run that this run no longer has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedFinding {
    #[serde(flatten)]
    pub finding: FindingRef,
    pub first_seen: NaiveDate,
    /// As-of date of the last run that had it.
    pub last_seen: NaiveDate,
    /// This run could not read all the data the rule needs: the finding may be gone only
    /// because its evidence was not read.
    pub data_incomplete: bool,
}

/// Marks every finding new or persisting (with first seen and age) against `prev`, and lists
/// what `prev` had that is gone. `affected_rules`: rules whose data this run could not read.
pub fn compare(
    findings: &mut [Finding],
    prev: Option<&PastRun>,
    as_of: NaiveDate,
    affected_rules: &[&str],
) -> Changes {
    let mut changes = Changes {
        previous_run: prev.map(|p| PreviousRun {
            as_of: p.as_of,
            tool_version: p.tool_version.clone(),
            complete: p.complete,
        }),
        ..Changes::default()
    };
    for f in findings.iter_mut() {
        let before = prev.and_then(|p| p.findings.get(&f.id));
        let first_seen = before.map_or(as_of, |b| b.first_seen);
        f.tracking.change = Some(if before.is_some() {
            changes.persisting += 1;
            Change::Persisting
        } else {
            changes.new += 1;
            Change::New
        });
        f.tracking.first_seen = Some(first_seen);
        f.tracking.age_days = Some((as_of - first_seen).num_days());
    }
    if let Some(p) = prev {
        let now: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| f.id.as_str()).collect();
        changes.resolved_findings = p
            .findings
            .values()
            .filter(|f| !now.contains(f.finding.id.as_str()))
            .map(|f| ResolvedFinding {
                finding: f.finding.clone(),
                first_seen: f.first_seen,
                last_seen: p.as_of,
                data_incomplete: affected_rules.contains(&f.finding.rule.as_str()),
            })
            .collect();
    }
    changes.resolved = changes.resolved_findings.len();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::PastFinding;

    fn finding(id: &str) -> Finding {
        let snap = crate::inputs::demo::builtin();
        let cfg = crate::config::Config::default();
        let a = crate::analyze::analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
        let mut f = a.findings[0].clone();
        f.id = id.to_string();
        f
    }

    fn past(as_of: NaiveDate, ids: &[(&str, NaiveDate)]) -> PastRun {
        PastRun {
            as_of,
            tool_version: "0".into(),
            complete: true,
            findings: ids
                .iter()
                .map(|(id, first)| {
                    let p = PastFinding {
                        finding: FindingRef {
                            id: id.to_string(),
                            rule: "EA003".into(),
                            name: "grant-failed".into(),
                            severity: crate::model::Severity::Medium,
                            account_id: String::new(),
                            account_name: String::new(),
                            product: String::new(),
                            license_arn: String::new(),
                            grant_arn: String::new(),
                        },
                        first_seen: *first,
                    };
                    (id.to_string(), p)
                })
                .collect(),
            ..PastRun::default()
        }
    }

    #[test]
    fn new_persisting_and_resolved() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 10, n).unwrap();
        let base = finding("x");
        let mut fs: Vec<Finding> = ["a", "b"]
            .iter()
            .map(|id| Finding {
                id: id.to_string(),
                ..base.clone()
            })
            .collect();
        let prev = past(d(10), &[("b", d(3)), ("c", d(10))]);
        let ch = compare(&mut fs, Some(&prev), d(17), &["EA003"]);
        assert_eq!((ch.new, ch.persisting, ch.resolved), (1, 1, 1));
        assert_eq!(fs[0].tracking.change, Some(Change::New));
        assert_eq!(fs[0].tracking.age_days, Some(0));
        assert_eq!(fs[1].tracking.change, Some(Change::Persisting));
        assert_eq!(fs[1].tracking.first_seen, Some(d(3)));
        assert_eq!(fs[1].tracking.age_days, Some(14));
        let r = &ch.resolved_findings[0];
        assert_eq!(
            (r.finding.id.as_str(), r.last_seen, r.finding.name.as_str()),
            ("c", d(10), "grant-failed")
        );
        assert!(r.data_incomplete);
    }

    #[test]
    fn first_run_everything_new() {
        let mut fs = vec![finding("a")];
        let d = NaiveDate::from_ymd_opt(2026, 10, 17).unwrap();
        let ch = compare(&mut fs, None, d, &[]);
        assert_eq!(ch.previous_run, None);
        assert_eq!((ch.new, ch.persisting, ch.resolved), (1, 0, 0));
    }
}
