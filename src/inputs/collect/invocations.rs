//! A member account's Bedrock invocations in one region, from CloudWatch (aws-sdk-cloudwatch
//! speaks Smithy RPC v2 CBOR): `ListMetrics` for the `ModelId` values of `AWS/Bedrock`
//! `Invocations`, then `GetMetricData` with the daily `Sum` of `Invocations`,
//! `InputTokenCount` and `OutputTokenCount` per id, up to 500 queries per request, paged.
//!
//! `ListMetrics` only lists metrics with data in the last two weeks (CloudWatch's documented
//! behaviour): an id used earlier in a longer window and not since is not seen. Early
//! detection reads the recent days, which it does see. A query answered `Forbidden` or
//! `InternalError` is a gap of the account; `PartialData` is read on through the next page.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy,
    StatusCode,
};
use chrono::{Duration, NaiveDate};

use super::call::{Cx, Page};
use super::ledger::CallError;
use super::permissions::{GET_METRIC_DATA, LIST_METRICS};
use super::to_chrono;
use crate::model::{day, day_start, Invocation};
use crate::snapshot::Table;

pub const NAMESPACE: &str = "AWS/Bedrock";
/// The metrics summed, in the order of a model's queries.
pub const METRICS: [&str; 3] = ["Invocations", "InputTokenCount", "OutputTokenCount"];
/// GetMetricData takes at most 500 queries: 166 models of three metrics each.
const MODELS_PER_REQUEST: usize = 500 / METRICS.len();
const DAY_SECONDS: i32 = 86_400;

/// The invocations of `account` in `region` over `window` (inclusive days), one row per day
/// and `ModelId` with any invocation or token (base model not yet resolved).
pub async fn read(
    cx: &Cx<'_>,
    account: &str,
    region: &str,
    window: (NaiveDate, NaiveDate),
) -> Vec<Invocation> {
    let client = cx.clients.cloudwatch_in(region);
    let client = &client;
    let listed = cx
        .pages(&LIST_METRICS, |token| {
            let request = client
                .list_metrics()
                .namespace(NAMESPACE)
                .metric_name(METRICS[0])
                .dimensions(DimensionFilter::builder().name("ModelId").build())
                .set_next_token(token)
                .send();
            async move {
                let out = request.await?;
                Ok(Page::new(out.metrics().to_vec(), out.next_token()))
            }
        })
        .await;
    let metrics = cx.keep(&LIST_METRICS, region, &[Table::Invocations], listed);
    let mut ids: Vec<String> = metrics.iter().filter_map(model_id).collect();
    ids.sort();
    ids.dedup();

    let start = aws_smithy_types::DateTime::from_secs(day_start(window.0).timestamp());
    let end =
        aws_smithy_types::DateTime::from_secs(day_start(window.1 + Duration::days(1)).timestamp());
    // (day, model id) -> the three sums
    let mut sums: BTreeMap<(NaiveDate, String), [f64; 3]> = BTreeMap::new();
    for chunk in ids.chunks(MODELS_PER_REQUEST) {
        let queries = queries(chunk);
        let queries = &queries;
        let paged = cx
            .pages(&GET_METRIC_DATA, |token| {
                let request = client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(start)
                    .end_time(end)
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token)
                    .send();
                async move {
                    let out = request.await?;
                    Ok(Page::new(
                        out.metric_data_results().to_vec(),
                        out.next_token(),
                    ))
                }
            })
            .await;
        let scope = format!("{region}, {} model ids", chunk.len());
        let results = cx.keep(&GET_METRIC_DATA, &scope, &[Table::Invocations], paged);
        for r in &results {
            add(cx, region, chunk, r, window, &mut sums);
        }
    }
    sums.into_iter()
        .map(|((d, model_id), [n, input, output])| Invocation {
            day: d,
            account_id: account.to_string(),
            region: region.to_string(),
            model_id,
            base_model_id: String::new(),
            model_name: String::new(),
            resolution: String::new(),
            invocations: count(n),
            input_tokens: count(input),
            output_tokens: count(output),
        })
        .collect()
}

/// The `ModelId` of a metric whose only dimension it is (`OutputImageCount` and others carry
/// more dimensions; they are not what is summed here).
fn model_id(m: &Metric) -> Option<String> {
    match m.dimensions() {
        [d] if d.name() == Some("ModelId") => d.value().map(str::to_string),
        _ => None,
    }
}

/// Query id `m<model>_<metric>`: a lowercase letter first, as GetMetricData requires.
fn query_id(model: usize, metric: usize) -> String {
    format!("m{model}_{metric}")
}

fn parse_query_id(id: &str) -> Option<(usize, usize)> {
    let (m, k) = id.strip_prefix('m')?.split_once('_')?;
    Some((m.parse().ok()?, k.parse().ok()?))
}

fn queries(models: &[String]) -> Vec<MetricDataQuery> {
    let mut out = Vec::with_capacity(models.len() * METRICS.len());
    for (i, id) in models.iter().enumerate() {
        for (k, name) in METRICS.iter().enumerate() {
            let metric = Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(*name)
                .dimensions(Dimension::builder().name("ModelId").value(id).build())
                .build();
            let stat = MetricStat::builder()
                .metric(metric)
                .period(DAY_SECONDS)
                .stat("Sum")
                .build();
            out.push(
                MetricDataQuery::builder()
                    .id(query_id(i, k))
                    .metric_stat(stat)
                    .return_data(true)
                    .build(),
            );
        }
    }
    out
}

/// Adds one result's points to the sums; a forbidden or failed query is the account's gap.
fn add(
    cx: &Cx<'_>,
    region: &str,
    models: &[String],
    r: &MetricDataResult,
    window: (NaiveDate, NaiveDate),
    sums: &mut BTreeMap<(NaiveDate, String), [f64; 3]>,
) {
    let Some((i, k)) = r.id().and_then(parse_query_id) else {
        return;
    };
    let (Some(model), true) = (models.get(i), k < METRICS.len()) else {
        return;
    };
    if let Some(code @ (StatusCode::Forbidden | StatusCode::InternalError)) = r.status_code() {
        let message = r
            .messages()
            .iter()
            .filter_map(|m| m.value())
            .collect::<Vec<_>>()
            .join("; ");
        let err = CallError::new(code.as_str(), message);
        let scope = format!("{region}, {model} {}", METRICS[k]);
        cx.gap(&GET_METRIC_DATA, &scope, &[Table::Invocations], &err);
    }
    for (t, v) in r.timestamps().iter().zip(r.values()) {
        let Some(t) = to_chrono(t) else { continue };
        let d = day(t);
        if d < window.0 || d > window.1 || !v.is_finite() {
            continue;
        }
        sums.entry((d, model.clone())).or_insert([0.0; 3])[k] += v;
    }
}

fn count(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ids_round_trip_and_start_with_a_letter() {
        let q = queries(&["a".into(), "b".into()]);
        assert_eq!(q.len(), 6);
        for (n, query) in q.iter().enumerate() {
            let id = query.id().expect("an id");
            assert!(id.starts_with('m'));
            assert_eq!(parse_query_id(id), Some((n / 3, n % 3)));
        }
        assert_eq!(parse_query_id("x1_2"), None);
        assert!(MODELS_PER_REQUEST * METRICS.len() <= 500);
    }
}
