//! [`OrgBuilder`]: a readable way to put a small (or very large) organization together and
//! turn it into a [`Snapshot`], for the demo generator and for tests.
//!
//! The builder fills in everything that follows from what you declare: OU paths, principal
//! ARNs, sub-grant ARNs, emails and the manifest. It panics on misuse (an account in an OU
//! that was never declared, a sub-grant of an unknown grant): it builds fixtures, not input.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use crate::model::usage;
use crate::model::{
    day_start, Account, AccountState, Agreement, EventKind, EventSource, Grant, GrantEvent,
    GrantRelation, GrantStatus, License, LicenseStatus, Organization, OrganizationalUnit,
    PrincipalKind, Rate,
};
use crate::snapshot::Table;
use crate::snapshot::{Manifest, Snapshot, TableInfo, FORMAT_VERSION};

/// Id of the root every builder starts with (named `Root`, path `/Root`).
pub const ROOT_ID: &str = "r-ex01";

const REGION: &str = "us-east-1";
const ISSUER: &str = "AWS/Marketplace";
/// Usage type of [`OrgBuilder::spend`] rows.
const DEFAULT_USAGE_TYPE: &str = "USE1-MP:USE1_InputTokenCount-Units";

/// One usage row, borrowed, for [`OrgBuilder::push_spend`].
#[derive(Debug, Clone, Copy)]
pub struct Spend<'a> {
    pub date: NaiveDate,
    pub account_id: &'a str,
    /// Cost Explorer service name, e.g. `Claude 3 Haiku (Amazon Bedrock Edition)`.
    pub product: &'a str,
    pub usage_type: &'a str,
    pub cost_usd: f64,
    pub usage_quantity: f64,
    pub public_cost_usd: Option<f64>,
    /// Cost-allocation tag value on the row.
    pub team_tag: Option<&'a str>,
}

/// The operations the built organizations' grants allow (those License Manager names for
/// consuming a Marketplace license).
pub const DEMO_OPERATIONS: &[&str] = &["CheckoutLicense", "CheckInLicense"];

/// Builds an organization and its snapshot. See the module docs.
#[derive(Clone)]
pub struct OrgBuilder {
    org: Organization,
    ous: Vec<OrganizationalUnit>,
    accounts: Vec<Account>,
    account_index: BTreeMap<String, usize>,
    licenses: Vec<License>,
    grants: Vec<Grant>,
    grant_index: BTreeMap<String, usize>,
    events: Vec<GrantEvent>,
    agreements: Vec<Agreement>,
    rates: Vec<Rate>,
    usage: usage::UsageBuilder,
    invocations: Option<Vec<crate::model::Invocation>>,
    member_agreements: Option<Vec<Agreement>>,
}

impl OrgBuilder {
    /// An organization with a root ([`ROOT_ID`]) and nothing else; the management account is
    /// the subscriber.
    pub fn new(org_id: &str, management_account_id: &str) -> Self {
        Self {
            org: Organization {
                id: org_id.to_string(),
                management_account_id: management_account_id.to_string(),
                subscriber_account_id: management_account_id.to_string(),
            },
            ous: vec![OrganizationalUnit {
                id: ROOT_ID.to_string(),
                name: "Root".to_string(),
                parent_id: None,
                path: String::new(),
            }],
            accounts: Vec::new(),
            account_index: BTreeMap::new(),
            licenses: Vec::new(),
            grants: Vec::new(),
            grant_index: BTreeMap::new(),
            events: Vec::new(),
            agreements: Vec::new(),
            rates: Vec::new(),
            usage: usage::UsageBuilder::with_capacity(0),
            invocations: None,
            member_agreements: None,
        }
    }

    /// One day of one model's invocations in a member account (the table then exists).
    pub fn invocation(&mut self, i: crate::model::Invocation) -> &mut Self {
        self.invocations.get_or_insert_with(Vec::new).push(i);
        self
    }

    /// Marks the member tables as read (empty until rows are added).
    pub fn members_read(&mut self) -> &mut Self {
        self.invocations.get_or_insert_with(Vec::new);
        self.member_agreements.get_or_insert_with(Vec::new);
        self
    }

