//! A grant's status over time, replayed from its events.
//!
//! Grants carry no timestamp; their history comes from CloudTrail, from the job's own runs,
//! or (demo) from the generator. A grant with no event had its collected status all along,
//! which for ACTIVE means "activation time unknown".
//!
//! A change nobody dated is not placed at a guessed instant. When the collected status
//! differs from what the last event says (a member activated its grant in its own account,
//! whose CloudTrail the run does not read), or when a change was seen only by comparing two
//! runs (`not_before`), the change happened at an unknown instant of an interval: the status
//! is known before and after it, and either one inside it ([`Timeline::unknown_at`]).

use chrono::{DateTime, Utc};

use crate::model::{EventKind, Grant, GrantEvent, GrantStatus};

/// Status changes of one grant, oldest first. `None` means the grant did not exist yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Status before the first change.
    pub initial: Option<GrantStatus>,
    pub changes: Vec<(DateTime<Utc>, Option<GrantStatus>)>,
    /// When the grant was created, if an event says so.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last became ACTIVE, if an event dates it exactly.
    pub activated_at: Option<DateTime<Utc>>,
    /// Intervals `(after, by)`, oldest first, in which the status changed at an unknown
    /// instant: the change is recorded in `changes` at `by`.
    pub unknown: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Timeline {
    /// Builds the timeline of `grant` from its events (any order) and its collected status.
    pub fn build(grant: &Grant, events: &[&GrantEvent], collected_at: DateTime<Utc>) -> Timeline {
        let mut events: Vec<&GrantEvent> = events.to_vec();
        events.sort_by(|a, b| a.time.cmp(&b.time).then(a.kind.cmp(&b.kind)));
        let Some(first) = events.first() else {
            return Timeline {
                initial: Some(grant.status.clone()),
                changes: Vec::new(),
                created_at: None,
                activated_at: None,
                unknown: Vec::new(),
            };
        };
        let initial = match first.kind {
            EventKind::Created => None,
            EventKind::Activated => Some(GrantStatus::Disabled),
            EventKind::Disabled => Some(GrantStatus::Active),
            EventKind::Accepted | EventKind::Rejected => Some(GrantStatus::PendingAccept),
            _ => Some(GrantStatus::Other("UNKNOWN".into())),
        };
        let org_wide = !grant.is_sub_grant() && grant.is_org_wide();
        let mut changes = Vec::with_capacity(events.len() + 1);
        let mut unknown = Vec::new();
        let mut created_at = None;
        let mut activated_at = None;
        for e in &events {
            if e.kind == EventKind::Created {
                created_at.get_or_insert(e.time);
            }
            match e.not_before {
                Some(after) if after < e.time => unknown.push((after, e.time)),
                _ if e.kind == EventKind::Activated => activated_at = Some(e.time),
                _ => {}
            }
            let status = match e.kind {
                // Organization and OU grants are accepted on creation; their per-account
                // sub-grants carry the accept/activate story.
                EventKind::Created if org_wide => Some(GrantStatus::WorkflowCompleted),
                _ => e.kind.resulting_status(),
            };
            if let Some(s) = status {
                changes.push((e.time, Some(s)));
            }
        }
        // The collected status is the truth at collection time, whatever the events said;
        // no event says when it changed, so it did at an unknown instant since the last one.
        // It is the status from the start of the collection day on (the end of the default
        // as-of day, where rules read statuses and the history records them); coverage reads
        // the interval, which still runs to the collection instant, as unknown.
        let last = changes.last().and_then(|c| c.1.clone());
        let last_time = events.last().map_or(collected_at, |e| e.time);
        if last.as_ref() != Some(&grant.status) && collected_at >= last_time {
            let from = crate::model::day_start(crate::model::day(collected_at)).max(last_time);
            changes.push((from, Some(grant.status.clone())));
            if last_time < collected_at {
                unknown.push((last_time, collected_at));
            }
        }
        unknown.sort();
        Timeline {
            initial,
            changes,
            created_at,
            activated_at,
            unknown,
        }
    }

    /// Inside an interval of unknown change, strictly: the statuses before and after it,
    /// either of which the grant may have had at `t`.
    pub fn unknown_at(
        &self,
        t: DateTime<Utc>,
    ) -> Option<(Option<&GrantStatus>, Option<&GrantStatus>)> {
        self.unknown
            .iter()
            .find(|(after, by)| *after < t && t < *by)
            .map(|(after, by)| (self.status_at(*after), self.status_at(*by)))
    }

    /// Whether the grant may or may not have been ACTIVE at `t`: inside an interval of
    /// unknown change with ACTIVE on exactly one side.
    pub fn active_unknown_at(&self, t: DateTime<Utc>) -> bool {
        self.unknown_at(t).is_some_and(|(before, after)| {
            (before == Some(&GrantStatus::Active)) != (after == Some(&GrantStatus::Active))
        })
    }

    /// Status at an instant.
    pub fn status_at(&self, t: DateTime<Utc>) -> Option<&GrantStatus> {
        let idx = self.changes.partition_point(|(at, _)| *at <= t);
        if idx == 0 {
            self.initial.as_ref()
        } else {
            self.changes[idx - 1].1.as_ref()
        }
    }

    /// Instants at which the status, or what is known of it, changes: each change, and the
    /// first instant inside each interval of unknown change.
    pub fn change_times(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.changes.iter().map(|(t, _)| *t).chain(
            self.unknown
                .iter()
                .map(|(after, _)| *after + chrono::Duration::nanoseconds(1)),
        )
    }

    /// ACTIVE with no event saying exactly since when.
    pub fn activation_unknown(&self) -> bool {
        self.activated_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventSource, GrantRelation, PrincipalKind};
    use chrono::TimeZone;

    fn grant(status: GrantStatus) -> Grant {
        Grant {
            arn: "arn:aws:license-manager::123456789012:grant:g-1".into(),
            name: "g".into(),
            license_arn: "arn:aws:license-manager::123456789012:license:l-1".into(),
            parent_arn: "arn:aws:license-manager::123456789012:license:l-1".into(),
            grantee_principal_arn: "arn:aws:iam::111122223333:root".into(),
            grantee_kind: PrincipalKind::Account,
            grantee_id: "111122223333".into(),
            status,
            status_reason: None,
            version: "1".into(),
            home_region: "us-east-1".into(),
            activation_override: None,
            granted_operations: Vec::new(),
            grant_type: None,
            relation: GrantRelation::Direct,
        }
    }

    fn event(day: u32, kind: EventKind) -> GrantEvent {
        GrantEvent {
            time: Utc.with_ymd_and_hms(2026, 9, day, 12, 0, 0).unwrap(),
            grant_arn: "arn:aws:license-manager::123456789012:grant:g-1".into(),
            account_id: None,
            kind,
            source: EventSource::CloudTrail,
            actor: None,
            not_before: None,
        }
    }

    #[test]
    fn replays_events() {
        let events = [
            event(1, EventKind::Created),
            event(3, EventKind::Accepted),
            event(10, EventKind::Activated),
        ];
        let refs: Vec<&GrantEvent> = events.iter().collect();
        let t = Timeline::build(
            &grant(GrantStatus::Active),
            &refs,
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        let at = |d| Utc.with_ymd_and_hms(2026, 9, d, 0, 0, 0).unwrap();
        assert_eq!(t.status_at(at(1)), None);
        assert_eq!(t.status_at(at(2)), Some(&GrantStatus::PendingAccept));
        assert_eq!(t.status_at(at(5)), Some(&GrantStatus::Disabled));
        assert_eq!(t.status_at(at(11)), Some(&GrantStatus::Active));
        assert!(!t.activation_unknown());
        assert_eq!(t.created_at, Some(events[0].time));
    }

    #[test]
    fn organization_grants_are_accepted_on_creation() {
        let mut g = grant(GrantStatus::WorkflowCompleted);
        g.grantee_kind = PrincipalKind::Organization;
        let events = [event(1, EventKind::Created)];
        let refs: Vec<&GrantEvent> = events.iter().collect();
        let t = Timeline::build(
            &g,
            &refs,
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        let t2 = Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).unwrap();
        assert_eq!(t.status_at(t2), Some(&GrantStatus::WorkflowCompleted));
    }

    #[test]
    fn no_events_means_status_all_along() {
        let t = Timeline::build(
            &grant(GrantStatus::Active),
            &[],
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(
            t.status_at(Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()),
            Some(&GrantStatus::Active)
        );
        assert!(t.activation_unknown());
    }

    #[test]
    fn an_undated_activation_is_unknown_between_the_last_event_and_collection() {
        // Created in the management account's trail; accepted and activated in the
        // member's, which the run does not read.
        let events = [event(1, EventKind::Created)];
        let refs: Vec<&GrantEvent> = events.iter().collect();
        let collected = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let t = Timeline::build(&grant(GrantStatus::Active), &refs, collected);
        let at = |m, d| Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap();
        assert_eq!(t.unknown, vec![(events[0].time, collected)]);
        assert!(!t.active_unknown_at(at(9, 1)), "before the creation event");
        assert!(t.active_unknown_at(at(9, 2)));
        assert!(t.active_unknown_at(at(9, 30)));
        assert!(!t.active_unknown_at(collected), "known from collection on");
        assert_eq!(t.status_at(collected), Some(&GrantStatus::Active));
        assert!(t.activation_unknown());
        assert!(t
            .change_times()
            .any(|c| c > events[0].time && t.active_unknown_at(c)));

        // Collected at noon: from the start of that day the grant has its collected status
        // (rules and history read it there), while whether it covered that day stays unknown.
        let noon = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
        let t = Timeline::build(&grant(GrantStatus::Active), &refs, noon);
        assert_eq!(t.status_at(collected), Some(&GrantStatus::Active));
        assert!(t.active_unknown_at(collected));
        assert_eq!(
            t.status_at(collected - chrono::Duration::seconds(1)),
            Some(&GrantStatus::PendingAccept)
        );
    }

    #[test]
    fn an_observed_change_spans_its_runs() {
        let after = Utc.with_ymd_and_hms(2026, 9, 8, 0, 0, 0).unwrap();
        let mut seen = event(14, EventKind::Activated);
        seen.not_before = Some(after);
        let events = [event(1, EventKind::Created), seen];
        let refs: Vec<&GrantEvent> = events.iter().collect();
        let t = Timeline::build(
            &grant(GrantStatus::Active),
            &refs,
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        let at = |d| Utc.with_ymd_and_hms(2026, 9, d, 0, 0, 0).unwrap();
        assert_eq!(t.unknown, vec![(after, events[1].time)]);
        assert!(
            !t.active_unknown_at(at(8)),
            "the earlier run saw it not active"
        );
        assert_eq!(t.status_at(at(8)), Some(&GrantStatus::PendingAccept));
        assert!(t.active_unknown_at(at(10)));
        assert!(!t.active_unknown_at(at(15)));
        assert_eq!(t.status_at(at(15)), Some(&GrantStatus::Active));
        assert_eq!(t.activated_at, None, "not dated exactly");
    }

    #[test]
    fn collected_status_wins_over_stale_events() {
        let events = [event(1, EventKind::Activated)];
        let refs: Vec<&GrantEvent> = events.iter().collect();
        let collected = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let t = Timeline::build(&grant(GrantStatus::Disabled), &refs, collected);
        assert_eq!(t.status_at(collected), Some(&GrantStatus::Disabled));
        assert_eq!(
            t.status_at(Utc.with_ymd_and_hms(2026, 9, 2, 0, 0, 0).unwrap()),
            Some(&GrantStatus::Active)
        );
    }
}
