//! The member fan-out benchmark (issue 17, item 6): the real binary reads 1,000 ACTIVE member
//! accounts (and skips the suspended ones) through `--member-role` from the fake, in 3
//! regions, with a latency per call, and we count what it took against what the member
//! pacing and concurrency allow.
//!
//! - `cargo test --release --test it member_bench:: -- --ignored --nocapture` runs it at 1,000
//!   members, 3 suspended, 3 regions, 50 ms per call, the default member pacing and
//!   concurrency (`BENCH_MEMBERS`, `BENCH_SUSPENDED`, `BENCH_REGIONS`, `BENCH_LATENCY_MS`
//!   change the setup; `BENCH_PACE=member-cloudtrail=20/4,...` passes `--pace` settings,
//!   `BENCH_CONCURRENCY` `--member-concurrency`, `BENCH_BIN` measures another build) and
//!   prints the table of docs/performance.md, with the peak RSS of `collect`.
//! - The smoke test (20 members, no latency, no pacing, in-process) runs in the normal
//!   `cargo test`: every member is read, with the calls per member the fan-out makes. No
//!   timing is asserted anywhere.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::collect_bench::{bench_pace, count_calls, env_or, run_timed, Count};
use crate::members::{gaps_of, member_options, OCT2, ROLE};
use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use entitlement_audit::inputs::collect::permissions::Service;
use entitlement_audit::inputs::collect::{collect_with, NoProgress, Pace, PaceOptions};
use entitlement_audit::snapshot::{self, Snapshot};
use serde_json::json;
use support::cli::{Bin, BIN};
use support::fake_aws::members::key_account;
use support::fake_aws::{Call, FakeAws, Faults, Scenario};
use support::*;

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"];
/// The application inference profile every member invokes in its first region.
const PROFILE: &str = "pbench000001";
/// `LookupEvents` per member: one per grant event name, one page each.
const EVENT_NAMES: usize = 5;

/// The default scenario with `members` ACTIVE member accounts in all (DEV and PROD among
/// them) and `suspended` more SUSPENDED ones besides LEGACY and SANDBOX. Every ACTIVE member
/// invokes Claude through the `us.` profile in each of `regions` on October 2nd, and through
/// an application inference profile in the first region.
fn fleet(members: usize, suspended: usize, regions: &[String]) -> Scenario {
    let mut sc = scenario();
    sc.members.role_name = ROLE.into();
    // Synthetic ids as the demo generator makes them.
    let synthetic = |i: usize| format!("9999{i:08}");
    for i in 0..members.saturating_sub(2) + suspended {
        let id = synthetic(i);
        let state = if i < members.saturating_sub(2) {
            "ACTIVE"
        } else {
            "SUSPENDED"
        };
        let name = format!("Member {i}");
        let a = account(&id, &name, Some(state), None);
        sc.accounts.push((OU_DEV.into(), a));
    }
    let active: Vec<String> = sc
        .accounts
        .iter()
        .filter(|(_, a)| a["State"] == "ACTIVE" && a["Id"] != MGMT)
        .map(|(_, a)| a["Id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(active.len(), members);
    let claude = format!("us.{CLAUDE_MODEL_ID}");
    for id in &active {
        for region in regions {
            let m = &mut sc.members;
            m.invoke(id, region, &claude, OCT2, (10.0, 10_000.0, 1_000.0));
        }
        let first = &regions[0];
        let m = &mut sc.members;
        m.invoke(id, first, PROFILE, OCT2, (1.0, 100.0, 10.0));
        let arn = format!("arn:aws:bedrock:{first}:{id}:application-inference-profile/{PROFILE}");
        let model = format!("arn:aws:bedrock:{first}::foundation-model/{CLAUDE_MODEL_ID}");
        let profile = json!({"inferenceProfileId": PROFILE, "inferenceProfileName": "bench",
                             "inferenceProfileArn": arn, "models": [{"modelArn": model}],
                             "status": "ACTIVE", "type": "APPLICATION"});
        let data = m.accounts.get_mut(id).expect("invoked");
        data.profiles.insert(first.clone(), vec![profile]);
    }
    sc
}

/// The member calls: `AssumeRole` and every call signed with a member's credentials.
fn member_calls(calls: &[Call]) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.op == "AssumeRole" || c.access_key.as_deref().and_then(key_account).is_some())
        .cloned()
        .collect()
}

/// The member gate a member call is paced by, and its pacing.
fn gate(p: &PaceOptions, s: Service) -> (&'static str, Pace) {
    match s {
        Service::Sts => ("sts", p.sts),
        Service::CloudWatch => ("cloudwatch", p.cloudwatch),
        Service::CloudTrail => ("member-cloudtrail", p.member_cloudtrail),
        _ => ("member-agreements", p.member_agreements),
    }
}

