//! EA012 license-outlives-agreement: the agreement ended, its license is still available.

use chrono::Duration;

use super::{finding, meta, Facts, Rule};
use crate::analyze::context::{Context, EndSource};
use crate::analyze::finding::Finding;
use crate::model::{day, Severity};
use crate::snapshot::Table;

pub struct LicenseOutlivesAgreement;

impl Rule for LicenseOutlivesAgreement {
    meta!(
        "EA012",
        "license-outlives-agreement",
        Severity::Medium,
        "the license is still available days after its Marketplace agreement ended",
        &[Table::Licenses, Table::Agreements]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        let grace = Duration::days(i64::from(cx.cfg.cancellation_grace_days));
        for indexes in cx.products.licenses.values() {
            for &i in indexes {
                let license = &cx.snap.licenses[i];
                let Some((end, EndSource::Agreement)) = cx.license_end(license) else {
                    continue;
                };
                let status = cx.license_status(license);
                if status.is_ended() || day(end) + grace >= cx.as_of {
                    continue;
                }
                let Some(a) = cx.agreement(&license.arn) else {
                    continue;
                };
                let mut f = finding(cx, self, cx.subscriber());
                f.product = license.product_name.clone();
                f.license_arn = license.arn.clone();
                f.first_day = Some(day(end));
                f.last_day = Some(cx.as_of);
                f.message = format!(
                    "agreement `{}` is {} since {} but its license is still {status}: grants of it may still work, and at which price is not known",
                    a.id,
                    a.status,
                    day(end)
                );
                f.remediation = "check the subscription in AWS Marketplace > Manage subscriptions; delete the license's grants if the cancellation stands, then run `verify-cleanup`".into();
                out.push(f);
            }
        }
    }
}
