//! Exact overspend from rates: the organization's agreement terms (private) and the model's
//! public offer, per dimension of the usage type, with the config's rates winning, units never
//! converted, and every row without both rates left to the discount or to "no price basis".
//! On the demo, every exact figure is recomputed here from the snapshot's tables.

use std::collections::BTreeMap;

use crate::support::fixtures::*;

use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::{self, OrgBuilder, Spend};
use entitlement_audit::model::usage;
use entitlement_audit::model::{Agreement, AgreementStatus, Rate, RateSource};

pub(crate) const INPUT: &str = "USE1-MP:USE1_InputTokenCount-Units";
const OUTPUT: &str = "USE1-MP:USE1_OutputTokenCount-Units";
const DISCOUNT_10: &str = "[pricing.private_discount_pct]\n\"Claude 3.7 Sonnet\" = 10.0";

fn agreement(id: &str, license_arn: Option<&str>, status: AgreementStatus) -> Agreement {
    Agreement {
        id: id.to_string(),
        status,
        acceptor_account_id: MGMT.to_string(),
        product_id: "prod-sonnet".to_string(),
        offer_id: "offer-example01".to_string(),
        license_arn: license_arn.map(str::to_string),
        license_link: if license_arn.is_some() {
            "search-agreements".to_string()
        } else {
            String::new()
        },
        acceptance_time: Some(at(1, 10)),
        start_time: Some(at(1, 10)),
        end_time: None,
        last_update_time: None,
        end_time_behavior: None,
        auto_renew: None,
    }
}

fn rate(source: RateSource, agreement_id: Option<&str>, dim: &str, price: &str) -> Rate {
    Rate {
        agreement_id: agreement_id.map(str::to_string),
        product: if agreement_id.is_some() {
            String::new()
        } else {
            SONNET.to_string()
        },
        dimension_key: dim.to_string(),
        price: price.to_string(),
        currency: "USD".to_string(),
        unit: (source != RateSource::Agreement).then(|| "Units".to_string()),
        source,
    }
}

/// The fixture organization with an ACTIVE agreement for its Sonnet license (private 2.25 and
/// 11.25 per unit), the public offer (3 and 15) when `public_output` (else input only), and
/// the sandbox account exposed: 10 input units for $30, 2 output units for $30.
pub(crate) fn org_with_rates(public_output: bool) -> OrgBuilder {
    priced_org(true, public_output)
}

/// `org_with_rates(true)` whose agreement names no license (only its product id).
fn org_without_agreement_license() -> OrgBuilder {
    priced_org(false, true)
}

fn priced_org(linked: bool, public_output: bool) -> OrgBuilder {
    let (mut b, lic) = org();
    b.agreement(agreement(
        "agmt-1",
        linked.then_some(lic.as_str()),
        AgreementStatus::Active,
    ));
    for (source, agreement_id, dim, price) in [
        (
            RateSource::Agreement,
            Some("agmt-1"),
            "USE1_InputTokenCount",
            "2.25",
        ),
        (
            RateSource::Agreement,
            Some("agmt-1"),
            "USE1_OutputTokenCount",
            "11.25",
        ),
        (
            RateSource::PublicOffer,
            None,
            "USE1_InputTokenCount",
            "3.00",
        ),
        (RateSource::PublicOffer, None, "USE1_OutputTokenCount", "15"),
    ] {
        if public_output || dim != "USE1_OutputTokenCount" || agreement_id.is_some() {
            b.rate(rate(source, agreement_id, dim, price));
        }
    }
    exposed(&mut b, 10.0, 2.0);
    b
}

fn exposed(b: &mut OrgBuilder, input_units: f64, output_units: f64) {
    for (day, usage_type, qty) in [(5, INPUT, input_units), (6, OUTPUT, output_units)] {
        b.push_spend(Spend {
            date: d(9, day),
            account_id: SANDBOX,
            product: SONNET_CE,
            usage_type,
            cost_usd: 30.0,
            usage_quantity: qty,
            public_cost_usd: None,
            team_tag: None,
        });
    }
}

