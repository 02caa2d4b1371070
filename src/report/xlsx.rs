//! `report.xlsx`: the run's tables as one workbook with typed cells, for people who open the
//! reports in a spreadsheet (a CSV cannot say that an account id is text).
//!
//! A Summary sheet first, then one sheet per CSV file with the same columns in the same order
//! (the tables of `super`). Each column's [`Kind`] types its cells: identifiers and other text
//! as text, money as numbers with a currency format (full precision kept), days as date cells,
//! booleans as booleans. No formulas: text is always a string cell, never parsed, and text a
//! spreadsheet would take for a formula when edited is stored with Excel's quote prefix (the
//! value stays the same text). The data sheets are filled at once, one thread each, row by
//! row into temporary files (`rust_xlsxwriter`'s constant-memory mode), so the workbook adds
//! little to the run's memory.

use std::io::Write;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};
use serde::Serialize;

use super::cells::{self, Rows, Sink};
use super::view::Page;
use super::{Column, Kind, Report, RunInfo};
use super::{ACTIVATION, ALLOCATION, CLEANUP, COVERAGE, FINDINGS, GRANTS};

/// The workbook `run` writes beside the CSV files.
pub const FILE: &str = "report.xlsx";
/// The workbook `verify-cleanup` writes beside `cleanup_verification.csv`.
pub const CLEANUP_FILE: &str = "cleanup_verification.xlsx";

/// Excel's limit: rows per sheet, the header row included.
pub const MAX_ROWS: usize = 1_048_576;

/// Sheet names, in workbook order.
pub const SUMMARY_SHEET: &str = "Summary";
pub const FINDINGS_SHEET: &str = "Findings";
pub const ALLOCATION_SHEET: &str = "Cost by team";
pub const COVERAGE_SHEET: &str = "Coverage";
pub const GRANTS_SHEET: &str = "Grants";
pub const ACTIVATION_SHEET: &str = "Activation history";
pub const CLEANUP_SHEET: &str = "Clean-up";

/// The columns of the Summary sheet.
pub const SUMMARY_COLUMNS: &[&str] = &["figure", "value", "note"];

/// Money: two decimals shown, the full value kept in the cell.
const USD_FORMAT: &str = "$#,##0.00";
const DATE_FORMAT: &str = "yyyy-mm-dd";
const MONTH_FORMAT: &str = "yyyy-mm";
const TIME_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";
/// The zip's deflate level (1 fastest to 9).
const ZIP_LEVEL: u8 = 2;
/// Column widths, in characters.
const MIN_WIDTH: usize = 6;
const MAX_WIDTH: usize = 60;

/// Writes `report.xlsx`: the Summary, then Findings, Cost by team, Coverage, Grants and, when
/// the run keeps history, Activation history.
pub fn write<W: Write + Send>(out: W, r: &Report, page: &Page) -> Result<()> {
    let a = r.analysis;
    let mut book = Book::new(r.run)?;
    book.summary(r, page)?;
    let mut sheets = vec![
        Sheet::new(FINDINGS_SHEET, FINDINGS, &a.findings),
        Sheet::new(ALLOCATION_SHEET, ALLOCATION, &a.allocation),
        Sheet::new(COVERAGE_SHEET, COVERAGE, &a.coverage),
        Sheet::new(GRANTS_SHEET, GRANTS, &a.grants),
    ];
    if let Some(h) = r.history {
        sheets.push(Sheet::later(ACTIVATION_SHEET, ACTIVATION, || {
            h.activation.rows()
        }));
    }
    book.tables(sheets)?;
    book.save(out)
}

/// Writes `cleanup_verification.xlsx`: the Clean-up sheet, the rows of
/// `cleanup_verification.csv`.
pub fn cleanup<W: Write + Send, T: Serialize + Sync>(
    out: W,
    collected_at: DateTime<Utc>,
    rows: &[T],
) -> Result<()> {
    let mut book = Book::at(collected_at)?;
    book.tables(vec![Sheet::new(CLEANUP_SHEET, CLEANUP, rows)])?;
    book.save(out)
}

