//! Amazon Athena (JSON 1.1, `X-Amz-Target: AmazonAthena.<Op>`, in the configured region): the
//! one query of `--cost-source athena`, read-only.
//!
//! `GetTableMetadata` first (which optional columns the table has: the IAM principal is only in
//! exports made with it), then `StartQueryExecution` (workgroup, database, output location when
//! given, execution parameters, a client request token so that a retried start is the same
//! query, result reuse when allowed), `GetQueryExecution` polled with a doubling wait (a query
//! may go from RUNNING back to QUEUED), and `GetQueryResults` paged by 1,000 rows (the header
//! row on the first page only, a missing value is NULL). Every call is paced and retried like
//! the other services' (throttling, `TooManyRequestsException`, is the SDK's to retry); a
//! failure, a failed or cancelled query with its `StateChangeReason` and `AthenaError`, or a
//! query that does not finish in time is a ledger gap on the usage table.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_athena::types::{
    QueryExecutionContext, QueryExecutionState, QueryExecutionStatus, ResultConfiguration,
    ResultReuseByAgeConfiguration, ResultReuseConfiguration,
};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::call::{Cx, Page};
use super::ledger::CallError;
use super::permissions::{
    GET_QUERY_EXECUTION, GET_QUERY_RESULTS, GET_TABLE_METADATA, GET_WORK_GROUP,
    START_QUERY_EXECUTION,
};
use crate::inputs::athena::sql::{self, TableColumns, Target};
use crate::inputs::athena::{self, AthenaOptions, AthenaQuery};
use crate::snapshot::Table;

/// The Glue Data Catalog as Athena names it.
const CATALOG: &str = "AwsDataCatalog";
/// `GetQueryResults`' page maximum.
const MAX_RESULTS: i32 = 1000;
/// 1 GB for `--max-athena-scan-gb`, binary like the MB of the price.
const GB: f64 = (1u64 << 30) as f64;

/// Ledger codes of this source's own failures.
pub const MISSING_COLUMNS: &str = "MissingColumns";
pub const QUERY_FAILED: &str = "QueryFailed";
pub const QUERY_CANCELLED: &str = "QueryCancelled";
pub const QUERY_TIMED_OUT: &str = "QueryTimedOut";
pub const SCAN_LIMIT_NOT_ENFORCED: &str = "ScanLimitNotEnforced";

/// A query's result: the column names and the rows (text, `None` for NULL).
pub type ResultRows = (Vec<String>, Vec<Vec<Option<String>>>);

/// What the query gave: the result (when it succeeded and every page was read) and the
/// query's statistics (when it was started).
pub struct Fetched {
    pub result: Option<ResultRows>,
    pub query: Option<AthenaQuery>,
}

