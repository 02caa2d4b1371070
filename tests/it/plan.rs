//! The fix plan, checked by applying it: a small simulator of the License Manager calls it
//! writes (accept-grant, create-grant-version --status ACTIVE, delete-grant) changes the
//! snapshot as AWS would on the as-of day, and the analysis runs again: every finding a step
//! claims to close is gone and no new one appears. The script is quoted safely whatever the
//! names say, and passes shellcheck.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use crate::support::field::{self, DEV, PROD};
use crate::support::fixtures::demo_config;
use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::config::Config;
use entitlement_audit::inputs::demo::{OrgBuilder, ROOT_ID};
use entitlement_audit::model::{
    day_start, EventKind, EventSource, Grant, GrantEvent, GrantRelation, GrantStatus, PrincipalKind,
};
use entitlement_audit::plan::{plan, script, Action, Plan};
use entitlement_audit::snapshot::Snapshot;

/// Applies each step to `snap` at the end of `as_of`, as AWS would.
fn apply(snap: &mut Snapshot, p: &Plan, as_of: NaiveDate) {
    let at = day_start(as_of) + Duration::hours(23);
    let event = |snap: &mut Snapshot, arn: &str, account: Option<&str>, kind: EventKind| {
        snap.grant_events.push(GrantEvent {
            time: at,
            grant_arn: arn.to_string(),
            account_id: account.map(str::to_string),
            kind,
            source: EventSource::Demo,
            actor: None,
            not_before: None,
        })
    };
    for step in &p.steps {
        let grantor = &p.subscriber_account_id;
        // The ARN AWS would give a grant this step creates.
        let arn = format!(
            "arn:aws:license-manager::{grantor}:grant:g-plan{}",
            step.order
        );
        match &step.action {
            Action::CreateGrant {
                license_arn,
                grantee_account_id: account_id,
                grant_name,
                allowed_operations,
            } => {
                // A new ACTIVE account grant, as AWS makes it for the grantor.
                assert!(!allowed_operations.is_empty());
                let mut g = grant(&arn, grant_name, license_arn, allowed_operations);
                g.grantee_principal_arn = format!("arn:aws:iam::{account_id}:root");
                g.grantee_id = account_id.clone();
                g.status = GrantStatus::Active;
                snap.grants.push(g);
                for kind in [
                    EventKind::Created,
                    EventKind::Accepted,
                    EventKind::Activated,
                ] {
                    event(snap, &arn, Some(account_id), kind);
                }
                continue;
            }
            Action::CreateOrgWideGrant {
                license_arn,
                grantee_kind,
                grantee_id,
                principal_arn,
                grant_name,
                allowed_operations,
            } => {
                // As AWS does for an all-features organization: the grant itself completes its
                // workflow, and each account it reaches (but the grantor) gets a sub-grant of
                // its own, accepted and DISABLED (domain doc, "Activate"). UNCONFIRMED: whether
                // AWS also gives one to suspended accounts; the simulator gives none.
                assert!(!allowed_operations.is_empty());
                assert!(
                    !snap.grants.iter().any(|g| !g.is_sub_grant()
                        && g.status.is_live()
                        && &g.license_arn == license_arn
                        && &g.grantee_principal_arn == principal_arn),
                    "step {} duplicates a live grant to {principal_arn}",
                    step.order
                );
                let mut top = grant(&arn, grant_name, license_arn, allowed_operations);
                top.grantee_principal_arn = principal_arn.clone();
                top.grantee_kind = grantee_kind.clone();
                top.grantee_id = grantee_id.clone();
                top.status = GrantStatus::WorkflowCompleted;
                snap.grants.push(top);
                event(snap, &arn, None, EventKind::Created);
                let reached: Vec<String> = snap
                    .accounts
                    .iter()
                    .filter(|a| &a.id != grantor && !a.state.is_inactive())
                    .filter(|a| match grantee_kind {
                        PrincipalKind::Ou => ancestry(snap, &a.parent_id).contains(grantee_id),
                        _ => true,
                    })
                    .map(|a| a.id.clone())
                    .collect();
                for account_id in reached {
                    let sub_arn = format!("{arn}-{account_id}");
                    let mut sub = grant(&sub_arn, grant_name, license_arn, allowed_operations);
                    sub.parent_arn = arn.clone();
                    sub.relation = GrantRelation::SubGrant;
                    sub.grantee_principal_arn = format!("arn:aws:iam::{account_id}:root");
                    sub.grantee_id = account_id.clone();
                    snap.grants.push(sub);
                    for kind in [EventKind::Created, EventKind::Accepted] {
                        event(snap, &sub_arn, Some(&account_id), kind);
                    }
                }
                continue;
            }
            _ => {}
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
            Action::CreateGrant { .. } | Action::CreateOrgWideGrant { .. } => {
                unreachable!("handled above")
            }
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
        let account = (g.grantee_kind == PrincipalKind::Account).then(|| g.grantee_id.clone());
        event(snap, arn, account.as_deref(), kind);
    }
}

/// A DISABLED direct account grant with the given name, license and operations; the caller
/// sets its principal.
fn grant(arn: &str, name: &str, license_arn: &str, operations: &[String]) -> Grant {
    Grant {
        arn: arn.to_string(),
        name: name.to_string(),
        license_arn: license_arn.to_string(),
        parent_arn: license_arn.to_string(),
        grantee_principal_arn: String::new(),
        grantee_kind: PrincipalKind::Account,
        grantee_id: String::new(),
        status: GrantStatus::Disabled,
        status_reason: None,
        version: "1".into(),
        home_region: "us-east-1".into(),
        activation_override: None,
        grant_type: None,
        relation: GrantRelation::Direct,
        granted_operations: operations.to_vec(),
    }
}

/// The OU ids from `parent_id` up to the root, as the snapshot relates them.
fn ancestry(snap: &Snapshot, parent_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(parent_id.to_string());
    while let Some(id) = next.filter(|id| !out.contains(id)) {
        next = snap
            .organizational_units
            .iter()
            .find(|o| o.id == id)
            .and_then(|o| o.parent_id.clone());
        out.push(id);
    }
    out
}

fn ids(a: &Analysis) -> BTreeSet<String> {
    a.findings.iter().map(|f| f.id.clone()).collect()
}

/// Applies the plan of `snap` as of `as_of` and checks what it claims: every finding is in
/// the plan once (a step, an account an OU or organization grant covers, or a decision), the
/// claimed are gone after, none is new; an account a new grant or an activation is for is
/// covered the next day, one an OU or organization grant is for waits for activation then.
/// Returns the plan and the snapshot it was applied to.
fn check_plan(what: &str, mut snap: Snapshot, cfg: &Config, as_of: NaiveDate) -> (Plan, Snapshot) {
    let before = analyze(&snap, cfg, as_of).unwrap();
    let p = plan(&before, &before.subscriber_account_id);
    let planned: BTreeSet<String> = p
        .steps
        .iter()
        .flat_map(|s| {
            std::iter::once(s.finding_id.clone())
                .chain(s.covers.iter().map(|c| c.finding_id.clone()))
        })
        .collect();
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
    let next = analyze(&snap, cfg, as_of + Duration::days(1)).unwrap();
    let last_state = |account_id: &str, license_arn: &str| {
        next.coverage
            .iter()
            .filter(|c| c.account_id == account_id && c.license_arn == license_arn)
            .max_by_key(|c| c.to)
            .unwrap_or_else(|| panic!("{what}: no coverage of {account_id}"))
            .state
            .as_str()
    };
    let license_of = |finding_id: &str| {
        &before
            .findings
            .iter()
            .find(|f| f.id == finding_id)
            .expect("the step's finding")
            .license_arn
    };
    for s in &p.steps {
        match s.effect {
            // A new grant, or an activation, stops further exposure: covered the next day.
            "stops-further-exposure" => {
                let account_id = match &s.action {
                    Action::CreateGrant {
                        grantee_account_id, ..
                    } => grantee_account_id,
                    Action::AcceptGrant { .. } | Action::ActivateGrant { .. } => &s.account_id,
                    _ => panic!("{what}: step {} stops exposure by a deletion", s.order),
                };
                let state = last_state(account_id, license_of(&s.finding_id));
                assert_eq!(state, "covered", "{what}: {account_id}");
            }
            // An OU or organization grant: each account waits for its own grant's activation.
            "needs-activation" => {
                assert!(
                    matches!(s.action, Action::CreateOrgWideGrant { .. }),
                    "{what}"
                );
                assert_eq!(s.covers[0].finding_id, s.finding_id, "{what}");
                for c in &s.covers {
                    let state = last_state(&c.account_id, license_of(&c.finding_id));
                    assert_eq!(state, "awaiting-activation", "{what}: {}", c.account_id);
                }
            }
            effect => assert_eq!(effect, "closes", "{what}: step {}", s.order),
        }
    }
    let still: Vec<&String> = claimed.intersection(&after).collect();
    assert!(
        still.is_empty(),
        "{what}: claimed closed but still there: {still:?}"
    );
    let before = ids(&before);
    let new: Vec<&String> = after.difference(&before).collect();
    assert!(new.is_empty(), "{what}: opened by the plan: {new:?}");
    (p, snap)
}

/// Every field scenario's plan, applied, closes what it claims and opens nothing.
#[test]
fn applying_each_scenarios_plan_closes_what_it_claims_and_opens_nothing() {
    let mut steps = 0;
    for (name, b) in crate::support::field::every_scenario() {
        let snap = crate::support::field::snapshot(b);
        let (p, _) = check_plan(
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
    let (p, _) = check_plan("demo", snap.clone(), &cfg, as_of);
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

const SANDBOX: &str = "ou-ex01-sand0001";
const LAB: &str = "ou-ex01-lab00001";

/// The field organization with a Sandbox OU and a Lab OU inside it: account 5 (Prod) holds
/// the license's one grant, ACTIVE since before the window; accounts 0 and 1 (Prod), 2 (Dev),
/// 3 and 4 (Sandbox) and 6 (Lab) have none. Everyone spends $1 a day.
fn placed_org() -> (OrgBuilder, String) {
    let (mut b, lic) = field::base();
    b.ou(SANDBOX, "Sandbox", ROOT_ID).ou(LAB, "Lab", SANDBOX);
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for (i, ou) in [PROD, PROD, DEV, SANDBOX, SANDBOX, PROD, LAB]
        .iter()
        .enumerate()
    {
        let id = field::member(&mut b, i, ou, joined);
        field::spend_daily(&mut b, &id, 0, 89, 1.0, None);
    }
    let (g, five) = (b.grant_arn("covered"), field::acct(5));
    b.grant_account(&g, &lic, &five, GrantStatus::Active)
        .event(&g, Some(&five), EventKind::Created, field::noon(-10))
        .event(&g, Some(&five), EventKind::Accepted, field::noon(-10))
        .event(&g, Some(&five), EventKind::Activated, field::noon(-10));
    (b, lic)
}

/// Workloads under the organization grant but Prod under its OU grant (the longer prefix
/// wins), Sandbox under the organization grant but Lab by account.
const PLACED: &str = r#"
[[plan.grant_under]]
ou_path_prefix = "/Root/Workloads"
principal = "organization"
[[plan.grant_under]]
ou_path_prefix = "/Root/Workloads/Prod"
principal = "ou"
[[plan.grant_under]]
ou_path_prefix = "/Root/Sandbox/"
principal = "organization"
[[plan.grant_under]]
ou_path_prefix = "/Root/Sandbox/Lab"
principal = "account"
"#;

const PROD_OU_ARN: &str = "arn:aws:organizations::123456789012:ou/o-exampleorg1/ou-ex01-prod0001";
const ORG_ARN: &str = "arn:aws:organizations::123456789012:organization/o-exampleorg1";

/// The OU and organization grants a plan creates: (principal ARN, the accounts it covers,
/// sorted), by ARN.
fn org_wide_creates(p: &Plan) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::CreateOrgWideGrant { principal_arn, .. } => {
                let mut accounts: Vec<String> =
                    s.covers.iter().map(|c| c.account_id.clone()).collect();
                accounts.sort();
                Some((principal_arn.clone(), accounts))
            }
            _ => None,
        })
        .collect();
    out.sort();
    out
}

fn account_creates(p: &Plan) -> BTreeSet<String> {
    p.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::CreateGrant {
                grantee_account_id, ..
            } => Some(grantee_account_id.clone()),
            _ => None,
        })
        .collect()
}

