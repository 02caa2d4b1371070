//! EA007 grant-to-inactive-principal: a live grant to a closed, suspended or unknown principal.

use super::{grant_finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::finding::Finding;
use crate::model::{PrincipalKind, Severity};
use crate::snapshot::Table;

pub struct GrantToInactivePrincipal;

impl Rule for GrantToInactivePrincipal {
    meta!(
        "EA007",
        "grant-to-inactive-principal",
        Severity::Medium,
        "a live grant targets an account that is suspended, closing, closed or not in the organization, or an OU that no longer exists",
        &[Table::Accounts, Table::OrganizationalUnits, Table::Grants]
    );

    fn check(&self, cx: &Context, _facts: &Facts, out: &mut Vec<Finding>) {
        for v in cx
            .grants
            .iter()
            .filter(|v| !v.grant.is_sub_grant() && v.status.is_live())
        {
            let g = v.grant;
            let problem = match &g.grantee_kind {
                PrincipalKind::Account => match cx.account(&g.grantee_id) {
                    None => Some("is not in the organization".to_string()),
                    Some(a) if a.state.is_inactive() => Some(format!("is {}", a.state)),
                    Some(_) => None,
                },
                PrincipalKind::Ou if !cx.ous.contains_key(g.grantee_id.as_str()) => {
                    Some("does not exist in the organization".to_string())
                }
                PrincipalKind::Organization if g.grantee_id != cx.snap.organization.id => Some(
                    format!("is not this organization (`{}`)", cx.snap.organization.id),
                ),
                PrincipalKind::Other(_) => {
                    Some("is not a principal this tool recognizes".to_string())
                }
                _ => None,
            };
            let Some(problem) = problem else { continue };
            let mut f = grant_finding(cx, self, g);
            f.message = format!(
                "grant `{}` ({}) targets {} `{}`, which {problem}",
                g.name, v.status, g.grantee_kind, g.grantee_id
            );
            f.remediation = "delete the grant; grant the product to the account's replacement if it still needs access".into();
            out.push(f);
        }
    }
}
