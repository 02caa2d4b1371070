//! The collector against a fake AWS endpoint, with the real SDK clients: pagination, empty
//! pages, throttling, server errors, access denied, unknown enum values, the Cost Explorer
//! request cap, read-only calls, and `doctor`.

use crate::support;

use std::collections::BTreeSet;

use entitlement_audit::inputs::collect::permissions::{self, READ_PREFIXES};
use entitlement_audit::inputs::collect::{
    collect_with, doctor_with, CheckStatus, CollectOptions, NoProgress,
};
use entitlement_audit::model::usage::rows;
use entitlement_audit::model::{
    AccountState, EventKind, GrantRelation, GrantStatus, PrincipalKind,
};
use entitlement_audit::snapshot::{LedgerEntry, Snapshot};
use serde_json::json;
use support::fake_aws::{FakeAws, Faults, Scenario};
use support::*;

async fn run(
    fake: &FakeAws,
    opts: &entitlement_audit::inputs::collect::CollectOptions,
) -> Snapshot {
    let clients = clients(fake, opts).await;
    collect_with(&clients, opts, now(), &NoProgress).await
}

/// Every operation the fake saw is in the permissions list and is a read; none was answered
/// twice with success for the same request (no page fetched twice).
fn assert_read_only_and_no_page_twice(fake: &FakeAws, doctor: bool) {
    let calls = fake.calls();
    assert!(!calls.is_empty());
    for c in &calls {
        let op = permissions::find(c.service(), &c.op)
            .unwrap_or_else(|| panic!("`{}.{}` is not in the permissions list", c.prefix, c.op));
        assert!(
            doctor || !op.doctor_only,
            "collect called doctor-only `{}`",
            c.op
        );
        assert!(
            READ_PREFIXES.iter().any(|p| c.op.starts_with(p)),
            "`{}`",
            c.op
        );
    }
    let mut seen = BTreeSet::new();
    for c in calls.iter().filter(|c| c.status == 200) {
        assert!(
            seen.insert((c.op.clone(), c.body.to_string())),
            "page fetched twice: {} {}",
            c.op,
            c.body
        );
    }
}

fn total_cost(s: &Snapshot) -> f64 {
    rows(&s.usage).unwrap().iter().map(|r| r.cost_usd).sum()
}

fn assert_complete_data(s: &Snapshot) {
    assert_eq!(s.organizational_units.len(), 5);
    assert_eq!(s.accounts.len(), 5);
    assert_eq!(s.licenses.len(), 3);
    assert_eq!(s.grants.len(), 8);
    assert_eq!(s.grant_events.len(), 6);
    assert!((total_cost(s) - MARKETPLACE_TOTAL).abs() < 1e-9);
}

#[tokio::test]
async fn collects_everything_across_one_item_pages_and_empty_pages() {
    let fake = start(Faults {
        page_size: Some(1),
        empty_pages: true,
        ..Faults::default()
    })
    .await;
    let mut opts = options();
    opts.page_size = Some(1);
    let s = run(&fake, &opts).await;

    assert_eq!(s.manifest.completeness, Vec::<LedgerEntry>::new());
    assert_complete_data(&s);

    // Organization and tree.
    assert_eq!(s.organization.id, ORG_ID);
    assert_eq!(s.organization.management_account_id, MGMT);
    assert_eq!(s.organization.subscriber_account_id, MGMT);
    let paths: Vec<&str> = s
        .organizational_units
        .iter()
        .map(|o| o.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/Root",
            "/Root/Sandbox",
            "/Root/Workloads",
            "/Root/Workloads/Dev",
            "/Root/Workloads/Prod"
        ]
    );
    let prod_ou = s
        .organizational_units
        .iter()
        .find(|o| o.id == OU_PROD)
        .unwrap();
    assert_eq!(prod_ou.parent_id.as_deref(), Some(OU_WORKLOADS));
    let acct = |id: &str| s.accounts.iter().find(|a| a.id == id).unwrap();
    assert_eq!(acct(PROD).ou_path, "/Root/Workloads/Prod");
    assert_eq!(acct(PROD).parent_id, OU_PROD);
    assert_eq!(acct(PROD).tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(acct(PROD).tags.len(), 2);
    assert_eq!(acct(MGMT).ou_path, "/Root");
    assert!(acct(MGMT).joined_at.is_some());
    assert_eq!(
        acct(LEGACY).state,
        AccountState::Suspended,
        "retired `Status` read"
    );
    assert_eq!(
        acct(SANDBOX).state,
        AccountState::Other("QUARANTINED".into())
    );

    // Licenses: the other issuer is filtered out of both listings.
    let lic = |arn: &str| s.licenses.iter().find(|l| l.arn == arn).unwrap();
    assert!(s.licenses.iter().all(|l| l.issuer == "AWS/Marketplace"));
    assert_eq!(lic(L_CLAUDE).created_at.unwrap().timestamp(), 1_767_225_600);
    assert_eq!(
        lic(L_COHERE).created_at.unwrap().to_rfc3339(),
        "2026-02-01T00:00:00+00:00"
    );
    assert!(lic(L_COHERE).validity_end.is_some());
    assert_eq!(lic(L_MEMBER).beneficiary, DEV);

    // Grants: distributed, sub-grants, and the parent read through GetGrant.
    let g = |id: &str| s.grants.iter().find(|g| g.arn == grant_arn(id)).unwrap();
    assert_eq!(g("sub-a").parent_arn, grant_arn("org1"));
    assert_eq!(g("sub-a").grantee_kind, PrincipalKind::Account);
    assert_eq!(g("sub-a").grantee_id, PROD);
    assert!(g("sub-a").is_sub_grant());
    assert_eq!(g("sub-b").status, GrantStatus::Disabled);
    assert_eq!(g("org1").grantee_kind, PrincipalKind::Organization);
    assert_eq!(g("ou2").grantee_id, OU_PROD);
    assert_eq!(g("other5").grantee_id, OU_SANDBOX);
    assert_eq!(
        g("paused4").status,
        GrantStatus::Other("PAUSED_BY_SELLER".into())
    );
    assert_eq!(fake.ok_calls("GetGrant"), 1);
    // By relation: sub-c's parent, read with GetGrant, is an OU grant.
    assert_eq!(g("sub-c").relation, GrantRelation::SubGrant);
    assert_eq!(g("acct3").relation, GrantRelation::Direct);
    assert_eq!(g("org1").relation, GrantRelation::Direct);

    // Usage: the SERVICE query's total, team from the tag query.
    let usage = rows(&s.usage).unwrap();
    let prod: Vec<_> = usage.iter().filter(|r| r.account_id == PROD).collect();
    assert_eq!(prod.len(), 3);
    assert!(prod
        .iter()
        .all(|r| r.team_tag.as_deref() == Some("ml") && r.cost_usd == 10.25));
    assert!(prod.iter().all(|r| r.product == CLAUDE));
    let sandbox: Vec<_> = usage.iter().filter(|r| r.account_id == SANDBOX).collect();
    assert_eq!(sandbox.len(), 1);
    assert_eq!(sandbox[0].team_tag, None);
    assert_eq!(
        sandbox[0].public_cost_usd, None,
        "absent PublicOnDemandCost tolerated"
    );
    let dev_search: f64 = usage
        .iter()
        .filter(|r| r.account_id == DEV && r.team_tag.as_deref() == Some("search"))
        .map(|r| r.cost_usd)
        .sum();
    assert!((dev_search - 7.0).abs() < 1e-9, "{dev_search}");

    // Grant events: failed call and out-of-window event skipped, unreadable JSON survived.
    let ev = |kind: EventKind| s.grant_events.iter().find(|e| e.kind == kind).unwrap();
    assert_eq!(ev(EventKind::Created).account_id.as_deref(), Some(SANDBOX));
    assert_eq!(ev(EventKind::Activated).grant_arn, grant_arn("ou2"));
    assert_eq!(ev(EventKind::Accepted).account_id.as_deref(), Some(PROD));
    assert_eq!(ev(EventKind::Deleted).grant_arn, grant_arn("gone9"));
    assert!(s.grant_events.iter().all(|e| e.kind != EventKind::Rejected));

    // Unknown values kept and flagged.
    let unknown: Vec<(&str, &str, &str, u64)> = s
        .manifest
        .unknown_values
        .iter()
        .map(|u| {
            (
                u.table.as_str(),
                u.column.as_str(),
                u.value.as_str(),
                u.rows,
            )
        })
        .collect();
    assert_eq!(
        unknown,
        [
            ("accounts", "state", "QUARANTINED", 1),
            ("grant_events", "kind", "PAUSED", 1),
            ("grants", "status", "PAUSED_BY_SELLER", 1),
        ]
    );

    // Manifest.
    assert_eq!(s.manifest.source, "aws");
    assert_eq!(s.manifest.period_start, opts.period_start);
    assert_eq!(s.manifest.period_end, opts.period_end);
    assert_eq!(s.manifest.tables["grants"].rows, 8);
    assert!(s.manifest.tables["grants"]
        .source
        .contains("license-manager:ListReceivedGrantsForOrganization"));
    assert_eq!(s.manifest.tables["usage"].source, "ce:GetCostAndUsage");
    let ce_calls = fake.ok_calls("GetCostAndUsage") + fake.failed_calls("GetCostAndUsage");
    assert_eq!(s.manifest.cost_explorer_requests, ce_calls as u64);

    // Page size 1 was asked for everywhere the API takes one.
    for c in fake.calls() {
        if let Some(m) = c.body.get("MaxResults") {
            assert_eq!(m, &json!(1), "{}", c.op);
        }
    }
    assert_read_only_and_no_page_twice(&fake, false);
}