    /// A purchase agreement a member accepted itself.
    pub fn member_agreement(&mut self, a: Agreement) -> &mut Self {
        self.member_agreements.get_or_insert_with(Vec::new).push(a);
        self
    }

    /// An agreement of the subscriber, as given.
    pub fn agreement(&mut self, a: Agreement) -> &mut Self {
        self.agreements.push(a);
        self
    }

    /// One rate of a rate card, as given.
    pub fn rate(&mut self, r: Rate) -> &mut Self {
        self.rates.push(r);
        self
    }

    /// Makes another account (a License Manager delegated administrator) the subscriber.
    pub fn subscriber(&mut self, account_id: &str) -> &mut Self {
        self.org.subscriber_account_id = account_id.to_string();
        self
    }

    /// Reserves room for `rows` usage rows; call before the first [`spend`](Self::spend).
    pub fn reserve_usage(&mut self, rows: usize) -> &mut Self {
        if self.usage.is_empty() {
            self.usage = usage::UsageBuilder::with_capacity(rows);
        }
        self
    }

    pub fn reserve_grants(&mut self, grants: usize, events: usize) -> &mut Self {
        self.grants.reserve(grants);
        self.events.reserve(events);
        self
    }

    /// An OU under `parent_id` (the root or another OU, declared before or after).
    pub fn ou(&mut self, id: &str, name: &str, parent_id: &str) -> &mut Self {
        self.ous.push(OrganizationalUnit {
            id: id.to_string(),
            name: name.to_string(),
            parent_id: Some(parent_id.to_string()),
            path: String::new(),
        });
        self
    }

    /// An ACTIVE account without tags, joined at the start of `joined`, email
    /// `aws+<id>@example.com`.
    pub fn account(&mut self, id: &str, name: &str, ou_id: &str, joined: NaiveDate) -> &mut Self {
        let prev = self
            .account_index
            .insert(id.to_string(), self.accounts.len());
        assert!(prev.is_none(), "account `{id}` declared twice");
        self.accounts.push(Account {
            id: id.to_string(),
            name: name.to_string(),
            email: format!("aws+{id}@example.com"),
            state: AccountState::Active,
            joined_at: Some(day_start(joined)),
            parent_id: ou_id.to_string(),
            ou_path: String::new(),
            tags: BTreeMap::new(),
            tags_read: true,
        });
        self
    }

    pub fn account_state(&mut self, id: &str, state: AccountState) -> &mut Self {
        self.account_mut(id).state = state;
        self
    }

    pub fn account_tag(&mut self, id: &str, key: &str, value: &str) -> &mut Self {
        self.account_mut(id)
            .tags
            .insert(key.to_string(), value.to_string());
        self
    }

    /// A Marketplace license, AVAILABLE, without dates.
    pub fn license(
        &mut self,
        arn: &str,
        product_name: &str,
        sku: &str,
        beneficiary: &str,
    ) -> &mut Self {
        self.licenses.push(License {
            arn: arn.to_string(),
            product_name: product_name.to_string(),
            product_sku: sku.to_string(),
            issuer: ISSUER.to_string(),
            status: LicenseStatus::Available,
            validity_begin: None,
            validity_end: None,
            created_at: None,
            beneficiary: beneficiary.to_string(),
            home_region: REGION.to_string(),
            version: "1".to_string(),
            seller_grant_arn: None,
        });
        self
    }

    /// Sets when a license was created (and became valid).
    pub fn license_created(&mut self, arn: &str, at: DateTime<Utc>) -> &mut Self {
        let l = self.license_mut(arn);
        l.created_at = Some(at);
        l.validity_begin = Some(at);
        self
    }

    /// Ends a license: its status (DELETED for a cancelled subscription) and validity end.
    pub fn license_ended(&mut self, arn: &str, status: LicenseStatus, end: NaiveDate) -> &mut Self {
        let l = self.license_mut(arn);
        l.status = status;
        l.validity_end = Some(day_start(end));
        self
    }

