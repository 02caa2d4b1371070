//! Cost Explorer: `GetCostAndUsage` over the scenario's facts, grouped and paged as the
//! collector asks, and `ListCostAllocationTags`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{error, ok, page_answer, page_start, unknown, Answer, Fact, Faults, PageStart};
use super::{Request, Scenario, State};

pub(super) fn respond(st: &State, r: &Request, op: &str) -> Answer {
    let s = &st.scenario;
    match op {
        "GetCostAndUsage" => cost_and_usage(s, &st.fact_days, r.body, r.faults),
        "ListCostAllocationTags" => {
            let keys: Vec<&str> = r.body["TagKeys"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let tags: Vec<Value> = s
                .cost_allocation_tags
                .iter()
                .filter(|t| keys.is_empty() || keys.iter().any(|k| t["TagKey"] == *k))
                .cloned()
                .collect();
            ok(json!({"CostAllocationTags": tags}))
        }
        other => unknown(other),
    }
}

fn cost_and_usage(
    s: &Scenario,
    fact_days: &BTreeMap<String, Vec<usize>>,
    req: &Value,
    faults: &Faults,
) -> Answer {
    let want_filter =
        json!({"Dimensions": {"Key": "BILLING_ENTITY", "Values": ["AWS Marketplace"]}});
    if req["Filter"] != want_filter {
        return error(
            "ValidationException",
            "the fake expects the Marketplace filter",
        );
    }
    if let Some(m) = &faults.reject_metric {
        if req["Metrics"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == m))
        {
            return error("ValidationException", &format!("unknown metric {m}"));
        }
    }
    if req["Granularity"] != "DAILY" {
        return error("ValidationException", "the fake serves DAILY only");
    }
    let start = req["TimePeriod"]["Start"].as_str().unwrap_or_default();
    let end = req["TimePeriod"]["End"].as_str().unwrap_or_default();
    let group_by = req["GroupBy"].as_array().cloned().unwrap_or_default();
    if group_by.len() > 2 {
        return error("ValidationException", "at most 2 GroupBy");
    }
    let metrics: Vec<String> = req["Metrics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Every day of [start, end), each with its groups.
    let mut days: Vec<String> = Vec::new();
    let mut d = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").expect("start");
    let stop = chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").expect("end");
    while d < stop {
        days.push(d.to_string());
        d += chrono::Duration::days(1);
    }
    // The groups of one day, in key order.
    let day_groups = |day: &str| -> Vec<Value> {
        let mut groups: BTreeMap<Vec<&str>, Vec<&Fact>> = BTreeMap::new();
        let today = fact_days.get(day).map(Vec::as_slice).unwrap_or_default();
        for f in today
            .iter()
            .map(|&i| &s.facts[i])
            .filter(|f| f.billing_entity == "AWS Marketplace")
        {
            let keys = group_by
                .iter()
                .map(|g| match (g["Type"].as_str(), g["Key"].as_str()) {
                    (Some("DIMENSION"), Some("LINKED_ACCOUNT")) => f.account.as_str(),
                    (Some("DIMENSION"), Some("SERVICE")) => f.service.as_str(),
                    (Some("TAG"), Some(_)) => f.team.as_deref().unwrap_or(""),
                    other => panic!("the fake does not group by {other:?}"),
                })
                .collect();
            groups.entry(keys).or_default().push(f);
        }
        groups
            .into_iter()
            .map(|(keys, facts)| {
                let keys: Vec<String> = keys
                    .iter()
                    .zip(&group_by)
                    .map(|(k, g)| match (g["Type"].as_str(), g["Key"].as_str()) {
                        (Some("TAG"), Some(tag)) => format!("{tag}${k}"),
                        _ => k.to_string(),
                    })
                    .collect();
                let mut m = serde_json::Map::new();
                for metric in &metrics {
                    let amount = match metric.as_str() {
                        "UnblendedCost" => Some(facts.iter().map(|f| f.cost).sum::<f64>()),
                        "UsageQuantity" => Some(facts.iter().map(|f| f.qty).sum::<f64>()),
                        "PublicOnDemandCost" => facts.iter().map(|f| f.public).sum::<Option<f64>>(),
                        _ => None,
                    };
                    if let Some(a) = amount {
                        m.insert(
                            metric.clone(),
                            json!({"Amount": a.to_string(), "Unit": "USD"}),
                        );
                    }
                }
                json!({"Keys": keys, "Metrics": m})
            })
            .collect()
    };
    let result = |day: &str, groups: Vec<Value>| {
        json!({
            "TimePeriod": {"Start": day, "End": day},
            "Total": {},
            "Groups": groups,
            "Estimated": false,
        })
    };
    let key = "ResultsByTime";
    let token_key = "NextPageToken";
    if let Some(budget) = faults.ce_groups_per_page {
        // Tokens `g<day>:<groups of that day already sent>`.
        let (mut day, mut skip) = req[token_key]
            .as_str()
            .and_then(|t| t.strip_prefix('g')?.split_once(':'))
            .map(|(d, k)| {
                (
                    d.parse().expect("fake token"),
                    k.parse().expect("fake token"),
                )
            })
            .unwrap_or((0usize, 0usize));
        let (mut page, mut sent) = (Vec::new(), 0);
        while day < days.len() && sent < budget.max(1) {
            let groups = day_groups(&days[day]);
            let take = (budget.max(1) - sent).min(groups.len() - skip);
            page.push(result(&days[day], groups[skip..skip + take].to_vec()));
            sent += take;
            if skip + take < groups.len() {
                skip += take;
            } else {
                (day, skip) = (day + 1, 0);
            }
        }
        return ok(if day < days.len() {
            json!({key: page, token_key: format!("g{day}:{skip}")})
        } else {
            json!({key: page})
        });
    }
    let answer = match page_start(req, 1000, faults, token_key) {
        PageStart::Empty(offset) => json!({key: [], token_key: format!("e{offset}")}),
        PageStart::Items { offset, max } => {
            let offset = offset.min(days.len());
            let page: Vec<Value> = days[offset..]
                .iter()
                .take(max)
                .map(|d| result(d, day_groups(d)))
                .collect();
            let end = offset + page.len();
            page_answer(key, token_key, page, (offset, end, days.len()), faults)
        }
    };
    ok(answer)
}
