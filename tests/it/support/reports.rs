//! Helpers shared by the report tests: the demo's analysis and its rendered reports.

use std::path::Path;

use entitlement_audit::analyze::{analyze, Analysis};
use entitlement_audit::report::{self, RunInfo};
use entitlement_audit::snapshot::LedgerEntry;

/// The built-in demo organization, analyzed on its own last day.
pub fn demo() -> (Analysis, RunInfo) {
    let snap = entitlement_audit::inputs::demo::builtin();
    let cfg = super::fixtures::demo_config();
    let as_of = snap.manifest.period_end;
    let a = analyze(&snap, &cfg, as_of).unwrap();
    let run = RunInfo::new(&snap, &a, None);
    (a, run)
}

/// Writes every report of `a` into `dir` with the built-in templates.
pub fn write(a: &Analysis, run: &RunInfo, dir: &Path) {
    write_report(&report::Report::of(a, run), dir);
}

/// Writes every report of `r` into `dir` with the built-in templates and default outputs.
pub fn write_report(r: &report::Report, dir: &Path) {
    let templates = report::Templates::new(None).unwrap();
    report::write_all(r, dir, &templates, &report::Outputs::default()).unwrap();
}

/// `verify-cleanup` of the demo's cancelled product (exit 1: it fails), to which a test adds
/// `--out DIR` and its own options.
pub fn verify_cleanup_demo() -> super::cli::Bin {
    super::cli::Bin::new().args(["verify-cleanup", "--demo", "--product", "Command R+"])
}

pub const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "\"onmouseover=\"alert(3)",
    "' onmouseover='alert(4)' x='",
    "<img src=x onerror=alert(5)>",
    "javascript:alert(6)",
    "[click](javascript:alert(7)) | pipe",
    "<!-- {{ 7*7 }} {% if %}",
    "\u{2028}line\u{2029}sep",
];

pub fn long() -> String {
    "W".repeat(5000)
}

/// The demo analysis with hostile account names, teams and products everywhere a name
/// appears, and an incomplete-data ledger entry carrying hostile text too.
pub fn hostile() -> (Analysis, RunInfo) {
    let (mut a, run) = demo();
    let name = |i: usize| -> String {
        let all: Vec<String> = HOSTILE
            .iter()
            .map(|s| s.to_string())
            .chain([long()])
            .collect();
        all[i % all.len()].clone()
    };
    for (i, f) in a.findings.iter_mut().enumerate() {
        f.account_name = name(i);
        f.team = name(i + 1);
        f.product = name(i + 2);
        f.message = name(i + 3);
    }
    for (i, c) in a.coverage.iter_mut().enumerate() {
        c.product = name(i % 3);
        c.account_name = name(i);
    }
    for (i, g) in a.grants.iter_mut().enumerate() {
        g.grantee_name = name(i);
        g.name = name(i + 1);
        g.product = name(i + 2);
    }
    for (i, r) in a.allocation.iter_mut().enumerate() {
        r.team = name(i % 4);
        r.product = name(i % 5);
    }
    a.completeness.complete = false;
    a.completeness.missing.push(LedgerEntry {
        service: "cost-explorer".into(),
        operation: "GetCostAndUsage".into(),
        scope: HOSTILE[0].into(),
        error_code: "AccessDenied".into(),
        message: HOSTILE[4].into(),
        tables: vec![entitlement_audit::snapshot::Table::Usage],
        account_id: None,
    });
    a.completeness.incomplete_tables = vec![entitlement_audit::snapshot::Table::Usage];
    a.completeness.affected_rules = vec!["EA001", "EA005"];
    (a, run)
}
