//! The member fan-out (`--member-role`) against the fake: AssumeRole per ACTIVE account with
//! per-account credentials, an account whose role cannot be assumed (a gap of that account,
//! the others read), accounts that are not ACTIVE skipped and listed, the invocation metrics
//! (CBOR), member-side grant activations and the members' own agreements.

use crate::support;

use chrono::NaiveDate;
use entitlement_audit::inputs::collect::{collect_with, CollectOptions, NoProgress};
use entitlement_audit::model::EventSource;
use entitlement_audit::snapshot::{Snapshot, Table};
use serde_json::json;
use support::fake_aws::members::{key_account, member_key};
use support::fake_aws::{FakeAws, Faults, Members, Scenario};
use support::*;

pub const ROLE: &str = "EntitlementAuditMember";
/// 2026-10-02T00:00:00Z.
pub const OCT2: i64 = 1_790_899_200;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
}

/// The scenario with member accounts: DEV (whose grant `sub-b` is not ACTIVE) invokes Claude
/// through the `us.` profile on October 2nd, and a model nobody knows; PROD's role is not
/// deployed; LEGACY (suspended) and SANDBOX (a state nobody knows) are not read.
pub fn member_scenario() -> Scenario {
    let mut sc = scenario();
    let mut m = Members {
        role_name: ROLE.into(),
        ..Members::default()
    };
    m.invoke(
        DEV,
        "us-east-1",
        &format!("us.{CLAUDE_MODEL_ID}"),
        OCT2,
        (120.0, 300_000.0, 40_000.0),
    );
    m.invoke(DEV, "us-west-2", "mystery-model", OCT2, (3.0, 30.0, 3.0));
    m.assume_faults.insert(PROD.into(), "AccessDenied".into());
    sc.members = m;
    sc
}

pub fn member_options() -> CollectOptions {
    let mut o = options();
    o.member_role = Some(ROLE.into());
    o.member_regions = vec!["us-east-1".into(), "us-west-2".into()];
    o
}

async fn collect(fake: &FakeAws, opts: &CollectOptions) -> Snapshot {
    let clients = clients(fake, opts).await;
    collect_with(&clients, opts, now(), &NoProgress).await
}

#[tokio::test]
async fn fan_out_reads_active_members_names_the_unreachable_and_skips_the_rest() {
    let fake = FakeAws::start(member_scenario(), Faults::default()).await;
    let snap = collect(&fake, &member_options()).await;
    let calls = fake.calls();

    // AssumeRole: the ACTIVE members only, never the management account, LEGACY or SANDBOX.
    let assumed: Vec<String> = calls
        .iter()
        .filter(|c| c.op == "AssumeRole")
        .map(|c| c.body.as_str().unwrap().to_string())
        .collect();
    assert_eq!(assumed.len(), 2, "{assumed:?}");
    for id in [DEV, PROD] {
        assert!(assumed.iter().any(|f| f.contains(id)), "{id}");
    }
    for id in [MGMT, LEGACY, SANDBOX] {
        assert!(!assumed.iter().any(|f| f.contains(id)), "{id} assumed");
    }

    // PROD: one ledger entry of that account, naming what lacks its data.
    let gaps: Vec<_> = snap
        .manifest
        .completeness
        .iter()
        .filter(|e| e.account_id.is_some())
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let g = gaps[0];
    assert_eq!(g.account_id.as_deref(), Some(PROD));
    assert_eq!(
        (g.service.as_str(), g.operation.as_str()),
        ("sts", "AssumeRole")
    );
    assert_eq!(g.error_code, "AccessDenied");
    assert!(g
        .scope
        .contains(&format!("arn:aws:iam::{PROD}:role/{ROLE}")));
    assert!(g.message.contains("EA015") && g.message.contains("EA016"));
    assert!(g.tables.contains(&Table::Invocations) && g.tables.contains(&Table::GrantEvents));

    // Every member call went out with DEV's own credentials, none with PROD's.
    let member_calls: Vec<_> = calls
        .iter()
        .filter(|c| c.access_key.as_deref().and_then(key_account).is_some())
        .collect();
    assert!(member_calls.iter().any(|c| c.op == "GetMetricData"));
    for c in &member_calls {
        assert_eq!(c.access_key.as_deref(), Some(member_key(DEV).as_str()));
    }
    assert!(calls
        .iter()
        .filter(|c| c.op == "GetMetricData" || c.op == "ListMetrics")
        .all(|c| c.status == 200));

    // DEV's invocations, resolved; the unknown id kept.
    let inv = snap.invocations.as_ref().expect("the table was read");
    let claude: Vec<_> = inv
        .iter()
        .filter(|i| i.base_model_id == CLAUDE_MODEL_ID)
        .collect();
    assert_eq!(claude.len(), 1, "{inv:?}");
    let c = claude[0];
    assert_eq!(
        (c.account_id.as_str(), c.region.as_str(), c.day),
        (DEV, "us-east-1", day(2))
    );
    assert_eq!(
        (c.invocations, c.input_tokens, c.output_tokens),
        (120, 300_000, 40_000)
    );
    assert_eq!(
        (c.resolution.as_str(), c.model_name.as_str()),
        ("system-profile", "Claude Sonnet 4.6")
    );
    let mystery = inv.iter().find(|i| i.model_id == "mystery-model").unwrap();
    assert_eq!(
        (mystery.resolution.as_str(), mystery.region.as_str()),
        ("unresolved", "us-west-2")
    );

    // The manifest says how the table was read and which accounts were skipped.
    let source = &snap.manifest.tables["invocations"].source;
    assert!(source.contains("cloudwatch:GetMetricData"), "{source}");
    assert!(
        source.contains(&format!("{LEGACY} (SUSPENDED)"))
            && source.contains(&format!("{SANDBOX} (QUARANTINED)")),
        "{source}"
    );
    assert!(source.contains("1 could not be assumed"), "{source}");
    assert_eq!(snap.member_agreements.as_ref().map(Vec::len), Some(0));
}

