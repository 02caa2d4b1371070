//! Amazon Athena (JSON 1.1, `AmazonAthena`): one table's metadata, queries that go through
//! the states the test scripts (QUEUED, RUNNING, back to QUEUED...) and end as it says
//! (SUCCEEDED with the result it holds, FAILED or CANCELLED with a reason and an
//! `AthenaError`), bytes scanned, the workgroup's scan cutoff, and `GetQueryResults` paged as
//! Athena pages: at most `MaxResults` (1,000) rows a page, the header row first on the first
//! page only, NULL as a datum without `VarCharValue`. A start with the same
//! `ClientRequestToken` is the same query. It runs no SQL: the test gives the result (computed
//! by DuckDB from the SQL the binary sends, or written by hand).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{error, ok, unknown, Answer};

/// What the fake Athena serves.
#[derive(Debug, Clone)]
pub struct Athena {
    pub database: String,
    pub table: String,
    /// (name, type) of the table's columns; `partitions` its partition keys.
    pub columns: Vec<(String, String)>,
    pub partitions: Vec<String>,
    /// The result of every query.
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// The state answered by each `GetQueryExecution` of a query in turn; the last repeats.
    pub states: Vec<String>,
    /// `StateChangeReason` and `AthenaError` of a query that ends FAILED or CANCELLED.
    pub reason: Option<(String, Value)>,
    pub scanned_bytes: u64,
    pub reused: bool,
    /// The workgroup's `BytesScannedCutoffPerQuery`.
    pub cutoff: Option<i64>,
    /// The workgroup's results location (`ResultConfiguration.OutputLocation`).
    pub output_location: Option<String>,
    /// `GetTableMetadata` answers this error (code, message), as when Glue denies the caller.
    pub metadata_error: Option<(String, String)>,
    /// Answer a start asking for result reuse with `InvalidRequestException`.
    pub refuse_reuse: bool,
    /// Query id -> polls answered.
    pub polls: BTreeMap<String, usize>,
    /// `ClientRequestToken` -> query id.
    pub tokens: BTreeMap<String, String>,
}

impl Default for Athena {
    fn default() -> Self {
        Self {
            database: "cid_data_export".into(),
            table: "cur2".into(),
            columns: Vec::new(),
            partitions: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
            states: vec!["SUCCEEDED".into()],
            reason: None,
            scanned_bytes: 0,
            reused: false,
            cutoff: None,
            output_location: None,
            metadata_error: None,
            refuse_reuse: false,
            polls: BTreeMap::new(),
            tokens: BTreeMap::new(),
        }
    }
}

fn text(req: &Value, key: &str) -> String {
    req.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn column(name: &str, ty: &str) -> Value {
    json!({"Name": name, "Type": ty})
}

pub(super) fn respond(a: &mut Athena, op: &str, req: &Value) -> Answer {
    match op {
        "GetTableMetadata" => {
            if let Some((code, message)) = &a.metadata_error {
                return error(code, message);
            }
            if text(req, "DatabaseName") != a.database || text(req, "TableName") != a.table {
                return error("MetadataException", "Table not found");
            }
            let cols: Vec<Value> = a.columns.iter().map(|(n, t)| column(n, t)).collect();
            let parts: Vec<Value> = a.partitions.iter().map(|n| column(n, "string")).collect();
            ok(json!({"TableMetadata": {"Name": a.table, "Columns": cols, "PartitionKeys": parts}}))
        }
        "GetWorkGroup" => {
            let mut config = json!({});
            if let Some(c) = a.cutoff {
                config["BytesScannedCutoffPerQuery"] = json!(c);
            }
            if let Some(o) = &a.output_location {
                config["ResultConfiguration"] = json!({"OutputLocation": o});
            }
            ok(
                json!({"WorkGroup": {"Name": text(req, "WorkGroup"), "State": "ENABLED", "Configuration": config}}),
            )
        }
        "StartQueryExecution" => {
            if a.refuse_reuse && req.get("ResultReuseConfiguration").is_some() {
                return error(
                    "InvalidRequestException",
                    "Result reuse is not supported by this workgroup",
                );
            }
            let token = text(req, "ClientRequestToken");
            let next = format!("q-{:04}", a.tokens.len() + 1);
            let id = a.tokens.entry(token).or_insert(next).clone();
            a.polls.entry(id.clone()).or_insert(0);
            ok(json!({"QueryExecutionId": id}))
        }
        "GetQueryExecution" => {
            let id = text(req, "QueryExecutionId");
            let Some(polls) = a.polls.get_mut(&id) else {
                return error("InvalidRequestException", "QueryExecution not found");
            };
            let state = a.states[(*polls).min(a.states.len() - 1)].clone();
            *polls += 1;
            let mut status = json!({"State": state});
            if state == "FAILED" || state == "CANCELLED" {
                if let Some((reason, err)) = &a.reason {
                    status["StateChangeReason"] = json!(reason);
                    status["AthenaError"] = err.clone();
                }
            }
            ok(json!({"QueryExecution": {
                "QueryExecutionId": id,
                "StatementType": "DML",
                "Status": status,
                "Statistics": {
                    "DataScannedInBytes": a.scanned_bytes,
                    "ResultReuseInformation": {"ReusedPreviousResult": a.reused},
                },
            }}))
        }
        "GetQueryResults" => results(a, req),
        _ => unknown(op),
    }
}

fn datum(v: Option<&str>) -> Value {
    match v {
        Some(v) => json!({"VarCharValue": v}),
        None => json!({}),
    }
}

fn results(a: &Athena, req: &Value) -> Answer {
    let id = text(req, "QueryExecutionId");
    let done = a
        .polls
        .get(&id)
        .is_some_and(|&p| p > 0 && a.states[(p - 1).min(a.states.len() - 1)] == "SUCCEEDED");
    if !done {
        return error(
            "InvalidRequestException",
            "Query has not yet finished. Current state: RUNNING",
        );
    }
    let max = req
        .get("MaxResults")
        .and_then(Value::as_u64)
        .unwrap_or(1000) as usize;
    if max == 0 || max > 1000 {
        return error("InvalidRequestException", "MaxResults must be 1 to 1000");
    }
    let offset: usize = match req.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t
            .strip_prefix('r')
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX),
    };
    if offset == usize::MAX {
        return error("InvalidRequestException", "bad NextToken");
    }
    let mut rows = Vec::new();
    let mut room = max;
    if offset == 0 {
        rows.push(json!({"Data": a.header.iter().map(|h| datum(Some(h))).collect::<Vec<_>>()}));
        room -= 1;
    }
    let end = (offset + room).min(a.rows.len());
    for r in &a.rows[offset.min(end)..end] {
        rows.push(json!({"Data": r.iter().map(|v| datum(v.as_deref())).collect::<Vec<_>>()}));
    }
    let info: Vec<Value> = a
        .header
        .iter()
        .map(|h| json!({"Name": h, "Label": h, "Type": "varchar", "CatalogName": "hive"}))
        .collect();
    let mut out = json!({
        "UpdateCount": 0,
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": info}},
    });
    if end < a.rows.len() {
        out["NextToken"] = json!(format!("r{end}"));
    }
    ok(out)
}
