//! Each rule fires on a small positive fixture and stays quiet on the matching negative one.
//!
//! Naming: every rule `EANNN` of `RULES` has at least one test `eaNNN_fires_...` (it fires,
//! with what it reports) and one `eaNNN_quiet_...` (a fixture next to a firing one on which it
//! must not); `every_rule_has_a_firing_and_a_quiet_test` holds this file to it.

use crate::support::fixtures::*;

use chrono::NaiveDate;

use entitlement_audit::analyze::rules::RULES;
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
fn ea001_fires_on_uncovered_spend() {
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
}

#[test]
fn ea001_quiet_when_an_active_grant_covers() {
    let (mut b, lic) = org();
    b.spend(d(10, 1), PAYMENTS, SONNET_CE, 100.0, None, None);
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA001").is_empty());
}

#[test]
fn ea001_fires_on_days_before_activation_with_the_configured_discount() {
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
fn ea001_quiet_for_the_subscriber() {
    let (mut b, _) = org();
    b.spend(d(10, 1), MGMT, SONNET_CE, 100.0, None, None);
    assert!(fired(&b, "EA001").is_empty());
}

#[test]
fn ea002_fires_on_an_old_disabled_grant() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Disabled)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(10, 1))
        .event(&g, Some(PAYMENTS), EventKind::Accepted, at(10, 1));
    let f = fired(&b, "EA002");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g);
    assert_eq!(f[0].severity.as_str(), "medium");
}

#[test]
fn ea002_quiet_on_a_new_disabled_grant() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Disabled)
        .event(&g, Some(PAYMENTS), EventKind::Created, at(10, 28))
        .event(&g, Some(PAYMENTS), EventKind::Accepted, at(10, 28));
    assert!(fired(&b, "EA002").is_empty());
}

#[test]
fn ea002_fires_high_when_the_account_spends_meanwhile() {
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
fn ea003_fires_on_a_rejected_grant() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Rejected);
    assert_eq!(fired(&b, "EA003").len(), 1);
}

#[test]
fn ea003_quiet_on_an_active_grant() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA003").is_empty());
}

#[test]
fn ea004_fires_on_a_live_grant_of_a_cancelled_license() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    let f = fired(&b, "EA004");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g);
}

#[test]
fn ea004_quiet_before_the_cancellation() {
    // The grant of the firing fixture, seen as of a day before the license ended.
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active)
        .license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    let snap = b.clone().build(d(8, 3), as_of(), at(11, 1));
    let earlier = analyze(&snap, &Config::default(), d(9, 15)).unwrap();
    assert!(earlier.findings.iter().all(|f| f.rule != "EA004"));
}

#[test]
fn ea004_quiet_on_a_deleted_grant() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Deleted)
        .license_ended(&lic, LicenseStatus::Deleted, d(10, 1));
    assert!(fired(&b, "EA004").is_empty());
}

#[test]
fn ea005_fires_after_the_grace_only() {
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
fn ea005_quiet_on_spend_inside_the_grace() {
    let (mut b, lic) = org();
    b.license_ended(&lic, LicenseStatus::Deleted, d(10, 1))
        .spend(d(10, 2), PAYMENTS, SONNET_CE, 7.0, None, None)
        .spend(d(10, 4), PAYMENTS, SONNET_CE, 9.0, None, None);
    assert!(fired(&b, "EA005").is_empty());
    // One day later is after the grace.
    b.spend(d(10, 5), PAYMENTS, SONNET_CE, 1.0, None, None);
    let f = fired(&b, "EA005");
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].cost_usd, f[0].first_day), (Some(1.0), Some(d(10, 5))));
}

/// EA005.md: a license whose status says ended but whose end date is unknown does not fire
/// it (the day it ended cannot be proven).
#[test]
fn ea005_quiet_when_the_license_end_date_is_unknown() {
    let (mut b, lic) = org();
    b.license_ended(&lic, LicenseStatus::Deleted, d(10, 1))
        .spend(d(10, 10), PAYMENTS, SONNET_CE, 9.0, None, None);
    let mut snap = b.build(d(8, 3), as_of(), collected());
    let ea005 = |snap: &entitlement_audit::snapshot::Snapshot| {
        analyze(snap, &Config::default(), as_of())
            .unwrap()
            .findings
            .into_iter()
            .filter(|f| f.rule == "EA005")
            .count()
    };
    assert_eq!(ea005(&snap), 1, "with its end date the license fires EA005");
    let l = snap.licenses.iter_mut().find(|l| l.arn == lic).unwrap();
    l.validity_end = None;
    assert_eq!(l.status, LicenseStatus::Deleted);
    assert_eq!(ea005(&snap), 0);
}

