//! The organization as the audit sees it: plain types, no I/O.
//!
//! `collect` and `demo` produce these, `snapshot` stores them, `analyze` reads them. Usage is
//! the one table that can be large (millions of rows), so it stays a columnar polars frame
//! with the schema in [`usage`].

mod enums;
pub mod usage;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use enums::{
    AccountState, EventKind, EventSource, GrantStatus, LicenseStatus, PrincipalKind, Severity,
};

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
/// grants are grants too, with `parent_arn` pointing at the organization or OU grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub arn: String,
    pub name: String,
    pub license_arn: String,
    /// The parent grant for a sub-grant; the license (or the seller grant) otherwise.
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
}

impl Grant {
    /// Sub-grants are the per-account rows of an organization or OU grant.
    pub fn is_sub_grant(&self) -> bool {
        self.parent_arn.contains(":grant:")
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
}

/// Parses the grantee of a grant from its principal ARN (account, OU or organization form).
pub fn parse_principal(arn: &str) -> (PrincipalKind, String) {
    if let Some(rest) = arn.strip_prefix("arn:aws:iam::") {
        let id = rest.split(':').next().unwrap_or_default();
        return (PrincipalKind::Account, id.to_string());
    }
    if arn.starts_with("arn:aws:organizations::") {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        if let Some(ou) = resource.strip_prefix("ou/") {
            let id = ou.rsplit('/').next().unwrap_or_default();
            return (PrincipalKind::Ou, id.to_string());
        }
        if let Some(org) = resource.strip_prefix("organization/") {
            return (PrincipalKind::Organization, org.to_string());
        }
    }
    if arn.len() == 12 && arn.bytes().all(|b| b.is_ascii_digit()) {
        return (PrincipalKind::Account, arn.to_string());
    }
    (PrincipalKind::Other("unknown".into()), arn.to_string())
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
        assert!(!parse_principal("arn:aws:s3:::bucket").0.is_known());
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
        };
        assert_eq!(
            l.status_at(end - chrono::Duration::days(1)),
            LicenseStatus::Available
        );
        assert_eq!(l.status_at(end), LicenseStatus::Deleted);
    }
}