#[tokio::test]
async fn throttling_bursts_and_server_errors_are_retried() {
    let mut faults = Faults::default();
    for (op, n) in [
        ("ListDistributedGrants", 2),
        ("ListReceivedGrantsForOrganization", 2),
        ("ListReceivedLicenses", 1),
        ("ListAccountsForParent", 2),
        ("ListTagsForResource", 2),
        ("GetCostAndUsage", 1),
        ("LookupEvents", 1),
    ] {
        faults.throttle.insert(op.to_string(), n);
    }
    faults.server_errors.insert("ListRoots".into(), (500, 1));
    faults
        .server_errors
        .insert("DescribeOrganization".into(), (503, 2));
    faults
        .server_errors
        .insert("ListReceivedLicensesForOrganization".into(), (503, 1));
    let fake = start(faults).await;
    let s = run(&fake, &options()).await;

    assert_eq!(s.manifest.completeness, Vec::<LedgerEntry>::new());
    assert_complete_data(&s);
    for (op, failed) in [
        ("ListDistributedGrants", 2),
        ("ListReceivedGrantsForOrganization", 2),
        ("ListReceivedLicenses", 1),
        ("ListAccountsForParent", 2),
        ("ListTagsForResource", 2),
        ("GetCostAndUsage", 1),
        ("LookupEvents", 1),
        ("ListRoots", 1),
        ("DescribeOrganization", 2),
        ("ListReceivedLicensesForOrganization", 1),
    ] {
        assert_eq!(fake.failed_calls(op), failed, "{op}");
        assert!(fake.ok_calls(op) > 0, "{op} succeeded after retrying");
    }
    // A retried Cost Explorer request is a request: it is counted.
    assert_eq!(s.manifest.cost_explorer_requests, 3);
    assert_read_only_and_no_page_twice(&fake, false);
}

#[tokio::test]
async fn throttled_past_retries_is_recorded_and_the_run_goes_on() {
    let fake = start(Faults {
        throttle_always: vec![("ListReceivedGrantsForOrganization".into(), L_COHERE.into())],
        ..Faults::default()
    })
    .await;
    let mut opts = options();
    opts.retry.adaptive = true;
    let s = run(&fake, &opts).await;

    assert_eq!(
        s.manifest.completeness,
        [LedgerEntry {
            service: "license-manager".into(),
            operation: "ListReceivedGrantsForOrganization".into(),
            scope: L_COHERE.into(),
            error_code: "RateLimitExceededException".into(),
            message: "Rate exceeded".into(),
            tables: vec![entitlement_audit::snapshot::Table::Grants],
            account_id: None,
        }]
    );
    assert_eq!(
        fake.failed_calls("ListReceivedGrantsForOrganization"),
        opts.retry.max_attempts as usize,
        "License Manager's own throttling error is retried"
    );
    assert!(!s.is_complete());
    assert_eq!(
        s.incomplete_tables(),
        [entitlement_audit::snapshot::Table::Grants]
    );
    // Everything else was still read, Claude's sub-grants included.
    assert_complete_data(&s);
}

#[tokio::test]
async fn access_denied_on_cost_explorer_is_recorded_and_the_run_goes_on() {
    let mut faults = Faults::default();
    faults.deny.insert("GetCostAndUsage".into());
    let fake = start(faults).await;
    let s = run(&fake, &options()).await;

    assert_eq!(s.manifest.completeness.len(), 1);
    let e = &s.manifest.completeness[0];
    assert_eq!(e.service, "cost-explorer");
    assert_eq!(e.operation, "GetCostAndUsage");
    assert_eq!(e.scope, "2026-10-01..2026-10-03 by LINKED_ACCOUNT,SERVICE");
    assert_eq!(e.error_code, "AccessDeniedException");
    assert_eq!(e.tables, [entitlement_audit::snapshot::Table::Usage]);
    // Not retried, and the team query is not sent without product rows.
    assert_eq!(fake.failed_calls("GetCostAndUsage"), 1);
    assert_eq!(s.manifest.cost_explorer_requests, 1);
    assert_eq!(s.usage.height(), 0);
    assert_eq!(s.grants.len(), 8);
    assert_eq!(s.accounts.len(), 5);
    assert_eq!(s.grant_events.len(), 6);
}