#[test]
fn ea006_quiet_on_a_member_license_without_a_grant() {
    let (mut b, _) = org();
    let own = b.license_arn("payments-own");
    b.license(&own, SONNET, "prod-sonnet", PAYMENTS);
    assert!(fired(&b, "EA006").is_empty());
}

#[test]
fn ea006_fires_when_a_member_license_meets_a_grant() {
    let (mut b, lic) = org();
    let own = b.license_arn("payments-own");
    b.license(&own, SONNET, "prod-sonnet", PAYMENTS);
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
fn ea007_quiet_on_a_grant_to_an_active_account() {
    let (mut b, lic) = org();
    let g = b.grant_arn("sandbox");
    b.grant_account(&g, &lic, SANDBOX, GrantStatus::Active);
    assert!(fired(&b, "EA007").is_empty());
}

#[test]
fn ea007_fires_on_a_grant_to_a_suspended_account() {
    let (mut b, lic) = org();
    let g = b.grant_arn("sandbox");
    b.grant_account(&g, &lic, SANDBOX, GrantStatus::Active)
        .account_state(SANDBOX, AccountState::Suspended);
    assert_eq!(fired(&b, "EA007").len(), 1);
}

#[test]
fn ea007_fires_on_a_grant_to_a_missing_ou() {
    let (mut b, lic) = org();
    let g = b.grant_arn("sandbox");
    b.grant_ou(&g, &lic, "ou-ex01-gone0001", GrantStatus::Active);
    assert_eq!(fired(&b, "EA007").len(), 1);
}

#[test]
fn ea008_quiet_on_one_live_grant() {
    let (mut b, lic) = org();
    let g1 = b.grant_arn("a");
    b.grant_account(&g1, &lic, PAYMENTS, GrantStatus::Active);
    assert!(fired(&b, "EA008").is_empty());
}

#[test]
fn ea008_fires_on_a_second_live_grant_to_the_same_principal() {
    let (mut b, lic) = org();
    let g1 = b.grant_arn("a");
    let g2 = b.grant_arn("b");
    b.grant_account(&g1, &lic, PAYMENTS, GrantStatus::Active)
        .grant_account(&g2, &lic, PAYMENTS, GrantStatus::Disabled);
    let f = fired(&b, "EA008");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].grant_arn, g2, "the ACTIVE grant is kept");
}

/// Spend on a Bedrock service name no license or mapping names.
fn unknown_product() -> OrgBuilder {
    let (mut b, _) = org();
    b.spend(
        d(10, 1),
        MGMT,
        "Sonnet Special (Amazon Bedrock Edition)",
        3.0,
        None,
        None,
    );
    b
}

#[test]
fn ea009_fires_on_an_unknown_product() {
    assert_eq!(fired(&unknown_product(), "EA009").len(), 1);
}

#[test]
fn ea009_quiet_when_an_explicit_mapping_names_the_product() {
    let cfg = Config::parse(
        "[[product_mappings]]\nservice = \"Sonnet Special (Amazon Bedrock Edition)\"\nproduct = \"Claude 3.7 Sonnet\"",
    )
    .unwrap();
    assert!(run(&unknown_product(), &cfg)
        .iter()
        .all(|f| f.rule != "EA009"));
}

#[test]
fn ea010_fires_on_an_untagged_account() {
    let (mut b, _) = org();
    b.spend(d(10, 1), SANDBOX, SONNET_CE, 4.0, None, None);
    let f = fired(&b, "EA010");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].account_id, SANDBOX);
}

#[test]
fn ea010_fires_incomplete_when_the_account_tags_were_not_read() {
    let (mut b, _) = org();
    b.spend(d(10, 1), SANDBOX, SONNET_CE, 4.0, None, None);
    let mut snap = b.clone().build(d(8, 3), as_of(), collected());
    // Collected when the sandbox had no spend (the usage came later, from a cost export).
    let sandbox = snap.accounts.iter_mut().find(|a| a.id == SANDBOX).unwrap();
    sandbox.tags_read = false;
    let f: Vec<Finding> = analyze(&snap, &Config::default(), as_of())
        .unwrap()
        .findings
        .into_iter()
        .filter(|f| f.rule == "EA010")
        .collect();
    assert_eq!(f.len(), 1);
    assert!(f[0].data_incomplete, "its team is not known, not absent");
    assert!(f[0].message.contains("were not read"), "{}", f[0].message);
    // Read (and untagged): a plain finding.
    assert!(!fired(&b, "EA010")[0].data_incomplete);
}

