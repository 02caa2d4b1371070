//! The rules (EA001 onward): one file per rule with its Markdown doc beside it, and one sorted
//! list of them all.

mod ea001;
mod ea002;
mod ea003;
mod ea004;
mod ea005;
mod ea006;
mod ea007;
mod ea008;
mod ea009;
mod ea010;
mod ea011;
mod ea012;
mod ea013;
mod ea014;
mod ea015;
mod ea016;
mod ea017;

use std::collections::{BTreeMap, BTreeSet};

use super::context::Context;
use super::coverage::{Segment, Spend, State};
use super::finding::{Finding, OverspendBasis};
use super::spend::Unmapped;
use crate::model::Severity;

/// One check over the organization. Pure and synchronous: everything it needs is in the
/// context and the facts.
pub trait Rule: Sync {
    /// Stable code, never reused.
    fn code(&self) -> &'static str;
    /// Kebab-case name that names the problem.
    fn name(&self) -> &'static str;
    fn default_severity(&self) -> Severity;
    /// One line: when it fires.
    fn summary(&self) -> &'static str;
    /// The Markdown doc (What it checks / Why it matters / Example / How to fix / Data it needs).
    fn doc(&self) -> &'static str;
    /// Snapshot tables it reads; a gap in any of them marks its findings incomplete.
    fn tables(&self) -> &'static [crate::snapshot::Table];
    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>);
}

/// Declares a rule's metadata inside its `impl Rule` block; the doc is the `.md` file beside it.
macro_rules! meta {
    ($code:literal, $name:literal, $sev:expr, $summary:literal, $tables:expr) => {
        fn code(&self) -> &'static str {
            $code
        }
        fn name(&self) -> &'static str {
            $name
        }
        fn default_severity(&self) -> crate::model::Severity {
            $sev
        }
        fn summary(&self) -> &'static str {
            $summary
        }
        fn doc(&self) -> &'static str {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/analyze/rules/",
                $code,
                ".md"
            ))
        }
        fn tables(&self) -> &'static [crate::snapshot::Table] {
            $tables
        }
    };
}
pub(crate) use meta;

/// Rule codes by name, for the places outside the rules that name one (the totals, the
/// headline cards, the clean-up section); a test checks each against `RULES`.
pub mod code {
    pub const PUBLIC_PRICE_EXPOSURE: &str = "EA001";
    pub const GRANT_NOT_ACTIVATED: &str = "EA002";
    pub const GRANT_FAILED: &str = "EA003";
    pub const ORPHANED_GRANT: &str = "EA004";
    pub const USAGE_AFTER_CANCELLATION: &str = "EA005";
    pub const SUPERSEDED_SUBSCRIPTION: &str = "EA006";
    pub const GRANT_TO_INACTIVE_PRINCIPAL: &str = "EA007";
    pub const DUPLICATE_GRANT: &str = "EA008";
    pub const UNMAPPED_SPEND: &str = "EA009";
    pub const UNALLOCATED_SPEND: &str = "EA010";
    pub const PRIVATE_OFFER_ENDING: &str = "EA011";
    pub const LICENSE_OUTLIVES_AGREEMENT: &str = "EA012";
    pub const COVERED_BILLED_PUBLIC: &str = "EA013";
    pub const EXPOSED_BILLED_PRIVATE: &str = "EA014";
    pub const INVOCATION_WITHOUT_GRANT: &str = "EA015";
    pub const MEMBER_OWN_SUBSCRIPTION: &str = "EA016";
    pub const UNMAPPED_INVOCATIONS: &str = "EA017";

    /// (code, rule name) of every constant, for the test.
    pub const ALL: &[(&str, &str)] = &[
        (PUBLIC_PRICE_EXPOSURE, "public-price-exposure"),
        (GRANT_NOT_ACTIVATED, "grant-not-activated"),
        (GRANT_FAILED, "grant-failed"),
        (ORPHANED_GRANT, "orphaned-grant"),
        (USAGE_AFTER_CANCELLATION, "usage-after-cancellation"),
        (SUPERSEDED_SUBSCRIPTION, "superseded-subscription"),
        (GRANT_TO_INACTIVE_PRINCIPAL, "grant-to-inactive-principal"),
        (DUPLICATE_GRANT, "duplicate-grant"),
        (UNMAPPED_SPEND, "unmapped-spend"),
        (UNALLOCATED_SPEND, "unallocated-spend"),
        (PRIVATE_OFFER_ENDING, "private-offer-ending"),
        (LICENSE_OUTLIVES_AGREEMENT, "license-outlives-agreement"),
        (
            COVERED_BILLED_PUBLIC,
            "covered-usage-billed-at-public-price",
        ),
        (
            EXPOSED_BILLED_PRIVATE,
            "uncovered-usage-billed-at-private-price",
        ),
        (INVOCATION_WITHOUT_GRANT, "invocation-without-grant"),
        (MEMBER_OWN_SUBSCRIPTION, "member-own-subscription"),
        (UNMAPPED_INVOCATIONS, "unmapped-invocations"),
    ];
}