/// The fastest the member pacing allows: each gate's requests at its rate, or, when slower,
/// `latency` per request with the gate's concurrency in flight (the gates run side by side:
/// the slowest bounds the phase; `member-cloudtrail` is one gate per account, so as many of
/// them as accounts in flight); and the accounts' own bound, `member_concurrency` accounts
/// in flight, each a chain of `AssumeRole`, `ListMetrics` and `GetMetricData` region after
/// region, then `ListInferenceProfiles`.
fn bounds(
    counts: &BTreeMap<(Service, String), Count>,
    pace: &PaceOptions,
    latency: Duration,
    (members, regions, concurrency): (usize, usize, usize),
) -> (BTreeMap<&'static str, f64>, f64) {
    let mut per_gate: BTreeMap<&'static str, (usize, Pace)> = BTreeMap::new();
    for ((s, _), c) in counts {
        let (name, p) = gate(pace, *s);
        per_gate.entry(name).or_insert((0, p)).0 += c.ok + c.throttled + c.failed;
    }
    let gates = per_gate
        .into_iter()
        .map(|(name, (n, p))| {
            let per_call =
                (1.0 / p.requests_per_second).max(latency.as_secs_f64() / p.max_concurrency as f64);
            // Each member has a CloudTrail gate of its own: as many run at once as accounts.
            let side_by_side = match name {
                "member-cloudtrail" => concurrency.min(members).max(1),
                _ => 1,
            };
            (name, n as f64 * per_call / side_by_side as f64)
        })
        .collect();
    let chain = (2 + 2 * regions) as f64 * latency.as_secs_f64();
    let accounts = members as f64 * chain / concurrency.max(1) as f64;
    (gates, accounts)
}

/// The setup of a run: members, suspended, regions.
fn setup() -> (usize, usize, Vec<String>) {
    let members = env_or("BENCH_MEMBERS", 1_000usize);
    let suspended = env_or("BENCH_SUSPENDED", 3usize);
    let regions = env_or("BENCH_REGIONS", 3usize).clamp(1, REGIONS.len());
    let regions = REGIONS[..regions].iter().map(|r| r.to_string()).collect();
    (members, suspended, regions)
}

/// The benchmark: see the module docs. Prints Markdown for docs/performance.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: cargo test --release --test it member_bench:: -- --ignored --nocapture"]
async fn member_bench() {
    let (members, suspended, regions) = setup();
    let latency = Duration::from_millis(env_or("BENCH_LATENCY_MS", 50u64));
    let concurrency = env_or(
        "BENCH_CONCURRENCY",
        entitlement_audit::inputs::collect::members::DEFAULT_CONCURRENCY,
    );
    let (pace_args, pace) = bench_pace();
    let sc = fleet(members, suspended, &regions);
    let faults = Faults {
        latency: Some(latency),
        ..Faults::default()
    };
    let fake = FakeAws::start(sc, faults).await;

    let out = tempfile::tempdir().unwrap();
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut cmd = Bin::wrapped(&["/usr/bin/time", "-f", "maxrss_kb=%M"], &bin)
        .args(["collect", "--out"])
        .arg(out.path())
        .args(["--now", &now().to_rfc3339(), "--days", "3"])
        .args(["--member-role", ROLE])
        .args(["--member-concurrency", &concurrency.to_string()]);
    for r in &regions {
        cmd = cmd.args(["--member-region", r]);
    }
    for spec in &pace_args {
        cmd = cmd.args(["--pace", spec]);
    }
    let cmd = cmd.aws(&fake);
    let (status, lines, wall, rss_kb) = run_timed(cmd).await;
    // The member phase: from the fan-out's first line to its last account.
    let at = |p: &dyn Fn(&str) -> bool| lines.iter().find(|(_, l)| p(l)).map(|(t, _)| *t);
    let begin = at(&|l| l.contains("accounts to read through role")).unwrap_or(0.0);
    let end = at(&|l| l.contains("members:") && l.contains(", 0 left")).unwrap_or(wall);
    let quiet: Vec<String> = lines
        .iter()
        .filter(|(_, l)| !l.contains(" left") || l.contains(", 0 left"))
        .map(|(at, l)| format!("{at:7.1} s  {l}"))
        .collect();
    println!("{}\n", quiet.join("\n"));
    println!("exit status {:?}", status.code());

    let calls = member_calls(&fake.calls());
    let counts = count_calls(&calls);
    let (gates, accounts) = bounds(
        &counts,
        &pace,
        latency,
        (members, regions.len(), concurrency),
    );
    println!(
        "\n{members} ACTIVE members (+{} not ACTIVE), {} regions, {} ms per call, \
         --member-concurrency {concurrency}\n",
        suspended + 2,
        regions.len(),
        latency.as_millis()
    );
    println!(
        "| gate | operation | calls | throttled | failed | per member | pace (req/s, in flight) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for ((s, op), c) in &counts {
        let (name, p) = gate(&pace, *s);
        println!(
            "| {name} | {op} | {} | {} | {} | {:.2} | {}/{} |",
            c.ok,
            c.throttled,
            c.failed,
            (c.ok + c.throttled + c.failed) as f64 / members as f64,
            p.requests_per_second,
            p.max_concurrency
        );
    }
    let slowest = gates.values().cloned().fold(accounts, f64::max);
    println!("\n| bound | s |\n|---|---:|");
    for (name, s) in &gates {
        println!("| {name} gate | {s:.1} |");
    }
    println!(
        "| {concurrency} accounts in flight, {} calls in a row each | {accounts:.1} |",
        2 + 2 * regions.len()
    );
    println!(
        "\nmember phase {:.1} s (whole collect {wall:.1} s); lower bound {slowest:.1} s; ratio {:.2}; \
         peak RSS of `collect`: {:.0} MiB",
        end - begin,
        (end - begin) / slowest,
        rss_kb as f64 / 1024.0
    );
    let back = snapshot::read(out.path()).unwrap();
    assert_every_member_read(&back, members, &regions);
}

