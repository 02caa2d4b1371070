//! A fake AWS endpoint for the collector tests: one HTTP/1.1 server on 127.0.0.1 serving
//! Organizations, License Manager, Cost Explorer and CloudTrail (JSON 1.1, dispatched on
//! `X-Amz-Target`) and STS `GetCallerIdentity` (query protocol), over a scenario organization
//! held in memory, with fault knobs. It records every operation called.
//!
//! Here: the server, the routing of a request to its service, the faults and pagination.
//! Each service's operations are in the file named like its collector in
//! `src/inputs/collect/`: [`organizations`], [`license_manager`], [`cost_explorer`],
//! [`cloudtrail`], and [`sts`]; serving a recording is [`replay`].
//!
//! For the collection benchmark it can also behave like a distant, rate-limited service:
//! a fixed latency per call and a request rate per service above which it answers the
//! service's throttling error ([`Faults::latency`], [`Faults::rate_limits`]).
//!
//! [`FakeAws::replay`] serves a directory written by `collect --record` instead of a
//! scenario: each request is answered with the recorded answer to the same operation and
//! request body.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

mod athena;
mod bedrock;
mod cloudtrail;
mod cost_explorer;
mod license_manager;
mod marketplace_agreement;
pub mod members;
mod organizations;
mod pricing;
mod replay;
mod s3;
mod sts;

pub use athena::Athena;
pub use marketplace_agreement::Market;
pub use members::Members;
pub use sts::ASSUMED_ACCESS_KEY;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entitlement_audit::inputs::collect::permissions::Service;
use replay::Replay;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Call {
    /// `X-Amz-Target` prefix (`AWSLicenseManager`), or `STS`.
    pub prefix: String,
    /// Operation name (text after the last dot of the target).
    pub op: String,
    pub body: Value,
    pub status: u16,
    /// The error code answered (`__type`), if any.
    pub error: Option<String>,
    /// The SigV4 signing region (from the `Authorization` credential scope).
    pub region: Option<String>,
    /// The access key id that signed the request.
    pub access_key: Option<String>,
    /// How long the request waited for the fake's lock, and how long answering it held the
    /// lock (the fake answers one request at a time; benchmarks report both).
    pub waited: Duration,
    pub held: Duration,
    /// The body answered, when the fake keeps them ([`FakeAws::keep_responses`]).
    pub response: Option<String>,
}

/// Fault injection.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Items per page (capped by the request's own `MaxResults`).
    pub page_size: Option<usize>,
    /// Put an empty page carrying a token before every page and after the last.
    pub empty_pages: bool,
    /// Operation -> how many of its next calls get the service's throttling error.
    pub throttle: BTreeMap<String, u32>,
    /// Operation -> (HTTP status, how many of its next calls get it).
    pub server_errors: BTreeMap<String, (u16, u32)>,
    /// Operations answered with `AccessDeniedException`.
    pub deny: BTreeSet<String>,
    /// (operation, text in the request body): always throttled.
    pub throttle_always: Vec<(String, String)>,
    /// A Cost Explorer metric answered with `ValidationException`.
    pub reject_metric: Option<String>,
    /// Time the fake waits before answering each request (outside its lock, so requests in
    /// flight overlap as they would against AWS).
    pub latency: Option<Duration>,
    /// `X-Amz-Target` prefix (`AWSLicenseManager`) -> requests per second the service
    /// accepts; above it, the service's throttling error. A token bucket holding one
    /// second's worth of requests.
    pub rate_limits: BTreeMap<String, f64>,
    /// Cost Explorer answers at most this many groups per page, splitting a day across pages
    /// when it has more (AWS does not document its page size). Without it, pages hold whole
    /// days, `page_size` of them.
    pub ce_groups_per_page: Option<usize>,
}