/// What EA013 and EA014 read: the coverage (accounts, grants, events, licenses), the usage
/// rows and both rates of their dimension.
const BILLED_RATE_TABLES: &[crate::snapshot::Table] = {
    use crate::snapshot::Table;
    &[
        Table::Accounts,
        Table::Licenses,
        Table::Grants,
        Table::GrantEvents,
        Table::Usage,
        Table::Agreements,
        Table::Rates,
    ]
};

/// All rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &ea001::PublicPriceExposure,
    &ea002::GrantNotActivated,
    &ea003::GrantFailed,
    &ea004::OrphanedGrant,
    &ea005::UsageAfterCancellation,
    &ea006::SupersededSubscription,
    &ea007::GrantToInactivePrincipal,
    &ea008::DuplicateGrant,
    &ea009::UnmappedSpend,
    &ea010::UnallocatedSpend,
    &ea011::PrivateOfferEnding,
    &ea012::LicenseOutlivesAgreement,
    &ea013::CoveredUsageBilledAtPublicPrice,
    &ea014::UncoveredUsageBilledAtPrivatePrice,
    &ea015::InvocationWithoutGrant,
    &ea016::MemberOwnSubscription,
    &ea017::UnmappedInvocations,
];

pub fn by_code(code: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code().eq_ignore_ascii_case(code))
}

/// What the analysis computed before the rules run.
pub struct Facts {
    pub segments: Vec<Segment>,
    pub unmapped: Vec<Unmapped>,
    /// Account id -> spend no method could attribute to a team.
    pub unallocated: BTreeMap<String, Spend>,
    /// Accounts of `unallocated` whose spend was used by an account whose tags were not read
    /// (`tags_read` false) while `account-tag` is an allocation method: whether it has a team
    /// is not known.
    pub unallocated_tags_unread: BTreeSet<String>,
    /// Product key -> how overspend is estimated and the discount (fraction off public price).
    pub price_basis: BTreeMap<String, (OverspendBasis, f64)>,
    /// The member accounts' invocations, matched to products.
    pub invoked: super::invoked::Invoked,
}

impl Facts {
    /// Spend per (account, product key) over the segments in the kept states, with the
    /// license of the first such segment.
    pub fn spend_by_state(
        &self,
        keep: impl Fn(State) -> bool,
    ) -> BTreeMap<(&str, &str), (Spend, &str)> {
        let mut out: BTreeMap<(&str, &str), (Spend, &str)> = BTreeMap::new();
        for s in self
            .segments
            .iter()
            .filter(|s| keep(s.state) && s.spend.rows > 0)
        {
            out.entry((s.account_id.as_str(), s.product_key.as_str()))
                .or_insert_with(|| (Spend::default(), s.license_arn.as_str()))
                .0
                .add(&s.spend);
        }
        out
    }

    /// The segments in the kept states with rows billed against their state (`billed_rows` of
    /// their spend above zero), summed per (account, product key), with the first such
    /// segment: the evidence of EA013 and EA014.
    pub fn billed_against(
        &self,
        keep: impl Fn(State) -> bool,
        billed_rows: impl Fn(&Spend) -> u64,
    ) -> BTreeMap<(&str, &str), (Spend, &Segment)> {
        let mut out: BTreeMap<(&str, &str), (Spend, &Segment)> = BTreeMap::new();
        for s in self
            .segments
            .iter()
            .filter(|s| keep(s.state) && billed_rows(&s.spend) > 0)
        {
            out.entry((s.account_id.as_str(), s.product_key.as_str()))
                .or_insert_with(|| (Spend::default(), s))
                .0
                .add(&s.spend);
        }
        out
    }

    /// Overspend of exposed spend on a product, with its basis ([`overspend`]).
    pub fn overspend(&self, product_key: &str, exposed: &Spend) -> (Option<f64>, OverspendBasis) {
        overspend(&self.price_basis, product_key, exposed)
    }

    /// The part of exposed spend whose overspend is unknown: no rate and no discount.
    pub fn unpriced(&self, product_key: &str, exposed: &Spend) -> f64 {
        match self.overspend(product_key, exposed).1 {
            OverspendBasis::AgreementTermsPartial => exposed.cost_usd - exposed.rated_cost_usd,
            b if b.is_unknown() => exposed.cost_usd,
            _ => 0.0,
        }
    }
}