#[test]
fn ea010_quiet_on_tagged_usage() {
    let (mut b, _) = org();
    b.spend(d(10, 1), SANDBOX, SONNET_CE, 4.0, None, Some("research"));
    assert!(fired(&b, "EA010").is_empty());
}

/// The naming convention above, checked on this file: every rule of `RULES` has a test
/// `eaNNN_fires_...` and a test `eaNNN_quiet_...`, and every `eaNNN_` test names a rule there.
/// One day of `model_id` invoked by `account` in us-east-1 (the collector's resolution done:
/// Bedrock names the base model `model_name`).
fn invoke(b: &mut OrgBuilder, day: NaiveDate, account: &str, model_id: &str, model_name: &str) {
    use entitlement_audit::model::invocations::{normalize, Normalized};
    let (base, how) = match normalize(model_id) {
        Normalized::Model(base, how) => (base, how.as_str()),
        _ => (String::new(), "unresolved"),
    };
    b.invocation(entitlement_audit::model::Invocation {
        day,
        account_id: account.into(),
        region: "us-east-1".into(),
        model_id: model_id.into(),
        base_model_id: base,
        model_name: model_name.into(),
        resolution: how.into(),
        invocations: 10,
        input_tokens: 1_000,
        output_tokens: 100,
    });
}

fn public_rate(b: &mut OrgBuilder, dimension: &str, price: &str) {
    b.rate(entitlement_audit::model::Rate {
        source: entitlement_audit::model::RateSource::PublicOffer,
        agreement_id: None,
        product: SONNET.into(),
        dimension_key: dimension.into(),
        price: price.into(),
        currency: "USD".into(),
        unit: Some("Units".into()),
    });
}

const SONNET_ID: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

#[test]
fn ea015_fires_on_the_day_of_the_invocation_with_tokens_and_public_cost() {
    let (mut b, _) = org();
    public_rate(&mut b, "USE1_InputTokenCount", "3");
    public_rate(&mut b, "USE1_OutputTokenCount", "15");
    invoke(
        &mut b,
        d(10, 30),
        PAYMENTS,
        &format!("us.{SONNET_ID}"),
        SONNET,
    );
    let f = fired(&b, "EA015");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].account_id.as_str(), f[0].product.as_str()),
        (PAYMENTS, SONNET)
    );
    assert_eq!(
        (f[0].first_day, f[0].last_day),
        (Some(d(10, 30)), Some(d(10, 30)))
    );
    assert_eq!(f[0].severity, entitlement_audit::model::Severity::High);
    // A Unit is a million tokens: (1,000 x 3 + 100 x 15) / 1e6, before any bill.
    assert!(
        (f[0].cost_usd.unwrap() - 0.0045).abs() < 1e-12,
        "{:?}",
        f[0].cost_usd
    );
    assert!(f[0].message.contains("10 invocations") && f[0].message.contains("1000 input"));
    assert!(f[0].related_finding_id.is_empty(), "no bill yet");
}

/// A card in the newer dimension names (`USE1_input_tokens_standard`) prices the tokens too.
#[test]
fn ea015_fires_priced_by_the_newer_token_dimension_names() {
    let (mut b, _) = org();
    public_rate(&mut b, "USE1_input_tokens_standard", "3");
    public_rate(&mut b, "USE1_output_tokens_standard", "15");
    invoke(&mut b, d(10, 30), PAYMENTS, SONNET_ID, SONNET);
    let f = fired(&b, "EA015");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        (f[0].cost_usd.unwrap() - 0.0045).abs() < 1e-12,
        "{:?}",
        f[0].cost_usd
    );
    assert!(f[0].message.contains("no grant of its license covered"));
}

#[test]
fn ea015_fires_beside_ea001_and_the_two_name_each_other() {
    let (mut b, _) = org();
    invoke(&mut b, d(10, 1), PAYMENTS, SONNET_ID, SONNET);
    b.spend(d(10, 1), PAYMENTS, SONNET_CE, 100.0, None, None);
    let all = run(&b, &Config::default());
    let early = all.iter().find(|f| f.rule == "EA015").unwrap();
    let billed = all.iter().find(|f| f.rule == "EA001").unwrap();
    assert_eq!(early.related_finding_id, billed.id);
    assert_eq!(billed.related_finding_id, early.id);
    assert_eq!(early.cost_usd, None, "no rate: no estimate");
    assert!(early.message.contains("no public rate"));
}