fn analysis(b: &OrgBuilder, cfg: &str) -> Analysis {
    let snap = b.clone().build(d(8, 3), d(10, 31), at(11, 1));
    analyze(&snap, &Config::parse(cfg).unwrap(), d(10, 31)).unwrap()
}

/// The sandbox account's EA001 finding: (basis, overspend).
fn ea001(a: &Analysis) -> (&'static str, Option<f64>) {
    let f: Vec<_> = a.findings.iter().filter(|f| f.rule == "EA001").collect();
    assert_eq!(f.len(), 1, "{:#?}", a.findings);
    assert_eq!(f[0].cost_usd, Some(60.0));
    (f[0].overspend_basis.as_str(), f[0].overspend_usd)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn overspend_is_quantity_times_the_rate_gap_of_each_dimension() {
    // The rates win over a configured discount (which would say 10% of $60 = $6).
    let a = analysis(&org_with_rates(true), DISCOUNT_10);
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "agreement-terms");
    // 10 x (3 - 2.25) + 2 x (15 - 11.25)
    assert!(close(overspend, 15.0), "{overspend:?}");
    let c = a.coverage.iter().find(|c| c.account_id == SANDBOX).unwrap();
    assert_eq!(c.overspend_basis.as_str(), "agreement-terms");
    assert!(close(c.overspend_usd, 15.0));
    assert!((a.totals.overspend_usd - 15.0).abs() < 1e-9);
    assert!((a.totals.overspend_from_rates_usd - 15.0).abs() < 1e-9);
    assert_eq!(a.totals.exposure_without_price_basis_usd, 0.0);
}

#[test]
fn a_dimension_without_both_rates_is_left_to_the_discount_or_unpriced() {
    // No public output rate, no discount: the input row is exact, the output row unknown.
    let a = analysis(&org_with_rates(false), "");
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "agreement-terms-partial");
    assert!(close(overspend, 7.5), "{overspend:?}");
    assert!((a.totals.exposure_without_price_basis_usd - 30.0).abs() < 1e-9);
    let f = a.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert!(
        f.message.contains("agreement-terms-partial"),
        "{}",
        f.message
    );

    // With a discount the output row takes it: 7.5 + 10% of $30.
    let a = analysis(&org_with_rates(false), DISCOUNT_10);
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "agreement-terms+discount");
    assert!(close(overspend, 10.5), "{overspend:?}");
    // Of the 10.5, the 7.5 of the input row is exact; the 3 of the discount is not.
    assert!((a.totals.overspend_from_rates_usd - 7.5).abs() < 1e-9);
    assert_eq!(a.totals.exposure_without_price_basis_usd, 0.0);
}

#[test]
fn a_rate_in_another_unit_is_never_converted() {
    let (mut b, lic) = org();
    b.agreement(agreement("agmt-1", Some(&lic), AgreementStatus::Active))
        .rate(rate(
            RateSource::Agreement,
            Some("agmt-1"),
            "USE1_InputTokenCount",
            "0.00225",
        ))
        .rate(Rate {
            unit: Some("1K tokens".to_string()),
            ..rate(
                RateSource::PublicOffer,
                None,
                "USE1_InputTokenCount",
                "0.003",
            )
        });
    exposed(&mut b, 10.0, 2.0);
    let a = analysis(&b, "");
    assert_eq!(ea001(&a), ("no-price-basis", None));
    assert!((a.totals.exposure_without_price_basis_usd - 60.0).abs() < 1e-9);
}

#[test]
fn configured_rates_win_over_the_agreement_and_the_offer() {
    let cfg = r#"
        [[pricing.rates]]
        product = "Claude 3.7 Sonnet"
        dimension = "USE1_InputTokenCount"
        public_usd = 4.0
    "#;
    let a = analysis(&org_with_rates(true), cfg);
    // 10 x (4 - 2.25) + 2 x (15 - 11.25)
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "agreement-terms");
    assert!(close(overspend, 25.0), "{overspend:?}");

    // Both prices from the config alone: no agreement needed.
    let (mut b, _) = org();
    exposed(&mut b, 10.0, 2.0);
    let cfg = r#"
        [[pricing.rates]]
        product = "Claude 3.7 Sonnet (Amazon Bedrock Edition)"
        dimension = "USE1_InputTokenCount"
        public_usd = 3.0
        private_usd = 2.0
        [[pricing.rates]]
        product = "Claude 3.7 Sonnet"
        dimension = "USE1_OutputTokenCount"
        public_usd = 15.0
        private_usd = 10.0
    "#;
    let (basis, overspend) = ea001(&analysis(&b, cfg));
    assert_eq!(basis, "agreement-terms");
    assert!(close(overspend, 20.0), "{overspend:?}");
}

