//! Public rates from the AWS Price List (`GetProducts`, service code
//! `AmazonBedrockFoundationModels`, JSON 1.1 in us-east-1): the fallback for licensed models
//! whose Bedrock public offer gave no rate (model not listed, no offer, or the read failed).
//!
//! Each price item is a JSON document (`product.attributes.usagetype`, exactly the CUR usage
//! type, and `terms.OnDemand.*.priceDimensions.*` with `unit` and `pricePerUnit`). Which
//! third-party models the Price List carries, and whether its unit is `Units` or `1M tokens`,
//! no primary source settles: the unit is kept as the item states it, and the rate book uses a
//! price only where that unit is the usage type's own.

use serde_json::Value;

use super::call::{Cx, Page};
use super::ledger::CallError;
use super::permissions::GET_PRODUCTS;
use crate::analyze::rates::dimension;
use crate::model::{License, Rate, RateSource};
use crate::snapshot::Table;
use aws_sdk_pricing::types::{Filter, FilterType};

const SERVICE_CODE: &str = "AmazonBedrockFoundationModels";
/// `MaxResults` maximum of `GetProducts`.
const MAX_RESULTS: i32 = 100;
/// The ledger code of a price item that is not the JSON document described above.
const MALFORMED: &str = "MalformedPriceListItem";

/// The name a Marketplace model carries in billing and in the Price List's `servicename`.
pub fn service_name(product_name: &str) -> String {
    format!("{product_name} (Amazon Bedrock Edition)")
}

/// The Price List rates of the models of `licenses` (those without a public-offer rate).
pub async fn collect(cx: &Cx<'_>, licenses: &[&License]) -> Vec<Rate> {
    if licenses.is_empty() {
        return Vec::new();
    }
    cx.progress
        .message("reading the Price List for models without a public offer");
    let client = &cx.clients.pricing;
    let mut rates = Vec::new();
    for license in licenses {
        let name = service_name(&license.product_name);
        let paged = cx
            .pages(&GET_PRODUCTS, |token| {
                let request = client
                    .get_products()
                    .service_code(SERVICE_CODE)
                    .filters(
                        Filter::builder()
                            .r#type(FilterType::TermMatch)
                            .field("servicename")
                            .value(&name)
                            .build()
                            .expect("type, field and value are set"),
                    )
                    .format_version("aws_v1")
                    .max_results(cx.page_size(MAX_RESULTS))
                    .set_next_token(token);
                async move {
                    let out = request.send().await?;
                    Ok(Page::new(out.price_list().to_vec(), out.next_token()))
                }
            })
            .await;
        let items = cx.keep(&GET_PRODUCTS, &name, &[Table::Rates], paged);
        for (i, item) in items.iter().enumerate() {
            match item_rates(item, &license.product_name) {
                Ok(found) => rates.extend(found),
                Err(why) => {
                    let err = CallError::new(MALFORMED, format!("price item {i}: {why}"));
                    cx.ledger
                        .record(&GET_PRODUCTS, &name, &[Table::Rates], &err);
                }
            }
        }
    }
    rates
}

/// The on-demand prices of one price item, one rate per currency of each price dimension.
fn item_rates(item: &str, product: &str) -> Result<Vec<Rate>, String> {
    let doc: Value = serde_json::from_str(item).map_err(|e| format!("not JSON: {e}"))?;
    let usage_type = doc["product"]["attributes"]["usagetype"]
        .as_str()
        .filter(|u| !u.trim().is_empty())
        .ok_or("no product.attributes.usagetype")?;
    let (dimension_key, _) = dimension(usage_type);
    let terms = doc["terms"]["OnDemand"]
        .as_object()
        .ok_or("no terms.OnDemand")?;
    let mut rates = Vec::new();
    for term in terms.values() {
        let dimensions = term["priceDimensions"]
            .as_object()
            .ok_or("an OnDemand term without priceDimensions")?;
        for d in dimensions.values() {
            let prices = d["pricePerUnit"]
                .as_object()
                .ok_or("a price dimension without pricePerUnit")?;
            for (currency, price) in prices {
                let price = price.as_str().ok_or("a price that is not text")?;
                rates.push(Rate {
                    source: RateSource::PriceList,
                    agreement_id: None,
                    product: product.to_string(),
                    dimension_key: dimension_key.to_string(),
                    price: price.trim().to_string(),
                    currency: currency.clone(),
                    unit: d["unit"].as_str().map(str::to_string),
                });
            }
        }
    }
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"{"product":{"productFamily":"Bedrock","attributes":{"servicename":"Command R+ (Amazon Bedrock Edition)","usagetype":"USE1-MP:USE1_InputTokenCount-Units"},"sku":"SKU1"},"terms":{"OnDemand":{"SKU1.T1":{"priceDimensions":{"SKU1.T1.D1":{"unit":"Units","pricePerUnit":{"USD":"3.0000000000"},"description":"$3 per million input tokens"}}}}}}"#;

    #[test]
    fn an_item_gives_its_dimension_price_currency_and_unit() {
        let rates = item_rates(ITEM, "Command R+").unwrap();
        assert_eq!(rates.len(), 1);
        let r = &rates[0];
        assert_eq!(r.dimension_key, "USE1_InputTokenCount");
        assert_eq!(r.price, "3.0000000000");
        assert_eq!(
            (r.currency.as_str(), r.unit.as_deref()),
            ("USD", Some("Units"))
        );
        assert_eq!(r.source, RateSource::PriceList);
    }

    #[test]
    fn a_malformed_item_says_what_is_missing() {
        assert!(item_rates("{", "x").unwrap_err().contains("not JSON"));
        let no_type = ITEM.replace("usagetype", "operation");
        assert!(item_rates(&no_type, "x").unwrap_err().contains("usagetype"));
        let no_terms = r#"{"product":{"attributes":{"usagetype":"U"}}}"#;
        assert!(item_rates(no_terms, "x").unwrap_err().contains("OnDemand"));
    }
}
