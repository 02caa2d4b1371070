//! A fake AWS endpoint for the collector tests: one HTTP/1.1 server on 127.0.0.1 serving
//! Organizations, License Manager, Cost Explorer and CloudTrail (JSON 1.1, dispatched on
//! `X-Amz-Target`) and STS `GetCallerIdentity` (query protocol), over a scenario organization
//! held in memory, with fault knobs. It records every operation called.
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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entitlement_audit::inputs::collect::permissions::Service;
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
}

/// A recording's answers by (operation, request body), each list in recorded order.
#[derive(Debug, Default)]
struct Replay {
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
    fn read(dir: &Path) -> Replay {
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
    fn answer(&mut self, op: &str, req: &Value) -> (u16, &'static str, String) {
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
    fn left(&self) -> Vec<(String, usize)> {
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

impl Call {
    /// The service the call was for, from its target prefix (STS has none).
    pub fn service(&self) -> Service {
        [
            Service::Organizations,
            Service::LicenseManager,
            Service::CostExplorer,
            Service::CloudTrail,
        ]
        .into_iter()
        .find(|s| s.target_prefix() == Some(self.prefix.as_str()))
        .unwrap_or(Service::Sts)
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
        };
        Self::serve(empty, Faults::default(), Some(Replay::read(dir))).await
    }

    /// Recorded answers a replay has not given yet (operation and request, count).
    pub fn replay_left(&self) -> Vec<(String, usize)> {
        let st = self.state.lock().unwrap();
        st.replay.as_ref().map(Replay::left).unwrap_or_default()
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
                handle(&mut st, headers.get("x-amz-target"), &body, signer, waited);
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
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: fake\r\n\r\n",
            out.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(out.as_bytes()).await?;
        write.flush().await?;
    }
}

const JSON: &str = "application/x-amz-json-1.1";

fn error(code: &str, message: &str) -> (u16, &'static str, String) {
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

fn handle(
    st: &mut State,
    target: Option<&String>,
    body: &[u8],
    signer: Signer,
    waited: Duration,
) -> (u16, &'static str, String) {
    let start = Instant::now();
    let (prefix, op, req) = match target {
        Some(t) => {
            let (prefix, op) = t.rsplit_once('.').unwrap_or(("", t));
            let prefix = prefix.rsplit('.').next().unwrap_or(prefix).to_string();
            let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            (prefix, op.to_string(), req)
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
    let answer = match &mut st.replay {
        Some(replay) => replay.answer(&op, &req),
        None => respond(st, &prefix, &op, &req),
    };
    let error = (answer.0 != 200)
        .then(|| serde_json::from_str::<Value>(&answer.2).ok())
        .flatten()
        .and_then(|v| v["__type"].as_str().map(str::to_string));
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

fn respond(st: &mut State, prefix: &str, op: &str, req: &Value) -> (u16, &'static str, String) {
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
        return sts(st, op);
    }
    let s = &st.scenario;
    let faults = &st.faults;
    let str_of = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or_default();
    let filter = |name: &str| -> Option<String> {
        req.get("Filters")?
            .as_array()?
            .iter()
            .find(|f| f["Name"] == name)
            .and_then(|f| f["Values"][0].as_str())
            .map(str::to_string)
    };
    let page = |key: &str, items: Vec<&Value>, default: usize| {
        ok(paginate(req, key, &items, default, faults, "NextToken"))
    };
    match op {
        // Organizations
        "DescribeOrganization" => ok(json!({"Organization": s.organization})),
        "ListRoots" => page("Roots", s.roots.iter().collect(), 20),
        "ListOrganizationalUnitsForParent" => {
            let parent = str_of("ParentId");
            if parent.is_empty() {
                return error("InvalidInputException", "ParentId is required");
            }
            let items = children(&s.ous, parent);
            page("OrganizationalUnits", items, 20)
        }
        "ListAccounts" => page("Accounts", s.accounts.iter().map(|(_, a)| a).collect(), 20),
        "ListAccountsForParent" => {
            let items = children(&s.accounts, str_of("ParentId"));
            page("Accounts", items, 20)
        }
        "ListTagsForResource" => {
            let tags = s
                .tags
                .get(str_of("ResourceId"))
                .map(|t| t.iter().collect())
                .unwrap_or_default();
            page("Tags", tags, 20)
        }
        // License Manager
        "ListReceivedLicenses" => {
            let issuer = filter("IssuerName");
            let items = s
                .received_licenses
                .iter()
                .filter(|l| issuer.as_deref().is_none_or(|i| l["Issuer"]["Name"] == i))
                .collect();
            page("Licenses", items, 100)
        }
        "ListReceivedLicensesForOrganization" => {
            page("Licenses", s.organization_licenses.iter().collect(), 100)
        }
        "ListDistributedGrants" => {
            let issuer = filter("LicenseIssuerName");
            let issuer_of = |arn: &Value| {
                s.received_licenses
                    .iter()
                    .find(|l| &l["LicenseArn"] == arn)
                    .map(|l| l["Issuer"]["Name"].clone())
            };
            let items = s
                .distributed_grants
                .iter()
                .filter(|g| {
                    issuer
                        .as_deref()
                        .is_none_or(|i| issuer_of(&g["LicenseArn"]).is_some_and(|n| n == i))
                })
                .collect();
            page("Grants", items, 100)
        }
        "ListReceivedGrantsForOrganization" => {
            let license = str_of("LicenseArn");
            if license.is_empty() {
                return error("ValidationException", "LicenseArn is required");
            }
            let items = s
                .organization_grants
                .iter()
                .filter(|g| g["LicenseArn"] == license)
                .collect();
            page("Grants", items, 100)
        }
        "GetGrant" => {
            let arn = str_of("GrantArn");
            let found = s
                .distributed_grants
                .iter()
                .chain(&s.organization_grants)
                .chain(&s.other_grants)
                .find(|g| g["GrantArn"] == arn);
            match found {
                Some(g) => ok(json!({"Grant": g})),
                None => error("InvalidParameterValueException", "no such grant"),
            }
        }
        "GetServiceSettings" => ok(s.service_settings.clone()),
        // Cost Explorer
        "GetCostAndUsage" => cost_and_usage(s, &st.fact_days, req, faults),
        "ListCostAllocationTags" => {
            let keys: Vec<&str> = req["TagKeys"]
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
        // CloudTrail
        "LookupEvents" => {
            let attrs = req["LookupAttributes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if attrs.len() > 1 {
                return error("InvalidLookupAttributesException", "one attribute only");
            }
            let name = attrs.first().and_then(|a| a["AttributeValue"].as_str());
            let start = req["StartTime"].as_f64().unwrap_or(f64::MIN);
            let end = req["EndTime"].as_f64().unwrap_or(f64::MAX);
            let all: Vec<usize> = match name {
                Some(n) => st.event_names.get(n).cloned().unwrap_or_default(),
                None => (0..s.events.len()).collect(),
            };
            let items = all
                .iter()
                .map(|&i| &s.events[i])
                .filter(|e| {
                    let t = e["EventTime"].as_f64().unwrap_or(0.0);
                    t >= start && t <= end
                })
                .collect();
            page("Events", items, 50)
        }
        other => error("UnknownOperationException", &format!("fake has no {other}")),
    }
}

fn ok(v: Value) -> (u16, &'static str, String) {
    (200, JSON, v.to_string())
}

fn children<'a>(items: &'a [(String, Value)], parent: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|(p, _)| p == parent)
        .map(|(_, v)| v)
        .collect()
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
    if let Some(m) = req.get("MaxResults").and_then(Value::as_u64) {
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

fn cost_and_usage(
    s: &Scenario,
    fact_days: &BTreeMap<String, Vec<usize>>,
    req: &Value,
    faults: &Faults,
) -> (u16, &'static str, String) {
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

/// The access key id of the credentials `AssumeRole` hands out.
pub const ASSUMED_ACCESS_KEY: &str = "ASIAFAKEASSUMEDROLE";

fn sts(st: &State, op: &str) -> (u16, &'static str, String) {
    if op == "AssumeRole" {
        let (account, _) = &st.scenario.caller;
        return (
            200,
            "text/xml",
            format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleResult><Credentials><AccessKeyId>{ASSUMED_ACCESS_KEY}</AccessKeyId>\
                 <SecretAccessKey>fake</SecretAccessKey><SessionToken>fake</SessionToken>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAKE:entitlement-audit</AssumedRoleId>\
                 <Arn>arn:aws:sts::{account}:assumed-role/Audit/entitlement-audit</Arn>\
                 </AssumedRoleUser></AssumeRoleResult>\
                 <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>\
                 </AssumeRoleResponse>"
            ),
        );
    }
    if op != "GetCallerIdentity" {
        return (400, "text/xml", format!("<ErrorResponse><Error><Code>InvalidAction</Code><Message>{op}</Message></Error></ErrorResponse>"));
    }
    let (account, arn) = &st.scenario.caller;
    (
        200,
        "text/xml",
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE</UserId>\
             <Account>{account}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        ),
    )
}
