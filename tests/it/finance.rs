//! Finance: the overspend basis in each of its three cases, and `verify-cleanup` passing on a
//! clean cancelled license and failing, with evidence, on each kind of leftover.

use crate::support::cli::Bin;
use crate::support::fixtures::*;

use chrono::NaiveDate;

use entitlement_audit::analyze::cleanup::{self, Outcome, Request, Target, Verdict, Verification};
use entitlement_audit::analyze::context::Context;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::OrgBuilder;
use entitlement_audit::model::usage::{UsageBuilder, UsageRow};
use entitlement_audit::model::{EventKind, GrantStatus, LicenseStatus};
use entitlement_audit::snapshot::Snapshot;

/// Management account, a payments account with an ACTIVE grant since 08-01, an uncovered
/// sandbox account, and the organization's license for Claude 3.7 Sonnet.
fn org() -> (OrgBuilder, String, String) {
    org_with_status(GrantStatus::Active)
}

/// `org()` with the payments grant's collected status set (its events say when it became
/// ACTIVE; later events may change it).
fn org_with_status(status: GrantStatus) -> (OrgBuilder, String, String) {
    let (mut b, lic) = crate::support::fixtures::org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, status)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(8, 1))
        .event(&g, Some(PAYMENTS), EventKind::Activated, at(8, 1));
    (b, lic, g)
}

fn snapshot(b: &OrgBuilder) -> Snapshot {
    b.clone().build(d(8, 3), d(10, 31), at(11, 1))
}

fn analysis(b: &OrgBuilder, cfg: &str) -> Analysis {
    analyze(&snapshot(b), &Config::parse(cfg).unwrap(), d(10, 31)).unwrap()
}

/// Covered payments spend billed at 75% of public, a credit, and $200 of sandbox exposure.
fn spend(b: &mut OrgBuilder, public: bool) {
    let p = |x: f64| public.then_some(x);
    b.spend(d(9, 1), PAYMENTS, SONNET_CE, 75.0, p(100.0), None)
        .spend(d(9, 2), PAYMENTS, SONNET_CE, 150.0, p(200.0), None)
        // A credit says nothing about the rate (CUR leaves its public cost at zero).
        .spend(d(9, 3), PAYMENTS, SONNET_CE, -50.0, p(0.0), None)
        .spend(d(9, 5), SANDBOX, SONNET_CE, 120.0, p(120.0), None)
        .spend(d(9, 6), SANDBOX, SONNET_CE, 80.0, p(80.0), None);
}

fn ea001(a: &Analysis) -> &entitlement_audit::analyze::finding::Finding {
    let f: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA001").collect();
    assert_eq!(f.len(), 1, "{:#?}", a.findings);
    assert_eq!(f[0].account_id, SANDBOX);
    assert_eq!(f[0].cost_usd, Some(200.0));
    f[0]
}

fn exposed_coverage(a: &Analysis) -> &entitlement_audit::analyze::CoverageRow {
    a.coverage
        .iter()
        .find(|c| c.account_id == SANDBOX && c.cost_usd > 0.0)
        .unwrap()
}

const DISCOUNT_10: &str = "[pricing.private_discount_pct]\n\"Claude 3.7 Sonnet\" = 10.0";

#[test]
fn overspend_from_observed_public_versus_billed_cost() {
    let (mut b, _, _) = org();
    spend(&mut b, true);
    // The data wins over a configured discount.
    let a = analysis(&b, DISCOUNT_10);
    let f = ea001(&a);
    assert_eq!(f.overspend_basis.as_str(), "observed-private-rate");
    // 225 billed for 300 public on covered usage: 25% off, credit left out.
    assert!((f.overspend_usd.unwrap() - 50.0).abs() < 1e-9, "{f:?}");
    let c = exposed_coverage(&a);
    assert_eq!(c.overspend_basis.as_str(), "observed-private-rate");
    assert!((c.overspend_usd.unwrap() - 50.0).abs() < 1e-9);
    assert!((a.totals.overspend_usd - 50.0).abs() < 1e-9);
    assert_eq!(a.totals.exposure_without_price_basis_usd, 0.0);
}

