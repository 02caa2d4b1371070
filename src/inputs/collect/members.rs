//! The member fan-out (`--member-role NAME`): `sts:AssumeRole` into every ACTIVE member
//! account, then, with that account's credentials, its `AWS/Bedrock` invocation metrics in
//! each region ([`invocations`]), its own grant changes in its CloudTrail (the `cloudtrail`
//! collector, run in the account) and its own purchase agreements (the agreement search, run
//! in the account).
//!
//! Bounded: at most `member_concurrency` accounts in flight, and every call paced by its
//! service's member gate, shared by all accounts (`PaceOptions::sts`, `cloudwatch`,
//! `member_cloudtrail`, `member_agreements`). Accounts that are not ACTIVE are skipped and
//! listed; an account whose role cannot be assumed is a ledger entry of that account naming
//! what lacks its data, and the fan-out goes on. The credentials live in memory, in the
//! account's clients, for as long as its reads take; they are never written or logged.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt};

use super::call::{Cx, Page};
use super::ledger::CallError;
use super::permissions::{ASSUME_ROLE, LIST_INFERENCE_PROFILES};
use super::{cloudtrail, invocations, marketplace_agreement, Clients};
use crate::model::invocations::{normalize, Normalized, Resolution};
use crate::model::{Account, AccountState, Agreement, EventSource, GrantEvent, Invocation};
use crate::snapshot::Table;

/// The tables a member account's data goes into: what an account whose role cannot be
/// assumed leaves incomplete.
pub const MEMBER_TABLES: &[Table] = &[
    Table::Invocations,
    Table::MemberAgreements,
    Table::GrantEvents,
];

/// What the findings lack when a member account's data is missing (the ledger entry says it).
pub const MEMBER_FINDINGS: &str = "its invocations (EA015 invocation-without-grant, EA017 unmapped-invocations), its own agreements (EA016 member-own-subscription) and its own grant activations (the dates of EA001 and EA002)";

/// Default accounts read at once.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long the member credentials are asked for: the reads of one account take seconds.
const SESSION_SECONDS: i32 = 900;

/// What the fan-out read.
#[derive(Debug, Default)]
pub struct Members {
    pub invocations: Vec<Invocation>,
    pub agreements: Vec<Agreement>,
    pub events: Vec<GrantEvent>,
    /// (account, state): not ACTIVE, not read.
    pub skipped: Vec<(String, String)>,
    /// Accounts whose role could not be assumed.
    pub unreachable: Vec<String>,
    /// Accounts read (role assumed).
    pub read: usize,
    pub regions: Vec<String>,
}

/// Which accounts the fan-out reads, and which it skips (with their state).
pub fn partition(accounts: &[Account]) -> (Vec<&Account>, Vec<(String, String)>) {
    let mut read = Vec::new();
    let mut skipped = Vec::new();
    for a in accounts {
        if a.state == AccountState::Active {
            read.push(a);
        } else {
            // Suspended, closing, closed, not yet joined (PENDING_ACTIVATION), or a state
            // this version does not know: no role to assume in it, or none to trust.
            skipped.push((a.id.clone(), a.state.as_str().to_string()));
        }
    }
    (read, skipped)
}

