//! The organization as the audit sees it: plain types, no I/O.
//!
//! `collect` and `demo` produce these, `snapshot` stores them, `analyze` reads them. Usage is
//! the one table that can be large (millions of rows), so it stays a columnar polars frame
//! with the schema in [`usage`].

mod agreements;
mod enums;
pub mod invocations;
pub mod usage;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use agreements::{Agreement, LicenseLink, Rate};
pub use enums::{
    AccountState, AgreementStatus, EventKind, EventSource, GrantRelation, GrantStatus,
    LicenseStatus, PrincipalKind, RateSource, Severity,
};
pub use invocations::Invocation;

/// The organization itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-...`
    pub id: String,
    pub management_account_id: String,
    /// The account holding the Marketplace subscriptions (management account or the License
    /// Manager delegated administrator).
    pub subscriber_account_id: String,
}

/// A member account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub state: AccountState,
    pub joined_at: Option<DateTime<Utc>>,
    /// Id of the parent root or OU.
    pub parent_id: String,
    /// Names from the root down, e.g. `/Root/Workloads/Prod`.
    pub ou_path: String,
    pub tags: BTreeMap<String, String>,
    /// Whether `tags` were read. A collection reads them only for the accounts that need a
    /// team (docs/collect.md, "Account tags"); `false` means `tags` is empty because it was not
    /// read, not because the account has none.
    #[serde(default = "tags_were_read")]
    pub tags_read: bool,
}

/// Snapshots before format 3 read every account's tags.
fn tags_were_read() -> bool {
    true
}

/// An organizational unit (roots are stored as OUs without a parent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationalUnit {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub path: String,
}

/// A Marketplace license received by the organization or by a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct License {
    pub arn: String,
    pub product_name: String,
    pub product_sku: String,
    pub issuer: String,
    pub status: LicenseStatus,
    pub validity_begin: Option<DateTime<Utc>>,
    pub validity_end: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    /// The account that holds this license.
    pub beneficiary: String,
    pub home_region: String,
    pub version: String,
    /// The seller's grant to the subscriber that this license came from (`LicenseMetadata`
    /// key `grantArn`), when the license names it. AWS may give it as the `ParentArn` of the
    /// grants distributed from the license.
    #[serde(default)]
    pub seller_grant_arn: Option<String>,
}

impl License {
    /// When the agreement ended, if it has: the validity end when known, else unknown
    /// (`None`) even when the status says it ended.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.validity_end
    }

    /// The license status on a given day. A license whose status says it ended but whose end
    /// lies after `at` was still available then.
    pub fn status_at(&self, at: DateTime<Utc>) -> LicenseStatus {
        match self.validity_end {
            Some(end) if at < end && self.status.is_ended() => LicenseStatus::Available,
            Some(end) if at >= end && !self.status.is_ended() => LicenseStatus::Expired,
            _ => self.status.clone(),
        }
    }
}

/// A grant of a license to one principal. Per-account sub-grants of organization and OU
/// grants are grants too: `relation` is [`GrantRelation::SubGrant`] and `parent_arn` is the
/// organization or OU grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub arn: String,
    pub name: String,
    pub license_arn: String,
    /// `ParentArn` as AWS sent it: the organization or OU grant for a sub-grant; for other
    /// grants the license, the seller's grant, another grant or nothing.
    pub parent_arn: String,
    pub grantee_principal_arn: String,
    pub grantee_kind: PrincipalKind,
    /// Account id, OU id or organization id.
    pub grantee_id: String,
    pub status: GrantStatus,
    pub status_reason: Option<String>,
    pub version: String,
    pub home_region: String,
    pub activation_override: Option<String>,
    pub grant_type: Option<String>,
    /// Direct grant, per-account sub-grant, or undecided because its parent could not be read.
    #[serde(default)]
    pub relation: GrantRelation,
    /// `GrantedOperations` as AWS sent them (`CheckoutLicense`, ...); empty when not known
    /// (a snapshot before format 5). The fix plan copies them into a new grant.
    #[serde(default)]
    pub granted_operations: Vec<String>,
}

impl Grant {
    /// Sub-grants are the per-account rows of an organization or OU grant.
    pub fn is_sub_grant(&self) -> bool {
        self.relation == GrantRelation::SubGrant
    }

    /// The grant targets an organization or an OU (its accounts get sub-grants).
    pub fn is_org_wide(&self) -> bool {
        matches!(
            self.grantee_kind,
            PrincipalKind::Ou | PrincipalKind::Organization
        )
    }
}

impl Grant {
    /// The relation the other grants decide: a sub-grant when this is an account grant whose
    /// parent is one of `org_wide` (the ARNs of organization and OU grants, see
    /// [`org_wide_arns`]), direct otherwise, whatever `parent_arn` holds.
    pub fn relation_among(&self, org_wide: &HashSet<String>) -> GrantRelation {
        if self.grantee_kind == PrincipalKind::Account && org_wide.contains(&self.parent_arn) {
            GrantRelation::SubGrant
        } else {
            GrantRelation::Direct
        }
    }
}

/// The ARNs of the organization and OU grants among `grants`: the parents a sub-grant can have.
pub fn org_wide_arns<'a>(grants: impl IntoIterator<Item = &'a Grant>) -> HashSet<String> {
    grants
        .into_iter()
        .filter(|g| g.is_org_wide())
        .map(|g| g.arn.clone())
        .collect()
}

/// Sets each grant's `relation` from the other grants alone ([`Grant::relation_among`]).
/// For sources that hold every parent (snapshots written before `relation` was stored); the
/// collector also weighs what it read and could not read (`collect::license_manager`).
pub fn relate_grants(grants: &mut [Grant]) {
    let org_wide = org_wide_arns(grants.iter());
    for g in grants.iter_mut() {
        g.relation = g.relation_among(&org_wide);
    }
}