    /// A grant of `license_arn` to one account.
    pub fn grant_account(
        &mut self,
        grant_arn: &str,
        license_arn: &str,
        account_id: &str,
        status: GrantStatus,
    ) -> &mut Self {
        let principal = format!("arn:aws:iam::{account_id}:root");
        self.push_grant(
            grant_arn,
            license_arn,
            license_arn,
            principal,
            PrincipalKind::Account,
            account_id,
            status,
        );
        self
    }

    /// A grant of `license_arn` to an OU (which need not exist: grants can outlive OUs).
    pub fn grant_ou(
        &mut self,
        grant_arn: &str,
        license_arn: &str,
        ou_id: &str,
        status: GrantStatus,
    ) -> &mut Self {
        let principal = format!(
            "arn:aws:organizations::{}:ou/{}/{ou_id}",
            self.org.management_account_id, self.org.id
        );
        self.push_grant(
            grant_arn,
            license_arn,
            license_arn,
            principal,
            PrincipalKind::Ou,
            ou_id,
            status,
        );
        self
    }

    /// A grant of `license_arn` to the whole organization.
    pub fn grant_org(
        &mut self,
        grant_arn: &str,
        license_arn: &str,
        status: GrantStatus,
    ) -> &mut Self {
        let principal = format!(
            "arn:aws:organizations::{}:organization/{}",
            self.org.management_account_id, self.org.id
        );
        let org_id = self.org.id.clone();
        self.push_grant(
            grant_arn,
            license_arn,
            license_arn,
            principal,
            PrincipalKind::Organization,
            &org_id,
            status,
        );
        self
    }

    /// The per-account row of an organization or OU grant; returns its ARN (derived from the
    /// parent and the account, so it is stable).
    pub fn sub_grant(
        &mut self,
        parent_grant_arn: &str,
        account_id: &str,
        status: GrantStatus,
    ) -> String {
        let parent = self
            .grant_index
            .get(parent_grant_arn)
            .map(|&i| &self.grants[i])
            .unwrap_or_else(|| panic!("sub-grant of unknown grant `{parent_grant_arn}`"));
        let license_arn = parent.license_arn.clone();
        let arn = self.grant_arn(&format!("{parent_grant_arn}/{account_id}"));
        let principal = format!("arn:aws:iam::{account_id}:root");
        self.push_grant(
            &arn,
            &license_arn,
            parent_grant_arn,
            principal,
            PrincipalKind::Account,
            account_id,
            status,
        );
        arn
    }

    /// Sets a grant's status reason (e.g. why it failed).
    pub fn grant_status_reason(&mut self, grant_arn: &str, reason: &str) -> &mut Self {
        let i = self.grant_index[grant_arn];
        self.grants[i].status_reason = Some(reason.to_string());
        self
    }

    /// Sets a grant's activation override (`ALL_GRANTS_PERMITTED_BY_ISSUER`).
    pub fn grant_activation_override(&mut self, grant_arn: &str, value: &str) -> &mut Self {
        let i = self.grant_index[grant_arn];
        self.grants[i].activation_override = Some(value.to_string());
        self
    }

    /// A dated change of a grant. The actor is a role of the account for `accepted` and
    /// `rejected` (the grantee acts), of the management account otherwise.
    pub fn event(
        &mut self,
        grant_arn: &str,
        account: Option<&str>,
        kind: EventKind,
        at: DateTime<Utc>,
    ) -> &mut Self {
        let actor_account = match (&kind, account) {
            (EventKind::Accepted | EventKind::Rejected, Some(a)) => a,
            _ => &self.org.management_account_id,
        };
        let actor = format!("arn:aws:sts::{actor_account}:assumed-role/LicenseAdmin/demo");
        self.events.push(GrantEvent {
            time: at,
            grant_arn: grant_arn.to_string(),
            account_id: account.map(str::to_string),
            kind,
            source: EventSource::Demo,
            actor: Some(actor),
            not_before: None,
        });
        self
    }