/// One line of spend, before Cost Explorer groups it.
#[derive(Debug, Clone)]
pub struct Fact {
    /// `YYYY-MM-DD`
    pub date: String,
    pub account: String,
    /// Cost Explorer `SERVICE`.
    pub service: String,
    /// Value of the cost-allocation tag (any key the query names).
    pub team: Option<String>,
    pub billing_entity: String,
    pub cost: f64,
    pub qty: f64,
    pub public: Option<f64>,
}

/// The organization the fake serves.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub organization: Value,
    pub roots: Vec<Value>,
    /// (parent id, OU)
    pub ous: Vec<(String, Value)>,
    /// (parent id, account)
    pub accounts: Vec<(String, Value)>,
    pub tags: BTreeMap<String, Vec<Value>>,
    pub received_licenses: Vec<Value>,
    pub organization_licenses: Vec<Value>,
    pub distributed_grants: Vec<Value>,
    /// Returned by `ListReceivedGrantsForOrganization` for their `LicenseArn`.
    pub organization_grants: Vec<Value>,
    /// Only reachable through `GetGrant`.
    pub other_grants: Vec<Value>,
    pub facts: Vec<Fact>,
    pub events: Vec<Value>,
    pub service_settings: Value,
    pub cost_allocation_tags: Vec<Value>,
    /// (account, ARN) answered by `GetCallerIdentity`.
    pub caller: (String, String),
    /// The subscriber's Marketplace agreements.
    pub market: Market,
    /// The member accounts behind `--member-role` (`AssumeRole`, and what their own
    /// credentials read).
    pub members: Members,
}

#[derive(Debug)]
pub struct State {
    pub scenario: Scenario,
    pub faults: Faults,
    pub calls: Vec<Call>,
    /// Day -> indices into `scenario.facts`, so a Cost Explorer page reads only its days.
    fact_days: BTreeMap<String, Vec<usize>>,
    /// `EventName` -> indices into `scenario.events`, so a CloudTrail page reads only its
    /// events.
    event_names: BTreeMap<String, Vec<usize>>,
    /// Per `X-Amz-Target` prefix: tokens left and when they were counted.
    buckets: BTreeMap<String, (f64, Instant)>,
    /// Keep each answered body in its [`Call`].
    pub keep_responses: bool,
    /// Recorded answers served instead of the scenario ([`FakeAws::replay`]).
    replay: Option<Replay>,
    /// The Athena table and query results ([`FakeAws::set_athena`]).
    pub athena: Athena,
    /// S3 bucket -> keys, for `ListObjectsV2` ([`s3`]).
    pub s3_keys: BTreeMap<String, Vec<String>>,
    /// Who signed the request being answered (access key, region).
    signer: (Option<String>, Option<String>),
}

impl Call {
    /// The service the call was for, from its target prefix (STS has none).
    pub fn service(&self) -> Service {
        service_of(&self.prefix).unwrap_or(Service::Sts)
    }
}