/// A data sheet to fill: its name, columns and a writer of its rows.
pub struct Sheet<'a> {
    name: &'a str,
    columns: &'a [Column],
    /// Its data rows, when known before it is filled (checked against Excel's limit first).
    rows: Option<usize>,
    /// Writes the rows; returns the sheet and how many rows it wrote.
    fill: Box<dyn FnOnce(Cells<'a>) -> Result<(Cells<'a>, usize)> + Send + 'a>,
}

impl<'a> Sheet<'a> {
    fn new<T: Serialize + Sync + 'a>(
        name: &'a str,
        columns: &'a [Column],
        rows: &'a [T],
    ) -> Sheet<'a> {
        Sheet {
            rows: Some(rows.len()),
            ..Sheet::later(name, columns, move || Ok(rows))
        }
    }

    /// A sheet whose rows another thread is still making: its own thread waits for them.
    fn later<T: Serialize + Sync + 'a>(
        name: &'a str,
        columns: &'a [Column],
        rows: impl FnOnce() -> Result<&'a [T]> + Send + 'a,
    ) -> Sheet<'a> {
        let fill = move |cells: Cells<'a>| {
            let rows = rows()?;
            check_rows(name, rows.len())?;
            let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
            let mut walk = Rows::new(cells, &names);
            for (i, row) in rows.iter().enumerate() {
                walk.row(row)
                    .with_context(|| format!("sheet `{name}` row {}", i + 2))?;
            }
            Ok((walk.sink, rows.len()))
        };
        Sheet {
            name,
            columns,
            rows: None,
            fill: Box::new(fill),
        }
    }
}

/// Fails when a sheet of `rows` data rows and a header would not fit in Excel.
pub fn check_rows(sheet: &str, rows: usize) -> Result<()> {
    if rows >= MAX_ROWS {
        bail!(
            "sheet `{sheet}` would have {} rows with its header, more than Excel's limit of {MAX_ROWS}: \
             pass `--no-xlsx` and use the CSV files",
            rows + 1
        );
    }
    Ok(())
}

/// A figure of the Summary sheet.
enum Figure<'a> {
    Usd(f64),
    Count(u64),
    Day(NaiveDate),
    Time(DateTime<Utc>),
    Bool(bool),
    Text(&'a str),
}

struct Formats {
    header: Format,
    usd: Format,
    date: Format,
    month: Format,
    time: Format,
    /// Text a spreadsheet would run as a formula if the cell were edited.
    quoted: Format,
}

impl Formats {
    /// The column format of a kind of cell, if it has one.
    fn of(&self, kind: Kind) -> Option<&Format> {
        match kind {
            Kind::Usd => Some(&self.usd),
            Kind::Date => Some(&self.date),
            Kind::Month => Some(&self.month),
            _ => None,
        }
    }
}

struct Book {
    book: Workbook,
    formats: Formats,
}

impl Book {
    fn new(run: &RunInfo) -> Result<Book> {
        Book::at(run.collected_at)
    }

    /// A workbook whose creation time is `created` (the data's collection time, so that the
    /// same data gives the same file).
    fn at(created: DateTime<Utc>) -> Result<Book> {
        let mut book = Workbook::new();
        // Deflate level 2 instead of 6: at 10,000 accounts the save takes a fifth of the time
        // for a file about a third larger (docs/performance.md "Workbook").
        book.set_zip_compression_level(ZIP_LEVEL);
        book.set_properties(
            &DocProperties::new()
                .set_creation_datetime(&excel_time(created)?)
                .set_comment("entitlement-audit"),
        );
        Ok(Book {
            book,
            formats: Formats {
                header: Format::new()
                    .set_bold()
                    .set_border_bottom(FormatBorder::Thin),
                usd: Format::new().set_num_format(USD_FORMAT),
                date: Format::new().set_num_format(DATE_FORMAT),
                month: Format::new().set_num_format(MONTH_FORMAT),
                time: Format::new().set_num_format(TIME_FORMAT),
                quoted: Format::new().set_quote_prefix(),
            },
        })
    }

