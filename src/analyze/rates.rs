//! The price of each usage row: the organization's private rate (its agreement's usage-based
//! pricing term) and the model's public rate, per dimension.
//!
//! A usage type `USE1-MP:USE1_InputTokenCount-Units` names the dimension `USE1_InputTokenCount`
//! and the unit `Units` of its quantity. An exposed row's exact overspend is its quantity times
//! (public - private) when both rates of its dimension are known and their unit, where the card
//! states one, is the quantity's: a unit that differs is never converted by guess. The config's
//! `[[pricing.rates]]` win over the data.

use std::collections::BTreeMap;

use crate::analyze::products::{product_key, Products};
use crate::config::Config;
use crate::model::{Agreement, AgreementStatus, RateSource};
use crate::snapshot::Snapshot;

/// One price of a dimension, in USD per `unit` (or per the quantity's unit when `None`).
#[derive(Debug, Clone, PartialEq)]
struct Price {
    usd: f64,
    unit: Option<String>,
}

/// Dimension key -> price.
type Card = BTreeMap<String, Price>;

/// Every rate the run knows, by license (private) and product key (public).
#[derive(Debug, Default)]
pub struct RateBook {
    /// Organization license ARN -> the private rate card of its agreement.
    private: BTreeMap<String, Card>,
    /// Organization license ARN -> the agreement the private card comes from.
    agreement_of: BTreeMap<String, String>,
    /// Product key -> the public rate card.
    public: BTreeMap<String, Card>,
    /// (product key, dimension) -> the config's (public, private) prices.
    config: BTreeMap<(String, String), (Option<f64>, Option<f64>)>,
}

/// A usage type's dimension key and the unit of its quantity: the text after the
/// `<REGION>-MP:` prefix, split at its last `-`.
pub fn dimension(usage_type: &str) -> (&str, Option<&str>) {
    let rest = usage_type
        .split_once(':')
        .map_or(usage_type, |(_, rest)| rest);
    match rest.rsplit_once('-') {
        Some((dim, unit)) if !dim.is_empty() && !unit.is_empty() => (dim, Some(unit)),
        _ => (rest, None),
    }
}

impl RateBook {
    pub fn new(snap: &Snapshot, products: &Products, cfg: &Config) -> RateBook {
        let mut book = RateBook::default();
        for (license_arn, agreement) in agreements_by_license(snap, products) {
            let card: Card = snap
                .rates
                .iter()
                .filter(|r| r.source == RateSource::Agreement)
                .filter(|r| r.agreement_id.as_deref() == Some(agreement.id.as_str()))
                .filter_map(|r| price(&r.price, &r.currency, &r.unit).map(|p| (r, p)))
                .map(|(r, p)| (r.dimension_key.clone(), p))
                .collect();
            book.agreement_of
                .insert(license_arn.to_string(), agreement.id.clone());
            book.private.insert(license_arn.to_string(), card);
        }
        // The public offer first; the Price List only where the offer has no such dimension;
        // a rate remembered by the history store last.
        for source in [
            RateSource::PublicOffer,
            RateSource::PriceList,
            RateSource::History,
        ] {
            for r in snap.rates.iter().filter(|r| r.source == source) {
                let Some(p) = price(&r.price, &r.currency, &r.unit) else {
                    continue;
                };
                book.public
                    .entry(product_key(&r.product))
                    .or_default()
                    .entry(r.dimension_key.clone())
                    .or_insert(p);
            }
        }
        for o in &cfg.pricing.rates {
            book.config.insert(
                (product_key(&o.product), o.dimension.clone()),
                (o.public_usd, o.private_usd),
            );
        }
        book
    }

    /// The agreement whose terms give a license its private rates, if any.
    pub fn agreement(&self, license_arn: &str) -> Option<&str> {
        self.agreement_of.get(license_arn).map(String::as_str)
    }

    /// The public and private price per unit of a usage row's quantity, for a row of
    /// `usage_type` under `license_arn` (product `product_key`); `None` unless both are known in
    /// the quantity's unit.
    pub fn prices(&self, license_arn: &str, product_key: &str, usage_type: &str) -> Option<Prices> {
        let (dim, unit) = dimension(usage_type);
        let configured = self.config.get(&(product_key.to_string(), dim.to_string()));
        let public = self.public_price(license_arn, product_key, usage_type)?;
        let private = configured
            .and_then(|c| c.1)
            .or_else(|| card_price(self.private.get(license_arn), usage_type, dim, unit))?;
        Some(Prices { public, private })
    }