#[test]
fn bad_configured_rates_are_named() {
    let err = Config::parse(
        r#"
        [[pricing.rates]]
        product = "Claude 3.7 Sonnet"
        dimension = "USE1_InputTokenCount"
        [[pricing.rates]]
        product = ""
        dimension = "x"
        public_usd = -1.0
    "#,
    )
    .unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("`pricing.rates[0]` sets neither"), "{err}");
    assert!(
        err.contains("`pricing.rates[1]` needs a `product`"),
        "{err}"
    );
    assert!(err.contains("`pricing.rates[1]`.public_usd"), "{err}");
}

#[test]
fn an_agreement_naming_no_license_is_linked_by_product_id_only_when_one_license_has_it() {
    let mut b = org_without_agreement_license();
    let (basis, overspend) = ea001(&analysis(&b, ""));
    assert_eq!(basis, "agreement-terms");
    assert!(close(overspend, 15.0));

    // A second organization license with the same SKU: which one the agreement entitles is
    // not known, so no private rate is taken.
    let other = b.license_arn("sonnet-eu");
    b.license(&other, "Claude 3.7 Sonnet EU", "prod-sonnet", MGMT);
    assert_eq!(ea001(&analysis(&b, "")), ("no-price-basis", None));
}

#[test]
fn an_active_agreement_prices_the_license_over_an_ended_later_one() {
    let mut b = org_with_rates(true);
    let lic = b.license_arn("sonnet");
    let mut ended = agreement("agmt-0", Some(&lic), AgreementStatus::Cancelled);
    ended.start_time = Some(at(6, 1));
    b.agreement(ended)
        .rate(rate(
            RateSource::Agreement,
            Some("agmt-0"),
            "USE1_InputTokenCount",
            "1",
        ))
        .rate(rate(
            RateSource::Agreement,
            Some("agmt-0"),
            "USE1_OutputTokenCount",
            "1",
        ));
    assert!(close(ea001(&analysis(&b, "")).1, 15.0));

    // A status this version does not know is kept as text, flagged, and never taken as ACTIVE.
    let mut b = org_with_rates(true);
    let mut odd = agreement("agmt-0", Some(&lic), AgreementStatus::parse("PAUSED"));
    odd.start_time = Some(at(6, 1));
    b.agreement(odd).rate(rate(
        RateSource::Agreement,
        Some("agmt-0"),
        "USE1_InputTokenCount",
        "1",
    ));
    assert!(close(ea001(&analysis(&b, "")).1, 15.0));
    let mut snap = b.build(d(8, 3), d(10, 31), at(11, 1));
    snap.refresh_manifest();
    assert!(snap
        .manifest
        .unknown_values
        .iter()
        .any(|u| u.table == "agreements" && u.column == "status" && u.value == "PAUSED"));
}

