//! The collection benchmark (issue 7, item 2): the real binary collects a synthetic
//! organization from the fake AWS endpoint, with a latency per call and a rate limit per
//! service, and we count what it took against what the pacing allows.
//!
//! - `cargo test --release --test it collect_bench:: -- --ignored --nocapture` runs it at 10,000
//!   accounts and 50 products, a fifth of the accounts spending (`BENCH_ACCOUNTS`,
//!   `BENCH_PRODUCTS`, `BENCH_SPENDING_PERCENT`, `BENCH_LATENCY_MS`, `BENCH_CE_GROUPS_PER_PAGE`
//!   change the setup; `BENCH_PACE=organizations=100/8,...` passes
//!   `--pace` settings, and the fake's limits follow; `BENCH_BIN` measures another build) and
//!   prints the table of docs/performance.md.
//! - The smoke test (200 accounts, no latency, no pacing, in-process) runs in the normal
//!   `cargo test`: the collector reads back exactly the organization it was served. No timing
//!   is asserted anywhere.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use entitlement_audit::inputs::collect::permissions::Service;
use entitlement_audit::inputs::collect::{collect_with, NoProgress, Pace, PaceOptions};
use entitlement_audit::inputs::demo::{generate, DemoParams};
use entitlement_audit::model::usage::rows;
use entitlement_audit::model::EventSource;
use entitlement_audit::snapshot::{self, Snapshot};
use support::cli::{Bin, BIN};
use support::fake_aws::{Call, FakeAws, Faults, Scenario};
use support::fixtures::accounts_with_spend;

fn pace_of(p: &PaceOptions, s: Service) -> Pace {
    match s {
        Service::Organizations => p.organizations,
        Service::Sts => p.sts,
        Service::CloudWatch => p.cloudwatch,
        Service::LicenseManager => p.license_manager,
        Service::CostExplorer => p.cost_explorer,
        Service::CloudTrail => p.cloudtrail,
        Service::MarketplaceAgreement => p.marketplace_agreement,
        Service::Bedrock => p.bedrock,
        Service::Pricing => p.pricing,
        Service::Athena => p.athena,
    }
}

/// Calls per operation: answered, throttled by the fake, failed otherwise.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Count {
    pub(crate) ok: usize,
    pub(crate) throttled: usize,
    pub(crate) failed: usize,
}

pub(crate) fn count_calls(calls: &[Call]) -> BTreeMap<(Service, String), Count> {
    let mut by: BTreeMap<(Service, String), Count> = BTreeMap::new();
    for c in calls {
        let e = by.entry((c.service(), c.op.clone())).or_default();
        let throttling = [
            "RateLimitExceededException",
            "TooManyRequestsException",
            "LimitExceededException",
            "ThrottlingException",
        ];
        match (c.status, c.error.as_deref()) {
            (200, _) => e.ok += 1,
            (_, Some(code)) if throttling.contains(&code) => e.throttled += 1,
            _ => e.failed += 1,
        }
    }
    by
}

/// The fastest the pacing allows: each service's requests at its rate, or, when slower,
/// `latency` per request with `max_concurrency` in flight. Services are read side by side,
/// so the bound is the slowest service; the sum is the bound if they were read one after
/// the other.
fn ideal(
    counts: &BTreeMap<(Service, String), Count>,
    pace: &PaceOptions,
    latency: Duration,
) -> (f64, f64) {
    let mut per_service: BTreeMap<Service, usize> = BTreeMap::new();
    for ((s, _), c) in counts {
        *per_service.entry(*s).or_default() += c.ok + c.throttled + c.failed;
    }
    let secs: Vec<f64> = per_service
        .iter()
        .map(|(s, n)| {
            let p = pace_of(pace, *s);
            let per_call =
                (1.0 / p.requests_per_second).max(latency.as_secs_f64() / p.max_concurrency as f64);
            *n as f64 * per_call
        })
        .collect();
    (secs.iter().cloned().fold(0.0, f64::max), secs.iter().sum())
}

fn print_table(counts: &BTreeMap<(Service, String), Count>, pace: &PaceOptions) {
    println!("| service | operation | calls | throttled | failed | pace (req/s) | ideal (s) |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for ((s, op), c) in counts {
        let rps = pace_of(pace, *s).requests_per_second;
        let n = c.ok + c.throttled + c.failed;
        println!(
            "| {} | {op} | {} | {} | {} | {rps} | {:.1} |",
            s.ledger_name(),
            c.ok,
            c.throttled,
            c.failed,
            n as f64 / rps
        );
    }
}

pub(crate) fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `--pace` settings of `BENCH_PACE` (comma-separated), and the pacing they make of the
/// default one.
pub(crate) fn bench_pace() -> (Vec<String>, PaceOptions) {
    let pace_args: Vec<String> = std::env::var("BENCH_PACE")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let mut pace = PaceOptions::default();
    for spec in &pace_args {
        pace.apply(spec).unwrap();
    }
    (pace_args, pace)
}

