//! `--record DIR`: every raw response body of a collection, scrubbed, with a manifest of the
//! calls, so that an organization's real shapes can be replayed by the test fake
//! (`tests/it/support/fake_aws.rs`, `FakeAws::replay`) without its identities.
//!
//! A [`Recorder`] is shared by the clients of one run (see `Clients::new`); an SDK interceptor
//! on each JSON-protocol client keeps, per attempt that got an answer, the operation, the
//! request body and the response's status and body. Headers are never kept: no
//! `Authorization`, signature, security token, request id or credentials. STS is not
//! recorded: `collect` does not call it (only `doctor` does, and `doctor` does not record).
//!
//! Everything is held in memory and written at the end ([`Recorder::write`]), scrubbed with one
//! mapping for the whole recording ([`Scrubber`]): account ids, organization, root and OU
//! ids, license and grant ids, account and OU names, e-mails, tag values, IAM user, role and
//! session names, CloudTrail event ids, principal ids and access keys become documentation
//! values, the same original always the same value, so that relations (a sub-grant's parent,
//! the account inside an ARN, a listing's `ParentId`) survive. The mapping itself is never
//! written. Each kind's values are numbered in their sorted order, with a fixed width, so
//! that the order survives too (the analysis breaks some ties by ARN or account id: the
//! duplicate grant kept, the subscriber among equally frequent beneficiaries), and recording
//! the same organization twice gives the same files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::permissions::Service;
use crate::model::is_account_id;

/// The name of the manifest in a recording directory.
pub const MANIFEST: &str = "manifest.json";

/// The version of the recording layout (`manifest.json` `recording_version`).
pub const RECORDING_VERSION: u32 = 1;

/// One attempt that got an answer, as sent and received (unscrubbed, in memory only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCall {
    /// The service's ledger name (`organizations`, `license-manager`, ...).
    pub service: String,
    /// The operation (`ListAccounts`).
    pub operation: String,
    pub request: Vec<u8>,
    pub status: u16,
    pub response: Vec<u8>,
}

/// One call as written: scrubbed request parameters and response body.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubbedCall {
    pub service: String,
    pub operation: String,
    /// The request body (JSON); `null` when it was not JSON.
    pub request: Value,
    pub status: u16,
    /// The response body; `None` when it was empty or not JSON (then not kept).
    pub response: Option<Value>,
}

/// The calls of one run, shared by its clients.
#[derive(Default)]
pub struct Recorder {
    calls: Mutex<Vec<RawCall>>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("calls", &self.calls.lock().map(|c| c.len()).unwrap_or(0))
            .finish()
    }
}

impl Recorder {
    pub fn push(&self, call: RawCall) {
        self.calls.lock().expect("recorder lock").push(call);
    }

    /// The calls so far, in the order their answers came back.
    pub fn calls(&self) -> Vec<RawCall> {
        self.calls.lock().expect("recorder lock").clone()
    }

    /// The interceptor that records `service`'s calls here.
    pub fn interceptor(self: &Arc<Self>, service: Service) -> RecordInterceptor {
        RecordInterceptor {
            recorder: self.clone(),
            service,
        }
    }

    /// Writes the scrubbed recording into `dir` (see [`prepare`]): `manifest.json` and one
    /// `NNNN-<Operation>.json` per response body. `now` is the run's clock, kept so that a
    /// replay can be run at the same instant (`--now`). Returns the number of calls.
    pub fn write(&self, dir: &Path, now: DateTime<Utc>) -> Result<usize> {
        let calls = self.calls();
        let (scrubbed, _) = scrub_calls(&calls);
        fs::create_dir_all(dir)
            .with_context(|| format!("failed to create the recording `{}`", dir.display()))?;
        let mut entries = Vec::with_capacity(scrubbed.len());
        for (i, call) in scrubbed.iter().enumerate() {
            let file = call.response.as_ref().map(|body| {
                let name = format!("{:04}-{}.json", i + 1, call.operation);
                (name, body)
            });
            if let Some((name, body)) = &file {
                let path = dir.join(name);
                let text = serde_json::to_string_pretty(body).expect("JSON serializes");
                fs::write(&path, text + "\n").with_context(|| {
                    format!("failed to write the recording `{}`", path.display())
                })?;
            }
            entries.push(json!({
                "service": call.service,
                "operation": call.operation,
                "request": call.request,
                "status": call.status,
                "response": file.map(|(name, _)| name),
            }));
        }
        let manifest = json!({
            "recording_version": RECORDING_VERSION,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "collected_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "scrubbed": "account, organization, root, OU, license and grant ids; account and OU names; e-mails; tag values; IAM user, role and session names; CloudTrail event ids, principal ids and access keys (one mapping for the whole recording, not kept); no headers",
            "calls": entries,
        });
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(&manifest).expect("JSON serializes");
        fs::write(&path, text + "\n")
            .with_context(|| format!("failed to write the recording `{}`", path.display()))?;
        Ok(scrubbed.len())
    }
}

/// Makes `dir` ready to receive a recording before anything is collected: created if need
/// be, and empty (a recording never mixes with other files, and nothing is deleted).
pub fn prepare(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "failed to create the recording directory `{}`",
            dir.display()
        )
    })?;
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("failed to read the recording directory `{}`", dir.display()))?;
    anyhow::ensure!(
        entries.next().is_none(),
        "the recording directory `{}` is not empty: record into a new or empty directory",
        dir.display()
    );
    Ok(())
}

