//! The fix plan, checked by applying it: a small simulator of the License Manager calls it
//! writes (accept-grant, create-grant-version --status ACTIVE, delete-grant) changes the
//! snapshot as AWS would on the as-of day, and the analysis runs again: every finding a step
//! claims to close is gone and no new one appears. The script is quoted safely whatever the
//! names say, and passes shellcheck.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use crate::support::fixtures::demo_config;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::model::{day_start, EventKind, EventSource, GrantEvent, GrantStatus};
use entitlement_audit::plan::{plan, script, Action, Plan};
use entitlement_audit::snapshot::Snapshot;

/// Applies each step to `snap` at the end of `as_of`, as AWS would.
fn apply(snap: &mut Snapshot, p: &Plan, as_of: NaiveDate) {
    let at = day_start(as_of) + Duration::hours(23);
    for step in &p.steps {
        if let Action::CreateGrant {
            license_arn,
            grantee_account_id: account_id,
            grant_name,
            allowed_operations,
        } = &step.action
        {
            // A new ACTIVE account grant, as AWS makes it for the grantor.
            let arn = format!(
                "arn:aws:license-manager::{}:grant:g-plan{}",
                p.subscriber_account_id, step.order
            );
            assert!(!allowed_operations.is_empty());
            snap.grants.push(entitlement_audit::model::Grant {
                arn: arn.clone(),
                name: grant_name.clone(),
                license_arn: license_arn.clone(),
                parent_arn: license_arn.clone(),
                grantee_principal_arn: format!("arn:aws:iam::{account_id}:root"),
                grantee_kind: entitlement_audit::model::PrincipalKind::Account,
                grantee_id: account_id.clone(),
                status: GrantStatus::Active,
                status_reason: None,
                version: "1".into(),
                home_region: "us-east-1".into(),
                activation_override: None,
                grant_type: None,
                relation: entitlement_audit::model::GrantRelation::Direct,
                granted_operations: allowed_operations.clone(),
            });
            for kind in [
                EventKind::Created,
                EventKind::Accepted,
                EventKind::Activated,
            ] {
                snap.grant_events.push(GrantEvent {
                    time: at,
                    grant_arn: arn.clone(),
                    account_id: Some(account_id.clone()),
                    kind,
                    source: EventSource::Demo,
                    actor: None,
                    not_before: None,
                });
            }
            continue;
        }
        let (arn, status, kind) = match &step.action {
            Action::AcceptGrant { grant_arn } => {
                (grant_arn, GrantStatus::Disabled, EventKind::Accepted)
            }
            Action::ActivateGrant { grant_arn, .. } => {
                (grant_arn, GrantStatus::Active, EventKind::Activated)
            }
            Action::DeleteGrant { grant_arn, .. } => {
                (grant_arn, GrantStatus::Deleted, EventKind::Deleted)
            }
            Action::CreateGrant { .. } => unreachable!("handled above"),
        };
        let g = snap
            .grants
            .iter_mut()
            .find(|g| &g.arn == arn)
            .unwrap_or_else(|| panic!("step {} names no grant of the snapshot: {arn}", step.order));
        if let Action::ActivateGrant { source_version, .. } = &step.action {
            assert_eq!(&g.version, source_version, "step {}", step.order);
            g.version = (g.version.parse::<u64>().unwrap() + 1).to_string();
        }
        if kind == EventKind::Activated {
            assert!(
                matches!(g.status, GrantStatus::Disabled),
                "step {}: activating a grant that is {} (accept it first)",
                step.order,
                g.status
            );
        }
        g.status = status;
        let account = (g.grantee_kind == entitlement_audit::model::PrincipalKind::Account)
            .then(|| g.grantee_id.clone());
        snap.grant_events.push(GrantEvent {
            time: at,
            grant_arn: arn.clone(),
            account_id: account,
            kind,
            source: EventSource::Demo,
            actor: None,
            not_before: None,
        });
    }
}

fn ids(a: &Analysis) -> BTreeSet<String> {
    a.findings.iter().map(|f| f.id.clone()).collect()
}