/// The config puts Prod's exposed accounts under an OU grant and the others under the
/// organization's: one create per principal, however many accounts; applied, each account
/// waits for its own grant's activation, which the next run's plan lists; applied too, every
/// account is covered and no finding is new (no EA008 duplicate either).
#[test]
fn ou_and_organization_grants_are_created_once_each_and_cover_after_activation() {
    let (b, lic) = placed_org();
    let cfg = Config::parse(PLACED).unwrap();
    let as_of = field::as_of();
    let snap = field::snapshot(b);
    let first = ids(&analyze(&snap, &cfg, as_of).unwrap());
    let (p, applied) = check_plan("placed", snap, &cfg, as_of);
    let acct = |i: usize| field::acct(i);
    assert_eq!(
        org_wide_creates(&p),
        [
            (ORG_ARN.to_string(), vec![acct(2), acct(3), acct(4)]),
            (PROD_OU_ARN.to_string(), vec![acct(0), acct(1)]),
        ]
    );
    assert_eq!(account_creates(&p), [acct(6)].into_iter().collect());
    for s in p
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::CreateOrgWideGrant { .. }))
    {
        assert_eq!(
            (s.runs_as, s.account_id.as_str()),
            ("subscriber", field::MGMT)
        );
        assert_eq!(s.effect, "needs-activation");
        assert!(
            s.evidence
                .contains("covered only once that grant is activated"),
            "{}",
            s.evidence
        );
        let Action::CreateOrgWideGrant {
            license_arn,
            principal_arn,
            allowed_operations,
            ..
        } = &s.action
        else {
            unreachable!()
        };
        assert_eq!(license_arn, &lic);
        assert!(!allowed_operations.is_empty());
        let at = s.command.iter().position(|a| a == "--principals").unwrap();
        assert_eq!(&s.command[at + 1], principal_arn);
    }
    // The script passes the principal single-quoted, and shellcheck is content.
    let text = script(&p);
    assert!(
        text.contains(&format!("'--principals' '{PROD_OU_ARN}'")),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fix-plan.sh");
    std::fs::write(&path, &text).unwrap();
    shellcheck(&path, "style");

    // The next run: nothing to create, the five accounts' own grants to activate.
    let next_day = as_of + Duration::days(1);
    let (p2, applied2) = check_plan("placed, the next run", applied, &cfg, next_day);
    assert!(org_wide_creates(&p2).is_empty() && account_creates(&p2).is_empty());
    let activated: BTreeSet<String> = p2
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::ActivateGrant { .. }))
        .map(|s| {
            assert_eq!(
                (s.runs_as, s.rule, s.effect),
                ("member", "EA001", "stops-further-exposure")
            );
            s.account_id.clone()
        })
        .collect();
    assert_eq!(activated, (0..5).map(acct).collect());

    let third = analyze(&applied2, &cfg, next_day + Duration::days(1)).unwrap();
    for i in 0..7 {
        let last = third
            .coverage
            .iter()
            .filter(|c| c.account_id == acct(i) && c.license_arn == lic)
            .max_by_key(|c| c.to)
            .unwrap();
        assert_eq!(last.state.as_str(), "covered", "{}", acct(i));
    }
    let new: Vec<String> = ids(&third).difference(&first).cloned().collect();
    assert!(new.is_empty(), "opened by the two plans: {new:?}");
    assert!(!third.findings.iter().any(|f| f.rule == "EA008"));
}

