//! Grant transitions seen by comparing this run with the previous one, and feeding the
//! history back into the snapshot as grant events before the analysis.
//!
//! A grant carries no timestamp. When its status differs from the previous run's and no
//! snapshot event explains the change, the change happened between the two runs' as-of
//! dates: it becomes an `observed` event at the end of this run's as-of day whose
//! `not_before` is the previous run's observation. The analysis takes the status in between
//! as unknown (coverage `activation-unknown` where either side is ACTIVE), so that neither
//! coverage nor exposure is claimed without proof. A grant first seen by this run is taken
//! to exist since just after the previous run.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::store::PastRun;
use crate::analyze::context::Context;
use crate::config::Config;
use crate::model::{day_start, EventKind, EventSource, GrantEvent, GrantStatus, PrincipalKind};
use crate::snapshot::Snapshot;
use crate::snapshot::Table;

/// A change observed between two runs: the event fed to the analysis and its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub event: GrantEvent,
    /// As-of date of the last run before the change (exclusive bound).
    pub after: NaiveDate,
    /// As-of date of the first run that saw it (inclusive bound).
    pub by: NaiveDate,
}

/// The instant a run observes: the end of its as-of day, where the analysis reads statuses.
pub fn observed_at(as_of: NaiveDate) -> DateTime<Utc> {
    day_start(as_of + Duration::days(1))
}

/// Adds `events` to the snapshot's grant events, leaving out those it already has.
pub fn feed(snap: &mut Snapshot, events: impl IntoIterator<Item = GrantEvent>) -> usize {
    let key = |e: &GrantEvent| {
        (
            e.grant_arn.clone(),
            e.account_id.clone(),
            e.kind.clone(),
            e.time,
            e.source.clone(),
        )
    };
    let have: HashSet<_> = snap.grant_events.iter().map(key).collect();
    let before = snap.grant_events.len();
    for e in events {
        if !have.contains(&key(&e)) {
            snap.grant_events.push(e);
        }
    }
    snap.grant_events.len() - before
}

/// The event kind that takes a grant from `from` to `to`, if one does.
fn kind_for(from: &GrantStatus, to: &GrantStatus) -> Option<EventKind> {
    Some(match to {
        GrantStatus::Active => EventKind::Activated,
        GrantStatus::Disabled if *from == GrantStatus::Active => EventKind::Disabled,
        GrantStatus::Disabled => EventKind::Accepted,
        GrantStatus::Rejected => EventKind::Rejected,
        GrantStatus::Deleted | GrantStatus::PendingDelete => EventKind::Deleted,
        _ => return None,
    })
}

