//! The AWS Price List (JSON 1.1, `AWSPriceListService`): `GetProducts` over the scenario's
//! price items, filtered by `servicename` (`TERM_MATCH`), each item sent as a JSON string the
//! way the service sends them, paged by `NextToken`.

use serde_json::Value;

use super::{error, unknown, Answer, Request, State};

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    if op != "GetProducts" {
        return unknown(op);
    }
    if r.str("ServiceCode") != "AmazonBedrockFoundationModels" {
        return error("InvalidParameterException", "unknown ServiceCode");
    }
    let wanted: Vec<(&str, &str)> = r.body["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["Type"] == "TERM_MATCH")
        .map(|f| {
            (
                f["Field"].as_str().unwrap_or_default(),
                f["Value"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let items: Vec<Value> = st
        .scenario
        .market
        .price_list
        .iter()
        .filter(|item| {
            wanted
                .iter()
                .all(|(field, value)| item["product"]["attributes"][*field] == *value)
        })
        // A raw item (text that is not the document) goes out as it is.
        .map(|item| match item {
            Value::String(_) => item.clone(),
            doc => Value::String(doc.to_string()),
        })
        .collect();
    r.page("PriceList", items.iter().collect(), 100)
}
