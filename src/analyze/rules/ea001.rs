//! EA001 public-price-exposure: spend by an account no ACTIVE grant covered.

use super::{finding, meta, with_spend, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::State;
use crate::analyze::finding::{usd, Finding};
use crate::model::Severity;

pub struct PublicPriceExposure;

impl Rule for PublicPriceExposure {
    meta!(
        "EA001",
        "public-price-exposure",
        Severity::High,
        "an account has Marketplace model spend on days no ACTIVE grant of the product's license covered it",
        &["accounts", "licenses", "grants", "grant_events", "usage"]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        let awaiting = facts.spend_by_state(|s| s == State::AwaitingActivation);
        for ((account, key), (spend, license)) in facts.spend_by_state(State::is_exposed) {
            if spend.cost_usd <= 0.0 {
                continue;
            }
            let mut f = with_spend(finding(cx, self, account), &spend);
            f.product = cx.products.name(key).to_string();
            f.license_arn = license.to_string();
            let (overspend, basis) = facts.overspend(key, spend.cost_usd);
            f.overspend_usd = overspend;
            f.overspend_basis = basis;
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
                None => "overspend unknown: no price basis (set pricing.private_discount_pct)"
                    .to_string(),
            };
            f.message = format!(
                "{} of {} spend at public price between {} and {}; {why}; {estimate}",
                usd(spend.cost_usd),
                f.product,
                spend.first_day.map(|d| d.to_string()).unwrap_or_default(),
                spend.last_day.map(|d| d.to_string()).unwrap_or_default(),
            );
            f.remediation = "activate the account's grant (or create one for its OU) so its usage is billed at the private price".into();
            out.push(f);
        }
    }
}