/// Records each attempt of one client's calls that got an answer. Observes only: it never
/// changes a request or a response.
#[derive(Debug)]
pub struct RecordInterceptor {
    recorder: Arc<Recorder>,
    service: Service,
}

/// The body of the attempt being sent, kept until its answer is read (the request itself is
/// gone from the context by then).
#[derive(Debug, Clone)]
struct SentBody(Vec<u8>);

impl Storable for SentBody {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RecordInterceptor {
    fn name(&self) -> &'static str {
        "EntitlementAuditRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let body = match self.service {
            // REST: the input is in the path and query, not in a body.
            Service::Bedrock => serde_json::json!({"uri": path_and_query(request.uri())})
                .to_string()
                .into_bytes(),
            _ => self.as_json(request.body().bytes().unwrap_or_default()),
        };
        cfg.interceptor_state().store_put(SentBody(body));
        Ok(())
    }

    // The orchestrator has read the whole (non-streaming) body into memory by now.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or_else(String::new, |m| m.name().to_string());
        let request = cfg
            .load::<SentBody>()
            .map(|b| b.0.clone())
            .unwrap_or_default();
        let response = context.response();
        self.recorder.push(RawCall {
            service: self.service.ledger_name().to_string(),
            operation,
            request,
            status: response.status().as_u16(),
            response: self.as_json(response.body().bytes().unwrap_or_default()),
        });
        Ok(())
    }
}

impl RecordInterceptor {
    /// A body as recorded: JSON as sent; the Marketplace Agreement API's CBOR as the same
    /// value in JSON (see [`cbor_to_json`]), so that it is scrubbed and replayed like the rest.
    fn as_json(&self, body: &[u8]) -> Vec<u8> {
        match self.service {
            Service::MarketplaceAgreement => cbor_to_json(body)
                .map(|v| v.to_string().into_bytes())
                .unwrap_or_default(),
            _ => body.to_vec(),
        }
    }
}

/// `/path?query` of a request URI (`https://host/path?query`).
fn path_and_query(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// A Smithy RPC v2 CBOR body as JSON: maps, arrays, text, numbers and booleans as they are,
/// tags (timestamps: tag 1, epoch seconds) as their content; `None` for a body that is not
/// CBOR. An empty body is the empty object.
pub fn cbor_to_json(body: &[u8]) -> Option<Value> {
    use ciborium::Value as Cbor;
    fn convert(v: &Cbor) -> Value {
        match v {
            Cbor::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_text().unwrap_or_default().to_string(), convert(v)))
                    .collect(),
            ),
            Cbor::Array(items) => Value::Array(items.iter().map(convert).collect()),
            Cbor::Text(s) => Value::String(s.clone()),
            Cbor::Integer(i) => i64::try_from(i128::from(*i)).map_or(Value::Null, Value::from),
            Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cbor::Bool(b) => Value::Bool(*b),
            Cbor::Tag(_, inner) => convert(inner),
            _ => Value::Null,
        }
    }
    if body.is_empty() {
        return Some(Value::Object(Default::default()));
    }
    ciborium::from_reader::<Cbor, _>(body)
        .ok()
        .map(|v| convert(&v))
}

/// Scrubs a run's calls with one mapping that keeps each kind's order (see
/// [`Scrubber::ordered`]), and returns them in their own order with the mapping.
pub fn scrub_calls(calls: &[RawCall]) -> (Vec<ScrubbedCall>, Scrubber) {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok();
    let parsed: Vec<(Option<Value>, Option<Value>)> = calls
        .iter()
        .map(|c| (parse(&c.request), parse(&c.response)))
        .collect();
    // Learn every value first, so that each kind is numbered in its sorted order.
    let mut learner = Scrubber::learning();
    for v in parsed.iter().flat_map(|(req, resp)| [req, resp]).flatten() {
        learner.json(v);
    }
    let mut scrubber = learner.ordered();
    let out: Vec<ScrubbedCall> = calls
        .iter()
        .zip(&parsed)
        .map(|(c, (req, resp))| ScrubbedCall {
            service: c.service.clone(),
            operation: c.operation.clone(),
            request: req.as_ref().map_or(Value::Null, |v| scrubber.json(v)),
            status: c.status,
            response: resp.as_ref().map(|v| scrubber.json(v)),
        })
        .collect();
    (out, scrubber)
}

/// What a scrubbed value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// 12-digit account id -> `100000000001`, `100000000002`, ... (the replacements below are
    /// those of the first, second, ... value in sorted order)
    Account,
    /// `o-...` -> `o-rec0000001`
    Organization,
    /// `r-...` -> `r-rec0001`
    Root,
    /// `ou-...-...` -> `ou-rec0-00000001`
    Ou,
    /// `l-<hex>` -> `l-000...001`
    License,
    /// `g-<hex>` -> `g-000...001`
    Grant,
    /// -> `user0001@example.com`
    Email,
    /// An account's name (also Cost Explorer's account description) -> `account-0001`
    AccountName,
    /// An OU's name -> `unit-0001` (roots keep theirs: AWS names every root `Root`)
    OuName,
    /// A tag value, on an account or in a cost-allocation tag group key -> `tag-0001`
    TagValue,
    /// IAM user, role or session name, CloudTrail `Username` -> `principal-0001`
    Principal,
    /// CloudTrail `principalId` -> `AIDAEXAMPLE000000001`
    PrincipalId,
    /// CloudTrail event, request and client-token ids -> `00000000-0000-4000-8000-000000000001`
    EventId,
    /// Access key id -> `AKIAEXAMPLE000000001`
    AccessKey,
}

