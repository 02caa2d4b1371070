//! Agreement dates drive the lifecycle: an ended agreement is the cut-off of EA004, EA005 and
//! `verify-cleanup` (the license's validity stays the fallback, said so), a private offer that
//! ends soon without renewing is EA011, and a license still available after its agreement
//! ended is EA012. Both answers AWS may give for a cancellation's `endTime` (the original end
//! or the cancellation time) give the same cut-off.

use crate::support::fixtures::*;

use chrono::{DateTime, NaiveDate, Utc};

use entitlement_audit::analyze::cleanup::{self, Request, Target};
use entitlement_audit::analyze::context::Context;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::OrgBuilder;
use entitlement_audit::model::{Agreement, AgreementStatus, EventKind, GrantStatus};

pub(crate) fn agreement(status: AgreementStatus, end: Option<DateTime<Utc>>) -> Agreement {
    let (_, lic) = org();
    Agreement {
        id: "agmt-0000000000000001".into(),
        status,
        acceptor_account_id: MGMT.into(),
        product_id: "prod-sonnet".into(),
        offer_id: "offer-example01".into(),
        license_arn: Some(lic),
        license_link: "search-agreements".into(),
        acceptance_time: Some(at(1, 10)),
        start_time: Some(at(1, 10)),
        end_time: end,
        last_update_time: None,
        end_time_behavior: None,
        auto_renew: None,
    }
}

/// The fixture organization (license AVAILABLE, no validity end) with `a`, an ACTIVE grant to
/// payments since 08-01, and payments spend on 09-20 and 10-10.
pub(crate) fn org_with(a: Agreement) -> OrgBuilder {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(8, 1))
        .event(&g, Some(PAYMENTS), EventKind::Activated, at(8, 1))
        .agreement(a)
        .spend(d(9, 20), PAYMENTS, SONNET_CE, 10.0, None, None)
        .spend(d(10, 10), PAYMENTS, SONNET_CE, 20.0, None, None);
    b
}

pub(crate) fn run(b: &OrgBuilder, as_of: NaiveDate) -> Analysis {
    let snap = b.clone().build(d(8, 3), d(10, 31), at(11, 1));
    analyze(&snap, &Config::default(), as_of).unwrap()
}

pub(crate) fn rules(a: &Analysis) -> Vec<&'static str> {
    let mut r: Vec<_> = a.findings.iter().map(|f| f.rule).collect();
    r.sort();
    r.dedup();
    r
}

fn cut_off(b: &OrgBuilder) -> anyhow::Result<(NaiveDate, &'static str)> {
    let snap = b.clone().build(d(8, 3), d(10, 31), at(11, 1));
    let cfg = Config::default();
    let cx = Context::new(&snap, &cfg, d(10, 31));
    let req = Request {
        target: Target::Product(SONNET.into()),
        cancelled_on: None,
        grace_days: None,
    };
    cleanup::verify(&cx, &req).map(|v| (v.cut_off, v.cut_off_source))
}

#[test]
fn a_cancelled_agreement_dates_the_cut_off_whichever_end_time_aws_keeps() {
    // endTime kept at the original end (after the run), the cancellation in lastUpdateTime.
    let mut original_end = agreement(AgreementStatus::Cancelled, Some(at(12, 31)));
    original_end.last_update_time = Some(at(10, 1));
    // endTime set to the cancellation, no lastUpdateTime.
    let cancellation_time = agreement(AgreementStatus::Cancelled, Some(at(10, 1)));
    for a in [original_end, cancellation_time] {
        let b = org_with(a);
        assert_eq!(cut_off(&b).unwrap(), (d(10, 1), "agreement end"));
        let r = run(&b, d(10, 31));
        // The grant outlives the agreement (EA004), payments spent after the cut-off plus
        // grace (EA005), and the license is still AVAILABLE (EA012).
        assert_eq!(rules(&r), ["EA004", "EA005", "EA012"], "{:#?}", r.findings);
        let ea004 = r.findings.iter().find(|f| f.rule == "EA004").unwrap();
        assert_eq!(ea004.first_day, Some(d(10, 1)));
        assert!(
            ea004
                .message
                .contains("agreement `agmt-0000000000000001` is CANCELLED since 2026-10-01"),
            "{}",
            ea004.message
        );
        let ea005 = r.findings.iter().find(|f| f.rule == "EA005").unwrap();
        assert_eq!(ea005.cost_usd, Some(20.0));
        // Before the cancellation, nothing of it.
        assert!(rules(&run(&b, d(9, 30))).is_empty());
    }
}

