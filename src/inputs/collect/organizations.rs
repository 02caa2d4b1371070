//! AWS Organizations: the organization, its roots and OU tree, the accounts with their state,
//! place in the tree and tags. SDK types become [`crate::model`] types right here.

use std::collections::BTreeMap;

use futures_util::future::{join, join_all};

use super::call::{Cx, Page};
use super::permissions::{
    Op, DESCRIBE_ORGANIZATION, LIST_ACCOUNTS, LIST_ACCOUNTS_FOR_PARENT, LIST_OUS_FOR_PARENT,
    LIST_ROOTS, LIST_TAGS_FOR_RESOURCE,
};
use super::to_chrono;
use crate::model::{Account, AccountState, Organization, OrganizationalUnit};
use crate::snapshot::Table;

/// Organizations list operations accept at most 20 results per page.
const MAX_PAGE: i32 = 20;
/// Organizations allows five OU levels under a root; stop well after that.
const MAX_DEPTH: usize = 16;
const SCOPE: &str = "organization";

/// What Organizations told us.
#[derive(Debug)]
pub struct OrgData {
    pub organization: Organization,
    /// `ALL` or `CONSOLIDATED_BILLING`, when read.
    pub feature_set: Option<String>,
    pub accounts: Vec<Account>,
    pub organizational_units: Vec<OrganizationalUnit>,
}

pub async fn collect(cx: &Cx<'_>) -> OrgData {
    let c = &cx.clients.organizations;
    let page = cx.page_size(MAX_PAGE);
    cx.progress
        .message("organizations: reading the organization");

    let described = cx
        .call(&DESCRIBE_ORGANIZATION, c.describe_organization().send())
        .await;
    let mut data = OrgData {
        organization: Organization {
            id: String::new(),
            management_account_id: String::new(),
            subscriber_account_id: String::new(),
        },
        feature_set: None,
        accounts: Vec::new(),
        organizational_units: Vec::new(),
    };
    if let Some(org) = cx
        .ok(
            &DESCRIBE_ORGANIZATION,
            SCOPE,
            &[Table::Organization],
            described,
        )
        .and_then(|out| out.organization)
    {
        data.organization = Organization {
            id: org.id().unwrap_or_default().to_string(),
            management_account_id: org.master_account_id().unwrap_or_default().to_string(),
            subscriber_account_id: String::new(),
        };
        data.feature_set = org.feature_set().map(|f| f.as_str().to_string());
    }

    let roots = cx.pages(&LIST_ROOTS, |t| async move {
        c.list_roots()
            .max_results(page)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.roots().to_vec(), r.next_token()))
    });
    let roots = cx.keep(
        &LIST_ROOTS,
        SCOPE,
        &[Table::OrganizationalUnits, Table::Accounts],
        roots.await,
    );
    let ous: Vec<OrganizationalUnit> = roots
        .iter()
        .filter_map(|r| {
            let id = r.id()?.to_string();
            let name = r.name().unwrap_or("Root").to_string();
            Some(OrganizationalUnit {
                path: format!("/{name}"),
                id,
                name,
                parent_id: None,
            })
        })
        .collect();

    // The accounts and their tags do not depend on the OU tree: both chains run side by side
    // (with fast pacing, `ListAccounts` is a chain of pages no pacing shortens).
    let tree = async {
        let ous = ou_tree(cx, ous).await;
        let parent_of = placement(cx, &ous).await;
        (ous, parent_of)
    };
    let ((mut ous, parent_of), (listed, mut tags)) = join(tree, accounts_with_tags(cx)).await;

    let mut accounts: Vec<Account> = listed
        .iter()
        .filter_map(|a| {
            let id = a.id()?.to_string();
            let parent = parent_of.get(&id);
            Some(Account {
                name: a.name().unwrap_or_default().to_string(),
                email: a.email().unwrap_or_default().to_string(),
                state: account_state(a),
                joined_at: a.joined_timestamp().and_then(to_chrono),
                parent_id: parent.map(|p| p.0.clone()).unwrap_or_default(),
                ou_path: parent.map(|p| p.1.clone()).unwrap_or_default(),
                tags: tags.remove(id.as_str()).unwrap_or_default(),
                id,
            })
        })
        .collect();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    accounts.dedup_by(|a, b| a.id == b.id);
    ous.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
    data.accounts = accounts;
    data.organizational_units = ous;
    data
}

