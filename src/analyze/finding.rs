//! A finding: one thing wrong, with the account, product, grant and money involved.

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::Severity;

/// Where the estimate of money lost to public pricing comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverspendBasis {
    /// The finding involves no exposed spend.
    NotApplicable,
    /// Private/public price ratio observed on the product's covered spend (public-price cost
    /// present in the data).
    ObservedPrivateRate,
    /// The configured private discount for the product.
    ConfiguredDiscount,
    /// Exact: each row's quantity times its dimension's public minus private rate (the
    /// agreement's terms and the public offer, or `[[pricing.rates]]`).
    AgreementTerms,
    /// Exact on the rows with both rates; the product's observed or configured discount on
    /// the rest.
    AgreementTermsAndDiscount,
    /// Exact on the rows with both rates; the rest has no price basis and is not counted.
    AgreementTermsPartial,
    /// Neither: the overspend is unknown, not zero.
    None,
    /// `ObservedPrivateRate`, `ConfiguredDiscount` and `None` when the agreements or the rates
    /// could not be read (a ledger gap): the exact basis may exist but was not seen.
    ObservedPrivateRateRatesUnread,
    ConfiguredDiscountRatesUnread,
    NoneRatesUnread,
}

impl OverspendBasis {
    pub fn as_str(&self) -> &'static str {
        match self {
            OverspendBasis::NotApplicable => "",
            OverspendBasis::ObservedPrivateRate => "observed-private-rate",
            OverspendBasis::ConfiguredDiscount => "configured-discount",
            OverspendBasis::AgreementTerms => "agreement-terms",
            OverspendBasis::AgreementTermsAndDiscount => "agreement-terms+discount",
            OverspendBasis::AgreementTermsPartial => "agreement-terms-partial",
            OverspendBasis::None => "no-price-basis",
            OverspendBasis::ObservedPrivateRateRatesUnread => "observed-private-rate+rates-unread",
            OverspendBasis::ConfiguredDiscountRatesUnread => "configured-discount+rates-unread",
            OverspendBasis::NoneRatesUnread => "no-price-basis+rates-unread",
        }
    }

    /// The same fallback, saying that the agreements or rates were not read.
    pub fn rates_unread(self) -> OverspendBasis {
        match self {
            OverspendBasis::ObservedPrivateRate => OverspendBasis::ObservedPrivateRateRatesUnread,
            OverspendBasis::ConfiguredDiscount => OverspendBasis::ConfiguredDiscountRatesUnread,
            OverspendBasis::None => OverspendBasis::NoneRatesUnread,
            other => other,
        }
    }

    /// No price basis: the overspend is unknown.
    pub fn is_unknown(self) -> bool {
        matches!(self, OverspendBasis::None | OverspendBasis::NoneRatesUnread)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable across runs: hash of rule, account, license and grant.
    pub id: String,
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub team: String,
    pub product: String,
    pub license_arn: String,
    pub grant_arn: String,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub cost_usd: Option<f64>,
    pub overspend_usd: Option<f64>,
    #[serde(serialize_with = "basis_text")]
    pub overspend_basis: OverspendBasis,
    /// EA001: spend on days whose coverage is unknown (a grant activated at a time no event
    /// dates), apart from `cost_usd`, which is the confirmed exposure only.
    pub activation_unknown_usd: Option<f64>,
    /// A table this rule reads could not be read completely: the finding (or its absence)
    /// may be wrong.
    pub data_incomplete: bool,
    /// The finding that tells the same story from the other side: an EA015 invocation without
    /// a grant and the EA001 exposure billing confirms on the same account, product and days
    /// name each other; empty otherwise.
    pub related_finding_id: String,
    pub message: String,
    pub remediation: String,
    /// Change since the previous run and suppression; filled after the analysis (`history`).
    #[serde(flatten)]
    pub tracking: Tracking,
}

impl Finding {
    /// Where this finding goes in every list of findings.
    pub fn gravity(&self) -> Gravity<'_> {
        Gravity {
            severity: self.severity,
            cost_usd: self.cost_usd,
            rule: self.rule,
            account_id: &self.account_id,
            product: &self.product,
            grant_arn: &self.grant_arn,
            id: &self.id,
        }
    }
}

