//! Each rule fires on a small positive fixture and stays quiet on the matching negative one.

use crate::support::fixtures::*;

use chrono::NaiveDate;

use entitlement_audit::analyze::{analyze, finding::Finding};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::OrgBuilder;
use entitlement_audit::model::{AccountState, EventKind, GrantStatus, LicenseStatus};

fn as_of() -> NaiveDate {
    d(10, 31)
}

fn run(b: &OrgBuilder, cfg: &Config) -> Vec<Finding> {
    let snap = b.clone().build(d(8, 3), as_of(), collected());
    analyze(&snap, cfg, as_of()).unwrap().findings
}

fn fired(b: &OrgBuilder, rule: &str) -> Vec<Finding> {
    run(b, &Config::default())
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

#[test]
fn ea001_fires_on_uncovered_spend_and_not_when_active_grant_covers() {
    let (mut b, lic) = org();
    b.spend(d(10, 1), PAYMENTS, SONNET_CE, 100.0, None, None);
    let f = fired(&b, "EA001");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].account_id, PAYMENTS);
    assert_eq!(f[0].cost_usd, Some(100.0));
    assert_eq!(f[0].license_arn, lic);
    assert_eq!(
        f[0].overspend_usd, None,
        "no price basis: unknown, not zero"
    );
    assert_eq!(f[0].overspend_basis.as_str(), "no-price-basis");

    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA001").is_empty());
}

#[test]
fn ea001_counts_days_before_activation_and_uses_configured_discount() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(9, 1))
        .event(&g, Some(PAYMENTS), EventKind::Accepted, at(9, 1))
        .event(&g, Some(PAYMENTS), EventKind::Activated, at(9, 10));
    for day in [5, 10, 11, 20] {
        b.spend(d(9, day), PAYMENTS, SONNET_CE, 10.0, None, None);
    }
    let cfg =
        Config::parse("[pricing.private_discount_pct]\n\"Claude 3.7 Sonnet\" = 25.0").unwrap();
    let f: Vec<Finding> = run(&b, &cfg)
        .into_iter()
        .filter(|f| f.rule == "EA001")
        .collect();
    assert_eq!(f.len(), 1);
    // 9/5 (no grant yet) and 9/10 (activated at noon: not active at the start of the day).
    assert_eq!(f[0].cost_usd, Some(20.0));
    assert_eq!(
        (f[0].first_day, f[0].last_day),
        (Some(d(9, 5)), Some(d(9, 10)))
    );
    assert_eq!(f[0].overspend_usd, Some(5.0));
    assert_eq!(f[0].overspend_basis.as_str(), "configured-discount");
}

#[test]
fn ea001_subscriber_is_never_exposed() {
    let (mut b, _) = org();
    b.spend(d(10, 1), MGMT, SONNET_CE, 100.0, None, None);
    assert!(fired(&b, "EA001").is_empty());
}

#[test]
fn ea002_fires_on_old_disabled_grant_and_not_on_a_new_one() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Disabled)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(10, 1))
        .event(&g, Some(PAYMENTS), EventKind::Accepted, at(10, 1));
    let f = fired(&b, "EA002");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g);
    assert_eq!(f[0].severity.as_str(), "medium");

    let (mut b, lic) = org();
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Disabled)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(10, 28))
        .event(&g, Some(PAYMENTS), EventKind::Accepted, at(10, 28));
    assert!(fired(&b, "EA002").is_empty());
}

#[test]
fn ea002_is_high_when_the_account_spends_meanwhile() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::PendingAccept)
        .spend(d(10, 20), PAYMENTS, SONNET_CE, 5.0, None, None);
    let f = fired(&b, "EA002");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity.as_str(), "high");
    assert_eq!(f[0].cost_usd, Some(5.0));
}

#[test]
fn ea003_fires_on_rejected_grant_only() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Rejected);
    assert_eq!(fired(&b, "EA003").len(), 1);
    let (mut b, lic) = org();
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA003").is_empty());
}