    /// Assembles each sheet's XML and compresses it into the zip: most of the time.
    fn save<W: Write + Send>(mut self, out: W) -> Result<()> {
        crate::progress::timed("report.xlsx: save", || self.book.save_to_writer(out))?;
        Ok(())
    }

    /// The headline figures of summary.md, the completeness state and the run's dates.
    fn summary(&mut self, r: &Report, page: &Page) -> Result<()> {
        let (a, run) = (r.analysis, r.run);
        let t = &a.totals;
        let c = &a.completeness;
        let mut rows: Vec<(&str, Figure, String)> = vec![
            ("As of", Figure::Day(run.as_of), "The report date.".into()),
            ("Window start", Figure::Day(run.window_start), String::new()),
            ("Window end", Figure::Day(run.window_end), String::new()),
            (
                "Collected at",
                Figure::Time(run.collected_at),
                "When the data was read (UTC).".into(),
            ),
            ("Source", Figure::Text(&run.source), String::new()),
            (
                "Tool version",
                Figure::Text(&run.tool_version),
                String::new(),
            ),
        ];
        for card in &page.headline {
            let figure = match card.key {
                "exposure" => Figure::Usd(t.exposure_usd),
                "activation_unknown" => Figure::Usd(t.activation_unknown_usd),
                "overspend" => Figure::Usd(t.overspend_usd),
                "accounts_exposed" => Figure::Count(t.accounts_exposed),
                "awaiting" => Figure::Count(t.grants_awaiting_activation),
                "orphaned" => Figure::Count(t.orphaned_grants),
                _ => Figure::Text(&card.value),
            };
            // An incomplete zero is not known; another incomplete figure is a lower bound.
            let amount = match figure {
                Figure::Usd(x) => Some(x),
                Figure::Count(n) => Some(n as f64),
                _ => None,
            };
            let (figure, note) = match (card.incomplete, amount) {
                (true, Some(0.0)) => (Figure::Text("not known"), card.detail.clone()),
                (true, Some(_)) => (figure, format!("At least this much. {}", card.detail)),
                _ => (figure, card.detail.clone()),
            };
            rows.push((card.label, figure, note));
        }
        rows.extend([
            (
                "Spend in the window",
                Figure::Usd(t.spend_usd),
                "Marketplace model spend; the Cost by team sheet sums to it.".into(),
            ),
            (
                "Findings",
                Figure::Count(a.findings.len() as u64),
                "Every finding is on the Findings sheet.".into(),
            ),
            (
                "Findings at or above --fail-on",
                Figure::Count(a.count_at_or_above(run.fail_on) as u64),
                format!("--fail-on {}", run.fail_on.map_or("none", |s| s.as_str())),
            ),
            ("Data complete", Figure::Bool(c.complete), String::new()),
            (
                "Sources not read",
                Figure::Count(c.missing.len() as u64),
                "summary.json `completeness.missing` lists them.".into(),
            ),
            (
                "Incomplete tables",
                Figure::Text(""),
                c.incomplete_tables
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "Rules affected",
                Figure::Text(""),
                c.affected_rules.join(", "),
            ),
        ]);
        if let Some(h) = r.history {
            let ch = &h.changes;
            rows.extend([
                (
                    "New findings",
                    Figure::Count(ch.new as u64),
                    match &ch.previous_run {
                        Some(p) => format!("Since the run of {}.", p.as_of),
                        None => "The first run: every finding is new.".into(),
                    },
                ),
                (
                    "Resolved findings",
                    Figure::Count(ch.resolved as u64),
                    String::new(),
                ),
                (
                    "Persisting findings",
                    Figure::Count(ch.persisting as u64),
                    String::new(),
                ),
            ]);
        }

        let Book { book, formats } = self;
        let ws = book.add_worksheet();
        ws.set_name(SUMMARY_SHEET)?;
        let mut widths = header(ws, formats, SUMMARY_COLUMNS)?;
        for (i, (label, figure, note)) in rows.iter().enumerate() {
            let r = (i + 1) as u32;
            text(ws, &formats.quoted, r, 0, label, &mut widths[0])?;
            let w = &mut widths[1];
            match *figure {
                Figure::Usd(x) => usd(ws, Some(&formats.usd), r, 1, x, w)?,
                Figure::Count(n) => count(ws, r, 1, n as f64, w)?,
                Figure::Day(d) => date(ws, Some(&formats.date), r, 1, d, w)?,
                Figure::Time(t) => {
                    ws.write_datetime_with_format(r, 1, excel_time(t)?, &formats.time)?;
                    *w = (*w).max(TIME_FORMAT.len());
                }
                Figure::Bool(b) => boolean(ws, r, 1, b, w)?,
                Figure::Text(s) => text(ws, &formats.quoted, r, 1, s, w)?,
            }
            text(ws, &formats.quoted, r, 2, note, &mut widths[2])?;
        }
        finish(ws, rows.len(), &widths)
    }

