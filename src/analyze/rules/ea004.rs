//! EA004 orphaned-grant: a live grant of a cancelled or ended license.

use super::{grant_finding, meta, Facts, Rule};
use crate::analyze::context::Context;
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
        &[Table::Licenses, Table::Grants, Table::GrantEvents]
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
            let status = cx.license_status(license);
            if !status.is_ended() {
                continue;
            }
            let mut f = grant_finding(cx, self, g);
            f.first_day = license.end().map(day);
            f.message = format!(
                "grant `{}` to {} `{}` is still {} but its license is {}{}",
                g.name,
                g.grantee_kind,
                g.grantee_id,
                v.status,
                status,
                license
                    .end()
                    .map(|e| format!(" since {}", day(e)))
                    .unwrap_or_default()
            );
            f.remediation = "delete the grant (License Manager > Granted licenses > Distributed grants); cancelling a subscription does not delete its grants".into();
            out.push(f);
        }
    }
}