/// A running fake; dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeAws {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeAws {
    pub async fn start(scenario: Scenario, faults: Faults) -> Self {
        Self::serve(scenario, faults, None).await
    }

    /// Serves the recording in `dir` (written by `collect --record`): a request is answered
    /// with the recorded status and body of the same operation and request body, in recorded
    /// order when it was recorded several times (retries); anything else gets a 400
    /// `ReplayMismatchException` naming the operation.
    pub async fn replay(dir: &Path) -> Self {
        let empty = Scenario {
            organization: Value::Null,
            roots: Vec::new(),
            ous: Vec::new(),
            accounts: Vec::new(),
            tags: BTreeMap::new(),
            received_licenses: Vec::new(),
            organization_licenses: Vec::new(),
            distributed_grants: Vec::new(),
            organization_grants: Vec::new(),
            other_grants: Vec::new(),
            facts: Vec::new(),
            events: Vec::new(),
            service_settings: Value::Null,
            cost_allocation_tags: Vec::new(),
            caller: (String::new(), String::new()),
            market: Market::default(),
            members: Members::default(),
        };
        Self::serve(empty, Faults::default(), Some(Replay::read(dir))).await
    }

    /// Recorded answers a replay has not given yet (operation and request, count).
    pub fn replay_left(&self) -> Vec<(String, usize)> {
        let st = self.state.lock().unwrap();
        st.replay.as_ref().map(Replay::left).unwrap_or_default()
    }

    /// Serves `athena` as Amazon Athena from now on.
    pub fn set_athena(&self, athena: Athena) {
        self.state.lock().unwrap().athena = athena;
    }

    /// Keeps every answered body in its [`Call`] from now on.
    pub fn keep_responses(&self) {
        self.state.lock().unwrap().keep_responses = true;
    }

    async fn serve(scenario: Scenario, faults: Faults, replay: Option<Replay>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let mut fact_days: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, f) in scenario.facts.iter().enumerate() {
            fact_days.entry(f.date.clone()).or_default().push(i);
        }
        let mut event_names: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, e) in scenario.events.iter().enumerate() {
            let name = e["EventName"].as_str().unwrap_or_default().to_string();
            event_names.entry(name).or_default().push(i);
        }
        let state = Arc::new(Mutex::new(State {
            scenario,
            faults,
            calls: Vec::new(),
            fact_days,
            event_names,
            buckets: BTreeMap::new(),
            keep_responses: false,
            replay,
            athena: Athena::default(),
            s3_keys: BTreeMap::new(),
            signer: (None, None),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Self { url, state }
    }

    /// Points a command (the binary) at this fake, alone: every `AWS_*` variable of the test's
    /// environment removed, test credentials, `us-east-1`, no config files, no instance
    /// metadata.
    pub fn point(&self, cmd: &mut std::process::Command) {
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AWS_")) {
            cmd.env_remove(k);
        }
        cmd.envs([
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Successful calls per operation.
    pub fn ok_calls(&self, op: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.op == op && c.status == 200)
            .count()
    }

    /// The accounts whose tags were asked for (`ListTagsForResource`).
    pub fn tags_asked(&self) -> std::collections::BTreeSet<String> {
        self.calls()
            .iter()
            .filter(|c| c.op == "ListTagsForResource")
            .map(|c| c.body["ResourceId"].as_str().unwrap().to_string())
            .collect()
    }

    /// Failed calls per operation.
    pub fn failed_calls(&self, op: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.op == op && c.status != 200)
            .count()
    }
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        assert!(
            !headers.contains_key("transfer-encoding"),
            "the fake does not read chunked bodies"
        );
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).await?;
        // Smithy RPC v2 CBOR names the service and operation in the path, not in a header.
        let path = line.split_whitespace().nth(1).unwrap_or_default();
        let rpc_v2 = path
            .strip_prefix("/service/")
            .and_then(|p| p.split_once("/operation/"))
            .map(|(service, op)| format!("{service}.{op}"));
        // REST JSON (Bedrock) names the operation and its input in the path and query.
        let rest = bedrock::route(path);
        let bedrock_target = || {
            let prefix = Service::Bedrock.target_prefix().expect("a fake name");
            rest.as_ref().map(|(op, _)| format!("{prefix}.{op}"))
        };
        // S3 (REST XML) names its bucket in the path and the listing in the query.
        let s3_list = s3::route(path).filter(|_| !headers.contains_key("x-amz-target"));
        let target = rpc_v2
            .clone()
            .or_else(bedrock_target)
            .or_else(|| headers.get("x-amz-target").cloned())
            .or_else(|| s3_list.as_ref().map(|_| "S3.ListObjectsV2".to_string()));
        let request = match (&rpc_v2, &rest) {
            _ if s3_list.is_some() => {
                let (bucket, params) = s3_list.as_ref().expect("an S3 listing");
                s3::request(bucket, params)
            }
            (Some(_), _) => marketplace_agreement::decode(&body),
            // REST JSON with a query: the input is in the query (paged by `nextToken`).
            (None, Some((op, input))) if *op == "ListInferenceProfiles" => input.clone(),
            // Filed as the recorder files it: the path and query.
            (None, Some(_)) => serde_json::json!({ "uri": path }),
            (None, None) => serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        let (status, content_type, out, latency) = {
            let asked = Instant::now();
            let mut st = state.lock().unwrap();
            let waited = asked.elapsed();
            let scope = |i: usize| {
                headers
                    .get("authorization")
                    .and_then(|a| a.split("Credential=").nth(1))
                    .and_then(|c| c.split('/').nth(i))
                    .map(str::to_string)
            };
            let signer = Signer {
                access_key: scope(0),
                region: scope(2),
            };
            let (status, content_type, out) =
                handle(&mut st, target.as_ref(), request, &body, signer, waited);
            (status, content_type, out, st.faults.latency)
        };
        if let Some(latency) = latency {
            tokio::time::sleep(latency).await;
        }
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let (content_type, out, protocol) = match rpc_v2 {
            Some(_) => (
                "application/cbor",
                marketplace_agreement::encode(&out),
                "smithy-protocol: rpc-v2-cbor\r\n",
            ),
            None => (content_type, out.into_bytes(), ""),
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{protocol}x-amzn-requestid: fake\r\n\r\n",
            out.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(&out).await?;
        write.flush().await?;
    }
}

const JSON: &str = "application/x-amz-json-1.1";

/// An answer: HTTP status, content type, body.
type Answer = (u16, &'static str, String);

fn error(code: &str, message: &str) -> Answer {
    (
        400,
        JSON,
        json!({"__type": code, "message": message}).to_string(),
    )
}

/// Who signed a request, from its `Authorization` header.
struct Signer {
    access_key: Option<String>,
    region: Option<String>,
}

/// Answers one request: `target` is the JSON services' `X-Amz-Target` (or `service.op` from an
/// RPC v2 path), `request` its body as JSON; STS's form is read from `body`.
fn handle(
    st: &mut State,
    target: Option<&String>,
    request: Value,
    body: &[u8],
    signer: Signer,
    waited: Duration,
) -> Answer {
    let start = Instant::now();
    let (prefix, op, req) = match target {
        Some(t) => {
            let (prefix, op) = t.rsplit_once('.').unwrap_or(("", t));
            let prefix = prefix.rsplit('.').next().unwrap_or(prefix).to_string();
            (prefix, op.to_string(), request)
        }
        None => {
            let form = String::from_utf8_lossy(body).to_string();
            let op = form
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or("Unknown")
                .to_string();
            ("STS".to_string(), op, Value::String(form))
        }
    };
    st.signer = (signer.access_key.clone(), signer.region.clone());
    let answer = match &mut st.replay {
        Some(replay) => replay.answer(&op, &req),
        None => respond(st, &prefix, &op, &req),
    };
    let error = (answer.0 != 200)
        .then(|| serde_json::from_str::<Value>(&answer.2).ok())
        .flatten()
        .and_then(|v| v["__type"].as_str().map(str::to_string))
        .or_else(|| {
            // STS answers XML errors.
            let code = answer.2.split("<Code>").nth(1)?.split("</Code>").next()?;
            (answer.0 != 200).then(|| code.to_string())
        });
    st.calls.push(Call {
        prefix,
        op,
        body: req,
        status: answer.0,
        error,
        region: signer.region,
        access_key: signer.access_key,
        waited,
        held: start.elapsed(),
        response: st.keep_responses.then(|| answer.2.clone()),
    });
    answer
}

fn throttling_code(prefix: &str) -> &'static str {
    match prefix {
        "AWSLicenseManager" => "RateLimitExceededException",
        "AWSOrganizationsV20161128" => "TooManyRequestsException",
        "AWSInsightsIndexService" => "LimitExceededException",
        "AmazonAthena" => "TooManyRequestsException",
        _ => "ThrottlingException",
    }
}

/// Takes one request from the service's bucket; false when the service is over its rate.
fn within_rate(st: &mut State, prefix: &str) -> bool {
    let Some(&rate) = st.faults.rate_limits.get(prefix) else {
        return true;
    };
    let now = Instant::now();
    let (tokens, at) = st.buckets.entry(prefix.to_string()).or_insert((rate, now));
    *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate.max(1.0));
    *at = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// The services by `X-Amz-Target` prefix or RPC v2 service name (STS has none).
fn service_of(prefix: &str) -> Option<Service> {
    [
        Service::Organizations,
        Service::LicenseManager,
        Service::CostExplorer,
        Service::CloudTrail,
        Service::MarketplaceAgreement,
        Service::Bedrock,
        Service::Pricing,
        Service::Athena,
        Service::CloudWatch,
    ]
    .into_iter()
    .find(|s| s.target_prefix() == Some(prefix))
}

/// The faults first (rate, denial, throttling, server errors), then the service's answer.
fn respond(st: &mut State, prefix: &str, op: &str, req: &Value) -> Answer {
    if prefix == "S3" {
        return s3::respond(st, req);
    }
    if !within_rate(st, prefix) {
        return error(throttling_code(prefix), "Rate exceeded");
    }
    let f = &mut st.faults;
    if f.deny.contains(op) {
        return error(
            "AccessDeniedException",
            &format!("not authorized to perform {op}"),
        );
    }
    let text = req.to_string();
    if f.throttle_always
        .iter()
        .any(|(o, needle)| o == op && text.contains(needle.as_str()))
    {
        return error(throttling_code(prefix), "Rate exceeded");
    }
    if let Some((status, n)) = f.server_errors.get_mut(op) {
        if *n > 0 {
            *n -= 1;
            let code = if *status == 503 {
                "ServiceUnavailable"
            } else {
                "InternalFailure"
            };
            return (
                *status,
                JSON,
                json!({"__type": code, "message": "try again"}).to_string(),
            );
        }
    }
    if let Some(n) = f.throttle.get_mut(op) {
        if *n > 0 {
            *n -= 1;
            return error(throttling_code(prefix), "Rate exceeded");
        }
    }
    if prefix == "STS" {
        if op == "AssumeRole" {
            let form = req.as_str().unwrap_or_default();
            return members::assume_role(&st.scenario.members, form, &st.scenario.caller.0);
        }
        return sts::respond(st, op);
    }
    let member = st
        .signer
        .0
        .as_deref()
        .and_then(members::key_account)
        .map(str::to_string);
    let region = st.signer.1.clone().unwrap_or_default();
    if service_of(prefix) == Some(Service::Athena) {
        return athena::respond(&mut st.athena, op, req);
    }
    if let Some(n) = member
        .as_ref()
        .and_then(|a| st.scenario.members.throttle.get_mut(a))
    {
        if *n > 0 {
            *n -= 1;
            return error(throttling_code(prefix), "Rate exceeded");
        }
    }
    let st: &State = st;
    let r = Request {
        body: req,
        faults: &st.faults,
    };
    let m = &st.scenario.members;
    match (service_of(prefix), &member) {
        (Some(Service::CloudWatch), _) => {
            return members::cloudwatch(m, &r, op, member.as_deref(), &region)
        }
        (
            Some(Service::CloudTrail | Service::MarketplaceAgreement | Service::Bedrock),
            Some(account),
        ) => return members::own(m, &r, op, account, &region),
        (_, Some(account)) => {
            return error(
                "AccessDenied",
                &format!("the member role of {account} may not call {op}"),
            )
        }
        _ => {}
    }
    match service_of(prefix) {
        Some(Service::Organizations) => organizations::respond(st, &r, op),
        Some(Service::LicenseManager) => license_manager::respond(st, &r, op),
        Some(Service::CostExplorer) => cost_explorer::respond(st, &r, op),
        Some(Service::CloudTrail) => cloudtrail::respond(st, &r, op),
        Some(Service::MarketplaceAgreement) => marketplace_agreement::respond(st, &r, op),
        Some(Service::Bedrock) => bedrock::respond(st, &r, op),
        Some(Service::Pricing) => pricing::respond(st, &r, op),
        Some(Service::Sts | Service::Athena | Service::CloudWatch) | None => unknown(op),
    }
}

/// A JSON request's body, with the lookups the services' handlers share.
struct Request<'a> {
    body: &'a Value,
    faults: &'a Faults,
}

