//! The binary end to end: outputs, exit codes, hostile strings.

use crate::support::cli::Bin;

use std::path::Path;

use entitlement_audit::analyze::rules::RULES;
use entitlement_audit::inputs::collect::permissions::{Op, OPERATIONS};
use entitlement_audit::snapshot::{self, LedgerEntry};

/// Runs the binary; `run` commands get their own empty history store (tests/it/history.rs tests
/// the history), so tests neither share a store nor leave one in the checkout.
fn run(args: &[&str]) -> (i32, String) {
    let state = tempfile::tempdir().unwrap();
    let mut bin = Bin::new().args(args);
    if args.first() == Some(&"run") {
        bin = bin.arg("--state").arg(state.path().join("history.sqlite"));
    }
    let out = bin.run();
    (out.code, out.stderr)
}

fn out_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn p(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn demo_writes_every_output_with_every_rule() {
    let dir = out_dir();
    let (code, err) = run(&["run", "--demo", "--out", p(dir.path())]);
    assert_eq!(code, 0, "{err}");
    for f in [
        "findings.csv",
        "findings.json",
        "coverage.csv",
        "grants.csv",
        "cost_allocation.csv",
        "summary.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let mut rdr = csv::Reader::from_path(dir.path().join("findings.csv")).unwrap();
    let rules: std::collections::BTreeSet<String> =
        rdr.records().map(|r| r.unwrap()[1].to_string()).collect();
    let want: std::collections::BTreeSet<String> =
        RULES.iter().map(|r| r.code().to_string()).collect();
    assert_eq!(rules, want, "the demo fires every rule of RULES");
}

#[test]
fn hostile_account_names_are_neutralized_in_csv() {
    let dir = out_dir();
    assert_eq!(run(&["run", "--demo", "--out", p(dir.path())]).0, 0);
    for file in ["findings.csv", "coverage.csv", "cost_allocation.csv"] {
        let mut rdr = csv::Reader::from_path(dir.path().join(file)).unwrap();
        let headers = rdr.headers().unwrap().clone();
        let name_col = headers.iter().position(|h| h == "account_name").unwrap();
        let mut seen = 0;
        for r in rdr.records() {
            let r = r.unwrap();
            for cell in r.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '@', '\t', '\r']),
                    "{file}: live formula cell {cell:?}"
                );
            }
            let name = &r[name_col];
            if name.contains("HYPERLINK") || name.contains("2+3") {
                assert!(name.starts_with('\''), "{file}: {name:?} not neutralized");
                seen += 1;
            }
        }
        assert!(seen > 0, "{file} has no hostile name to check");
    }
}

#[test]
fn fail_on_maps_findings_to_exit_code_1() {
    let dir = out_dir();
    assert_eq!(
        run(&["run", "--demo", "--out", p(dir.path()), "--fail-on", "high"]).0,
        1
    );
    assert_eq!(
        run(&[
            "run",
            "--demo",
            "--out",
            p(dir.path()),
            "--fail-on",
            "critical"
        ])
        .0,
        0
    );
    let (code, err) = run(&["run", "--demo", "--out", p(dir.path()), "--fail-on", "loud"]);
    assert_eq!(code, 3);
    assert!(
        err.contains("'loud' for '--fail-on") && err.contains("not one of none, info"),
        "{err}"
    );
}

