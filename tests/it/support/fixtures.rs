//! Fixtures shared by the engine tests (rules, finance, cost exports, history): dates in 2026,
//! the small example organization they build on, the demo's configuration, and the check that
//! two snapshots are the same.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
// The one place the tests name where the demo configuration lives.
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::CONFIG as DEMO_CONFIG;
use entitlement_audit::inputs::demo::{OrgBuilder, ROOT_ID};
use entitlement_audit::snapshot::Snapshot;

/// The management account (the subscriber).
pub const MGMT: &str = "123456789012";
/// A workload account, tagged `team=payments`.
pub const PAYMENTS: &str = "111122223333";
/// A sandbox account, untagged.
pub const SANDBOX: &str = "444455556666";
pub const WORKLOADS_OU: &str = "ou-ex01-work0001";
pub const SANDBOX_OU: &str = "ou-ex01-sand0001";
/// The product of the organization's license, and its Cost Explorer service name.
pub const SONNET: &str = "Claude 3.7 Sonnet";
pub const SONNET_CE: &str = "Claude 3.7 Sonnet (Amazon Bedrock Edition)";

/// A day of 2026.
pub fn d(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap()
}

/// Noon UTC on a day of 2026.
pub fn at(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).unwrap()
}

/// When the fixtures' snapshots are collected: 2026-11-01 06:00 UTC.
pub fn collected() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap()
}

/// Management account, one workload account (tagged `team=payments`) under Workloads, one
/// sandbox account under Sandbox, and the organization's license for Claude 3.7 Sonnet
/// (returned: its ARN), held by the management account.
pub fn org() -> (OrgBuilder, String) {
    let mut b = OrgBuilder::new("o-exampleorg1", MGMT);
    b.ou(WORKLOADS_OU, "Workloads", ROOT_ID)
        .ou(SANDBOX_OU, "Sandbox", ROOT_ID)
        .account(MGMT, "management", ROOT_ID, d(1, 1))
        .account(PAYMENTS, "payments-prod", WORKLOADS_OU, d(1, 1))
        .account(SANDBOX, "sandbox-alice", SANDBOX_OU, d(1, 1))
        .account_tag(PAYMENTS, "team", "payments");
    let lic = b.license_arn("sonnet");
    b.license(&lic, SONNET, "prod-sonnet", MGMT);
    (b, lic)
}

/// The demo's configuration (`examples/config.toml`), parsed.
pub fn demo_config() -> Config {
    Config::parse(DEMO_CONFIG).unwrap()
}

/// `got` holds what `want` holds, table by table (usage with nulls equal), and the same
/// manifest; `what` names the snapshot in a failure.
pub fn assert_same_snapshot(got: &Snapshot, want: &Snapshot, what: &str) {
    assert_eq!(got.organization, want.organization, "{what}: organization");
    assert_eq!(got.accounts, want.accounts, "{what}: accounts");
    assert_eq!(
        got.organizational_units, want.organizational_units,
        "{what}: organizational units"
    );
    assert_eq!(got.licenses, want.licenses, "{what}: licenses");
    assert_eq!(got.grants, want.grants, "{what}: grants");
    assert_eq!(got.grant_events, want.grant_events, "{what}: grant events");
    assert_eq!(got.agreements, want.agreements, "{what}: agreements");
    assert_eq!(got.rates, want.rates, "{what}: rates");
    assert!(
        got.usage.equals_missing(&want.usage),
        "{what}: usage\n{}\nwant\n{}",
        got.usage,
        want.usage
    );
    assert_eq!(got.manifest, want.manifest, "{what}: manifest");
}

/// The accounts with a usage row in `snap`: those whose tags a collection reads.
pub fn accounts_with_spend(snap: &Snapshot) -> std::collections::BTreeSet<String> {
    entitlement_audit::model::usage::rows(&snap.usage)
        .unwrap()
        .into_iter()
        .map(|r| r.account_id)
        .collect()
}
