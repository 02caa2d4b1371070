//! The organization's Marketplace agreements and the rates that price its usage.
//!
//! An agreement is what the subscriber accepted for a model (a private offer or the public
//! one); its usage-based pricing term is the private rate card. The public rate card comes
//! from the model's public offer. Both land in the `rates` table, one row per dimension, so
//! that an exposed usage row's overspend is its quantity times the gap between the two.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgreementStatus, RateSource};

/// One agreement the subscriber accepted (`SearchAgreements` as acceptor, `DescribeAgreement`,
/// `GetAgreementTerms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: String,
    pub status: AgreementStatus,
    /// The account that accepted it.
    pub acceptor_account_id: String,
    /// The Marketplace product (`proposalSummary.resources[].id`, `prod-...`).
    pub product_id: String,
    pub offer_id: String,
    /// The License Manager license the agreement entitles, when known.
    pub license_arn: Option<String>,
    /// How `license_arn` was found: [`LicenseLink`] as text.
    pub license_link: String,
    pub acceptance_time: Option<DateTime<Utc>>,
    pub start_time: Option<DateTime<Utc>>,
    /// `None` for pay-as-you-go agreements, which have no end.
    pub end_time: Option<DateTime<Utc>>,
    pub last_update_time: Option<DateTime<Utc>>,
    /// What happens at `end_time` (`RENEW`, `REPLACE`: back to the public offer, `EXPIRE`),
    /// when AWS says.
    pub end_time_behavior: Option<String>,
    /// The renewal term's `enableAutoRenew`, when the terms have one.
    pub auto_renew: Option<bool>,
}

/// How an agreement's license was found, most direct first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseLink {
    /// `SearchAgreements` `entitlements[].licenseArn`.
    Search,
    /// `GetAgreementEntitlements` `agreementEntitlements[].licenseArn`.
    Entitlements,
    /// AWS named no license (the analysis may still link the agreement by its product id: see
    /// `analyze::rates`).
    None,
}

impl LicenseLink {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseLink::Search => "search-agreements",
            LicenseLink::Entitlements => "agreement-entitlements",
            LicenseLink::None => "",
        }
    }
}

/// One price of one dimension of a rate card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub source: RateSource,
    /// The agreement whose terms state it (source `agreement`).
    pub agreement_id: Option<String>,
    /// The model it prices, as its license names it (public rates; empty for agreement rates,
    /// which price their agreement's license).
    pub product: String,
    /// `USE1_InputTokenCount`, `USE1_input_tokens_standard`, ...: the usage type without its
    /// `<REGION>-MP:` prefix and unit suffix.
    pub dimension_key: String,
    /// Per unit, as the rate card states it (decimal text, kept exactly).
    pub price: String,
    pub currency: String,
    /// The unit the price is per (`Units` in Bedrock's offers); `None` where the card states
    /// none (agreement terms do not).
    pub unit: Option<String>,
}
