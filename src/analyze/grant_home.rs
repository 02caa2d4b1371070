//! Where a new grant for an exposed account goes (`[[plan.grant_under]]`): the account, an OU
//! of its ancestry or the organization. The principal is built from the snapshot's relations
//! (the OU's id from the account's ancestry, the organization's id and management account as
//! collected), never from the text of an ARN. The fix plan reads it.

use super::context::{path_has_prefix, Context};
use crate::config::GrantPrincipal;
use crate::model::{Account, PrincipalKind};

/// Where a new grant of a license for one account goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantHome {
    /// An account grant: no rule places the account, or its rule says `account`.
    Account,
    /// A grant to an OU of the account's ancestry or to the organization.
    OrgWide {
        /// [`PrincipalKind::Ou`] or [`PrincipalKind::Organization`].
        kind: PrincipalKind,
        /// The OU's id or the organization's id.
        id: String,
        principal_arn: String,
    },
    /// A rule places the account under an OU or the organization the snapshot cannot name:
    /// an account grant instead, and why.
    Unresolved { why: String },
}

/// The home of a new grant for `account`: the longest `grant_under` prefix of its OU path
/// decides (whole path segments, like `team_rules`).
pub fn of(cx: &Context, account: &Account) -> GrantHome {
    let Some(rule) = cx
        .cfg
        .grant_under
        .iter()
        .filter(|r| path_has_prefix(&account.ou_path, &r.ou_path_prefix))
        .max_by_key(|r| r.ou_path_prefix.len())
    else {
        return GrantHome::Account;
    };
    let shown = match rule.ou_path_prefix.as_str() {
        "" => "/",
        p => p,
    };
    let unresolved = |what: &str| GrantHome::Unresolved {
        why: format!("`plan.grant_under` puts `{shown}` under {what}"),
    };
    let org = &cx.snap.organization;
    let (mgmt, org_id) = (&org.management_account_id, &org.id);
    if rule.principal != GrantPrincipal::Account && (mgmt.is_empty() || org_id.is_empty()) {
        return unresolved(
            "an organization or OU grant, but the snapshot lacks the organization's id or management account",
        );
    }
    match rule.principal {
        GrantPrincipal::Account => GrantHome::Account,
        GrantPrincipal::Organization => GrantHome::OrgWide {
            kind: PrincipalKind::Organization,
            id: org_id.clone(),
            principal_arn: format!("arn:aws:organizations::{mgmt}:organization/{org_id}"),
        },
        GrantPrincipal::Ou => {
            let ou = cx
                .ancestry(account)
                .into_iter()
                .filter_map(|id| cx.ous.get(id))
                .find(|o| o.path == rule.ou_path_prefix);
            match ou {
                None => unresolved(
                    "its OU grant, but no OU of the account's ancestry in the snapshot has that path",
                ),
                Some(o) if o.parent_id.is_none() => unresolved(
                    "an OU grant, but that is the organization's root, not an OU (principal = \"organization\" grants to every account)",
                ),
                Some(o) => GrantHome::OrgWide {
                    kind: PrincipalKind::Ou,
                    id: o.id.clone(),
                    principal_arn: format!("arn:aws:organizations::{mgmt}:ou/{org_id}/{}", o.id),
                },
            }
        }
    }
}