    /// The data sheets, in order, each typed by its columns: every row must serialize to an
    /// object with exactly those fields in that order (as for the CSV files). The sheets are
    /// filled at once, one thread each, row by row into temporary files (`rust_xlsxwriter`'s
    /// constant-memory mode: text as inline strings, no shared table to lock).
    fn tables(&mut self, sheets: Vec<Sheet>) -> Result<()> {
        for s in &sheets {
            if let Some(rows) = s.rows {
                check_rows(s.name, rows)?;
            }
        }
        let Book { book, formats } = self;
        let mut filled = Vec::with_capacity(sheets.len());
        for s in &sheets {
            let mut ws = book.new_worksheet_with_constant_memory()?;
            ws.set_name(s.name)?;
            // Money and dates by column format, not one format lookup per cell.
            for (c, col) in s.columns.iter().enumerate() {
                if let Some(f) = formats.of(col.kind) {
                    ws.set_column_format(c as u16, f)?;
                }
            }
            let names: Vec<&str> = s.columns.iter().map(|c| c.name).collect();
            let widths = header(&mut ws, formats, &names)?;
            filled.push(Cells {
                ws,
                quoted: formats.quoted.clone(),
                columns: s.columns,
                widths,
                row: 1,
            });
        }
        let results: Vec<Result<Cells>> = std::thread::scope(|scope| {
            let running: Vec<_> = sheets
                .into_iter()
                .zip(filled)
                .map(|(s, cells)| {
                    scope.spawn(move || {
                        crate::progress::timed(&format!("report.xlsx: {}", s.name), || {
                            let (mut cells, rows) = (s.fill)(cells)?;
                            finish(&mut cells.ws, rows, &cells.widths)?;
                            Ok(cells)
                        })
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for cells in results {
            book.push_worksheet(cells?.ws);
        }
        Ok(())
    }
}

/// A sheet as a [`Sink`]: each cell typed by its column's kind.
pub struct Cells<'a> {
    ws: Worksheet,
    /// For text a spreadsheet would run as a formula.
    quoted: Format,
    columns: &'a [Column],
    /// The width each column needs so far.
    widths: Vec<usize>,
    /// The row being written (0 is the header).
    row: u32,
}

impl Cells<'_> {
    fn wrong(&self, c: usize, what: impl std::fmt::Display) -> cells::Error {
        cells::Error::new(format!("a {:?} column holds {what}", self.columns[c].kind))
    }
}

/// A writer's error as the walk's.
fn put(r: Result<()>) -> Result<(), cells::Error> {
    r.map_err(|e| cells::Error::new(format!("{e:#}")))
}

impl Sink for Cells<'_> {
    fn text(&mut self, c: usize, s: &str) -> Result<(), cells::Error> {
        let (ws, q, r, w) = (&mut self.ws, &self.quoted, self.row, &mut self.widths[c]);
        // Money and date cells take their column's format (`Book::tables`).
        match self.columns[c].kind {
            Kind::Text => put(text(ws, q, r, c as u16, s, w)),
            Kind::Date => {
                let d: NaiveDate = s
                    .parse()
                    .map_err(|_| cells::Error::new(format!("`{s}` is not a date (YYYY-MM-DD)")))?;
                put(date(ws, None, r, c as u16, d, w))
            }
            Kind::Month => {
                let d = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                    .map_err(|_| cells::Error::new(format!("`{s}` is not a month (YYYY-MM)")))?;
                put(date(ws, None, r, c as u16, d, w))
            }
            _ => Err(self.wrong(c, format_args!("\"{s}\""))),
        }
    }
    fn number(&mut self, c: usize, x: f64) -> Result<(), cells::Error> {
        let (ws, r, w) = (&mut self.ws, self.row, &mut self.widths[c]);
        match self.columns[c].kind {
            Kind::Usd => put(usd(ws, None, r, c as u16, x, w)),
            Kind::Count => put(count(ws, r, c as u16, x, w)),
            _ => Err(self.wrong(c, x)),
        }
    }
    fn integer(&mut self, c: usize, x: i128) -> Result<(), cells::Error> {
        match self.columns[c].kind {
            Kind::Usd | Kind::Count => self.number(c, x as f64),
            _ => Err(self.wrong(c, x)),
        }
    }
    fn boolean(&mut self, c: usize, b: bool) -> Result<(), cells::Error> {
        match self.columns[c].kind {
            Kind::Bool => put(boolean(
                &mut self.ws,
                self.row,
                c as u16,
                b,
                &mut self.widths[c],
            )),
            _ => Err(self.wrong(c, b)),
        }
    }
    /// An empty value leaves the cell blank.
    fn none(&mut self, _: usize) -> Result<(), cells::Error> {
        Ok(())
    }
    fn end_row(&mut self) -> Result<(), cells::Error> {
        self.row += 1;
        Ok(())
    }
}

/// The header row; the widths its names need.
fn header(ws: &mut Worksheet, f: &Formats, names: &[&str]) -> Result<Vec<usize>> {
    for (c, name) in names.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, &f.header)?;
    }
    Ok(names.iter().map(|n| n.len() + 2).collect())
}

/// Header row frozen, autofilter over the table, column widths.
fn finish(ws: &mut Worksheet, rows: usize, widths: &[usize]) -> Result<()> {
    ws.set_freeze_panes(1, 0)?;
    let last = widths.len().saturating_sub(1) as u16;
    ws.autofilter(0, 0, rows as u32, last)?;
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w + 1).clamp(MIN_WIDTH, MAX_WIDTH) as f64)?;
    }
    Ok(())
}

