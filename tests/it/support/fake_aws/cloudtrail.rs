//! CloudTrail: `LookupEvents` over the scenario's events, by event name and time.

use super::{error, unknown, Answer, Request, State};

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
            let start = r.body["StartTime"].as_f64().unwrap_or(f64::MIN);
            let end = r.body["EndTime"].as_f64().unwrap_or(f64::MAX);
            let all: Vec<usize> = match name {
                Some(n) => st.event_names.get(n).cloned().unwrap_or_default(),
                None => (0..s.events.len()).collect(),
            };
            let items = all
                .iter()
                .map(|&i| &s.events[i])
                .filter(|e| {
                    let t = e["EventTime"].as_f64().unwrap_or(0.0);
                    t >= start && t <= end
                })
                .collect();
            r.page("Events", items, 50)
        }
        other => unknown(other),
    }
}