#[test]
fn overspend_from_configured_discount_without_public_cost() {
    let (mut b, _, _) = org();
    spend(&mut b, false);
    let a = analysis(&b, DISCOUNT_10);
    let f = ea001(&a);
    assert_eq!(f.overspend_basis.as_str(), "configured-discount");
    assert!((f.overspend_usd.unwrap() - 20.0).abs() < 1e-9);
    let c = exposed_coverage(&a);
    assert_eq!(c.overspend_basis.as_str(), "configured-discount");
    assert!((c.overspend_usd.unwrap() - 20.0).abs() < 1e-9);
}

#[test]
fn public_cost_equal_to_billed_cost_falls_back_to_the_configured_discount() {
    // Covered usage billed at exactly its public cost shows no private rate: the data does not
    // say what the discount is, so the configured one applies.
    let (mut b, _, _) = org();
    b.spend(d(9, 1), PAYMENTS, SONNET_CE, 100.0, Some(100.0), None)
        .spend(d(9, 5), SANDBOX, SONNET_CE, 200.0, Some(200.0), None);
    let f = ea001(&analysis(&b, DISCOUNT_10)).clone();
    assert_eq!(f.overspend_basis.as_str(), "configured-discount");
    assert!((f.overspend_usd.unwrap() - 20.0).abs() < 1e-9);
}

#[test]
fn no_price_basis_is_unknown_not_zero() {
    let (mut b, _, _) = org();
    spend(&mut b, false);
    let a = analysis(&b, "");
    let f = ea001(&a);
    assert_eq!(f.overspend_basis.as_str(), "no-price-basis");
    assert_eq!(f.overspend_usd, None);
    assert!(f.message.contains("overspend unknown"), "{}", f.message);
    let c = exposed_coverage(&a);
    assert_eq!(c.overspend_basis.as_str(), "no-price-basis");
    assert_eq!(c.overspend_usd, None);
    assert_eq!(a.totals.exposure_without_price_basis_usd, 200.0);
    assert_eq!(a.totals.overspend_usd, 0.0);
    // Covered segments are not exposed: no basis at all.
    let covered = a
        .coverage
        .iter()
        .find(|c| c.account_id == PAYMENTS)
        .unwrap();
    assert_eq!(covered.overspend_basis.as_str(), "");
}

#[test]
fn waiting_grant_finding_carries_the_overspend_of_its_exposed_spend() {
    let (mut b, lic, _) = org();
    let g = b.grant_arn("sandbox");
    b.grant_account(&g, &lic, SANDBOX, GrantStatus::Disabled)
        .event(&g, Some(SANDBOX), EventKind::Created, at(8, 4));
    spend(&mut b, false);
    let a = analysis(&b, DISCOUNT_10);
    let f = a.findings.iter().find(|f| f.rule == "EA002").unwrap();
    assert_eq!(f.cost_usd, Some(200.0));
    assert_eq!(f.overspend_basis.as_str(), "configured-discount");
    assert!((f.overspend_usd.unwrap() - 20.0).abs() < 1e-9);
}

// ---- verify-cleanup ----

/// The license cancelled on 10-01 with usage (billed at 75% of public) until 09-30 and the
/// payments grant still ACTIVE.
fn cancelled() -> (OrgBuilder, String, String) {
    cancelled_with(GrantStatus::Active)
}

fn cancelled_with(status: GrantStatus) -> (OrgBuilder, String, String) {
    let (mut b, lic, g) = org_with_status(status);
    b.license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    for day in [28, 29, 30] {
        b.spend(d(9, day), PAYMENTS, SONNET_CE, 75.0, Some(100.0), None);
    }
    (b, lic, g)
}

/// A clean clean-up: as `cancelled()`, with the grant deleted on 10-02.
fn clean_build() -> OrgBuilder {
    let (mut b, _, g) = cancelled_with(GrantStatus::Deleted);
    b.event(&g, Some(PAYMENTS), EventKind::Deleted, at(10, 2));
    b
}

fn verify_at(b: &OrgBuilder, req: Request, as_of: NaiveDate) -> anyhow::Result<Verification> {
    let snap = snapshot(b);
    let cfg = Config::default();
    let cx = Context::new(&snap, &cfg, as_of);
    cleanup::verify(&cx, &req)
}

fn by_product() -> Request {
    Request {
        target: Target::Product(SONNET.into()),
        cancelled_on: None,
        grace_days: None,
    }
}

