//! The documented contract and the code stay in step.

use entitlement_audit::report;

fn doc(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn every_report_column_is_documented() {
    let schema = doc("report-schema.md");
    for (file, cols) in [
        ("findings.csv", report::FINDINGS_COLUMNS),
        ("coverage.csv", report::COVERAGE_COLUMNS),
        ("grants.csv", report::GRANTS_COLUMNS),
        ("cost_allocation.csv", report::ALLOCATION_COLUMNS),
        ("cleanup_verification.csv", report::CLEANUP_COLUMNS),
        ("activation_history.csv", report::ACTIVATION_COLUMNS),
    ] {
        assert!(
            schema.contains(&format!("## {file}")) || schema.contains(file),
            "{file} has no section"
        );
        for c in cols {
            assert!(
                schema.contains(&format!("`{c}`")),
                "{file} column `{c}` is not in docs/report-schema.md"
            );
        }
    }
}

#[test]
fn every_snapshot_table_is_documented() {
    let format = doc("snapshot-format.md");
    let snap = entitlement_audit::inputs::demo::builtin();
    let dir = tempfile::tempdir().unwrap();
    entitlement_audit::snapshot::write(&snap, dir.path()).unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            format.contains(&format!("`{name}`")),
            "`{name}` is not in docs/snapshot-format.md"
        );
    }
    for c in entitlement_audit::model::usage::schema().iter_names() {
        assert!(
            format.contains(&format!("`{c}`")),
            "usage column `{c}` is not documented"
        );
    }
}

#[test]
fn readme_lists_every_permission_the_collectors_need() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let policy = entitlement_audit::inputs::collect::iam_policy();
    for action in policy["Statement"][0]["Action"].as_array().unwrap() {
        let action = action.as_str().unwrap();
        assert!(readme.contains(action), "README does not list `{action}`");
    }
}

/// Each rule's `tables()` names tables a snapshot has, so a rule cannot miss being marked
/// incomplete by a misspelt table name.
#[test]
fn every_rule_reads_tables_the_snapshot_has() {
    let snap = entitlement_audit::inputs::demo::builtin();
    for r in entitlement_audit::analyze::rules::RULES {
        assert!(!r.tables().is_empty(), "{} reads no table", r.code());
        for t in r.tables() {
            assert!(
                snap.manifest.tables.contains_key(t.as_str()),
                "{} reads `{t}`, which is no snapshot table",
                r.code()
            );
        }
    }
}

/// Each rule doc states the default severity the code has.
#[test]
fn rule_docs_state_the_code_severity() {
    for r in entitlement_audit::analyze::rules::RULES {
        let line = r
            .doc()
            .lines()
            .find(|l| l.starts_with("Default severity:"))
            .unwrap_or_else(|| panic!("{} doc states no default severity", r.code()));
        let stated = line
            .trim_start_matches("Default severity:")
            .trim()
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default();
        assert_eq!(
            stated,
            r.default_severity().as_str(),
            "{}: `{line}`",
            r.code()
        );
    }
}

/// The README's rule table is `RULES`: every code with its name, in order, and nothing else.
#[test]
fn readme_rule_table_is_the_rules() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let rows: Vec<(String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| EA"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect();
    let rules: Vec<(String, String)> = entitlement_audit::analyze::rules::RULES
        .iter()
        .map(|r| (r.code().to_string(), r.name().to_string()))
        .collect();
    assert_eq!(rows, rules);
}