/// A dated change in a grant's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantEvent {
    pub time: DateTime<Utc>,
    pub grant_arn: String,
    /// The account the change applies to (for sub-grants and account grants).
    pub account_id: Option<String>,
    pub kind: EventKind,
    pub source: EventSource,
    pub actor: Option<String>,
    /// Set when the change happened at an unknown instant after this one and by `time` (a
    /// change seen by comparing two runs): the status in between is unknown.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
}

/// Parses the grantee of a grant from its principal, in every form AWS may use (any
/// partition): an account as `arn:aws:iam::<id>:root`, as an Organizations account ARN
/// (`arn:aws:organizations::<mgmt>:account/o-.../<id>`) or as a bare 12-digit id; an OU
/// (`...:ou/o-.../ou-...`); the organization (`...:organization/o-...`).
pub fn parse_principal(arn: &str) -> (PrincipalKind, String) {
    let arn = arn.trim();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let ["arn", _partition, service, _region, owner, resource] = parts[..] {
        match service {
            "iam" if is_account_id(owner) && resource == "root" => {
                return (PrincipalKind::Account, owner.to_string());
            }
            "organizations" => {
                let last = resource.rsplit('/').next().unwrap_or_default();
                if let Some(path) = resource.strip_prefix("account/") {
                    if is_account_id(last) && path.contains('/') {
                        return (PrincipalKind::Account, last.to_string());
                    }
                }
                if resource.starts_with("ou/") {
                    return (PrincipalKind::Ou, last.to_string());
                }
                if let Some(org) = resource.strip_prefix("organization/") {
                    return (PrincipalKind::Organization, org.to_string());
                }
            }
            _ => {}
        }
    }
    if is_account_id(arn) {
        return (PrincipalKind::Account, arn.to_string());
    }
    (PrincipalKind::Other("unknown".into()), arn.to_string())
}

/// Twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Day of a timestamp (UTC).
pub fn day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

/// Start of a day (00:00 UTC).
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_forms() {
        assert_eq!(
            parse_principal("arn:aws:iam::111122223333:root"),
            (PrincipalKind::Account, "111122223333".into())
        );
        assert_eq!(
            parse_principal("arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef3456"),
            (PrincipalKind::Ou, "ou-ab12-cdef3456".into())
        );
        assert_eq!(
            parse_principal("arn:aws:organizations::123456789012:organization/o-abc123"),
            (PrincipalKind::Organization, "o-abc123".into())
        );
        assert_eq!(
            parse_principal("111122223333"),
            (PrincipalKind::Account, "111122223333".into())
        );
        assert_eq!(
            parse_principal("arn:aws:organizations::123456789012:account/o-abc123/111122223333"),
            (PrincipalKind::Account, "111122223333".into())
        );
        assert_eq!(
            parse_principal("arn:aws-us-gov:iam::111122223333:root"),
            (PrincipalKind::Account, "111122223333".into())
        );
        assert!(!parse_principal("arn:aws:s3:::bucket").0.is_known());
        // An IAM role is not the account: not a grantee form.
        assert!(!parse_principal("arn:aws:iam::111122223333:role/x")
            .0
            .is_known());
        assert!(
            !parse_principal("arn:aws:organizations::123456789012:account/111122223333")
                .0
                .is_known()
        );
    }

    #[test]
    fn relation_comes_from_the_parent_grant_not_the_arn_text() {
        let grant = |arn: &str, parent: &str, principal: &str| {
            let (grantee_kind, grantee_id) = parse_principal(principal);
            Grant {
                arn: arn.into(),
                name: String::new(),
                license_arn: "arn:aws:license-manager::123456789012:license:l-1".into(),
                parent_arn: parent.into(),
                grantee_principal_arn: principal.into(),
                grantee_kind,
                grantee_id,
                status: GrantStatus::Active,
                status_reason: None,
                version: "1".into(),
                home_region: "us-east-1".into(),
                activation_override: None,
                granted_operations: Vec::new(),
                grant_type: None,
                relation: GrantRelation::ParentUnread,
            }
        };
        let seller = "arn:aws:license-manager::999988887777:grant:g-seller";
        let mut gs = vec![
            grant(
                "g-org",
                seller,
                "arn:aws:organizations::123456789012:organization/o-abc123",
            ),
            grant("g-acct", seller, "arn:aws:iam::111122223333:root"),
            grant("g-sub", "g-org", "111122223333"),
            grant("g-other", "g-acct", "arn:aws:iam::444455556666:root"),
        ];
        relate_grants(&mut gs);
        let r: Vec<&str> = gs.iter().map(|g| g.relation.as_str()).collect();
        assert_eq!(r, ["direct", "direct", "sub-grant", "direct"]);
    }

    #[test]
    fn license_status_on_a_day() {
        let end = day_start(NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
        let l = License {
            arn: "arn:aws:license-manager::123456789012:license:l-1".into(),
            product_name: "Claude".into(),
            product_sku: "prod-1".into(),
            issuer: "AWS/Marketplace".into(),
            status: LicenseStatus::Deleted,
            validity_begin: None,
            validity_end: Some(end),
            created_at: None,
            beneficiary: "123456789012".into(),
            home_region: "us-east-1".into(),
            version: "1".into(),
            seller_grant_arn: None,
        };
        assert_eq!(
            l.status_at(end - chrono::Duration::days(1)),
            LicenseStatus::Available
        );
        assert_eq!(l.status_at(end), LicenseStatus::Deleted);
    }
}