fn verify(b: &OrgBuilder) -> Verification {
    verify_at(b, by_product(), d(10, 31)).unwrap()
}

fn outcomes(v: &Verification) -> Vec<(&'static str, Outcome)> {
    v.checks.iter().map(|c| (c.name, c.outcome)).collect()
}

#[test]
fn cleanup_passes_on_a_clean_cancelled_license() {
    let b = clean_build();
    let v = verify(&b);
    assert_eq!(v.verdict(), Verdict::Pass, "{:#?}", v.lines());
    assert_eq!(v.cut_off, d(10, 1));
    assert_eq!(v.cut_off_source, "license end");
    assert!(v.checks.iter().all(|c| c.evidence.is_empty()));
    let rows = v.rows();
    assert_eq!(rows[0].check, "verdict");
    assert_eq!(rows[0].result, "pass");
    assert_eq!(rows.len(), 4, "one row per passing check");
}

#[test]
fn cleanup_fails_on_a_live_grant() {
    let (b, lic, g) = cancelled();
    let v = verify_at(
        &b,
        Request {
            target: Target::LicenseArn(lic),
            ..by_product()
        },
        d(10, 31),
    )
    .unwrap();
    assert_eq!(v.verdict(), Verdict::Fail);
    assert_eq!(
        outcomes(&v),
        [
            (cleanup::GRANTS_DELETED, Outcome::Fail),
            (cleanup::NO_SPEND, Outcome::Pass),
            (cleanup::NO_PRIVATE_RATE, Outcome::Pass),
        ]
    );
    let e = &v.checks[0].evidence;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].grant_arn, g);
    assert_eq!(e[0].grant_status, "ACTIVE");
    assert_eq!(e[0].account_id, PAYMENTS);
    assert!(v.lines().iter().any(|l| l.contains(&g)));
}

#[test]
fn cleanup_fails_on_spend_after_the_cutoff_plus_grace() {
    let mut b = clean_build();
    // At public price, inside the grace (10-03) and after it (10-10, 10-12).
    b.spend(d(10, 3), SANDBOX, SONNET_CE, 5.0, Some(5.0), None)
        .spend(d(10, 10), SANDBOX, SONNET_CE, 40.0, Some(40.0), None)
        .spend(d(10, 12), SANDBOX, SONNET_CE, 2.5, Some(2.5), None);
    let v = verify(&b);
    assert_eq!(v.verdict(), Verdict::Fail);
    assert_eq!(
        outcomes(&v),
        [
            (cleanup::GRANTS_DELETED, Outcome::Pass),
            (cleanup::NO_SPEND, Outcome::Fail),
            (cleanup::NO_PRIVATE_RATE, Outcome::Pass),
        ]
    );
    let c = &v.checks[1];
    assert_eq!(c.from, Some(d(10, 5)));
    assert_eq!(c.evidence.len(), 1);
    let e = &c.evidence[0];
    assert_eq!(e.account_id, SANDBOX);
    assert_eq!(e.cost_usd, Some(42.5));
    assert_eq!(
        (e.first_day, e.last_day, e.days),
        (Some(d(10, 10)), Some(d(10, 12)), Some(2))
    );

    // A longer grace covers it; an earlier cut-off catches the 10-03 spend too.
    let longer = verify_at(
        &b,
        Request {
            grace_days: Some(15),
            ..by_product()
        },
        d(10, 31),
    )
    .unwrap();
    assert_eq!(longer.verdict(), Verdict::Pass, "{:#?}", longer.lines());
    let earlier = verify_at(
        &b,
        Request {
            cancelled_on: Some(d(9, 25)),
            ..by_product()
        },
        d(10, 31),
    )
    .unwrap();
    assert_eq!(earlier.cut_off_source, "--cancelled-on");
    let spenders: Vec<&str> = earlier.checks[1]
        .evidence
        .iter()
        .map(|e| e.account_id.as_str())
        .collect();
    assert_eq!(spenders, [PAYMENTS, SANDBOX]);
}