fn text(
    ws: &mut Worksheet,
    quoted: &Format,
    r: u32,
    c: u16,
    s: &str,
    width: &mut usize,
) -> Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    // The same test as the CSV files' neutralization; the cell keeps the text as it is.
    if super::csv::needs_quote_mark(s) {
        ws.write_string_with_format(r, c, s, quoted)?;
    } else {
        ws.write_string(r, c, s)?;
    }
    *width = (*width).max(s.chars().count());
    Ok(())
}

/// Money, with `format` or the column's.
fn usd(
    ws: &mut Worksheet,
    format: Option<&Format>,
    r: u32,
    c: u16,
    x: f64,
    width: &mut usize,
) -> Result<()> {
    match format {
        Some(f) => ws.write_number_with_format(r, c, x, f)?,
        None => ws.write_number(r, c, x)?,
    };
    // `$`, the digits with their separators, the cents.
    let digits = whole_digits(x);
    *width = (*width).max(1 + digits + (digits - 1) / 3 + 3 + usize::from(x < 0.0));
    Ok(())
}

fn count(ws: &mut Worksheet, r: u32, c: u16, x: f64, width: &mut usize) -> Result<()> {
    ws.write_number(r, c, x)?;
    let shown = if x.fract() == 0.0 {
        whole_digits(x) + usize::from(x < 0.0)
    } else {
        format!("{x}").len()
    };
    *width = (*width).max(shown);
    Ok(())
}

