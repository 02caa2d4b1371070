//! Helpers shared by the report tests: the demo's analysis and its rendered reports.

#![allow(dead_code)]

use std::path::Path;

use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::app::DEMO_CONFIG;
use entitlement_audit::config::Config;
use entitlement_audit::model::Severity;
use entitlement_audit::report::{self, RunInfo};

/// The built-in demo organization, analyzed on its own last day.
pub fn demo() -> (Analysis, RunInfo) {
    let snap = entitlement_audit::demo::builtin();
    let cfg = Config::parse(DEMO_CONFIG).unwrap();
    let as_of = snap.manifest.period_end;
    let a = analyze(&snap, &cfg, as_of).unwrap();
    let run = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of,
        window_start: a.window_start,
        window_end: as_of,
        source: snap.manifest.source.clone(),
        collected_at: snap.manifest.collected_at,
        fail_on: Severity::Other("none".into()),
    };
    (a, run)
}

/// Writes every report of `a` into `dir` with the built-in templates.
pub fn write(a: &Analysis, run: &RunInfo, dir: &Path) {
    let opts = report::Options::new(None).unwrap();
    report::write_all(a, run, dir, &opts).unwrap();
}
