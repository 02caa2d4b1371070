//! End-to-end scenarios from the field, each with the findings it must produce.

mod support;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::demo::OrgBuilder;
use entitlement_audit::model::{EventKind, GrantStatus, LicenseStatus};
use support::field::*;

fn analyze_at(b: OrgBuilder, cfg: &Config, at: NaiveDate) -> Analysis {
    analyze(&snapshot(b), cfg, at).unwrap()
}

fn accounts(a: &Analysis, rule: &str) -> BTreeSet<String> {
    a.findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.account_id.clone())
        .collect()
}

/// (a) An organization-wide rollout to 50 workload accounts: 30 activated, 20 not.
#[test]
fn a_organization_rollout_some_activated() {
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
    let a = analyze_at(b, &Config::default(), as_of());
    assert_eq!(accounts(&a, "EA001"), waiting);
    assert_eq!(accounts(&a, "EA002"), waiting);
    // The exposure over time: the 20 waiting accounts' $2 a day, on days 80 to 89 only.
    assert_eq!(a.exposure_by_day.len(), 90);
    assert_eq!(a.exposure_by_day[0].day, day(0));
    for (n, d) in a.exposure_by_day.iter().enumerate() {
        let want = if n >= 80 { 40.0 } else { 0.0 };
        assert_eq!((d.day, d.cost_usd), (day(n as i64), want), "day {n}");
    }
    assert!(a
        .findings
        .iter()
        .filter(|f| f.rule == "EA002")
        .all(|f| f.severity.as_str() == "high"));
    assert!((a.totals.exposure_usd - 20.0 * 10.0 * 2.0).abs() < 1e-9);
    assert_eq!(
        a.findings
            .iter()
            .filter(|f| f.rule == "EA002")
            .map(|f| &f.grant_arn)
            .collect::<BTreeSet<_>>()
            .len(),
        1
    );
}

/// (b) A phased rollout: pilot accounts first, then the Prod OU; Dev never.
#[test]
fn b_phased_rollout() {
    let Phased {
        builder: b,
        pilots,
        prod,
        dev_only,
        ou_grant,
    } = phased_rollout();
    let a = analyze_at(b, &Config::default(), as_of());
    let ea001 = |id: &str| {
        a.findings
            .iter()
            .find(|f| f.rule == "EA001" && f.account_id == id)
            .unwrap()
            .clone()
    };
    for p in &pilots {
        let f = ea001(p);
        assert_eq!(
            (f.first_day, f.last_day, f.cost_usd),
            (Some(day(0)), Some(day(9)), Some(10.0))
        );
    }
    for p in &prod {
        let f = ea001(p);
        assert_eq!((f.last_day, f.cost_usd), (Some(day(49)), Some(50.0)));
    }
    assert_eq!(ea001(&dev_only).cost_usd, Some(90.0));
    assert!(
        accounts(&a, "EA002").is_empty(),
        "every grant that exists is active"
    );
    // Coverage shows the handover from not-covered to covered for a Prod account.
    let segs: Vec<_> = a
        .coverage
        .iter()
        .filter(|c| c.account_id == prod[0])
        .collect();
    let states: Vec<&str> = segs.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(states, ["not-covered", "awaiting-activation", "covered"]);
    assert_eq!(segs[2].from, day(50));
    assert_eq!(segs[2].grant_arn, ou_grant);
}

/// (c) A private offer: most accounts covered at 30% off, two still at public price.
#[test]
fn c_private_offer_with_public_price_stragglers() {
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
    let a = analyze_at(b, &Config::default(), as_of());
    assert_eq!(accounts(&a, "EA001"), stragglers);
    for f in a.findings.iter().filter(|f| f.rule == "EA001") {
        assert_eq!(f.overspend_basis.as_str(), "observed-private-rate");
        assert!(
            (f.overspend_usd.unwrap() - 300.0 * 0.3).abs() < 1e-6,
            "{f:?}"
        );
    }
    assert!((a.totals.overspend_usd - 180.0).abs() < 1e-6);
}

/// (d) An organization grant, and accounts that joined later and never activated.
#[test]
fn d_late_joiners_never_activated() {
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
    let a = analyze_at(b, &Config::default(), as_of());
    assert_eq!(
        accounts(&a, "EA002"),
        late,
        "the account that joined 2 days ago is within the threshold"
    );
    assert!(accounts(&a, "EA001").is_empty(), "nobody spent");
}

/// (e) A cancelled subscription, grants left behind, spend after the cut-off.
#[test]
fn e_cancelled_subscription_leftovers() {
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
    let a = analyze_at(b, &Config::default(), as_of());
    let orphans: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA004").collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].grant_arn, org_grant);
    assert_eq!(accounts(&a, "EA005"), late_spenders);
    for f in a.findings.iter().filter(|f| f.rule == "EA005") {
        // Days 64..=70 are after the 3-day grace.
        assert_eq!((f.first_day, f.cost_usd), (Some(day(64)), Some(7.0)));
    }
    assert!(accounts(&a, "EA001").is_empty());
    assert!(
        accounts(&a, "EA002").is_empty(),
        "ended licenses are EA004's business"
    );
}

/// (f) A member with its own subscription that then receives a grant.
#[test]
fn f_member_subscription_then_grant() {
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
    let snap = snapshot(b);
    let cfg = Config::default();

    let now = analyze(&snap, &cfg, as_of()).unwrap();
    let f = now
        .findings
        .iter()
        .find(|f| f.rule == "EA006")
        .expect("EA006");
    assert_eq!(
        (f.license_arn.as_str(), f.grant_arn.as_str()),
        (own.as_str(), g.as_str())
    );
    let exposure = now.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert_eq!(
        (exposure.last_day, exposure.cost_usd),
        (Some(day(69)), Some(70.0))
    );

    let before = analyze(&snap, &cfg, day(40)).unwrap();
    assert!(
        before.findings.iter().all(|f| f.rule != "EA006"),
        "no grant existed yet"
    );
    assert!(before.grants.is_empty());
}
