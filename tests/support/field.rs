//! The field scenarios' organization: a management account holding one Claude 3 Haiku
//! license, Workloads/Prod/Dev OUs, members `9999xxxxxxxx`, over 90 days from 2026-08-03.
//! Shared by the engine's scenario tests and the live end-to-end test, which collects the
//! same organization through the fake AWS endpoint.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entitlement_audit::demo::{OrgBuilder, ROOT_ID};
use entitlement_audit::model::{EventKind, GrantStatus};
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