#[test]
fn ea004_fires_on_live_grant_of_cancelled_license() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    let f = fired(&b, "EA004");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g);
    // Before the cancellation the same grant was fine.
    let snap = b.clone().build(d(8, 3), as_of(), at(11, 1));
    let earlier = analyze(&snap, &Config::default(), d(9, 15)).unwrap();
    assert!(earlier.findings.iter().all(|f| f.rule != "EA004"));

    let (mut b, lic) = org();
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Deleted)
        .license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    assert!(fired(&b, "EA004").is_empty());
}

#[test]
fn ea005_fires_after_grace_only() {
    let (mut b, lic) = org();
    b.license_ended(&lic, LicenseStatus::Deleted, d(10, 1))
        .spend(d(10, 3), PAYMENTS, SONNET_CE, 7.0, None, None)
        .spend(d(10, 10), PAYMENTS, SONNET_CE, 9.0, None, None);
    let f = fired(&b, "EA005");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].cost_usd, Some(9.0), "10/03 is inside the 3-day grace");
    assert_eq!(f[0].first_day, Some(d(10, 10)));
    // Spend inside the grace is neither exposure nor after-cancellation.
    assert!(fired(&b, "EA001").is_empty());
}

#[test]
fn ea006_fires_when_member_license_meets_a_grant() {
    let (mut b, lic) = org();
    let own = b.license_arn("payments-own");
    b.license(&own, SONNET, "prod-sonnet", PAYMENTS);
    assert!(fired(&b, "EA006").is_empty());
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Disabled);
    let f = fired(&b, "EA006");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].license_arn.as_str(), f[0].grant_arn.as_str()),
        (own.as_str(), g.as_str())
    );
}

#[test]
fn ea007_fires_on_grant_to_suspended_account_or_missing_ou() {
    let (mut b, lic) = org();
    let g = b.grant_arn("sandbox");
    b.grant_account(&g, &lic, SANDBOX, GrantStatus::Active);
    assert!(fired(&b, "EA007").is_empty());
    b.account_state(SANDBOX, AccountState::Suspended);
    assert_eq!(fired(&b, "EA007").len(), 1);

    let (mut b, lic) = org();
    b.grant_ou(&g, &lic, "ou-ex01-gone0001", GrantStatus::Active);
    assert_eq!(fired(&b, "EA007").len(), 1);
}

#[test]
fn ea008_fires_on_second_live_grant_to_same_principal() {
    let (mut b, lic) = org();
    let g1 = b.grant_arn("a");
    let g2 = b.grant_arn("b");
    b.grant_account(&g1, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA008").is_empty());
    b.grant_account(&g2, &lic, PAYMENTS, GrantStatus::Disabled);
    let f = fired(&b, "EA008");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g2, "the ACTIVE grant is kept");
}

#[test]
fn ea009_fires_on_unknown_product_and_explicit_mapping_silences_it() {
    let (mut b, _) = org();
    b.spend(
        d(10, 1),
        MGMT,
        "Sonnet Special (Amazon Bedrock Edition)",
        3.0,
        None,
        None,
    );
    assert_eq!(fired(&b, "EA009").len(), 1);
    let cfg = Config::parse(
        "[[product_mappings]]\nservice = \"Sonnet Special (Amazon Bedrock Edition)\"\nproduct = \"Claude 3.7 Sonnet\"",
    )
    .unwrap();
    assert!(run(&b, &cfg).iter().all(|f| f.rule != "EA009"));
}

#[test]
fn ea010_fires_on_untagged_account_and_not_on_tagged_usage() {
    let (mut b, _) = org();
    b.spend(d(10, 1), SANDBOX, SONNET_CE, 4.0, None, None);
    let f = fired(&b, "EA010");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].account_id, SANDBOX);

    let (mut b, _) = org();
    b.spend(d(10, 1), SANDBOX, SONNET_CE, 4.0, None, Some("research"));
    assert!(fired(&b, "EA010").is_empty());
}
