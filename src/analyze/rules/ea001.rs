//! EA001 public-price-exposure: spend by an account no ACTIVE grant covered.

use std::collections::BTreeSet;

use super::{meta, product_spend, spend_days, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::{Spend, State};
use crate::analyze::finding::{Finding, OverspendBasis};
use crate::model::Severity;
use crate::money::usd;
use crate::snapshot::Table;

pub struct PublicPriceExposure;

impl Rule for PublicPriceExposure {
    meta!(
        "EA001",
        "public-price-exposure",
        Severity::High,
        "an account has Marketplace model spend on days no ACTIVE grant of the product's license covered it",
        &[
            Table::Accounts,
            Table::Licenses,
            Table::Grants,
            Table::GrantEvents,
            Table::Usage,
            // The overspend's rates: a gap leaves it to the discount, and says so.
            Table::Agreements,
            Table::Rates,
        ]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        let awaiting = facts.spend_by_state(|s| s == State::AwaitingActivation);
        let exposed = facts.spend_by_state(State::is_exposed);
        let unknown = facts.spend_by_state(|s| s == State::ActivationUnknown);
        let pairs: BTreeSet<(&str, &str)> = exposed
            .iter()
            .chain(&unknown)
            .filter(|(_, (s, _))| s.cost_usd > 0.0)
            .map(|(k, _)| *k)
            .collect();
        for (account, key) in pairs {
            let confirmed = exposed.get(&(account, key));
            let unsure = unknown
                .get(&(account, key))
                .filter(|(s, _)| s.cost_usd > 0.0);
            let Some((spend, license)) = confirmed.filter(|(s, _)| s.cost_usd > 0.0) else {
                // Only days whose coverage is unknown: the account may have paid the public
                // price; nothing is confirmed, so the finding says so at a lower severity.
                let (spend, license) = unsure.expect("the pair has spend");
                out.push(unconfirmed(cx, self, account, key, spend, license));
                continue;
            };
            let mut f = product_spend(cx, self, account, key, spend, license);
            let (overspend, basis) = facts.overspend(key, spend);
            f.overspend_usd = overspend;
            f.overspend_basis = basis;
            f.activation_unknown_usd = unsure.map(|(s, _)| s.cost_usd);
            let waiting = awaiting
                .get(&(account, key))
                .map(|(s, _)| s.cost_usd)
                .unwrap_or(0.0);
            let why = if waiting > 0.0 {
                format!(
                    "{} of it while a grant was waiting for activation",
                    usd(waiting)
                )
            } else {
                "no grant covered the account".to_string()
            };
            let estimate = match overspend {
                Some(o) => format!("estimated overspend {} ({})", usd(o), basis.as_str()),
                None if basis == OverspendBasis::NoneRatesUnread => "overspend unknown: the agreements or rates could not be read (see the ledger) and no discount is configured"
                    .to_string(),
                None => "overspend unknown: no price basis (no agreement and public rates; set pricing.rates or pricing.private_discount_pct)"
                    .to_string(),
            };
            let apart = match unsure {
                Some((s, _)) => format!(
                    "; not counted: {} on days a grant was activated at a time no event dates",
                    usd(s.cost_usd)
                ),
                None => String::new(),
            };
            f.message = format!(
                "{} of {} spend at public price between {}; {why}; {estimate}{apart}",
                usd(spend.cost_usd),
                f.product,
                spend_days(spend),
            );
            f.remediation = REMEDIATION.into();
            out.push(f);
        }
    }
}

const REMEDIATION: &str = "activate the account's grant (or create one for its OU) so its usage is billed at the private price";

/// The finding of an account whose only possibly-public spend lies on days of unknown
/// coverage: no confirmed exposure (`cost_usd` 0), the spend in `activation_unknown_usd`.
fn unconfirmed(
    cx: &Context,
    rule: &PublicPriceExposure,
    account: &str,
    key: &str,
    spend: &Spend,
    license: &str,
) -> Finding {
    let mut f = product_spend(cx, rule, account, key, spend, license);
    f.severity = Severity::Low;
    f.cost_usd = Some(0.0);
    f.activation_unknown_usd = Some(spend.cost_usd);
    f.message = format!(
        "{} of {} spend between {} on days a grant was activated at a time no event dates: public or private price unknown, no exposure confirmed; the member account's CloudTrail, or the next run, dates it",
        usd(spend.cost_usd),
        f.product,
        spend_days(spend),
    );
    f.remediation = "confirm when the grant was activated (the member's CloudTrail `CreateGrantVersion`); nothing to fix if it was before the spend".into();
    f
}