/// A parent that must be read and cannot be leaves exactly the grants under it undecided:
/// the ledger names it without marking the grants table incomplete, and only the findings
/// about those grants' accounts and licenses are marked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_parent_marks_only_the_grants_under_it() {
    let mut faults = Faults::default();
    faults.deny.insert("GetGrant".into());
    let fake = start(faults).await;
    let s = run(&fake, &options()).await;

    assert_eq!(fake.failed_calls("GetGrant"), 1);
    assert_eq!(s.manifest.completeness.len(), 1);
    let e = &s.manifest.completeness[0];
    assert_eq!(
        (
            e.operation.as_str(),
            e.scope.as_str(),
            e.error_code.as_str()
        ),
        (
            "GetGrant",
            grant_arn("other5").as_str(),
            "AccessDeniedException"
        )
    );
    assert!(e.tables.is_empty(), "{e:?}");
    assert!(s.incomplete_tables().is_empty());
    assert!(!s.is_complete(), "a gap all the same: exit 2");
    let g = |id: &str| s.grants.iter().find(|g| g.arn == grant_arn(id)).unwrap();
    assert_eq!(g("sub-c").relation, GrantRelation::ParentUnread);
    assert_eq!(g("sub-a").relation, GrantRelation::SubGrant);
    assert!(s.grants.iter().all(|g| g.arn != grant_arn("other5")));

    let cfg = entitlement_audit::config::Config::default();
    let a = entitlement_audit::analyze::analyze(&s, &cfg, options().period_end).unwrap();
    assert!(a.completeness.affected_rules.is_empty());
    let marked: BTreeSet<(&str, &str)> = a
        .findings
        .iter()
        .filter(|f| f.data_incomplete)
        .map(|f| (f.account_id.as_str(), f.license_arn.as_str()))
        .collect();
    assert_eq!(marked, BTreeSet::from([(SANDBOX, L_CLAUDE)]));
    assert!(
        a.findings.iter().any(|f| !f.data_incomplete),
        "the rest of the audit stands"
    );
}

/// A parent read with GetGrant that targets an account (not an organization or OU) makes no
/// sub-grant: the grant is direct, and the parent is not added to the organization's grants.
#[tokio::test]
async fn a_parent_that_is_an_account_grant_makes_no_sub_grant() {
    let mut scenario = scenario();
    scenario.other_grants[0]["GranteePrincipalArn"] = json!(format!("arn:aws:iam::{DEV}:root"));
    let fake = FakeAws::start(scenario, Faults::default()).await;
    let s = run(&fake, &options()).await;
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    let sub_c = s
        .grants
        .iter()
        .find(|g| g.arn == grant_arn("sub-c"))
        .unwrap();
    assert_eq!(sub_c.relation, GrantRelation::Direct);
    assert!(s.grants.iter().all(|g| g.arn != grant_arn("other5")));
}

#[tokio::test]
async fn access_denied_on_account_tags_names_each_account() {
    let mut faults = Faults::default();
    faults.deny.insert("ListTagsForResource".into());
    let fake = start(faults).await;
    let s = run(&fake, &options()).await;

    let scopes: BTreeSet<&str> = s
        .manifest
        .completeness
        .iter()
        .map(|e| e.scope.as_str())
        .collect();
    // Only the accounts with spend need a team: only their tags were asked for.
    assert_eq!(scopes, BTreeSet::from([PROD, DEV, SANDBOX]));
    for e in &s.manifest.completeness {
        assert_eq!(
            (
                e.service.as_str(),
                e.operation.as_str(),
                e.error_code.as_str()
            ),
            (
                "organizations",
                "ListTagsForResource",
                "AccessDeniedException"
            )
        );
        assert_eq!(e.tables, [entitlement_audit::snapshot::Table::Accounts]);
    }
    // The accounts are there, without tags; the rest is complete.
    assert!(s.accounts.iter().all(|a| a.tags.is_empty()));
    assert_complete_data(&s);
}

#[tokio::test]
async fn cost_explorer_cap_stops_paging_and_is_recorded() {
    let fake = start(Faults {
        page_size: Some(1),
        ..Faults::default()
    })
    .await;
    let mut opts = options();
    opts.max_cost_explorer_requests = 2;
    let s = run(&fake, &opts).await;

    // Three daily pages were needed; two were allowed.
    assert_eq!(fake.ok_calls("GetCostAndUsage"), 2);
    assert_eq!(fake.failed_calls("GetCostAndUsage"), 0);
    assert_eq!(s.manifest.cost_explorer_requests, 2);
    assert_eq!(s.manifest.completeness.len(), 1);
    let e = &s.manifest.completeness[0];
    assert_eq!(
        (
            e.service.as_str(),
            e.operation.as_str(),
            e.error_code.as_str()
        ),
        ("cost-explorer", "GetCostAndUsage", "RequestCapReached")
    );
    assert_eq!(e.tables, [entitlement_audit::snapshot::Table::Usage]);
    // What was read is kept: the first two days.
    let days: BTreeSet<_> = rows(&s.usage).unwrap().iter().map(|r| r.date).collect();
    assert_eq!(days.len(), 2);
    assert_read_only_and_no_page_twice(&fake, false);
}

#[tokio::test]
async fn cost_explorer_cap_counts_retries() {
    let mut faults = Faults {
        page_size: Some(1),
        ..Faults::default()
    };
    faults.throttle.insert("GetCostAndUsage".into(), 2);
    let fake = start(faults).await;
    let mut opts = options();
    opts.max_cost_explorer_requests = 3;
    let s = run(&fake, &opts).await;

    // Two throttled attempts and one success use the budget of three; the second page is
    // refused before it is sent.
    assert_eq!(fake.failed_calls("GetCostAndUsage"), 2);
    assert_eq!(fake.ok_calls("GetCostAndUsage"), 1);
    assert_eq!(s.manifest.cost_explorer_requests, 3);
    let codes: Vec<&str> = s
        .manifest
        .completeness
        .iter()
        .map(|e| e.error_code.as_str())
        .collect();
    assert_eq!(codes, ["RequestCapReached"]);
}