/// Overspend of exposed spend on a product, with its basis: exact on the rows whose
/// dimension has both rates, the product's discount (observed or configured, from
/// `price_basis`) on the rest.
pub fn overspend(
    price_basis: &BTreeMap<String, (OverspendBasis, f64)>,
    product_key: &str,
    exposed: &Spend,
) -> (Option<f64>, OverspendBasis) {
    use crate::money::round;
    let basis = price_basis.get(product_key);
    let discount = basis.filter(|(basis, _)| !basis.is_unknown());
    let unknown = basis.map_or(OverspendBasis::None, |(b, _)| *b);
    // From the cost as reported (to a millionth), so that last-bit noise of parallel sums
    // cannot flip the rounding of the product.
    let rest = round(exposed.cost_usd - exposed.rated_cost_usd);
    let exact = exposed.rated_overspend_usd;
    match (exposed.rated_rows, discount) {
        (0, Some((basis, d))) => (Some(round(exposed.cost_usd) * d), *basis),
        (0, None) => (None, unknown),
        _ if rest.abs() < 0.005 => (Some(exact), OverspendBasis::AgreementTerms),
        (_, Some((_, d))) => (
            Some(exact + rest * d),
            OverspendBasis::AgreementTermsAndDiscount,
        ),
        (_, None) => (Some(exact), OverspendBasis::AgreementTermsPartial),
    }
}

/// A finding for `account_id` with the account's name, OU path and team filled in.
pub(crate) fn finding(cx: &Context, rule: &dyn Rule, account_id: &str) -> Finding {
    let account = cx.account(account_id);
    let team = account
        .and_then(|a| cx.account_team(a))
        .map(|(t, _)| t)
        .unwrap_or_default();
    Finding {
        id: String::new(),
        rule: rule.code(),
        name: rule.name(),
        severity: cx.cfg.severity_of(rule.code(), rule.default_severity()),
        account_id: account_id.to_string(),
        account_name: account.map(|a| a.name.clone()).unwrap_or_default(),
        ou_path: account.map(|a| a.ou_path.clone()).unwrap_or_default(),
        team,
        product: String::new(),
        license_arn: String::new(),
        grant_arn: String::new(),
        first_day: None,
        last_day: None,
        cost_usd: None,
        overspend_usd: None,
        overspend_basis: OverspendBasis::NotApplicable,
        activation_unknown_usd: None,
        data_incomplete: false,
        related_finding_id: String::new(),
        message: String::new(),
        remediation: String::new(),
        tracking: Default::default(),
    }
}

/// Sets a finding's money and evidence days from a spend sum.
pub(crate) fn with_spend(mut f: Finding, s: &Spend) -> Finding {
    f.cost_usd = Some(s.cost_usd);
    f.first_day = s.first_day;
    f.last_day = s.last_day;
    f
}

/// A finding about an account's spend on a product of the organization's licenses: the
/// money and its days, the product's name and the license.
pub(crate) fn product_spend(
    cx: &Context,
    rule: &dyn Rule,
    account_id: &str,
    product_key: &str,
    s: &Spend,
    license_arn: &str,
) -> Finding {
    let mut f = with_spend(finding(cx, rule, account_id), s);
    f.product = cx.products.name(product_key).to_string();
    f.license_arn = license_arn.to_string();
    f
}

/// The days of a spend, `first and last`, as text for messages.
pub(crate) fn spend_days(s: &Spend) -> String {
    days_between(s.first_day, s.last_day)
}

/// A day range, `first and last`, as text for messages.
pub(crate) fn days_between(
    first: Option<chrono::NaiveDate>,
    last: Option<chrono::NaiveDate>,
) -> String {
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    format!("{} and {}", day(first), day(last))
}

/// The account named in a grant finding: the grantee when it is an account.
pub(crate) fn grantee_account(g: &crate::model::Grant) -> &str {
    if g.grantee_kind == crate::model::PrincipalKind::Account {
        &g.grantee_id
    } else {
        ""
    }
}

/// A finding about one grant: its grantee account (when an account), license, product.
pub(crate) fn grant_finding(cx: &Context, rule: &dyn Rule, g: &crate::model::Grant) -> Finding {
    let mut f = finding(cx, rule, grantee_account(g));
    f.product = license_product(cx, &g.license_arn);
    f.license_arn = g.license_arn.clone();
    f.grant_arn = g.arn.clone();
    f.last_day = Some(cx.as_of);
    f
}

/// The product name of a license (display name), for findings.
pub(crate) fn license_product(cx: &Context, license_arn: &str) -> String {
    cx.license(license_arn)
        .map(|l| l.product_name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_unique_sorted_and_documented() {
        let codes: Vec<&str> = RULES.iter().map(|r| r.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted, "rule codes must be unique and sorted");
        for r in RULES {
            for heading in [
                "## What it checks",
                "## Why it matters",
                "## Example",
                "## How to fix",
                "## Data it needs",
            ] {
                assert!(
                    r.doc().contains(heading),
                    "{} doc lacks `{heading}`",
                    r.code()
                );
            }
            assert!(
                r.doc().contains(r.name()),
                "{} doc does not name the rule",
                r.code()
            );
            assert!(r.name().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
        }
    }

    /// `code::` has one constant per rule, naming that rule: a rule added without its
    /// constant, or a constant left pointing at another rule, fails here.
    #[test]
    fn code_constants_name_their_rules() {
        let rules: Vec<(&str, &str)> = RULES.iter().map(|r| (r.code(), r.name())).collect();
        assert_eq!(code::ALL, rules.as_slice());
    }
}
