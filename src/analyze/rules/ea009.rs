//! EA009 unmapped-spend: Marketplace model spend that matches no known license.

use super::{finding, meta, with_spend, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::Severity;
use crate::money::usd;
use crate::snapshot::Table;

pub struct UnmappedSpend;

impl Rule for UnmappedSpend {
    meta!(
        "EA009",
        "unmapped-spend",
        Severity::Medium,
        "Marketplace model spend matches no known license or product",
        &[Table::Licenses, Table::Usage]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        for u in &facts.unmapped {
            let mut f = with_spend(finding(cx, self, &u.account_id), &u.spend);
            f.product = u.product.clone();
            f.message = format!(
                "{} of `{}` spend matches no license of the organization",
                usd(u.spend.cost_usd),
                u.product
            );
            f.remediation = "map the service to a license product in the config (`[[product_mappings]]`), or subscribe centrally and grant it".into();
            out.push(f);
        }
    }
}
