//! The field scenarios' organization: a management account holding one Claude 3 Haiku
//! license, Workloads/Prod/Dev OUs, members `9999xxxxxxxx`, over 90 days from 2026-08-03.
//! Shared by the engine's scenario tests and the live end-to-end test, which collects the
//! same organization through the fake AWS endpoint.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entitlement_audit::inputs::demo::{OrgBuilder, ROOT_ID};
use entitlement_audit::model::{EventKind, GrantStatus, LicenseStatus};
use entitlement_audit::snapshot::Snapshot;

pub const MGMT: &str = "123456789012";
pub const HAIKU: &str = "Claude 3 Haiku";
pub const HAIKU_CE: &str = "Claude 3 Haiku (Amazon Bedrock Edition)";
pub const WORK: &str = "ou-ex01-work0001";
pub const PROD: &str = "ou-ex01-prod0001";
pub const DEV: &str = "ou-ex01-dev00001";

pub fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 8, 3).unwrap()
}
pub fn day(n: i64) -> NaiveDate {
    start() + Duration::days(n)
}
pub fn noon(n: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day(n).and_hms_opt(12, 0, 0).unwrap())
}
pub fn as_of() -> NaiveDate {
    day(89)
}
/// Fake member account ids: 9999 followed by eight digits.
pub fn acct(i: usize) -> String {
    format!("9999{:08}", i)
}

pub fn base() -> (OrgBuilder, String) {
    let mut b = OrgBuilder::new("o-exampleorg1", MGMT);
    b.ou(WORK, "Workloads", ROOT_ID)
        .ou(PROD, "Prod", WORK)
        .ou(DEV, "Dev", WORK)
        .account(
            MGMT,
            "management",
            ROOT_ID,
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        );
    let lic = b.license_arn("haiku");
    b.license(&lic, HAIKU, "prod-haiku", MGMT);
    (b, lic)
}

pub fn member(b: &mut OrgBuilder, i: usize, ou: &str, joined: NaiveDate) -> String {
    let id = acct(i);
    b.account(&id, &format!("workload-{i:02}"), ou, joined)
        .account_tag(&id, "team", "apps");
    id
}

pub fn spend_daily(
    b: &mut OrgBuilder,
    id: &str,
    from: i64,
    to: i64,
    cost: f64,
    public: Option<f64>,
) {
    for n in from..=to {
        b.spend(day(n), id, HAIKU_CE, cost, public, None);
    }
}

/// The snapshot of a scenario: the 90 days, collected at noon the day after.
pub fn snapshot(b: OrgBuilder) -> Snapshot {
    b.build(start(), as_of(), noon(90))
}

/// Scenario (b), a phased rollout: three pilot accounts granted one by one, then an OU grant
/// to Prod activated on day 49; one Dev account never granted. Everyone spends $1 a day.
pub struct Phased {
    pub builder: OrgBuilder,
    pub pilots: Vec<String>,
    pub prod: Vec<String>,
    pub dev_only: String,
    pub ou_grant: String,
}

pub fn phased_rollout() -> Phased {
    let (mut b, lic) = base();
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let pilots: Vec<String> = (0..3).map(|i| member(&mut b, i, DEV, joined)).collect();
    let prod: Vec<String> = (3..8).map(|i| member(&mut b, i, PROD, joined)).collect();
    let dev_only = member(&mut b, 8, DEV, joined);
    for (i, p) in pilots.iter().enumerate() {
        let g = b.grant_arn(&format!("pilot-{i}"));
        b.grant_account(&g, &lic, p, GrantStatus::Active)
            .event(&g, Some(p), EventKind::Created, noon(5))
            .event(&g, Some(p), EventKind::Accepted, noon(6))
            .event(&g, Some(p), EventKind::Activated, noon(9));
    }
    let ou_grant = b.grant_arn("prod-ou");
    b.grant_ou(&ou_grant, &lic, PROD, GrantStatus::WorkflowCompleted);
    for p in &prod {
        let sub = b.sub_grant(&ou_grant, p, GrantStatus::Active);
        b.event(&sub, Some(p), EventKind::Created, noon(40))
            .event(&sub, Some(p), EventKind::Accepted, noon(40))
            .event(&sub, Some(p), EventKind::Activated, noon(49));
    }
    for id in pilots.iter().chain(&prod).chain([&dev_only]) {
        spend_daily(&mut b, id, 0, 89, 1.0, None);
    }
    Phased {
        builder: b,
        pilots,
        prod,
        dev_only,
        ou_grant,
    }
}

/// Scenario (a), an organization-wide rollout to 50 workload accounts: 30 sub-grants
/// activated, 20 left DISABLED (returned), all spending $2 a day from day 80.
pub fn organization_rollout() -> (OrgBuilder, BTreeSet<String>) {
    let (mut b, lic) = base();
    let org_grant = b.grant_arn("org");
    b.grant_org(&org_grant, &lic, GrantStatus::WorkflowCompleted);
    let mut waiting = BTreeSet::new();
    for i in 0..50 {
        let id = member(
            &mut b,
            i,
            PROD,
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        );
        let activated = i < 30;
        let status = if activated {
            GrantStatus::Active
        } else {
            GrantStatus::Disabled
        };
        let sub = b.sub_grant(&org_grant, &id, status);
        b.event(&sub, Some(&id), EventKind::Created, noon(-30))
            .event(&sub, Some(&id), EventKind::Accepted, noon(-30));
        if activated {
            b.event(&sub, Some(&id), EventKind::Activated, noon(-20));
        } else {
            waiting.insert(id.clone());
        }
        spend_daily(&mut b, &id, 80, 89, 2.0, None);
    }
    (b, waiting)
}