/// The common scenario without its deliberate oddities (an unknown grant status, a sub-grant
/// whose parent only GetGrant reaches).
fn ready_scenario() -> support::fake_aws::Scenario {
    let mut sc = scenario();
    for g in &mut sc.distributed_grants {
        if g["GrantStatus"] == "PAUSED_BY_SELLER" {
            g["GrantStatus"] = json!("ACTIVE");
        }
    }
    sc.organization_grants
        .retain(|g| g["GrantArn"] != grant_arn("sub-c"));
    sc
}

#[tokio::test]
async fn doctor_passes_on_a_ready_organization() {
    let fake = FakeAws::start(ready_scenario(), Faults::default()).await;
    let opts = options();
    let checks = doctor_with(&clients(&fake, &opts).await, &opts).await;
    for c in &checks {
        assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
    }
    let names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "credentials",
            "organization",
            "organization-feature-set",
            "caller-account",
            "license-manager-organization-integration",
            "marketplace-licenses",
            "cost-explorer",
            "cost-allocation-tag",
            "cloudtrail",
            "marketplace-agreements",
            "public-offers",
            "aws-shapes",
        ]
    );
    assert_read_only_and_no_page_twice(&fake, true);
}

/// The check named `name` of `doctor` against a fake serving `sc` with `faults`.
async fn doctor_check(
    sc: support::fake_aws::Scenario,
    faults: Faults,
    name: &str,
) -> entitlement_audit::inputs::collect::Check {
    let opts = options();
    let fake = FakeAws::start(sc, faults).await;
    doctor_with(&clients(&fake, &opts).await, &opts)
        .await
        .into_iter()
        .find(|c| c.name == name)
        .unwrap()
}

/// `doctor` on the agreements: denied is a failure naming the actions to allow; none found is
/// a warning to run as the subscriber.
#[tokio::test]
async fn doctor_checks_the_marketplace_agreements() {
    let name = "marketplace-agreements";
    let mut faults = Faults::default();
    faults.deny.insert("SearchAgreements".into());
    let c = doctor_check(ready_scenario(), faults, name).await;
    assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
    assert!(c.detail.contains("AccessDenied"), "{c:?}");
    assert!(c.fix.unwrap().contains("aws-marketplace:SearchAgreements"));

    let mut sc = ready_scenario();
    sc.market = Default::default();
    let c = doctor_check(sc, Faults::default(), name).await;
    assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
    assert!(c.fix.unwrap().contains("subscriber"));
}

/// `doctor` on Bedrock's model list (the public offers): readable passes with the count,
/// denied fails naming the actions, an empty list warns to configure the rates.
#[tokio::test]
async fn doctor_checks_the_public_offers() {
    let name = "public-offers";
    let c = doctor_check(ready_scenario(), Faults::default(), name).await;
    assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
    assert!(c.detail.contains("2 models"), "{c:?}");

    let mut faults = Faults::default();
    faults.deny.insert("ListFoundationModels".into());
    let c = doctor_check(ready_scenario(), faults, name).await;
    assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
    assert!(c.fix.unwrap().contains("bedrock:ListFoundationModels"));

    let mut sc = ready_scenario();
    sc.market.models.clear();
    let c = doctor_check(sc, Faults::default(), name).await;
    assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
    assert!(c.fix.unwrap().contains("pricing.rates"));
}

