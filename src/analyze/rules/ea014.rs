//! EA014 uncovered-usage-billed-at-private-price: usage the coverage model counts as exposed,
//! billed at the private rate.

use super::{days_between, finding, meta, Facts, Rule, BILLED_RATE_TABLES};
use crate::analyze::context::Context;
use crate::analyze::coverage::State;
use crate::analyze::finding::Finding;
use crate::model::Severity;
use crate::money::usd;

pub struct UncoveredUsageBilledAtPrivatePrice;

impl Rule for UncoveredUsageBilledAtPrivatePrice {
    meta!(
        "EA014",
        "uncovered-usage-billed-at-private-price",
        Severity::Medium,
        "usage with no ACTIVE grant in the data was billed at the private rate: the data misses a grant",
        BILLED_RATE_TABLES
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        for ((account, key), (spend, first)) in
            facts.billed_against(State::is_exposed, |s| s.billed_private.rows)
        {
            let mut f = finding(cx, self, account);
            f.product = cx.products.name(key).to_string();
            f.license_arn = first.license_arn.clone();
            let billed = &spend.billed_private;
            f.first_day = billed.first_day;
            f.last_day = billed.last_day;
            f.cost_usd = Some(billed.cost_usd);
            f.message = format!(
                "{} rows ({}) of {} usage between {} were billed at the private rate although no ACTIVE grant covered the account in the data ({}): the public-price exposure reported for it is overstated by {}; its overspend counts nothing for these rows (at public price they would have lost {})",
                billed.rows,
                usd(billed.cost_usd),
                f.product,
                days_between(billed.first_day, billed.last_day),
                first.state.as_str(),
                usd(billed.cost_usd),
                usd(billed.gap_usd),
            );
            f.remediation = "find the grant that covers the account (a license or grant the run could not read, a member's own subscription, or a grant activated at a time no event dates) and check the collection's permissions and `doctor`".into();
            out.push(f);
        }
    }
}
