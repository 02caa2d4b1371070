//! The run history end to end, through the binary: new / persisting / resolved findings over
//! consecutive as-of dates of the demo, activation dates (exact and bounded between runs),
//! a process killed inside the write, suppressions, replacement of a run, retention.

use crate::support;
use support::cli::Bin;
use support::fixtures::demo_config;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use entitlement_audit::analyze::{analyze, context::Context};
use entitlement_audit::history::{observe::observed_at, Store};
use entitlement_audit::model::{EventKind, GrantStatus};
use entitlement_audit::snapshot::{self, Snapshot};
use serde_json::Value;

const DEMO_CONFIG_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.toml");

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Runs the binary; returns the exit code and stderr.
fn bin(args: &[&str]) -> (i32, String) {
    let out = Bin::new().args(args).run();
    (out.code, out.stderr)
}

/// `run` on the demo without history, writing to `out`, with the suppressions file `file`.
fn demo_suppressed_by(out: &Path, file: &Path) -> (i32, String) {
    bin(&[
        "run",
        "--demo",
        "--no-history",
        "--out",
        s(out),
        "--suppressions",
        s(file),
    ])
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state").join("history.sqlite")
    }
    fn out(&self, as_of: &str) -> PathBuf {
        self.dir.path().join(format!("out-{as_of}"))
    }
    /// `run` on the demo (or on `--snapshot DIR` when given) as of `as_of`; it must succeed.
    fn run(&self, as_of: &str, snapshot: Option<&Path>, extra: &[&str]) -> (i32, String) {
        let (code, err) = self.try_run(as_of, snapshot, extra);
        assert!(code == 0 || code == 1, "run {as_of} failed ({code}): {err}");
        (code, err)
    }
    /// `run` as [`Env::run`] does, whatever its exit code.
    fn try_run(&self, as_of: &str, snapshot: Option<&Path>, extra: &[&str]) -> (i32, String) {
        let (state, out) = (self.state(), self.out(as_of));
        let mut args = vec![
            "run",
            "--as-of",
            as_of,
            "--state",
            s(&state),
            "--out",
            s(&out),
        ];
        match snapshot {
            Some(dir) => args.extend(["--snapshot", s(dir)]),
            None => args.push("--demo"),
        }
        args.extend(extra);
        bin(&args)
    }
    fn store(&self) -> Store {
        Store::open_existing(&self.state()).unwrap()
    }
    fn json(&self, as_of: &str, file: &str) -> Value {
        let text = std::fs::read_to_string(self.out(as_of).join(file)).unwrap();
        serde_json::from_str(&text).unwrap()
    }
    /// findings.json's findings by id.
    fn findings(&self, as_of: &str) -> BTreeMap<String, Value> {
        self.json(as_of, "findings.json")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
            .collect()
    }
    /// activation_history.csv rows as header -> value maps.
    fn activation(&self, as_of: &str) -> Vec<BTreeMap<String, String>> {
        let mut rdr =
            csv::Reader::from_path(self.out(as_of).join("activation_history.csv")).unwrap();
        let headers = rdr.headers().unwrap().clone();
        rdr.records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }
    fn as_ofs(&self) -> Vec<NaiveDate> {
        self.store()
            .runs()
            .unwrap()
            .iter()
            .map(|r| r.as_of)
            .collect()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Finding ids of the pure analysis (no history) of the demo on `as_of`.
fn expected_ids(as_of: &str) -> BTreeSet<String> {
    let snap = entitlement_audit::inputs::demo::builtin();
    analyze(&snap, &demo_config(), date(as_of))
        .unwrap()
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect()
}

fn ids_where(f: &BTreeMap<String, Value>, change: &str) -> BTreeSet<String> {
    f.iter()
        .filter(|(_, v)| v["change"] == change)
        .map(|(k, _)| k.clone())
        .collect()
}

const D1: &str = "2026-08-23";
const D2: &str = "2026-08-30";
const D3: &str = "2026-09-06";
const D4: &str = "2026-09-13";

#[test]
fn consecutive_runs_give_new_persisting_and_resolved() {
    let env = Env::new();
    let expect: Vec<BTreeSet<String>> = [D1, D2, D3].iter().map(|d| expected_ids(d)).collect();
    for d in [D1, D2, D3] {
        env.run(d, None, &[]);
    }

    // The first run: everything new, and it says there was no previous run.
    let first = env.findings(D1);
    assert_eq!(ids_where(&first, "new"), expect[0]);
    let changes = &env.json(D1, "summary.json")["changes"];
    assert!(changes["previous_run"].is_null(), "{changes}");
    assert_eq!(changes["new"], expect[0].len());

    for (i, d) in [(1, D2), (2, D3)] {
        let (before, now) = (&expect[i - 1], &expect[i]);
        let new: BTreeSet<String> = now.difference(before).cloned().collect();
        let persisting: BTreeSet<String> = now.intersection(before).cloned().collect();
        let resolved: BTreeSet<String> = before.difference(now).cloned().collect();
        let f = env.findings(d);
        assert_eq!(ids_where(&f, "new"), new, "{d}");
        assert_eq!(ids_where(&f, "persisting"), persisting, "{d}");
        let summary = env.json(d, "summary.json");
        let ch = &summary["changes"];
        assert_eq!(ch["previous_run"]["as_of"], [D1, D2][i - 1]);
        assert_eq!(
            (ch["new"].clone(), ch["persisting"].clone()),
            (new.len().into(), persisting.len().into())
        );
        let listed: BTreeSet<String> = ch["resolved_findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, resolved, "{d}");
        // CSV carries the same column.
        let csv = std::fs::read_to_string(env.out(d).join("findings.csv")).unwrap();
        assert!(csv.lines().next().unwrap().ends_with(
            "change,first_seen,age_days,suppressed,suppression_reason,suppression_owner,suppression_expires"
        ));
    }
    // The demo changes between these dates, so the test means something.
    assert!(!expect[1]
        .difference(&expect[0])
        .collect::<Vec<_>>()
        .is_empty());
    assert!(!expect[1]
        .difference(&expect[2])
        .collect::<Vec<_>>()
        .is_empty());

    // first_seen is the start of the unbroken series; age counts from it.
    let third = env.findings(D3);
    for (id, f) in &third {
        let since = if expect[0].contains(id) && expect[1].contains(id) {
            D1
        } else if expect[1].contains(id) {
            D2
        } else {
            D3
        };
        assert_eq!(f["first_seen"], since, "{id}");
        assert_eq!(f["age_days"], (date(D3) - date(since)).num_days(), "{id}");
    }
    // A resolved finding names when it was last seen.
    let resolved = &env.json(D3, "summary.json")["changes"]["resolved_findings"][0];
    assert_eq!(resolved["last_seen"], D2);
}

/// Grants (arn -> activation day) whose demo activation event falls between two as-of dates.
fn activated_between(snap: &Snapshot, after: &str, by: &str) -> BTreeMap<String, NaiveDate> {
    snap.grant_events
        .iter()
        .filter(|e| e.kind == EventKind::Activated)
        .filter(|e| e.time > observed_at(date(after)) && e.time <= observed_at(date(by)))
        .map(|e| (e.grant_arn.clone(), e.time.date_naive()))
        .collect()
}

#[test]
fn activation_dates_exact_from_events() {
    let env = Env::new();
    env.run(D2, None, &[]);
    env.run(D3, None, &[]);
    let snap = entitlement_audit::inputs::demo::builtin();
    let activated = activated_between(&snap, D2, D3);
    assert!(!activated.is_empty());
    let rows = env.activation(D3);
    for (arn, day) in &activated {
        let row = rows
            .iter()
            .find(|r| r["scope"] == "grant" && &r["grant_arn"] == arn)
            .unwrap_or_else(|| panic!("no activation row for {arn}"));
        assert_eq!(row["activated_at"], day.to_string(), "{arn}");
        assert_eq!(row["activation_source"], "demo");
        assert_eq!(row["status"], "ACTIVE");
        let created = date(&row["created_at"]);
        assert_eq!(
            row["days_to_activation"],
            (*day - created).num_days().to_string()
        );
    }
    // Every account-product row with an activation says which grant activated first.
    assert!(rows
        .iter()
        .filter(|r| r["scope"] == "account-product" && !r["activated_at"].is_empty())
        .all(|r| !r["grant_arn"].is_empty()));
}

/// The demo as a collector would have read it on `as_of`: statuses of that day, events up to
/// it, and none at all for `silent` grants (as when CloudTrail has nothing for them).
fn collected(as_of: &str, silent: &BTreeSet<String>, dir: &Path) {
    let mut snap = entitlement_audit::inputs::demo::builtin();
    let cfg = demo_config();
    let statuses: BTreeMap<String, GrantStatus> = Context::new(&snap, &cfg, date(as_of))
        .grants
        .iter()
        .map(|v| (v.grant.arn.clone(), v.status.clone()))
        .collect();
    snap.grants.retain(|g| statuses.contains_key(&g.arn));
    for g in &mut snap.grants {
        g.status = statuses[&g.arn].clone();
    }
    let end = observed_at(date(as_of));
    snap.grant_events
        .retain(|e| e.time <= end && !silent.contains(&e.grant_arn));
    snap.manifest.collected_at = end - Duration::hours(1);
    snap.manifest.period_end = date(as_of);
    snap.refresh_manifest();
    snapshot::write(&snap, dir).unwrap();
}

#[test]
fn activation_between_runs_is_bounded_and_feeds_coverage() {
    let env = Env::new();
    let snap = entitlement_audit::inputs::demo::builtin();
    let silent: BTreeSet<String> = activated_between(&snap, D2, D3).into_keys().collect();
    assert!(!silent.is_empty());
    let dirs: Vec<PathBuf> = [D2, D3, D4]
        .iter()
        .map(|d| {
            let dir = env.dir.path().join(format!("snap-{d}"));
            collected(d, &silent, &dir);
            dir
        })
        .collect();
    env.run(D2, Some(&dirs[0]), &[]);
    let (_, err) = env.run(D3, Some(&dirs[1]), &[]);
    assert!(err.contains("changes observed between runs"), "{err}");

    for d in [D3, D4] {
        if d == D4 {
            env.run(D4, Some(&dirs[2]), &[]);
        }
        let rows = env.activation(d);
        for arn in &silent {
            let row = rows
                .iter()
                .find(|r| r["scope"] == "grant" && &r["grant_arn"] == arn)
                .unwrap();
            assert_eq!(row["activation_source"], "observed", "{d} {arn}");
            assert_eq!(row["activated_at"], "");
            assert_eq!(
                (
                    row["activated_after"].as_str(),
                    row["activated_by"].as_str()
                ),
                (D2, D3)
            );
        }
    }

    // Coverage uses it: without history the grant looks ACTIVE since forever (activation time
    // unknown); with it, the activation lies in (D2, D3]: the days before D2 stay exposed (the
    // D2 run saw the grant DISABLED), the days in between are activation-unknown, not exposed.
    let grants_csv = |dir: &Path| -> BTreeMap<String, (String, String)> {
        let mut rdr = csv::Reader::from_path(dir.join("grants.csv")).unwrap();
        rdr.deserialize::<BTreeMap<String, String>>()
            .map(|r| {
                let r = r.unwrap();
                (
                    r["grant_arn"].clone(),
                    (
                        r["activated_at"].clone(),
                        r["activation_time_unknown"].clone(),
                    ),
                )
            })
            .collect()
    };
    let plain = env.dir.path().join("plain");
    let (code, err) = bin(&[
        "run",
        "--snapshot",
        s(&dirs[2]),
        "--as-of",
        D3,
        "--out",
        s(&plain),
        "--no-history",
    ]);
    assert_eq!(code, 0, "{err}");
    let (without, with) = (grants_csv(&plain), grants_csv(&env.out(D4)));
    for arn in &silent {
        assert_eq!(without[arn], (String::new(), "true".to_string()), "{arn}");
        assert_eq!(with[arn], (String::new(), "true".to_string()), "{arn}");
    }
    let total = |dir: &Path, key: &str| -> f64 {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        v["totals"][key].as_f64().unwrap()
    };
    assert!(total(&env.out(D4), "exposure_usd") > total(&plain, "exposure_usd"));
    assert_eq!(total(&plain, "activation_unknown_usd"), 0.0);
    let unknown = total(&env.out(D4), "activation_unknown_usd");
    assert!(unknown > 0.0, "the days between D2 and D3 are unknown");
    // Every unknown day lies between the two runs that bound the activation.
    let mut rdr = csv::Reader::from_path(env.out(D4).join("coverage.csv")).unwrap();
    let mut seen = 0.0;
    for r in rdr.deserialize::<BTreeMap<String, String>>() {
        let r = r.unwrap();
        if r["state"] == "activation-unknown" {
            assert!(r["from"].as_str() > D2 && r["to"].as_str() <= D3, "{r:?}");
            seen += r["cost_usd"].parse::<f64>().unwrap();
        }
    }
    assert!((seen - unknown).abs() < 0.01, "{seen} vs {unknown}");
}

/// Starts a run that pauses inside the history transaction, waits until it is there, kills it.
fn kill_mid_write(env: &Env, as_of: &str) {
    let (state, out) = (env.state(), env.out(&format!("{as_of}-killed")));
    let mut child = Bin::new()
        .args([
            "run",
            "--demo",
            "--as-of",
            as_of,
            "--state",
            s(&state),
            "--out",
            s(&out),
        ])
        .args(["--test-pause-in-history-write-ms", "120000"])
        .spawn();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut paused = false;
    for line in stderr.lines() {
        if line
            .unwrap()
            .contains("test pause inside the history transaction")
        {
            paused = true;
            break;
        }
    }
    assert!(paused, "the child never reached the pause");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn killing_the_process_mid_write_leaves_the_store_as_it_was() {
    let env = Env::new();
    env.run(D1, None, &[]);
    let before = env.store().runs().unwrap();
    let findings_before = env.findings(D1).len() as i64;

    // A new run killed inside its transaction: not there at all.
    kill_mid_write(&env, D2);
    let store = env.store();
    assert_eq!(store.runs().unwrap(), before);
    assert_eq!(integrity(&env.state()), "ok");

    // A replacement of D1 killed half-way: the old D1 is still there, whole.
    kill_mid_write(&env, D1);
    let after = env.store().runs().unwrap();
    assert_eq!(after, before);
    assert_eq!(after[0].findings, findings_before);
    assert_eq!(stored_rows(&env.state(), "findings"), findings_before);
    assert_eq!(integrity(&env.state()), "ok");

    // And the store still works.
    env.run(D2, None, &[]);
    assert_eq!(env.as_ofs(), vec![date(D1), date(D2)]);
    assert_eq!(
        env.json(D2, "summary.json")["changes"]["previous_run"]["as_of"],
        D1
    );
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn stored_rows(path: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// The run is stored on a thread of its own while the reports are written (only the
/// activation history waits for it). When the store refuses the write, the run fails with the
/// store's error, nothing of the run is stored, the files that need the history are not left
/// half-written, and no writer waits forever.
#[test]
fn a_refused_history_write_fails_the_run_and_leaves_no_activation_history() {
    let env = Env::new();
    env.run(D1, None, &[]);
    let runs = stored_rows(&env.state(), "runs");
    rusqlite::Connection::open(env.state())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON findings
             BEGIN SELECT RAISE(ABORT, 'the test refuses findings'); END;",
        )
        .unwrap();
    let (state, out) = (env.state(), env.out(D2));
    let (code, err) = env.try_run(D2, None, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("failed to write the run to history store"),
        "{err}"
    );
    assert!(err.contains("the test refuses findings"), "{err}");
    assert_eq!(
        stored_rows(&state, "runs"),
        runs,
        "the write is one transaction"
    );
    assert!(
        out.join("findings.json").is_file(),
        "the other reports are written"
    );
    for file in ["activation_history.csv", "report.xlsx"] {
        assert!(!out.join(file).exists(), "{file} left behind");
    }
}

#[test]
fn the_same_as_of_replaces_the_run() {
    let env = Env::new();
    env.run(D1, None, &[]);
    let rows = stored_rows(&env.state(), "findings");
    let observations = stored_rows(&env.state(), "grant_observations");
    env.run(D1, None, &[]);
    assert_eq!(env.as_ofs(), vec![date(D1)]);
    assert_eq!(stored_rows(&env.state(), "findings"), rows);
    assert_eq!(
        stored_rows(&env.state(), "grant_observations"),
        observations
    );
    // Still the first run: compared with nothing, not with itself.
    assert!(env.json(D1, "summary.json")["changes"]["previous_run"].is_null());

    // Replacing a run between two others keeps the comparison with the earlier one.
    env.run(D3, None, &[]);
    env.run(D2, None, &[]);
    assert_eq!(env.as_ofs(), vec![date(D1), date(D2), date(D3)]);
    assert_eq!(
        env.json(D2, "summary.json")["changes"]["previous_run"]["as_of"],
        D1
    );
}

#[test]
fn retention_prunes_old_runs() {
    let env = Env::new();
    for d in [D1, D2, D3] {
        env.run(d, None, &["--keep-weeks", "1"]);
    }
    assert_eq!(env.as_ofs(), vec![date(D2), date(D3)]);
    let conn = rusqlite::Connection::open(env.state()).unwrap();
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM finding_keys WHERE key NOT IN (SELECT key FROM findings)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}

#[test]
fn suppressions_with_owner_and_expiry() {
    let env = Env::new();
    let d = date(D2);
    let all = expected_ids(D2);
    assert!(!all.is_empty());
    let file = env.dir.path().join("suppressions.toml");
    let write = |text: String| std::fs::write(&file, text).unwrap();
    // EA008 accepted for a month; EA003 by name, expiring in 10 days; an expired EA006 entry;
    // one that matches nothing.
    write(format!(
        "[[suppress]]\nrule = \"EA008\"\nreason = \"kept during the OU migration\"\nowner = \"platform@example.com\"\nexpires = {}\n\n\
         [[suppress]]\nrule = \"grant-failed\"\naccount = \"*\"\nreason = \"ticket OPS-1\"\nowner = \"ops@example.com\"\nexpires = {}\n\n\
         [[suppress]]\nrule = \"EA006\"\nreason = \"old\"\nowner = \"finops@example.com\"\nexpires = {}\n\n\
         [[suppress]]\nproduct = \"No Such Model*\"\nreason = \"r\"\nowner = \"o\"\nexpires = {}\n",
        d + Duration::days(30),
        d + Duration::days(10),
        d - Duration::days(1),
        d + Duration::days(60),
    ));
    let (_, err) = env.run(D2, None, &["--suppressions", s(&file), "--fail-on", "low"]);
    assert!(err.contains("findings suppressed"), "{err}");
    let findings = env.findings(D2);
    let mut by_rule: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for f in findings.values() {
        let e = by_rule
            .entry(f["rule"].as_str().unwrap().to_string())
            .or_default();
        e.0 += 1;
        if f["suppressed"] == true {
            e.1 += 1;
        }
    }
    for rule in ["EA008", "EA003", "EA006"] {
        assert!(
            by_rule[rule].0 > 0,
            "the demo has no {rule} finding on {D2}"
        );
    }
    assert_eq!(by_rule["EA008"].1, by_rule["EA008"].0);
    assert_eq!(by_rule["EA003"].1, by_rule["EA003"].0);
    assert_eq!(by_rule["EA006"].1, 0, "an expired entry must not apply");
    let suppressed: usize = by_rule.values().map(|v| v.1).sum();
    assert_eq!(suppressed, by_rule["EA008"].0 + by_rule["EA003"].0);
    let ea008 = findings.values().find(|f| f["rule"] == "EA008").unwrap();
    assert_eq!(ea008["suppression_owner"], "platform@example.com");
    assert_eq!(ea008["suppression_reason"], "kept during the OU migration");
    assert_eq!(
        ea008["suppression_expires"],
        (d + Duration::days(30)).to_string()
    );

    let summary = env.json(D2, "summary.json");
    let sup = &summary["suppressions"];
    let entries = |key: &str| -> Vec<i64> {
        sup[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entry"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(entries("expired"), vec![3]);
    assert_eq!(entries("expiring_soon"), vec![2]);
    assert_eq!(entries("unused"), vec![4]);
    assert_eq!(sup["suppressed_findings"], suppressed);
    // Suppressed findings do not count toward --fail-on.
    let low_or_above = findings
        .values()
        .filter(|f| f["severity"] != "info" && f["suppressed"] == false)
        .count();
    assert_eq!(summary["counts"]["at_or_above_fail_on"], low_or_above);

    // Everything suppressed: --fail-on passes; once the entry expires, it fails again.
    let until = |day: NaiveDate| {
        format!(
            "[[suppress]]\nrule = \"*\"\nreason = \"accepted\"\nowner = \"me\"\nexpires = {day}\n"
        )
    };
    write(until(d));
    let (code, _) = env.run(D2, None, &["--suppressions", s(&file), "--fail-on", "low"]);
    assert_eq!(code, 0);
    write(until(d - Duration::days(1)));
    let (code, _) = env.run(D2, None, &["--suppressions", s(&file), "--fail-on", "low"]);
    assert_eq!(code, 1);

    // Unknown keys are errors that name the key; a missing owner too.
    write("[[suppress]]\nrule = \"EA001\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-12-31\nticket = \"X\"\n".into());
    let out = env.out("bad");
    let (code, err) = demo_suppressed_by(&out, &file);
    assert_eq!(code, 3);
    assert!(
        err.contains("ticket") && err.contains("suppressions.toml"),
        "{err}"
    );
    write("[[suppress]]\nrule = \"EA001\"\nreason = \"r\"\nexpires = 2026-12-31\n".into());
    let (code, err) = demo_suppressed_by(&out, &file);
    assert_eq!(code, 3);
    assert!(err.contains("owner"), "{err}");
}

#[test]
fn history_commands_show_runs_and_timelines() {
    let env = Env::new();
    env.run(D2, None, &[]);
    env.run(D3, None, &[]);
    let state = env.state();
    let text = Bin::new()
        .args(["history", "runs", "--state", s(&state)])
        .run()
        .stdout;
    assert!(
        text.contains(D2) && text.contains(D3) && text.contains("2 runs"),
        "{text}"
    );

    let snap = entitlement_audit::inputs::demo::builtin();
    let (arn, _) = activated_between(&snap, D2, D3).into_iter().next().unwrap();
    let account = snap
        .grants
        .iter()
        .find(|g| g.arn == arn)
        .unwrap()
        .grantee_id
        .clone();
    for target in [arn.as_str(), account.as_str()] {
        let out = Bin::new()
            .args(["history", "show", target, "--state", s(&state)])
            .run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = out.stdout;
        assert!(text.contains("activated") && text.contains(&arn), "{text}");
    }
    let (code, err) = bin(&["history", "show", "000000000000", "--state", s(&state)]);
    assert_eq!(code, 3);
    assert!(err.contains("in no stored run"), "{err}");
    let (code, err) = bin(&[
        "history",
        "runs",
        "--state",
        s(&env.dir.path().join("none.sqlite")),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("no history store"), "{err}");
}

#[test]
fn a_store_holds_one_organization() {
    let env = Env::new();
    env.run(D1, None, &[]);
    let mut snap = entitlement_audit::inputs::demo::builtin();
    snap.organization.id = "o-otherorg99".into();
    let dir = env.dir.path().join("other");
    snapshot::write(&snap, &dir).unwrap();
    let (state, out) = (env.state(), env.out("other"));
    let (code, err) = bin(&[
        "run",
        "--snapshot",
        s(&dir),
        "--as-of",
        D2,
        "--state",
        s(&state),
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 3);
    assert!(
        err.contains("o-otherorg99") && err.contains("--state"),
        "{err}"
    );
    assert_eq!(env.as_ofs(), vec![date(D1)]);
}

#[test]
fn concurrent_runs_on_a_new_store_both_succeed() {
    let env = Env::new();
    let children: Vec<_> = [D1, D2]
        .iter()
        .map(|d| {
            let (state, out) = (env.state(), env.out(d));
            Bin::new()
                .args([
                    "run",
                    "--demo",
                    "--as-of",
                    d,
                    "--state",
                    s(&state),
                    "--out",
                    s(&out),
                ])
                .spawn()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(env.as_ofs(), vec![date(D1), date(D2)]);
}

/// A member-side activation (no event dates it) seen by two runs: the first run, on day 50,
/// saw the grant DISABLED; the second, on day 89, ACTIVE. Without history the change lies
/// anywhere after the creation on day 10; with the first run remembered it lies after day
/// 50, so days 11 to 51 become confirmed exposure and only the rest stays unknown.
#[test]
fn history_narrows_a_member_side_activation() {
    use support::field::{self, day, member_side_activation, noon, start};
    let env = Env::new();
    let write = |status, as_of: NaiveDate, collected, name: &str| {
        let (b, id, _) = member_side_activation(status);
        let dir = env.dir.path().join(name);
        snapshot::write(&b.build(start(), as_of, collected), &dir).unwrap();
        (dir, id)
    };
    let (first, _) = write(GrantStatus::Disabled, day(50), noon(51), "snap-50");
    let (second, id) = write(GrantStatus::Active, field::as_of(), noon(90), "snap-89");
    let (d50, d89) = (day(50).to_string(), day(89).to_string());
    let totals = |dir: &Path| -> (f64, f64) {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let t = &v["totals"];
        (
            t["exposure_usd"].as_f64().unwrap(),
            t["activation_unknown_usd"].as_f64().unwrap(),
        )
    };
    let alone = env.dir.path().join("alone");
    let (code, err) = bin(&[
        "run",
        "--snapshot",
        s(&second),
        "--out",
        s(&alone),
        "--no-history",
    ]);
    assert!(code <= 1, "{err}");
    assert_eq!(totals(&alone), (11.0, 79.0));

    env.run(&d50, Some(&first), &[]);
    assert_eq!(
        totals(&env.out(&d50)),
        (51.0, 0.0),
        "DISABLED and dated: exposure"
    );
    env.run(&d89, Some(&second), &[]);
    assert_eq!(totals(&env.out(&d89)), (52.0, 38.0));
    let f = env.findings(&d89);
    let ea001 = f
        .values()
        .find(|f| f["rule"] == "EA001" && f["account_id"] == id.as_str())
        .unwrap();
    assert_eq!(ea001["cost_usd"].as_f64(), Some(52.0));
    assert_eq!(ea001["activation_unknown_usd"].as_f64(), Some(38.0));
}

/// The store keeps the public rates each run read; a later run whose rates read failed (a gap
/// on `rates`) gets them back as `history` rates, says so, and prices the exposure exactly
/// again, where the same snapshot without the store falls back to "no price basis".
#[test]
fn public_rates_a_run_could_not_read_come_back_from_the_store() {
    use entitlement_audit::model::RateSource;
    use entitlement_audit::snapshot::{LedgerEntry, Table};
    let env = Env::new();
    env.run("2026-10-24", None, &["--config", DEMO_CONFIG_FILE]);
    let stored = env.store().public_rates().unwrap();
    let demo = entitlement_audit::inputs::demo::builtin();
    let public: usize = demo
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PublicOffer)
        .count();
    assert_eq!(stored.len(), public);

    // The same organization a week later, its public offers denied.
    let mut snap = demo.clone();
    snap.rates.retain(|r| r.source == RateSource::Agreement);
    snap.manifest.completeness.push(LedgerEntry {
        service: "bedrock".into(),
        operation: "ListFoundationModels".into(),
        scope: "us-east-1".into(),
        error_code: "AccessDeniedException".into(),
        message: "not authorized".into(),
        tables: vec![Table::Rates],
        account_id: None,
    });
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let (state, out) = (env.state(), env.out("2026-10-31"));
    let (code, err) = bin(&[
        "run",
        "--as-of",
        "2026-10-31",
        "--state",
        s(&state),
        "--out",
        s(&out),
        "--snapshot",
        s(dir.path()),
        "--config",
        DEMO_CONFIG_FILE,
    ]);
    assert_eq!(code, 2, "the rates are still a gap: {err}");
    assert!(
        err.contains("history store remembers for Claude 3 Haiku (read 2026-11-01), Claude 3.7 Sonnet (read 2026-11-01)"),
        "{err}"
    );
    let bases = |findings: &BTreeMap<String, Value>| -> BTreeSet<String> {
        findings
            .values()
            .filter(|f| f["rule"] == "EA001" && f["product"] == "Claude 3.7 Sonnet")
            .map(|f| f["overspend_basis"].as_str().unwrap().to_string())
            .collect()
    };
    let remembered = env.findings("2026-10-31");
    assert_eq!(bases(&remembered), ["agreement-terms".to_string()].into());
    assert!(remembered
        .values()
        .filter(|f| f["rule"] == "EA001")
        .all(|f| f["data_incomplete"] == true));

    let out = tempfile::tempdir().unwrap();
    let (_, err) = bin(&[
        "run",
        "--snapshot",
        s(dir.path()),
        "--config",
        DEMO_CONFIG_FILE,
        "--no-history",
        "--out",
        s(out.path()),
    ]);
    assert!(!err.contains("history store remembers"), "{err}");
    let text = std::fs::read_to_string(out.path().join("findings.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let alone: BTreeMap<String, Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    assert_eq!(
        bases(&alone),
        ["observed-private-rate+rates-unread".to_string()].into()
    );
}