#[test]
fn incomplete_data_exits_2_and_says_what_is_missing() {
    let snap_dir = out_dir();
    let mut snap = entitlement_audit::inputs::demo::builtin();
    snap.manifest.completeness.push(LedgerEntry {
        service: "license-manager".into(),
        operation: "ListReceivedGrantsForOrganization".into(),
        scope: "arn:aws:license-manager::123456789012:license:l-0".into(),
        error_code: "AccessDeniedException".into(),
        message: "not authorized".into(),
        tables: vec![entitlement_audit::snapshot::Table::Grants],
        account_id: None,
    });
    snapshot::write(&snap, snap_dir.path()).unwrap();
    let dir = out_dir();
    let (code, err) = run(&[
        "run",
        "--snapshot",
        p(snap_dir.path()),
        "--out",
        p(dir.path()),
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 2, "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["completeness"]["complete"], false);
    assert_eq!(
        summary["completeness"]["missing"][0]["operation"],
        "ListReceivedGrantsForOrganization"
    );
    let affected: Vec<&str> = summary["completeness"]["affected_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        affected.contains(&"EA001") && affected.contains(&"EA008") && !affected.contains(&"EA009")
    );
    let findings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("findings.json")).unwrap())
            .unwrap();
    let marked = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["data_incomplete"] == true)
        .count();
    assert!(marked > 0);
}