/// `doctor` names each surprising shape with a count and an example ARN.
#[tokio::test]
async fn doctor_names_surprising_shapes() {
    let mut sc = ready_scenario();
    // A distributed grant whose parent is a seller grant no license names.
    let seller = "arn:aws:license-manager::999999999999:grant:g-seller";
    sc.distributed_grants[2]["ParentArn"] = json!(seller);
    sc.received_licenses[0]
        .as_object_mut()
        .unwrap()
        .remove("Beneficiary");
    sc.distributed_grants[3]["GrantStatus"] = json!("PAUSED_BY_SELLER");
    sc.distributed_grants[3]["GranteePrincipalArn"] = json!("arn:aws:iam::111122223333:role/x");
    let fake = FakeAws::start(sc.clone(), Faults::default()).await;
    let opts = options();
    let checks = doctor_with(&clients(&fake, &opts).await, &opts).await;
    let shapes: Vec<&str> = checks
        .iter()
        .filter(|c| c.name == "aws-shapes")
        .map(|c| {
            assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
            assert!(c.fix.is_some());
            c.detail.as_str()
        })
        .collect();
    let arn = |i: usize| {
        sc.distributed_grants[i]["GrantArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let want = [
        ("grant-parent-unknown: 1 ", arn(2)),
        (
            "license-without-beneficiary: 1 ",
            sc.received_licenses[0]["LicenseArn"]
                .as_str()
                .unwrap()
                .into(),
        ),
        ("unknown-grant-status: 1 ", arn(3)),
        ("unknown-grantee-form: 1 ", arn(3)),
    ];
    assert_eq!(shapes.len(), want.len(), "{shapes:#?}");
    for (line, (start, example)) in shapes.iter().zip(&want) {
        assert!(line.starts_with(start), "{line}");
        assert!(line.contains(&format!("e.g. `{example}`")), "{line}");
    }
    // The sub-grant reached only through GetGrant is its own shape.
    let fake = start(Faults::default()).await;
    let checks = doctor_with(&clients(&fake, &opts).await, &opts).await;
    let line = checks
        .iter()
        .find(|c| c.detail.starts_with("sub-grant-parent-not-listed"))
        .expect("named");
    assert!(
        line.detail.starts_with("sub-grant-parent-not-listed: 1 "),
        "{line:?}"
    );
    assert!(line.detail.contains(&grant_arn("sub-c")), "{line:?}");
}

#[tokio::test]
async fn doctor_says_what_is_wrong_and_how_to_fix_it() {
    let mut sc = scenario();
    sc.organization["FeatureSet"] = json!("CONSOLIDATED_BILLING");
    sc.service_settings["OrganizationConfiguration"]["EnableIntegration"] = json!(false);
    sc.cost_allocation_tags[0]["Status"] = json!("Inactive");
    sc.caller = (PROD.into(), format!("arn:aws:iam::{PROD}:role/Audit"));
    let mut faults = Faults::default();
    faults.deny.insert("LookupEvents".into());
    let fake = FakeAws::start(sc, faults).await;
    let opts = options();
    let checks = doctor_with(&clients(&fake, &opts).await, &opts).await;

    let status = |name: &str| {
        let c = checks.iter().find(|c| c.name == name).unwrap();
        assert!(c.status == CheckStatus::Pass || c.fix.is_some(), "{c:?}");
        c.status
    };
    assert_eq!(status("credentials"), CheckStatus::Pass);
    assert_eq!(status("organization-feature-set"), CheckStatus::Fail);
    assert_eq!(status("caller-account"), CheckStatus::Warn);
    assert_eq!(
        status("license-manager-organization-integration"),
        CheckStatus::Fail
    );
    assert_eq!(status("cost-allocation-tag"), CheckStatus::Fail);
    assert_eq!(status("cloudtrail"), CheckStatus::Fail);
    let trail = checks.iter().find(|c| c.name == "cloudtrail").unwrap();
    assert!(trail
        .fix
        .as_deref()
        .unwrap()
        .contains("`cloudtrail:LookupEvents`"));
}

#[tokio::test]
async fn a_rejected_public_cost_metric_is_dropped_not_fatal() {
    let fake = start(Faults {
        reject_metric: Some("PublicOnDemandCost".into()),
        ..Faults::default()
    })
    .await;
    let s = run(&fake, &options()).await;

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert!((total_cost(&s) - MARKETPLACE_TOTAL).abs() < 1e-9);
    assert!(rows(&s.usage)
        .unwrap()
        .iter()
        .all(|r| r.public_cost_usd.is_none()));
    // One rejected request, the query again without the metric, the team query.
    assert_eq!(fake.failed_calls("GetCostAndUsage"), 1);
    assert_eq!(s.manifest.cost_explorer_requests, 3);
}

/// The default scenario read with the member fan-out (`--member-role`, us-east-1), where DEV
/// invokes through an application inference profile its `ListInferenceProfiles` resolves: every
/// member read is called.
pub(crate) fn member_fan_out() -> (Scenario, CollectOptions) {
    let mut sc = scenario();
    let profile = "p24qm5pye2qr";
    sc.members
        .invoke(DEV, "us-east-1", profile, 1_790_899_200, (1.0, 10.0, 1.0));
    sc.members
        .accounts
        .get_mut(DEV)
        .unwrap()
        .profiles
        .insert(
            "us-east-1".into(),
            vec![json!({"inferenceProfileId": profile, "inferenceProfileName": "team-a",
                        "inferenceProfileArn": format!("arn:aws:bedrock:us-east-1:{DEV}:application-inference-profile/{profile}"),
                        "models": [{"modelArn": format!("arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_MODEL_ID}")}],
                        "status": "ACTIVE", "type": "APPLICATION"})],
        );
    let mut opts = options();
    opts.member_role = Some("EntitlementAuditMember".into());
    opts.member_regions = vec!["us-east-1".into()];
    (sc, opts)
}

#[tokio::test]
async fn the_permissions_list_is_exactly_what_collect_and_doctor_call() {
    let (sc, opts) = member_fan_out();
    let fake = FakeAws::start(sc, Faults::default()).await;
    let c = clients(&fake, &opts).await;
    let snap = collect_with(&c, &opts, now(), &NoProgress).await;
    assert!(snap.is_complete(), "{:?}", snap.manifest.completeness);
    let resolved = snap.invocations.as_ref().unwrap();
    assert_eq!(
        (
            resolved[0].base_model_id.as_str(),
            resolved[0].resolution.as_str()
        ),
        (CLAUDE_MODEL_ID, "application-profile")
    );
    let collect_ops: BTreeSet<String> = fake.calls().into_iter().map(|c| c.op).collect();
    doctor_with(&c, &opts).await;
    let all_ops: BTreeSet<String> = fake.calls().into_iter().map(|c| c.op).collect();

    let listed = |doctor: bool| -> BTreeSet<String> {
        permissions::OPERATIONS
            .iter()
            // Athena's are `--cost-source athena`'s, not collect's (tests/it/athena.rs).
            .filter(|o| (doctor || !o.doctor_only) && o.service != permissions::Service::Athena)
            .map(|o| o.name.to_string())
            .collect()
    };
    // `ListAccounts` is read only when a listing of the tree fails.
    let fallback = start(parent_listing_fails(OU_SANDBOX)).await;
    run(&fallback, &opts).await;
    let fallback_ops: BTreeSet<String> = fallback.calls().into_iter().map(|c| c.op).collect();
    assert!(!collect_ops.contains("ListAccounts"));
    assert!(fallback_ops.contains("ListAccounts"));
    let collect_ops: BTreeSet<String> = collect_ops.union(&fallback_ops).cloned().collect();
    assert_eq!(collect_ops, listed(false));
    // Doctor re-reads what collect read: only the set matters here.
    let all_ops: BTreeSet<String> = all_ops.union(&fallback_ops).cloned().collect();
    assert_eq!(all_ops, listed(true));
}

/// Faults under which `ListAccountsForParent` of `parent` fails after every retry.
pub(crate) fn parent_listing_fails(parent: &str) -> Faults {
    Faults {
        throttle_always: vec![("ListAccountsForParent".into(), parent.into())],
        ..Faults::default()
    }
}

#[tokio::test]
async fn account_tags_are_read_only_for_the_accounts_with_spend() {
    let fake = start(Faults::default()).await;
    let s = run(&fake, &options()).await;

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    // PROD, DEV and SANDBOX spend in the window; MGMT and LEGACY do not (PROD's first-party
    // spend and its spend before the window do not count).
    let spenders = BTreeSet::from([PROD, DEV, SANDBOX].map(String::from));
    assert_eq!(fake.tags_asked(), spenders);
    for a in &s.accounts {
        assert_eq!(a.tags_read, spenders.contains(&a.id), "{}", a.id);
    }
    let acct = |id: &str| s.accounts.iter().find(|a| a.id == id).unwrap();
    assert_eq!(acct(PROD).tags["team"], "ml");
    assert_eq!(acct(DEV).tags["team"], "search");
    assert!(acct(MGMT).tags.is_empty() && !acct(MGMT).tags_read);
    // The manifest says whose tags were read, and why.
    let source = &s.manifest.tables["accounts"].source;
    assert!(
        source.contains("tags read for 3 of 5 accounts")
            && source.contains("Marketplace spend in Cost Explorer"),
        "{source}"
    );
    assert!(!source.contains("ListAccounts,"), "{source}");
    // The accounts come from the per-parent listings alone.
    assert_eq!(fake.ok_calls("ListAccounts"), 0);
    assert_eq!(fake.ok_calls("ListAccountsForParent"), 5);
}

#[tokio::test]
async fn the_accounts_a_cost_export_names_get_their_tags_read_too() {
    let fake = start(Faults::default()).await;
    let mut opts = options();
    opts.tags_also_for = BTreeSet::from([MGMT.to_string(), "999900000000".to_string()]);
    let s = run(&fake, &opts).await;

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    // An account named outside the organization is not asked for (it would be an error).
    assert_eq!(
        fake.tags_asked(),
        BTreeSet::from([MGMT, PROD, DEV, SANDBOX].map(String::from))
    );
    assert!(s.manifest.tables["accounts"].source.contains("cost export"));
}

/// With the usage from Athena or a cost export, Cost Explorer's spend queries ($0.01 a page)
/// would be thrown away: none is sent, the usage table says where it comes from, and the tags
/// read are exactly those of the accounts the other source names (here LEGACY, which spends
/// nothing in Cost Explorer, and not PROD, DEV and SANDBOX, which do).
#[tokio::test]
async fn usage_from_another_source_sends_no_cost_explorer_query() {
    use entitlement_audit::inputs::collect::UsageFrom;
    let fake = start(Faults::default()).await;
    let mut opts = options();
    opts.usage_from = UsageFrom::Elsewhere("the Athena query over `cid_data_export.cur2`".into());
    opts.tags_also_for = BTreeSet::from([LEGACY.to_string(), MGMT.to_string()]);
    let s = run(&fake, &opts).await;

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert_eq!(fake.ok_calls("GetCostAndUsage"), 0);
    assert_eq!(fake.failed_calls("GetCostAndUsage"), 0);
    assert_eq!(s.manifest.cost_explorer_requests, 0);
    assert_eq!(s.usage.height(), 0);
    let usage = &s.manifest.tables["usage"].source;
    assert!(
        usage.contains("not read from Cost Explorer")
            && usage.contains("the Athena query over `cid_data_export.cur2`"),
        "{usage}"
    );
    assert_eq!(
        fake.tags_asked(),
        BTreeSet::from([LEGACY, MGMT].map(String::from))
    );
    let accounts = &s.manifest.tables["accounts"].source;
    assert!(
        accounts.contains("tags read for 2 of 5 accounts: the accounts the Athena query"),
        "{accounts}"
    );
    // Everything else is read as before.
    assert!(fake.ok_calls("ListReceivedLicenses") > 0);
    assert!(!s.grants.is_empty());

    // The default still asks Cost Explorer (the assertion above could fail).
    let fake = start(Faults::default()).await;
    run(&fake, &options()).await;
    assert!(fake.ok_calls("GetCostAndUsage") > 0);
}

#[tokio::test]
async fn every_account_tag_is_read_when_asked_or_when_cost_explorer_has_a_gap() {
    let every = BTreeSet::from([MGMT, PROD, DEV, SANDBOX, LEGACY].map(String::from));

    let fake = start(Faults::default()).await;
    let mut opts = options();
    opts.account_tags = entitlement_audit::inputs::collect::AccountTags::All;
    let s = run(&fake, &opts).await;
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert_eq!(fake.tags_asked(), every);
    assert!(s.accounts.iter().all(|a| a.tags_read));

    // Cost Explorer cannot say who spends: the tags of everyone, and the gap in the ledger.
    let mut faults = Faults::default();
    faults.deny.insert("GetCostAndUsage".into());
    let fake = start(faults).await;
    let s = run(&fake, &options()).await;
    assert!(s
        .manifest
        .completeness
        .iter()
        .any(|e| e.operation == "GetCostAndUsage"));
    assert_eq!(fake.tags_asked(), every);
    assert!(s.accounts.iter().all(|a| a.tags_read));
    let source = &s.manifest.tables["accounts"].source;
    assert!(
        source.contains("Cost Explorer's answer is incomplete"),
        "{source}"
    );

    // Stopped by the request cap partway: the same.
    let fake = start(Faults {
        page_size: Some(1),
        ..Faults::default()
    })
    .await;
    let mut opts = options();
    opts.max_cost_explorer_requests = 1;
    let s = run(&fake, &opts).await;
    assert!(!s.is_complete());
    assert_eq!(fake.tags_asked(), every);
}

#[tokio::test]
async fn a_failed_parent_listing_falls_back_to_list_accounts_and_stays_a_gap() {
    let fake = start(parent_listing_fails(OU_SANDBOX)).await;
    let s = run(&fake, &options()).await;

    // The sandbox OU's listing is the only gap; its account is still there, without OU path.
    let gaps: Vec<(&str, &str)> = s
        .manifest
        .completeness
        .iter()
        .map(|e| (e.operation.as_str(), e.scope.as_str()))
        .collect();
    assert_eq!(gaps, [("ListAccountsForParent", OU_SANDBOX)]);
    assert!(fake.ok_calls("ListAccounts") > 0);
    assert_eq!(s.accounts.len(), 5);
    let acct = |id: &str| s.accounts.iter().find(|a| a.id == id).unwrap();
    assert_eq!(acct(SANDBOX).ou_path, "");
    assert_eq!(acct(SANDBOX).parent_id, "");
    assert_eq!(
        acct(PROD).ou_path,
        "/Root/Workloads/Prod",
        "the others keep theirs"
    );
    // Still an account with spend: its tags were read.
    assert!(acct(SANDBOX).tags_read);
    assert!(s.manifest.tables["accounts"]
        .source
        .contains("organizations:ListAccounts,"));
    // Each account once, though two listings returned it.
    let ids: BTreeSet<&str> = s.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), s.accounts.len());
}

