//! report.xlsx read back with a reader crate (calamine) and the zip's own XML: every sheet is
//! its CSV file with typed cells, an account id with a leading zero stays text, money keeps
//! its precision, hostile text stays the same text and nothing is a formula.
//! tests/it/spreadsheet.rs has a real spreadsheet application read it.

use crate::support::cli::Bin;
use crate::support::reports;

use std::io::Read;
use std::path::Path;

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use entitlement_audit::history::{self, ActivationRow, RunHistory};
use entitlement_audit::report::{self, xlsx, Column, Kind, Report};

/// The sheets of `run` with history, in order, with the CSV file each one mirrors.
pub const SHEETS: &[(&str, &str, &[Column])] = &[
    (xlsx::FINDINGS_SHEET, "findings.csv", report::FINDINGS),
    (
        xlsx::ALLOCATION_SHEET,
        "cost_allocation.csv",
        report::ALLOCATION,
    ),
    (xlsx::COVERAGE_SHEET, "coverage.csv", report::COVERAGE),
    (xlsx::GRANTS_SHEET, "grants.csv", report::GRANTS),
    (
        xlsx::ACTIVATION_SHEET,
        "activation_history.csv",
        report::ACTIVATION,
    ),
];

/// A leading-zero account id in the style of the documentation ids.
const ZERO_ID: &str = "012345678901";

pub fn open(path: &Path) -> Xlsx<std::io::BufReader<std::fs::File>> {
    open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .into_records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A cell as the CSV writer writes its value; panics when the cell's type is not its column's
/// kind.
fn as_csv(kind: Kind, cell: &Data, at: &str) -> String {
    match (kind, cell) {
        (_, Data::Empty) => String::new(),
        (Kind::Text, Data::String(s)) => report::csv::neutralize(s).into_owned(),
        (Kind::Usd | Kind::Count, Data::Float(x)) => report::csv::number(*x),
        (Kind::Count, Data::Int(n)) => n.to_string(),
        (Kind::Bool, Data::Bool(b)) => b.to_string(),
        (Kind::Date, Data::DateTime(d)) => d.as_datetime().unwrap().date().to_string(),
        (Kind::Month, Data::DateTime(d)) => d.as_datetime().unwrap().format("%Y-%m").to_string(),
        (kind, cell) => panic!("{at}: a {kind:?} column holds {cell:?}"),
    }
}

/// The sheet has the CSV file's header and rows, each cell of its column's type.
pub fn assert_sheet_is_csv(book: &Path, sheet: &str, csv_file: &Path, columns: &[Column]) {
    let range = open(book).worksheet_range(sheet).unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    assert_eq!(header, names, "{sheet}: header");
    let want = read_csv(csv_file);
    let got: Vec<Vec<String>> = rows
        .enumerate()
        .map(|(i, row)| {
            let mut cells: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(c, col)| {
                    let cell = row.get(c).unwrap_or(&Data::Empty);
                    as_csv(
                        col.kind,
                        cell,
                        &format!("{sheet} row {} `{}`", i + 2, col.name),
                    )
                })
                .collect();
            cells.truncate(columns.len());
            cells
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{sheet}: rows against {csv_file:?}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{sheet} row {} against {csv_file:?}", i + 2);
    }
}

/// The XML parts of the workbook, by name.
fn parts(book: &Path) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(book).unwrap()).unwrap();
    (0..zip.len())
        .filter_map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut text = String::new();
            f.read_to_string(&mut text).ok()?;
            Some((name, text))
        })
        .collect()
}

/// The demo with history (so the workbook has its Activation history sheet), through the
/// binary as a user runs it.
fn demo_run(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("out");
    let o = Bin::new()
        .args(["run", "--demo", "--state"])
        .arg(dir.join("history.sqlite"))
        .arg("--out")
        .arg(&out)
        .run();
    assert!(o.code == 0 || o.code == 1, "{}", o.stderr);
    out
}

#[test]
fn every_sheet_is_its_csv_file_with_typed_cells() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo_run(dir.path());
    let book = out.join(xlsx::FILE);
    let names: Vec<String> = open(&book).sheet_names();
    let want: Vec<&str> = std::iter::once(xlsx::SUMMARY_SHEET)
        .chain(SHEETS.iter().map(|s| s.0))
        .collect();
    assert_eq!(names, want);
    for (sheet, file, columns) in SHEETS {
        assert_sheet_is_csv(&book, sheet, &out.join(file), columns);
    }
    // Every sheet: header frozen, autofilter over the table, widths set, no formula.
    let parts = parts(&book);
    let sheets: Vec<&(String, String)> = parts
        .iter()
        .filter(|(n, _)| n.starts_with("xl/worksheets/sheet"))
        .collect();
    assert_eq!(sheets.len(), want.len());
    for (name, xml) in sheets {
        assert!(
            xml.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: header not frozen"
        );
        assert!(
            xml.contains("<autoFilter ref=\"A1:"),
            "{name}: no autofilter"
        );
        assert!(xml.contains("<cols><col "), "{name}: no column widths");
        assert!(
            !xml.contains("<f>") && !xml.contains("<f "),
            "{name}: a formula"
        );
    }
    let mut wb = open(&book);
    for sheet in &want {
        let formulas = wb.worksheet_formula(sheet).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{sheet} has a formula"
        );
    }
}