/// What names a finding to a person wherever it is listed apart from its row: a past run's
/// finding in the history store, a resolved finding in summary.json, the change lists of the
/// HTML and Markdown reports, the chat message.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FindingRef {
    pub id: String,
    pub rule: String,
    pub name: String,
    pub severity: Severity,
    pub account_id: String,
    pub account_name: String,
    pub product: String,
    pub license_arn: String,
    pub grant_arn: String,
}

impl From<&Finding> for FindingRef {
    fn from(f: &Finding) -> Self {
        FindingRef {
            id: f.id.clone(),
            rule: f.rule.to_string(),
            name: f.name.to_string(),
            severity: f.severity,
            account_id: f.account_id.clone(),
            account_name: f.account_name.clone(),
            product: f.product.clone(),
            license_arn: f.license_arn.clone(),
            grant_arn: f.grant_arn.clone(),
        }
    }
}

impl FindingRef {
    /// Where this finding goes in a list, with the money at stake if known.
    pub fn gravity(&self, cost_usd: Option<f64>) -> Gravity<'_> {
        Gravity {
            severity: self.severity,
            cost_usd,
            rule: &self.rule,
            account_id: &self.account_id,
            product: &self.product,
            grant_arn: &self.grant_arn,
            id: &self.id,
        }
    }
}

/// The one "gravest first" order of every list of findings (findings.csv and .json, the HTML
/// and Markdown tables and change lists, the chat message): severity, gravest first; then the
/// money at stake, largest first (none counts as zero); then rule, account, product, grant
/// and id, so that equals keep one stable order.
#[derive(Debug, Clone, Copy)]
pub struct Gravity<'a> {
    pub severity: Severity,
    pub cost_usd: Option<f64>,
    pub rule: &'a str,
    pub account_id: &'a str,
    pub product: &'a str,
    pub grant_arn: &'a str,
    pub id: &'a str,
}

impl Gravity<'_> {
    /// `Less` when `self` is listed first.
    pub fn order(&self, other: &Gravity) -> std::cmp::Ordering {
        let cost = |g: &Gravity| g.cost_usd.unwrap_or(0.0);
        other
            .severity
            .cmp(&self.severity)
            .then_with(|| cost(other).total_cmp(&cost(self)))
            .then_with(|| self.rule.cmp(other.rule))
            .then_with(|| self.account_id.cmp(other.account_id))
            .then_with(|| self.product.cmp(other.product))
            .then_with(|| self.grant_arn.cmp(other.grant_arn))
            .then_with(|| self.id.cmp(other.id))
    }
}

/// A finding against the run history and the suppressions file. The analysis leaves it empty;
/// `crate::history` fills it after the analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tracking {
    /// `new` or `persisting` against the previous run; empty when the run kept no history.
    pub change: Option<Change>,
    /// As-of date of the first run of the unbroken series of runs that had this finding.
    pub first_seen: Option<NaiveDate>,
    /// Days from `first_seen` to the as-of date.
    pub age_days: Option<i64>,
    /// Matched by a suppression entry that has not expired: shown, but not counted for
    /// `--fail-on`.
    pub suppressed: bool,
    pub suppression_reason: String,
    pub suppression_owner: String,
    pub suppression_expires: Option<NaiveDate>,
}

/// A finding's standing against the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    New,
    Persisting,
}

pub(crate) fn basis_text<S: serde::Serializer>(
    b: &OverspendBasis,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(b.as_str())
}

/// The stable id of a finding.
pub fn finding_id(rule: &str, account: &str, license: &str, grant: &str) -> String {
    let mut h = Sha256::new();
    for part in [rule, account, license, grant] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{rule}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = finding_id("EA001", "111122223333", "l-1", "");
        assert_eq!(a, finding_id("EA001", "111122223333", "l-1", ""));
        assert_ne!(a, finding_id("EA001", "111122223333", "l-2", ""));
        // Field boundaries matter: no collision by concatenation.
        assert_ne!(
            finding_id("EA001", "1", "12", ""),
            finding_id("EA001", "11", "2", "")
        );
        assert!(a.starts_with("EA001-"));
    }
}
