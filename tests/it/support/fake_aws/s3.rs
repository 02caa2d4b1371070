//! Amazon S3, `ListObjectsV2` only (REST XML, path-style `GET /BUCKET?list-type=2&prefix=...`,
//! as the SDK sends it to an IP address): enough for `doctor`'s check of a `--cost-export
//! s3://` location. The keys are [`super::State::s3_keys`]; an operation in `Faults::deny`
//! gets S3's own 403 `AccessDenied`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Answer, State};

/// The bucket of a `ListObjectsV2` path, with the query's parameters (decoded).
pub fn route(path: &str) -> Option<(String, BTreeMap<String, String>)> {
    let (bucket, query) = path.strip_prefix('/')?.split_once('?')?;
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    (params.get("list-type").map(String::as_str) == Some("2"))
        .then(|| (bucket.trim_end_matches('/').to_string(), params))
}

/// The request as the fake files it.
pub fn request(bucket: &str, params: &BTreeMap<String, String>) -> Value {
    let max: u64 = params
        .get("max-keys")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1000);
    json!({"Bucket": bucket, "Prefix": params.get("prefix").cloned().unwrap_or_default(), "MaxKeys": max})
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml_error(status: u16, code: &str, message: &str) -> Answer {
    (
        status,
        "application/xml",
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fake</RequestId></Error>"),
    )
}

pub(super) fn respond(st: &State, req: &Value) -> Answer {
    if st.faults.deny.contains("ListObjectsV2") {
        return xml_error(403, "AccessDenied", "Access Denied");
    }
    let bucket = req["Bucket"].as_str().unwrap_or_default();
    let prefix = req["Prefix"].as_str().unwrap_or_default();
    let Some(keys) = st.s3_keys.get(bucket) else {
        return xml_error(404, "NoSuchBucket", "The specified bucket does not exist");
    };
    let max = req["MaxKeys"].as_u64().unwrap_or(1000).min(1000) as usize;
    let found: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with(prefix))
        .take(max)
        .collect();
    let contents: String = found
        .iter()
        .map(|k| format!("<Contents><Key>{k}</Key><Size>1</Size></Contents>"))
        .collect();
    (
        200,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{bucket}</Name><Prefix>{prefix}</Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>",
            found.len()
        ),
    )
}