/// Applies the plan of `snap` as of `as_of` and checks what it claims: every finding is in
/// the plan once (a step or a decision), the claimed are gone after, none is new. Returns the
/// plan.
fn check_plan(what: &str, mut snap: Snapshot, cfg: &Config, as_of: NaiveDate) -> Plan {
    let before = analyze(&snap, cfg, as_of).unwrap();
    let p = plan(&before, &before.subscriber_account_id);
    let planned: BTreeSet<String> = p.steps.iter().map(|s| s.finding_id.clone()).collect();
    let claimed: BTreeSet<String> = p
        .steps
        .iter()
        .filter(|s| s.effect == "closes")
        .map(|s| s.finding_id.clone())
        .collect();
    let decided: BTreeSet<String> = p.decisions.iter().map(|d| d.finding_id.clone()).collect();
    assert_eq!(
        &planned | &decided,
        ids(&before),
        "{what}: every finding is in the plan"
    );
    assert!(planned.is_disjoint(&decided), "{what}");
    apply(&mut snap, &p, as_of);
    let after = ids(&analyze(&snap, cfg, as_of).unwrap());
    // A new grant stops further exposure: the account is covered the next day.
    let next = analyze(&snap, cfg, as_of + Duration::days(1)).unwrap();
    for s in p
        .steps
        .iter()
        .filter(|s| s.effect == "stops-further-exposure")
    {
        let Action::CreateGrant {
            license_arn,
            grantee_account_id: account_id,
            ..
        } = &s.action
        else {
            panic!(
                "{what}: step {} stops exposure without a new grant",
                s.order
            );
        };
        let last = next
            .coverage
            .iter()
            .filter(|c| &c.account_id == account_id && &c.license_arn == license_arn)
            .max_by_key(|c| c.to)
            .unwrap_or_else(|| panic!("{what}: no coverage of {account_id}"));
        assert_eq!(last.state.as_str(), "covered", "{what}: {account_id}");
    }
    let still: Vec<&String> = claimed.intersection(&after).collect();
    assert!(
        still.is_empty(),
        "{what}: claimed closed but still there: {still:?}"
    );
    let before = ids(&before);
    let new: Vec<&String> = after.difference(&before).collect();
    assert!(new.is_empty(), "{what}: opened by the plan: {new:?}");
    p
}

/// Every field scenario's plan, applied, closes what it claims and opens nothing.
#[test]
fn applying_each_scenarios_plan_closes_what_it_claims_and_opens_nothing() {
    let mut steps = 0;
    for (name, b) in crate::support::field::every_scenario() {
        let snap = crate::support::field::snapshot(b);
        let p = check_plan(
            name,
            snap,
            &Config::default(),
            crate::support::field::as_of(),
        );
        steps += p.steps.len();
    }
    assert!(steps > 0, "the scenarios' plans hold some step");
}

#[test]
fn applying_the_demo_plan_closes_what_it_claims_and_opens_nothing() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let cfg = demo_config();
    let as_of = snap.manifest.period_end;
    let before = analyze(&snap, &cfg, as_of).unwrap();
    let p = check_plan("demo", snap.clone(), &cfg, as_of);
    let rules: BTreeSet<&str> = p.steps.iter().map(|s| s.rule).collect();
    assert_eq!(
        rules,
        ["EA001", "EA002", "EA004", "EA007", "EA008"]
            .into_iter()
            .collect()
    );
    // Accept comes before activate in the member account that holds a PENDING_ACCEPT grant.
    let accept = p
        .steps
        .iter()
        .find(|s| matches!(s.action, Action::AcceptGrant { .. }))
        .expect("the demo has a grant pending acceptance");
    let next = &p.steps[accept.order];
    assert!(matches!(next.action, Action::ActivateGrant { .. }));
    assert_eq!(next.account_id, accept.account_id);
    assert_eq!(p.steps[0].account_id, before.subscriber_account_id);
}

