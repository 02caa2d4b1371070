//! EA016 member-own-subscription: a member account holds its own ACTIVE Marketplace purchase
//! agreement for a product the organization distributes (it pays its own bill).

use super::{finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::{day, AgreementStatus, Severity};
use crate::snapshot::Table;

pub struct MemberOwnSubscription;

impl Rule for MemberOwnSubscription {
    meta!(
        "EA016",
        "member-own-subscription",
        Severity::High,
        "a member account accepted its own ACTIVE Marketplace purchase agreement for a product the organization distributes",
        &[Table::MemberAgreements, Table::Licenses, Table::Accounts]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        let Some(own) = &cx.snap.member_agreements else {
            return;
        };
        for a in own
            .iter()
            .filter(|a| a.status == AgreementStatus::Active)
            .filter(|a| a.acceptor_account_id != cx.subscriber())
        {
            // The organization's license of the same Marketplace product (`ProductSKU` is the
            // product id: UNCONFIRMED, so a license named by the agreement counts too).
            let license = cx.snap.licenses.iter().find(|l| {
                cx.products.license(&l.arn).is_some()
                    && ((!a.product_id.is_empty() && l.product_sku == a.product_id)
                        || a.license_arn.as_deref() == Some(l.arn.as_str()))
            });
            let Some(license) = license else { continue };
            let mut f = finding(cx, self, &a.acceptor_account_id);
            f.product = license.product_name.clone();
            f.license_arn = license.arn.clone();
            f.first_day = a.acceptance_time.or(a.start_time).map(day);
            f.last_day = Some(cx.as_of);
            let since = a
                .acceptance_time
                .map(|t| format!("accepted {}", t.to_rfc3339()))
                .unwrap_or_else(|| "acceptance time not given".to_string());
            f.message = format!(
                "the account accepted its own purchase agreement `{}` for {} (product `{}`, offer `{}`, {since}): it pays its own bill at its own terms, not the organization's private offer",
                a.id, license.product_name, a.product_id, a.offer_id
            );
            f.remediation = "activate the organization's grant for the account with ALL_GRANTS_PERMITTED_BY_ISSUER (it replaces the member's entitlement), then cancel the member's own subscription".into();
            out.push(f);
        }
    }
}
