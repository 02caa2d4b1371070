//! CSV outputs: RFC 4180, comma, UTF-8, header row, ISO dates, plain numbers.
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
//! tab or CR) get a leading `'`; numeric columns are written as numbers and never touched, so
//! negative credits stay numeric.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

/// Makes a text cell inert in spreadsheets.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A number as plain text: no exponent, at most six decimals, no trailing zeros.
pub fn number(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Writes `rows` with exactly `columns` as header; every row must serialize to an object with
/// those fields in that order.
pub fn write<T: Serialize, W: Write>(out: W, columns: &[&str], rows: &[T]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(columns)?;
    for row in rows {
        let Value::Object(map) = serde_json::to_value(row)? else {
            anyhow::bail!("a CSV row is not an object");
        };
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        anyhow::ensure!(
            keys == columns,
            "CSV columns {columns:?} do not match row fields {keys:?}"
        );
        let cells: Vec<String> = map
            .values()
            .map(|v| match v {
                Value::Null => String::new(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.as_f64().map(number).unwrap_or_else(|| n.to_string()),
                Value::String(s) => neutralize(s).into_owned(),
                other => neutralize(&other.to_string()).into_owned(),
            })
            .collect();
        w.write_record(&cells)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