/// The roots' OU tree, breadth first: every OU below the given roots, with the roots.
async fn ou_tree(cx: &Cx<'_>, mut ous: Vec<OrganizationalUnit>) -> Vec<OrganizationalUnit> {
    let c = &cx.clients.organizations;
    let page = cx.page_size(MAX_PAGE);
    cx.progress.message("organizations: reading the OU tree");
    let mut frontier: Vec<OrganizationalUnit> = ous.clone();
    for _ in 0..MAX_DEPTH {
        if frontier.is_empty() {
            break;
        }
        let children = join_all(frontier.iter().map(|parent| async move {
            let id = parent.id.as_str();
            let listed = cx.pages(&LIST_OUS_FOR_PARENT, |t| async move {
                c.list_organizational_units_for_parent()
                    .parent_id(id)
                    .max_results(page)
                    .set_next_token(t)
                    .send()
                    .await
                    .map(|r| Page::new(r.organizational_units().to_vec(), r.next_token()))
            });
            let listed = cx.keep(
                &LIST_OUS_FOR_PARENT,
                id,
                &[Table::OrganizationalUnits, Table::Accounts],
                listed.await,
            );
            listed
                .iter()
                .filter_map(|ou| {
                    let name = ou.name().unwrap_or_default().to_string();
                    Some(OrganizationalUnit {
                        id: ou.id()?.to_string(),
                        path: format!("{}/{}", parent.path, name),
                        name,
                        parent_id: Some(parent.id.clone()),
                    })
                })
                .collect::<Vec<_>>()
        }))
        .await;
        frontier = children.into_iter().flatten().collect();
        ous.extend(frontier.iter().cloned());
    }
    ous
}

/// Account id -> (parent id, OU path), one listing per parent (fewer calls than `ListParents`
/// per account).
async fn placement(cx: &Cx<'_>, ous: &[OrganizationalUnit]) -> BTreeMap<String, (String, String)> {
    let c = &cx.clients.organizations;
    let page = cx.page_size(MAX_PAGE);
    let placed = join_all(ous.iter().map(|parent| async move {
        let id = parent.id.as_str();
        let listed = cx.pages(&LIST_ACCOUNTS_FOR_PARENT, |t| async move {
            c.list_accounts_for_parent()
                .parent_id(id)
                .max_results(page)
                .set_next_token(t)
                .send()
                .await
                .map(|r| Page::new(r.accounts().to_vec(), r.next_token()))
        });
        let listed = cx.keep(
            &LIST_ACCOUNTS_FOR_PARENT,
            id,
            &[Table::Accounts],
            listed.await,
        );
        listed
            .iter()
            .filter_map(|a| {
                Some((
                    a.id()?.to_string(),
                    (parent.id.clone(), parent.path.clone()),
                ))
            })
            .collect::<Vec<_>>()
    }))
    .await;
    placed.into_iter().flatten().collect()
}

/// Every account of the organization, then each one's tags.
async fn accounts_with_tags(
    cx: &Cx<'_>,
) -> (
    Vec<aws_sdk_organizations::types::Account>,
    BTreeMap<String, BTreeMap<String, String>>,
) {
    let c = &cx.clients.organizations;
    let page = cx.page_size(MAX_PAGE);
    cx.progress.message("organizations: reading the accounts");
    let listed = cx.pages(&LIST_ACCOUNTS, |t| async move {
        c.list_accounts()
            .max_results(page)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.accounts().to_vec(), r.next_token()))
    });
    let listed = cx.keep(&LIST_ACCOUNTS, SCOPE, &[Table::Accounts], listed.await);
    cx.progress.message("organizations: reading account tags");
    let ids: Vec<&str> = listed.iter().filter_map(|a| a.id()).collect();
    let tags = join_all(ids.iter().map(|id| account_tags(cx, id))).await;
    let tags = ids.iter().map(|id| id.to_string()).zip(tags).collect();
    (listed, tags)
}

async fn account_tags(cx: &Cx<'_>, id: &str) -> BTreeMap<String, String> {
    let c = &cx.clients.organizations;
    let op: &Op = &LIST_TAGS_FOR_RESOURCE;
    let listed = cx.pages(op, |t| async move {
        c.list_tags_for_resource()
            .resource_id(id)
            .set_next_token(t)
            .send()
            .await
            .map(|r| Page::new(r.tags().to_vec(), r.next_token()))
    });
    cx.keep(op, id, &[Table::Accounts], listed.await)
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

/// `State`, or the retired `Status` when `State` is absent (same spellings for the values
/// both have). Neither present is kept as `UNKNOWN` so that it is flagged, not guessed.
fn account_state(a: &aws_sdk_organizations::types::Account) -> AccountState {
    match (a.state(), a.status()) {
        (Some(state), _) => AccountState::parse(state.as_str()),
        (None, Some(status)) => AccountState::parse(status.as_str()),
        (None, None) => AccountState::Other("UNKNOWN".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_organizations::types::{Account as SdkAccount, AccountState as S, AccountStatus};

    #[test]
    fn state_falls_back_to_retired_status() {
        let both = SdkAccount::builder()
            .state(S::Closed)
            .status(AccountStatus::Active)
            .build();
        assert_eq!(account_state(&both), AccountState::Closed);
        let old = SdkAccount::builder()
            .status(AccountStatus::Suspended)
            .build();
        assert_eq!(account_state(&old), AccountState::Suspended);
        let new_value = SdkAccount::builder().state(S::from("QUARANTINED")).build();
        assert_eq!(
            account_state(&new_value),
            AccountState::Other("QUARANTINED".into())
        );
        assert!(!account_state(&SdkAccount::builder().build()).is_known());
    }
}