/// The benchmark: see the module docs. Prints Markdown for docs/performance.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: cargo test --release --test it collect_bench:: -- --ignored --nocapture"]
async fn collect_bench() {
    let accounts = env_or("BENCH_ACCOUNTS", 10_000usize);
    let products = env_or("BENCH_PRODUCTS", 50usize);
    let latency = Duration::from_millis(env_or("BENCH_LATENCY_MS", 50u64));
    let ce_groups = env_or("BENCH_CE_GROUPS_PER_PAGE", 5_000usize);
    let spending_percent = env_or("BENCH_SPENDING_PERCENT", 20u32);
    let t = Instant::now();
    let snap = generate(&DemoParams {
        accounts,
        products,
        spending_percent,
        ..DemoParams::builtin()
    });
    let scenario = Scenario::from_snapshot(&snap);
    println!(
        "setup: {accounts} accounts ({} with spend), {products} products, {} grants, {} events, \
         {} usage rows ({} Cost Explorer facts); generated and converted in {:.1} s",
        accounts_with_spend(&snap).len(),
        snap.grants.len(),
        snap.grant_events.len(),
        snap.usage.height(),
        scenario.facts.len(),
        t.elapsed().as_secs_f64()
    );

    // The binary's pacing is the default one unless `BENCH_PACE` says otherwise; the fake
    // allows twice that per service (CloudTrail at the default pace: its documented 2 per
    // second), so a collector that keeps to its pacing is never throttled.
    let (pace_args, pace) = bench_pace();
    let mut faults = Faults {
        latency: Some(latency),
        ce_groups_per_page: Some(ce_groups),
        ..Faults::default()
    };
    for (s, limit) in [
        (
            Service::Organizations,
            2.0 * pace.organizations.requests_per_second,
        ),
        (
            Service::LicenseManager,
            2.0 * pace.license_manager.requests_per_second,
        ),
        (
            Service::CostExplorer,
            2.0 * pace.cost_explorer.requests_per_second,
        ),
        (
            Service::CloudTrail,
            2.0 * pace.cloudtrail.requests_per_second,
        ),
    ] {
        faults
            .rate_limits
            .insert(s.target_prefix().unwrap().to_string(), limit);
    }
    let fake = FakeAws::start(scenario, faults).await;

    let out = tempfile::tempdir().unwrap();
    let m = &snap.manifest;
    let days = (m.period_end - m.period_start).num_days() + 1;
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_string());
    let mut cmd = Bin::wrapped(&["/usr/bin/time", "-f", "maxrss_kb=%M"], &bin)
        .args(["collect", "--out"])
        .arg(out.path())
        .args(["--now", &m.collected_at.to_rfc3339()])
        .args(["--days", &days.to_string()])
        .args(["--max-cost-explorer-requests", "10000"]);
    for spec in &pace_args {
        cmd = cmd.args(["--pace", spec]);
    }
    let cmd = cmd.aws(&fake);
    let (status, lines, wall, rss_kb) = run_timed(cmd).await;
    let stderr: Vec<String> = lines
        .iter()
        .map(|(at, l)| format!("{at:7.1} s  {l}"))
        .collect();
    assert_eq!(status.code(), Some(0), "{}", stderr.join("\n"));
    println!("{}\n", stderr.join("\n"));

    let counts = count_calls(&fake.calls());
    let (ideal_max, ideal_sum) = ideal(&counts, &pace, latency);
    let ce = counts
        .iter()
        .filter(|((s, _), _)| *s == Service::CostExplorer)
        .map(|(_, c)| c.ok + c.throttled + c.failed)
        .sum::<usize>();
    print_table(&counts, &pace);
    println!(
        "\nwall {wall:.1} s; ideal {ideal_max:.1} s (slowest service at its pace and concurrency), \
         {ideal_sum:.1} s summed over services; ratio {:.2}",
        wall / ideal_max
    );
    println!(
        "Cost Explorer: {ce} requests (${:.2}); peak RSS of `collect`: {:.0} MiB",
        ce as f64 * 0.01,
        rss_kb as f64 / 1024.0
    );
    print_lock_table(&fake.calls(), wall);
    let back = snapshot::read(out.path()).unwrap();
    assert_same_organization(&back, &snap);
}

/// Runs `cmd` (started through `/usr/bin/time -f maxrss_kb=%M`) to the end: its exit status,
/// its progress lines, each with the time it arrived (where the time goes), the wall time
/// and the peak RSS in KiB.
pub(crate) async fn run_timed(
    cmd: Bin,
) -> (std::process::ExitStatus, Vec<(f64, String)>, f64, u64) {
    let t = Instant::now();
    let (status, lines) = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn();
        let lines: Vec<(f64, String)> = BufReader::new(child.stderr.take().unwrap())
            .lines()
            .map(|l| (t.elapsed().as_secs_f64(), l.unwrap()))
            .collect();
        (child.wait().unwrap(), lines)
    })
    .await
    .unwrap();
    let wall = t.elapsed().as_secs_f64();
    let rss_kb: u64 = lines
        .iter()
        .find_map(|(_, l)| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (status, lines, wall, rss_kb)
}