#[test]
fn money_keeps_its_precision_and_totals_match_the_csv_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo_run(dir.path());
    let mut book = open(&out.join(xlsx::FILE));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let spend = summary["totals"]["spend_usd"].as_f64().unwrap();
    let cents = |x: f64| (x * 100.0).round() as i64;
    for (sheet, file, columns) in SHEETS {
        let range = book.worksheet_range(sheet).unwrap();
        for (c, col) in columns.iter().enumerate() {
            if col.kind != Kind::Usd {
                continue;
            }
            let ours: f64 = range
                .rows()
                .skip(1)
                .filter_map(|r| r.get(c).and_then(Data::as_f64))
                .sum();
            let csv: f64 = read_csv(&out.join(file))
                .iter()
                .filter_map(|r| r[c].parse::<f64>().ok())
                .sum();
            assert_eq!(cents(ours), cents(csv), "{sheet} `{}` total", col.name);
            if *sheet == xlsx::ALLOCATION_SHEET && col.name == "cost_usd" {
                assert_eq!(cents(ours), cents(spend), "Cost by team against the spend");
            }
        }
    }
    // The cells hold full precision (the CSV's six decimals), shown with two.
    let range = book.worksheet_range(xlsx::ALLOCATION_SHEET).unwrap();
    let c = report::ALLOCATION_COLUMNS
        .iter()
        .position(|n| *n == "cost_usd")
        .unwrap();
    let first = range.get((1, c)).and_then(Data::as_f64).unwrap();
    let csv = &read_csv(&out.join("cost_allocation.csv"))[0][c];
    assert_eq!(report::csv::number(first), *csv);
    assert_ne!((first * 100.0).fract(), 0.0, "{first} has more than cents");
    let styles = parts(&out.join(xlsx::FILE))
        .into_iter()
        .find(|(n, _)| n == "xl/styles.xml")
        .unwrap()
        .1;
    assert!(styles.contains(r#"formatCode="$#,##0.00""#), "{styles}");
    // The Summary's figures are numbers too.
    let range = book.worksheet_range(xlsx::SUMMARY_SHEET).unwrap();
    let figure = |label: &str| {
        let row = range
            .rows()
            .find(|r| r[0] == Data::String(label.into()))
            .unwrap_or_else(|| panic!("no `{label}` row"));
        row[1].clone()
    };
    assert_eq!(figure("Spend in the window").as_f64(), Some(spend));
    assert_eq!(
        figure("Public-price exposure").as_f64(),
        summary["totals"]["exposure_usd"].as_f64()
    );
    assert!(matches!(figure("As of"), Data::DateTime(_)));
    assert_eq!(figure("Data complete"), Data::Bool(true));
}

/// The demo's analysis with `111122223333` renamed to a leading-zero id, and one activation
/// row of it.
fn with_zero_account() -> (
    entitlement_audit::analyze::Analysis,
    report::RunInfo,
    RunHistory,
) {
    let (mut a, run) = reports::demo();
    let zero = |s: &mut String| {
        if s == "111122223333" {
            *s = ZERO_ID.to_string();
        }
    };
    for f in &mut a.findings {
        zero(&mut f.account_id);
    }
    for c in &mut a.coverage {
        zero(&mut c.account_id);
    }
    for g in &mut a.grants {
        zero(&mut g.grantee_id);
    }
    for r in &mut a.allocation {
        zero(&mut r.account_id);
        zero(&mut r.used_by_account_id);
    }
    let day = NaiveDate::from_ymd_opt(2026, 10, 3).unwrap();
    let activation = vec![ActivationRow {
        scope: "grant",
        account_id: ZERO_ID.into(),
        product: "Claude 3 Haiku".into(),
        license_arn:
            "arn:aws:license-manager::123456789012:license:l-0000000000000000000000000000000a"
                .into(),
        grant_arn: "arn:aws:license-manager::123456789012:grant:g-0000000000000000000000000000000a"
            .into(),
        parent_grant_arn: String::new(),
        via: "account".into(),
        first_seen: Some(day),
        created_at: Some(day),
        accepted_at: Some(day),
        activated_at: Some(day),
        activated_after: None,
        activated_by: None,
        activation_source: "demo".into(),
        disabled_at: None,
        deleted_at: None,
        status: "ACTIVE".into(),
        days_to_activation: Some(0),
    }];
    let history = RunHistory {
        changes: history::Changes {
            previous_run: None,
            new: a.findings.len(),
            persisting: 0,
            resolved: 0,
            resolved_findings: Vec::new(),
        },
        activation: history::Activation::ready(activation),
    };
    (a, run, history)
}

#[test]
fn an_account_id_with_a_leading_zero_stays_text_in_every_sheet() {
    let (a, run, history) = with_zero_account();
    let r = Report {
        history: Some(&history),
        ..Report::of(&a, &run)
    };
    let dir = tempfile::tempdir().unwrap();
    reports::write_report(&r, dir.path());
    let path = dir.path().join(xlsx::FILE);
    let mut book = open(&path);
    for (sheet, file, columns) in SHEETS {
        let range = book.worksheet_range(sheet).unwrap();
        let ids: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name.ends_with("account_id") || c.name == "grantee_id")
            .map(|(i, _)| i)
            .collect();
        assert!(!ids.is_empty(), "{sheet} has no account id column");
        let found = range
            .rows()
            .flat_map(|r| ids.iter().filter_map(|&i| r.get(i)))
            .filter(|c| **c == Data::String(ZERO_ID.into()))
            .count();
        assert!(found > 0, "{sheet}: {ZERO_ID} is not a text cell");
        assert!(
            !range
                .used_cells()
                .any(|(_, _, c)| matches!(c, Data::Float(x) if *x == 12345678901.0)),
            "{sheet}: the id became a number"
        );
        assert_sheet_is_csv(&path, sheet, &dir.path().join(file), columns);
    }
}

