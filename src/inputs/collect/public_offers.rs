//! The public rates of the organization's models: Bedrock `ListFoundationModels` to find each
//! licensed model's id (by its name, normalized like the license's product name), then
//! `ListFoundationModelAgreementOffers` with `offerType = PUBLIC` for its public offer's rate
//! card (`dimension`, `price`, `unit`), in us-east-1.
//!
//! Why Bedrock's offers and not the AWS Price List: the offers carry exactly the Marketplace
//! dimension keys the usage types name (`USE1_InputTokenCount`, `USE1_input_tokens_standard`),
//! with a unit per price; the Price List's `AmazonBedrockFoundationModels` coverage of
//! third-party models is not settled (docs/finance.md).

use std::collections::BTreeSet;

use aws_sdk_bedrock::types::{FoundationModelSummary, OfferType};

use super::call::Cx;
use super::permissions::{LIST_FOUNDATION_MODELS, LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS};
use crate::analyze::products::product_key;
use crate::model::{License, Rate, RateSource};
use crate::snapshot::Table;

/// The currency of Bedrock's offer prices: the rate card states none (UNCONFIRMED that it is
/// always USD; Marketplace bills Bedrock models in USD).
const OFFER_CURRENCY: &str = "USD";

/// Bedrock's foundation models in us-east-1 (`ListFoundationModels`): what prices the
/// licenses' models here and names the models the member accounts invoke. A failure is a gap
/// of `tables`.
pub async fn foundation_models(
    cx: &Cx<'_>,
    tables: &[Table],
) -> Option<Vec<FoundationModelSummary>> {
    let client = &cx.clients.bedrock;
    let models = cx
        .call(
            &LIST_FOUNDATION_MODELS,
            client.list_foundation_models().send(),
        )
        .await;
    cx.ok(&LIST_FOUNDATION_MODELS, "us-east-1", tables, models)
        .map(|m| m.model_summaries().to_vec())
}

/// The public rates of the models of `licenses`, among `models`.
pub async fn collect(
    cx: &Cx<'_>,
    licenses: &[&License],
    models: Option<&[FoundationModelSummary]>,
) -> Vec<Rate> {
    let (false, Some(models)) = (licenses.is_empty(), models) else {
        return Vec::new();
    };
    cx.progress.message("reading the models' public offers");
    let client = &cx.clients.bedrock;
    let mut rates = Vec::new();
    for m in models {
        let Some(name) = m.model_name() else { continue };
        let Some(license) = licenses
            .iter()
            .find(|l| product_key(&l.product_name) == product_key(name))
        else {
            continue;
        };
        let id = m.model_id();
        let request = client
            .list_foundation_model_agreement_offers()
            .model_id(id)
            .offer_type(OfferType::Public)
            .send();
        let answer = cx
            .call(&LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS, request)
            .await;
        let Some(out) = cx.ok(
            &LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS,
            id,
            &[Table::Rates],
            answer,
        ) else {
            continue;
        };
        let offers = out.offers();
        let mut seen = BTreeSet::new();
        let card = offers
            .iter()
            .filter_map(|o| o.term_details()?.usage_based_pricing_term())
            .flat_map(|t| t.rate_card());
        for r in card {
            let (Some(dimension), Some(price)) = (r.dimension(), r.price()) else {
                continue;
            };
            // The first offer's price of a dimension stands.
            if !seen.insert(dimension.to_string()) {
                continue;
            }
            rates.push(Rate {
                source: RateSource::PublicOffer,
                agreement_id: None,
                product: license.product_name.clone(),
                dimension_key: dimension.to_string(),
                price: price.to_string(),
                currency: OFFER_CURRENCY.to_string(),
                unit: r.unit().map(str::to_string),
            });
        }
    }
    rates
}