impl Request<'_> {
    /// A string member of the body; empty when absent.
    fn str(&self, key: &str) -> &str {
        self.body
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The first value of the filter `name` in the body's `Filters`.
    fn filter(&self, name: &str) -> Option<String> {
        self.body
            .get("Filters")?
            .as_array()?
            .iter()
            .find(|f| f["Name"] == name)
            .and_then(|f| f["Values"][0].as_str())
            .map(str::to_string)
    }

    /// A page of `items` under `key` (`default` a page unless the faults or the request say
    /// otherwise), paged by `NextToken`.
    fn page(&self, key: &str, items: Vec<&Value>, default: usize) -> Answer {
        ok(paginate(
            self.body,
            key,
            &items,
            default,
            self.faults,
            "NextToken",
        ))
    }
}

/// The answer to an operation the fake does not serve.
fn unknown(op: &str) -> Answer {
    error("UnknownOperationException", &format!("fake has no {op}"))
}

fn ok(v: Value) -> Answer {
    (200, JSON, v.to_string())
}

/// Where a page starts, from the request's token (see [`paginate`]).
enum PageStart {
    /// An injected empty page that points at the real page at this offset.
    Empty(usize),
    /// A real page at this offset holding at most `max` items.
    Items { offset: usize, max: usize },
}

