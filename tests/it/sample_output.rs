//! sample-output/ holds the demo's reports; this test fails when they are stale.
//! Regenerate with `UPDATE_SAMPLE_OUTPUT=1 cargo test --test it sample_output::` (report.png comes
//! from tests/it/browser.rs with `ENTITLEMENT_AUDIT_SCREENSHOT=sample-output/report.png`).

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::support::fixtures::demo_config;

use std::path::Path;

use entitlement_audit::commands::run::analyze_and_report;
use entitlement_audit::report::Templates;

#[test]
fn sample_output_matches_the_demo() {
    let snap = entitlement_audit::inputs::demo::builtin();
    let cfg = demo_config();
    let dir = tempfile::tempdir().unwrap();
    let opts = Templates::new(None).unwrap();
    analyze_and_report(
        &snap,
        &cfg,
        snap.manifest.period_end,
        None,
        dir.path(),
        &opts,
    )
    .unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-output");
    let update = std::env::var_os("UPDATE_SAMPLE_OUTPUT").is_some();
    let mut stale = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    // What `run --demo --no-history` writes (docs/report-schema.md; activation_history.csv
    // needs the history).
    let written: Vec<String> = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written,
        [
            "cost_allocation.csv",
            "coverage.csv",
            "findings.csv",
            "findings.json",
            "fix-plan.json",
            "fix-plan.sh",
            "grants.csv",
            "report.html",
            "report.xlsx",
            "summary.json",
            "summary.md",
        ]
    );
    if !update {
        // sample-output/ holds exactly those and the screenshot: nothing the demo no longer
        // writes.
        let mut kept: Vec<String> = std::fs::read_dir(&sample)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "report.png")
            .collect();
        kept.sort();
        assert_eq!(kept, written, "sample-output/ against what the demo writes");
    }
    for name in names {
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        let kept = sample.join(&name);
        if std::fs::read(&kept).ok().as_deref() != Some(fresh.as_slice()) {
            if update {
                std::fs::create_dir_all(&sample).unwrap();
                std::fs::write(&kept, &fresh).unwrap();
            } else {
                stale.push(name.to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "sample-output/ is stale for {stale:?}: run `UPDATE_SAMPLE_OUTPUT=1 cargo test --test it sample_output::` and commit"
    );
}

#[test]
fn demo_output_is_identical_on_every_run() {
    let cfg = demo_config();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        let snap = entitlement_audit::inputs::demo::builtin();
        analyze_and_report(
            &snap,
            &cfg,
            snap.manifest.period_end,
            None,
            d.path(),
            &Templates::new(None).unwrap(),
        )
        .unwrap();
    }
    for e in std::fs::read_dir(a.path()).unwrap() {
        let name = e.unwrap().file_name();
        assert_eq!(
            std::fs::read(a.path().join(&name)).unwrap(),
            std::fs::read(b.path().join(&name)).unwrap(),
            "{name:?} differs between two runs"
        );
    }
}