#[test]
fn cleanup_fails_on_private_rate_billing_after_the_cutoff() {
    let mut b = clean_build();
    // Inside the grace, so only the private-rate check sees it: billed 30 for 40 public.
    b.spend(d(10, 2), PAYMENTS, SONNET_CE, 30.0, Some(40.0), None);
    let v = verify(&b);
    assert_eq!(v.verdict(), Verdict::Fail);
    assert_eq!(
        outcomes(&v),
        [
            (cleanup::GRANTS_DELETED, Outcome::Pass),
            (cleanup::NO_SPEND, Outcome::Pass),
            (cleanup::NO_PRIVATE_RATE, Outcome::Fail),
        ]
    );
    let e = &v.checks[2].evidence[0];
    assert_eq!(
        (e.account_id.as_str(), e.cost_usd, e.public_cost_usd),
        (PAYMENTS, Some(30.0), Some(40.0))
    );
    assert_eq!(e.first_day, Some(d(10, 2)));
    let rows = v.rows();
    let failing: Vec<_> = rows.iter().filter(|r| r.result == "fail").collect();
    assert_eq!(failing.len(), 2, "the verdict row and the evidence row");
}

#[test]
fn cleanup_is_incomplete_when_the_data_cannot_decide() {
    // Spend after the cut-off without a public cost: its rate is unknown.
    let mut b = clean_build();
    b.spend(d(10, 2), PAYMENTS, SONNET_CE, 30.0, None, None);
    let v = verify(&b);
    assert_eq!(v.verdict(), Verdict::Incomplete);
    assert_eq!(v.checks[2].outcome, Outcome::Unverified);

    // Data ending before the first day the spend check looks at.
    let v = verify_at(&clean_build(), by_product(), d(10, 3)).unwrap();
    assert_eq!(v.checks[1].outcome, Outcome::Unverified);
    assert_eq!(v.verdict(), Verdict::Incomplete);
}

#[test]
fn cleanup_errors_name_the_unknown_target_and_list_the_known_ones() {
    let b = clean_build();
    let err = verify_at(
        &b,
        Request {
            target: Target::Product("Claude Opus 9".into()),
            ..by_product()
        },
        d(10, 31),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`Claude Opus 9`") && err.contains("`Claude 3.7 Sonnet`"),
        "{err}"
    );

    // A live license needs an explicit cut-off.
    let (b, _, _) = org();
    let err = verify_at(&b, by_product(), d(10, 31))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--cancelled-on"), "{err}");
}