/// A rule the snapshot cannot honour still stops the exposure: an account grant, and the
/// step's evidence says why (an OU grant to the root, an OU the snapshot does not hold, an
/// organization whose id was not collected).
#[test]
fn a_grant_under_what_the_snapshot_cannot_name_falls_back_to_an_account_grant() {
    let cfg = Config::parse(
        r#"
        [[plan.grant_under]]
        ou_path_prefix = "/Root"
        principal = "ou"
        [[plan.grant_under]]
        ou_path_prefix = "/Root/Workloads/Prod"
        principal = "ou"
        "#,
    )
    .unwrap();
    let (b, _) = placed_org();
    let mut snap = field::snapshot(b);
    // The OUs table lacks Prod (as when it could not be read): its accounts keep their path.
    snap.organizational_units.retain(|o| o.id != PROD);
    let (p, _) = check_plan("fallback", snap, &cfg, field::as_of());
    assert!(org_wide_creates(&p).is_empty());
    let all: BTreeSet<String> = [0, 1, 2, 3, 4, 6].map(field::acct).into_iter().collect();
    assert_eq!(account_creates(&p), all);
    let evidence = |i: usize| {
        let s = p
            .steps
            .iter()
            .find(|s| s.finding_id == finding_of(&p, &field::acct(i)))
            .unwrap();
        assert_eq!(s.effect, "stops-further-exposure");
        s.evidence.clone()
    };
    for i in [0, 1] {
        assert!(
            evidence(i).contains("an account grant, because `plan.grant_under` puts `/Root/Workloads/Prod` under its OU grant, but no OU of the account's ancestry in the snapshot has that path"),
            "{}",
            evidence(i)
        );
    }
    for i in [2, 3, 6] {
        assert!(
            evidence(i).contains("the organization's root, not an OU"),
            "{}",
            evidence(i)
        );
    }

    // The organization's id was not collected: no organization or OU ARN can be built.
    let (b, _) = placed_org();
    let mut snap = field::snapshot(b);
    snap.organization.id.clear();
    let cfg = Config::parse(PLACED).unwrap();
    let a = analyze(&snap, &cfg, field::as_of()).unwrap();
    let p = plan(&a, &a.subscriber_account_id);
    assert!(org_wide_creates(&p).is_empty());
    assert_eq!(account_creates(&p), all);
    let s = p
        .steps
        .iter()
        .find(|s| s.finding_id == finding_of(&p, &field::acct(0)))
        .unwrap();
    assert!(
        s.evidence.contains("lacks the organization's id"),
        "{}",
        s.evidence
    );
}