/// Runs the window's query over `target`; what fails is in `cx.ledger`.
pub async fn fetch(
    cx: &Cx<'_>,
    opts: &AthenaOptions,
    target: &Target,
    (start, end): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Fetched {
    let none = Fetched {
        result: None,
        query: None,
    };
    let scope = format!("{}.{}", target.database(), target.table());
    let gap = |op, err: CallError| cx.ledger.record(op, &scope, &[Table::Usage], &err);
    let client = &cx.clients.athena;

    cx.progress
        .message(&format!("reading the columns of `{scope}`"));
    let columns = match table_columns(cx, opts, target).await {
        Ok(c) => c,
        Err(e) => {
            gap(&GET_TABLE_METADATA, e);
            return none;
        }
    };
    let missing = sql::missing_columns(opts.format, &columns);
    if !missing.is_empty() {
        let message = format!(
            "`{scope}` is not a {} table: no column {}",
            opts.format,
            missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        gap(
            &GET_TABLE_METADATA,
            CallError::new(MISSING_COLUMNS, message),
        );
        return none;
    }

    if let Some(max_gb) = opts.max_scan_gb {
        if let Err(e) = check_scan_limit(cx, opts, max_gb).await {
            gap(&GET_WORK_GROUP, e);
            return none;
        }
    }

    let query = sql::build(opts.format, target, &columns, start, end);
    tracing::debug!(sql = %query, "athena query");
    let id = match start_query(cx, opts, target, &query, now).await {
        Ok(id) => id,
        Err(e) => {
            gap(&START_QUERY_EXECUTION, e);
            return none;
        }
    };
    cx.progress
        .message(&format!("Athena query `{id}` started; waiting for it"));
    let status = match wait(cx, opts, &id).await {
        Ok(s) => s,
        Err(e) => {
            gap(&GET_QUERY_EXECUTION, e);
            return none;
        }
    };
    let mut stats = AthenaQuery {
        query_execution_id: id.clone(),
        workgroup: opts.workgroup.clone(),
        table: scope.clone(),
        format: opts.format.name().to_string(),
        state: status.state.clone(),
        data_scanned_bytes: status.scanned,
        billed_bytes: 0,
        cost_usd: 0.0,
        reused_previous_result: status.reused,
        result_rows: 0,
        reads_iam_principal: query.reads_principal,
        absent_columns: query.absent.iter().map(|c| c.to_string()).collect(),
    };
    // Failed queries are not billed; cancelled ones are, for what they scanned. A reused
    // result scanned nothing.
    if status.state != "FAILED" && status.state != "TIMED_OUT" && !status.reused {
        stats.billed_bytes = athena::billed_bytes(status.scanned);
        stats.cost_usd = athena::scan_cost_usd(status.scanned);
    }
    if let Some(err) = status.error {
        gap(&GET_QUERY_EXECUTION, err);
        return Fetched {
            result: None,
            query: Some(stats),
        };
    }

    let header = Mutex::new(None::<Vec<String>>);
    let paged = cx
        .pages(&GET_QUERY_RESULTS, |token| {
            let first = token.is_none();
            let request = client
                .get_query_results()
                .query_execution_id(&id)
                .max_results(cx.page_size(MAX_RESULTS))
                .set_next_token(token);
            let header = &header;
            async move {
                let out = request.send().await?;
                let set = out.result_set();
                let mut rows: Vec<Vec<Option<String>>> = set
                    .map(|s| {
                        s.rows()
                            .iter()
                            .map(|r| {
                                r.data()
                                    .iter()
                                    .map(|d| d.var_char_value().map(str::to_string))
                                    .collect()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if first {
                    let names: Vec<String> = set
                        .and_then(|s| s.result_set_metadata())
                        .map(|m| {
                            m.column_info()
                                .iter()
                                .map(|c| c.name().to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    // The first row of the first page holds the column names.
                    let is_header = rows.first().is_some_and(|r| {
                        r.len() == names.len()
                            && r.iter().zip(&names).all(|(v, n)| v.as_deref() == Some(n))
                    });
                    if is_header {
                        rows.remove(0);
                    }
                    *header.lock().expect("header lock") = Some(names);
                }
                Ok(Page::new(rows, out.next_token()))
            }
        })
        .await;
    let rows = match paged.error {
        Some(e) => {
            gap(&GET_QUERY_RESULTS, e);
            return Fetched {
                result: None,
                query: Some(stats),
            };
        }
        None => paged.items,
    };
    stats.result_rows = rows.len() as u64;
    let header = header
        .into_inner()
        .expect("header lock")
        .unwrap_or_default();
    Fetched {
        result: Some((header, rows)),
        query: Some(stats),
    }
}

/// The table's column and partition key names (`GetTableMetadata`; Athena reads the Glue
/// catalog as the caller). `doctor` reads them the same way.
pub(super) async fn table_columns(
    cx: &Cx<'_>,
    opts: &AthenaOptions,
    target: &Target,
) -> Result<TableColumns, CallError> {
    let meta = cx
        .call(
            &GET_TABLE_METADATA,
            cx.clients
                .athena
                .get_table_metadata()
                .catalog_name(CATALOG)
                .database_name(target.database())
                .table_name(target.table())
                .set_work_group(opts.workgroup.clone())
                .send(),
        )
        .await?;
    let names: Vec<&str> = meta
        .table_metadata()
        .map(|t| {
            t.columns()
                .iter()
                .chain(t.partition_keys())
                .map(|c| c.name())
                .collect()
        })
        .unwrap_or_default();
    Ok(TableColumns::new(names))
}

/// The workgroup the query runs in (`--athena-workgroup`, else the caller's default).
pub(super) fn work_group_name(opts: &AthenaOptions) -> &str {
    opts.workgroup.as_deref().unwrap_or("primary")
}

/// The workgroup's configuration (`GetWorkGroup`); `None` when it has none.
pub(super) async fn work_group(
    cx: &Cx<'_>,
    opts: &AthenaOptions,
) -> Result<Option<aws_sdk_athena::types::WorkGroup>, CallError> {
    let name = work_group_name(opts);
    let out = cx
        .call(
            &GET_WORK_GROUP,
            cx.clients.athena.get_work_group().work_group(name).send(),
        )
        .await?;
    Ok(out.work_group)
}

/// The failure of `--max-athena-scan-gb max_gb` against the workgroup's cutoff, if any.
pub(super) fn scan_limit_error(name: &str, max_gb: f64, cutoff: Option<i64>) -> Option<String> {
    let limit = (max_gb * GB) as i64;
    match cutoff {
        Some(c) if c <= limit => None,
        other => Some(format!(
            "`--max-athena-scan-gb {max_gb}` needs workgroup `{name}` to cancel queries \
             scanning more (its BytesScannedCutoffPerQuery is {}); Athena gives no estimate \
             before a query runs",
            other.map_or("not set".to_string(), gigabytes)
        )),
    }
}

/// Bytes as GB (binary, like `--max-athena-scan-gb`).
pub(super) fn gigabytes(bytes: i64) -> String {
    format!("{:.1} GB", bytes as f64 / GB)
}

/// With `--max-athena-scan-gb`: the workgroup must cancel queries scanning more (Athena gives
/// no estimate of a query's scan before it runs; its per-query cutoff is the guard).
async fn check_scan_limit(cx: &Cx<'_>, opts: &AthenaOptions, max_gb: f64) -> Result<(), CallError> {
    let cutoff = work_group(cx, opts)
        .await?
        .as_ref()
        .and_then(|w| w.configuration())
        .and_then(|c| c.bytes_scanned_cutoff_per_query());
    match scan_limit_error(work_group_name(opts), max_gb, cutoff) {
        None => Ok(()),
        Some(why) => Err(CallError::new(
            SCAN_LIMIT_NOT_ENFORCED,
            format!("not started: {why}"),
        )),
    }
}

/// The token that makes a retried start the same query: the query, its values and the run.
fn request_token(query: &sql::Query, now: DateTime<Utc>, reuse: bool) -> String {
    let mut h = Sha256::new();
    h.update(query.sql.as_bytes());
    for p in &query.parameters {
        h.update([0]);
        h.update(p.as_bytes());
    }
    h.update(now.to_rfc3339().as_bytes());
    h.update([u8::from(reuse)]);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts the query; a workgroup that refuses result reuse gets the query without it.
async fn start_query(
    cx: &Cx<'_>,
    opts: &AthenaOptions,
    target: &Target,
    query: &sql::Query,
    now: DateTime<Utc>,
) -> Result<String, CallError> {
    let send = |reuse: bool| {
        let mut request = cx
            .clients
            .athena
            .start_query_execution()
            .query_string(&query.sql)
            .client_request_token(request_token(query, now, reuse))
            .query_execution_context(
                QueryExecutionContext::builder()
                    .catalog(CATALOG)
                    .database(target.database())
                    .build(),
            )
            .set_work_group(opts.workgroup.clone())
            .set_execution_parameters(Some(query.parameters.clone()));
        if let Some(output) = &opts.output {
            request = request.result_configuration(
                ResultConfiguration::builder()
                    .output_location(output)
                    .build(),
            );
        }
        if reuse {
            request = request.result_reuse_configuration(
                ResultReuseConfiguration::builder()
                    .result_reuse_by_age_configuration(
                        ResultReuseByAgeConfiguration::builder()
                            .enabled(true)
                            .max_age_in_minutes(opts.reuse_minutes.min(10_080) as i32)
                            .build(),
                    )
                    .build(),
            );
        }
        request.send()
    };
    let reuse = opts.reuse_minutes > 0;
    let first = cx.call(&START_QUERY_EXECUTION, send(reuse)).await;
    let out = match first {
        Err(e) if reuse && refuses_reuse(&e) => {
            cx.progress
                .message("the workgroup does not allow result reuse; starting without it");
            cx.call(&START_QUERY_EXECUTION, send(false)).await?
        }
        other => other?,
    };
    out.query_execution_id()
        .map(str::to_string)
        .ok_or_else(|| CallError::new("NoQueryExecutionId", "StartQueryExecution gave no id"))
}

fn refuses_reuse(e: &CallError) -> bool {
    e.code == "InvalidRequestException" && e.message.to_ascii_lowercase().contains("reuse")
}

/// How a query ended.
struct Ended {
    /// `SUCCEEDED`, `FAILED`, `CANCELLED`, `TIMED_OUT`.
    state: String,
    scanned: u64,
    reused: bool,
    /// The gap to record when it did not succeed.
    error: Option<CallError>,
}

/// Polls `GetQueryExecution` until the query ends or `opts.timeout` passes; the wait doubles
/// from `poll_initial` to `poll_max`. QUEUED and RUNNING both mean "not yet", in any order.
async fn wait(cx: &Cx<'_>, opts: &AthenaOptions, id: &str) -> Result<Ended, CallError> {
    let started = tokio::time::Instant::now();
    let mut delay = opts.poll_initial;
    let mut last = String::new();
    loop {
        tokio::time::sleep(delay).await;
        let out = cx
            .call(
                &GET_QUERY_EXECUTION,
                cx.clients
                    .athena
                    .get_query_execution()
                    .query_execution_id(id)
                    .send(),
            )
            .await?;
        let exec = out.query_execution();
        let status = exec.and_then(|e| e.status());
        let state = status.and_then(|s| s.state());
        let stats = exec.and_then(|e| e.statistics());
        let scanned = stats
            .and_then(|s| s.data_scanned_in_bytes())
            .unwrap_or(0)
            .max(0) as u64;
        let reused = stats
            .and_then(|s| s.result_reuse_information())
            .is_some_and(|r| r.reused_previous_result());
        let name = state.map_or("UNKNOWN", |s| s.as_str()).to_string();
        if name != last {
            cx.progress.message(&format!("Athena query `{id}`: {name}"));
            last = name.clone();
        }
        let ended = |error| Ended {
            state: name.clone(),
            scanned,
            reused,
            error,
        };
        match state {
            Some(QueryExecutionState::Succeeded) => return Ok(ended(None)),
            Some(QueryExecutionState::Failed) => {
                return Ok(ended(Some(CallError::new(QUERY_FAILED, failure(status)))))
            }
            Some(QueryExecutionState::Cancelled) => {
                return Ok(ended(Some(CallError::new(
                    QUERY_CANCELLED,
                    failure(status),
                ))))
            }
            // QUEUED, RUNNING, or a state this version does not know: not ended yet.
            _ => {}
        }
        if started.elapsed() >= opts.timeout {
            return Ok(Ended {
                state: "TIMED_OUT".to_string(),
                scanned,
                reused,
                error: Some(CallError::new(
                    QUERY_TIMED_OUT,
                    format!(
                        "query `{id}` still {name} after {} s; this run stopped waiting (the query \
                         was not stopped)",
                        opts.timeout.as_secs()
                    ),
                )),
            });
        }
        delay = (delay * 2).min(opts.poll_max.max(Duration::from_millis(1)));
    }
}

/// The ledger message of a query that did not succeed: its state, `StateChangeReason` and
/// `AthenaError`.
fn failure(status: Option<&QueryExecutionStatus>) -> String {
    let state = status
        .and_then(|s| s.state())
        .map_or("UNKNOWN", |s| s.as_str());
    let reason = status
        .and_then(|s| s.state_change_reason())
        .unwrap_or("no reason given");
    let mut text = format!("{state}: {reason}");
    if let Some(e) = status.and_then(|s| s.athena_error()) {
        let num = |v: Option<i32>| v.map_or("?".to_string(), |v| v.to_string());
        text.push_str(&format!(
            " (AthenaError category {}, type {}, retryable {}: {})",
            num(e.error_category()),
            num(e.error_type()),
            e.retryable(),
            e.error_message().unwrap_or("no message")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_athena::types::AthenaError;

    #[test]
    fn a_failure_says_the_reason_and_the_athena_error() {
        let status = QueryExecutionStatus::builder()
            .state(QueryExecutionState::Failed)
            .state_change_reason("COLUMN_NOT_FOUND: line 3:5: Column 'x' cannot be resolved")
            .athena_error(
                AthenaError::builder()
                    .error_category(2)
                    .error_type(1006)
                    .retryable(false)
                    .error_message("Column 'x' cannot be resolved")
                    .build(),
            )
            .build();
        let text = failure(Some(&status));
        assert!(text.starts_with("FAILED: COLUMN_NOT_FOUND"), "{text}");
        assert!(
            text.contains("category 2, type 1006, retryable false: Column 'x'"),
            "{text}"
        );
        assert_eq!(failure(None), "UNKNOWN: no reason given");
    }

    #[test]
    fn the_request_token_is_stable_for_a_run_and_fits_athena() {
        let q = sql::Query {
            sql: "SELECT 1".into(),
            parameters: vec!["'2026-10'".into()],
            reads_principal: false,
            absent: vec![],
        };
        let now = DateTime::UNIX_EPOCH;
        let t = request_token(&q, now, true);
        assert_eq!(t.len(), 64, "ClientRequestToken is 32 to 128 characters");
        assert_eq!(t, request_token(&q, now, true));
        assert_ne!(t, request_token(&q, now, false));
        assert_ne!(t, request_token(&q, now + chrono::Duration::days(7), true));
    }
}
