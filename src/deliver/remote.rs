//! Where the history store and the published reports live when they are not local paths:
//! `s3://bucket/key` locations, around the pipeline rather than in it.
//!
//! Before a run the history store is downloaded to a temporary file (absent: the first run),
//! the history module works on that local file as on any other, and after a successful run
//! the file goes back with a conditional write: `If-Match` on the ETag that was downloaded,
//! or `If-None-Match: *` when there was none. Of two overlapping runs the second to finish
//! is refused instead of overwriting the first one's history. Publishing copies the reports
//! under `prefix/YYYY-MM-DD/` (the as-of date) and `prefix/latest/`, to S3 or a directory.
//!
//! The S3 client comes from aws-config's default chain (and `--profile`), not from
//! `--role-arn`: the state bucket belongs to the account the job runs in. The standard
//! endpoint overrides (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`) apply.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use chrono::NaiveDate;
use tokio::io::AsyncWriteExt;

/// File name of the downloaded store in its temporary directory.
const LOCAL_NAME: &str = "history.sqlite";

/// Object metadata naming the run that wrote a state object: after a retried upload, tells
/// our own earlier attempt from another run's write.
const RUN_METADATA: &str = "entitlement-audit-run";

/// A local path or an S3 location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3(S3Url),
}

/// `s3://bucket/key`; the key may be empty (a bucket's root as a publishing prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub key: String,
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3(u) => u.fmt(f),
        }
    }
}

impl Location {
    /// `s3://BUCKET/KEY` or a local path.
    pub fn parse(s: &str) -> Result<Location, RemoteError> {
        let Some(rest) = s.strip_prefix("s3://") else {
            return Ok(Location::Local(PathBuf::from(s)));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(RemoteError::BadUrl(s.to_string()));
        }
        Ok(Location::S3(S3Url {
            bucket: bucket.to_string(),
            key: key.trim_end_matches('/').to_string(),
        }))
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3(_))
    }
}

/// IAM statements for the S3 locations of a run: read and write of the history object,
/// write under the publishing prefix, and `s3:ListBucket` on the history's bucket (without it
/// S3 answers a first run's download with AccessDenied instead of NoSuchKey). Local locations
/// need none. ARNs are in the `aws` partition.
pub fn iam_statements(
    state: Option<&Location>,
    publish: Option<&Location>,
) -> Result<Vec<serde_json::Value>, RemoteError> {
    let mut out = Vec::new();
    if let Some(Location::S3(u)) = state {
        if u.key.is_empty() {
            return Err(RemoteError::NoKey(u.to_string()));
        }
        out.push(serde_json::json!({
            "Sid": "EntitlementAuditHistory",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": format!("arn:aws:s3:::{}/{}", u.bucket, u.key),
        }));
        out.push(serde_json::json!({
            "Sid": "EntitlementAuditHistoryBucket",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:aws:s3:::{}", u.bucket),
        }));
    }
    if let Some(Location::S3(u)) = publish {
        let prefix = if u.key.is_empty() {
            String::new()
        } else {
            format!("{}/", u.key)
        };
        out.push(serde_json::json!({
            "Sid": "EntitlementAuditPublish",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{}/{prefix}*", u.bucket),
        }));
    }
    Ok(out)
}

/// What can go wrong with a remote location. `Conflict` is the overlapping-runs case.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("`{0}` is not an S3 location: expected `s3://BUCKET/KEY`")]
    BadUrl(String),
    #[error(
        "`{0}` names no object: give a key after the bucket, e.g. `s3://BUCKET/history.sqlite`"
    )]
    NoKey(String),
    #[error(
        "the history at `{url}` was changed by another run while this one ran (this run read {read}); \
         this run's history was not saved, the other run's is intact: run again to record this one"
    )]
    Conflict { url: String, read: String },
    #[error("failed to {action} `{url}`: {code}")]
    S3 {
        action: &'static str,
        url: String,
        code: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("failed to {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RemoteError {
    let path = path.to_path_buf();
    move |source| RemoteError::Io {
        action,
        path,
        source,
    }
}

/// An S3 error's code (or HTTP status, or the dispatch failure) for messages.
fn s3_error<E, R>(action: &'static str, url: &S3Url, e: SdkError<E, R>) -> RemoteError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = match &e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("unknown error").to_string(),
        SdkError::DispatchFailure(_) => "could not reach S3".to_string(),
        SdkError::TimeoutError(_) => "timed out".to_string(),
        other => other.to_string(),
    };
    RemoteError::S3 {
        action,
        url: url.to_string(),
        code,
        source: Box::new(e),
    }
}