    /// One day of spend with the input-token usage type and a quantity of one token per
    /// 0.000003 USD.
    pub fn spend(
        &mut self,
        date: NaiveDate,
        account_id: &str,
        product: &str,
        cost_usd: f64,
        public_cost_usd: Option<f64>,
        team_tag: Option<&str>,
    ) -> &mut Self {
        self.push_spend(Spend {
            date,
            account_id,
            product,
            usage_type: DEFAULT_USAGE_TYPE,
            cost_usd,
            usage_quantity: (cost_usd / 3e-6).round(),
            public_cost_usd,
            team_tag,
        })
    }

    pub fn push_spend(&mut self, s: Spend<'_>) -> &mut Self {
        self.usage.push_ref(&usage::UsageRef {
            date: s.date,
            account_id: s.account_id,
            product: s.product,
            usage_type: s.usage_type,
            cost_usd: s.cost_usd,
            usage_quantity: s.usage_quantity,
            public_cost_usd: s.public_cost_usd,
            team_tag: s.team_tag,
            caller_account_id: None,
        });
        self
    }

    /// A stable fake license ARN for `key` (`...:license:l-<32 hex>`).
    pub fn license_arn(&self, key: &str) -> String {
        format!(
            "arn:aws:license-manager::{}:license:l-{}",
            self.org.management_account_id,
            hex32(&format!("license/{key}"))
        )
    }

    /// A stable fake grant ARN for `key` (`...:grant:g-<32 hex>`).
    pub fn grant_arn(&self, key: &str) -> String {
        format!(
            "arn:aws:license-manager::{}:grant:g-{}",
            self.org.management_account_id,
            hex32(&format!("grant/{key}"))
        )
    }

    pub fn has_account(&self, id: &str) -> bool {
        self.account_index.contains_key(id)
    }

