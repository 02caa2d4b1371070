//! The organization as it was on the as-of date: what every rule reads.
//!
//! Grants are replayed from their events to the as-of date, grants created later and accounts
//! that joined later are left out, and license statuses are taken on that date. This is what
//! lets an earlier `--as-of` show the organization as it was then.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rustc_hash::FxHashMap;

use super::allocation::AllocationMethod;
use super::products::Products;
use super::rates::RateBook;
use super::timeline::Timeline;
use crate::config::Config;
use crate::model::{
    day_start, Account, Agreement, AgreementStatus, Grant, GrantEvent, GrantStatus, License,
    LicenseStatus, OrganizationalUnit, PrincipalKind,
};
use crate::snapshot::Snapshot;

/// What dates the end of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSource {
    /// The Marketplace agreement's end.
    Agreement,
    /// The license's validity end (no ended agreement is known).
    License,
}

impl EndSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EndSource::Agreement => "agreement end",
            EndSource::License => "license end",
        }
    }
}

/// A grant as seen on the as-of date.
#[derive(Debug)]
pub struct GrantView<'a> {
    pub grant: &'a Grant,
    pub timeline: Timeline,
    /// Status at the end of the as-of day.
    pub status: GrantStatus,
}

/// A grant that covers (or would cover) one account: the grant as granted and the grant whose
/// status decides for that account (the account's sub-grant for organization and OU grants).
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub top: usize,
    pub effective: usize,
}

/// Everything the rules read.
pub struct Context<'a> {
    pub cfg: &'a Config,
    pub snap: &'a Snapshot,
    pub as_of: NaiveDate,
    pub window_start: NaiveDate,
    /// The instant the as-of day ends; statuses "on the as-of date" are taken here.
    pub as_of_end: DateTime<Utc>,
    /// Accounts that had joined by the as-of date.
    pub accounts: BTreeMap<&'a str, &'a Account>,
    /// Every account of the snapshot, for names and states.
    all_accounts: FxHashMap<&'a str, &'a Account>,
    pub ous: BTreeMap<&'a str, &'a OrganizationalUnit>,
    pub products: Products,
    /// The private and public rates of every license and product.
    pub rates: RateBook,
    /// Grants that existed on the as-of date (top-level and sub-grants).
    pub grants: Vec<GrantView<'a>>,
    /// Top-level grant indexes by (license ARN, grantee id): account, OU or organization id;
    /// each list sorted by grant ARN.
    top_by_target: FxHashMap<(&'a str, &'a str), Vec<usize>>,
    /// Sub-grant index by (parent grant ARN, account id).
    sub_by_parent: FxHashMap<(&'a str, &'a str), usize>,
    /// What a grant can target to cover each account: the account, the OUs of its ancestry
    /// (parent first), the organization. Worked out once: rules ask per account and license.
    targets: FxHashMap<&'a str, Vec<(PrincipalKind, &'a str)>>,
    /// License ARNs with a top-level grant to each grantee id.
    licenses_by_target: FxHashMap<&'a str, Vec<&'a str>>,
    /// Every license of the snapshot by ARN (the first, if an ARN repeats).
    licenses: FxHashMap<&'a str, &'a License>,
}

impl<'a> Context<'a> {
    pub fn new(snap: &'a Snapshot, cfg: &'a Config, as_of: NaiveDate) -> Context<'a> {
        let as_of_end = day_start(as_of + Duration::days(1));
        let window_start = as_of - Duration::days(i64::from(cfg.window_days) - 1);
        let all_accounts: FxHashMap<&str, &Account> =
            snap.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        let accounts = snap
            .accounts
            .iter()
            .filter(|a| a.joined_at.is_none_or(|j| j < as_of_end))
            .map(|a| (a.id.as_str(), a))
            .collect();
        let ous = snap
            .organizational_units
            .iter()
            .map(|o| (o.id.as_str(), o))
            .collect();
        let products = Products::new(
            &snap.licenses,
            &snap.organization.subscriber_account_id,
            cfg,
        );

        let rates = RateBook::new(snap, &products, cfg);