    /// The public price per unit of a row of `usage_type` (the configured one first, else the
    /// public rate card's), when known in the quantity's unit.
    pub fn public_price(
        &self,
        _license_arn: &str,
        product_key: &str,
        usage_type: &str,
    ) -> Option<f64> {
        let (dim, unit) = dimension(usage_type);
        let configured = self.config.get(&(product_key.to_string(), dim.to_string()));
        configured
            .and_then(|c| c.0)
            .or_else(|| card_price(self.public.get(product_key), usage_type, dim, unit))
    }
}

/// A card's price of a dimension, when its unit is the quantity's.
fn card_price(card: Option<&Card>, usage_type: &str, dim: &str, unit: Option<&str>) -> Option<f64> {
    let card = card?;
    let p = key_forms(usage_type, dim).find_map(|k| card.get(k.as_ref()))?;
    match (&p.unit, unit) {
        (Some(rate_unit), Some(q)) if !rate_unit.eq_ignore_ascii_case(q) => None,
        // The card states a unit the usage type does not: nothing to check it against.
        (Some(_), None) => None,
        _ => Some(p.usd),
    }
}

/// The two prices of a dimension, in USD per unit of the quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub public: f64,
    pub private: f64,
}

/// Which price a usage row was billed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BilledAt {
    Public,
    Private,
}

/// How close the billed rate must be to a price to count as billed at it, as a fraction of
/// the price: a day's row may mix hours at both prices, and cost and quantity are rounded.
const BILLED_TOLERANCE: f64 = 0.01;

impl Prices {
    /// Public minus private: what each unit billed at public price lost.
    pub fn gap(&self) -> f64 {
        self.public - self.private
    }

    /// The price a row of `cost_usd` for `quantity` units was billed at (the CUR
    /// `line_item_unblended_rate` of a usage line is its cost over its amount), when it is
    /// clearly one of the two: `None` for credits, empty quantities, a rate between the two (a
    /// day that mixes both) or prices too close to tell apart.
    pub fn billed_at(&self, cost_usd: f64, quantity: f64) -> Option<BilledAt> {
        if cost_usd <= 0.0 || quantity <= 0.0 {
            return None;
        }
        let rate = cost_usd / quantity;
        let near = |price: f64| (rate - price).abs() <= BILLED_TOLERANCE * price;
        if self.gap() <= 2.0 * BILLED_TOLERANCE * self.public {
            return None;
        }
        match (near(self.public), near(self.private)) {
            (true, false) => Some(BilledAt::Public),
            (false, true) => Some(BilledAt::Private),
            _ => None,
        }
    }
}

/// The keys a usage type's dimension may carry on a rate card, in order: as the usage type
/// names it, then without, or with, the usage type's own region code (`USE1` of
/// `USE1-MP:...`). Both forms are seen on public offers (`USE1_input_tokens_standard` and,
/// on some models' offers, `input_tokens_standard`); which one a model's agreement terms use
/// is not settled, so either matches, and only with the region the usage type itself names.
fn key_forms<'a>(
    usage_type: &'a str,
    dim: &'a str,
) -> impl Iterator<Item = std::borrow::Cow<'a, str>> {
    use std::borrow::Cow;
    let region = usage_type
        .split_once("-MP:")
        .map(|(r, _)| r)
        .filter(|r| !r.is_empty() && !r.contains(':'));
    let other = region.map(
        |r| match dim.strip_prefix(r).and_then(|d| d.strip_prefix('_')) {
            Some(bare) => Cow::Borrowed(bare),
            None => Cow::Owned(format!("{r}_{dim}")),
        },
    );
    std::iter::once(Cow::Borrowed(dim)).chain(other)
}

/// A rate in USD, or `None` (a price that is not a number, or in another currency: usage is
/// billed in USD and is never converted).
fn price(text: &str, currency: &str, unit: &Option<String>) -> Option<Price> {
    let usd: f64 = text.trim().parse().ok()?;
    (currency.eq_ignore_ascii_case("USD") && usd.is_finite() && usd >= 0.0).then(|| Price {
        usd,
        unit: unit.clone().filter(|u| !u.trim().is_empty()),
    })
}

