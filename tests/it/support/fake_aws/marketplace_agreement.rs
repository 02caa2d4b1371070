//! The Marketplace Agreement API: `SearchAgreements`, `GetAgreementEntitlements` and
//! `GetAgreementTerms` over the scenario's agreements, paged by `nextToken`. The crate speaks
//! Smithy RPC v2 CBOR: [`decode`] turns a request body into JSON for the shared fault and
//! paging code, [`encode`] turns the JSON answer into CBOR, with the timestamp members as CBOR
//! tag 1 (epoch seconds), as the protocol sends them.

use ciborium::Value as Cbor;
use serde_json::Value;

use super::{ok, paginate, unknown, Answer, Request, State};

/// The agreements the subscriber accepted, as the API answers them (camelCase members,
/// timestamps as epoch seconds), and the models' public offers as Bedrock answers them.
#[derive(Debug, Clone, Default)]
pub struct Market {
    /// `SearchAgreements` summaries.
    pub agreements: Vec<Value>,
    /// Agreement id -> `GetAgreementEntitlements` items.
    pub entitlements: std::collections::BTreeMap<String, Vec<Value>>,
    /// Agreement id -> `GetAgreementTerms` accepted terms.
    pub terms: std::collections::BTreeMap<String, Vec<Value>>,
    /// Bedrock `ListFoundationModels` summaries.
    pub models: Vec<Value>,
    /// Model id -> Bedrock `ListFoundationModelAgreementOffers` public offers.
    pub offers: std::collections::BTreeMap<String, Vec<Value>>,
    /// Price List `GetProducts` items (`product.attributes`, `terms.OnDemand`), sent as JSON
    /// text; a string item is sent as it is (a malformed one).
    pub price_list: Vec<Value>,
}

/// Members the protocol sends as timestamps.
const TIMESTAMPS: &[&str] = &[
    "acceptanceTime",
    "startTime",
    "endTime",
    "lastUpdateTime",
    "agreementStartDate",
    "agreementEndDate",
    // CloudWatch `GetMetricData` (a list of them).
    "Timestamps",
];

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let m = &st.scenario.market;
    let filter = |name: &str| {
        r.body["filters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == name)
            .and_then(|f| f["values"][0].as_str())
            .map(str::to_string)
    };
    let page = |key: &str, items: Vec<&Value>| {
        ok(paginate(r.body, key, &items, 50, r.faults, "nextToken"))
    };
    let id = r.body["agreementId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match op {
        "SearchAgreements" => {
            // A buyer sees its own agreements only when it says it is the acceptor.
            if filter("PartyType").as_deref() != Some("Acceptor") {
                return super::error("ValidationException", "PartyType=Acceptor expected");
            }
            let kind = filter("AgreementType");
            let items = m
                .agreements
                .iter()
                .filter(|a| kind.as_deref().is_none_or(|k| a["agreementType"] == k))
                .collect();
            page("agreementViewSummaries", items)
        }
        "GetAgreementEntitlements" => page(
            "agreementEntitlements",
            m.entitlements
                .get(&id)
                .map(|e| e.iter().collect())
                .unwrap_or_default(),
        ),
        "GetAgreementTerms" => match m.terms.get(&id) {
            Some(terms) => page("acceptedTerms", terms.iter().collect()),
            None => super::error("ResourceNotFoundException", &format!("no agreement {id}")),
        },
        _ => unknown(op),
    }
}

/// A CBOR request body as JSON, the way the recorder reads it.
pub(super) fn decode(body: &[u8]) -> Value {
    entitlement_audit::inputs::collect::record::cbor_to_json(body).expect("a CBOR request body")
}

/// A JSON answer as the CBOR body the crate reads.
pub(super) fn encode(json: &str) -> Vec<u8> {
    let v: Value = serde_json::from_str(json).expect("the fake answers JSON");
    let mut out = Vec::new();
    ciborium::into_writer(&to_cbor(&v, false), &mut out).expect("CBOR encodes");
    out
}

fn to_cbor(v: &Value, timestamp: bool) -> Cbor {
    match v {
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| {
                    (
                        Cbor::Text(k.clone()),
                        to_cbor(v, TIMESTAMPS.contains(&k.as_str())),
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Cbor::Array(items.iter().map(|i| to_cbor(i, timestamp)).collect()),
        Value::Number(n) if timestamp => {
            Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().expect("epoch seconds"))))
        }
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Null => Cbor::Null,
    }
}
