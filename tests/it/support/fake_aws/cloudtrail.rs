//! CloudTrail: `LookupEvents` over the scenario's events, by event name and time.

use serde_json::Value;

use super::{error, unknown, Answer, Request, State};

/// The page of `events` within the request's `StartTime`..`EndTime`.
pub(super) fn in_window(r: &Request, events: Vec<&Value>) -> Answer {
    let start = r.body["StartTime"].as_f64().unwrap_or(f64::MIN);
    let end = r.body["EndTime"].as_f64().unwrap_or(f64::MAX);
    let items = events
        .into_iter()
        .filter(|e| {
            let t = e["EventTime"].as_f64().unwrap_or(0.0);
            t >= start && t <= end
        })
        .collect();
    r.page("Events", items, 50)
}

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let s = &st.scenario;
    match op {
        "LookupEvents" => {
            let attrs = r.body["LookupAttributes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if attrs.len() > 1 {
                return error("InvalidLookupAttributesException", "one attribute only");
            }
            let name = attrs.first().and_then(|a| a["AttributeValue"].as_str());
            let all: Vec<&Value> = match name {
                Some(n) => st
                    .event_names
                    .get(n)
                    .into_iter()
                    .flatten()
                    .map(|&i| &s.events[i])
                    .collect(),
                None => s.events.iter().collect(),
            };
            in_window(r, all)
        }
        other => unknown(other),
    }
}
