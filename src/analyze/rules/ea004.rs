//! EA004 orphaned-grant: a live grant of a cancelled or ended license.

use super::{grant_finding, meta, Facts, Rule};
use crate::analyze::context::{Context, EndSource};
use crate::analyze::finding::Finding;
use crate::model::{day, GrantStatus, Severity};
use crate::snapshot::Table;

pub struct OrphanedGrant;

impl Rule for OrphanedGrant {
    meta!(
        "EA004",
        "orphaned-grant",
        Severity::High,
        "a grant not DELETED / PENDING_DELETE belongs to a license that is cancelled or ended",
        &[
            Table::Agreements,
            Table::Licenses,
            Table::Grants,
            Table::GrantEvents
        ]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        for v in cx.grants.iter().filter(|v| !v.grant.is_sub_grant()) {
            if matches!(v.status, GrantStatus::Deleted | GrantStatus::PendingDelete) {
                continue;
            }
            let g = v.grant;
            let Some(license) = cx.license(&g.license_arn) else {
                continue;
            };
            if !cx.license_ended(license) {
                continue;
            }
            let status = cx.license_status(license);
            let end = cx.license_end(license);
            let mut f = grant_finding(cx, self, g);
            f.first_day = end.map(|(e, _)| day(e));
            let ended = match (end, cx.agreement(&license.arn)) {
                (Some((e, EndSource::Agreement)), Some(a)) => {
                    format!("its agreement `{}` is {} since {}", a.id, a.status, day(e))
                }
                (Some((e, _)), _) => format!("its license is {status} since {}", day(e)),
                (None, _) => format!("its license is {status}"),
            };
            f.message = format!(
                "grant `{}` to {} `{}` is still {} but {ended}",
                g.name, g.grantee_kind, g.grantee_id, v.status,
            );
            f.remediation = "delete the grant (License Manager > Granted licenses > Distributed grants); cancelling a subscription does not delete its grants".into();
            out.push(f);
        }
    }
}
