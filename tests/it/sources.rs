//! docs/specs/source.md, checked: every AWS operation of the permissions list is answered by
//! the fake endpoint (a source without a fake handler cannot be tested offline), every
//! operation `collect` calls fills a snapshot table the manifest names, and every snapshot
//! table has its section in docs/snapshot-format.md.

use crate::support;

use std::collections::BTreeSet;

use entitlement_audit::inputs::collect::permissions::{self, Service};
use entitlement_audit::inputs::collect::{collect_with, doctor_with, NoProgress};
use entitlement_audit::snapshot::Table;
use support::fake_aws::Faults;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_operation_has_a_fake_handler_and_fills_a_documented_table() {
    let fake = start(Faults::default()).await;
    let opts = options();
    let c = clients(&fake, &opts).await;
    let mut snap = collect_with(&c, &opts, now(), &NoProgress).await;
    doctor_with(&c, &opts).await;
    // The Athena source (`--cost-source athena`), with the scan guard's `GetWorkGroup`.
    let mut athena = crate::athena::served(3);
    athena.cutoff = Some(1 << 30);
    fake.set_athena(athena);
    let mut athena_opts = crate::athena::fast_athena();
    athena_opts.max_scan_gb = Some(1.0);
    let got = entitlement_audit::inputs::collect::athena_usage_with(
        &c,
        &opts,
        &athena_opts,
        now(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(got.gaps.is_empty(), "{:?}", got.gaps);
    entitlement_audit::inputs::athena::replace_usage(
        &mut snap,
        &athena_opts,
        got.usage,
        got.query,
        got.gaps,
    );
    // `ListAccounts` is read only when a listing of the tree fails.
    let fallback = start(crate::collect_fake::parent_listing_fails(OU_SANDBOX)).await;
    let c = clients(&fallback, &opts).await;
    let fallback_snap = collect_with(&c, &opts, now(), &NoProgress).await;
    // The member reads are `--member-role`'s: a run with the fan-out, resolving an application
    // inference profile (`ListInferenceProfiles`).
    let (sc, member_opts) = crate::collect_fake::member_fan_out();
    let members = support::fake_aws::FakeAws::start(sc, Faults::default()).await;
    let c = clients(&members, &member_opts).await;
    let member_snap = collect_with(&c, &member_opts, now(), &NoProgress).await;

    // Answered: some call of each operation succeeded (the fake answers an operation it has
    // no handler for with `UnknownOperationException`).
    let answered: BTreeSet<(Service, String)> = fake
        .calls()
        .into_iter()
        .chain(fallback.calls())
        .chain(members.calls())
        .filter(|c| c.status == 200)
        .map(|c| (c.service(), c.op))
        .collect();
    for op in permissions::OPERATIONS {
        assert!(
            answered.contains(&(op.service, op.name.to_string())),
            "the fake endpoint never answered `{}`: give it a handler",
            op.action()
        );
    }

    // Filled: each collect operation is named by the manifest as a source of some table.
    for op in permissions::OPERATIONS.iter().filter(|o| !o.doctor_only) {
        assert!(
            [&snap, &fallback_snap, &member_snap]
                .iter()
                .flat_map(|s| s.manifest.tables.values())
                .any(|t| t
                    .source
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .any(|s| s == op.action())),
            "no snapshot table names `{}` as its source",
            op.action()
        );
    }

    // Documented: every table is in the manifest (the member tables in a fan-out run's: a run
    // without `--member-role` knows nothing of them) and has its section in the format doc.
    let doc = include_str!("../../docs/snapshot-format.md");
    for t in Table::ALL {
        let member = matches!(t, Table::Invocations | Table::MemberAgreements);
        assert_eq!(
            snap.manifest.tables.contains_key(t.as_str()),
            !member,
            "`{t}` in the manifest of a run without the members"
        );
        assert!(
            member_snap.manifest.tables.contains_key(t.as_str()),
            "the manifest has no `{t}`"
        );
        assert!(
            doc.contains(&format!("## `{t}.parquet`")),
            "docs/snapshot-format.md has no section for `{t}`"
        );
    }
}
