//! CSV outputs: RFC 4180, comma, UTF-8, header row, ISO dates, plain numbers.
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
//! tab or CR) get a leading `'`; numeric columns are written as numbers and never touched, so
//! negative credits stay numeric.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

use super::cells::{self, Rows, Sink};

/// Makes a text cell inert in spreadsheets.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote_mark(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Whether [`neutralize`] would change `s`.
pub(super) fn needs_quote_mark(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A number as plain text: no exponent, at most six decimals, no trailing zeros.
pub fn number(x: f64) -> String {
    let mut s = String::new();
    push_number(&mut s, x);
    s
}

fn push_number(out: &mut String, x: f64) {
    let start = out.len();
    let _ = write!(out, "{x:.6}");
    let trimmed = out[start..]
        .trim_end_matches('0')
        .trim_end_matches('.')
        .len();
    out.truncate(start + trimmed);
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

/// Writes `rows` with exactly `columns` as header; every row must serialize to a struct or
/// map with those fields in that order, each a scalar (text, number, boolean, date, or none).
/// Each row is serialized straight into the CSV writer ([`cells`]): no row or cell is built as
/// text or JSON first, and a clean text cell is written from the row's own string.
pub fn write<T: Serialize, W: Write>(out: W, columns: &[&str], rows: &[T]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(columns)?;
    let mut walk = Rows::new(
        Fields {
            w: &mut w,
            cell: String::new(),
        },
        columns,
    );
    for (i, r) in rows.iter().enumerate() {
        walk.row(r)
            .with_context(|| format!("CSV row {} (of {})", i + 1, rows.len()))?;
    }
    w.flush()?;
    Ok(())
}

/// The CSV writer as a [`Sink`]: text neutralized, numbers plain.
struct Fields<'w, W: Write> {
    w: &'w mut csv::Writer<W>,
    /// Reused for cells that are not a string of the row (numbers, quoted text).
    cell: String,
}

impl<W: Write> Fields<'_, W> {
    /// Writes the cell built in `self.cell`.
    fn built(&mut self) -> Result<(), cells::Error> {
        self.w.write_field(&self.cell).map_err(cells::Error::new)
    }
}

impl<W: Write> Sink for Fields<'_, W> {
    fn text(&mut self, _: usize, s: &str) -> Result<(), cells::Error> {
        if needs_quote_mark(s) {
            self.cell.clear();
            self.cell.push('\'');
            self.cell.push_str(s);
            self.built()
        } else {
            self.w.write_field(s).map_err(cells::Error::new)
        }
    }
    fn number(&mut self, _: usize, x: f64) -> Result<(), cells::Error> {
        self.cell.clear();
        push_number(&mut self.cell, x);
        self.built()
    }
    fn integer(&mut self, _: usize, x: i128) -> Result<(), cells::Error> {
        self.cell.clear();
        let _ = write!(self.cell, "{x}");
        self.built()
    }
    fn boolean(&mut self, c: usize, b: bool) -> Result<(), cells::Error> {
        self.text(c, if b { "true" } else { "false" })
    }
    fn none(&mut self, c: usize) -> Result<(), cells::Error> {
        self.text(c, "")
    }
    fn end_row(&mut self) -> Result<(), cells::Error> {
        self.w
            .write_record(None::<&[u8]>)
            .map_err(cells::Error::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(
            neutralize("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        assert_eq!(neutralize("-2+3"), "'-2+3");
        assert_eq!(neutralize("+1"), "'+1");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("payments-prod"), "payments-prod");
    }

    #[test]
    fn numbers_stay_plain_and_negative() {
        assert_eq!(number(-12.5), "-12.5");
        assert_eq!(number(1e-7), "0");
        assert_eq!(number(1234567.0), "1234567");
        assert_eq!(number(0.1 + 0.2), "0.3");
    }

    #[derive(Serialize)]
    struct Row {
        name: String,
        cost: f64,
    }

    #[test]
    fn writes_rfc4180_with_neutralized_text_and_numeric_numbers() {
        let mut buf = Vec::new();
        let rows = [
            Row {
                name: "=1+1".into(),
                cost: -3.25,
            },
            Row {
                name: "a,\"b\"".into(),
                cost: 2.0,
            },
        ];
        write(&mut buf, &["name", "cost"], &rows).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text, "name,cost\r\n'=1+1,-3.25\r\n\"a,\"\"b\"\"\",2\r\n");
    }

    #[test]
    fn mismatched_columns_are_an_error() {
        let rows = [Row {
            name: "x".into(),
            cost: 1.0,
        }];
        assert!(write(Vec::new(), &["cost", "name"], &rows).is_err());
    }

    #[derive(Serialize)]
    struct Tracking {
        change: Option<&'static str>,
        suppressed: bool,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    enum State {
        PublicPrice,
    }

    #[derive(Serialize)]
    struct Wide {
        day: chrono::NaiveDate,
        note: String,
        state: State,
        days: i64,
        ratio: f64,
        missing: Option<f64>,
        #[serde(flatten)]
        tracking: Tracking,
    }

    #[test]
    fn dates_enums_integers_flattened_fields_and_non_finite_numbers() {
        let rows = [Wide {
            day: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            note: "@x".into(),
            state: State::PublicPrice,
            days: -3,
            ratio: f64::NAN,
            missing: None,
            tracking: Tracking {
                change: Some("new"),
                suppressed: false,
            },
        }];
        let cols = [
            "day",
            "note",
            "state",
            "days",
            "ratio",
            "missing",
            "change",
            "suppressed",
        ];
        let mut buf = Vec::new();
        write(&mut buf, &cols, &rows).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "2026-10-31,'@x,public-price,-3,,,new,false"
        );
        // A flattened field out of place is named.
        let mut wrong = cols;
        wrong.swap(6, 7);
        let err = format!("{:#}", write(Vec::new(), &wrong, &rows).unwrap_err());
        assert!(
            err.contains("field `change` where `suppressed` was expected"),
            "{err}"
        );
        // Too few columns: the row's extra field is named.
        let err = format!("{:#}", write(Vec::new(), &cols[..7], &rows).unwrap_err());
        assert!(
            err.contains("`suppressed` where the end of the row"),
            "{err}"
        );
    }

    #[test]
    fn a_list_in_a_cell_is_an_error_naming_the_column() {
        #[derive(Serialize)]
        struct Listy {
            ids: Vec<u8>,
        }
        let err = format!(
            "{:#}",
            write(Vec::new(), &["ids"], &[Listy { ids: vec![1] }]).unwrap_err()
        );
        assert!(err.contains("column `ids` holds a list"), "{err}");
    }
}
