//! report.xlsx in a real spreadsheet application: LibreOffice Calc, headless (Debian
//! `libreoffice-calc-nogui`), exports every sheet of the demo's workbooks to CSV, once with the
//! values and once as shown, and each export must say what our CSV file says: the same text
//! (identifiers included), the same money to the millionth and, as shown, to the cent with the
//! currency format, the same days and months, the same booleans.
//!
//! Without LibreOffice the test is skipped with a line saying how to install it, and fails
//! with it when `ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs it);
//! `ENTITLEMENT_AUDIT_SKIP_SPREADSHEET=1` skips it on purpose, `ENTITLEMENT_AUDIT_SOFFICE`
//! overrides the binary's path.

// A test reads its own switches and clock (clippy.toml keeps them out of the code).
#![allow(clippy::disallowed_methods)]

use crate::support::cli::Bin;
use crate::xlsx::{read_csv, SHEETS};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use entitlement_audit::report::{self, xlsx, Column, Kind};

const DEFAULT_SOFFICE: &str = "/usr/bin/soffice";
const TIMEOUT: Duration = Duration::from_secs(180);

/// The LibreOffice binary, or `None` when the test is skipped.
fn soffice() -> Option<PathBuf> {
    if std::env::var("ENTITLEMENT_AUDIT_SKIP_SPREADSHEET").as_deref() == Ok("1") {
        eprintln!("spreadsheet test skipped: ENTITLEMENT_AUDIT_SKIP_SPREADSHEET=1");
        return None;
    }
    let path = std::env::var_os("ENTITLEMENT_AUDIT_SOFFICE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOFFICE));
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "LibreOffice not found at `{}`: the spreadsheet test needs Debian's LibreOffice Calc. \
         Install it with `apt-get update && apt-get install -y libreoffice-calc-nogui` (.ci/run \
         does this), point ENTITLEMENT_AUDIT_SOFFICE at another binary, or set \
         ENTITLEMENT_AUDIT_SKIP_SPREADSHEET=1 to skip this test on purpose",
        path.display()
    );
    assert!(
        std::env::var("ENTITLEMENT_AUDIT_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{why} (ENTITLEMENT_AUDIT_REQUIRE_TOOLS=1 makes this a failure)"
    );
    eprintln!("spreadsheet test SKIPPED: {why}");
    None
}

/// Converts every sheet of `books` to `<stem>-<sheet>.csv` in `out`: the cells as shown
/// (formats applied) or their values. A private profile keeps parallel runs apart.
fn convert(soffice: &Path, books: &[PathBuf], shown: bool, out: &Path) {
    let profile = tempfile::tempdir().unwrap();
    // Field separator, text delimiter, UTF-8, from line 1, no cell format, default language,
    // quote all text cells, detect special numbers, save as shown, formulas, remove spaces,
    // every sheet (-1; LibreOffice 7.2 and later).
    let filter =
        format!("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,{shown},false,false,-1");
    let mut child = Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            &filter,
            "--outdir",
        ])
        .arg(out)
        .args(books)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            child.kill().unwrap();
            panic!("LibreOffice did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "LibreOffice exited with {status}");
}

/// `$1,234.57`, `-$0.50`: money as the currency format shows it.
fn dollars(x: f64) -> String {
    let cents = (x.abs() * 100.0).round() as i64;
    let sign = if x < 0.0 && cents != 0 { "-" } else { "" };
    format!(
        "{sign}${}.{:02}",
        report::templates::group_thousands(cents / 100),
        cents % 100
    )
}