impl Kind {
    /// The `n`th value; `w` digits for the kinds without a fixed width.
    fn replacement(self, n: u64, w: usize) -> String {
        match self {
            Kind::Account => (100_000_000_000 + n).to_string(),
            Kind::Organization => format!("o-rec{n:07}"),
            Kind::Root => format!("r-rec{n:04}"),
            Kind::Ou => format!("ou-rec0-{n:08}"),
            Kind::License => format!("l-{n:032x}"),
            Kind::Grant => format!("g-{n:032x}"),
            Kind::Email => format!("user{n:0w$}@example.com"),
            Kind::AccountName => format!("account-{n:0w$}"),
            Kind::OuName => format!("unit-{n:0w$}"),
            Kind::TagValue => format!("tag-{n:0w$}"),
            Kind::Principal => format!("principal-{n:0w$}"),
            Kind::PrincipalId => format!("AIDAEXAMPLE{n:09}"),
            Kind::EventId => format!("00000000-0000-4000-8000-{n:012}"),
            Kind::AccessKey => format!("AKIAEXAMPLE{n:09}"),
        }
    }
}

/// The one mapping of a recording: each original value of a kind always becomes the same
/// documentation value. [`Scrubber::ordered`] numbers the values it learnt in their sorted
/// order; a value not learnt gets the next number. Empty strings stay empty.
#[derive(Debug, Default, Clone)]
pub struct Scrubber {
    map: HashMap<(Kind, String), String>,
    next: HashMap<Kind, u64>,
    width: HashMap<Kind, usize>,
    /// While learning: the values seen, per kind (everything passes through unchanged).
    learnt: Option<BTreeMap<Kind, BTreeSet<String>>>,
}

/// The `CloudTrailEvent` fields kept (the rest, e.g. `sourceIPAddress`, `userAgent`,
/// `tlsDetails`, `additionalEventData`, is dropped).
const EVENT_KEYS: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
];
const IDENTITY_KEYS: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "sessionContext",
];
const SESSION_KEYS: &[&str] = &["sessionIssuer", "attributes"];
const ISSUER_KEYS: &[&str] = &["type", "principalId", "arn", "accountId", "userName"];
const ATTRIBUTE_KEYS: &[&str] = &["creationDate", "mfaAuthenticated"];

impl Scrubber {
    /// A scrubber that only learns the values it is shown, changing nothing, for
    /// [`Scrubber::ordered`].
    pub fn learning() -> Self {
        Self {
            learnt: Some(BTreeMap::new()),
            ..Self::default()
        }
    }

    /// The mapping of the values learnt: each kind's values numbered in their sorted order,
    /// at one width (at least 4 digits), so that comparing two replacements of a kind gives
    /// what comparing the originals gave.
    pub fn ordered(self) -> Self {
        let mut out = Self::default();
        for (kind, values) in self.learnt.unwrap_or_default() {
            let w = values.len().to_string().len().max(4);
            out.width.insert(kind, w);
            out.next.insert(kind, values.len() as u64);
            for (i, v) in values.into_iter().enumerate() {
                let replacement = kind.replacement(i as u64 + 1, w);
                out.map.insert((kind, v), replacement);
            }
        }
        out
    }

    /// The value `original` of `kind` becomes (the next number if it was not learnt).
    pub fn value(&mut self, kind: Kind, original: &str) -> String {
        if original.is_empty() {
            return String::new();
        }
        if let Some(learnt) = &mut self.learnt {
            learnt.entry(kind).or_default().insert(original.to_string());
            return original.to_string();
        }
        if let Some(v) = self.map.get(&(kind, original.to_string())) {
            return v.clone();
        }
        let n = self.next.entry(kind).or_insert(0);
        *n += 1;
        let v = kind.replacement(*n, *self.width.get(&kind).unwrap_or(&4));
        self.map.insert((kind, original.to_string()), v.clone());
        v
    }

    /// What `original` of `kind` became, if it was seen.
    pub fn mapped(&self, kind: Kind, original: &str) -> Option<&str> {
        self.map
            .get(&(kind, original.to_string()))
            .map(String::as_str)
    }

    /// A response or request body: every string, by where it is (names, e-mails, tag values,
    /// CloudTrail fields) or else by what it holds ([`Scrubber::text`]). Keys, numbers and
    /// booleans are kept.
    pub fn json(&mut self, v: &Value) -> Value {
        self.walk(v, "", "", "")
    }