/// Transitions between `prev` and this run (`as_of`) that no snapshot event explains.
/// `snap` already holds the stored history (see [`feed`]). A grant's absence from one run
/// says it was created or deleted in between only when both runs read the grants completely:
/// a failed read must not pass for a deletion.
pub fn transitions(
    snap: &Snapshot,
    cfg: &Config,
    as_of: NaiveDate,
    prev: &PastRun,
) -> Vec<Observed> {
    let cx = Context::new(snap, cfg, as_of);
    let (after_t, by_t) = (observed_at(prev.as_of), observed_at(as_of));
    // Grants (and parent grants per account) that have a real event in between.
    let mut touched: BTreeSet<(&str, &str)> = BTreeSet::new();
    for e in snap
        .grant_events
        .iter()
        .filter(|e| e.source != EventSource::Observed && e.time > after_t && e.time <= by_t)
    {
        touched.insert((e.grant_arn.as_str(), ""));
        if let Some(a) = &e.account_id {
            touched.insert((e.grant_arn.as_str(), a.as_str()));
        }
    }
    let explained = |arn: &str, parent: &str, account: &str| {
        touched.contains(&(arn, "")) || touched.contains(&(parent, account))
    };
    // A change is known only by this run, and may have happened right after the previous
    // one: placed at the end of the interval, which it spans.
    let lower = after_t + Duration::seconds(1);
    let upper = by_t - Duration::seconds(1);
    let event = |g: &crate::model::Grant, kind: EventKind, time: DateTime<Utc>| Observed {
        event: GrantEvent {
            time,
            grant_arn: g.arn.clone(),
            account_id: (g.grantee_kind == PrincipalKind::Account).then(|| g.grantee_id.clone()),
            not_before: (time == upper).then_some(after_t),
            kind,
            source: EventSource::Observed,
            actor: None,
        },
        after: prev.as_of,
        by: as_of,
    };

    // The previous run's list is stored text (any version of the tool wrote it).
    let absence_counts = !prev
        .incomplete_tables
        .iter()
        .any(|t| t == Table::Grants.as_str())
        && !snap.incomplete_tables().contains(&Table::Grants);
    let mut out = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for v in &cx.grants {
        let g = v.grant;
        seen.insert(g.arn.as_str());
        if explained(&g.arn, &g.parent_arn, &g.grantee_id) {
            continue;
        }
        match prev.statuses.get(&g.arn) {
            Some(before) => {
                let before = GrantStatus::parse(before);
                if before != v.status {
                    if let Some(kind) = kind_for(&before, &v.status) {
                        out.push(event(g, kind, upper));
                    }
                }
            }
            None if absence_counts => {
                out.push(event(g, EventKind::Created, lower));
                if v.status == GrantStatus::Active {
                    out.push(event(g, EventKind::Activated, upper));
                }
            }
            None => {}
        }
    }
    // Grants the previous run saw that are gone from the listing: deleted in between.
    for (arn, status) in &prev.statuses {
        let gone = absence_counts
            && !seen.contains(arn.as_str())
            && !matches!(GrantStatus::parse(status), GrantStatus::Deleted);
        if gone && !touched.contains(&(arn.as_str(), "")) {
            out.push(Observed {
                event: GrantEvent {
                    time: upper,
                    grant_arn: arn.clone(),
                    account_id: None,
                    kind: EventKind::Deleted,
                    source: EventSource::Observed,
                    actor: None,
                    not_before: Some(after_t),
                },
                after: prev.as_of,
                by: as_of,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_status_change() {
        use GrantStatus::*;
        assert_eq!(kind_for(&Disabled, &Active), Some(EventKind::Activated));
        assert_eq!(kind_for(&Active, &Disabled), Some(EventKind::Disabled));
        assert_eq!(
            kind_for(&PendingAccept, &Disabled),
            Some(EventKind::Accepted)
        );
        assert_eq!(kind_for(&Active, &PendingDelete), Some(EventKind::Deleted));
        assert_eq!(kind_for(&PendingAccept, &FailedWorkflow), None);
    }

    fn statuses(snap: &Snapshot, cfg: &Config, as_of: NaiveDate) -> PastRun {
        PastRun {
            as_of,
            statuses: Context::new(snap, cfg, as_of)
                .grants
                .iter()
                .map(|v| (v.grant.arn.clone(), v.status.to_string()))
                .collect(),
            ..PastRun::default()
        }
    }

    #[test]
    fn only_unexplained_changes_are_observed_and_span_the_interval() {
        let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
        let (before, now) = (d(8, 30), d(9, 6));
        let mut snap = crate::inputs::demo::builtin();
        let cfg = Config::default();
        let prev = statuses(&snap, &cfg, before);
        // With every event in the snapshot, every change is explained.
        assert!(transitions(&snap, &cfg, now, &prev).is_empty());

        // Without the events of a grant activated in between, its activation is observed.
        let activated = snap
            .grant_events
            .iter()
            .find(|e| {
                e.kind == EventKind::Activated
                    && e.time > observed_at(before)
                    && e.time <= observed_at(now)
            })
            .map(|e| e.grant_arn.clone())
            .expect("the demo activates a grant that week");
        snap.grant_events.retain(|e| e.grant_arn != activated);
        // Collected on `now`: the grant's status then, no event saying since when.
        let g = snap.grants.iter_mut().find(|g| g.arn == activated).unwrap();
        g.status = GrantStatus::Active;
        assert_eq!(prev.statuses[&activated], "DISABLED");
        let seen = transitions(&snap, &cfg, now, &prev);
        assert_eq!(seen.len(), 1);
        let o = &seen[0];
        assert_eq!(
            (o.event.kind.clone(), o.after, o.by),
            (EventKind::Activated, before, now)
        );
        assert_eq!(o.event.source, EventSource::Observed);
        assert_eq!(o.event.time, observed_at(now) - Duration::seconds(1));
        assert_eq!(o.event.not_before, Some(observed_at(before)));
        assert_eq!(o.event.grant_arn, activated);
    }

    #[test]
    fn absence_means_created_or_deleted_only_when_both_runs_are_complete() {
        let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
        let snap = crate::inputs::demo::builtin();
        let cfg = Config::default();
        let mut prev = statuses(&snap, &cfg, d(9, 6));
        prev.statuses.insert(
            "arn:aws:license-manager::1:grant:g-gone".into(),
            "ACTIVE".into(),
        );
        let gone = |o: &Vec<Observed>| {
            o.iter()
                .filter(|o| o.event.kind == EventKind::Deleted)
                .count()
        };
        assert_eq!(gone(&transitions(&snap, &cfg, d(9, 13), &prev)), 1);
        // Another table missing (CloudTrail skipped, say) does not matter; grants does.
        prev.incomplete_tables = vec!["grant_events".into()];
        assert_eq!(gone(&transitions(&snap, &cfg, d(9, 13), &prev)), 1);
        prev.incomplete_tables = vec!["grants".into()];
        assert_eq!(gone(&transitions(&snap, &cfg, d(9, 13), &prev)), 0);
        prev.incomplete_tables.clear();
        let mut partial = snap.clone();
        partial
            .manifest
            .completeness
            .push(crate::snapshot::LedgerEntry {
                service: "license-manager".into(),
                operation: "ListReceivedGrantsForOrganization".into(),
                scope: "organization".into(),
                error_code: "AccessDeniedException".into(),
                message: "denied".into(),
                tables: vec![Table::Grants],
                account_id: None,
            });
        assert_eq!(gone(&transitions(&partial, &cfg, d(9, 13), &prev)), 0);
    }

    #[test]
    fn feed_skips_events_already_there() {
        let mut snap = crate::inputs::demo::builtin();
        let n = snap.grant_events.len();
        let again = snap.grant_events[..3].to_vec();
        assert_eq!(feed(&mut snap, again), 0);
        let mut e = snap.grant_events[0].clone();
        e.source = EventSource::Observed;
        assert_eq!(feed(&mut snap, [e]), 1);
        assert_eq!(snap.grant_events.len(), n + 1);
    }
}