/// LibreOffice's export of one sheet says what our CSV file says, column by column.
fn assert_export_is_csv(values: &Path, shown: &Path, ours: &Path, columns: &[Column]) {
    let what = ours.file_name().unwrap().to_string_lossy().into_owned();
    let (values, shown) = (read_csv(values), read_csv(shown));
    let ours = read_csv(ours);
    assert_eq!(values.len(), ours.len(), "{what}: rows");
    assert_eq!(shown.len(), ours.len(), "{what}: rows as shown");
    for (i, ((v, s), o)) in values.iter().zip(&shown).zip(&ours).enumerate() {
        for (c, col) in columns.iter().enumerate() {
            let at = format!("{what} row {} `{}`", i + 2, col.name);
            let (v, s, o) = (&v[c], &s[c], &o[c]);
            if o.is_empty() {
                assert!(
                    v.is_empty() && s.is_empty(),
                    "{at}: {v:?} / {s:?} for an empty cell"
                );
                continue;
            }
            match col.kind {
                // LibreOffice shows the text as stored; our CSV neutralizes it.
                Kind::Text => assert_eq!(report::csv::neutralize(v), *o, "{at}"),
                Kind::Usd => {
                    let (got, want): (f64, f64) = (v.parse().unwrap(), o.parse().unwrap());
                    assert!((got - want).abs() <= 5e-7, "{at}: {got} against {want}");
                    assert_eq!(*s, dollars(want), "{at} as shown");
                }
                Kind::Count => assert_eq!(v, o, "{at}"),
                Kind::Date => assert_eq!((v, s), (o, o), "{at}"),
                Kind::Month => assert_eq!(s, o, "{at} as shown"),
                Kind::Bool => assert_eq!(v.to_lowercase(), *o, "{at}"),
            }
        }
    }
}

#[test]
fn libreoffice_reads_the_workbooks_as_the_csv_files() {
    let Some(soffice) = soffice() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = Bin::new()
        .args(["run", "--demo", "--state"])
        .arg(dir.path().join("history.sqlite"))
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = crate::support::reports::verify_cleanup_demo()
        .arg("--out")
        .arg(&out)
        .run();
    assert_eq!(o.code, 1, "{}", o.stderr);
    let books = [out.join(xlsx::FILE), out.join(xlsx::CLEANUP_FILE)];
    let (values, shown) = (dir.path().join("values"), dir.path().join("shown"));
    convert(&soffice, &books, false, &values);
    convert(&soffice, &books, true, &shown);
    let export = |dir: &Path, book: &str, sheet: &str| {
        let stem = book.trim_end_matches(".xlsx");
        let path = dir.join(format!("{stem}-{sheet}.csv"));
        assert!(path.is_file(), "LibreOffice wrote no `{}`", path.display());
        path
    };
    let cleanup = (xlsx::CLEANUP_SHEET, report::CLEANUP_FILE, report::CLEANUP);
    let sheets = SHEETS
        .iter()
        .map(|&(sheet, file, cols)| (xlsx::FILE, sheet, file, cols))
        .chain([(xlsx::CLEANUP_FILE, cleanup.0, cleanup.1, cleanup.2)]);
    for (book, sheet, file, columns) in sheets {
        assert_export_is_csv(
            &export(&values, book, sheet),
            &export(&shown, book, sheet),
            &out.join(file),
            columns,
        );
    }
    // The Summary's figures as shown: the run's dates and the money of summary.json.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let rows = read_csv(&export(&shown, xlsx::FILE, xlsx::SUMMARY_SHEET));
    let figure = |label: &str| {
        rows.iter()
            .find(|r| r[0] == label)
            .unwrap_or_else(|| panic!("no `{label}` row"))[1]
            .clone()
    };
    assert_eq!(figure("As of"), summary["run"]["as_of"].as_str().unwrap());
    for (label, key) in [
        ("Public-price exposure", "exposure_usd"),
        ("Spend in the window", "spend_usd"),
    ] {
        let want = summary["totals"][key].as_f64().unwrap();
        assert_eq!(figure(label), dollars(want), "{label}");
    }
}

#[test]
fn dollars_are_shown_as_the_currency_format_shows_them() {
    assert_eq!(dollars(2248.778089), "$2,248.78");
    assert_eq!(dollars(-0.5), "-$0.50");
    assert_eq!(dollars(0.001), "$0.00");
    assert_eq!(dollars(1234567.0), "$1,234,567.00");
}