/// Scenario (c), a private offer: 8 accounts covered at 30% off, 2 stragglers (returned) at
/// public price.
pub fn private_offer() -> (OrgBuilder, BTreeSet<String>) {
    let (mut b, lic) = base();
    let org_grant = b.grant_arn("org");
    b.grant_org(&org_grant, &lic, GrantStatus::WorkflowCompleted);
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut stragglers = BTreeSet::new();
    for i in 0..10 {
        let id = member(&mut b, i, PROD, joined);
        let active = i >= 2;
        b.sub_grant(
            &org_grant,
            &id,
            if active {
                GrantStatus::Active
            } else {
                GrantStatus::Disabled
            },
        );
        if active {
            spend_daily(&mut b, &id, 60, 89, 7.0, Some(10.0));
        } else {
            stragglers.insert(id.clone());
            spend_daily(&mut b, &id, 60, 89, 10.0, Some(10.0));
        }
    }
    (b, stragglers)
}

/// Scenario (d), an organization grant and accounts that joined later and never activated
/// (returned: those past the threshold).
pub fn late_joiners() -> (OrgBuilder, BTreeSet<String>) {
    let (mut b, lic) = base();
    let org_grant = b.grant_arn("org");
    b.grant_org(&org_grant, &lic, GrantStatus::WorkflowCompleted)
        .event(&org_grant, None, EventKind::Created, noon(-60));
    let early = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..5 {
        let id = member(&mut b, i, PROD, early);
        let sub = b.sub_grant(&org_grant, &id, GrantStatus::Active);
        b.event(&sub, Some(&id), EventKind::Created, noon(-60))
            .event(&sub, Some(&id), EventKind::Accepted, noon(-60))
            .event(&sub, Some(&id), EventKind::Activated, noon(-59));
    }
    let mut late = BTreeSet::new();
    for (i, joined) in [(5, 60), (6, 70), (7, 87)] {
        let id = member(&mut b, i, DEV, day(joined));
        let sub = b.sub_grant(&org_grant, &id, GrantStatus::Disabled);
        b.event(&sub, Some(&id), EventKind::Created, noon(joined))
            .event(&sub, Some(&id), EventKind::Accepted, noon(joined));
        if joined < 80 {
            late.insert(id);
        }
    }
    (b, late)
}

/// Scenario (e), a cancelled subscription with its organization grant (returned) left behind
/// and two accounts (returned) spending after the cut-off.
pub fn cancelled_leftovers() -> (OrgBuilder, String, BTreeSet<String>) {
    let (mut b, lic) = base();
    let org_grant = b.grant_arn("org");
    b.grant_org(&org_grant, &lic, GrantStatus::WorkflowCompleted)
        .license_ended(&lic, LicenseStatus::Deleted, day(60));
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut late_spenders = BTreeSet::new();
    for i in 0..4 {
        let id = member(&mut b, i, PROD, joined);
        b.sub_grant(&org_grant, &id, GrantStatus::Active);
        spend_daily(&mut b, &id, 50, 60, 3.0, None);
        if i < 2 {
            spend_daily(&mut b, &id, 61, 70, 1.0, None);
            late_spenders.insert(id);
        }
    }
    (b, org_grant, late_spenders)
}

/// Scenario (f), a member with its own subscription (license returned) that then receives an
/// account grant (returned).
pub fn member_subscription() -> (OrgBuilder, String, String) {
    let (mut b, lic) = base();
    let id = member(&mut b, 0, DEV, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
    let own = b.license_arn("member-own");
    b.license(&own, HAIKU, "prod-haiku", &id);
    let g = b.grant_arn("member");
    b.grant_account(&g, &lic, &id, GrantStatus::Active)
        .grant_activation_override(&g, "ALL_GRANTS_PERMITTED_BY_ISSUER")
        .event(&g, Some(&id), EventKind::Created, noon(50))
        .event(&g, Some(&id), EventKind::Accepted, noon(51))
        .event(&g, Some(&id), EventKind::Activated, noon(69));
    spend_daily(&mut b, &id, 0, 89, 1.0, None);
    (b, own, g)
}

/// Scenario (g), a member-side activation: the management account creates an account grant
/// on day 10 (its CloudTrail has the `CreateGrant`); the member accepts and activates it in
/// its own account, whose CloudTrail the run does not read, so the grant is collected with
/// `status` and no event saying when it changed. The member (returned, with the grant)
/// spends $1 a day.
pub fn member_side_activation(status: GrantStatus) -> (OrgBuilder, String, String) {
    let (mut b, lic) = base();
    let id = member(
        &mut b,
        0,
        PROD,
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
    );
    let g = b.grant_arn("member-side");
    b.grant_account(&g, &lic, &id, status)
        .event(&g, Some(&id), EventKind::Created, noon(10));
    spend_daily(&mut b, &id, 0, 89, 1.0, None);
    (b, id, g)
}

/// Every field scenario, by name, as the live end-to-end test runs them.
pub fn every_scenario() -> Vec<(&'static str, OrgBuilder)> {
    vec![
        ("organization rollout", organization_rollout().0),
        ("phased rollout", phased_rollout().builder),
        ("private offer", private_offer().0),
        ("late joiners", late_joiners().0),
        ("cancelled leftovers", cancelled_leftovers().0),
        ("member subscription", member_subscription().0),
        (
            "member-side activation",
            member_side_activation(GrantStatus::Active).0,
        ),
    ]
}