    /// The snapshot: OU paths resolved, events in time order, manifest filled.
    pub fn build(
        self,
        period_start: NaiveDate,
        period_end: NaiveDate,
        collected_at: DateTime<Utc>,
    ) -> Snapshot {
        let Self {
            org,
            mut ous,
            mut accounts,
            licenses,
            grants,
            mut events,
            agreements,
            rates,
            usage,
            mut invocations,
            member_agreements,
            ..
        } = self;
        let paths = ou_paths(&ous);
        for ou in &mut ous {
            ou.path = paths[&ou.id].clone();
        }
        for a in &mut accounts {
            a.ou_path = paths
                .get(&a.parent_id)
                .unwrap_or_else(|| panic!("account `{}` is in unknown OU `{}`", a.id, a.parent_id))
                .clone();
        }
        // Stable: events at the same instant keep the order they were declared in
        // (`created` before `accepted`).
        events.sort_by_key(|e| e.time);
        let usage = usage.finish();

        let rows = [
            (Table::Organization.as_str(), 1),
            (Table::Accounts.as_str(), accounts.len()),
            (Table::OrganizationalUnits.as_str(), ous.len()),
            (Table::Licenses.as_str(), licenses.len()),
            (Table::Grants.as_str(), grants.len()),
            (Table::GrantEvents.as_str(), events.len()),
            (Table::Agreements.as_str(), agreements.len()),
            (Table::Rates.as_str(), rates.len()),
            (Table::Usage.as_str(), usage.height()),
        ];
        if let Some(v) = &mut invocations {
            v.sort_by(|a, b| {
                (a.day, &a.account_id, &a.region, &a.model_id).cmp(&(
                    b.day,
                    &b.account_id,
                    &b.region,
                    &b.model_id,
                ))
            });
        }
        let members = [
            (
                Table::Invocations.as_str(),
                invocations.as_ref().map(Vec::len),
            ),
            (
                Table::MemberAgreements.as_str(),
                member_agreements.as_ref().map(Vec::len),
            ),
        ];
        let rows = rows
            .into_iter()
            .chain(members.into_iter().filter_map(|(t, n)| Some((t, n?))));
        let tables = rows
            .map(|(name, n)| {
                let info = TableInfo {
                    rows: n as u64,
                    source: "demo".to_string(),
                };
                (name.to_string(), info)
            })
            .collect();
        Snapshot {
            manifest: Manifest {
                format_version: FORMAT_VERSION,
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                source: "demo".to_string(),
                collected_at,
                period_start,
                period_end,
                tables,
                completeness: Vec::new(),
                unknown_values: Vec::new(),
                cost_explorer_requests: 0,
                athena: None,
            },
            organization: org,
            accounts,
            organizational_units: ous,
            licenses,
            grants,
            grant_events: events,
            agreements,
            rates,
            usage,
            invocations,
            member_agreements,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_grant(
        &mut self,
        arn: &str,
        license_arn: &str,
        parent_arn: &str,
        principal: String,
        kind: PrincipalKind,
        grantee_id: &str,
        status: GrantStatus,
    ) {
        // Only `sub_grant` names another grant as the parent.
        let relation = if parent_arn == license_arn {
            GrantRelation::Direct
        } else {
            GrantRelation::SubGrant
        };
        let name = self
            .licenses
            .iter()
            .find(|l| l.arn == license_arn)
            .map_or(license_arn, |l| &l.product_name);
        let grant = Grant {
            arn: arn.to_string(),
            name: name.to_string(),
            license_arn: license_arn.to_string(),
            parent_arn: parent_arn.to_string(),
            grantee_principal_arn: principal,
            grantee_kind: kind,
            grantee_id: grantee_id.to_string(),
            status,
            status_reason: None,
            version: "1".to_string(),
            home_region: REGION.to_string(),
            activation_override: None,
            granted_operations: DEMO_OPERATIONS.iter().map(|o| o.to_string()).collect(),
            grant_type: None,
            relation,
        };
        let prev = self
            .grant_index
            .insert(grant.arn.clone(), self.grants.len());
        assert!(prev.is_none(), "grant `{arn}` declared twice");
        self.grants.push(grant);
    }

    fn account_mut(&mut self, id: &str) -> &mut Account {
        let i = *self
            .account_index
            .get(id)
            .unwrap_or_else(|| panic!("unknown account `{id}`"));
        &mut self.accounts[i]
    }

    fn license_mut(&mut self, arn: &str) -> &mut License {
        self.licenses
            .iter_mut()
            .find(|l| l.arn == arn)
            .unwrap_or_else(|| panic!("unknown license `{arn}`"))
    }
}

/// 32 lowercase hex digits derived from `key`.
pub(super) fn hex32(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Path of every OU from the root down (`/Root/Workloads/Prod`).
fn ou_paths(ous: &[OrganizationalUnit]) -> BTreeMap<String, String> {
    let by_id: BTreeMap<&str, &OrganizationalUnit> =
        ous.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut paths = BTreeMap::new();
    for ou in ous {
        let mut names = Vec::new();
        let mut cur = Some(ou);
        while let Some(o) = cur {
            assert!(names.len() <= ous.len(), "OU `{}` is in a cycle", ou.id);
            names.push(o.name.as_str());
            cur = o.parent_id.as_deref().map(|p| {
                *by_id
                    .get(p)
                    .unwrap_or_else(|| panic!("OU `{}` has unknown parent `{p}`", o.id))
            });
        }
        names.reverse();
        paths.insert(ou.id.clone(), format!("/{}", names.join("/")));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_principal, usage};

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, day).unwrap()
    }

    fn small() -> (Snapshot, String, String) {
        let mut b = OrgBuilder::new("o-test", "123456789012");
        b.ou("ou-ex01-workload", "Workloads", ROOT_ID)
            .ou("ou-ex01-prodprod", "Prod", "ou-ex01-workload")
            .account("123456789012", "management", ROOT_ID, d(1))
            .account("111122223333", "payments-prod", "ou-ex01-prodprod", d(1))
            .account_tag("111122223333", "team", "payments")
            .account_state("111122223333", AccountState::Suspended);
        let lic = b.license_arn("haiku");
        let org_grant = b.grant_arn("haiku-org");
        let direct = b.grant_arn("haiku-direct");
        let gone = b.grant_arn("ou");
        b.license(&lic, "Claude 3 Haiku", "prod-abc", "123456789012")
            .license_ended(&lic, LicenseStatus::Deleted, d(20))
            .grant_org(&org_grant, &lic, GrantStatus::WorkflowCompleted)
            .grant_account(&direct, &lic, "111122223333", GrantStatus::PendingAccept)
            .grant_ou(&gone, &lic, "ou-gone", GrantStatus::WorkflowCompleted);
        let sub = b.sub_grant(&org_grant, "111122223333", GrantStatus::Active);
        let t = day_start(d(3));
        b.event(
            &sub,
            Some("111122223333"),
            EventKind::Activated,
            t + chrono::Duration::hours(1),
        )
        .event(&sub, Some("111122223333"), EventKind::Created, t)
        .spend(
            d(2),
            "111122223333",
            "Claude 3 Haiku (Amazon Bedrock Edition)",
            1.5,
            None,
            Some("search"),
        )
        .spend(
            d(3),
            "111122223333",
            "Claude 3 Haiku (Amazon Bedrock Edition)",
            -0.5,
            Some(-0.6),
            None,
        );
        let snap = b.build(d(1), d(30), day_start(d(30)));
        (snap, org_grant, sub)
    }

    #[test]
    fn paths_principals_and_sub_grants_are_derived() {
        let (s, org_grant, sub) = small();
        let prod = s
            .organizational_units
            .iter()
            .find(|o| o.name == "Prod")
            .unwrap();
        assert_eq!(prod.path, "/Root/Workloads/Prod");
        assert_eq!(s.accounts[0].ou_path, "/Root");
        assert_eq!(s.accounts[1].ou_path, "/Root/Workloads/Prod");
        assert_eq!(s.accounts[1].state, AccountState::Suspended);
        assert_eq!(s.accounts[1].tags["team"], "payments");
        for g in &s.grants {
            let (kind, id) = parse_principal(&g.grantee_principal_arn);
            assert_eq!((kind, id), (g.grantee_kind.clone(), g.grantee_id.clone()));
            assert_eq!(g.name, "Claude 3 Haiku");
        }
        let sub = s.grants.iter().find(|g| g.arn == sub).unwrap();
        assert!(sub.is_sub_grant());
        assert_eq!(sub.parent_arn, org_grant);
        assert_eq!(s.licenses[0].status, LicenseStatus::Deleted);
        assert_eq!(s.licenses[0].validity_end, Some(day_start(d(20))));
    }

    #[test]
    fn arns_are_fake_stable_and_well_formed() {
        let b = OrgBuilder::new("o-test", "123456789012");
        let g = b.grant_arn("x");
        assert_eq!(g, b.grant_arn("x"));
        assert_ne!(g, b.grant_arn("y"));
        let hex = g
            .strip_prefix("arn:aws:license-manager::123456789012:grant:g-")
            .unwrap();
        assert_eq!(hex.len(), 32);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(b.license_arn("x").contains(":license:l-"));
    }

    #[test]
    fn events_sorted_and_manifest_counts_rows() {
        let (s, _, _) = small();
        let kinds: Vec<&str> = s.grant_events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "activated"]);
        assert_eq!(s.manifest.source, "demo");
        assert_eq!(s.manifest.tables["usage"].rows, 2);
        assert_eq!(s.manifest.tables["grants"].rows, 4);
        assert_eq!(s.manifest.tables["accounts"].rows, 2);
        assert!(s.is_complete());
    }

    #[test]
    fn usage_frame_has_the_schema_and_the_rows() {
        let (s, _, _) = small();
        assert_eq!(s.usage.schema().as_ref(), &usage::schema());
        let rows = usage::rows(&s.usage).unwrap();
        assert_eq!(rows[0].date, d(2));
        assert_eq!(rows[0].team_tag.as_deref(), Some("search"));
        assert_eq!(rows[1].cost_usd, -0.5);
        assert_eq!(rows[1].public_cost_usd, Some(-0.6));
        assert_eq!(rows[1].caller_account_id, None);
    }

    #[test]
    #[should_panic(expected = "unknown OU")]
    fn account_in_undeclared_ou_panics() {
        let mut b = OrgBuilder::new("o-test", "123456789012");
        b.account("111122223333", "x", "ou-nope", d(1));
        b.build(d(1), d(2), day_start(d(3)));
    }
}