/// On the demo, every exposed coverage row priced by `agreement-terms` carries, to the cent,
/// the overspend recomputed here from the usage, agreements and rates tables; the rates of the
/// both dimension-key generations are used; and the organization's overspend is their sum
/// plus the discounts on the products without rates.
#[test]
fn demo_overspend_reconciles_with_the_rate_tables() {
    let snap = demo::builtin();
    let a = analyze(&snap, &demo_config(), d(10, 31)).unwrap();

    // Private: the agreement linked to each license (by ARN, else the one license with its
    // product id); public: the offer's rates by product name.
    let mut private: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for ag in &snap.agreements {
        let license = ag.license_arn.clone().or_else(|| {
            let same: Vec<_> = snap
                .licenses
                .iter()
                .filter(|l| l.product_sku == ag.product_id && l.beneficiary == MGMT)
                .collect();
            (same.len() == 1).then(|| same[0].arn.clone())
        });
        let license = snap
            .licenses
            .iter()
            .find(|l| Some(&l.arn) == license.as_ref())
            .expect("every demo agreement finds its license");
        for r in snap
            .rates
            .iter()
            .filter(|r| r.agreement_id.as_deref() == Some(&ag.id))
        {
            private.insert(
                (license.arn.as_str(), r.dimension_key.as_str()),
                r.price.parse().unwrap(),
            );
        }
    }
    let public: BTreeMap<(&str, &str), f64> = snap
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PublicOffer)
        .map(|r| {
            (
                (r.product.as_str(), r.dimension_key.as_str()),
                r.price.parse().unwrap(),
            )
        })
        .collect();
    let keys: Vec<&str> = public.keys().map(|(_, k)| *k).collect();
    assert!(keys.contains(&"USE1_InputTokenCount") && keys.contains(&"USE1_input_tokens_standard"));

    let rows = usage::rows(&snap.usage).unwrap();
    let mut checked = 0;
    let mut exact_total = 0.0;
    for c in a
        .coverage
        .iter()
        .filter(|c| c.overspend_basis.as_str() == "agreement-terms")
    {
        let want: f64 = rows
            .iter()
            .filter(|r| r.account_id == c.account_id)
            .filter(|r| r.product == format!("{} (Amazon Bedrock Edition)", c.product))
            .filter(|r| (c.from..=c.to).contains(&r.date))
            .map(|r| {
                let dim = r
                    .usage_type
                    .split_once(':')
                    .unwrap()
                    .1
                    .strip_suffix("-Units")
                    .unwrap();
                let p = public[&(c.product.as_str(), dim)];
                let q = private[&(c.license_arn.as_str(), dim)];
                // A row the bill shows at the private rate (within 1%) lost nothing (EA014).
                let billed = r.cost_usd / r.usage_quantity;
                if (billed - q).abs() <= 0.01 * q {
                    0.0
                } else {
                    r.usage_quantity * (p - q)
                }
            })
            .sum();
        let got = c.overspend_usd.unwrap();
        assert!(
            (got - want).abs() < 0.005,
            "{} {} {}..{}: {got} vs {want}",
            c.account_id,
            c.product,
            c.from,
            c.to
        );
        checked += 1;
        exact_total += got;
    }
    assert!(checked > 10, "only {checked} exact rows");
    // Both rate-carded products are priced exactly; the third (public offer unknown) is not.
    let exact_products: std::collections::BTreeSet<&str> = a
        .coverage
        .iter()
        .filter(|c| c.overspend_basis.as_str() == "agreement-terms")
        .map(|c| c.product.as_str())
        .collect();
    assert_eq!(
        exact_products.into_iter().collect::<Vec<_>>(),
        ["Claude 3 Haiku", "Claude 3.7 Sonnet"]
    );
    let other: f64 = a
        .coverage
        .iter()
        .filter(|c| c.overspend_basis.as_str() != "agreement-terms")
        .filter_map(|c| c.overspend_usd)
        .sum();
    assert!(
        (a.totals.overspend_usd - (exact_total + other)).abs() < 0.01,
        "{} vs {exact_total} + {other}",
        a.totals.overspend_usd
    );
    assert!((a.totals.overspend_from_rates_usd - exact_total).abs() < 0.01);
}

