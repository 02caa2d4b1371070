//! EA006 superseded-subscription: a member's own license for a product it also receives by grant.

use super::{finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::analyze::products::product_key;
use crate::model::Severity;
use crate::snapshot::Table;

pub struct SupersededSubscription;

impl Rule for SupersededSubscription {
    meta!(
        "EA006",
        "superseded-subscription",
        Severity::Low,
        "a member holds its own Marketplace license for a product it also receives by grant",
        &[Table::Licenses, Table::Grants, Table::Accounts]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        for own in &cx.snap.licenses {
            if own.beneficiary == cx.subscriber() || cx.license_status(own).is_ended() {
                continue;
            }
            let key = product_key(&own.product_name);
            let Some(org_licenses) = cx.products.licenses.get(&key) else {
                continue;
            };
            let grant = org_licenses.iter().find_map(|&li| {
                cx.candidates(&own.beneficiary, &cx.snap.licenses[li].arn)
                    .into_iter()
                    .find(|c| cx.grants[c.effective].status.is_live())
            });
            let Some(c) = grant else { continue };
            let g = &cx.grants[c.top];
            let mut f = finding(cx, self, &own.beneficiary);
            f.product = own.product_name.clone();
            f.license_arn = own.arn.clone();
            f.grant_arn = g.grant.arn.clone();
            f.last_day = Some(cx.as_of);
            f.message = format!(
                "the account holds its own {} license and also receives grant `{}` ({}); two licenses for one Marketplace product cannot both be active",
                own.product_name, g.grant.name, cx.grants[c.effective].status
            );
            f.remediation = "activate the organization's grant (ALL_GRANTS_PERMITTED_BY_ISSUER replaces the member's own entitlement), then cancel the member's own subscription".into();
            out.push(f);
        }
    }
}