/// Reads every ACTIVE account of `accounts` through `role_name`. `models`: Bedrock's
/// foundation models (id -> name) for the invocations' model names.
pub async fn collect(
    cx: &Cx<'_>,
    role_name: &str,
    accounts: &[Account],
    regions: &[String],
    models: &BTreeMap<String, String>,
    window: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Members {
    let (targets, skipped) = partition(accounts);
    let total = targets.len();
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    cx.progress.message(&format!(
        "members: {total} accounts to read through role `{role_name}` ({} skipped: not ACTIVE), {} regions",
        skipped.len(),
        regions.len()
    ));
    let concurrency = cx.opts.member_concurrency.max(1);
    let results: Vec<Option<Read>> = stream::iter(targets)
        .map(|a| {
            let (done, failed) = (&done, &failed);
            async move {
                let r = read_account(cx, role_name, &a.id, regions, models, window, now).await;
                let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                let f = failed.load(Ordering::SeqCst) + usize::from(r.is_none());
                if r.is_none() {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                cx.progress.message(&format!(
                    "members: {} read, {f} failed, {} left",
                    d - f,
                    total - d
                ));
                r
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut out = Members {
        skipped,
        regions: regions.to_vec(),
        ..Members::default()
    };
    for r in results.into_iter().flatten() {
        out.read += 1;
        out.invocations.extend(r.invocations);
        out.agreements.extend(r.agreements);
        out.events.extend(r.events);
    }
    out.unreachable = cx
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.operation == ASSUME_ROLE.name)
        .filter_map(|e| e.account_id)
        .collect();
    out.unreachable.sort();
    out.unreachable.dedup();
    out.invocations.sort_by(|a, b| {
        (a.day, &a.account_id, &a.region, &a.model_id).cmp(&(
            b.day,
            &b.account_id,
            &b.region,
            &b.model_id,
        ))
    });
    out.agreements.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// One account's data.
struct Read {
    invocations: Vec<Invocation>,
    agreements: Vec<Agreement>,
    events: Vec<GrantEvent>,
}

/// Assumes the role in `account` and reads it; `None` when the role could not be assumed
/// (the ledger has the account's entry).
async fn read_account(
    cx: &Cx<'_>,
    role_name: &str,
    account: &str,
    regions: &[String],
    models: &BTreeMap<String, String>,
    window: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Option<Read> {
    let role = format!("arn:aws:iam::{account}:role/{role_name}");
    let request = cx
        .clients
        .sts
        .assume_role()
        .role_arn(&role)
        .role_session_name(&cx.opts.role_session_name)
        .duration_seconds(SESSION_SECONDS)
        .send();
    let credentials = match cx.call(&ASSUME_ROLE, request).await {
        Ok(out) => out.credentials().map(|c| {
            let expiry = SystemTime::UNIX_EPOCH
                + Duration::from_secs(c.expiration().secs().max(0).unsigned_abs());
            aws_credential_types::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                Some(expiry),
                "entitlement-audit-member-role",
            )
        }),
        Err(e) => {
            unreachable(cx, account, &role, &e);
            return None;
        }
    };
    let Some(credentials) = credentials else {
        let e = CallError::new("NoCredentials", "AssumeRole answered no credentials");
        unreachable(cx, account, &role, &e);
        return None;
    };
    let clients: Clients = cx.clients.for_member(credentials, cx.opts);
    let mcx = cx.member(account, &clients);

    let (mut invocations, events, agreements) = tokio::join!(
        async {
            let mut all = Vec::new();
            for region in regions {
                all.extend(invocations::read(&mcx, account, region, window).await);
            }
            all
        },
        async {
            if cx.opts.skip_cloudtrail {
                return Vec::new();
            }
            let mut events = cloudtrail::collect(&mcx, now).await;
            for e in &mut events {
                e.source = EventSource::MemberCloudTrail;
                // An account's own trail speaks of its own grants.
                e.account_id.get_or_insert_with(|| account.to_string());
            }
            events
        },
        own_agreements(&mcx, account),
    );
    resolve(&mcx, &mut invocations, models).await;
    Some(Read {
        invocations,
        agreements,
        events,
    })
}

/// The ledger entry of an account whose role could not be assumed.
fn unreachable(cx: &Cx<'_>, account: &str, role: &str, e: &CallError) {
    let e = CallError::new(
        e.code.clone(),
        format!(
            "{}; not read: {MEMBER_FINDINGS}",
            e.message.trim_end_matches('.')
        ),
    );
    cx.ledger.record_account(
        account,
        &ASSUME_ROLE,
        &format!("account {account}, role `{role}`"),
        MEMBER_TABLES,
        &e,
    );
}

/// The purchase agreements the account accepted itself, every status (the rules keep the
/// ACTIVE ones); their terms are not read (the organization's rates come from the
/// subscriber's agreements).
async fn own_agreements(cx: &Cx<'_>, account: &str) -> Vec<Agreement> {
    let summaries =
        marketplace_agreement::search_all(cx, "own agreements", &[Table::MemberAgreements]).await;
    summaries
        .iter()
        .filter_map(|s| {
            let id = s.agreement_id().filter(|id| !id.is_empty())?;
            let mut a = marketplace_agreement::agreement(id, s);
            // The account asked about its own agreements: an acceptor AWS leaves out is it.
            if a.acceptor_account_id.is_empty() {
                a.acceptor_account_id = account.to_string();
            }
            Some(a)
        })
        .collect()
}

/// Fills each invocation's base model and name: geo prefixes and ARNs by [`normalize`],
/// application inference profiles by `ListInferenceProfiles` in the account and region where
/// one appears. What nothing resolves stays, `unresolved`.
async fn resolve(cx: &Cx<'_>, rows: &mut [Invocation], models: &BTreeMap<String, String>) {
    let mut profiles: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let profile_regions: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| matches!(normalize(&r.model_id), Normalized::ApplicationProfile(_)))
        .map(|r| r.region.clone())
        .collect();
    for region in profile_regions {
        let client = cx.clients.bedrock_in(&region);
        let paged = cx
            .pages(&LIST_INFERENCE_PROFILES, |token| {
                let request = client
                    .list_inference_profiles()
                    .type_equals(aws_sdk_bedrock::types::InferenceProfileType::Application)
                    .max_results(cx.page_size(1000))
                    .set_next_token(token)
                    .send();
                async move {
                    let out = request.await?;
                    let found = out
                        .inference_profile_summaries()
                        .iter()
                        .filter_map(|p| {
                            let model = p.models().iter().find_map(|m| m.model_arn())?;
                            Some((p.inference_profile_id().to_string(), model.to_string()))
                        })
                        .collect();
                    Ok(Page::new(found, out.next_token()))
                }
            })
            .await;
        let scope = format!("{region}, application inference profiles");
        let found = cx.keep(
            &LIST_INFERENCE_PROFILES,
            &scope,
            &[Table::Invocations],
            paged,
        );
        profiles.insert(region, found.into_iter().collect());
    }
    for r in rows.iter_mut() {
        let (base, how) = match normalize(&r.model_id) {
            Normalized::Model(base, how) => (Some(base), how),
            Normalized::ApplicationProfile(id) => {
                let model = profiles
                    .get(&r.region)
                    .and_then(|p| p.get(&id))
                    .map(|arn| normalize(arn));
                match model {
                    Some(Normalized::Model(base, _)) => {
                        (Some(base), Resolution::ApplicationProfile)
                    }
                    _ => (None, Resolution::Unresolved),
                }
            }
            Normalized::Unknown => (None, Resolution::Unresolved),
        };
        r.base_model_id = base.unwrap_or_default();
        r.model_name = models.get(&r.base_model_id).cloned().unwrap_or_default();
        r.resolution = how.as_str().to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, state: &str) -> Account {
        Account {
            id: id.into(),
            name: String::new(),
            email: String::new(),
            state: AccountState::parse(state),
            joined_at: None,
            parent_id: String::new(),
            ou_path: String::new(),
            tags: BTreeMap::new(),
            tags_read: true,
        }
    }

    #[test]
    fn only_active_accounts_are_read_and_the_rest_are_listed() {
        let accounts = [
            account("111122223333", "ACTIVE"),
            account("444455556666", "SUSPENDED"),
            account("555555555555", "PENDING_ACTIVATION"),
            account("666666666666", "CLOSED"),
            account("777777777777", "SOMETHING_NEW"),
        ];
        let (read, skipped) = partition(&accounts);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].id, "111122223333");
        let states: Vec<&str> = skipped.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            states,
            ["SUSPENDED", "PENDING_ACTIVATION", "CLOSED", "SOMETHING_NEW"]
        );
    }
}