        let mut events: FxHashMap<&str, Vec<&GrantEvent>> = FxHashMap::default();
        for e in &snap.grant_events {
            events.entry(e.grant_arn.as_str()).or_default().push(e);
        }
        let mut grants = Vec::new();
        for g in &snap.grants {
            let mut own: Vec<&GrantEvent> = events.get(g.arn.as_str()).cloned().unwrap_or_default();
            if g.is_sub_grant() {
                // Events recorded against the parent grant for this account apply too.
                if let Some(parent) = events.get(g.parent_arn.as_str()) {
                    own.extend(
                        parent
                            .iter()
                            .filter(|e| e.account_id.as_deref() == Some(g.grantee_id.as_str())),
                    );
                }
            } else {
                own.retain(|e| e.account_id.is_none() || g.grantee_kind == PrincipalKind::Account);
            }
            let timeline = Timeline::build(g, &own, snap.manifest.collected_at);
            if let Some(status) = timeline.status_at(as_of_end).cloned() {
                grants.push(GrantView {
                    grant: g,
                    timeline,
                    status,
                });
            }
        }
        let mut top_by_target: FxHashMap<(&str, &str), Vec<usize>> = FxHashMap::default();
        let mut sub_by_parent = FxHashMap::default();
        for (i, v) in grants.iter().enumerate() {
            if v.grant.is_sub_grant() {
                sub_by_parent.insert(
                    (v.grant.parent_arn.as_str(), v.grant.grantee_id.as_str()),
                    i,
                );
            } else {
                top_by_target
                    .entry((v.grant.license_arn.as_str(), v.grant.grantee_id.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        let mut licenses_by_target: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
        for (&(license, target), found) in top_by_target.iter_mut() {
            found.sort_by(|&a, &b| grants[a].grant.arn.cmp(&grants[b].grant.arn));
            licenses_by_target.entry(target).or_default().push(license);
        }
        let mut cx = Context {
            cfg,
            snap,
            as_of,
            window_start,
            as_of_end,
            accounts,
            all_accounts,
            ous,
            products,
            rates,
            grants,
            top_by_target,
            sub_by_parent,
            targets: FxHashMap::default(),
            licenses_by_target,
            licenses: FxHashMap::default(),
        };
        for l in &snap.licenses {
            cx.licenses.entry(l.arn.as_str()).or_insert(l);
        }
        cx.targets = cx
            .accounts
            .values()
            .map(|a| (a.id.as_str(), cx.targets_of(a.id.as_str(), cx.ancestry(a))))
            .collect();
        cx
    }

    fn targets_of(
        &self,
        account_id: &'a str,
        ancestry: Vec<&'a str>,
    ) -> Vec<(PrincipalKind, &'a str)> {
        std::iter::once((PrincipalKind::Account, account_id))
            .chain(ancestry.into_iter().map(|ou| (PrincipalKind::Ou, ou)))
            .chain(std::iter::once((
                PrincipalKind::Organization,
                self.snap.organization.id.as_str(),
            )))
            .collect()
    }

    /// Any account of the snapshot by id (joined or not by the as-of date).
    pub fn account(&self, id: &str) -> Option<&'a Account> {
        self.all_accounts.get(id).copied()
    }

    pub fn subscriber(&self) -> &str {
        &self.snap.organization.subscriber_account_id
    }

    /// A license's status on the as-of date.
    pub fn license_status(&self, l: &License) -> LicenseStatus {
        l.status_at(self.as_of_end)
    }

    /// The agreement that prices and entitles a license ([`RateBook`]: an ACTIVE one, else
    /// the one that started last), if the snapshot has one.
    pub fn agreement(&self, license_arn: &str) -> Option<&'a Agreement> {
        let id = self.rates.agreement(license_arn)?;
        self.snap.agreements.iter().find(|a| a.id == id)
    }

    /// When a license's subscription ended, if it had by the as-of date, and what says so:
    /// its agreement's end once the agreement has ended (CANCELLED and TERMINATED end before
    /// their defined end, so the earlier of `end_time` and `last_update_time`: right whether
    /// AWS keeps the original end or writes the cancellation time), else the license's own end
    /// once its status says it ended. `None` while alive, or when nothing dates the end.
    pub fn license_end(&self, l: &License) -> Option<(DateTime<Utc>, EndSource)> {
        if let Some(a) = self.agreement(&l.arn).filter(|a| a.status.has_ended()) {
            let early = matches!(
                a.status,
                AgreementStatus::Cancelled | AgreementStatus::Terminated
            );
            let end = match (a.end_time, a.last_update_time) {
                (Some(e), Some(u)) if early => Some(e.min(u)),
                (e, u) => e.or(u),
            };
            if let Some(end) = end.filter(|e| *e < self.as_of_end) {
                return Some((end, EndSource::Agreement));
            }
        }
        if self.license_status(l).is_ended() {
            return l.end().map(|e| (e, EndSource::License));
        }
        None
    }

    /// True when the license's subscription had ended by the as-of date: its agreement ended
    /// then, or its status says so (even when nothing dates the end).
    pub fn license_ended(&self, l: &License) -> bool {
        self.license_end(l).is_some() || self.license_status(l).is_ended()
    }

    /// The license with this ARN, if the snapshot has it.
    pub fn license(&self, arn: &str) -> Option<&'a License> {
        self.licenses.get(arn).copied()
    }