/// The agreement that prices each organization license: linked by the license ARN the
/// agreement names, else by the agreement's product id equal to the license's `ProductSKU`
/// when exactly one license has it. An ACTIVE agreement wins; else the one that started last.
fn agreements_by_license<'a>(
    snap: &'a Snapshot,
    products: &Products,
) -> BTreeMap<&'a str, &'a Agreement> {
    let mut out: BTreeMap<&str, &Agreement> = BTreeMap::new();
    for a in &snap.agreements {
        let by_sku = || {
            let mut same = snap
                .licenses
                .iter()
                .filter(|l| !a.product_id.is_empty() && l.product_sku == a.product_id)
                .filter(|l| products.license(&l.arn).is_some());
            match (same.next(), same.next()) {
                (Some(l), None) => Some(l.arn.as_str()),
                _ => None,
            }
        };
        let Some(arn) = a.license_arn.as_deref().or_else(by_sku) else {
            continue;
        };
        if products.license(arn).is_none() {
            continue;
        }
        let rank = |x: &Agreement| (x.status == AgreementStatus::Active, x.start_time);
        out.entry(arn)
            .and_modify(|held| {
                if rank(a) > rank(held) {
                    *held = a;
                }
            })
            .or_insert(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_of_usage_types() {
        assert_eq!(
            dimension("USE1-MP:USE1_InputTokenCount-Units"),
            ("USE1_InputTokenCount", Some("Units"))
        );
        assert_eq!(
            dimension("USW2-MP:USW2_output_tokens_standard-Units"),
            ("USW2_output_tokens_standard", Some("Units"))
        );
        // No prefix, no unit: the whole text is the dimension.
        assert_eq!(
            dimension("input_tokens_standard"),
            ("input_tokens_standard", None)
        );
        assert_eq!(dimension("USE1-MP:odd-"), ("odd-", None));
    }

    #[test]
    fn a_dimension_matches_its_key_with_or_without_its_own_region_code() {
        let forms = |u: &'static str| -> Vec<String> {
            let (dim, _) = dimension(u);
            key_forms(u, dim).map(|k| k.into_owned()).collect()
        };
        assert_eq!(
            forms("USE1-MP:USE1_input_tokens_standard-Units"),
            ["USE1_input_tokens_standard", "input_tokens_standard"]
        );
        assert_eq!(
            forms("USE1-MP:input_tokens_standard-Units"),
            ["input_tokens_standard", "USE1_input_tokens_standard"]
        );
        // Another region's code is not stripped; no `-MP:` prefix, no other form.
        assert_eq!(
            forms("USE1-MP:USW2_input_tokens_standard-Units"),
            [
                "USW2_input_tokens_standard",
                "USE1_USW2_input_tokens_standard"
            ]
        );
        assert_eq!(forms("input_tokens_standard"), ["input_tokens_standard"]);
    }

    #[test]
    fn billed_at_the_price_the_rate_is_within_one_percent_of() {
        let p = Prices {
            public: 3.0,
            private: 2.25,
        };
        assert_eq!(p.billed_at(30.0, 10.0), Some(BilledAt::Public));
        assert_eq!(p.billed_at(22.5, 10.0), Some(BilledAt::Private));
        assert_eq!(p.billed_at(22.6, 10.0), Some(BilledAt::Private));
        // A day of both prices, a credit, no quantity: no evidence.
        assert_eq!(p.billed_at(26.0, 10.0), None);
        assert_eq!(p.billed_at(-3.0, 1.0), None);
        assert_eq!(p.billed_at(3.0, 0.0), None);
        // Prices too close to tell apart.
        let close = Prices {
            public: 3.0,
            private: 2.97,
        };
        assert_eq!(close.billed_at(3.0, 1.0), None);
    }

    #[test]
    fn prices_only_in_usd_and_as_numbers() {
        assert!(price("3.00", "USD", &None).is_some());
        assert!(price("3.00", "EUR", &None).is_none());
        assert!(price("three", "USD", &None).is_none());
        assert!(price("-1", "USD", &None).is_none());
        assert_eq!(
            price(" 0.000003 ", "usd", &Some(" ".into())),
            Some(Price {
                usd: 0.000003,
                unit: None
            })
        );
    }
}