#[tokio::test]
async fn a_failed_ou_listing_falls_back_to_list_accounts_for_the_accounts_below_it() {
    let fake = start(Faults {
        throttle_always: vec![(
            "ListOrganizationalUnitsForParent".into(),
            OU_WORKLOADS.into(),
        )],
        ..Faults::default()
    })
    .await;
    let s = run(&fake, &options()).await;

    // Prod and Dev were never found, so neither were their accounts' listings: ListAccounts
    // returns them, without OU path.
    assert!(!s.is_complete());
    assert_eq!(s.accounts.len(), 5);
    let acct = |id: &str| s.accounts.iter().find(|a| a.id == id).unwrap();
    assert_eq!(acct(PROD).ou_path, "");
    assert_eq!(acct(PROD).tags["team"], "ml");
    assert_eq!(acct(SANDBOX).ou_path, "/Root/Sandbox");
}

/// aws-apis.md (7), UNCONFIRMED: Cost Explorer's `LINKED_ACCOUNT` may show the subscriber
/// (the management account, billed for every granted account) instead of the invoking
/// member. The member form is `account_tags_are_read_only_for_the_accounts_with_spend`; in
/// this form the subscriber alone has spend, so its tags alone are read, and all the spend
/// is still there (a cost export's callers add the members: `load::accounts_named`).
#[tokio::test]
async fn with_all_spend_billed_to_the_subscriber_only_its_tags_are_read() {
    let mut scenario = scenario();
    for f in &mut scenario.facts {
        f.account = MGMT.to_string();
    }
    let fake = FakeAws::start(scenario, Faults::default()).await;
    let s = run(&fake, &options()).await;

    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert_eq!(fake.tags_asked(), BTreeSet::from([MGMT.to_string()]));
    for a in &s.accounts {
        assert_eq!(a.tags_read, a.id == MGMT, "{}", a.id);
    }
    let billed: BTreeSet<String> = rows(&s.usage)
        .unwrap()
        .into_iter()
        .map(|r| r.account_id)
        .collect();
    assert_eq!(billed, BTreeSet::from([MGMT.to_string()]));
    assert!((total_cost(&s) - MARKETPLACE_TOTAL).abs() < 1e-9);
    let source = &s.manifest.tables["accounts"].source;
    assert!(source.contains("tags read for 1 of 5 accounts"), "{source}");
}

