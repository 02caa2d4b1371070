//! The member accounts' invocations matched to the organization's products: per (account,
//! product, day) the invocations and tokens, with their cost at the public rate where the
//! rates know it; and the Marketplace model ids that match no product (never dropped).
//!
//! A row's product: `[[model_mappings]]` for its base model id first, else its Bedrock model
//! name matched like a usage product name. Models of providers not sold through Marketplace
//! (Amazon, Meta, Mistral, DeepSeek, Qwen) need no grant and are left out.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::context::Context;
use super::products::product_key;
use crate::model::invocations::{billing_code, is_marketplace_provider, normalize, Normalized};

/// One account's invocations of one product on one day, every region together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvokedDay {
    pub invocations: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The tokens at the public rate, where the rate card prices both kinds in the region.
    pub public_cost_usd: f64,
    /// Invocations whose tokens had no public rate to price them.
    pub unpriced_invocations: u64,
    /// The `ModelId` values seen.
    pub model_ids: Vec<String>,
}

/// Invocations of a Marketplace model that matches no product of the organization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnmappedInvocations {
    pub invocations: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// How the id resolved (`unresolved` when nothing did) and to what.
    pub resolution: String,
    pub base_model_id: String,
}

#[derive(Debug, Default)]
pub struct Invoked {
    /// (account, product key, day).
    pub days: BTreeMap<(String, String, NaiveDate), InvokedDay>,
    /// (account, model id as CloudWatch has it).
    pub unmapped: BTreeMap<(String, String), UnmappedInvocations>,
}

impl Invoked {
    /// The (account, product key) pairs invoked: coverage needs their segments.
    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.days.keys().map(|(a, k, _)| (a.clone(), k.clone()))
    }
}

/// The window's invocations of the snapshot, matched to products.
pub fn invoked(cx: &Context) -> Invoked {
    let mut out = Invoked::default();
    let Some(rows) = &cx.snap.invocations else {
        return out;
    };
    let mapped: BTreeMap<String, String> = cx
        .cfg
        .model_mappings
        .iter()
        .map(|m| {
            let id = match normalize(&m.model_id) {
                Normalized::Model(base, _) => base,
                _ => m.model_id.trim().to_string(),
            };
            (id, product_key(&m.product))
        })
        .collect();
    for r in rows
        .iter()
        .filter(|r| r.day >= cx.window_start && r.day <= cx.as_of)
    {
        if !r.base_model_id.is_empty() && !is_marketplace_provider(&r.base_model_id) {
            continue;
        }
        let key = mapped
            .get(&r.base_model_id)
            .filter(|k| cx.products.names.contains_key(*k))
            .map(String::as_str)
            .or_else(|| {
                (!r.model_name.is_empty())
                    .then(|| cx.products.resolve(&r.model_name))
                    .flatten()
            });
        let Some(key) = key else {
            let u = out
                .unmapped
                .entry((r.account_id.clone(), r.model_id.clone()))
                .or_default();
            u.invocations += r.invocations;
            u.first_day = Some(u.first_day.map_or(r.day, |d| d.min(r.day)));
            u.last_day = u.last_day.max(Some(r.day));
            u.resolution = r.resolution.clone();
            u.base_model_id = r.base_model_id.clone();
            continue;
        };
        let d = out
            .days
            .entry((r.account_id.clone(), key.to_string(), r.day))
            .or_default();
        d.invocations += r.invocations;
        d.input_tokens += r.input_tokens;
        d.output_tokens += r.output_tokens;
        if !d.model_ids.contains(&r.model_id) {
            d.model_ids.push(r.model_id.clone());
        }
        match public_cost(cx, key, &r.region, r.input_tokens, r.output_tokens) {
            Some(usd) => d.public_cost_usd += usd,
            None => d.unpriced_invocations += r.invocations,
        }
    }
    out
}

/// The tokens at the public rate of the region's `InputTokenCount` and `OutputTokenCount`
/// dimensions (`USE1_InputTokenCount`, per `Units`), or of its `input_tokens_standard` and
/// `output_tokens_standard`. A Unit is taken to be a million tokens,
/// as the `-MP:` usage rows' quantities are and as the offers describe their dimensions
/// ("Million Input Tokens", "$3 per million input tokens"; UNCONFIRMED that they always
/// match: docs/members.md). `None` when either rate is unknown.
fn public_cost(cx: &Context, key: &str, region: &str, input: u64, output: u64) -> Option<f64> {
    let code = billing_code(region)?;
    let license = cx.products.licenses.get(key)?.first()?;
    let arn = &cx.snap.licenses[*license].arn;
    let price = |metric: &str| {
        let usage_type = format!("{code}-MP:{code}_{metric}-Units");
        cx.rates.public_price(arn, key, &usage_type)
    };
    // The older dimension names, then the newer ones (`USE1_input_tokens_standard`): the first
    // pair the card prices both of.
    let (i, o) = TOKEN_DIMENSIONS
        .iter()
        .find_map(|(i, o)| Some((price(i)?, price(o)?)))?;
    Some((input as f64 * i + output as f64 * o) / TOKENS_PER_UNIT)
}

/// (input, output) token dimension names of the rate cards, older first.
const TOKEN_DIMENSIONS: &[(&str, &str)] = &[
    ("InputTokenCount", "OutputTokenCount"),
    ("input_tokens_standard", "output_tokens_standard"),
];

/// Tokens in one `Units` of a token dimension.
const TOKENS_PER_UNIT: f64 = 1e6;