/// Agreements that could not be read (a ledger gap on the agreements and rates tables): the
/// overspend falls back to the configured discount, or stays unknown, and the basis says that
/// the exact one was not seen.
#[test]
fn unread_agreements_leave_the_discount_with_the_basis_saying_so() {
    use entitlement_audit::snapshot::{LedgerEntry, Table};
    let analysis_unread = |cfg: &str| {
        let mut snap = org_with_rates(true).build(d(8, 3), d(10, 31), at(11, 1));
        snap.agreements.clear();
        snap.rates.retain(|r| r.source != RateSource::Agreement);
        snap.manifest.completeness.push(LedgerEntry {
            service: "marketplace-agreement".into(),
            operation: "SearchAgreements".into(),
            scope: "organization".into(),
            error_code: "AccessDeniedException".into(),
            message: "not authorized".into(),
            tables: vec![Table::Agreements, Table::Rates],
            account_id: None,
        });
        analyze(&snap, &Config::parse(cfg).unwrap(), d(10, 31)).unwrap()
    };
    let a = analysis_unread(DISCOUNT_10);
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "configured-discount+rates-unread");
    assert!(close(overspend, 6.0), "{overspend:?}");
    let f = a.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert!(f.data_incomplete);
    assert_eq!(a.totals.overspend_from_rates_usd, 0.0);

    let a = analysis_unread("");
    let (basis, overspend) = ea001(&a);
    assert_eq!(basis, "no-price-basis+rates-unread");
    assert_eq!(overspend, None);
    let f = a.findings.iter().find(|f| f.rule == "EA001").unwrap();
    assert!(f.message.contains("could not be read"), "{}", f.message);
    assert!((a.totals.exposure_without_price_basis_usd - 60.0).abs() < 1e-9);
    let c = a.coverage.iter().find(|c| c.account_id == SANDBOX).unwrap();
    assert_eq!(c.overspend_basis.as_str(), "no-price-basis+rates-unread");

    // Read and simply absent, the same discount is the plain basis.
    let mut snap = org_with_rates(true).build(d(8, 3), d(10, 31), at(11, 1));
    snap.agreements.clear();
    snap.rates.retain(|r| r.source != RateSource::Agreement);
    let a = analyze(&snap, &Config::parse(DISCOUNT_10).unwrap(), d(10, 31)).unwrap();
    assert_eq!(ea001(&a).0, "configured-discount");
}

/// A row's billed rate (cost over quantity) is evidence of the price AWS applied: covered
/// usage billed at the public rate (EA013, with what it lost) and exposed usage billed at the
/// private rate (EA014) are findings; a day between the two prices is no evidence.
#[test]
fn billing_that_contradicts_coverage_is_a_finding_both_ways() {
    use entitlement_audit::model::GrantStatus;
    let mut b = org_with_rates(true);
    let lic = b.license_arn("sonnet");
    let grant = b.grant_arn("payments");
    b.grant_account(&grant, &lic, PAYMENTS, GrantStatus::Active);
    let row = |account, day, cost_usd, usage_quantity| Spend {
        date: d(9, day),
        account_id: account,
        product: SONNET_CE,
        usage_type: INPUT,
        cost_usd,
        usage_quantity,
        public_cost_usd: None,
        team_tag: None,
    };
    // Covered by the grant, billed at 3.00 a unit: public.
    b.push_spend(row(PAYMENTS, 10, 30.0, 10.0));
    // Covered, billed at 2.25: as it should be.
    b.push_spend(row(PAYMENTS, 11, 22.5, 10.0));
    // The subscriber itself, billed at 3.00.
    b.push_spend(row(MGMT, 10, 6.0, 2.0));
    // Exposed, billed at 2.25: private; and at 2.60: both prices in one day, no evidence.
    b.push_spend(row(SANDBOX, 12, 22.5, 10.0));
    b.push_spend(row(SANDBOX, 13, 26.0, 10.0));
    let a = analysis(&b, "");
    let of = |rule: &str| -> Vec<(&str, Option<f64>, Option<f64>)> {
        a.findings
            .iter()
            .filter(|f| f.rule == rule)
            .map(|f| (f.account_id.as_str(), f.cost_usd, f.overspend_usd))
            .collect()
    };
    let mut ea013 = of("EA013");
    ea013.sort_by(|x, y| x.0.cmp(y.0));
    assert_eq!(
        ea013,
        [
            (PAYMENTS, Some(30.0), Some(7.5)),
            (MGMT, Some(6.0), Some(1.5))
        ]
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.rule == "EA013" && f.account_id == PAYMENTS)
        .unwrap();
    assert_eq!(f.grant_arn, grant);
    assert_eq!(f.overspend_basis.as_str(), "agreement-terms");
    assert_eq!(of("EA014"), [(SANDBOX, Some(22.5), None)]);
    let f = a.findings.iter().find(|f| f.rule == "EA014").unwrap();
    assert!(f.message.contains("overstated"), "{}", f.message);
    assert_eq!((f.first_day, f.last_day), (Some(d(9, 12)), Some(d(9, 12))));

    // Without the public rate nothing can be judged.
    let mut snap = b.build(d(8, 3), d(10, 31), at(11, 1));
    snap.rates.retain(|r| r.source != RateSource::PublicOffer);
    let a = analyze(&snap, &Config::default(), d(10, 31)).unwrap();
    assert!(a
        .findings
        .iter()
        .all(|f| f.rule != "EA013" && f.rule != "EA014"));
}

