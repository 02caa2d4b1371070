//! EA003 grant-failed: a grant REJECTED or FAILED_WORKFLOW.

use super::{grant_finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::{GrantStatus, Severity};
use crate::snapshot::Table;

pub struct GrantFailed;

impl Rule for GrantFailed {
    meta!(
        "EA003",
        "grant-failed",
        Severity::Medium,
        "a grant is REJECTED or FAILED_WORKFLOW",
        &[Table::Grants, Table::GrantEvents]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        for v in &cx.grants {
            if !matches!(
                v.status,
                GrantStatus::Rejected | GrantStatus::FailedWorkflow
            ) {
                continue;
            }
            let g = v.grant;
            let mut f = grant_finding(cx, self, g);
            f.message = format!(
                "grant `{}` to {} `{}` is {}{}",
                g.name,
                g.grantee_kind,
                g.grantee_id,
                v.status,
                g.status_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            f.remediation = if v.status == GrantStatus::Rejected {
                "ask the account why it rejected the grant; delete it and create a new one if access is still intended".into()
            } else {
                "delete the failed grant and create it again; check the License Manager organization integration".into()
            };
            out.push(f);
        }
    }
}