#[test]
fn errors_exit_3_and_name_the_file_or_key() {
    let dir = out_dir();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "window_dayz = 30\n").unwrap();
    let (code, err) = run(&[
        "run",
        "--demo",
        "--out",
        p(dir.path()),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(
        err.contains("bad.toml") && err.contains("window_dayz"),
        "{err}"
    );

    let (code, err) = run(&[
        "run",
        "--snapshot",
        "/nonexistent/snap",
        "--out",
        p(dir.path()),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/snap"), "{err}");
}

/// A usage error exits 3, never 2 (which says "incomplete data" to a scheduled job that
/// tolerates it); help and version still exit 0.
#[test]
fn usage_errors_exit_3_and_help_exits_0() {
    let (code, err) = run(&["run", "--bogus"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--bogus"), "{err}");
    let (code, err) = run(&["frobnicate"]);
    assert_eq!(code, 3, "{err}");
    let (code, err) = run(&["run", "--demo", "--fail-on"]);
    assert_eq!(code, 3, "a flag without its value: {err}");
    for ok in [&["--help"][..], &["--version"], &["run", "--help"]] {
        let out = Bin::new().args(ok).run();
        assert_eq!(out.code, 0, "{ok:?}");
        assert!(!out.stdout.is_empty(), "{ok:?} prints to stdout");
    }
}

#[test]
fn earlier_as_of_shows_the_demo_as_it_was() {
    let now = out_dir();
    let then = out_dir();
    assert_eq!(run(&["run", "--demo", "--out", p(now.path())]).0, 0);
    assert_eq!(
        run(&[
            "run",
            "--demo",
            "--out",
            p(then.path()),
            "--as-of",
            "2026-09-15"
        ])
        .0,
        0
    );
    let summary = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap()
    };
    let (a, b) = (summary(now.path()), summary(then.path()));
    assert_eq!(b["run"]["as_of"], "2026-09-15");
    assert_ne!(a["counts"]["by_rule"], b["counts"]["by_rule"]);
    assert_eq!(
        b["counts"]["by_rule"]["EA004"], 0,
        "the license was not cancelled yet"
    );
}

#[test]
fn rules_and_explain() {
    let text = Bin::new().arg("rules").run().stdout;
    // One line per rule of RULES, in order, each starting with its code and name.
    assert_eq!(text.lines().count(), RULES.len(), "{text}");
    for (line, r) in text.lines().zip(RULES) {
        let start = format!("{}  {}", r.code(), r.name());
        assert!(line.starts_with(&start), "{line:?} for {start:?}");
    }
    assert!(text.contains("EA004  orphaned-grant"));
    let out = Bin::new().args(["explain", "ea005"]).run();
    assert!(out.stdout.contains("## How to fix"));
    assert_eq!(run(&["explain", "EA999"]).0, 3);
}

#[test]
fn iam_policy_is_read_only_json() {
    let out = Bin::new().arg("iam-policy").run();
    assert_eq!(out.code, 0);
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let actions = policy["Statement"][0]["Action"].as_array().unwrap();
    // Exactly the operations the collectors and `doctor` call, each once (Athena's only with
    // `--athena-data`).
    let mut want: Vec<String> = OPERATIONS
        .iter()
        .filter(|op| op.service != entitlement_audit::inputs::collect::permissions::Service::Athena)
        // The member fan-out's: `--member-role NAME` and `--member` (tests/it/members.rs).
        .filter(|op| !entitlement_audit::inputs::collect::permissions::is_member_only(op))
        .map(Op::action)
        .collect();
    want.sort();
    want.dedup();
    let got: Vec<&str> = actions.iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(got, want);
    for a in actions {
        let op = a.as_str().unwrap().split(':').nth(1).unwrap();
        assert!(
            ["List", "Get", "Describe", "Lookup", "Search"]
                .iter()
                .any(|p| op.starts_with(p)),
            "{op} is not a read"
        );
    }
}

#[test]
fn iam_policy_covers_the_s3_locations_it_is_given() {
    let policy = |args: &[&str]| -> (i32, serde_json::Value, String) {
        let out = Bin::new().arg("iam-policy").args(args).run();
        let json = serde_json::from_str(&out.stdout).unwrap_or_default();
        (out.code, json, out.stderr)
    };
    let (code, p, _) = policy(&[
        "--state",
        "s3://audit-bucket/ea/history.sqlite",
        "--publish",
        "s3://reports-bucket/ea/reports/",
    ]);
    assert_eq!(code, 0);
    let statements = p["Statement"].as_array().unwrap();
    let resource = |sid: &str| -> (serde_json::Value, serde_json::Value) {
        let s = statements.iter().find(|s| s["Sid"] == sid).unwrap();
        (s["Action"].clone(), s["Resource"].clone())
    };
    assert_eq!(statements.len(), 4);
    assert_eq!(
        resource("EntitlementAuditHistory"),
        (
            serde_json::json!(["s3:GetObject", "s3:PutObject"]),
            serde_json::json!("arn:aws:s3:::audit-bucket/ea/history.sqlite")
        )
    );
    assert_eq!(
        resource("EntitlementAuditHistoryBucket").1,
        "arn:aws:s3:::audit-bucket"
    );
    assert_eq!(
        resource("EntitlementAuditPublish"),
        (
            serde_json::json!("s3:PutObject"),
            serde_json::json!("arn:aws:s3:::reports-bucket/ea/reports/*")
        )
    );

    // Local locations need no S3 statement; a bucket without a key is no history object.
    let (code, p, _) = policy(&["--state", "state/history.sqlite", "--publish", "out"]);
    assert_eq!((code, p["Statement"].as_array().unwrap().len()), (0, 1));
    let (code, _, err) = policy(&["--state", "s3://audit-bucket"]);
    assert_eq!(code, 3);
    assert!(err.contains("names no object"), "{err}");
}

#[test]
fn iam_policy_adds_athena_glue_and_s3_with_athena_data() {
    let out = Bin::new()
        .args([
            "iam-policy",
            "--athena-data",
            "s3://cid-123456789012-data-exports/cur2/",
        ])
        .args(["--athena-output", "s3://audit-results-123456789012/athena/"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = policy.to_string();
    for a in [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:GetTableMetadata",
        "glue:GetTable",
        "glue:GetDatabase",
        "glue:GetPartitions",
        "s3:GetBucketLocation",
        "arn:aws:s3:::audit-results-123456789012/athena/*",
    ] {
        assert!(text.contains(a), "{a}: {text}");
    }
    let bad = Bin::new()
        .args(["iam-policy", "--athena-data", "/local/dir"])
        .run();
    assert_eq!(bad.code, 3, "{}", bad.stderr);

    let out = Bin::new()
        .args([
            "iam-policy",
            "--cost-export",
            "s3://cid-123456789012-data-exports/cur2/x/cid-cur2",
        ])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    assert!(
        text.contains("arn:aws:s3:::cid-123456789012-data-exports/cur2/x/cid-cur2/*"),
        "{text}"
    );
    assert!(!text.contains("s3:PutObject"), "{text}");
}
