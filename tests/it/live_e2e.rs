//! The binary end to end against the fake AWS endpoint: `run` without `--demo` collects an
//! organization through the real SDK clients (reached by `AWS_ENDPOINT_URL`) and must find
//! what the engine finds when it analyzes the same organization's snapshot directly.
//!
//! The fake serves [`Scenario::from_snapshot`] of the built-in demo and of every field
//! scenario, in every shape aws-apis.md leaves open for a grant's `ParentArn` and an account
//! grantee ([`Shapes::every_form`]); the clock is pinned with `--now` to the snapshot's
//! collection time so the usage window and CloudTrail's 90 days are the snapshot's.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use entitlement_audit::snapshot::{self, Snapshot};
use serde_json::Value;
use support::cli::Bin;
use support::fake_aws::{FakeAws, Faults, Scenario};
use support::{field, Shapes};

const DEMO_CONFIG_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.toml");

struct Outcome {
    code: i32,
    stderr: String,
    out: tempfile::TempDir,
}

impl Outcome {
    fn text(&self, file: &str) -> String {
        std::fs::read_to_string(self.out.path().join(file)).unwrap()
    }

    fn json(&self, file: &str) -> Value {
        serde_json::from_str(&self.text(file)).unwrap()
    }
}

/// Runs `run` with `args` plus `--out` and `--no-history` (every run stands alone, and none
/// leaves a store in the checkout), its AWS environment pointing at `fake` (static test
/// credentials, no profile or instance metadata), or at nothing when `fake` is `None`.
async fn run(fake: Option<&FakeAws>, args: Vec<String>) -> Outcome {
    run_with(fake, args, &[]).await
}

/// The demo organization as these live runs collect it: they do not read the member accounts
/// (`--member-role`; tests/it/members.rs runs the fan-out against the fake), so it has no
/// member tables.
fn demo_without_members() -> Snapshot {
    let mut snap = entitlement_audit::inputs::demo::builtin();
    snap.invocations = None;
    snap.member_agreements = None;
    snap.refresh_manifest();
    snap
}

/// `run` on the demo organization as a live collection can use it: without the member tables
/// ([`demo_without_members`]) and the public rates. The collector reads them, but Cost
/// Explorer's rows carry no usage type to price, so a live run prices nothing exactly, and
/// neither may the engine for the findings to compare.
async fn engine_on_demo() -> Outcome {
    let mut snap = demo_without_members();
    snap.rates
        .retain(|r| r.source == entitlement_audit::model::RateSource::Agreement);
    snap.refresh_manifest();
    let dir = tempfile::tempdir().unwrap();
    entitlement_audit::snapshot::write(&snap, dir.path()).unwrap();
    let dir_arg = dir.path().display().to_string();
    let args = ["--snapshot", &dir_arg, "--config", DEMO_CONFIG_FILE];
    run(None, args.iter().map(|a| a.to_string()).collect()).await
}

/// [`run`] with `env` set on top of the fake's environment.
async fn run_with(fake: Option<&FakeAws>, args: Vec<String>, env: &[(&str, &str)]) -> Outcome {
    let out = tempfile::tempdir().unwrap();
    let mut bin = Bin::new()
        .arg("run")
        .args(&args)
        .arg("--no-history")
        .arg("--out")
        .arg(out.path());
    // Without a fake, [`Bin`] has dropped the test's `AWS_*` variables and sets none.
    if let Some(fake) = fake {
        bin = bin.aws(fake);
    }
    let bin = bin.envs(env.iter().copied());
    // The fake answers on this runtime's other worker while the binary runs.
    let output = tokio::task::spawn_blocking(move || bin.run())
        .await
        .unwrap();
    Outcome {
        code: output.code,
        stderr: output.stderr,
        out,
    }
}

/// `run` collecting live from a fake serving `snap`, its clock at the snapshot's collection
/// time and its usage window the snapshot's period.
async fn run_live(snap: &Snapshot, faults: Faults, extra: &[&str]) -> (Outcome, FakeAws) {
    run_live_in(snap, Shapes::default(), faults, extra).await
}