/// How many digits the whole part of `x` has (without a sign), as `{:.0}` of it prints them;
/// counted, not printed, below 10^19 (every cell of a run).
fn whole_digits(x: f64) -> usize {
    let whole = x.abs().trunc();
    if whole < 1e19 {
        (whole as u64)
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1)
    } else {
        format!("{whole:.0}").len()
    }
}

fn boolean(ws: &mut Worksheet, r: u32, c: u16, b: bool, width: &mut usize) -> Result<()> {
    ws.write_boolean(r, c, b)?;
    *width = (*width).max(5);
    Ok(())
}

/// A day as Excel's serial number, with `format` or the column's.
fn date(
    ws: &mut Worksheet,
    format: Option<&Format>,
    r: u32,
    c: u16,
    d: NaiveDate,
    width: &mut usize,
) -> Result<()> {
    let serial = excel_date(d)?.to_excel();
    match format {
        Some(f) => ws.write_number_with_format(r, c, serial, f)?,
        None => ws.write_number(r, c, serial)?,
    };
    *width = (*width).max(DATE_FORMAT.len());
    Ok(())
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime> {
    let year = u16::try_from(d.year()).with_context(|| format!("{d} is out of Excel's range"))?;
    Ok(ExcelDateTime::from_ymd(
        year,
        d.month() as u8,
        d.day() as u8,
    )?)
}

fn excel_time(t: DateTime<Utc>) -> Result<ExcelDateTime> {
    Ok(excel_date(t.date_naive())?.and_hms(
        t.hour() as u16,
        t.minute() as u8,
        f64::from(t.second()),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_over_excels_limit_is_an_error_naming_it() {
        assert!(check_rows("Coverage", MAX_ROWS - 1).is_ok());
        let e = check_rows("Coverage", MAX_ROWS).unwrap_err().to_string();
        assert!(e.contains("`Coverage`"), "{e}");
        assert!(e.contains("1048577 rows"), "{e}");
        // The check comes before any row is written: a table that long fails at once.
        let mut book = Book::at(DateTime::UNIX_EPOCH).unwrap();
        let rows = vec![(); MAX_ROWS];
        let e = book
            .tables(vec![Sheet::new("Findings", FINDINGS, &rows)])
            .unwrap_err();
        assert!(e.to_string().contains("`Findings`"), "{e}");
    }

    #[test]
    fn widths_count_the_digits_as_printed() {
        for x in [
            0.0,
            0.4,
            9.99,
            10.0,
            999.5,
            1e15,
            123456789012.0,
            -42.0,
            1e19,
            3e20,
        ] {
            assert_eq!(
                whole_digits(x),
                format!("{:.0}", x.abs().trunc()).len(),
                "{x}"
            );
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error() {
        #[derive(Serialize)]
        struct Row {
            month: &'static str,
        }
        let cols = &[super::super::col("month", Kind::Month)];
        let mut book = Book::at(DateTime::UNIX_EPOCH).unwrap();
        assert!(book
            .tables(vec![Sheet::new("T", cols, &[Row { month: "2026-10" }])])
            .is_ok());
        let e = book
            .tables(vec![Sheet::new("U", cols, &[Row { month: "October" }])])
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("sheet `U` row 2: column `month`: `October` is not a month"),
            "{e:#}"
        );
    }
}