#[tokio::test]
async fn without_member_role_the_member_tables_are_not_known() {
    let fake = FakeAws::start(member_scenario(), Faults::default()).await;
    let snap = collect(&fake, &options()).await;
    assert!(snap.invocations.is_none() && snap.member_agreements.is_none());
    assert!(!snap.manifest.tables.contains_key("invocations"));
    assert!(fake.calls().iter().all(|c| c.op != "AssumeRole"));
    // Written and read back: still not known (no file), not empty.
    let dir = tempfile::tempdir().unwrap();
    entitlement_audit::snapshot::write(&snap, dir.path()).unwrap();
    assert!(!dir.path().join("invocations.parquet").exists());
    let back = entitlement_audit::snapshot::read(dir.path()).unwrap();
    assert!(back.invocations.is_none());
}

#[tokio::test]
async fn member_side_activation_and_own_agreement_are_read_in_the_member() {
    let mut sc = member_scenario();
    let dev = sc.members.accounts.entry(DEV.into()).or_default();
    // DEV activated its own sub-grant at 15:00 on October 2nd, in its own account.
    let detail = json!({"userIdentity": {"arn": format!("arn:aws:sts::{DEV}:assumed-role/Admin/alice")},
                        "requestParameters": {"grantArn": grant_arn("sub-b"), "status": "ACTIVE"}});
    dev.events.push(
        json!({"EventId": "dev-1", "EventName": "CreateGrantVersion",
                           "EventTime": OCT2 + 15 * 3600, "Username": "alice",
                           "CloudTrailEvent": detail.to_string()}),
    );
    dev.agreements.push(json!({
        "agreementId": "agmt-dev-own-0001", "status": "ACTIVE", "agreementType": "PurchaseAgreement",
        "acceptanceTime": OCT2 + 600, "startTime": OCT2 + 600,
        "acceptor": {"accountId": DEV}, "proposer": {"accountId": "999988887777"},
        "proposalSummary": {"offerId": "offer-public01",
                            "resources": [{"id": "prod-claude", "type": "SaaSProduct"}]}}));
    let fake = FakeAws::start(sc, Faults::default()).await;
    let snap = collect(&fake, &member_options()).await;

    let ev: Vec<_> = snap
        .grant_events
        .iter()
        .filter(|e| e.source == EventSource::MemberCloudTrail)
        .collect();
    assert_eq!(ev.len(), 1, "{:?}", snap.grant_events);
    assert_eq!(ev[0].grant_arn, grant_arn("sub-b"));
    assert_eq!(ev[0].account_id.as_deref(), Some(DEV));
    assert_eq!(ev[0].time.timestamp(), OCT2 + 15 * 3600);
    assert!(ev[0].actor.as_deref().unwrap().contains("alice"));

    let own = snap.member_agreements.as_ref().unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].acceptor_account_id, DEV);
    assert_eq!(own[0].product_id, "prod-claude");
    assert_eq!(
        own[0].acceptance_time.map(|t| t.timestamp()),
        Some(OCT2 + 600)
    );
    // The member's agreement is not the organization's: the subscriber's table is unchanged.
    assert!(snap.agreements.iter().all(|a| a.id != "agmt-dev-own-0001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_member_marks_only_its_own_findings_and_dev_is_seen_the_same_day() {
    let fake = FakeAws::start(member_scenario(), Faults::default()).await;
    let snap = collect(&fake, &member_options()).await;
    let cfg = entitlement_audit::config::Config::default();
    let a = entitlement_audit::analyze::analyze(&snap, &cfg, day(3)).unwrap();
    let early: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA015").collect();
    assert_eq!(early.len(), 1, "{:?}", a.findings);
    let f = early[0];
    assert_eq!((f.account_id.as_str(), f.first_day), (DEV, Some(day(2))));
    // (300,000 x 3.00 + 40,000 x 15.00) / 1e6 at the public offer's USE1 rates (per million
    // tokens).
    assert!((f.cost_usd.unwrap() - 1.5).abs() < 1e-9, "{:?}", f.cost_usd);
    assert!(!f.data_incomplete, "DEV was read");
    assert!(a
        .findings
        .iter()
        .any(|f| f.rule == "EA017" && f.product == "mystery-model"));
    // PROD's role could not be assumed: its findings of rules reading member tables are
    // incomplete, nobody else's for that reason.
    assert!(a.completeness.affected_rules.contains(&"EA015"));
    for f in a.findings.iter().filter(|f| f.account_id != PROD) {
        assert!(!f.data_incomplete, "{f:?}");
    }
    let prod: Vec<_> = a.findings.iter().filter(|f| f.account_id == PROD).collect();
    for f in prod
        .iter()
        .filter(|f| f.rule == "EA001" || f.rule == "EA002")
    {
        assert!(f.data_incomplete, "{f:?}");
    }
}

/// DEV's sub-grant as the management account's trail alone sees it: DISABLED by the
/// management on September 30th at noon, ACTIVE when collected, with nothing in between; with
/// `member_trail`, DEV's own trail holds the `CreateGrantVersion` that activated it at 15:00
/// on October 2nd.
fn activated_in_the_member(member_trail: bool) -> Scenario {
    let sub_b = grant_arn("sub-b");
    let mut sc = member_scenario();
    for g in &mut sc.organization_grants {
        if g["GrantArn"] == sub_b.as_str() {
            g["GrantStatus"] = json!("ACTIVE");
        }
    }
    let version = |actor: String, status: &str| {
        json!({"userIdentity": {"arn": actor},
               "requestParameters": {"grantArn": sub_b, "status": status}})
        .to_string()
    };
    sc.events.push(
        json!({"EventId": "mgmt-sub-b", "EventName": "CreateGrantVersion",
        "EventTime": OCT2 - 86_400 - 12 * 3600, "Username": "admin",
        "EventSource": "license-manager.amazonaws.com",
        "CloudTrailEvent": version(format!("arn:aws:iam::{MGMT}:role/Admin"), "DISABLED")}),
    );
    if member_trail {
        let dev = sc.members.accounts.entry(DEV.into()).or_default();
        dev.events.push(json!({"EventId": "dev-1", "EventName": "CreateGrantVersion",
            "EventTime": OCT2 + 15 * 3600, "Username": "alice",
            "CloudTrailEvent": version(format!("arn:aws:sts::{DEV}:assumed-role/Admin/alice"), "ACTIVE")}));
    }
    sc
}

/// A member's own trail turns the activation-unknown days of its grant into exact ones. Without
/// it, every day from the management's last event to collection may have been at either price
/// (activation-unknown, apart from exposure); with it, DEV's spend of October 1st and 2nd, while
/// the grant was still DISABLED, is confirmed exposure (EA001), and October 3rd, the first day
/// starting with the grant ACTIVE, is covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_side_activations_make_activation_unknown_days_exact() {
    let sub_b = grant_arn("sub-b");
    let cfg = entitlement_audit::config::Config::default();
    for member_trail in [false, true] {
        let fake = FakeAws::start(activated_in_the_member(member_trail), Faults::default()).await;
        let snap = collect(&fake, &member_options()).await;
        let a = entitlement_audit::analyze::analyze(&snap, &cfg, day(3)).unwrap();
        let state_on = |d: u32| {
            let rows = a
                .coverage
                .iter()
                .filter(|r| r.account_id == DEV && r.sub_grant_arn == sub_b);
            rows.filter(|r| r.from <= day(d) && day(d) <= r.to)
                .map(|r| r.state.as_str())
                .collect::<Vec<_>>()
        };
        let grant = a.grants.iter().find(|g| g.grant_arn == sub_b).unwrap();
        let ea001 = a
            .findings
            .iter()
            .find(|f| f.rule == "EA001" && f.account_id == DEV && f.license_arn == L_CLAUDE)
            .unwrap_or_else(|| panic!("{:?}", a.findings));
        if member_trail {
            assert_eq!(state_on(1), ["awaiting-activation"], "{:?}", a.coverage);
            assert_eq!(state_on(2), ["awaiting-activation"]);
            assert_eq!(state_on(3), ["covered"]);
            assert_eq!(grant.activated_at, Some(day(2)));
            assert!(!grant.activation_time_unknown);
            // The two days' Claude spend (2 x 3.50), confirmed; nothing left unsure.
            assert_eq!(
                (ea001.first_day, ea001.last_day),
                (Some(day(1)), Some(day(2)))
            );
            assert!((ea001.cost_usd.unwrap() - 7.0).abs() < 1e-9, "{ea001:?}");
            assert_eq!(ea001.activation_unknown_usd, None);
        } else {
            for d in 1..=3 {
                assert_eq!(state_on(d), ["activation-unknown"], "{:?}", a.coverage);
            }
            assert_eq!(grant.activated_at, None);
            assert!(grant.activation_time_unknown);
            assert_eq!(ea001.cost_usd, Some(0.0), "no confirmed exposure");
            assert!((ea001.activation_unknown_usd.unwrap() - 7.0).abs() < 1e-9);
        }
    }
}

