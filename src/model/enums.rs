//! Text-backed enums for the AWS values the audit branches on.
//!
//! AWS adds enum values without notice, so every enum here keeps an unknown value as text
//! (`Other`) instead of failing; the snapshot flags such values and the rules treat them
//! conservatively (never as ACTIVE).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an enum whose known variants map to fixed strings and whose unknown values are kept.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];

            pub fn parse(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }

            /// False for values kept as text because this version does not know them.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&String::deserialize(d)?))
            }
        }
    };
}

text_enum!(
    /// License Manager `GrantStatus`.
    GrantStatus {
        PendingWorkflow => "PENDING_WORKFLOW",
        PendingAccept => "PENDING_ACCEPT",
        Rejected => "REJECTED",
        Active => "ACTIVE",
        FailedWorkflow => "FAILED_WORKFLOW",
        Deleted => "DELETED",
        PendingDelete => "PENDING_DELETE",
        Disabled => "DISABLED",
        WorkflowCompleted => "WORKFLOW_COMPLETED",
    }
);

impl GrantStatus {
    /// A grant that still exists and could be (or become) in force.
    pub fn is_live(&self) -> bool {
        !matches!(
            self,
            Self::Deleted | Self::PendingDelete | Self::Rejected | Self::FailedWorkflow
        )
    }

    /// Waiting for someone to accept or activate it.
    pub fn is_awaiting_activation(&self) -> bool {
        matches!(
            self,
            Self::Disabled | Self::PendingAccept | Self::PendingWorkflow
        )
    }
}

text_enum!(
    /// License Manager `LicenseStatus`.
    LicenseStatus {
        Available => "AVAILABLE",
        PendingAvailable => "PENDING_AVAILABLE",
        Deactivated => "DEACTIVATED",
        Suspended => "SUSPENDED",
        Expired => "EXPIRED",
        PendingDelete => "PENDING_DELETE",
        Deleted => "DELETED",
    }
);

impl LicenseStatus {
    /// The agreement is cancelled or otherwise over.
    pub fn is_ended(&self) -> bool {
        matches!(
            self,
            Self::Deactivated
                | Self::Suspended
                | Self::Expired
                | Self::Deleted
                | Self::PendingDelete
        )
    }
}

text_enum!(
    /// Organizations `Account.State` (the retired `Status` values map onto it).
    AccountState {
        PendingActivation => "PENDING_ACTIVATION",
        Active => "ACTIVE",
        Suspended => "SUSPENDED",
        PendingClosure => "PENDING_CLOSURE",
        Closed => "CLOSED",
    }
);

impl AccountState {
    /// Accounts a grant should no longer target.
    pub fn is_inactive(&self) -> bool {
        matches!(self, Self::Suspended | Self::PendingClosure | Self::Closed)
    }
}

text_enum!(
    /// What a grant's principal is.
    PrincipalKind {
        Account => "account",
        Ou => "ou",
        Organization => "organization",
    }
);

text_enum!(
    /// How a grant stands among the organization's grants. Decided from where the grant was
    /// listed and what its parent is, never from the text of an ARN (AWS may put the license,
    /// the seller's grant, another grant or nothing in `ParentArn`).
    GrantRelation {
        Direct => "direct",
        SubGrant => "sub-grant",
        ParentUnread => "parent-unread",
    }
);

// The variants come from `text_enum!`, which cannot mark one `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for GrantRelation {
    fn default() -> Self {
        Self::Direct
    }
}

text_enum!(
    /// A change in a grant's life.
    EventKind {
        Created => "created",
        Accepted => "accepted",
        Activated => "activated",
        Disabled => "disabled",
        Rejected => "rejected",
        Deleted => "deleted",
    }
);

impl EventKind {
    /// The status a grant has right after this event.
    pub fn resulting_status(&self) -> Option<GrantStatus> {
        Some(match self {
            Self::Created => GrantStatus::PendingAccept,
            Self::Accepted | Self::Disabled => GrantStatus::Disabled,
            Self::Activated => GrantStatus::Active,
            Self::Rejected => GrantStatus::Rejected,
            Self::Deleted => GrantStatus::Deleted,
            Self::Other(_) => return None,
        })
    }
}

text_enum!(
    /// Where a grant event came from (`member-cloudtrail`: a member account's own trail, read
    /// with `--member-role`, where its own accepts and activations are dated exactly).
    EventSource {
        CloudTrail => "cloudtrail",
        Observed => "observed",
        Demo => "demo",
        MemberCloudTrail => "member-cloudtrail",
    }
);

/// Finding severity: the tool's own scale, closed (no unknown values), lowest first so that
/// `Ord` compares by gravity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    /// Their names, lowest first (for messages).
    pub const KNOWN: &'static [&'static str] = &["info", "low", "medium", "high", "critical"];

    pub fn as_str(self) -> &'static str {
        Self::KNOWN[self as usize]
    }

    /// The severity named `s` (lowercase), if any.
    pub fn parse(s: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    /// Case-insensitive, for the command line and the config.
    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            format!(
                "`{s}` is not a severity: one of {}",
                Severity::KNOWN.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept_and_flagged() {
        let s = GrantStatus::parse("PAUSED_BY_SELLER");
        assert_eq!(s.as_str(), "PAUSED_BY_SELLER");
        assert!(!s.is_known());
        assert!(GrantStatus::parse("ACTIVE").is_known());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"PAUSED_BY_SELLER\"");
    }

    #[test]
    fn severity_orders_by_gravity() {
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Low > Severity::Info);
        for (v, name) in Severity::ALL.into_iter().zip(Severity::KNOWN) {
            assert_eq!(v.as_str(), *name);
            assert_eq!(name.to_uppercase().parse::<Severity>(), Ok(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
        }
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn every_known_value_round_trips() {
        for v in GrantStatus::KNOWN {
            assert_eq!(GrantStatus::parse(v).as_str(), *v);
        }
        for v in LicenseStatus::KNOWN {
            assert_eq!(LicenseStatus::parse(v).as_str(), *v);
        }
    }
}

text_enum!(
    /// Marketplace Agreement `AgreementStatus`.
    AgreementStatus {
        Active => "ACTIVE",
        Archived => "ARCHIVED",
        Cancelled => "CANCELLED",
        Expired => "EXPIRED",
        Renewed => "RENEWED",
        Replaced => "REPLACED",
        RolledBack => "ROLLED_BACK",
        Superseded => "SUPERSEDED",
        Terminated => "TERMINATED",
    }
);

impl AgreementStatus {
    /// The agreement's terms are no longer in force. Unknown values are not taken as ended:
    /// a status this version does not know dates no cut-off.
    pub fn has_ended(&self) -> bool {
        matches!(
            self,
            Self::Archived
                | Self::Cancelled
                | Self::Expired
                | Self::Renewed
                | Self::Replaced
                | Self::Terminated
        )
    }
}

text_enum!(
    /// Where a rate of the `rates` table comes from: `agreement` (a usage-based pricing term
    /// of the organization's own agreement: the private price), `public-offer` (the model's
    /// public offer, Bedrock `ListFoundationModelAgreementOffers`), `price-list` (the AWS Price
    /// List, `AmazonBedrockFoundationModels`).
    RateSource {
        Agreement => "agreement",
        PublicOffer => "public-offer",
        PriceList => "price-list",
        // A public rate an earlier run read, kept in the history store and given back to a run
        // that could not read the public rates itself.
        History => "history",
    }
);
