//! EA011 private-offer-ending: the organization's ACTIVE agreement ends soon and does not renew.

use chrono::Duration;

use super::{finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::main_license;
use crate::analyze::finding::Finding;
use crate::model::{day, AgreementStatus, Severity};
use crate::snapshot::Table;

pub struct PrivateOfferEnding;

impl Rule for PrivateOfferEnding {
    meta!(
        "EA011",
        "private-offer-ending",
        Severity::Medium,
        "an ACTIVE agreement ends within `agreement_ending_days` and falls back to the public offer",
        &[Table::Licenses, Table::Agreements]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        let horizon = cx.as_of_end + Duration::days(i64::from(cx.cfg.agreement_ending_days));
        for key in cx.products.licenses.keys() {
            let license = main_license(cx, key);
            let Some(a) = cx.agreement(&license) else {
                continue;
            };
            let Some(end) = a.end_time else { continue };
            if a.status != AgreementStatus::Active || end < cx.as_of_end || end > horizon {
                continue;
            }
            // RENEW, or auto-renewal on without a stated behaviour, keeps the private terms;
            // REPLACE (back to the public offer), EXPIRE and no renewal do not.
            let behavior = a.end_time_behavior.as_deref();
            let renews =
                behavior == Some("RENEW") || (behavior.is_none() && a.auto_renew == Some(true));
            if renews {
                continue;
            }
            let mut f = finding(cx, self, &a.acceptor_account_id);
            f.product = cx.products.name(key).to_string();
            f.license_arn = license.clone();
            f.first_day = Some(cx.as_of);
            f.last_day = Some(day(end));
            let why = match behavior {
                Some("REPLACE") => {
                    "falls back to the public offer (end-time behaviour REPLACE)".to_string()
                }
                Some(b) => format!("end-time behaviour {b}"),
                None => match a.auto_renew {
                    Some(false) => "auto-renewal is off".to_string(),
                    _ => "no renewal term says it renews".to_string(),
                },
            };
            f.message = format!(
                "agreement `{}` for {} ends on {} ({} days) and {why}: from that day every grant of the license pays public price",
                a.id,
                f.product,
                day(end),
                (day(end) - cx.as_of).num_days()
            );
            f.remediation = "renew or replace the private offer with the seller before it ends (AWS Marketplace > Manage subscriptions), or plan the public-price spend".into();
            out.push(f);
        }
    }
}