/// The subscriber's agreements through the Marketplace Agreement API (Smithy RPC v2 CBOR):
/// every page, the license from the search or from `GetAgreementEntitlements`, the rate card,
/// the validity end and renewal from the terms, and a term kind the SDK does not know skipped.
#[tokio::test]
async fn agreements_and_their_rates_are_read_over_cbor_across_pages() {
    use entitlement_audit::model::{AgreementStatus, RateSource};
    let fake = start(Faults {
        page_size: Some(1),
        empty_pages: true,
        throttle: [("SearchAgreements".to_string(), 2)].into_iter().collect(),
        ..Faults::default()
    })
    .await;
    let s = run(&fake, &options()).await;
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    assert_read_only_and_no_page_twice(&fake, false);
    assert_eq!(
        fake.failed_calls("SearchAgreements"),
        2,
        "throttling is retried"
    );
    // Every call was signed for us-east-1, the API's only region.
    assert!(fake
        .calls()
        .iter()
        .filter(|c| c.op.contains("Agreement"))
        .all(|c| c.region.as_deref() == Some("us-east-1")));

    assert_eq!(s.agreements.len(), 2);
    let claude = s
        .agreements
        .iter()
        .find(|a| a.id == AGREEMENT_CLAUDE)
        .unwrap();
    assert_eq!(claude.status, AgreementStatus::Active);
    assert_eq!(claude.license_arn.as_deref(), Some(L_CLAUDE));
    assert_eq!(claude.license_link, "search-agreements");
    assert_eq!(claude.product_id, "prod-claude");
    assert_eq!(claude.acceptor_account_id, MGMT);
    assert_eq!(claude.end_time.unwrap().timestamp(), 1_800_000_000);
    assert_eq!(
        claude.start_time.unwrap().timestamp_millis(),
        1_780_000_000_500
    );
    assert_eq!(claude.end_time_behavior.as_deref(), Some("REPLACE"));
    assert_eq!(claude.auto_renew, Some(false));
    let cohere = s
        .agreements
        .iter()
        .find(|a| a.id == AGREEMENT_COHERE)
        .unwrap();
    assert_eq!(cohere.status, AgreementStatus::Cancelled);
    assert_eq!(cohere.license_arn.as_deref(), Some(L_COHERE));
    assert_eq!(cohere.license_link, "agreement-entitlements");
    // No end in the summary: the validity term's end date.
    assert_eq!(cohere.end_time.unwrap().timestamp(), 1_790_000_000);
    assert!(fake.ok_calls("GetAgreementEntitlements") >= 1);

    // A rate card item without a price is skipped; currencies are kept as sent.
    let mut rates: Vec<(String, String, String, String)> = s
        .rates
        .iter()
        .filter(|r| r.source == RateSource::Agreement)
        .map(|r| {
            assert_eq!(r.unit, None);
            (
                r.agreement_id.clone().unwrap(),
                r.dimension_key.clone(),
                r.price.clone(),
                r.currency.clone(),
            )
        })
        .collect();
    rates.sort();
    let row = |a: &str, d: &str, p: &str, c: &str| (a.into(), d.into(), p.into(), c.into());
    assert_eq!(
        rates,
        [
            row(AGREEMENT_CLAUDE, "USE1_InputTokenCount", "2.25", "USD"),
            row(AGREEMENT_CLAUDE, "USE1_OutputTokenCount", "11.25", "USD"),
            row(AGREEMENT_COHERE, "USE1_InputTokenCount", "2.00", "EUR"),
        ]
    );
    assert_eq!(s.manifest.tables["agreements"].rows, 2);
    assert_eq!(
        s.manifest.tables["rates"].rows,
        3 + 3 + 2,
        "and the public offer's three, and the Price List's two for Command R+"
    );
}

/// A denied agreement read is a gap naming the agreements and rates tables, and the rest of
/// the organization is still read; terms denied for each agreement name that agreement.
#[tokio::test]
async fn denied_agreement_reads_are_gaps_and_the_run_goes_on() {
    use entitlement_audit::snapshot::Table;
    let mut faults = Faults::default();
    faults.deny.insert("SearchAgreements".into());
    let s = run(&start(faults).await, &options()).await;
    assert_eq!(
        s.manifest.completeness.len(),
        1,
        "{:?}",
        s.manifest.completeness
    );
    let e = &s.manifest.completeness[0];
    assert_eq!(
        (
            e.service.as_str(),
            e.operation.as_str(),
            e.error_code.as_str()
        ),
        (
            "marketplace-agreement",
            "SearchAgreements",
            "AccessDeniedException"
        )
    );
    assert_eq!(e.tables, [Table::Agreements, Table::Rates]);
    assert!(s.agreements.is_empty());
    assert_complete_data(&s);
    // The overspend of every exposed finding says the agreement terms were not seen.
    let collected = s.clone();
    let a = tokio::task::spawn_blocking(move || {
        let cfg = entitlement_audit::config::Config::default();
        entitlement_audit::analyze::analyze(&collected, &cfg, collected.manifest.period_end)
    })
    .await
    .unwrap()
    .unwrap();
    let bases: BTreeSet<&str> = a
        .findings
        .iter()
        .filter(|f| f.rule == "EA001")
        .map(|f| f.overspend_basis.as_str())
        .collect();
    // (The fake's Cost Explorer gives public-price cost: the observed ratio is the fallback.)
    assert_eq!(
        bases,
        ["observed-private-rate+rates-unread"].into_iter().collect()
    );

    let mut faults = Faults::default();
    faults.deny.insert("GetAgreementTerms".into());
    let s = run(&start(faults).await, &options()).await;
    let scopes: BTreeSet<&str> = s
        .manifest
        .completeness
        .iter()
        .map(|e| e.scope.as_str())
        .collect();
    assert_eq!(
        scopes,
        [AGREEMENT_CLAUDE, AGREEMENT_COHERE].into_iter().collect()
    );
    assert_eq!(s.agreements.len(), 2, "the agreements themselves were read");
    assert!(s
        .rates
        .iter()
        .all(|r| r.source != entitlement_audit::model::RateSource::Agreement));
}