    fn walk(&mut self, v: &Value, grand: &str, parent: &str, key: &str) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.walk(x, parent, key, k)))
                    .collect(),
            ),
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.walk(x, grand, parent, key)).collect())
            }
            Value::String(s) => Value::String(self.field(grand, parent, key, s)),
            other => other.clone(),
        }
    }

    /// A string at `key` in an object found under `parent` (itself under `grand`).
    fn field(&mut self, grand: &str, parent: &str, key: &str, s: &str) -> String {
        match (parent, key) {
            ("Accounts" | "Account", "Name") => self.value(Kind::AccountName, s),
            ("Accounts" | "Account", "Email") | (_, "MasterAccountEmail") => {
                self.value(Kind::Email, s)
            }
            ("OrganizationalUnits" | "OrganizationalUnit", "Name") => self.value(Kind::OuName, s),
            ("Tags", "Value") => self.value(Kind::TagValue, s),
            // Cost Explorer's tag group keys are `key$value`.
            ("Groups", "Keys") => match s.split_once('$') {
                Some((k, v)) => format!("{k}${}", self.value(Kind::TagValue, v)),
                None => self.text(s),
            },
            // Cost Explorer's account descriptions (account names).
            ("Attributes", _) if grand == "DimensionValueAttributes" => {
                self.value(Kind::AccountName, s)
            }
            ("Events", "EventId") => self.value(Kind::EventId, s),
            ("Events", "Username") => self.value(Kind::Principal, s),
            ("Events", "AccessKeyId") => self.value(Kind::AccessKey, s),
            ("Events", "CloudTrailEvent") => self.cloudtrail_event(s),
            _ => self.text(s),
        }
    }

    /// A CloudTrail event's JSON document: only the fields the audit could use are kept, then
    /// scrubbed like a body (principal and event ids, access keys, user names by key).
    pub fn cloudtrail_event(&mut self, s: &str) -> String {
        let Ok(Value::Object(detail)) = serde_json::from_str::<Value>(s) else {
            return self.text(s);
        };
        let mut kept = only(&detail, EVENT_KEYS);
        if let Some(Value::Object(identity)) = detail.get("userIdentity") {
            let mut id = only(identity, IDENTITY_KEYS);
            if let Some(Value::Object(session)) = identity.get("sessionContext") {
                let mut sc = only(session, SESSION_KEYS);
                if let Some(Value::Object(issuer)) = session.get("sessionIssuer") {
                    sc.insert(
                        "sessionIssuer".into(),
                        Value::Object(only(issuer, ISSUER_KEYS)),
                    );
                }
                if let Some(Value::Object(attrs)) = session.get("attributes") {
                    sc.insert(
                        "attributes".into(),
                        Value::Object(only(attrs, ATTRIBUTE_KEYS)),
                    );
                }
                id.insert("sessionContext".into(), Value::Object(sc));
            }
            kept.insert("userIdentity".into(), Value::Object(id));
        }
        let scrubbed = self.event_walk(&Value::Object(kept), "");
        serde_json::to_string(&scrubbed).expect("JSON serializes")
    }

    fn event_walk(&mut self, v: &Value, key: &str) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.event_walk(x, k)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.event_walk(x, key)).collect()),
            Value::String(s) => Value::String(match key {
                "accessKeyId" => self.value(Kind::AccessKey, s),
                "principalId" => self.value(Kind::PrincipalId, s),
                "userName" => self.value(Kind::Principal, s),
                "eventID" | "requestID" | "clientToken" => self.value(Kind::EventId, s),
                _ => self.text(s),
            }),
            other => other.clone(),
        }
    }

    /// Free text: ARNs (their account, the ids in their resource, IAM names), e-mails, and the
    /// ids that stand alone (12-digit account ids, `o-`, `r-`, `ou-`, `l-`, `g-` ids). Anything
    /// else (dates, amounts, enum values, product names, UUIDs) is left as it is.
    pub fn text(&mut self, s: &str) -> String {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let (mut i, mut copied) = (0, 0);
        while i < b.len() {
            if !(is_token_byte(b[i]) && (i == 0 || !is_token_byte(b[i - 1]))) {
                i += 1;
                continue;
            }
            out.push_str(&s[copied..i]);
            let arn = s[i..].starts_with("arn:");
            let within = |c: u8| {
                if arn {
                    is_arn_byte(c)
                } else {
                    is_token_byte(c)
                }
            };
            let end = i + b[i..]
                .iter()
                .position(|&c| !within(c))
                .unwrap_or(b.len() - i);
            let piece = &s[i..end];
            let scrubbed = if arn {
                self.arn(piece)
            } else {
                self.token(piece)
            };
            out.push_str(&scrubbed);
            (i, copied) = (end, end);
        }
        out.push_str(&s[copied..]);
        out
    }

    fn arn(&mut self, a: &str) -> String {
        let parts: Vec<&str> = a.splitn(6, ':').collect();
        let ["arn", partition, service, region, account, resource] = parts[..] else {
            return self.pieces(a);
        };
        let account = if is_account_id(account) {
            self.value(Kind::Account, account)
        } else {
            self.pieces(account)
        };
        let resource = match service {
            "iam" | "sts" => self.iam_resource(resource),
            _ => self.pieces(resource),
        };
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    }

    /// `user/NAME`, `role/PATH/NAME`, `assumed-role/ROLE/SESSION`, ...: the names go; `root`
    /// and the resource type stay.
    fn iam_resource(&mut self, r: &str) -> String {
        const NAMED: &[&str] = &[
            "user",
            "role",
            "assumed-role",
            "group",
            "federated-user",
            "instance-profile",
            "mfa",
            "server-certificate",
        ];
        match r.split_once('/') {
            Some((kind, names)) if NAMED.contains(&kind) => {
                let names: Vec<String> = names
                    .split('/')
                    .map(|n| self.value(Kind::Principal, n))
                    .collect();
                format!("{kind}/{}", names.join("/"))
            }
            _ => self.pieces(r),
        }
    }

    /// Each `:`/`/`-separated piece as a token.
    fn pieces(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(at) = rest.find([':', '/']) {
            out.push_str(&self.token(&rest[..at]));
            out.push_str(&rest[at..at + 1]);
            rest = &rest[at + 1..];
        }
        out.push_str(&self.token(rest));
        out
    }

    /// One word: an e-mail as a whole, else the ids in it.
    fn token(&mut self, t: &str) -> String {
        let core = t.trim_end_matches('.');
        let tail = &t[core.len()..];
        if is_email(core) {
            return self.value(Kind::Email, core) + tail;
        }
        self.ids(core) + tail
    }

    fn ids(&mut self, t: &str) -> String {
        let b = t.as_bytes();
        let mut out = String::with_capacity(t.len());
        let (mut p, mut copied) = (0, 0);
        while p < b.len() {
            let before = if p == 0 { None } else { Some(b[p - 1]) };
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                p += 1;
                continue;
            }
            let found = id_at(b, p).filter(|(kind, _)| {
                // A UUID's last group or a decimal's digits are not an account.
                *kind != Kind::Account || !matches!(before, Some(b'-' | b'.'))
            });
            match found {
                Some((kind, len)) => {
                    out.push_str(&t[copied..p]);
                    out.push_str(&self.value(kind, &t[p..p + len]));
                    p += len;
                    copied = p;
                }
                None => p += 1,
            }
        }
        out.push_str(&t[copied..]);
        out
    }
}

