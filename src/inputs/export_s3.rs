//! `--cost-export s3://BUCKET/PREFIX`: a Data Exports location in S3 read without a copy of
//! the whole export. Only the billing periods the window touches are fetched, each from the
//! data files its manifest lists, into a temporary directory that [`crate::inputs::cost_export`]
//! then reads as it reads a local export.
//!
//! Data Exports writes `PREFIX/data/BILLING_PERIOD=YYYY-MM/*` and, once every data file of a
//! delivery is written, `PREFIX/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json` naming
//! them (`dataFiles`). Reading the files the manifest names, not every object under `data/`, is
//! what reads an overwritten period once (a "create new" export keeps earlier deliveries beside
//! the new one). A period whose data is there without a manifest, whose manifest names a file
//! that is gone, or whose manifest changes while its files are read, is being rewritten: it is
//! fetched again after a wait, never read half.
//!
//! What a user can wait out is a gap, not an error: a period still being rewritten after the
//! last attempt, and a request S3 refuses or fails after the SDK's retries (denied, throttled,
//! unavailable), leave that period out of the usage table with a ledger entry naming it and the
//! object (the run exits 2 with its reports, never shown clean). What waiting cannot fix stops
//! the run naming the object (exit 3): a manifest that is not JSON or lists no data files, as
//! an unreadable local export does, and a local file that cannot be written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::deliver::remote::S3Url;
use crate::inputs::collect::ledger::CallError;
use crate::snapshot::{LedgerEntry, Table};

/// How a period being rewritten is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Reads of a period, the first included. Default 4.
    pub attempts: u32,
    /// Wait before reading a period again. Default 15 s.
    pub wait: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            attempts: 4,
            wait: Duration::from_secs(15),
        }
    }
}

/// What was fetched.
#[derive(Debug)]
pub struct Fetched {
    /// The periods' data files, `BILLING_PERIOD=YYYY-MM/...` under it; removed when dropped.
    pub dir: tempfile::TempDir,
    /// Per period read: the period, the manifest's `executionId` when it has one, the files.
    pub periods: Vec<(String, Option<String>, usize)>,
    /// Periods of the window with no data in the export.
    pub empty: Vec<String>,
    /// Periods left out, each a gap on the usage table (service `cost-export`): S3 refused or
    /// failed a request, or the period was still being written after the last attempt.
    pub gaps: Vec<LedgerEntry>,
}

/// Ledger code of a period still being written after the last attempt.
pub const BEING_WRITTEN: &str = "ExportBeingWritten";

/// A request S3 refused or failed (after the SDK's retries): the period is a gap.
#[derive(Debug)]
struct Unread {
    operation: &'static str,
    /// `s3://bucket/key` of the object or prefix.
    object: String,
    code: String,
    message: String,
}

impl Unread {
    fn from_sdk<E, R>(operation: &'static str, object: String, e: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let err = CallError::from_sdk(e);
        Self {
            operation,
            object,
            code: err.code,
            message: err.message,
        }
    }
}

fn gap(period: &str, operation: &str, scope: String, code: &str, message: String) -> LedgerEntry {
    tracing::warn!(
        period,
        operation,
        scope,
        code,
        "export period not read: {message}"
    );
    LedgerEntry {
        service: "cost-export".to_string(),
        operation: operation.to_string(),
        scope,
        error_code: code.to_string(),
        message: format!("billing period {period} not read: {message}"),
        tables: vec![Table::Usage],
        // The export is the organization's: no one member account lacks the period.
        account_id: None,
    }
}