/// The demo bills each row at the price its coverage gives, except five days of two planned
/// accounts: EA013 and EA014 fire for those alone. Re-billing one more covered Sonnet row at
/// the public rate, and one more exposed row at the private rate, makes each fire for exactly
/// that account too.
#[test]
fn the_demo_billing_agrees_with_its_coverage_except_where_planned() {
    use polars::prelude::*;
    let snap = demo::builtin();
    let cfg = demo_config();
    let a = analyze(&snap, &cfg, d(10, 31)).unwrap();
    let contrary = |a: &Analysis| -> Vec<(&'static str, String)> {
        let mut v: Vec<_> = a
            .findings
            .iter()
            .filter(|f| f.rule == "EA013" || f.rule == "EA014")
            .map(|f| (f.rule, f.account_id.clone()))
            .collect();
        v.sort();
        v
    };
    let planned = contrary(&a);
    assert_eq!(
        planned,
        [
            ("EA013", "777788889999".to_string()),
            ("EA014", "210987654321".to_string())
        ]
    );

    // The first usage row of a covered and of an exposed Sonnet coverage row of another
    // account, billed at the other price (Sonnet's input: 3.00 public, 2.25 private).
    let rows = usage::rows(&snap.usage).unwrap();
    let first_row = |state: &str| -> (usize, String) {
        a.coverage
            .iter()
            .filter(|c| c.state.as_str() == state && c.product == "Claude 3.7 Sonnet")
            .filter(|c| planned.iter().all(|(_, id)| *id != c.account_id))
            .find_map(|c| {
                rows.iter().position(|r| {
                    r.account_id == c.account_id
                        && r.product == "Claude 3.7 Sonnet (Amazon Bedrock Edition)"
                        && r.usage_type == "USE1-MP:USE1_InputTokenCount-Units"
                        && r.cost_usd > 1.0
                        && (c.from..=c.to).contains(&r.date)
                })
            })
            .map(|i| (i, rows[i].account_id.clone()))
            .unwrap()
    };
    let (covered, covered_account) = first_row("covered");
    let (exposed, exposed_account) = first_row("not-covered");
    let mut quantity: Vec<Option<f64>> = rows.iter().map(|r| Some(r.usage_quantity)).collect();
    quantity[covered] = Some(rows[covered].cost_usd / 3.0);
    quantity[exposed] = Some(rows[exposed].cost_usd / 2.25);
    let mut changed = snap.clone();
    changed
        .usage
        .with_column(Column::new(usage::USAGE_QUANTITY.into(), quantity))
        .unwrap();
    let a = analyze(&changed, &cfg, d(10, 31)).unwrap();
    let mut want = planned.clone();
    want.extend([
        ("EA013", covered_account.clone()),
        ("EA014", exposed_account),
    ]);
    want.sort();
    assert_eq!(contrary(&a), want);
    let f = a
        .findings
        .iter()
        .find(|f| f.rule == "EA013" && f.account_id == covered_account)
        .unwrap();
    let lost = rows[covered].cost_usd / 3.0 * 0.75;
    assert!((f.overspend_usd.unwrap() - lost).abs() < 0.005, "{f:?}");
    assert_eq!(f.first_day, Some(rows[covered].date));
    assert_eq!(f.last_day, Some(rows[covered].date));
}