/// The object with only `keys` (in its own order).
fn only(m: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    m.iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._%+@-".contains(&c)
}

fn is_arn_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":/_+=.@-".contains(&c)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && domain
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
}

/// The id starting at `p` of `b` (the caller checked the byte before), with its length.
fn id_at(b: &[u8], p: usize) -> Option<(Kind, usize)> {
    let s = &b[p..];
    let lower = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let hex = |c: &u8| c.is_ascii_digit() || (b'a'..=b'f').contains(c);
    let run = |from: usize, pred: &dyn Fn(&u8) -> bool| {
        s.get(from..)
            .map_or(0, |r| r.iter().take_while(|c| pred(c)).count())
    };
    let ends = |len: usize| s.get(len).is_none_or(|c| !c.is_ascii_alphanumeric());
    let within = |n: usize, lo: usize, hi: usize| (lo..=hi).contains(&n);
    if s.starts_with(b"ou-") {
        let a = run(3, &lower);
        if within(a, 4, 32) && s.get(3 + a) == Some(&b'-') {
            let c = run(4 + a, &lower);
            if within(c, 8, 32) && ends(4 + a + c) {
                return Some((Kind::Ou, 4 + a + c));
            }
        }
        return None;
    }
    let prefixed = |prefix: &[u8], pred: &dyn Fn(&u8) -> bool, lo, hi| {
        if !s.starts_with(prefix) {
            return None;
        }
        let n = run(2, pred);
        (within(n, lo, hi) && ends(2 + n)).then_some(2 + n)
    };
    if let Some(len) = prefixed(b"o-", &lower, 10, 32) {
        return Some((Kind::Organization, len));
    }
    if let Some(len) = prefixed(b"r-", &lower, 4, 32) {
        return Some((Kind::Root, len));
    }
    if let Some(len) = prefixed(b"l-", &hex, 16, 64) {
        return Some((Kind::License, len));
    }
    if let Some(len) = prefixed(b"g-", &hex, 16, 64) {
        return Some((Kind::Grant, len));
    }
    let digits = run(0, &|c: &u8| c.is_ascii_digit());
    (digits == 12 && ends(12)).then_some((Kind::Account, 12))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MGMT: &str = "123456789012";
    const PROD: &str = "111122223333";
    const ORG: &str = "o-a1b2c3d4e5";
    const ROOT: &str = "r-ab12";
    const OU: &str = "ou-ab12-22222222";
    const LICENSE: &str =
        "arn:aws:license-manager::123456789012:license:l-8708ed4525ab0e85325799913cbc896a";
    const GRANT: &str =
        "arn:aws:license-manager::123456789012:grant:g-0a4f567220a64b1c6cbefa129e113e27";
    const SUB_GRANT: &str =
        "arn:aws:license-manager::111122223333:grant:g-bb00833b00476ec645332e1035aa6f59";
    const SKU: &str = "1d288308-9f2f-4f84-8c65-555566667777";

    fn call(op: &str, service: &str, request: Value, response: Value) -> RawCall {
        RawCall {
            service: service.into(),
            operation: op.into(),
            request: request.to_string().into_bytes(),
            status: 200,
            response: response.to_string().into_bytes(),
        }
    }

    /// A small organization's answers, with the relations the collector follows.
    fn calls() -> Vec<RawCall> {
        let event = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:alice",
                             "arn": format!("arn:aws:sts::{MGMT}:assumed-role/LicenseAdmin/alice"),
                             "accountId": MGMT, "accessKeyId": "ASIAREALKEY123",
                             "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "LicenseAdmin",
                                 "arn": format!("arn:aws:iam::{MGMT}:role/LicenseAdmin")},
                                 "webIdFederationData": {"subject": "repo:acme/secret-repo"}}},
            "eventTime": "2026-08-16T02:40:00Z", "eventName": "CreateGrant",
            "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2 alice-laptop",
            "requestID": "5f0c1d2e-aaaa-bbbb-cccc-0123456789ab",
            "eventID": "9e8d7c6b-aaaa-bbbb-cccc-0123456789ab",
            "requestParameters": {"licenseArn": LICENSE,
                                  "principals": [format!("arn:aws:iam::{PROD}:root")]},
            "responseElements": {"grantArn": GRANT, "status": "PENDING_ACCEPT"},
        });
        vec![
            call(
                "ListAccountsForParent",
                "organizations",
                json!({"ParentId": OU}),
                json!({"Accounts": [{"Id": PROD, "Name": "payments-prod",
                    "Email": "payments@acme.example", "State": "ACTIVE",
                    "Arn": format!("arn:aws:organizations::{MGMT}:account/{ORG}/{PROD}"),
                    "JoinedTimestamp": 1.7e9}]}),
            ),
            call(
                "DescribeOrganization",
                "organizations",
                json!({}),
                json!({"Organization": {"Id": ORG,
                    "Arn": format!("arn:aws:organizations::{MGMT}:organization/{ORG}"),
                    "FeatureSet": "ALL", "MasterAccountId": MGMT,
                    "MasterAccountEmail": "cloud-admin@acme.example"}}),
            ),
            call(
                "ListOrganizationalUnitsForParent",
                "organizations",
                json!({"ParentId": ROOT}),
                json!({"OrganizationalUnits": [{"Id": OU, "Name": "Payments",
                    "Arn": format!("arn:aws:organizations::{MGMT}:ou/{ORG}/{OU}")}]}),
            ),
            call(
                "ListRoots",
                "organizations",
                json!({}),
                json!({"Roots": [{"Id": ROOT, "Name": "Root",
                    "Arn": format!("arn:aws:organizations::{MGMT}:root/{ORG}/{ROOT}")}]}),
            ),
            call(
                "ListTagsForResource",
                "organizations",
                json!({"ResourceId": PROD}),
                json!({"Tags": [{"Key": "team", "Value": "payments"}]}),
            ),
            call(
                "ListReceivedLicenses",
                "license-manager",
                json!({"Filters": [{"Name": "IssuerName", "Values": ["AWS/Marketplace"]}]}),
                json!({"Licenses": [{"LicenseArn": LICENSE, "ProductName": "Claude 3 Haiku",
                    "ProductSKU": SKU, "Issuer": {"Name": "AWS/Marketplace"},
                    "Status": "AVAILABLE", "Beneficiary": MGMT, "CreateTime": "1786848000",
                    "Validity": {"Begin": "2026-08-01T00:00:00Z"}}]}),
            ),
            call(
                "ListDistributedGrants",
                "license-manager",
                json!({"MaxResults": 100}),
                json!({"Grants": [{"GrantArn": GRANT, "ParentArn": LICENSE, "LicenseArn": LICENSE,
                    "GrantName": "Claude 3 Haiku", "GrantStatus": "ACTIVE",
                    "GranteePrincipalArn": format!("arn:aws:organizations::{MGMT}:ou/{ORG}/{OU}")}],
                    "NextToken": "t1"}),
            ),
            call(
                "ListReceivedGrantsForOrganization",
                "license-manager",
                json!({"LicenseArn": LICENSE}),
                json!({"Grants": [{"GrantArn": SUB_GRANT, "ParentArn": GRANT, "LicenseArn": LICENSE,
                    "GranteePrincipalArn": format!("arn:aws:iam::{PROD}:root"),
                    "GrantStatus": "DISABLED",
                    "StatusReason": format!("account {PROD} did not activate")}]}),
            ),
            call(
                "GetCostAndUsage",
                "cost-explorer",
                json!({"TimePeriod": {"Start": "2026-10-01", "End": "2026-10-04"},
                       "GroupBy": [{"Type": "TAG", "Key": "team"},
                                   {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]}),
                json!({"ResultsByTime": [{"TimePeriod": {"Start": "2026-10-01", "End": "2026-10-02"},
                    "Groups": [{"Keys": ["team$payments", PROD],
                                "Metrics": {"UnblendedCost": {"Amount": "0.555566667777", "Unit": "USD"}}},
                               {"Keys": ["team$", PROD],
                                "Metrics": {"UnblendedCost": {"Amount": "105.925992", "Unit": "USD"}}}]}],
                    "DimensionValueAttributes": [{"Value": PROD,
                        "Attributes": {"description": "payments-prod"}}]}),
            ),
            call(
                "LookupEvents",
                "cloudtrail",
                json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateGrant"}],
                       "StartTime": 1786848000}),
                json!({"Events": [{"EventId": "9e8d7c6b-aaaa-bbbb-cccc-0123456789ab",
                    "EventName": "CreateGrant", "Username": "alice", "AccessKeyId": "ASIAREALKEY123",
                    "EventTime": 1786848000.0,
                    "Resources": [{"ResourceType": "AWS::LicenseManager::Grant", "ResourceName": GRANT}],
                    "CloudTrailEvent": event.to_string()}]}),
            ),
        ]
    }

    fn by_op<'a>(scrubbed: &'a [ScrubbedCall], op: &str) -> &'a ScrubbedCall {
        scrubbed.iter().find(|c| c.operation == op).unwrap()
    }

    fn resp<'a>(scrubbed: &'a [ScrubbedCall], op: &str) -> &'a Value {
        by_op(scrubbed, op).response.as_ref().unwrap()
    }

    #[test]
    fn relations_survive_scrubbing() {
        let (s, _) = scrub_calls(&calls());
        let org = &resp(&s, "DescribeOrganization")["Organization"];
        // In sorted order: 111122223333, then 123456789012.
        assert_eq!(org["MasterAccountId"], "100000000002");
        assert_eq!(
            org["Arn"],
            format!(
                "arn:aws:organizations::100000000002:organization/{}",
                org["Id"].as_str().unwrap()
            )
        );
        let root = resp(&s, "ListRoots")["Roots"][0]["Id"].clone();
        assert_eq!(
            by_op(&s, "ListOrganizationalUnitsForParent").request["ParentId"],
            root
        );
        let ou = resp(&s, "ListOrganizationalUnitsForParent")["OrganizationalUnits"][0].clone();
        assert_eq!(
            by_op(&s, "ListAccountsForParent").request["ParentId"],
            ou["Id"]
        );
        let account = resp(&s, "ListAccountsForParent")["Accounts"][0].clone();
        let id = account["Id"].as_str().unwrap();
        assert_eq!(by_op(&s, "ListTagsForResource").request["ResourceId"], id);
        assert!(account["Arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{id}")));

        let lic = resp(&s, "ListReceivedLicenses")["Licenses"][0].clone();
        let grant = resp(&s, "ListDistributedGrants")["Grants"][0].clone();
        let sub = resp(&s, "ListReceivedGrantsForOrganization")["Grants"][0].clone();
        assert_eq!(grant["ParentArn"], lic["LicenseArn"]);
        assert_eq!(sub["ParentArn"], grant["GrantArn"]);
        assert_eq!(
            by_op(&s, "ListReceivedGrantsForOrganization").request["LicenseArn"],
            lic["LicenseArn"]
        );
        assert_eq!(
            sub["GranteePrincipalArn"],
            format!("arn:aws:iam::{id}:root")
        );
        assert_eq!(grant["GranteePrincipalArn"], ou["Arn"]);
        assert_eq!(lic["Beneficiary"], "100000000002");
        assert_eq!(
            sub["StatusReason"],
            format!("account {id} did not activate")
        );

        let ce = resp(&s, "GetCostAndUsage");
        let groups = &ce["ResultsByTime"][0]["Groups"];
        let tag = resp(&s, "ListTagsForResource")["Tags"][0].clone();
        assert_eq!(
            groups[0]["Keys"][0],
            format!("team${}", tag["Value"].as_str().unwrap())
        );
        assert_eq!(groups[0]["Keys"][1], id);
        assert_eq!(
            groups[1]["Keys"][0], "team$",
            "untagged spend stays untagged"
        );
        assert_eq!(
            ce["DimensionValueAttributes"][0]["Attributes"]["description"],
            account["Name"]
        );

        let ev = &resp(&s, "LookupEvents")["Events"][0];
        let detail: Value = serde_json::from_str(ev["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(detail["eventID"], ev["EventId"]);
        assert_eq!(detail["responseElements"]["grantArn"], grant["GrantArn"]);
        assert_eq!(ev["Resources"][0]["ResourceName"], grant["GrantArn"]);
        assert_eq!(
            detail["requestParameters"]["principals"][0],
            sub["GranteePrincipalArn"]
        );
        let actor = detail["userIdentity"]["arn"].as_str().unwrap();
        assert!(
            actor.ends_with(&format!("/{}", ev["Username"].as_str().unwrap())),
            "{actor}"
        );
        assert!(
            actor.starts_with("arn:aws:sts::100000000002:assumed-role/principal-"),
            "{actor}"
        );
        assert_eq!(
            detail["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
            actor.split('/').nth(1).unwrap()
        );
    }

    #[test]
    fn no_original_identity_remains() {
        let (s, _) = scrub_calls(&calls());
        let mut text = String::new();
        for c in &s {
            text.push_str(&c.request.to_string());
            if let Some(r) = &c.response {
                text.push_str(&r.to_string());
            }
        }
        for original in [
            MGMT,
            PROD,
            ORG,
            ROOT,
            OU,
            "8708ed4525ab0e85325799913cbc896a",
            "0a4f567220a64b1c6cbefa129e113e27",
            "bb00833b00476ec645332e1035aa6f59",
            "payments-prod",
            "Payments",
            "acme.example",
            "\"payments\"",
            "team$payments",
            "alice",
            "LicenseAdmin",
            "AROAEXAMPLEID",
            "ASIAREALKEY123",
            "198.51.100.23",
            "aws-cli",
            "secret-repo",
            "9e8d7c6b",
            "5f0c1d2e",
        ] {
            assert!(!text.contains(original), "`{original}` remains in {text}");
        }
    }

    #[test]
    fn what_is_not_an_identity_is_kept() {
        let (s, _) = scrub_calls(&calls());
        let lic = &resp(&s, "ListReceivedLicenses")["Licenses"][0];
        assert_eq!(lic["ProductName"], "Claude 3 Haiku");
        assert_eq!(
            lic["ProductSKU"], SKU,
            "a UUID's last group is not an account"
        );
        assert_eq!(lic["Status"], "AVAILABLE");
        assert_eq!(lic["CreateTime"], "1786848000");
        assert_eq!(lic["Validity"]["Begin"], "2026-08-01T00:00:00Z");
        assert_eq!(lic["Issuer"]["Name"], "AWS/Marketplace");
        let req = &by_op(&s, "ListReceivedLicenses").request;
        assert_eq!(req["Filters"][0]["Name"], "IssuerName");
        assert_eq!(resp(&s, "ListRoots")["Roots"][0]["Name"], "Root");
        assert_eq!(resp(&s, "ListDistributedGrants")["NextToken"], "t1");
        let ce = resp(&s, "GetCostAndUsage");
        let metrics = &ce["ResultsByTime"][0]["Groups"][0]["Metrics"]["UnblendedCost"];
        assert_eq!(metrics["Amount"], "0.555566667777");
        assert_eq!(
            by_op(&s, "GetCostAndUsage").request["GroupBy"][0]["Key"],
            "team"
        );
        let tags = &resp(&s, "ListTagsForResource")["Tags"][0];
        assert_eq!(tags["Key"], "team");
        let ev = &resp(&s, "LookupEvents")["Events"][0];
        assert_eq!(ev["EventName"], "CreateGrant");
        assert_eq!(ev["EventTime"], 1786848000.0);
        let detail: Value = serde_json::from_str(ev["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(detail["eventTime"], "2026-08-16T02:40:00Z");
        assert_eq!(detail["responseElements"]["status"], "PENDING_ACCEPT");
        assert!(detail.get("sourceIPAddress").is_none() && detail.get("userAgent").is_none());
        assert!(detail["userIdentity"]["sessionContext"]
            .get("webIdFederationData")
            .is_none());
    }

    #[test]
    fn the_mapping_is_one_to_one_and_stable() {
        let mut s = Scrubber::default();
        let a = s.value(Kind::Account, MGMT);
        assert_eq!(s.value(Kind::Account, MGMT), a);
        assert_ne!(s.value(Kind::Account, PROD), a);
        assert_eq!(s.mapped(Kind::Account, MGMT), Some(a.as_str()));
        assert_eq!(s.value(Kind::TagValue, ""), "");
        let text = format!("{LICENSE} and {GRANT}, see account {PROD}.");
        let once = s.text(&text);
        assert_eq!(s.text(&text), once);
        assert_eq!(
            once,
            format!(
                "arn:aws:license-manager::{a}:license:l-{:032x} and arn:aws:license-manager::{a}:grant:g-{:032x}, see account {}.",
                1,
                1,
                s.mapped(Kind::Account, PROD).unwrap()
            )
        );
        // The mapping depends on the calls, not on the order their answers came back in.
        let mut shuffled = calls();
        shuffled.reverse();
        shuffled.rotate_left(3);
        let sorted = |calls: &[RawCall]| {
            let mut out: Vec<String> = scrub_calls(calls)
                .0
                .iter()
                .map(|c| format!("{c:?}"))
                .collect();
            out.sort();
            out
        };
        assert_eq!(sorted(&calls()), sorted(&shuffled));
    }

    #[test]
    fn each_kind_keeps_its_order() {
        let mut learner = Scrubber::learning();
        let arns = [GRANT, SUB_GRANT, &GRANT.replace("g-0a4f", "g-ffff")];
        let names = ["zeta", "Alpha", "alpha", "beta-10", "beta-9"];
        for a in &arns {
            assert_eq!(learner.text(a), *a, "learning changes nothing");
        }
        for n in names {
            learner.value(Kind::AccountName, n);
        }
        let mut s = learner.ordered();
        let mut pairs: Vec<(String, String)> =
            arns.iter().map(|a| (a.to_string(), s.text(a))).collect();
        pairs.extend(
            names
                .iter()
                .map(|n| (n.to_string(), s.value(Kind::AccountName, n))),
        );
        for (a, x) in &pairs {
            for (b, y) in &pairs {
                if x.starts_with("arn:") == y.starts_with("arn:") {
                    assert_eq!(a.cmp(b), x.cmp(y), "{a} {b} -> {x} {y}");
                }
            }
        }
        assert_eq!(s.value(Kind::AccountName, "Alpha"), "account-0001");
        assert_eq!(s.value(Kind::AccountName, "unseen"), "account-0006");
    }

    #[test]
    fn a_recording_directory_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("rec");
        prepare(&target).unwrap();
        prepare(&target).unwrap();
        fs::write(target.join("other"), "x").unwrap();
        let err = prepare(&target).unwrap_err().to_string();
        assert!(
            err.contains("is not empty") && err.contains("rec`"),
            "{err}"
        );
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let err = format!("{:#}", prepare(&file).unwrap_err());
        assert!(err.contains(&format!("`{}`", file.display())), "{err}");
    }

    #[test]
    fn writes_a_manifest_and_one_file_per_body() {
        let rec = Recorder::default();
        for c in calls() {
            rec.push(c);
        }
        rec.push(RawCall {
            service: "organizations".into(),
            operation: "ListRoots".into(),
            request: b"{}".to_vec(),
            status: 503,
            response: b"<html>busy</html>".to_vec(),
        });
        let dir = tempfile::tempdir().unwrap();
        let now = DateTime::parse_from_rfc3339("2026-10-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rec.write(dir.path(), now).unwrap(), 11);
        let m: Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(m["collected_at"], "2026-10-04T12:00:00Z");
        let calls = m["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 11);
        assert_eq!(calls[0]["operation"], "ListAccountsForParent");
        assert_eq!(calls[0]["response"], "0001-ListAccountsForParent.json");
        let body: Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("0001-ListAccountsForParent.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(body["Accounts"][0]["Name"], "account-0001");
        assert_eq!(calls[10]["status"], 503);
        assert_eq!(
            calls[10]["response"],
            Value::Null,
            "a body that is not JSON is not kept"
        );
    }
}