/// How long the fake's single lock was held answering each operation, and how long requests
/// waited for it: time the fake, not the collector, spent.
fn print_lock_table(calls: &[Call], wall: f64) {
    let mut by_op: BTreeMap<&str, (usize, Duration, Duration)> = BTreeMap::new();
    for c in calls {
        let e = by_op.entry(c.op.as_str()).or_default();
        e.0 += 1;
        e.1 += c.held;
        e.2 += c.waited;
    }
    println!(
        "\n| operation | calls | lock held (s) | held per call (ms) | waited for the lock (s) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let (mut held, mut waited) = (Duration::ZERO, Duration::ZERO);
    for (op, (n, h, w)) in &by_op {
        held += *h;
        waited += *w;
        println!(
            "| {op} | {n} | {:.1} | {:.2} | {:.1} |",
            h.as_secs_f64(),
            h.as_secs_f64() * 1000.0 / *n as f64,
            w.as_secs_f64()
        );
    }
    println!(
        "\nthe fake held its lock {:.1} s of the {wall:.1} s wall; requests waited {:.1} s for it in all",
        held.as_secs_f64(),
        waited.as_secs_f64()
    );
}

/// The smoke version for every `cargo test`: 200 accounts (a fifth spending), 5 products, no latency, no pacing,
/// the collector in-process. It reads back exactly what it was served, without throttling.
#[tokio::test]
async fn smoke_collects_a_generated_organization_exactly() {
    let snap = generate(&DemoParams {
        accounts: 200,
        products: 5,
        spending_percent: 20,
        ..DemoParams::builtin()
    });
    let fake = FakeAws::start(Scenario::from_snapshot(&snap), Faults::default()).await;
    let mut opts = support::options();
    opts.period_start = snap.manifest.period_start;
    opts.period_end = snap.manifest.period_end;
    let clients = support::clients(&fake, &opts).await;
    let back = collect_with(&clients, &opts, snap.manifest.collected_at, &NoProgress).await;

    assert!(back.is_complete(), "{:?}", back.manifest.completeness);
    assert_same_organization(&back, &snap);
    let counts = count_calls(&fake.calls());
    assert!(counts.values().all(|c| c.throttled == 0 && c.failed == 0));
    // One tag call per account with spend, none for the others; no `ListAccounts` beside
    // the per-parent listings.
    let spenders = accounts_with_spend(&snap);
    assert!(spenders.len() < snap.accounts.len());
    assert_eq!(fake.tags_asked(), spenders);
    let tags = &counts[&(Service::Organizations, "ListTagsForResource".to_string())];
    assert_eq!(tags.ok, spenders.len(), "one call per account with spend");
    assert!(!counts.contains_key(&(Service::Organizations, "ListAccounts".to_string())));
    let (ideal_max, ideal_sum) = ideal(&counts, &PaceOptions::default(), Duration::ZERO);
    assert!(ideal_max > 0.0 && ideal_sum >= ideal_max);
}

/// The accounts with at least one usage row: those whose tags the collector reads.
/// Every table the collector rebuilds equals the served snapshot's, up to what AWS does
/// not return (see tests/it/live_e2e.rs): events are CloudTrail's, usage has no usage type;
/// the tags are read for the accounts with spend only.
fn assert_same_organization(back: &Snapshot, snap: &Snapshot) {
    assert_eq!(back.organization, snap.organization);
    assert_eq!(back.accounts.len(), snap.accounts.len());
    let spenders = accounts_with_spend(snap);
    let mut accounts = snap.accounts.clone();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    for a in &mut accounts {
        if !spenders.contains(&a.id) {
            a.tags.clear();
            a.tags_read = false;
        }
    }
    assert!(back.accounts == accounts, "accounts differ");
    let mut ous = snap.organizational_units.clone();
    ous.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id)));
    assert!(back.organizational_units == ous, "OUs differ");
    let mut licenses = snap.licenses.clone();
    licenses.sort_by(|a, b| a.arn.cmp(&b.arn));
    assert!(back.licenses == licenses, "licenses differ");
    let mut grants = snap.grants.clone();
    grants.sort_by(|a, b| a.arn.cmp(&b.arn));
    assert!(back.grants == grants, "grants differ");
    let key = |e: &entitlement_audit::model::GrantEvent| {
        (
            e.time,
            e.grant_arn.clone(),
            e.kind.as_str().to_string(),
            e.account_id.clone(),
            e.actor.clone(),
        )
    };
    let mut want: Vec<_> = snap.grant_events.iter().map(key).collect();
    let mut got: Vec<_> = back.grant_events.iter().map(key).collect();
    want.sort();
    got.sort();
    assert!(got == want, "grant events differ");
    assert!(back
        .grant_events
        .iter()
        .all(|e| e.source == EventSource::CloudTrail));
    let cents = |s: &Snapshot| {
        let mut by: BTreeMap<(String, String, String), f64> = BTreeMap::new();
        for r in rows(&s.usage).unwrap() {
            *by.entry((r.date.to_string(), r.account_id, r.product))
                .or_default() += r.cost_usd;
        }
        by.into_iter()
            .map(|(k, v)| (k, (v * 100.0).round() as i64))
            .collect::<BTreeMap<_, _>>()
    };
    assert!(cents(back) == cents(snap), "usage differs");
}