/// The calls signed with `account`'s member credentials: (answered, throttled).
fn member_calls(fake: &FakeAws, account: &str) -> (usize, usize) {
    let calls = fake.calls();
    let own = calls
        .iter()
        .filter(|c| c.access_key.as_deref().and_then(key_account) == Some(account));
    own.fold((0, 0), |(ok, throttled), c| match c.error.as_deref() {
        None => (ok + 1, throttled),
        Some("ThrottlingException") => (ok, throttled + 1),
        Some(other) => panic!("{} answered {other}", c.op),
    })
}

/// The ledger entries of member accounts `which` picks.
pub(crate) fn gaps_of(
    snap: &Snapshot,
    which: impl Fn(&str) -> bool,
) -> Vec<&entitlement_audit::snapshot::LedgerEntry> {
    let of =
        |e: &&entitlement_audit::snapshot::LedgerEntry| e.account_id.as_deref().is_some_and(&which);
    snap.manifest.completeness.iter().filter(of).collect()
}

/// DEV's first three calls are throttled (AWS throttles per account): the SDK retries them
/// (four attempts per call in the tests) and DEV is read in full, with no gap.
#[tokio::test]
async fn a_throttled_member_is_retried_and_read() {
    let mut sc = member_scenario();
    sc.members.throttle.insert(DEV.into(), 3);
    let fake = FakeAws::start(sc, Faults::default()).await;
    let snap = collect(&fake, &member_options()).await;

    let (ok, throttled) = member_calls(&fake, DEV);
    assert_eq!(throttled, 3, "the fault was served");
    assert!(ok > 0);
    let gaps = gaps_of(&snap, |a| a == DEV);
    assert!(gaps.is_empty(), "{gaps:?}");
    let inv = snap.invocations.as_ref().unwrap();
    assert!(inv
        .iter()
        .any(|i| i.account_id == DEV && i.base_model_id == CLAUDE_MODEL_ID));
    assert!(inv.iter().any(|i| i.model_id == "mystery-model"));
}

