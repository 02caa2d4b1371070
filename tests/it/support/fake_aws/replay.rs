//! Serving a recording written by `collect --record` ([`super::FakeAws::replay`]).

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use serde_json::Value;

use super::{error, Answer, JSON};

/// A recording's answers by (operation, request body), each list in recorded order.
#[derive(Debug, Default)]
pub(super) struct Replay {
    answers: HashMap<(String, String), VecDeque<(u16, String)>>,
}

/// A JSON value as text with every object's keys sorted, so that equal bodies match whatever
/// order their keys were written in.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

impl Replay {
    /// Reads `dir/manifest.json` and the response files it names.
    pub(super) fn read(dir: &Path) -> Replay {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("recording `{}`: {name}: {e}", dir.display()))
        };
        let manifest: Value = serde_json::from_str(&read("manifest.json")).expect("manifest JSON");
        let mut replay = Replay::default();
        for call in manifest["calls"].as_array().expect("manifest calls") {
            let op = call["operation"].as_str().expect("operation").to_string();
            let status = call["status"].as_u64().expect("status") as u16;
            let body = call["response"].as_str().map(read).unwrap_or_default();
            replay
                .answers
                .entry((op, canonical(&call["request"])))
                .or_default()
                .push_back((status, body));
        }
        replay
    }

    /// The next recorded answer to this request; a 400 naming the operation when there is
    /// none (not recorded, or every recorded answer already given).
    pub(super) fn answer(&mut self, op: &str, req: &Value) -> Answer {
        let key = (op.to_string(), canonical(req));
        match self.answers.get_mut(&key).and_then(VecDeque::pop_front) {
            Some((status, body)) => (status, JSON, body),
            None => error(
                "ReplayMismatchException",
                &format!("the recording has no (more) answers to {op} with {req}"),
            ),
        }
    }

    /// Recorded answers not given yet, as (operation, request) and how many.
    pub(super) fn left(&self) -> Vec<(String, usize)> {
        let mut left: Vec<(String, usize)> = self
            .answers
            .iter()
            .filter(|(_, a)| !a.is_empty())
            .map(|((op, req), a)| (format!("{op} {req}"), a.len()))
            .collect();
        left.sort();
        left
    }
}