#[test]
fn ea015_quiet_when_an_active_grant_covers_or_for_the_subscriber_or_amazon_models() {
    let (mut b, lic) = org();
    let g = b.grant_arn("payments");
    b.grant_account(&g, &lic, PAYMENTS, GrantStatus::Active);
    invoke(&mut b, d(10, 2), PAYMENTS, SONNET_ID, SONNET);
    invoke(&mut b, d(10, 2), MGMT, SONNET_ID, SONNET);
    invoke(
        &mut b,
        d(10, 2),
        SANDBOX,
        "amazon.nova-pro-v1:0",
        "Nova Pro",
    );
    let all = run(&b, &Config::default());
    assert!(
        all.iter().all(|f| f.rule != "EA015" && f.rule != "EA017"),
        "{all:?}"
    );
}

#[test]
fn ea017_fires_on_an_id_that_maps_to_nothing_and_a_mapping_moves_it_to_ea015() {
    let (mut b, _) = org();
    invoke(&mut b, d(10, 2), SANDBOX, "p24qm5pye2qr", "");
    invoke(&mut b, d(10, 3), SANDBOX, "anthropic.claude-next-v1:0", "");
    let f = fired(&b, "EA017");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().any(|f| f.product == "p24qm5pye2qr"));
    let cfg = Config::parse(
        "[[model_mappings]]\nmodel_id = \"us.anthropic.claude-next-v1:0\"\nproduct = \"Claude 3.7 Sonnet\"",
    )
    .unwrap();
    let all = run(&b, &cfg);
    assert_eq!(all.iter().filter(|f| f.rule == "EA017").count(), 1);
    assert!(all
        .iter()
        .any(|f| f.rule == "EA015" && f.account_id == SANDBOX));
}

#[test]
fn ea017_quiet_without_member_data() {
    let (mut b, _) = org();
    b.spend(d(10, 1), PAYMENTS, SONNET_CE, 100.0, None, None);
    assert!(fired(&b, "EA017").is_empty() && fired(&b, "EA015").is_empty());
}

fn own_agreement(status: &str) -> entitlement_audit::model::Agreement {
    entitlement_audit::model::Agreement {
        id: "agmt-own-0001".into(),
        status: entitlement_audit::model::AgreementStatus::parse(status),
        acceptor_account_id: SANDBOX.into(),
        product_id: "prod-sonnet".into(),
        offer_id: "offer-public01".into(),
        license_arn: None,
        license_link: String::new(),
        acceptance_time: Some(at(10, 2)),
        start_time: Some(at(10, 2)),
        end_time: None,
        last_update_time: None,
        end_time_behavior: None,
        auto_renew: None,
    }
}

#[test]
fn ea016_fires_on_a_members_own_active_agreement_with_its_acceptance_time() {
    let (mut b, lic) = org();
    b.member_agreement(own_agreement("ACTIVE"));
    let f = fired(&b, "EA016");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].account_id.as_str(), f[0].license_arn.as_str()),
        (SANDBOX, lic.as_str())
    );
    assert_eq!(f[0].first_day, Some(d(10, 2)));
    assert!(f[0].message.contains("agmt-own-0001"));
}

#[test]
fn ea016_quiet_on_an_ended_agreement_or_another_product() {
    let (mut b, _) = org();
    b.member_agreement(own_agreement("CANCELLED"));
    let mut other = own_agreement("ACTIVE");
    other.product_id = "prod-other".into();
    b.member_agreement(other);
    assert!(fired(&b, "EA016").is_empty());
}