/// The S3 client of one run.
#[derive(Debug, Clone)]
pub struct S3 {
    client: aws_sdk_s3::Client,
}

impl S3 {
    /// From aws-config's default chain, with `profile`; the region from the chain, else
    /// `us-east-1`.
    pub async fn load(profile: Option<&str>) -> S3 {
        let region = RegionProviderChain::default_provider().or_else(Region::new("us-east-1"));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        S3::new(&loader.load().await)
    }

    pub fn new(config: &aws_config::SdkConfig) -> S3 {
        S3 {
            client: aws_sdk_s3::Client::new(config),
        }
    }

    /// The client (reading a cost export in S3: `inputs::export_s3`).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Downloads `url` into `path`; `None` when there is no such object.
    async fn get(&self, url: &S3Url, path: &Path) -> Result<Option<String>, RemoteError> {
        let resp = match self
            .client
            .get_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_error("download", url, e)),
        };
        let etag = resp.e_tag().unwrap_or_default().to_string();
        let mut body = resp.body.into_async_read();
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(io("create", path))?;
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(io("write", path))?;
        file.flush().await.map_err(io("write", path))?;
        Ok(Some(etag))
    }

    /// A PutObject of the file at `path` to `url`, ready to send.
    async fn put(
        &self,
        url: &S3Url,
        path: &Path,
        content_type: &str,
    ) -> Result<PutObjectFluentBuilder, RemoteError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| io("read", path)(std::io::Error::other(e)))?;
        Ok(self
            .client
            .put_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .content_type(content_type)
            .body(body))
    }
}

/// The history store of one run: a local file, or the downloaded copy of an S3 object that
/// [`StateFile::save`] puts back.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    remote: Option<Remote>,
}

#[derive(Debug)]
struct Remote {
    url: S3Url,
    /// The ETag downloaded; `None` when the object did not exist.
    etag: Option<String>,
    /// Holds the downloaded copy until the state is saved or dropped.
    _dir: tempfile::TempDir,
}

/// What [`StateFile::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A local store: the history module wrote it in place.
    Local,
    /// Uploaded to S3, with the new ETag when S3 returned one.
    Uploaded { url: String, etag: Option<String> },
}

impl StateFile {
    /// A local store as it is, or a downloaded copy of an S3 one (none yet: the first run).
    pub async fn open(location: &Location, s3: Option<&S3>) -> Result<StateFile, RemoteError> {
        let url = match location {
            Location::Local(path) => {
                return Ok(StateFile {
                    path: path.clone(),
                    remote: None,
                })
            }
            Location::S3(url) => url,
        };
        if url.key.is_empty() {
            return Err(RemoteError::NoKey(url.to_string()));
        }
        let s3 = s3.expect("an S3 client for an S3 location");
        let dir = tempfile::Builder::new()
            .prefix("entitlement-audit-state")
            .tempdir()
            .map_err(io("create a temporary directory in", &std::env::temp_dir()))?;
        let path = dir.path().join(LOCAL_NAME);
        let etag = s3.get(url, &path).await?;
        Ok(StateFile {
            path,
            remote: Some(Remote {
                url: url.clone(),
                etag,
                _dir: dir,
            }),
        })
    }

    /// The local file the history module opens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's location as the user gave it: the S3 URL, not the temporary copy.
    pub fn name(&self) -> String {
        match &self.remote {
            Some(r) => r.url.to_string(),
            None => self.path.display().to_string(),
        }
    }

    /// For an S3 store, what was found there (for the progress line); `None` for a local one.
    pub fn remote_status(&self) -> Option<String> {
        let remote = self.remote.as_ref()?;
        Some(match &remote.etag {
            None => format!("`{}` (not there yet: the first run)", remote.url),
            Some(e) => format!("`{}` (downloaded, ETag {e})", remote.url),
        })
    }