/// DEV throttled beyond the retries: each of its reads is a ledger gap of DEV naming the
/// throttling, its invocations are missing, and nobody else's data is affected (PROD is still
/// the one account whose role could not be assumed).
#[tokio::test]
async fn a_member_throttled_beyond_the_retries_is_a_gap_of_that_account() {
    let mut sc = member_scenario();
    sc.members.throttle.insert(DEV.into(), u32::MAX);
    let fake = FakeAws::start(sc, Faults::default()).await;
    let snap = collect(&fake, &member_options()).await;

    let (ok, throttled) = member_calls(&fake, DEV);
    assert_eq!(ok, 0);
    assert!(throttled >= 4, "retried: {throttled}");
    let dev = gaps_of(&snap, |a| a == DEV);
    let ops: std::collections::BTreeSet<&str> = dev.iter().map(|e| e.operation.as_str()).collect();
    for op in ["ListMetrics", "LookupEvents", "SearchAgreements"] {
        assert!(ops.contains(op), "{op} not in {dev:?}");
    }
    for e in &dev {
        assert_eq!(e.error_code, "ThrottlingException", "{e:?}");
        assert!(e.scope.contains(&format!("account {DEV}")), "{e:?}");
    }
    assert!(dev
        .iter()
        .any(|e| e.operation == "ListMetrics" && e.tables.contains(&Table::Invocations)));
    let inv = snap.invocations.as_ref().unwrap();
    assert!(inv.iter().all(|i| i.account_id != DEV), "{inv:?}");
    // The other gaps are PROD's AssumeRole only: one account's throttling is nobody else's.
    let others = gaps_of(&snap, |a| a != DEV);
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0].account_id.as_deref(), Some(PROD));
}