    /// OU ids from the account's parent up to the root.
    pub fn ancestry(&self, account: &Account) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut next = Some(account.parent_id.as_str());
        while let Some(id) = next {
            let Some(ou) = self.ous.get(id) else { break };
            if out.contains(&ou.id.as_str()) {
                break;
            }
            out.push(ou.id.as_str());
            next = ou.parent_id.as_deref();
        }
        out
    }

    /// Licenses with a top-level grant that targets this account, one of its OUs or the
    /// organization: the only licenses [`Context::candidates`] can find grants of for it.
    pub fn granted_licenses(&self, account_id: &str) -> BTreeSet<&'a str> {
        self.targets
            .get(account_id)
            .into_iter()
            .flatten()
            .filter_map(|(_, target)| self.licenses_by_target.get(target))
            .flatten()
            .copied()
            .collect()
    }

    /// Grants of `license_arn` that target this account directly, through an OU of its
    /// ancestry, or through the organization: account grants first, then OU, then organization.
    pub fn candidates(&self, account_id: &str, license_arn: &str) -> Vec<Candidate> {
        let not_joined;
        let targets = match self.targets.get(account_id) {
            Some(t) => t,
            None => {
                // An account that had not joined by the as-of date: only its own grants and
                // the organization's can name it.
                not_joined = [
                    (PrincipalKind::Account, account_id),
                    (
                        PrincipalKind::Organization,
                        self.snap.organization.id.as_str(),
                    ),
                ];
                &not_joined[..]
            }
        };
        let mut out: Vec<Candidate> = Vec::new();
        for (kind, target) in targets {
            let Some(grants) = self.top_by_target.get(&(license_arn, *target)) else {
                continue;
            };
            for &top in grants {
                if self.grants[top].grant.grantee_kind != *kind {
                    continue;
                }
                let effective = match kind {
                    PrincipalKind::Account => top,
                    _ => self
                        .sub_by_parent
                        .get(&(self.grants[top].grant.arn.as_str(), account_id))
                        .copied()
                        .unwrap_or(top),
                };
                out.push(Candidate { top, effective });
            }
        }
        out
    }

    /// Team of an account from its tag or the OU-path rules, in the configured precedence,
    /// with the method that found it.
    pub fn account_team(&self, account: &Account) -> Option<(String, AllocationMethod)> {
        self.cfg
            .allocation_precedence
            .iter()
            .find_map(|&m| match m {
                AllocationMethod::AccountTag => self.tag_team(account).map(|t| (t, m)),
                AllocationMethod::OuRule => self.ou_rule_team(account).map(|t| (t, m)),
                _ => None,
            })
    }

    /// The account's `team_tag_key` tag, when not blank.
    pub fn tag_team(&self, account: &Account) -> Option<String> {
        account
            .tags
            .get(&self.cfg.team_tag_key)
            .filter(|t| !t.trim().is_empty())
            .cloned()
    }

    /// The team of the longest `team_rules` prefix of the account's OU path.
    pub fn ou_rule_team(&self, account: &Account) -> Option<String> {
        self.cfg
            .team_rules
            .iter()
            .filter(|r| path_has_prefix(&account.ou_path, &r.ou_path_prefix))
            .max_by_key(|r| r.ou_path_prefix.len())
            .map(|r| r.team.clone())
    }
}

/// `/Root/Workloads` is a prefix of `/Root/Workloads/Prod` but not of `/Root/WorkloadsX`.
pub(crate) fn path_has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::path_has_prefix;

    #[test]
    fn ou_prefix_matches_whole_segments() {
        assert!(path_has_prefix("/Root/Workloads/Prod", "/Root/Workloads"));
        assert!(path_has_prefix("/Root/Workloads", "/Root/Workloads/"));
        assert!(!path_has_prefix("/Root/WorkloadsX", "/Root/Workloads"));
    }
}