#[test]
fn the_license_validity_stays_the_fallback_and_an_unknown_status_ends_nothing() {
    // No agreement: the license's end, said so.
    let (mut b, lic) = org();
    b.license_ended(
        &lic,
        entitlement_audit::model::LicenseStatus::Deleted,
        d(10, 1),
    );
    assert_eq!(cut_off(&b).unwrap(), (d(10, 1), "license end"));

    // A status this version does not know is not taken as an end.
    let b = org_with(agreement(AgreementStatus::parse("PAUSED"), Some(at(10, 1))));
    let err = format!("{:#}", cut_off(&b).unwrap_err());
    assert!(err.contains("--cancelled-on"), "{err}");
    assert!(rules(&run(&b, d(10, 31))).is_empty());

    // Ended within the grace: no EA012 yet.
    let b = org_with(agreement(AgreementStatus::Expired, Some(at(10, 29))));
    assert!(!rules(&run(&b, d(10, 31))).contains(&"EA012"));
}

#[test]
fn a_private_offer_ending_soon_without_renewal_is_ea011() {
    let ending = |behavior: Option<&str>, auto_renew: Option<bool>, end: DateTime<Utc>| {
        let mut a = agreement(AgreementStatus::Active, Some(end));
        a.end_time_behavior = behavior.map(str::to_string);
        a.auto_renew = auto_renew;
        rules(&run(&org_with(a), d(10, 31))).contains(&"EA011")
    };
    assert!(ending(Some("REPLACE"), None, at(11, 20)));
    assert!(ending(Some("EXPIRE"), Some(true), at(11, 20)));
    assert!(ending(None, Some(false), at(11, 20)));
    assert!(ending(None, None, at(11, 20)));
    assert!(!ending(Some("RENEW"), None, at(11, 20)));
    assert!(!ending(None, Some(true), at(11, 20)));
    // Beyond the 30 days, or already past.
    assert!(!ending(Some("REPLACE"), None, at(12, 5)));
    assert!(!ending(Some("REPLACE"), None, at(10, 20)));

    let mut a = agreement(AgreementStatus::Active, Some(at(11, 20)));
    a.end_time_behavior = Some("REPLACE".into());
    let r = run(&org_with(a), d(10, 31));
    let f = r.findings.iter().find(|f| f.rule == "EA011").unwrap();
    assert_eq!((f.account_id.as_str(), f.last_day), (MGMT, Some(d(11, 20))));
    assert!(f.message.contains("public offer"), "{}", f.message);
}

#[test]
fn the_demo_fires_the_ending_private_offer_and_cuts_off_at_the_cancelled_agreement() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let a = analyze(&snap, &demo_config(), d(10, 31)).unwrap();
    let ea011: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA011").collect();
    assert_eq!(ea011.len(), 1);
    assert_eq!(ea011[0].product, "Claude 3.7 Sonnet");
    assert_eq!(ea011[0].last_day, Some(d(11, 21)));
    let cfg = demo_config();
    let cx = Context::new(&snap, &cfg, d(10, 31));
    let req = Request {
        target: Target::Product("Command R+".into()),
        cancelled_on: None,
        grace_days: None,
    };
    let v = cleanup::verify(&cx, &req).unwrap();
    assert_eq!(v.cut_off_source, "agreement end");
}
