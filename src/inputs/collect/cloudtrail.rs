//! CloudTrail `LookupEvents` in `us-east-1`: when and by whom grants were created, accepted,
//! activated, disabled, rejected or deleted (a grant carries no timestamp of its own).
//!
//! Only the calling account's trail is visible, for 90 days: bulk activations by the
//! subscriber show up, a member's own activation does not; with `--member-role` the member
//! fan-out runs this same reader in each member account (`members.rs`), where it does.
//! The event JSON is parsed defensively: failed calls are skipped, unreadable events are
//! logged and skipped, never fatal.

use std::collections::BTreeMap;

use aws_sdk_cloudtrail::types::{Event, LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde_json::Value;

use super::call::{Cx, Page};
use super::permissions::LOOKUP_EVENTS;
use super::{parse_time, to_chrono};
use crate::model::{parse_principal, EventKind, EventSource, GrantEvent, PrincipalKind};
use crate::snapshot::Table;

/// The grant changes looked up, one `EventName` per call (the API takes one attribute).
pub const EVENT_NAMES: &[&str] = &[
    "CreateGrant",
    "AcceptGrant",
    "RejectGrant",
    "CreateGrantVersion",
    "DeleteGrant",
];

/// `LookupEvents` returns at most 50 events per page.
const MAX_PAGE: i32 = 50;

pub async fn collect(cx: &Cx<'_>, now: DateTime<Utc>) -> Vec<GrantEvent> {
    let c = &cx.clients.cloudtrail;
    let page = cx.page_size(MAX_PAGE);
    let days = cx.opts.cloudtrail_days;
    let start = aws_smithy_types::DateTime::from_secs((now - Duration::days(days)).timestamp());
    let end = aws_smithy_types::DateTime::from_secs(now.timestamp());
    if cx.member.is_none() {
        cx.progress.message("cloudtrail: reading grant changes");
    }

    let found = join_all(EVENT_NAMES.iter().map(|name| async move {
        let attr = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(*name)
            .build()
            .expect("key and value are set");
        let attr = &attr;
        let listed = cx.pages(&LOOKUP_EVENTS, |t| async move {
            c.lookup_events()
                .lookup_attributes(attr.clone())
                .start_time(start)
                .end_time(end)
                .max_results(page)
                .set_next_token(t)
                .send()
                .await
                .map(|r| Page::new(r.events().to_vec(), r.next_token()))
        });
        let scope = format!("EventName={name}, last {days} days");
        cx.keep(&LOOKUP_EVENTS, &scope, &[Table::GrantEvents], listed.await)
    }))
    .await;

    // Keyed by event id: the same event is never counted twice.
    let mut by_id: BTreeMap<String, GrantEvent> = BTreeMap::new();
    let mut skipped = 0usize;
    for (i, e) in found.iter().flatten().enumerate() {
        match grant_event(e) {
            Some(ev) => {
                let id = e.event_id().map_or_else(|| format!("#{i}"), str::to_string);
                by_id.entry(id).or_insert(ev);
            }
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::info!(skipped, "cloudtrail events without a grant change skipped");
    }
    let mut events: Vec<GrantEvent> = by_id.into_values().collect();
    events.sort_by(|a, b| {
        (a.time, &a.grant_arn, a.kind.as_str()).cmp(&(b.time, &b.grant_arn, b.kind.as_str()))
    });
    events
}

/// A key of a CloudTrail record. Its `requestParameters` key names are not documented
/// (aws-apis.md 1.6: camelCase expected): the camelCase name, else the PascalCase one.
fn field<'v>(v: &'v Value, camel: &str) -> Option<&'v Value> {
    v.get(camel).or_else(|| {
        let mut chars = camel.chars();
        let first = chars.next()?;
        v.get(first.to_ascii_uppercase().to_string() + chars.as_str())
    })
}

