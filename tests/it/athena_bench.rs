//! The Athena path's benchmark (issue 16, item 6): the demo's usage at 10,000 accounts
//! (`demo --accounts 10000 --products 50 --days 90 --seed 7`) served by the fake Athena as the
//! pre-aggregated result of the query, 1,000 rows a page, and the time and memory it takes to
//! pull every page and turn the rows into the usage table.
//!
//! - `cargo test --release --test it athena_bench:: -- --ignored --nocapture --test-threads 1`
//!   runs it (`BENCH_ACCOUNTS`, `BENCH_PRODUCTS`, `BENCH_DAYS`, `BENCH_SEED` change the
//!   organization; `BENCH_BIN` measures another build) and prints the tables of
//!   docs/performance.md ("Cost data from Athena"): the pull in this process (the library call
//!   `athena_usage_with` against the fake, the conversion timed apart, peak memory above what
//!   the process held before), then the binary end to end, `run --snapshot --no-history` with
//!   and without `--cost-source athena`, under `/usr/bin/time`.
//! - The smoke test runs in the normal `cargo test`: the built-in demo's usage, served as result
//!   rows over several pages, comes back as the same usage table. No timing is asserted.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Instant;

use entitlement_audit::inputs::athena::{sql, usage_from_rows};
use entitlement_audit::inputs::collect::{athena_usage_with, NoProgress};
use entitlement_audit::inputs::demo::{generate, DemoParams};
use entitlement_audit::model::usage::{rows as usage_rows, UsageRow};
use entitlement_audit::snapshot::{self, Snapshot};

use crate::athena::{assert_same_rows, cur2_columns, fast_athena, row_key, RowKey};
use crate::support::{self, cli::Bin, cli::BIN, fake_aws::Athena, fake_aws::FakeAws};

/// The snapshot's usage as the rows the query's aggregate would bring back (text, as
/// `GetQueryResults` sends every value; the caller as an assumed-role principal).
fn result_rows(snap: &Snapshot) -> Vec<Vec<Option<String>>> {
    usage_rows(&snap.usage)
        .unwrap()
        .into_iter()
        .map(|r| {
            vec![
                Some(r.date.to_string()),
                Some(r.account_id),
                Some(r.product),
                Some(r.usage_type),
                r.team_tag,
                r.caller_account_id
                    .map(|a| format!("arn:aws:sts::{a}:assumed-role/BedrockApp/session")),
                Some(r.cost_usd.to_string()),
                Some(r.usage_quantity.to_string()),
                r.public_cost_usd.map(|p| p.to_string()),
                Some("1".to_string()),
            ]
        })
        .collect()
}

