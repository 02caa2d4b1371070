//! A snapshot written to disk reads back identical, analyzes identically, and a broken one
//! fails with an error naming the file and column.

use crate::support::field;
use crate::support::fixtures::{assert_same_snapshot, demo_config};

use entitlement_audit::analyze::analyze;
use entitlement_audit::snapshot;

#[test]
fn demo_snapshot_round_trips() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert_same_snapshot(&back, &snap, "demo");

    let cfg = demo_config();
    let as_of = snap.manifest.period_end;
    let a = analyze(&snap, &cfg, as_of).unwrap();
    let b = analyze(&back, &cfg, as_of).unwrap();
    assert_eq!(a.findings, b.findings);
    assert_eq!(a.allocation, b.allocation);
}

#[test]
fn every_field_scenario_round_trips() {
    for (name, b) in field::every_scenario() {
        let snap = field::snapshot(b);
        let dir = tempfile::tempdir().unwrap();
        snapshot::write(&snap, dir.path()).unwrap();
        assert_same_snapshot(&snapshot::read(dir.path()).unwrap(), &snap, name);
    }
}

#[test]
fn missing_usage_column_is_named() {
    use polars::prelude::*;
    let snap = entitlement_audit::inputs::demo::builtin();
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let mut usage = snap.usage.drop("cost_usd").unwrap();
    let f = std::fs::File::create(dir.path().join("usage.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut usage).unwrap();
    let err = format!("{:#}", snapshot::read(dir.path()).unwrap_err());
    assert!(
        err.contains("usage.parquet") && err.contains("cost_usd"),
        "{err}"
    );
}

#[test]
fn corrupt_table_is_named() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    std::fs::write(dir.path().join("grants.parquet"), b"not parquet").unwrap();
    let err = format!("{:#}", snapshot::read(dir.path()).unwrap_err());
    assert!(err.contains("grants.parquet"), "{err}");
}

#[test]
fn allocation_reconciles_with_usage_to_the_cent() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let cfg = demo_config();
    let a = analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
    let usage_total: f64 = snap
        .usage
        .column("cost_usd")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .flatten()
        .sum();
    let allocated: f64 = a.allocation.iter().map(|r| r.cost_usd).sum();
    assert!(
        (usage_total - allocated).abs() < 0.005,
        "{usage_total} vs {allocated}"
    );
    assert!((a.totals.spend_usd - usage_total).abs() < 0.005);
    // Negative credits are kept, not dropped.
    let credits = snap
        .usage
        .column("cost_usd")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .flatten()
        .filter(|c| *c < 0.0)
        .count();
    assert!(credits > 0, "the demo has credits");
    let methods: std::collections::BTreeSet<&str> =
        a.allocation.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "account-tag",
            "cost-allocation-tag",
            "shared-pool",
            "ou-rule",
            "unallocated"
        ]
        .into_iter()
        .collect()
    );
}

#[test]
fn accounts_whose_tags_were_not_read_read_back_so_and_older_formats_read_as_read() {
    use polars::prelude::*;
    let mut snap = entitlement_audit::inputs::demo::builtin();
    snap.accounts[1].tags_read = false;
    snap.accounts[1].tags.clear();
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert_eq!(back.accounts, snap.accounts);
    assert!(!back.accounts[1].tags_read && back.accounts[0].tags_read);

    // A format-2 file has no `tags_read`: every account's tags were read.
    let path = dir.path().join("accounts.parquet");
    let mut accounts = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap()
        .drop("tags_read")
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut accounts)
        .unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert!(back.accounts.iter().all(|a| a.tags_read));
}

#[test]
fn agreements_and_rates_read_back_and_older_formats_read_them_empty() {
    let snap = entitlement_audit::inputs::demo::builtin();
    assert!(!snap.agreements.is_empty() && !snap.rates.is_empty());
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert_eq!(back.agreements, snap.agreements);
    assert_eq!(back.rates, snap.rates);

    // A format-4 snapshot without its agreements file is broken, and said so.
    std::fs::remove_file(dir.path().join("agreements.parquet")).unwrap();
    let err = format!("{:#}", snapshot::read(dir.path()).unwrap_err());
    assert!(err.contains("agreements.parquet"), "{err}");

    // Format 3 had neither table: both read empty, the rest as written.
    let manifest = dir.path().join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let current = format!("\"format_version\": {}", snapshot::FORMAT_VERSION);
    let old = text.replace(&current, "\"format_version\": 3");
    assert_ne!(old, text);
    std::fs::write(&manifest, old).unwrap();
    std::fs::remove_file(dir.path().join("rates.parquet")).unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert!(back.agreements.is_empty() && back.rates.is_empty());
    assert_eq!(back.grants, snap.grants);
}

/// A grant's operations read back; a format-4 file has no such column: they read as not known
/// (empty), the rest of the grant as written.
#[test]
fn grant_operations_read_back_and_older_formats_read_them_empty() {
    use polars::prelude::*;
    let snap = entitlement_audit::inputs::demo::builtin();
    assert!(snap.grants.iter().all(|g| !g.granted_operations.is_empty()));
    let dir = tempfile::tempdir().unwrap();
    snapshot::write(&snap, dir.path()).unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert_eq!(back.grants, snap.grants);

    let path = dir.path().join("grants.parquet");
    let mut grants = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap()
        .drop("granted_operations")
        .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut grants)
        .unwrap();
    let back = snapshot::read(dir.path()).unwrap();
    assert!(back.grants.iter().all(|g| g.granted_operations.is_empty()));
    let strip = |g: &entitlement_audit::model::Grant| {
        let mut g = g.clone();
        g.granted_operations.clear();
        g
    };
    assert_eq!(
        back.grants,
        snap.grants.iter().map(strip).collect::<Vec<_>>()
    );
}
