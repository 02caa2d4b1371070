//! EA013 covered-usage-billed-at-public-price: usage the coverage model says a grant (or the
//! subscription) covered, billed at the public rate.

use super::{days_between, finding, meta, Facts, Rule, BILLED_RATE_TABLES};
use crate::analyze::context::Context;
use crate::analyze::coverage::State;
use crate::analyze::finding::{Finding, OverspendBasis};
use crate::model::Severity;
use crate::money::usd;

pub struct CoveredUsageBilledAtPublicPrice;

impl Rule for CoveredUsageBilledAtPublicPrice {
    meta!(
        "EA013",
        "covered-usage-billed-at-public-price",
        Severity::High,
        "usage an ACTIVE grant or the subscription covered was billed at the public rate",
        BILLED_RATE_TABLES
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        let covered = |s: State| matches!(s, State::Covered | State::Subscriber);
        for ((account, key), (spend, first)) in
            facts.billed_against(covered, |s| s.billed_public.rows)
        {
            let mut f = finding(cx, self, account);
            f.product = cx.products.name(key).to_string();
            f.license_arn = first.license_arn.clone();
            f.grant_arn = first
                .effective_grant
                .map(|i| cx.grants[i].grant.arn.clone())
                .unwrap_or_default();
            let billed = &spend.billed_public;
            f.first_day = billed.first_day;
            f.last_day = billed.last_day;
            f.cost_usd = Some(billed.cost_usd);
            f.overspend_usd = Some(billed.gap_usd);
            f.overspend_basis = OverspendBasis::AgreementTerms;
            let by = match first.state {
                State::Subscriber => "the account holds the subscription".to_string(),
                _ => format!("grant `{}` was ACTIVE", f.grant_arn),
            };
            f.message = format!(
                "{} rows ({}) of {} usage between {} were billed at the public rate although {by}: AWS's billing did not apply the private offer; lost {} (agreement-terms)",
                billed.rows,
                usd(billed.cost_usd),
                f.product,
                days_between(billed.first_day, billed.last_day),
                usd(billed.gap_usd),
            );
            f.remediation = "open a case with AWS Marketplace billing with the account, the days and the agreement; check that the grant is ACTIVE in the member account itself and covers the region and operations used".into();
            out.push(f);
        }
    }
}