/// Every allocation row carries its exposed part and overspend with the findings' basis: on
/// the demo, summed per billed account and product they are each EA001 finding's figures to
/// the cent, and over all rows the totals'; summary.json's teams add them up.
#[test]
fn allocation_rows_carry_the_exposure_and_overspend_of_the_findings() {
    let snap = demo::builtin();
    let a = analyze(&snap, &demo_config(), d(10, 31)).unwrap();
    let mut by_pair: BTreeMap<(&str, &str), (f64, f64, std::collections::BTreeSet<&str>)> =
        BTreeMap::new();
    for r in &a.allocation {
        let e = by_pair
            .entry((r.account_id.as_str(), r.product.as_str()))
            .or_default();
        e.0 += r.exposed_usd;
        e.1 += r.overspend_usd.unwrap_or(0.0);
        if r.exposed_usd != 0.0 {
            e.2.insert(r.overspend_basis.as_str());
        } else {
            assert_eq!(r.overspend_basis.as_str(), "", "{r:?}");
        }
    }
    let mut checked = 0;
    for f in a.findings.iter().filter(|f| f.rule == "EA001") {
        let (exposed, overspend, bases) = &by_pair[&(f.account_id.as_str(), f.product.as_str())];
        assert!((exposed - f.cost_usd.unwrap()).abs() < 0.01, "{f:?}");
        assert!(
            (overspend - f.overspend_usd.unwrap_or(0.0)).abs() < 0.01,
            "{f:?}: {overspend}"
        );
        assert!(
            bases.contains(f.overspend_basis.as_str()),
            "{f:?} {bases:?}"
        );
        checked += 1;
    }
    assert!(checked > 10);
    let exposed: f64 = a.allocation.iter().map(|r| r.exposed_usd).sum();
    let overspend: f64 = a.allocation.iter().filter_map(|r| r.overspend_usd).sum();
    assert!((exposed - a.totals.exposure_usd).abs() < 0.01);
    assert!((overspend - a.totals.overspend_usd).abs() < 0.01);
    assert!(a.totals.overspend_usd > 1000.0);

    let teams = entitlement_audit::report::json::cost_by_team(&a);
    let team_overspend: f64 = teams.iter().map(|t| t.overspend_usd).sum();
    assert!((team_overspend - a.totals.overspend_usd).abs() < 0.01);
    // Command R+'s exposure has no price basis: its teams' figures are lower bounds.
    assert!(teams.iter().any(|t| !t.overspend_complete));
    assert!(teams
        .iter()
        .any(|t| t.overspend_complete && t.overspend_usd > 0.0));
}

/// A rate card may key a dimension with or without the usage type's region code (both forms
/// are seen on public offers): either prices the row; another region's code does not.
#[test]
fn a_card_keyed_without_the_region_code_prices_the_row_too() {
    let keyed = |rename: &dyn Fn(&str) -> String| {
        let mut snap = org_with_rates(true).build(d(8, 3), d(10, 31), at(11, 1));
        for r in snap
            .rates
            .iter_mut()
            .filter(|r| r.source == RateSource::PublicOffer)
        {
            r.dimension_key = rename(&r.dimension_key);
        }
        let a = analyze(&snap, &Config::default(), d(10, 31)).unwrap();
        let (basis, overspend) = ea001(&a);
        (basis, overspend)
    };
    let (basis, overspend) = keyed(&|k| k.trim_start_matches("USE1_").to_string());
    assert_eq!(basis, "agreement-terms");
    assert!(close(overspend, 15.0), "{overspend:?}");
    let (basis, _) = keyed(&|k| k.replace("USE1_", "USW2_"));
    assert_eq!(basis, "no-price-basis");
}

/// The Price List's unit is unsettled (`Units` or `1M tokens`, aws-apis.md): a Price List rate
/// in `Units` prices a `-Units` row exactly, one in `1M tokens` is never taken for it.
#[test]
fn a_price_list_rate_prices_a_row_only_in_the_rows_own_unit() {
    let listed = |unit: &str| {
        let mut snap = org_with_rates(true).build(d(8, 3), d(10, 31), at(11, 1));
        for r in snap
            .rates
            .iter_mut()
            .filter(|r| r.source == RateSource::PublicOffer)
        {
            r.source = RateSource::PriceList;
            r.unit = Some(unit.to_string());
        }
        let a = analyze(&snap, &Config::default(), d(10, 31)).unwrap();
        ea001(&a)
    };
    let (basis, overspend) = listed("Units");
    assert_eq!(basis, "agreement-terms");
    assert!(close(overspend, 15.0), "{overspend:?}");
    assert_eq!(listed("1M tokens"), ("no-price-basis", None));
}