    /// Puts a downloaded store back, only if nobody else wrote it since it was downloaded.
    /// `run_id` names this run in the object's metadata. Call it after the history module
    /// has closed the store (SQLite folds its write-ahead log into the file on close).
    pub async fn save(self, s3: Option<&S3>, run_id: &str) -> Result<Saved, RemoteError> {
        let Some(remote) = self.remote else {
            return Ok(Saved::Local);
        };
        let s3 = s3.expect("an S3 client for an S3 location");
        let url = &remote.url;
        let put = s3
            .put(url, &self.path, "application/vnd.sqlite3")
            .await?
            .metadata(RUN_METADATA, run_id);
        let put = match &remote.etag {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => Ok(Saved::Uploaded {
                url: url.to_string(),
                etag: out.e_tag().map(str::to_string),
            }),
            Err(e) if is_precondition_failure(&e) => {
                // A retried upload whose first attempt landed fails its own precondition:
                // the object then carries this run's id.
                if written_by(s3, url).await.as_deref() == Some(run_id) {
                    return Ok(Saved::Uploaded {
                        url: url.to_string(),
                        etag: None,
                    });
                }
                Err(RemoteError::Conflict {
                    url: url.to_string(),
                    read: match &remote.etag {
                        Some(e) => format!("ETag {e}"),
                        None => "no history: it did not exist yet".to_string(),
                    },
                })
            }
            Err(e) => Err(s3_error("upload to", url, e)),
        }
    }
}

/// 412 Precondition Failed, 409 ConditionalRequestConflict (a concurrent conditional write),
/// or NoSuchKey for `If-Match` on an object deleted meanwhile.
fn is_precondition_failure<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    matches!(
        e.raw_response().map(|r| r.status().as_u16()),
        Some(412 | 409)
    ) || matches!(
        e.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")
    )
}

/// The run id in a state object's metadata, if it can be read.
async fn written_by(s3: &S3, url: &S3Url) -> Option<String> {
    let head = s3
        .client
        .head_object()
        .bucket(&url.bucket)
        .key(&url.key)
        .send()
        .await
        .ok()?;
    head.metadata()?.get(RUN_METADATA).cloned()
}

/// Content type of a report file, by extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Copies the report files `names` of `dir` to `dest` under `YYYY-MM-DD/` (the as-of date)
/// and `latest/`. Returns where they went.
pub async fn publish(
    s3: Option<&S3>,
    dest: &Location,
    dir: &Path,
    names: &[String],
    as_of: NaiveDate,
) -> Result<Vec<String>, RemoteError> {
    let folders = [as_of.format("%Y-%m-%d").to_string(), "latest".to_string()];
    match dest {
        Location::Local(root) => {
            for folder in &folders {
                let to = root.join(folder);
                fs::create_dir_all(&to).map_err(io("create", &to))?;
                for name in names {
                    fs::copy(dir.join(name), to.join(name)).map_err(io("copy to", &to))?;
                }
            }
            Ok(folders
                .iter()
                .map(|f| root.join(f).display().to_string())
                .collect())
        }
        Location::S3(prefix) => {
            let s3 = s3.expect("an S3 client for an S3 location");
            let mut to = Vec::new();
            for folder in &folders {
                let base = if prefix.key.is_empty() {
                    folder.clone()
                } else {
                    format!("{}/{folder}", prefix.key)
                };
                for name in names {
                    let url = S3Url {
                        bucket: prefix.bucket.clone(),
                        key: format!("{base}/{name}"),
                    };
                    s3.put(&url, &dir.join(name), content_type(name))
                        .await?
                        .send()
                        .await
                        .map_err(|e| s3_error("upload to", &url, e))?;
                }
                to.push(format!("s3://{}/{base}/", prefix.bucket));
            }
            Ok(to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("s3://bucket/a/b.sqlite").unwrap(),
            Location::S3(S3Url {
                bucket: "bucket".into(),
                key: "a/b.sqlite".into()
            })
        );
        assert_eq!(
            Location::parse("s3://bucket/reports/").unwrap(),
            Location::S3(S3Url {
                bucket: "bucket".into(),
                key: "reports".into()
            })
        );
        assert_eq!(
            Location::parse("s3://bucket").unwrap().to_string(),
            "s3://bucket/"
        );
        assert!(Location::parse("s3:///key").is_err());
        assert_eq!(
            Location::parse("state/history.sqlite").unwrap(),
            Location::Local(PathBuf::from("state/history.sqlite"))
        );
    }

    #[test]
    fn report_content_types() {
        assert_eq!(content_type("report.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("summary.json"), "application/json");
        assert_eq!(content_type("findings.csv"), "text/csv; charset=utf-8");
    }
}