/// Every ACTIVE member's invocations are in the snapshot, in every region, the application
/// profile resolved; no member account is a gap.
fn assert_every_member_read(snap: &Snapshot, members: usize, regions: &[String]) {
    let inv = snap.invocations.as_ref().expect("the members were read");
    let accounts: BTreeSet<&str> = inv.iter().map(|i| i.account_id.as_str()).collect();
    assert_eq!(accounts.len(), members);
    assert_eq!(inv.len(), members * (regions.len() + 1));
    assert!(
        inv.iter().all(|i| i.base_model_id == CLAUDE_MODEL_ID),
        "resolved"
    );
    let gaps = gaps_of(snap, |_| true);
    assert!(gaps.is_empty(), "{gaps:?}");
    let source = &snap.manifest.tables["invocations"].source;
    assert!(
        source.contains(&format!("{LEGACY} (SUSPENDED)")),
        "{source}"
    );
}

/// The smoke version for every `cargo test`: 20 members (and 4 not ACTIVE) in 3 regions, no
/// latency, no pacing, in-process. Every member is read, with the calls per member the
/// fan-out makes, and none of the others is assumed.
#[tokio::test]
async fn smoke_reads_every_member_with_its_calls() {
    let members = 20;
    let regions: Vec<String> = REGIONS[..3].iter().map(|r| r.to_string()).collect();
    let fake = FakeAws::start(fleet(members, 2, &regions), Faults::default()).await;
    let mut opts = member_options();
    opts.member_regions = regions.clone();
    let clients = support::clients(&fake, &opts).await;
    let snap = collect_with(&clients, &opts, now(), &NoProgress).await;
    assert_every_member_read(&snap, members, &regions);

    let calls = member_calls(&fake.calls());
    let counts = count_calls(&calls);
    assert!(counts.values().all(|c| c.throttled == 0 && c.failed == 0));
    let per_member: BTreeMap<&str, usize> = counts
        .iter()
        .map(|((_, op), c)| (op.as_str(), c.ok / members))
        .collect();
    let r = regions.len();
    let want = BTreeMap::from([
        ("AssumeRole", 1),
        ("ListMetrics", r),
        ("GetMetricData", r),
        ("LookupEvents", EVENT_NAMES),
        ("SearchAgreements", 1),
        ("ListInferenceProfiles", 1),
    ]);
    assert_eq!(per_member, want);
    for c in counts.values() {
        assert_eq!(c.ok % members, 0, "the same calls for every member");
    }
    // Each member's calls signed with its own key, in its regions.
    let keys: BTreeSet<&str> = calls
        .iter()
        .filter_map(|c| c.access_key.as_deref().and_then(key_account))
        .collect();
    assert_eq!(keys.len(), members);
    let (gates, accounts) = bounds(
        &counts,
        &PaceOptions::default(),
        Duration::from_millis(50),
        (members, r, opts.member_concurrency),
    );
    assert_eq!(gates.len(), 4);
    assert!(accounts > 0.0);
}