/// [`run_live`] with the fake answering in `shapes`.
async fn run_live_in(
    snap: &Snapshot,
    shapes: Shapes,
    faults: Faults,
    extra: &[&str],
) -> (Outcome, FakeAws) {
    let fake = FakeAws::start(Scenario::from_snapshot_in(snap, shapes), faults).await;
    let m = &snap.manifest;
    let days = (m.period_end - m.period_start).num_days() + 1;
    let mut args: Vec<String> = vec![
        "--now".into(),
        m.collected_at.to_rfc3339(),
        "--days".into(),
        days.to_string(),
        "--as-of".into(),
        m.period_end.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = run(Some(&fake), args).await;
    (out, fake)
}

/// Pacing for runs that repeat one organization in many shapes: the fake has no quotas, and
/// the default pacing (CloudTrail at 1 request a second) is what the other tests cover.
const FAST: &[&str] = &[
    "--pace",
    "cloudtrail=1000/4",
    "--pace",
    "organizations=1000/8",
    "--pace",
    "license-manager=1000/8",
    "--pace",
    "cost-explorer=1000/4",
];

/// A finding's identity: rule, account, license, grant.
type Key = (String, String, String, String);

/// What must match between the live run and the engine: day range, severity, and the money
/// rounded to the cent.
#[derive(Debug, PartialEq)]
struct Facts {
    severity: String,
    first_day: Value,
    last_day: Value,
    cost_cents: Option<i64>,
    overspend_cents: Option<i64>,
    overspend_basis: String,
    data_incomplete: bool,
}

fn cents(v: &Value) -> Option<i64> {
    v.as_f64().map(|x| (x * 100.0).round() as i64)
}

fn findings(o: &Outcome) -> BTreeMap<Key, Facts> {
    let doc = o.json("findings.json");
    let mut out = BTreeMap::new();
    for f in doc["findings"].as_array().unwrap() {
        let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
        let key = (s("rule"), s("account_id"), s("license_arn"), s("grant_arn"));
        let facts = Facts {
            severity: s("severity"),
            first_day: f["first_day"].clone(),
            last_day: f["last_day"].clone(),
            cost_cents: cents(&f["cost_usd"]),
            overspend_cents: cents(&f["overspend_usd"]),
            overspend_basis: s("overspend_basis"),
            data_incomplete: f["data_incomplete"].as_bool().unwrap(),
        };
        assert!(out.insert(key.clone(), facts).is_none(), "{key:?} twice");
    }
    out
}

/// The same findings, key by key, with the differences spelled out when there are some.
fn assert_same_findings(live: &Outcome, engine: &Outcome) {
    assert_same_findings_in(live, engine, "");
}

/// [`assert_same_findings`], saying `what` was run when they differ.
fn assert_same_findings_in(live: &Outcome, engine: &Outcome, what: &str) {
    let (l, e) = (findings(live), findings(engine));
    assert!(!e.is_empty(), "{what}");
    let only_live: Vec<_> = l.keys().filter(|k| !e.contains_key(*k)).collect();
    let only_engine: Vec<_> = e.keys().filter(|k| !l.contains_key(*k)).collect();
    let differ: Vec<_> = l
        .iter()
        .filter_map(|(k, v)| e.get(k).filter(|w| *w != v).map(|w| (k, v, w)))
        .collect();
    assert!(
        only_live.is_empty() && only_engine.is_empty() && differ.is_empty(),
        "{what}\nonly live: {only_live:#?}\nonly engine: {only_engine:#?}\nlive vs engine: {differ:#?}"
    );
}

/// `cost_allocation.csv` summed by the `key` columns, in cents.
fn allocation(o: &Outcome, key: &[&str]) -> BTreeMap<Vec<String>, i64> {
    let mut rdr = csv::Reader::from_path(o.out.path().join("cost_allocation.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (cols, cost) = (
        key.iter().map(|k| col(k)).collect::<Vec<_>>(),
        col("cost_usd"),
    );
    let mut sums: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let k = cols.iter().map(|&i| r[i].to_string()).collect();
        *sums.entry(k).or_default() += r[cost].parse::<f64>().unwrap();
    }
    sums.into_iter()
        .map(|(k, v)| (k, (v * 100.0).round() as i64))
        .collect()
}

fn totals_cents(o: &Outcome) -> BTreeMap<String, Option<i64>> {
    let s = o.json("summary.json");
    s["totals"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), cents(v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_on_the_demo_organization_finds_what_the_demo_run_finds() {
    let snap = entitlement_audit::inputs::demo::builtin();
    // Every account's tags, so that even the findings on accounts without spend carry the
    // team of their tag (the default reads only the accounts with spend: see the next test).
    let (live, fake) = run_live(
        &snap,
        Faults::default(),
        &["--config", DEMO_CONFIG_FILE, "--account-tags", "all"],
    )
    .await;
    assert_eq!(live.code, 0, "{}", live.stderr);
    let engine = engine_on_demo().await;
    assert_eq!(engine.code, 0, "{}", engine.stderr);

    assert_same_figures(&live, &engine);
    for file in ["findings.csv", "coverage.csv", "grants.csv"] {
        assert!(live.text(file) == engine.text(file), "{file} differs");
    }
    // Cost Explorer groups by two keys at most, so a row's team comes from a second query
    // grouped by tag and account; in an account-day shared by several teams, each product's
    // spend is split in the teams' proportions of the day (src/inputs/collect/cost_explorer.rs). The
    // demo's rows carry their own tag per product, so the team x product split of shared
    // accounts differs, while each marginal is the same to the cent.
    let by_team = ["month", "team", "method", "account_id"];
    let by_product = ["month", "product", "account_id"];
    for key in [&by_team[..], &by_product[..]] {
        assert_eq!(allocation(&live, key), allocation(&engine, key), "{key:?}");
    }
    assert_ne!(
        allocation(&live, &["team", "product", "account_id"]),
        allocation(&engine, &["team", "product", "account_id"]),
        "the demo has shared accounts, so the joint split is an estimate"
    );
    let summary = live.json("summary.json");
    assert_eq!(summary["completeness"]["complete"], true);
    assert_eq!(summary["run"]["source"], "aws");
    assert!(fake.ok_calls("GetCostAndUsage") > 0);
    assert!(fake.calls().iter().all(|c| c.status == 200));
}

/// The live run's findings, totals and cost by team are the engine's. Cost Explorer has no
/// usage type: the demo's input- and output-token rows of a day come back as one row, so only
/// the row count differs.
fn assert_same_figures(live: &Outcome, engine: &Outcome) {
    assert_same_findings(live, engine);
    let (mut l, mut e) = (totals_cents(live), totals_cents(engine));
    assert!(l.remove("usage_rows") < e.remove("usage_rows"));
    assert_eq!(l, e);
    // Each team's spend is the engine's; its exposed part and overspend are too where the
    // team's accounts are its own, but in an account-day shared by teams Cost Explorer's split
    // is in the day's proportions (see above), so only their sum over the teams is exact.
    let teams = |o: &Outcome| -> Vec<(String, String, Option<i64>)> {
        let doc = o.json("summary.json");
        doc["cost_by_team"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let text = |k: &str| t[k].as_str().unwrap().to_string();
                (text("team"), text("owner"), cents(&t["cost_usd"]))
            })
            .collect()
    };
    assert_eq!(teams(live), teams(engine));
    let summed = |o: &Outcome, field: &str| -> i64 {
        let doc = o.json("summary.json");
        let total: f64 = doc["cost_by_team"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[field].as_f64().unwrap())
            .sum();
        (total * 100.0).round() as i64
    };
    for field in ["exposed_usd", "overspend_usd"] {
        assert_eq!(summed(live, field), summed(engine, field), "{field}");
    }
    assert_eq!(
        Some(summed(live, "exposed_usd")),
        cents(&live.json("summary.json")["totals"]["exposure_usd"])
    );
}

/// By default only the accounts with spend have their tags read: every figure and finding is
/// the engine's, and the one difference is the team of findings on accounts without spend,
/// which then comes from the OU rules alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_reading_only_the_needed_tags_differs_only_in_teams_of_accounts_without_spend() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let (live, fake) = run_live(&snap, Faults::default(), &["--config", DEMO_CONFIG_FILE]).await;
    assert_eq!(live.code, 0, "{}", live.stderr);
    let engine = engine_on_demo().await;
    assert_eq!(engine.code, 0, "{}", engine.stderr);

    let spenders = crate::support::fixtures::accounts_with_spend(&snap);
    assert_eq!(fake.tags_asked(), spenders);
    assert!(spenders.len() < snap.accounts.len());

    assert_same_figures(&live, &engine);
    for file in ["coverage.csv", "grants.csv"] {
        assert!(live.text(file) == engine.text(file), "{file} differs");
    }
    let by_team = ["month", "team", "method", "account_id"];
    assert_eq!(allocation(&live, &by_team), allocation(&engine, &by_team));
    let table = |o: &Outcome| -> Vec<csv::StringRecord> {
        let mut rdr = csv::Reader::from_path(o.out.path().join("findings.csv")).unwrap();
        rdr.records().map(Result::unwrap).collect()
    };
    let headers = csv::Reader::from_path(live.out.path().join("findings.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (team, account) = (col("team"), col("account_id"));
    let (l, e) = (table(&live), table(&engine));
    assert_eq!(l.len(), e.len());
    let mut differ = 0;
    for (l, e) in l.iter().zip(&e) {
        let others = |r: &csv::StringRecord| -> Vec<String> {
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != team)
                .map(|(_, v)| v.to_string())
                .collect()
        };
        assert_eq!(others(l), others(e));
        if l[team] != e[team] {
            differ += 1;
            assert!(!spenders.contains(&l[account]), "{l:?}");
        }
    }
    assert!(
        differ > 0,
        "the demo has findings on tagged accounts without spend"
    );
}

/// Faults for the shape runs: `GetGrant` is refused, as a seller's grant or another
/// administrator's grant may be. No parent needs reading there, so it must change nothing.
fn unneeded_parents_unreadable() -> Faults {
    let mut faults = Faults::default();
    faults.deny.insert("GetGrant".into());
    faults
}

/// The demo organization (every rule fires) in every grant shape: the same findings and
/// totals as the demo run, complete, and no `GetGrant`: every parent is a listed grant, a
/// license, the seller's grant or nothing, none of which needs reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_on_the_demo_finds_the_same_in_every_grant_shape() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let engine = engine_on_demo().await;
    assert_eq!(engine.code, 0, "{}", engine.stderr);
    let mut want = totals_cents(&engine);
    want.remove("usage_rows");
    for shapes in Shapes::every_form() {
        let what = format!("demo, {shapes:?}");
        let args = [FAST, &["--config", DEMO_CONFIG_FILE]].concat();
        let (live, fake) = run_live_in(&snap, shapes, unneeded_parents_unreadable(), &args).await;
        assert_eq!(live.code, 0, "{what}: {}", live.stderr);
        assert_same_findings_in(&live, &engine, &what);
        let mut got = totals_cents(&live);
        got.remove("usage_rows");
        assert_eq!(got, want, "{what}");
        assert_eq!(
            fake.ok_calls("GetGrant") + fake.failed_calls("GetGrant"),
            0,
            "{what}"
        );
    }
}

/// Every field scenario in every grant shape finds what the engine finds on its snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_on_every_field_scenario_finds_what_the_engine_finds_in_every_shape() {
    for (name, builder) in field::every_scenario() {
        let mut snap = field::snapshot(builder);
        // CloudTrail keeps 90 days: the engine gets what the collector can read.
        let kept = snap.manifest.collected_at - chrono::Duration::days(90);
        snap.grant_events.retain(|e| e.time >= kept);
        let dir = tempfile::tempdir().unwrap();
        snapshot::write(&snap, dir.path()).unwrap();
        let engine = run(None, vec!["--snapshot".into(), p(dir.path())]).await;
        assert_eq!(engine.code, 0, "{name}: {}", engine.stderr);
        for shapes in Shapes::every_form() {
            let what = format!("{name}, {shapes:?}");
            let (live, fake) =
                run_live_in(&snap, shapes, unneeded_parents_unreadable(), FAST).await;
            assert_eq!(live.code, 0, "{what}: {}", live.stderr);
            assert_same_findings_in(&live, &engine, &what);
            assert_eq!(totals_cents(&live), totals_cents(&engine), "{what}");
            assert_eq!(
                fake.ok_calls("GetGrant") + fake.failed_calls("GetGrant"),
                0,
                "{what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_on_one_operation_exits_2_with_the_gap_in_summary_json() {
    let snap = field::snapshot(field::phased_rollout().builder);
    let mut faults = Faults::default();
    faults.deny.insert("ListDistributedGrants".into());
    let (live, fake) = run_live(&snap, faults, &[]).await;
    assert_eq!(live.code, 2, "{}", live.stderr);
    assert_eq!(fake.failed_calls("ListDistributedGrants"), 1, "not retried");

    let c = &live.json("summary.json")["completeness"];
    assert_eq!(c["complete"], false);
    let missing = c["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(missing[0]["service"], "license-manager");
    assert_eq!(missing[0]["operation"], "ListDistributedGrants");
    assert_eq!(missing[0]["error_code"], "AccessDeniedException");
    assert_eq!(
        missing[0]["tables"],
        serde_json::json!([entitlement_audit::snapshot::Table::Grants])
    );
    assert!(!c["affected_rules"].as_array().unwrap().is_empty());
    // The rest was read: the findings are there, marked as resting on incomplete data.
    let found = findings(&live);
    assert!(!found.is_empty());
    assert!(found.values().any(|f| f.data_incomplete));
}

fn p(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

// `--record`: a live run recorded from the fake replays, from the recording alone, to the
// same findings through the recording's mapping, and the recording keeps none of the
// organization's identities and nothing of the requests' signing.

use entitlement_audit::inputs::collect::record::{self, Kind, RawCall, Scrubber};

/// Credentials of the recorded run, distinctive enough to look for in the recording.
const RECORD_KEY_ID: &str = "AKIARECORDINGTEST042";
const RECORD_SECRET: &str = "recording-secret-never-kept";
const RECORD_TOKEN: &str = "recording-session-token-never-kept";

/// The `--now`, `--days` and `--as-of` of a live run of `snap` (as [`run_live_in`] passes).
fn live_args(snap: &Snapshot) -> Vec<String> {
    let m = &snap.manifest;
    let days = (m.period_end - m.period_start).num_days() + 1;
    vec![
        "--now".into(),
        m.collected_at.to_rfc3339(),
        "--days".into(),
        days.to_string(),
        "--as-of".into(),
        m.period_end.to_string(),
    ]
}

/// [`run`] against `fake`, signed with [`RECORD_KEY_ID`] and a session token.
async fn run_signed(fake: &FakeAws, args: Vec<String>) -> Outcome {
    let env = [
        ("AWS_ACCESS_KEY_ID", RECORD_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", RECORD_SECRET),
        ("AWS_SESSION_TOKEN", RECORD_TOKEN),
    ];
    run_with(Some(fake), args, &env).await
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every string in `v`, the JSON documents inside strings (`CloudTrailEvent`) included, each
/// also cut into its `/`, `:` and `$` separated pieces (ARN parts, tag group keys).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(s) {
                strings(&inner, out);
            }
            out.extend(s.split(['/', ':', '$']).map(str::to_string));
            out.push(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// A finding of the recorded run as the replay must find it: its ids, names, OU path and
/// team through the recording's mapping (a team that is no tag value, named by a config rule
/// only, stays). The finding id, a hash of those, is left out.
fn through(map: &mut Scrubber, f: &Value) -> Value {
    let mut f = f.clone();
    let m = f.as_object_mut().unwrap();
    m.remove("id");
    let s = |m: &serde_json::Map<String, Value>, k: &str| m[k].as_str().unwrap().to_string();
    for k in [
        "account_id",
        "license_arn",
        "grant_arn",
        "message",
        "remediation",
    ] {
        let v = map.text(&s(m, k));
        m.insert(k.into(), v.into());
    }
    let name = map.value(Kind::AccountName, &s(m, "account_name"));
    m.insert("account_name".into(), name.into());
    let path: Vec<String> = s(m, "ou_path")
        .split('/')
        .enumerate()
        // "", the root (AWS names every root `Root`; kept), then OU names.
        .map(|(i, n)| {
            if i < 2 {
                n.to_string()
            } else {
                map.value(Kind::OuName, n)
            }
        })
        .collect();
    m.insert("ou_path".into(), path.join("/").into());
    let team = s(m, "team");
    let team = map
        .mapped(Kind::TagValue, &team)
        .map_or(team.clone(), str::to_string);
    m.insert("team".into(), team.into());
    f
}

/// The findings of a run, without their ids, as sorted JSON lines.
fn finding_lines(findings: impl Iterator<Item = Value>) -> Vec<String> {
    let mut lines: Vec<String> = findings.map(|f| f.to_string()).collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_live_run_replays_to_the_same_findings() {
    let snap = entitlement_audit::inputs::demo::builtin();
    // One answer fails once: the recording keeps both attempts, the replay answers in order.
    let mut faults = Faults::default();
    faults
        .server_errors
        .insert("ListReceivedLicenses".into(), (500, 1));
    let fake = FakeAws::start(Scenario::from_snapshot(&snap), faults).await;
    fake.keep_responses();
    let rec = tempfile::tempdir().unwrap();
    let dir = rec.path().join("recording");
    let mut args = live_args(&snap);
    args.extend(FAST.iter().map(|s| s.to_string()));
    args.extend([
        "--config".into(),
        DEMO_CONFIG_FILE.into(),
        "--record".into(),
        p(&dir),
    ]);
    let recorded = run_signed(&fake, args).await;
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    // The requests really carried the credentials the recording must not hold.
    assert!(fake
        .calls()
        .iter()
        .all(|c| c.access_key.as_deref() == Some(RECORD_KEY_ID)));
    assert!(
        recorded.stderr.contains(&format!("`{}`", dir.display())),
        "{}",
        recorded.stderr
    );

    // Every answer the fake gave is in the manifest, in the recorder's scrubbing: rescrubbing
    // the fake's own log of requests and answers gives the recording, call for call.
    let calls = fake.calls();
    assert_eq!(calls.iter().filter(|c| c.status == 500).count(), 1);
    let raw: Vec<RawCall> = calls
        .iter()
        .map(|c| RawCall {
            service: c.service().ledger_name().into(),
            operation: c.op.clone(),
            request: c.body.to_string().into_bytes(),
            status: c.status,
            response: c.response.clone().unwrap().into_bytes(),
        })
        .collect();
    let (scrubbed, mut map) = record::scrub_calls(&raw);
    let manifest = read_json(&dir.join(record::MANIFEST));
    assert_eq!(
        manifest["collected_at"].as_str().unwrap(),
        snap.manifest
            .collected_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let entries = manifest["calls"].as_array().unwrap();
    let mut got: Vec<String> = entries
        .iter()
        .map(|e| {
            let body = e["response"]
                .as_str()
                .map_or(Value::Null, |f| read_json(&dir.join(f)));
            serde_json::json!([
                e["service"],
                e["operation"],
                e["request"],
                e["status"],
                body
            ])
            .to_string()
        })
        .collect();
    let mut want: Vec<String> = scrubbed
        .iter()
        .map(|c| {
            serde_json::json!([c.service, c.operation, c.request, c.status, c.response]).to_string()
        })
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), calls.len());
    assert!(
        got == want,
        "the recording is not the fake's answers scrubbed"
    );
    let answered: std::collections::BTreeSet<&str> = calls.iter().map(|c| c.op.as_str()).collect();
    let listed: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(listed, answered);
    assert!(listed.len() >= 10, "{listed:?}");

    // Nothing of the signing, the headers or the organization's identities is kept.
    let mut texts = Vec::new();
    let mut all = Vec::new();
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        strings(&serde_json::from_str(&text).unwrap(), &mut all);
        texts.push(text);
    }
    assert_eq!(
        texts.len(),
        entries.len() + 1,
        "one file per body and the manifest"
    );
    let text = texts.join("\n");
    for secret in [
        RECORD_KEY_ID,
        RECORD_SECRET,
        RECORD_TOKEN,
        "AWS4-HMAC-SHA256",
    ] {
        assert!(!text.contains(secret), "`{secret}` kept");
    }
    let lower = text.to_ascii_lowercase();
    for header in [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
        "x-amzn-requestid",
        "amz-sdk-invocation-id",
        "credential=",
        "signature=",
    ] {
        assert!(!lower.contains(header), "`{header}` kept");
    }
    let org = &snap.organization;
    let mut ids: Vec<String> = vec![
        org.id.clone(),
        org.management_account_id.clone(),
        org.subscriber_account_id.clone(),
    ];
    ids.extend(snap.accounts.iter().map(|a| a.id.clone()));
    ids.extend(snap.accounts.iter().map(|a| a.email.clone()));
    ids.extend(snap.organizational_units.iter().map(|o| o.id.clone()));
    let hex = |arn: &str| arn.rsplit(':').next().unwrap_or_default()[2..].to_string();
    ids.extend(snap.licenses.iter().map(|l| hex(&l.arn)));
    ids.extend(snap.grants.iter().map(|g| hex(&g.arn)));
    for id in &ids {
        assert!(!text.contains(id.as_str()), "`{id}` kept");
    }
    let mut names: Vec<String> = snap.accounts.iter().map(|a| a.name.clone()).collect();
    names.extend(
        snap.organizational_units
            .iter()
            .filter(|o| o.parent_id.is_some())
            .map(|o| o.name.clone()),
    );
    names.extend(snap.accounts.iter().flat_map(|a| a.tags.values().cloned()));
    for row in entitlement_audit::model::usage::rows(&snap.usage).unwrap() {
        names.extend(row.team_tag);
    }
    for e in &snap.grant_events {
        let actor = e.actor.as_deref().unwrap_or_default();
        names.extend(actor.split('/').skip(1).map(str::to_string));
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    assert!(names.len() > 40, "{names:?}");
    let all: std::collections::BTreeSet<String> = all.into_iter().collect();
    for name in &names {
        assert!(!all.contains(name), "`{name}` kept");
    }

    // The replay: the fake knows nothing but the recording. The config's OU rules name OUs
    // and teams, which the recording scrubbed (OU names; team names as tag values): the
    // replay's config names them as recorded.
    let replay = FakeAws::replay(&dir).await;
    let config: String = std::fs::read_to_string(DEMO_CONFIG_FILE)
        .unwrap()
        .lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("ou_path_prefix = \"/Root/") {
                let names: Vec<&str> = rest
                    .trim_end_matches('"')
                    .split('/')
                    .map(|n| map.mapped(Kind::OuName, n).expect("a recorded OU"))
                    .collect();
                format!("ou_path_prefix = \"/Root/{}\"\n", names.join("/"))
            } else if let Some(team) = line.strip_prefix("team = \"") {
                let team = team.trim_end_matches('"');
                let team = map.mapped(Kind::TagValue, team).unwrap_or(team);
                format!("team = \"{team}\"\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let config_path = rec.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut args = live_args(&snap);
    args.extend(FAST.iter().map(|s| s.to_string()));
    args.extend(["--config".into(), p(&config_path)]);
    let replayed = run(Some(&replay), args).await;
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    let served = replay.calls();
    let unmatched: Vec<_> = served
        .iter()
        .filter(|c| c.error.as_deref() == Some("ReplayMismatchException"))
        .map(|c| (&c.op, c.body.to_string()))
        .collect();
    assert!(unmatched.is_empty(), "{unmatched:#?}");
    assert!(
        replay.replay_left().is_empty(),
        "{:#?}",
        replay.replay_left()
    );
    assert_eq!(served.len(), entries.len());
    let licenses: Vec<u16> = served
        .iter()
        .filter(|c| c.op == "ListReceivedLicenses")
        .map(|c| c.status)
        .collect();
    assert_eq!(
        licenses,
        [500, 200],
        "a retried request's answers in recorded order"
    );
    assert_eq!(
        replayed.json("summary.json")["completeness"]["complete"],
        true
    );

    // The same findings: the recorded run's through the mapping are the replay's, field for
    // field (rule, severity, days, money, messages, ids, names, OU paths, teams).
    let findings = |o: &Outcome| {
        o.json("findings.json")["findings"]
            .as_array()
            .unwrap()
            .clone()
    };
    let want = finding_lines(findings(&recorded).iter().map(|f| through(&mut map, f)));
    let got = finding_lines(findings(&replayed).into_iter().map(|mut f| {
        f.as_object_mut().unwrap().remove("id");
        f
    }));
    assert!(want.len() > 50, "{}", want.len());
    let only_recorded: Vec<_> = want.iter().filter(|f| !got.contains(f)).collect();
    let only_replayed: Vec<_> = got.iter().filter(|f| !want.contains(f)).collect();
    assert!(
        only_recorded.is_empty() && only_replayed.is_empty(),
        "only recorded: {only_recorded:#?}\nonly replayed: {only_replayed:#?}"
    );
    assert_eq!(want, got);
    assert_eq!(totals_cents(&recorded), totals_cents(&replayed));
}

/// The demo's usage table as a CUR 2.0 CSV export: one `Usage` line per row (a `Credit` line
/// for a negative cost), with its usage type, amount, team tag and calling principal.
fn demo_usage_as_cur(snap: &Snapshot, path: &Path) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(crate::cost_export::CUR_COLUMNS).unwrap();
    for r in entitlement_audit::model::usage::rows(&snap.usage).unwrap() {
        let kind = if r.cost_usd < 0.0 { "Credit" } else { "Usage" };
        let caller = r
            .caller_account_id
            .as_deref()
            .map(|a| format!("arn:aws:sts::{a}:assumed-role/BedrockApp/session"))
            .unwrap_or_default();
        let tags = r
            .team_tag
            .as_deref()
            .map(|t| serde_json::json!({ "user_team": t }).to_string())
            .unwrap_or_default();
        w.write_record([
            "AWS Marketplace".to_string(),
            snap.organization.management_account_id.clone(),
            kind.to_string(),
            format!("{}T00:00:00Z", r.date),
            r.account_id,
            caller,
            r.product,
            r.usage_type,
            r.cost_usd.to_string(),
            r.usage_quantity.to_string(),
            r.public_cost_usd.map(|p| p.to_string()).unwrap_or_default(),
            tags,
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

/// A live run over the fake with a CUR 2.0 export of the demo's usage prices the exposure
/// exactly: the agreements and public offers it collects give every exposed row of the two
/// rate-carded products its overspend, the same to the cent as the demo run's, with the
/// billed-rate findings (EA013, EA014) the demo plans; and every finding is what the engine
/// finds on the demo snapshot with the same export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_with_a_cur_export_prices_the_exposure_from_the_collected_rates() {
    let snap = demo_without_members();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cur2.csv");
    demo_usage_as_cur(&snap, &export);
    let export_arg = export.display().to_string();
    let (live, fake) = run_live(
        &snap,
        Faults::default(),
        &[
            "--config",
            DEMO_CONFIG_FILE,
            "--account-tags",
            "all",
            "--cost-export",
            &export_arg,
        ],
    )
    .await;
    assert_eq!(live.code, 0, "{}", live.stderr);
    assert!(fake.ok_calls("GetAgreementTerms") > 0);
    assert!(fake.ok_calls("ListFoundationModelAgreementOffers") > 0);

    let snap_dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, snap_dir.path()).unwrap();
    let snap_arg = snap_dir.path().display().to_string();
    let engine_args = ["--snapshot", &snap_arg, "--config", DEMO_CONFIG_FILE];
    let mut with_export: Vec<String> = engine_args.iter().map(|a| a.to_string()).collect();
    with_export.extend(["--cost-export".to_string(), export_arg.clone()]);
    let engine = run(None, with_export).await;
    assert_eq!(engine.code, 0, "{}", engine.stderr);
    assert_same_findings_in(&live, &engine, "live + export vs engine + export");

    // The demo run itself (its own usage table, not the export): the same exact money.
    let demo = run(None, engine_args.iter().map(|a| a.to_string()).collect()).await;
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let totals = |o: &Outcome| o.json("summary.json")["totals"].clone();
    for field in ["exposure_usd", "overspend_usd", "overspend_from_rates_usd"] {
        assert_eq!(
            cents(&totals(&live)[field]),
            cents(&totals(&demo)[field]),
            "{field}"
        );
    }
    assert!(totals(&live)["overspend_from_rates_usd"].as_f64().unwrap() > 1000.0);
    let doc = live.json("findings.json");
    let findings = doc["findings"].as_array().unwrap();
    for f in findings.iter().filter(|f| f["rule"] == "EA001") {
        let product = f["product"].as_str().unwrap();
        if product == "Claude 3.7 Sonnet" || product == "Claude 3 Haiku" {
            assert_eq!(f["overspend_basis"], "agreement-terms", "{f}");
        }
    }
    let billed: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .filter(|r| *r == "EA013" || *r == "EA014")
        .collect();
    assert_eq!(billed.len(), 2, "{billed:?}");
}