#[test]
fn verify_cleanup_command_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        Bin::new()
            .args(["verify-cleanup", "--demo", "--out", out])
            .args(args)
            .run()
    };
    // The demo's third product: cancelled with a grant left and spend after the cut-off.
    let o = run(&["--product", "Command R+"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let text = o.stdout;
    assert!(text.starts_with("FAIL"), "{text}");
    assert!(text.contains("999900000002"), "{text}");
    let mut rdr = csv::Reader::from_path(dir.path().join("cleanup_verification.csv")).unwrap();
    let checks: Vec<(String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    assert_eq!(checks[0], ("verdict".into(), "fail".into()));
    for check in [cleanup::GRANTS_DELETED, cleanup::NO_SPEND] {
        assert!(
            checks.contains(&(check.into(), "fail".into())),
            "{checks:?}"
        );
    }

    let o = run(&["--product", "Claude Opus 9"]);
    assert_eq!(o.code, 3);
    let err = o.stderr;
    assert!(
        err.contains("`Claude Opus 9`") && err.contains("`Command R+`"),
        "{err}"
    );
}

// ---- team attribution ----

const OUTSIDER: &str = "777788889999";

fn row(account: &str, cost: f64, team_tag: Option<&str>, caller: Option<&str>) -> UsageRow {
    UsageRow {
        date: d(9, 1),
        account_id: account.into(),
        product: SONNET_CE.into(),
        usage_type: "USE1-MP:USE1_InputTokenCount-Units".into(),
        cost_usd: cost,
        usage_quantity: cost / 3e-6,
        public_cost_usd: None,
        team_tag: team_tag.map(str::to_string),
        caller_account_id: caller.map(str::to_string),
    }
}

/// The org with the management account tagged `platform`, the sandbox under an OU rule, and
/// usage billed to the subscriber that names callers (as CUR `line_item_iam_principal` does).
fn attributed(cfg: &str) -> Analysis {
    let (mut b, _, _) = org();
    b.account_tag(MGMT, "team", "platform");
    let mut snap = snapshot(&b);
    let mut u = UsageBuilder::default();
    for r in [
        row(MGMT, 100.0, None, Some(PAYMENTS)),
        row(MGMT, 40.0, None, Some(SANDBOX)),
        row(MGMT, 10.0, Some("search"), Some(SANDBOX)),
        row(MGMT, 25.0, None, Some(MGMT)),
        row(MGMT, 60.0, None, None),
        row(MGMT, 7.5, None, Some(OUTSIDER)),
        row(PAYMENTS, 30.0, Some("checkout"), None),
        row(SANDBOX, -5.0, None, None),
    ] {
        u.push(r);
    }
    snap.usage = u.finish();
    let text =
        format!("{cfg}\n[[team_rules]]\nou_path_prefix = \"/Root/Sandbox\"\nteam = \"sandbox\"\n");
    analyze(&snap, &Config::parse(&text).unwrap(), d(10, 31)).unwrap()
}

/// (team, method, billed account, used by, redistributed) -> cost.
fn allocation(a: &Analysis) -> Vec<(String, String, String, String, bool, f64)> {
    a.allocation
        .iter()
        .map(|r| {
            (
                r.team.clone(),
                r.method.to_string(),
                r.account_id.clone(),
                r.used_by_account_id.clone(),
                r.redistributed,
                r.cost_usd,
            )
        })
        .collect()
}

fn has(a: &Analysis, team: &str, method: &str, billed: &str, used_by: &str, cost: f64) -> bool {
    allocation(a).iter().any(|(t, m, b, u, _, c)| {
        t == team && m == method && b == billed && u == used_by && (c - cost).abs() < 1e-9
    })
}

#[test]
fn subscriber_spend_goes_to_its_callers_else_to_the_shared_pool() {
    let a = attributed("");
    let s = |x: &str| x.to_string();
    assert_eq!(
        allocation(&a),
        [
            (s(""), s("shared-pool"), s(MGMT), s(""), false, 60.0),
            (s(""), s("unallocated"), s(MGMT), s(OUTSIDER), true, 7.5),
            (
                s("checkout"),
                s("cost-allocation-tag"),
                s(PAYMENTS),
                s(PAYMENTS),
                false,
                30.0
            ),
            (
                s("payments"),
                s("account-tag"),
                s(MGMT),
                s(PAYMENTS),
                true,
                100.0
            ),
            (
                s("platform"),
                s("account-tag"),
                s(MGMT),
                s(MGMT),
                false,
                25.0
            ),
            (s("sandbox"), s("ou-rule"), s(MGMT), s(SANDBOX), true, 40.0),
            (
                s("sandbox"),
                s("ou-rule"),
                s(SANDBOX),
                s(SANDBOX),
                false,
                -5.0
            ),
            (
                s("search"),
                s("cost-allocation-tag"),
                s(MGMT),
                s(SANDBOX),
                true,
                10.0
            ),
        ]
    );
    let t = &a.totals;
    assert!((t.spend_usd - 267.5).abs() < 1e-9);
    let allocated: f64 = a.allocation.iter().map(|r| r.cost_usd).sum();
    assert!(
        (allocated - t.spend_usd).abs() < 0.005,
        "reconciles to the cent"
    );
    assert!((t.shared_pool_usd - 60.0).abs() < 1e-9);
    assert!((t.redistributed_usd - 157.5).abs() < 1e-9);
    assert!((t.unallocated_usd - 7.5).abs() < 1e-9);
}

#[test]
fn allocation_precedence_is_configurable() {
    // Without the shared pool the subscriber's untagged, caller-less spend is its own team's;
    // OU rules before account tags; cost-allocation tags not used at all.
    let a = attributed(r#"allocation_precedence = ["ou-rule", "account-tag"]"#);
    assert!(
        has(&a, "platform", "account-tag", MGMT, MGMT, 85.0),
        "{:#?}",
        allocation(&a)
    );
    assert!(has(&a, "payments", "account-tag", PAYMENTS, PAYMENTS, 30.0));
    assert!(has(&a, "sandbox", "ou-rule", MGMT, SANDBOX, 50.0));
    assert_eq!(a.totals.shared_pool_usd, 0.0);
    // Findings take an account's team in the same precedence.
    let (mut b, _, _) = org();
    b.account_tag(SANDBOX, "team", "alice");
    let snap = snapshot(&b);
    let rule = "[[team_rules]]\nou_path_prefix = \"/Root/Sandbox\"\nteam = \"sandbox\"\n";
    for (order, want) in [
        ("", ("alice", "account-tag")),
        (
            r#"allocation_precedence = ["ou-rule", "account-tag"]"#,
            ("sandbox", "ou-rule"),
        ),
    ] {
        let cfg = Config::parse(&format!("{order}\n{rule}")).unwrap();
        let cx = Context::new(&snap, &cfg, d(10, 31));
        let team = cx.account_team(cx.account(SANDBOX).unwrap()).unwrap();
        assert_eq!((team.0.as_str(), team.1.as_str()), want);
    }
}

/// The row passes that place spend in segments and allocate it take shortcuts for runs of
/// consecutive rows of one key; any row order (Cost Explorer writes day by day, exports in
/// any order) must give the same figures to the millionth of a dollar.
#[test]
fn row_order_changes_no_figure() {
    use entitlement_audit::inputs::demo::{generate, DemoParams};
    use polars::prelude::{IdxCa, NamedFrom};

    let snap = generate(&DemoParams {
        accounts: 300,
        products: 6,
        ..DemoParams::builtin()
    });
    let as_of = snap.manifest.period_end;
    let cfg = Config::default();
    let sorted = analyze(&snap, &cfg, as_of).unwrap();

    // A permutation that scatters neighbours: i -> i * step mod n, step coprime with n.
    let n = snap.usage.height() as u64;
    let step = (7919..).find(|s| gcd(*s, n) == 1).unwrap();
    let order: Vec<u32> = (0..n).map(|i| (i * step % n) as u32).collect();
    let mut shuffled = snap.clone();
    shuffled.usage = snap.usage.take(&IdxCa::new("i".into(), order)).unwrap();
    assert_ne!(
        shuffled.usage.column("account_id").unwrap().get(1).unwrap(),
        snap.usage.column("account_id").unwrap().get(1).unwrap(),
        "the permutation must move rows"
    );
    let other = analyze(&shuffled, &cfg, as_of).unwrap();

    assert!(sorted.totals.spend_usd > 0.0 && !sorted.allocation.is_empty());
    assert_eq!(sorted.totals, other.totals);
    assert_eq!(sorted.coverage, other.coverage);
    assert_eq!(sorted.allocation, other.allocation);
    assert_eq!(sorted.exposure_by_day, other.exposure_by_day);
    let by_day: f64 = sorted.exposure_by_day.iter().map(|d| d.cost_usd).sum();
    assert!(sorted.totals.exposure_usd > 0.0);
    assert!((by_day - sorted.totals.exposure_usd).abs() < 0.005);
    let key = |a: &Analysis| -> Vec<(String, Option<f64>, String)> {
        a.findings
            .iter()
            .map(|f| (f.id.clone(), f.cost_usd, f.message.clone()))
            .collect()
    };
    assert_eq!(key(&sorted), key(&other));
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The summary's spend by team keeps the two kinds of team-less spend apart, and they are the
/// totals' shared pool and unallocated figures.
#[test]
fn team_less_spend_is_split_into_shared_pool_and_unallocated() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let a = analyze(&snap, &Config::default(), snap.manifest.period_end).unwrap();
    let rows = entitlement_audit::report::json::cost_by_team(&a);
    let only = |owner: &str| {
        let found: Vec<_> = rows.iter().filter(|r| r.owner == owner).collect();
        assert_eq!(found.len(), 1, "one `{owner}` row");
        assert!(found[0].team.is_empty());
        found[0].cost_usd
    };
    assert!(a.totals.shared_pool_usd > 0.0 && a.totals.unallocated_usd > 0.0);
    assert!((only("shared-pool") - a.totals.shared_pool_usd).abs() < 1e-6);
    assert!((only("unallocated") - a.totals.unallocated_usd).abs() < 1e-6);
    let teams: Vec<_> = rows.iter().filter(|r| r.owner == "team").collect();
    assert_eq!(teams.len(), rows.len() - 2);
    assert!(teams.iter().all(|r| !r.team.is_empty()));
    let sum: f64 = rows.iter().map(|r| r.cost_usd).sum();
    assert!((sum - a.totals.spend_usd).abs() < 0.005);
}
