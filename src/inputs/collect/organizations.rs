//! AWS Organizations: the organization, its roots and OU tree, the accounts with their state,
//! place in the tree and tags. SDK types become [`crate::model`] types right here.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::Account as SdkAccount;
use futures_util::future::join_all;

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
    /// Every account, without tags until [`read_tags`].
    pub accounts: Vec<Account>,
    pub organizational_units: Vec<OrganizationalUnit>,
    /// `ListAccounts` was read because a listing of the tree failed.
    pub listed_all: bool,
    /// Which accounts' tags were read and why (set by [`read_tags`]).
    pub tags_scope: String,
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
        listed_all: false,
        tags_scope: String::new(),
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

    // The accounts come from one listing per root and OU: `ListAccounts` would return them
    // again. Only when part of the tree or a listing could not be read (a ledger entry) is
    // `ListAccounts` read too, so that no account is lost: those it alone returns are kept
    // without OU path, and the gap stays in the ledger.
    let mut ous = ou_tree(cx, ous).await;
    let placed = placement(cx, &ous).await;
    data.listed_all =
        cx.ledger
            .has_gap(&[&LIST_ROOTS, &LIST_OUS_FOR_PARENT, &LIST_ACCOUNTS_FOR_PARENT]);
    let unplaced = if data.listed_all {
        cx.progress
            .message("organizations: a listing failed; reading every account with ListAccounts");
        let listed = cx.pages(&LIST_ACCOUNTS, |t| async move {
            c.list_accounts()
                .max_results(page)
                .set_next_token(t)
                .send()
                .await
                .map(|r| Page::new(r.accounts().to_vec(), r.next_token()))
        });
        cx.keep(&LIST_ACCOUNTS, SCOPE, &[Table::Accounts], listed.await)
    } else {
        Vec::new()
    };

    let placed = placed
        .iter()
        .map(|(a, parent)| (a, Some(parent)))
        .chain(unplaced.iter().map(|a| (a, None)));
    let mut accounts: Vec<Account> = placed
        .filter_map(|(a, parent)| {
            Some(Account {
                id: a.id()?.to_string(),
                name: a.name().unwrap_or_default().to_string(),
                email: a.email().unwrap_or_default().to_string(),
                state: account_state(a),
                joined_at: a.joined_timestamp().and_then(to_chrono),
                parent_id: parent.map(|p| p.id.clone()).unwrap_or_default(),
                ou_path: parent.map(|p| p.path.clone()).unwrap_or_default(),
                tags: BTreeMap::new(),
                tags_read: false,
            })
        })
        .collect();
    // Sorted by id, a placed account before the same account from `ListAccounts`.
    accounts.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then(a.parent_id.is_empty().cmp(&b.parent_id.is_empty()))
    });
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

/// Every account with its parent, one listing per root and OU (fewer calls than `ListParents`
/// per account, and no `ListAccounts` beside it).
async fn placement<'o>(
    cx: &Cx<'_>,
    ous: &'o [OrganizationalUnit],
) -> Vec<(SdkAccount, &'o OrganizationalUnit)> {
    let c = &cx.clients.organizations;
    let page = cx.page_size(MAX_PAGE);
    cx.progress
        .message("organizations: reading the accounts of each root and OU");
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
        listed.into_iter().map(|a| (a, parent)).collect::<Vec<_>>()
    }))
    .await;
    placed.into_iter().flatten().collect()
}

/// Which accounts' tags to read, and why (the accounts table's manifest `source` says it).
#[derive(Debug, Clone, PartialEq)]
pub enum TagScope {
    /// Every account, for this reason.
    All(String),
    /// These accounts (those not in the organization are skipped), for this reason.
    Only(BTreeSet<String>, String),
}

/// Reads the tags of the accounts in `scope` into `data.accounts` (`tags_read` set on each
/// one read) and records the scope in `data.tags_scope`.
pub async fn read_tags(cx: &Cx<'_>, data: &mut OrgData, scope: TagScope) {
    let (wanted, why): (Vec<usize>, String) = match scope {
        TagScope::All(why) => ((0..data.accounts.len()).collect(), why),
        TagScope::Only(ids, why) => (
            data.accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| ids.contains(&a.id))
                .map(|(i, _)| i)
                .collect(),
            why,
        ),
    };
    cx.progress.message(&format!(
        "organizations: reading the tags of {} of {} accounts",
        wanted.len(),
        data.accounts.len()
    ));
    let tags = join_all(
        wanted
            .iter()
            .map(|&i| account_tags(cx, data.accounts[i].id.as_str())),
    )
    .await;
    for (i, tags) in wanted.iter().zip(tags) {
        data.accounts[*i].tags = tags;
        data.accounts[*i].tags_read = true;
    }
    data.tags_scope = format!(
        "tags read for {} of {} accounts: {why}",
        wanted.len(),
        data.accounts.len()
    );
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
    use aws_sdk_organizations::types::{AccountState as S, AccountStatus};

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
