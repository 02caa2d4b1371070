//! EA005 usage-after-cancellation: spend on a product after its license ended plus the grace.

use super::{meta, product_spend, spend_days, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::State;
use crate::analyze::finding::Finding;
use crate::model::Severity;
use crate::money::usd;
use crate::snapshot::Table;

pub struct UsageAfterCancellation;

impl Rule for UsageAfterCancellation {
    meta!(
        "EA005",
        "usage-after-cancellation",
        Severity::High,
        "an account has spend for a product after its license ended plus the grace period",
        &[Table::Agreements, Table::Licenses, Table::Usage]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        for ((account, key), (spend, license)) in
            facts.spend_by_state(|s| s == State::AfterCancellation)
        {
            let mut f = product_spend(cx, self, account, key, &spend, license);
            f.message = format!(
                "{} of {} spend between {}, more than {} days after the license ended",
                usd(spend.cost_usd),
                f.product,
                spend_days(&spend),
                cx.cfg.cancellation_grace_days
            );
            f.remediation = "find who still invokes the model (CloudTrail, IAM principal tags) and stop it, or renew the subscription".into();
            out.push(f);
        }
    }
}