/// Fetches the `periods` (`YYYY-MM`) of the export at `url`.
pub async fn fetch(
    client: &Client,
    url: &S3Url,
    periods: &[String],
    patience: Patience,
) -> Result<Fetched> {
    let dir = tempfile::Builder::new()
        .prefix("entitlement-audit-export")
        .tempdir()
        .context("failed to create a temporary directory")?;
    let mut fetched = Fetched {
        dir,
        periods: Vec::new(),
        empty: Vec::new(),
        gaps: Vec::new(),
    };
    for period in periods {
        let into = fetched.dir.path().join(format!("BILLING_PERIOD={period}"));
        let mut attempt = 1;
        loop {
            match read_period(client, url, period, &into).await? {
                Period::Read { execution, files } => {
                    fetched.periods.push((period.clone(), execution, files));
                    break;
                }
                Period::Empty => {
                    fetched.empty.push(period.clone());
                    break;
                }
                Period::Unread(u) => {
                    clear(&into)?;
                    let message = format!("`{}` failed: {}", u.object, u.message);
                    fetched
                        .gaps
                        .push(gap(period, u.operation, u.object, &u.code, message));
                    break;
                }
                Period::Rewriting(why) if attempt >= patience.attempts.max(1) => {
                    clear(&into)?;
                    let message = format!(
                        "being written ({why}), still after {attempt} reads; run again once the \
                         export's delivery is done"
                    );
                    let scope = format!(
                        "s3://{}/{}",
                        url.bucket,
                        join(&url.key, &format!("metadata/BILLING_PERIOD={period}/"))
                    );
                    fetched
                        .gaps
                        .push(gap(period, "GetObject", scope, BEING_WRITTEN, message));
                    break;
                }
                Period::Rewriting(why) => {
                    tracing::info!(
                        period,
                        attempt,
                        "export period being written ({why}); waiting"
                    );
                    attempt += 1;
                    tokio::time::sleep(patience.wait).await;
                }
            }
        }
    }
    Ok(fetched)
}

/// What reading one period found.
enum Period {
    Read {
        execution: Option<String>,
        files: usize,
    },
    Empty,
    Rewriting(String),
    /// S3 refused or failed a request.
    Unread(Unread),
}

/// Removes what a period left half read.
fn clear(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("failed to clear `{}`", dir.display()))?;
    }
    Ok(())
}

pub(crate) fn join(prefix: &str, rest: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        rest.to_string()
    } else {
        format!("{p}/{rest}")
    }
}