/// The fake Athena serving `snap`'s usage as the query's result.
fn serving(snap: &Snapshot) -> Athena {
    Athena {
        columns: cur2_columns(true),
        partitions: vec!["billing_period".into()],
        header: sql::RESULT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        rows: result_rows(snap),
        scanned_bytes: 3 << 30,
        ..Athena::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_the_demo_usage_comes_back_from_athena_as_it_was_served() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let fake = FakeAws::start(support::scenario(), Default::default()).await;
    fake.set_athena(serving(&snap));
    let opts = support::options();
    let clients = support::clients(&fake, &opts).await;
    let got = athena_usage_with(&clients, &opts, &fast_athena(), support::now(), &NoProgress)
        .await
        .unwrap();
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    let pages = fake.ok_calls("GetQueryResults");
    assert!(pages > 1, "{pages} pages");
    let usage = got.usage.expect("the usage");
    assert_same_rows(
        &by_key(usage_rows(&usage).unwrap()),
        &by_key(usage_rows(&snap.usage).unwrap()),
    );
}

/// Rows summed per (day, account, product, usage type, team, caller), in that order, as the
/// usage table holds one row per key (the demo may give a key two rows: a charge and a credit).
fn by_key(rows: Vec<UsageRow>) -> Vec<UsageRow> {
    let mut sums: BTreeMap<RowKey, UsageRow> = BTreeMap::new();
    for r in rows {
        let key = row_key(&r);
        match sums.get_mut(&key) {
            Some(s) => {
                s.cost_usd += r.cost_usd;
                s.usage_quantity += r.usage_quantity;
                s.public_cost_usd = match (s.public_cost_usd, r.public_cost_usd) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
                };
            }
            None => {
                sums.insert(key, r);
            }
        }
    }
    sums.into_values().collect()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmRSS` and `VmHWM` of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Starts counting this process's peak RSS again from now (Linux: `clear_refs` 5).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The benchmark: see the module docs. Prints Markdown for docs/performance.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a minute or more: cargo test --release --test it athena_bench:: -- --ignored --nocapture --test-threads 1"]
async fn athena_bench() {
    let params = DemoParams {
        accounts: env_or("BENCH_ACCOUNTS", 10_000usize),
        products: env_or("BENCH_PRODUCTS", 50usize),
        days: env_or("BENCH_DAYS", 90u32),
        seed: env_or("BENCH_SEED", 7u64),
        ..DemoParams::builtin()
    };
    let t = Instant::now();
    let snap = generate(&params);
    let athena = serving(&snap);
    let n = athena.rows.len();
    println!(
        "setup: demo --accounts {} --products {} --days {} --seed {}: {n} usage rows as result \
         rows; generated and converted in {:.1} s",
        params.accounts,
        params.products,
        params.days,
        params.seed,
        t.elapsed().as_secs_f64()
    );
    // One row a key, as the usage table holds them.
    let keys = by_key(usage_rows(&snap.usage).unwrap()).len();
    let fake = FakeAws::start(support::scenario(), Default::default()).await;
    fake.set_athena(athena);

    // 1. The pull in this process: every page, then the rows into the usage table.
    let opts = support::options();
    let clients = support::clients(&fake, &opts).await;
    let peak_counted = reset_peak();
    let (before, _) = memory_kib();
    let t = Instant::now();
    let got = athena_usage_with(&clients, &opts, &fast_athena(), support::now(), &NoProgress)
        .await
        .unwrap();
    let total = t.elapsed().as_secs_f64();
    let (after, peak) = memory_kib();
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    let usage = got.usage.expect("the usage");
    assert_eq!(usage.height(), keys);
    let pages = fake.ok_calls("GetQueryResults");
    let fake_s: f64 = fake
        .calls()
        .iter()
        .filter(|c| c.op == "GetQueryResults")
        .map(|c| c.held.as_secs_f64())
        .sum();
    // The conversion alone, on the same rows (the fake's copy).
    let (header, rows) = {
        let st = fake.state.lock().unwrap();
        (st.athena.header.clone(), st.athena.rows.clone())
    };
    let t = Instant::now();
    let again = usage_from_rows(&header, &rows).unwrap();
    let convert = t.elapsed().as_secs_f64();
    assert_eq!(again.height(), usage.height());
    drop((rows, again));

    println!();
    println!(
        "| {n} result rows, {pages} pages | wall s | of which: conversion s | of which: the fake answering s | peak MiB above the process before | RSS after, above before MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| pull and convert (in process) | {total:.2} | {convert:.2} | {fake_s:.2} | {} | {:.0} |",
        if peak_counted {
            format!("{:.0}", mib(peak.saturating_sub(before)))
        } else {
            "not measured (no clear_refs)".to_string()
        },
        mib(after.saturating_sub(before)),
    );
    println!(
        "\nAt the default pace (`--pace athena=2/1`) the {pages} pages alone take at least {:.0} s.",
        pages as f64 / 2.0
    );

    // 2. The binary end to end on the same snapshot, with and without the Athena usage.
    let dir = tempfile::tempdir().unwrap();
    let snap_dir = dir.path().join("snap");
    snapshot::write(&snap, &snap_dir).unwrap();
    let m = &snap.manifest;
    let days = ((m.period_end - m.period_start).num_days() + 1).to_string();
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| BIN.to_string());
    println!();
    println!("| `run --snapshot --no-history` | wall s | peak RSS MiB | usage rows | GetQueryResults pages | exit |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, extra) in [
        ("the snapshot's usage", &[][..]),
        (
            "`--cost-source athena --pace athena=1000/1`",
            &["--cost-source", "athena", "--pace", "athena=1000/1"][..],
        ),
    ] {
        let out = dir.path().join("out");
        let before = fake.ok_calls("GetQueryResults");
        let cmd = Bin::wrapped(&["/usr/bin/time", "-f", "maxrss_kb=%M wall_s=%e"], &bin)
            .args(["run", "--no-history", "--snapshot"])
            .arg(&snap_dir)
            .args(["--now", &m.collected_at.to_rfc3339(), "--days", &days])
            .arg("--out")
            .arg(&out)
            .args(extra)
            .aws(&fake);
        let r = tokio::task::spawn_blocking(move || cmd.run())
            .await
            .unwrap();
        assert!(r.code < 2, "{}", r.stderr);
        let last = r
            .stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("maxrss_kb="))
            .unwrap()
            .to_string();
        let value = |key: &str| -> f64 {
            last.split_whitespace()
                .find_map(|kv| kv.strip_prefix(key))
                .unwrap()
                .parse()
                .unwrap()
        };
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        println!(
            "| {label} | {:.2} | {:.0} | {} | {} | {} |",
            value("wall_s="),
            value("maxrss_kb=") / 1024.0,
            summary["totals"]["usage_rows"],
            fake.ok_calls("GetQueryResults") - before,
            r.code
        );
    }
}