#[test]
fn hostile_text_is_stored_as_the_same_text() {
    let (a, run) = reports::hostile();
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let path = dir.path().join(xlsx::FILE);
    let mut book = open(&path);
    let range = book.worksheet_range(xlsx::FINDINGS_SHEET).unwrap();
    let name = report::FINDINGS_COLUMNS
        .iter()
        .position(|c| *c == "account_name")
        .unwrap();
    let message = report::FINDINGS_COLUMNS
        .iter()
        .position(|c| *c == "message")
        .unwrap();
    for (i, f) in a.findings.iter().enumerate() {
        let row = i as u32 + 1;
        let cell = range.get_value((row, name as u32)).unwrap();
        assert_eq!(*cell, Data::String(f.account_name.clone()), "row {row}");
        let cell = range.get_value((row, message as u32)).unwrap();
        assert_eq!(*cell, Data::String(f.message.clone()), "row {row}");
    }
    // The demo's `=HYPERLINK(...)` account name: the same text, quote-prefixed so that
    // editing the cell does not make it a formula.
    let range = book.worksheet_range(xlsx::ALLOCATION_SHEET).unwrap();
    assert!(range
        .used_cells()
        .any(|(_, _, c)| matches!(c, Data::String(s) if s.starts_with("=HYPERLINK("))));
    let parts = parts(&path);
    let styles = &parts.iter().find(|(n, _)| n == "xl/styles.xml").unwrap().1;
    assert!(styles.contains(r#"quotePrefix="1""#), "{styles}");
    for (name, xml) in &parts {
        if name.starts_with("xl/worksheets/") {
            assert!(
                !xml.contains("<f>") && !xml.contains("<f "),
                "{name}: a formula"
            );
        }
    }
}

#[test]
fn verify_cleanup_writes_its_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let o = reports::verify_cleanup_demo()
        .arg("--out")
        .arg(dir.path())
        .run();
    assert_eq!(o.code, 1, "{}", o.stderr);
    let path = dir.path().join(xlsx::CLEANUP_FILE);
    assert_eq!(open(&path).sheet_names(), [xlsx::CLEANUP_SHEET]);
    assert_sheet_is_csv(
        &path,
        xlsx::CLEANUP_SHEET,
        &dir.path().join(report::CLEANUP_FILE),
        report::CLEANUP,
    );
}

#[test]
fn no_xlsx_leaves_the_workbook_out() {
    let dir = tempfile::tempdir().unwrap();
    let o = Bin::new()
        .args(["run", "--demo", "--no-history", "--no-xlsx", "--out"])
        .arg(dir.path())
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(dir.path().join("findings.csv").exists());
    assert!(!dir.path().join(xlsx::FILE).exists());
    let o = reports::verify_cleanup_demo()
        .args(["--no-xlsx", "--out"])
        .arg(dir.path())
        .run();
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(dir.path().join(report::CLEANUP_FILE).exists());
    assert!(!dir.path().join(xlsx::CLEANUP_FILE).exists());
}