#[test]
fn every_rule_has_a_firing_and_a_quiet_test() {
    let tests = test_names(include_str!("rules.rs"));
    let codes: Vec<String> = RULES.iter().map(|r| r.code().to_lowercase()).collect();
    let mut missing = Vec::new();
    for code in &codes {
        for kind in ["fires", "quiet"] {
            let prefix = format!("{code}_{kind}_");
            if !tests.iter().any(|t| t.starts_with(&prefix)) {
                missing.push(format!("{}: no `{prefix}...` test", code.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "tests/it/rules.rs: {missing:?}");
    let is_rule_test = |t: &&String| {
        t.len() > 5 && t.starts_with("ea") && t[2..5].bytes().all(|b| b.is_ascii_digit())
    };
    for t in tests.iter().filter(is_rule_test) {
        let code = t.split('_').next().unwrap();
        assert!(
            codes.iter().any(|c| c == code),
            "`{t}` names no rule of RULES"
        );
        let kind = t.split('_').nth(1).unwrap_or_default();
        assert!(
            kind == "fires" || kind == "quiet",
            "`{t}` is neither `{code}_fires_...` nor `{code}_quiet_...`"
        );
    }
}

/// The names of the `#[test]` functions in `source`.
fn test_names(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let mut names = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("fn ") else {
            continue;
        };
        let attrs = lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with("#[") || l.starts_with("///"));
        if attrs.into_iter().any(|l| *l == "#[test]") {
            names.push(rest.split('(').next().unwrap().to_string());
        }
    }
    names
}

#[test]
fn test_names_finds_only_tests() {
    let source = "#[test]\nfn a_fires_x() {}\n\nfn helper() {}\n/// doc\n#[test]\n/// more\nfn b_quiet_y() {}\n";
    assert_eq!(test_names(source), ["a_fires_x", "b_quiet_y"]);
}

mod agreements {
    use crate::lifecycle::{agreement, org_with, rules, run};
    use crate::support::fixtures::{at, d};
    use entitlement_audit::model::AgreementStatus;

    fn ending(behavior: &str) -> Vec<&'static str> {
        let mut a = agreement(AgreementStatus::Active, Some(at(11, 20)));
        a.end_time_behavior = Some(behavior.into());
        rules(&run(&org_with(a), d(10, 31)))
    }

    #[test]
    fn ea011_fires_on_a_private_offer_ending_back_to_the_public_offer() {
        assert_eq!(ending("REPLACE"), ["EA011"]);
    }

    #[test]
    fn ea011_quiet_when_the_agreement_renews() {
        assert!(ending("RENEW").is_empty());
    }

    #[test]
    fn ea012_fires_when_the_license_outlives_its_agreement() {
        let b = org_with(agreement(AgreementStatus::Terminated, Some(at(10, 1))));
        assert!(rules(&run(&b, d(10, 31))).contains(&"EA012"));
    }

    #[test]
    fn ea012_quiet_while_the_agreement_is_active() {
        let b = org_with(agreement(AgreementStatus::Active, None));
        assert!(!rules(&run(&b, d(10, 31))).contains(&"EA012"));
    }
}

/// EA013 and EA014: the billed rate (cost over quantity) against the coverage, on the rates
/// fixture (Sonnet input: 3.00 public, 2.25 private; the sandbox exposed at public price).
mod billing {
    use crate::rates::{org_with_rates, INPUT};
    use crate::support::fixtures::*;
    use entitlement_audit::inputs::demo::{OrgBuilder, Spend};
    use entitlement_audit::model::GrantStatus;

    fn billed(b: &mut OrgBuilder, account: &'static str, cost_usd: f64) {
        b.push_spend(Spend {
            date: d(9, 20),
            account_id: account,
            product: SONNET_CE,
            usage_type: INPUT,
            cost_usd,
            usage_quantity: 10.0,
            public_cost_usd: None,
            team_tag: None,
        });
    }

    fn covered_payments() -> OrgBuilder {
        let mut b = org_with_rates(true);
        let lic = b.license_arn("sonnet");
        let grant = b.grant_arn("payments");
        b.grant_account(&grant, &lic, PAYMENTS, GrantStatus::Active);
        b
    }

    #[test]
    fn ea013_fires_on_covered_usage_billed_at_the_public_rate() {
        let mut b = covered_payments();
        billed(&mut b, PAYMENTS, 30.0);
        let f = super::fired(&b, "EA013");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].account_id, PAYMENTS);
    }

    #[test]
    fn ea013_quiet_when_covered_usage_is_billed_at_the_private_rate() {
        let mut b = covered_payments();
        billed(&mut b, PAYMENTS, 22.5);
        assert!(super::fired(&b, "EA013").is_empty());
    }

    #[test]
    fn ea014_fires_on_exposed_usage_billed_at_the_private_rate() {
        let mut b = org_with_rates(true);
        billed(&mut b, SANDBOX, 22.5);
        let f = super::fired(&b, "EA014");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].cost_usd, Some(22.5));
    }

    #[test]
    fn ea014_quiet_when_exposed_usage_is_billed_at_the_public_rate() {
        let mut b = org_with_rates(true);
        billed(&mut b, SANDBOX, 30.0);
        assert!(super::fired(&b, "EA014").is_empty());
        assert!(!super::fired(&b, "EA001").is_empty());
    }
}
