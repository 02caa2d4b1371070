//! Bedrock (REST JSON: the operation and its input are in the path and query):
//! `ListFoundationModels` and `ListFoundationModelAgreementOffers` over the scenario's models
//! and public offers.

use serde_json::{json, Value};

use super::{error, ok, unknown, Answer, Request, State};

/// The operation and its input of a Bedrock request path, or `None` for another service.
pub(super) fn route(path: &str) -> Option<(&'static str, Value)> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut input = serde_json::Map::new();
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        input.insert(k.to_string(), json!(decode(v)));
    }
    if path == "/foundation-models" {
        return Some(("ListFoundationModels", Value::Object(input)));
    }
    if path == "/inference-profiles" {
        return Some(("ListInferenceProfiles", Value::Object(input)));
    }
    let model = path.strip_prefix("/list-foundation-model-agreement-offers/")?;
    input.insert("modelId".into(), json!(decode(model)));
    Some(("ListFoundationModelAgreementOffers", Value::Object(input)))
}

/// Percent-decoding of a path label or query value (model ids carry `:`).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).expect("a percent escape"));
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let m = &st.scenario.market;
    let Some((_, input)) = route(r.str("uri")) else {
        return unknown(op);
    };
    let r = Request {
        body: &input,
        faults: r.faults,
    };
    match op {
        "ListFoundationModels" => ok(json!({"modelSummaries": m.models})),
        "ListFoundationModelAgreementOffers" => {
            let id = r.str("modelId");
            if r.str("offerType") != "PUBLIC" {
                return error("ValidationException", "offerType=PUBLIC expected");
            }
            match m.models.iter().find(|x| x["modelId"] == id) {
                Some(_) => ok(json!({"modelId": id,
                                     "offers": m.offers.get(id).cloned().unwrap_or_default()})),
                None => error("ResourceNotFoundException", &format!("no model {id}")),
            }
        }
        _ => unknown(op),
    }
}
