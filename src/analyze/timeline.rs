//! A grant's status over time, replayed from its events.
//!
//! Grants carry no timestamp; their history comes from CloudTrail, from the job's own runs,
//! or (demo) from the generator. A grant with no event had its collected status all along,
//! which for ACTIVE means "activation time unknown".

use chrono::{DateTime, Utc};

use crate::model::{EventKind, Grant, GrantEvent, GrantStatus, PrincipalKind};

/// Status changes of one grant, oldest first. `None` means the grant did not exist yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Status before the first change.
    pub initial: Option<GrantStatus>,
    pub changes: Vec<(DateTime<Utc>, Option<GrantStatus>)>,
    /// When the grant was created, if an event says so.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last became ACTIVE, if known.
    pub activated_at: Option<DateTime<Utc>>,
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
            };
        };
        let initial = match first.kind {
            EventKind::Created => None,
            EventKind::Activated => Some(GrantStatus::Disabled),
            EventKind::Disabled => Some(GrantStatus::Active),
            EventKind::Accepted | EventKind::Rejected => Some(GrantStatus::PendingAccept),
            _ => Some(GrantStatus::Other("UNKNOWN".into())),
        };
        let org_wide = !grant.is_sub_grant()
            && matches!(
                grant.grantee_kind,
                PrincipalKind::Ou | PrincipalKind::Organization
            );
        let mut changes = Vec::with_capacity(events.len() + 1);
        let mut created_at = None;
        let mut activated_at = None;
        for e in &events {
            if e.kind == EventKind::Created {
                created_at.get_or_insert(e.time);
            }
            if e.kind == EventKind::Activated {
                activated_at = Some(e.time);
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
        // The collected status is the truth at collection time, whatever the events said.
        let last = changes.last().and_then(|c| c.1.clone());
        if last.as_ref() != Some(&grant.status)
            && collected_at >= events.last().map(|e| e.time).unwrap_or(collected_at)
        {
            changes.push((collected_at, Some(grant.status.clone())));
        }
        Timeline {
            initial,
            changes,
            created_at,
            activated_at,
        }
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

    /// Instants at which the status changes.
    pub fn change_times(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.changes.iter().map(|(t, _)| *t)
    }

    /// ACTIVE with no event saying since when.
    pub fn activation_unknown(&self) -> bool {
        self.activated_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventSource;
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
            grant_type: None,
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