/// The EA001 finding id of the step for `account`.
fn finding_of(p: &Plan, account: &str) -> String {
    p.steps
        .iter()
        .find(|s| match &s.action {
            Action::CreateGrant {
                grantee_account_id, ..
            } => grantee_account_id == account,
            _ => false,
        })
        .map(|s| s.finding_id.clone())
        .unwrap_or_else(|| panic!("no account grant for {account}"))
}

/// A live grant of the license to the OU the config names already exists (its workflow done,
/// no account holds a grant of it): the plan does not create a second one (EA008), it asks a
/// person; the organization grant for the other accounts is still created.
#[test]
fn an_existing_ou_grant_is_not_created_again() {
    let (mut b, lic) = placed_org();
    let ou_grant = b.grant_arn("prod-ou");
    b.grant_ou(&ou_grant, &lic, PROD, GrantStatus::WorkflowCompleted);
    let cfg = Config::parse(PLACED).unwrap();
    let (p, _) = check_plan(
        "existing OU grant",
        field::snapshot(b),
        &cfg,
        field::as_of(),
    );
    assert_eq!(
        org_wide_creates(&p),
        [(ORG_ARN.to_string(), (2..5).map(field::acct).collect())]
    );
    for i in [0, 1] {
        let d = p
            .decisions
            .iter()
            .find(|d| d.rule == "EA001" && d.account_id == field::acct(i))
            .unwrap_or_else(|| panic!("no decision for {}", field::acct(i)));
        assert!(
            d.decide.contains(&ou_grant) && d.decide.contains("(EA008)"),
            "{}",
            d.decide
        );
    }
}
