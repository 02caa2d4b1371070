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

/// The columns docs/report-schema.md documents for `file`, in order: the first cell of each
/// row of the `| column | meaning |` table in the `## ` section whose title names `file` (a
/// title may name several files, `## findings.csv / findings.json`); a cell may name several
/// columns (`` `from`, `to` ``).
fn documented_columns(schema: &str, file: &str) -> Vec<String> {
    let mut sections = schema.split("\n## ").skip(1).filter(|s| {
        let title = s.lines().next().unwrap_or_default();
        title.split(" / ").any(|t| t.trim() == file)
    });
    let section = sections
        .next()
        .unwrap_or_else(|| panic!("docs/report-schema.md has no `## {file}` section"));
    assert!(
        sections.next().is_none(),
        "docs/report-schema.md has two sections for {file}"
    );
    let mut lines = section
        .lines()
        .skip_while(|l| l.trim() != "| column | meaning |");
    assert!(
        lines.next().is_some(),
        "the {file} section has no `| column | meaning |` table"
    );
    assert_eq!(
        lines.next().map(str::trim),
        Some("|---|---|"),
        "the {file} column table"
    );
    let columns: Vec<String> = lines
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            let cell = row.split('|').nth(1).unwrap_or_default();
            let names: Vec<String> = cell
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            assert!(!names.is_empty(), "{file}: a row names no column: {row}");
            names
        })
        .collect();
    let rest = section
        .lines()
        .filter(|l| l.trim() == "| column | meaning |")
        .count();
    assert_eq!(rest, 1, "the {file} section has {rest} column tables");
    columns
}

/// Each report file's section of docs/report-schema.md lists exactly the code's columns, in
/// the code's order.
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
        assert_eq!(
            documented_columns(&schema, file),
            cols,
            "docs/report-schema.md `## {file}` against the code's columns"
        );
    }
}

/// The section parser finds what the test relies on, and misses what it must.
#[test]
fn documented_columns_reads_one_section() {
    let schema = "# T\n\n## a.csv / a.json\n\n| column | meaning |\n|---|---|\n\
                  | `x` | the `y` here is text |\n| `u`, `v` | two |\n\nafter\n\n\
                  ## b.csv\n\n| column | meaning |\n|---|---|\n| `z` | z |\n";
    assert_eq!(documented_columns(schema, "a.csv"), ["x", "u", "v"]);
    assert_eq!(documented_columns(schema, "a.json"), ["x", "u", "v"]);
    assert_eq!(documented_columns(schema, "b.csv"), ["z"]);
    let missing = std::panic::catch_unwind(|| documented_columns(schema, "c.csv"));
    assert!(missing.is_err(), "a file without a section");
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