#[test]
fn the_plan_script_is_quoted_safely_and_passes_shellcheck() {
    let mut snap = entitlement_audit::inputs::demo::builtin();
    // A hostile grant name and finding text: they may only ever land in comments or quotes.
    for g in snap.grants.iter_mut() {
        g.name = "x'; rm -rf / #\n$(touch /tmp/pwned)".into();
    }
    let cfg = demo_config();
    let a = analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
    let mut p = plan(&a, &a.subscriber_account_id);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.sh");
    std::fs::write(&plain, script(&p)).unwrap();
    shellcheck(&plain, "style");
    p.steps[0].command.push("it's $(x) `y`".into());
    let text = script(&p);
    assert!(text.starts_with("#!/usr/bin/env bash\n"));
    assert!(text.contains("set -euo pipefail"));
    for line in text.lines() {
        let t = line.trim_start();
        assert!(
            !t.contains("rm -rf /") || t.starts_with('#'),
            "a name escaped its comment: {line}"
        );
    }
    let path = dir.path().join("fix-plan.sh");
    std::fs::write(&path, &text).unwrap();
    // Dry run: prints every command, runs none (no `aws` is needed), exit 0.
    let out = std::process::Command::new("bash")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("dry run"));
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("+ aws")).count(),
        p.steps.len()
    );
    assert!(stdout.contains(r"it\'s\ \$\(x\)\ \`y\`"), "{stdout}");
    assert!(!std::path::Path::new("/tmp/pwned").exists());
    // Anything but --execute is refused.
    let out = std::process::Command::new("bash")
        .arg(&path)
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    // The hostile argument is meant literally (shellcheck's info SC2016 says as much).
    shellcheck(&path, "warning");
}

/// shellcheck at `severity` and above finds nothing in `path`. .ci/run installs shellcheck;
/// without it the check cannot run here, and says so.
fn shellcheck(path: &std::path::Path, severity: &str) {
    match std::process::Command::new("shellcheck")
        .arg(format!("--severity={severity}"))
        .arg(path)
        .output()
    {
        Ok(sc) => assert!(
            sc.status.success(),
            "{}",
            String::from_utf8_lossy(&sc.stdout)
        ),
        Err(_) => eprintln!("shellcheck not installed: {} not checked", path.display()),
    }
}

/// `run --demo` writes the plan beside the reports, and report.html and summary.md give its
/// size per account with a link to it, the figures being fix-plan.json's.
#[test]
fn the_reports_show_the_plan_size_per_account() {
    let out = tempfile::tempdir().unwrap();
    let o = crate::support::cli::Bin::new()
        .args(["run", "--demo", "--no-history", "--out"])
        .arg(out.path())
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(out.path().join("fix-plan.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    let subscriber = doc["subscriber_account_id"].as_str().unwrap();
    let own = steps
        .iter()
        .filter(|s| s["account_id"] == subscriber)
        .count();
    assert!(own > 0);
    let md = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    let line = format!(
        "{} command(s) in fix-plan.sh: {own} in {subscriber} (subscriber)",
        steps.len()
    );
    assert!(md.contains(&line), "{md}");
    let decisions = doc["decisions"].as_array().unwrap().len();
    assert!(md.contains(&format!("{decisions} finding(s) need a person's decision")));
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains(r#"<section id="plan">"#));
    assert!(html.contains(r#"<a href="fix-plan.sh">"#));
    assert!(html.contains(&format!(
        r#"<tr><td class="id">{subscriber}</td><td>subscriber</td><td class="num">{own}</td></tr>"#
    )));
}

/// `plan --demo` writes the plan alone, the same as `run --demo` writes beside its reports.
#[test]
fn the_plan_command_writes_the_runs_plan() {
    let (plan_out, run_out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bin = |args: &[&str], out: &std::path::Path| {
        let o = crate::support::cli::Bin::new()
            .args(args)
            .arg("--out")
            .arg(out)
            .run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.stderr
    };
    let said = bin(&["plan", "--demo"], plan_out.path());
    bin(&["run", "--demo", "--no-history"], run_out.path());
    let mut names: Vec<String> = std::fs::read_dir(plan_out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fix-plan.json", "fix-plan.sh"]);
    for f in ["fix-plan.json", "fix-plan.sh"] {
        let read = |d: &std::path::Path| std::fs::read_to_string(d.join(f)).unwrap();
        assert!(read(plan_out.path()) == read(run_out.path()), "{f} differs");
    }
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(plan_out.path().join("fix-plan.json")).unwrap(),
    )
    .unwrap();
    let steps = doc["steps"].as_array().unwrap().len();
    assert!(said.contains(&format!("{steps} command(s)")), "{said}");
}