/// Collected from the fake serving the demo organization, the agreements and their rates are
/// the demo's, the license links included (the cancelled agreement names no license).
#[tokio::test]
async fn the_demo_agreements_read_back_as_collected() {
    use entitlement_audit::model::RateSource;
    let demo = entitlement_audit::inputs::demo::builtin();
    let fake = FakeAws::start(
        support::fake_aws::Scenario::from_snapshot(&demo),
        Faults::default(),
    )
    .await;
    let mut opts = options();
    opts.period_start = demo.manifest.period_start;
    opts.period_end = demo.manifest.period_end;
    let s = run(&fake, &opts).await;
    let mut want = demo.agreements.clone();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(s.agreements, want);
    let sorted = |rates: &[entitlement_audit::model::Rate], source: RateSource| {
        let mut v: Vec<_> = rates
            .iter()
            .filter(|r| r.source == source)
            .map(|r| format!("{r:?}"))
            .collect();
        v.sort();
        v
    };
    for source in [RateSource::Agreement, RateSource::PublicOffer] {
        assert_eq!(
            sorted(&s.rates, source.clone()),
            sorted(&demo.rates, source.clone())
        );
        assert!(!sorted(&demo.rates, source).is_empty());
    }
}

/// The public rates from Bedrock (REST JSON): the licensed models only, found by name, their
/// public offer's rate card with its unit, the first offer's price of a dimension standing; a
/// denied model listing is a gap on the rates table.
#[tokio::test]
async fn public_rates_are_read_from_the_licensed_models_public_offers() {
    use entitlement_audit::model::RateSource;
    let fake = start(Faults::default()).await;
    let s = run(&fake, &options()).await;
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    let mut public: Vec<(String, String, String, Option<String>)> = s
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PublicOffer)
        .map(|r| {
            assert_eq!(r.currency, "USD");
            (
                r.product.clone(),
                r.dimension_key.clone(),
                r.price.clone(),
                r.unit.clone(),
            )
        })
        .collect();
    public.sort();
    let row = |d: &str, p: &str| {
        let product = "Claude Sonnet 4.6".to_string();
        (
            product,
            d.to_string(),
            p.to_string(),
            Some("Units".to_string()),
        )
    };
    assert_eq!(
        public,
        [
            row("USE1_InputTokenCount", "3.00"),
            row("USE1_OutputTokenCount", "15.00"),
            row("USE1_input_tokens_batch", "1.50"),
        ]
    );
    // One offers call, for the licensed model, its id escaped in the path and read back.
    let offers: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.op == "ListFoundationModelAgreementOffers")
        .collect();
    assert_eq!(offers.len(), 1);
    let escaped = CLAUDE_MODEL_ID.replace(':', "%3A");
    assert_eq!(
        offers[0].body["uri"],
        format!("/list-foundation-model-agreement-offers/{escaped}?offerType=PUBLIC")
    );
    assert_eq!(offers[0].status, 200);

    let mut faults = Faults::default();
    faults.deny.insert("ListFoundationModels".into());
    let s = run(&start(faults).await, &options()).await;
    assert_eq!(s.manifest.completeness.len(), 1);
    let e = &s.manifest.completeness[0];
    assert_eq!(
        (e.service.as_str(), e.operation.as_str()),
        ("bedrock", "ListFoundationModels")
    );
    assert_eq!(e.tables, [entitlement_audit::snapshot::Table::Rates]);
    // Without the offers, the Price List is asked for every licensed model: it has Command R+.
    let public: BTreeSet<(&str, &str)> = s
        .rates
        .iter()
        .filter(|r| r.source != RateSource::Agreement)
        .map(|r| (r.source.as_str(), r.product.as_str()))
        .collect();
    assert_eq!(public, [("price-list", "Command R+")].into_iter().collect());
}

/// The Price List (JSON 1.1) for the licensed models without a public offer: one
/// `GetProducts` per such model, filtered by its billing name, each item's usage type giving
/// the dimension and its unit kept; a malformed item is a gap naming the model, the others
/// still read; a denied read is a gap on the rates.
#[tokio::test]
async fn models_without_a_public_offer_take_their_public_rates_from_the_price_list() {
    use entitlement_audit::model::RateSource;
    let fake = start(Faults::default()).await;
    let s = run(&fake, &options()).await;
    assert!(s.is_complete(), "{:?}", s.manifest.completeness);
    let mut listed: Vec<(String, String, String, String, Option<String>)> = s
        .rates
        .iter()
        .filter(|r| r.source == RateSource::PriceList)
        .map(|r| {
            (
                r.product.clone(),
                r.dimension_key.clone(),
                r.price.clone(),
                r.currency.clone(),
                r.unit.clone(),
            )
        })
        .collect();
    listed.sort();
    let row = |d: &str, p: &str| {
        let units = Some("Units".to_string());
        ("Command R+".into(), d.into(), p.into(), "USD".into(), units)
    };
    assert_eq!(
        listed,
        [
            row("USE1_InputTokenCount", "3.0000000000"),
            row("USE1_OutputTokenCount", "15.0000000000"),
        ]
    );
    let asked: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.op == "GetProducts")
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "Claude has a public offer: only Command R+ is looked up"
    );
    assert_eq!(
        asked[0].body["ServiceCode"],
        "AmazonBedrockFoundationModels"
    );
    assert_eq!(
        asked[0].body["Filters"][0],
        serde_json::json!({"Type": "TERM_MATCH", "Field": "servicename",
                           "Value": "Command R+ (Amazon Bedrock Edition)"})
    );

    let mut sc = scenario();
    sc.market
        .price_list
        .insert(0, serde_json::Value::String("{not json".into()));
    let mut item = support::price_item(COMMAND, "x", "1", "Units");
    item["terms"] = serde_json::json!({});
    sc.market.price_list.push(item);
    let s = run(&FakeAws::start(sc, Faults::default()).await, &options()).await;
    let gaps: Vec<(&str, &str, &str)> = s
        .manifest
        .completeness
        .iter()
        .map(|e| {
            (
                e.operation.as_str(),
                e.scope.as_str(),
                e.error_code.as_str(),
            )
        })
        .collect();
    assert_eq!(gaps.len(), 1, "{:?}", s.manifest.completeness);
    assert_eq!(
        gaps[0],
        ("GetProducts", COMMAND, "MalformedPriceListItem"),
        "{:?}",
        s.manifest.completeness
    );
    assert!(s.manifest.completeness[0].message.contains("OnDemand"));
    assert_eq!(
        s.rates
            .iter()
            .filter(|r| r.source == RateSource::PriceList)
            .count(),
        2
    );

    let mut faults = Faults::default();
    faults.deny.insert("GetProducts".into());
    let s = run(&start(faults).await, &options()).await;
    let e = &s.manifest.completeness[0];
    assert_eq!(
        (e.service.as_str(), e.operation.as_str()),
        ("pricing", "GetProducts")
    );
    assert_eq!(e.tables, [entitlement_audit::snapshot::Table::Rates]);
}