/// Keys under `prefix` with their last-modified time in seconds.
async fn list(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<(String, i64)>, Unread> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| Unread::from_sdk("ListObjectsV2", format!("s3://{bucket}/{prefix}"), e))?;
        for o in page.contents() {
            if let Some(k) = o.key() {
                out.push((k.to_string(), o.last_modified().map_or(0, |t| t.secs())));
            }
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// An object's bytes and ETag; `None` when there is no such object.
async fn get(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, String)>, Unread> {
    let object = || format!("s3://{bucket}/{key}");
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(r) => {
            let etag = r.e_tag().unwrap_or_default().to_string();
            let bytes = r.body.collect().await.map_err(|e| Unread {
                operation: "GetObject",
                object: object(),
                code: "ResponseError".to_string(),
                message: format!("the body could not be read: {e}"),
            })?;
            Ok(Some((bytes.to_vec(), etag)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(Unread::from_sdk("GetObject", object(), e)),
    }
}

/// The value of a read, or the period's [`Period::Unread`] from the function.
macro_rules! read {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(u) => return Ok(Period::Unread(u)),
        }
    };
}

/// The data files a manifest names, as (bucket, key): `dataFiles` (S3 URLs or keys), or a
/// legacy CUR manifest's `reportKeys`.
pub fn manifest_files(doc: &Value, bucket: &str) -> Result<Vec<(String, String)>> {
    let list = doc
        .get("dataFiles")
        .or_else(|| doc.get("reportKeys"))
        .and_then(Value::as_array)
        .context("the manifest lists no `dataFiles`")?;
    list.iter()
        .map(|f| {
            let text = f
                .as_str()
                .or_else(|| f.get("key").and_then(Value::as_str))
                .context("a `dataFiles` entry that is not text")?;
            Ok(match text.strip_prefix("s3://") {
                Some(rest) => {
                    let (b, k) = rest.split_once('/').context("an S3 URL without a key")?;
                    (b.to_string(), k.to_string())
                }
                None => (bucket.to_string(), text.trim_start_matches('/').to_string()),
            })
        })
        .collect()
}

async fn read_period(client: &Client, url: &S3Url, period: &str, into: &Path) -> Result<Period> {
    let bucket = url.bucket.as_str();
    let part = format!("BILLING_PERIOD={period}/");
    let manifests: Vec<(String, i64)> =
        read!(list(client, bucket, &join(&url.key, &format!("metadata/{part}"))).await)
            .into_iter()
            .filter(|(k, _)| k.ends_with("Manifest.json"))
            .collect();
    // The newest delivery's manifest (a "create new" export keeps one per delivery).
    let Some((manifest, _)) = manifests
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
    else {
        let data = read!(list(client, bucket, &join(&url.key, &format!("data/{part}"))).await);
        return Ok(if data.is_empty() {
            Period::Empty
        } else {
            Period::Rewriting("data files without a manifest".to_string())
        });
    };
    let Some((text, etag)) = read!(get(client, bucket, manifest).await) else {
        return Ok(Period::Rewriting(format!(
            "manifest `{manifest}` went away"
        )));
    };
    let doc: Value = serde_json::from_slice(&text)
        .with_context(|| format!("manifest `s3://{bucket}/{manifest}` is not JSON"))?;
    let files = manifest_files(&doc, bucket)
        .with_context(|| format!("in manifest `s3://{bucket}/{manifest}`"))?;
    clear(into)?;
    std::fs::create_dir_all(into)
        .with_context(|| format!("failed to create `{}`", into.display()))?;
    for (i, (b, k)) in files.iter().enumerate() {
        let Some((bytes, _)) = read!(get(client, b, k).await) else {
            return Ok(Period::Rewriting(format!(
                "`s3://{b}/{k}` the manifest names is gone"
            )));
        };
        let name = k.rsplit('/').next().unwrap_or("data");
        let path: PathBuf = into.join(format!("{i:05}-{name}"));
        let mut f = tokio::fs::File::create(&path)
            .await
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        f.write_all(&bytes)
            .await
            .with_context(|| format!("failed to write `{}`", path.display()))?;
    }
    // The delivery must still be the one whose files were read.
    let now = read!(get(client, bucket, manifest).await);
    if now.as_ref().map(|(_, e)| e) != Some(&etag) {
        return Ok(Period::Rewriting(
            "the manifest changed while its files were read".to_string(),
        ));
    }
    Ok(Period::Read {
        execution: doc
            .get("executionId")
            .and_then(Value::as_str)
            .map(str::to_string),
        files: files.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_names_its_files_as_urls_or_keys() {
        let doc = serde_json::json!({
            "executionId": "e-1",
            "dataFiles": [
                "s3://cid-123456789012-data-exports/cur2/123456789012/cid-cur2/data/BILLING_PERIOD=2026-10/cid-cur2-00001.snappy.parquet",
                "cur2/x/data/BILLING_PERIOD=2026-10/cid-cur2-00002.snappy.parquet"
            ]
        });
        let files = manifest_files(&doc, "other").unwrap();
        assert_eq!(files[0].0, "cid-123456789012-data-exports");
        assert!(files[0].1.ends_with("00001.snappy.parquet"));
        assert_eq!(files[1].0, "other");
        let legacy = serde_json::json!({"reportKeys": ["a/b.csv.gz"]});
        assert_eq!(
            manifest_files(&legacy, "b").unwrap(),
            [("b".into(), "a/b.csv.gz".into())]
        );
        assert!(manifest_files(&serde_json::json!({}), "b").is_err());
    }

    #[test]
    fn keys_join_under_the_prefix() {
        assert_eq!(
            join("exports/cid-cur2/", "data/x"),
            "exports/cid-cur2/data/x"
        );
        assert_eq!(join("", "data/x"), "data/x");
    }
}