fn page_start(req: &Value, default: usize, faults: &Faults, token_key: &str) -> PageStart {
    let token = req.get(token_key).and_then(Value::as_str);
    let mut size = faults.page_size.unwrap_or(default);
    let max = req.get("MaxResults").or_else(|| req.get("maxResults"));
    if let Some(m) = max.and_then(Value::as_u64) {
        size = size.min(m as usize);
    }
    let (offset, real) = match token {
        None => (0, !faults.empty_pages),
        Some(t) if t.starts_with('e') => (t[1..].parse().expect("fake token"), true),
        Some(t) => (
            t.trim_start_matches('t').parse().expect("fake token"),
            !faults.empty_pages,
        ),
    };
    if real {
        PageStart::Items {
            offset,
            max: size.max(1),
        }
    } else {
        PageStart::Empty(offset)
    }
}

/// The answer for the page `page` = items `offset..end` of `total`.
fn page_answer(
    key: &str,
    token_key: &str,
    page: Vec<Value>,
    (offset, end, total): (usize, usize, usize),
    faults: &Faults,
) -> Value {
    let more = end < total || (faults.empty_pages && offset < total);
    if more {
        json!({key: page, token_key: format!("t{end}")})
    } else {
        json!({key: page})
    }
}

/// Pages `items` by tokens `t<offset>` (a real page) and `e<offset>` (an empty page's token,
/// pointing at the real page at offset), as described on [`Faults::empty_pages`].
fn paginate(
    req: &Value,
    key: &str,
    items: &[&Value],
    default: usize,
    faults: &Faults,
    token_key: &str,
) -> Value {
    match page_start(req, default, faults, token_key) {
        PageStart::Empty(offset) => json!({key: [], token_key: format!("e{offset}")}),
        PageStart::Items { offset, max } => {
            let offset = offset.min(items.len());
            let end = (offset + max).min(items.len());
            let page = items[offset..end].iter().map(|v| (*v).clone()).collect();
            page_answer(key, token_key, page, (offset, end, items.len()), faults)
        }
    }
}
