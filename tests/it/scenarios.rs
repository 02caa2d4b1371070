//! End-to-end scenarios from the field, each with the findings it must produce.

use crate::support;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::OrgBuilder;
use entitlement_audit::model::{EventKind, GrantStatus};
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
    let (b, waiting) = organization_rollout();
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
    let (b, stragglers) = private_offer();
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
    let (b, late) = late_joiners();
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
    let (b, org_grant, late_spenders) = cancelled_leftovers();
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
    let (b, own, g) = member_subscription();
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

/// (g) A member activated its grant in its own account: the run sees `CreateGrant` on day 10
/// and an ACTIVE grant at collection, nothing in between. Days 0 to 10 are confirmed exposure
/// (no grant yet); from day 11 the activation may or may not have happened: that spend is
/// activation-unknown, apart from the exposure, and the headline counts only the confirmed.
#[test]
fn g_member_side_activation_is_unknown_not_exposure() {
    let (b, id, g) = member_side_activation(GrantStatus::Active);
    let a = analyze_at(b, &Config::default(), as_of());
    let segs: Vec<(&str, NaiveDate, NaiveDate, f64)> = a
        .coverage
        .iter()
        .filter(|c| c.account_id == id)
        .map(|c| (c.state.as_str(), c.from, c.to, c.cost_usd))
        .collect();
    assert_eq!(
        segs,
        [
            ("not-covered", day(0), day(10), 11.0),
            ("activation-unknown", day(11), day(89), 79.0),
        ]
    );
    assert_eq!(a.coverage[1].grant_arn, g);
    let f = a.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert_eq!(
        (f.account_id.as_str(), f.cost_usd, f.activation_unknown_usd),
        (id.as_str(), Some(11.0), Some(79.0))
    );
    assert!(f.message.contains("not counted: $79.00"), "{}", f.message);
    assert!(
        a.findings.iter().all(|f| f.rule != "EA002"),
        "collected ACTIVE: not waiting for activation on the report date"
    );
    assert_eq!(a.totals.exposure_usd, 11.0);
    assert_eq!(a.totals.activation_unknown_usd, 79.0);
    assert_eq!(a.totals.accounts_exposed, 1);
    let exposed_by_day: f64 = a.exposure_by_day.iter().map(|d| d.cost_usd).sum();
    assert_eq!(
        exposed_by_day, 11.0,
        "the weekly trend shows confirmed exposure only"
    );
    // Money reconciles: covered + unknown + exposed is all the spend.
    assert_eq!(a.totals.spend_usd, 90.0);

    // Every report shows the unknown spend apart from the exposure.
    let dir = tempfile::tempdir().unwrap();
    let run = entitlement_audit::report::RunInfo {
        tool_version: "test".into(),
        as_of: as_of(),
        window_start: a.window_start,
        window_end: as_of(),
        source: "test".into(),
        collected_at: noon(90),
        fail_on: Some(entitlement_audit::model::Severity::High),
        athena: None,
    };
    let templates = entitlement_audit::report::Templates::new(None).unwrap();
    let report = entitlement_audit::report::Report::of(&a, &run);
    let outputs = entitlement_audit::report::Outputs::default();
    entitlement_audit::report::write_all(&report, dir.path(), &templates, &outputs).unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let md = read("summary.md");
    assert!(
        md.contains("| Public-price exposure | **\\$11.00** |"),
        "{md}"
    );
    assert!(
        md.contains("| Exposure unconfirmed | **\\$79.00** |"),
        "{md}"
    );
    let html = read("report.html");
    assert!(html.contains("Exposure unconfirmed"), "the headline card");
    assert!(html.contains("$79.00"), "the card and the coverage table");
    let findings = read("findings.csv");
    let header: Vec<&str> = findings.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "activation_unknown_usd")
        .unwrap();
    let row = findings.lines().find(|l| l.contains("EA001")).unwrap();
    assert_eq!(row.split(',').nth(col), Some("79"), "{row}");
    let coverage = read("coverage.csv");
    assert!(coverage.contains(",activation-unknown,"), "{coverage}");
}

/// (g') Only unknown spend: the grant was created before the window, so nothing is confirmed;
/// the finding says so at a low severity with no exposure, and the account is not counted as
/// exposed.
#[test]
fn g_only_unknown_spend_is_a_low_finding_without_exposure() {
    let (mut b, id, g) = member_side_activation(GrantStatus::Active);
    b.event(&g, Some(&id), EventKind::Created, noon(-5));
    let mut snap = snapshot(b);
    snap.grant_events.retain(|e| e.time < noon(0));
    let a = analyze(&snap, &Config::default(), as_of()).unwrap();
    let f = a.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert_eq!(
        (f.severity.as_str(), f.cost_usd, f.activation_unknown_usd),
        ("low", Some(0.0), Some(90.0))
    );
    assert_eq!(a.totals.exposure_usd, 0.0);
    assert_eq!(a.totals.accounts_exposed, 0);
    assert_eq!(a.totals.activation_unknown_usd, 90.0);
}