/// Turns one CloudTrail event into a grant change, or `None` when it is not one (a failed
/// call, a new version that changes no status, an event without a grant ARN or a time).
pub fn grant_event(e: &Event) -> Option<GrantEvent> {
    let detail: Value = e
        .cloud_trail_event()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    if field(&detail, "errorCode").is_some_and(|c| !c.is_null()) {
        return None;
    }
    let text = |v: &Value, path: &[&str]| -> Option<String> {
        let mut v = v;
        for p in path {
            v = field(v, p)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let name = e
        .event_name()
        .map(str::to_string)
        .or_else(|| text(&detail, &["eventName"]))?;
    let request = field(&detail, "requestParameters").unwrap_or(&Value::Null);
    let response = field(&detail, "responseElements").unwrap_or(&Value::Null);
    let status = text(request, &["status"]).or_else(|| text(response, &["status"]));
    let kind = match name.as_str() {
        "CreateGrant" => EventKind::Created,
        "AcceptGrant" => EventKind::Accepted,
        "RejectGrant" => EventKind::Rejected,
        "DeleteGrant" => EventKind::Deleted,
        "CreateGrantVersion" => match status.as_deref()? {
            "ACTIVE" => EventKind::Activated,
            "DISABLED" => EventKind::Disabled,
            "REJECTED" => EventKind::Rejected,
            "DELETED" | "PENDING_DELETE" => EventKind::Deleted,
            other => EventKind::Other(other.to_string()),
        },
        _ => return None,
    };
    // CreateGrant learns its ARN from the response; the others name it in the request.
    let grant_arn = text(response, &["grantArn"])
        .filter(|_| kind == EventKind::Created)
        .or_else(|| text(request, &["grantArn"]))
        .or_else(|| text(response, &["grantArn"]))
        .or_else(|| {
            e.resources()
                .iter()
                .filter_map(|r| r.resource_name())
                .find(|n| n.contains(":grant:"))
                .map(str::to_string)
        })?;
    let time = e
        .event_time()
        .and_then(to_chrono)
        .or_else(|| text(&detail, &["eventTime"]).and_then(|t| parse_time(&t)))?;
    // The grantee of an account grant; for org/OU grants the account is not in the event.
    let account_id = field(request, "principals")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(Value::as_str)
        .map(parse_principal)
        .and_then(|(k, id)| (k == PrincipalKind::Account).then_some(id));
    let actor = text(&detail, &["userIdentity", "arn"])
        .or_else(|| e.username().map(str::to_string))
        .or_else(|| text(&detail, &["userIdentity", "userName"]));
    Some(GrantEvent {
        time,
        grant_arn,
        account_id,
        kind,
        source: EventSource::CloudTrail,
        actor,
        not_before: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, detail: Value) -> Event {
        Event::builder()
            .event_id("e-1")
            .event_name(name)
            .event_time(aws_smithy_types::DateTime::from_secs(1_790_000_000))
            .username("admin")
            .cloud_trail_event(detail.to_string())
            .build()
    }

    const GRANT: &str = "arn:aws:license-manager::123456789012:grant:g-1";

    #[test]
    fn activation_is_read_from_the_new_version_status() {
        let e = event(
            "CreateGrantVersion",
            json!({"userIdentity": {"arn": "arn:aws:iam::123456789012:role/admin"},
                   "requestParameters": {"grantArn": GRANT, "status": "ACTIVE"}}),
        );
        let g = grant_event(&e).unwrap();
        assert_eq!(g.kind, EventKind::Activated);
        assert_eq!(g.grant_arn, GRANT);
        assert_eq!(
            g.actor.as_deref(),
            Some("arn:aws:iam::123456789012:role/admin")
        );
        assert_eq!(g.time.timestamp(), 1_790_000_000);
    }

    #[test]
    fn create_grant_takes_arn_from_response_and_account_from_principal() {
        let e = event(
            "CreateGrant",
            json!({"requestParameters": {"principals": ["arn:aws:iam::111122223333:root"]},
                   "responseElements": {"grantArn": GRANT, "status": "PENDING_ACCEPT"}}),
        );
        let g = grant_event(&e).unwrap();
        assert_eq!(g.kind, EventKind::Created);
        assert_eq!(g.account_id.as_deref(), Some("111122223333"));
        assert_eq!(g.actor.as_deref(), Some("admin"));
    }

    #[test]
    fn request_keys_are_read_in_camel_or_pascal_case() {
        let e = event(
            "CreateGrant",
            json!({"RequestParameters": {"Principals": ["111122223333"]},
                   "ResponseElements": {"GrantArn": GRANT, "Status": "PENDING_ACCEPT"}}),
        );
        let g = grant_event(&e).unwrap();
        assert_eq!(
            (g.kind, g.grant_arn.as_str(), g.account_id.as_deref()),
            (EventKind::Created, GRANT, Some("111122223333"))
        );
        let e = event(
            "CreateGrantVersion",
            json!({"requestParameters": {"GrantArn": GRANT, "Status": "ACTIVE"}}),
        );
        assert_eq!(grant_event(&e).unwrap().kind, EventKind::Activated);
    }

    #[test]
    fn failed_calls_unreadable_events_and_status_less_versions_are_skipped() {
        let failed = event(
            "AcceptGrant",
            json!({"errorCode": "AccessDenied", "requestParameters": {"grantArn": GRANT}}),
        );
        assert!(grant_event(&failed).is_none());
        let no_status = event(
            "CreateGrantVersion",
            json!({"requestParameters": {"grantArn": GRANT, "grantName": "x"}}),
        );
        assert!(grant_event(&no_status).is_none());
        let garbage = Event::builder()
            .event_name("DeleteGrant")
            .cloud_trail_event("{not json")
            .build();
        assert!(grant_event(&garbage).is_none());
    }
}
