//! CSV outputs: RFC 4180, comma, UTF-8, header row, ISO dates, plain numbers.
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
//! tab or CR) get a leading `'`; numeric columns are written as numbers and never touched, so
//! negative credits stay numeric.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::{Context, Result};
use serde::ser::{self, Impossible, Serialize};

/// Makes a text cell inert in spreadsheets.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote_mark(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

fn needs_quote_mark(s: &str) -> bool {
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
/// Each row is serialized straight into the CSV writer: no row or cell is built as text or
/// JSON first, and a clean text cell is written from the row's own string.
pub fn write<T: Serialize, W: Write>(out: W, columns: &[&str], rows: &[T]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(columns)?;
    let mut row = Row {
        w: &mut w,
        columns,
        next: 0,
        cell: String::new(),
    };
    for (i, r) in rows.iter().enumerate() {
        row.next = 0;
        r.serialize(&mut row)
            .with_context(|| format!("CSV row {} (of {})", i + 1, rows.len()))?;
        anyhow::ensure!(
            row.next == columns.len(),
            "CSV row {} has {} fields, the columns are {columns:?}",
            i + 1,
            row.next
        );
        row.w.write_record(None::<&[u8]>)?;
    }
    w.flush()?;
    Ok(())
}

/// Serializer methods that fail with `self.error()`: scalars taking one argument each.
macro_rules! refuse {
    ($($f:ident($($t:ty),*)),* $(,)?) => {
        $(fn $f(self, $(_: $t),*) -> Result<(), Error> { Err(self.error()) })*
    };
}

/// Serializer methods that fail with `self.error()`: lists, tuples and enum variants.
macro_rules! refuse_compound {
    () => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<(), Error> {
            Err(self.error())
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            Err(self.error())
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            Err(self.error())
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            Err(self.error())
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            Err(self.error())
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            Err(self.error())
        }
    };
}

/// Serializer methods that fail with `self.error()`: records (a cell or key is one value).
macro_rules! refuse_records {
    () => {
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
            Err(self.error())
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Error> {
            Err(self.error())
        }
    };
}

/// Error of the row serializer: a row that is not a flat record of the columns.
#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<csv::Error> for Error {
    fn from(e: csv::Error) -> Self {
        Error(e.to_string())
    }
}

/// Serializes one row: checks each field's name against the columns and writes its cell.
struct Row<'w, W: Write> {
    w: &'w mut csv::Writer<W>,
    columns: &'w [&'w str],
    /// Index of the next column.
    next: usize,
    /// Reused for cells that are not a string of the row (numbers, dates, quoted text).
    cell: String,
}

impl<W: Write> Row<'_, W> {
    fn error(&self) -> Error {
        Error("a CSV row is not a struct or map".into())
    }

    fn expect(&mut self, field: &str) -> Result<(), Error> {
        match self.columns.get(self.next) {
            Some(c) if *c == field => Ok(()),
            expected => Err(Error(format!(
                "CSV columns {:?} do not match the row: field `{field}` where {} was expected",
                self.columns,
                expected.map_or("the end of the row".to_string(), |c| format!("`{c}`"))
            ))),
        }
    }

    fn cell<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let column = self.columns[self.next];
        self.next += 1;
        value.serialize(Cell { row: self, column })
    }

    /// Writes a text cell, neutralized.
    fn text(&mut self, s: &str) -> Result<(), Error> {
        if needs_quote_mark(s) {
            self.cell.clear();
            self.cell.push('\'');
            self.cell.push_str(s);
            self.w.write_field(&self.cell)?;
        } else {
            self.w.write_field(s)?;
        }
        Ok(())
    }

    /// Writes the cell built in `self.cell`.
    fn built(&mut self) -> Result<(), Error> {
        self.w.write_field(&self.cell)?;
        Ok(())
    }
}

impl<'a, 'w, W: Write> ser::Serializer for &'a mut Row<'w, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Error> {
        Ok(self)
    }
    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str)
    );
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    refuse_compound!();
}

impl<W: Write> ser::SerializeStruct for &mut Row<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.expect(key)?;
        self.cell(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Flattened structs serialize as maps; their keys are field names.
impl<W: Write> ser::SerializeMap for &mut Row<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(Key(self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.cell(value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Checks a map key against the next column.
struct Key<'r, 'w, W: Write>(&'r mut Row<'w, W>);

impl<W: Write> Key<'_, '_, W> {
    fn error(&self) -> Error {
        Error("a CSV row has a key that is not a string".into())
    }
}

impl<W: Write> ser::Serializer for Key<'_, '_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.expect(v)
    }
    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str)
    );
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(self.error())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    refuse_compound!();
    refuse_records!();
}

/// Writes one cell of a row.
struct Cell<'r, 'w, W: Write> {
    row: &'r mut Row<'w, W>,
    column: &'r str,
}

impl<W: Write> Cell<'_, '_, W> {
    fn error(&self) -> Error {
        Error(format!(
            "CSV column `{}` holds a list or record, not one value",
            self.column
        ))
    }

    fn number(self, x: f64) -> Result<(), Error> {
        self.row.cell.clear();
        // JSON has no NaN or infinity: such a number is no value, as in the JSON outputs.
        if x.is_finite() {
            push_number(&mut self.row.cell, x);
        }
        self.row.built()
    }

    fn integer(self, x: impl std::fmt::Display) -> Result<(), Error> {
        self.row.cell.clear();
        let _ = write!(self.row.cell, "{x}");
        self.row.built()
    }
}

impl<W: Write> ser::Serializer for Cell<'_, '_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.row.text(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.integer(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.number(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.row.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.row.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(self.error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.row.text("")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.row.text("")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.row.text("")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.row.text(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    /// Dates and other `Display` values: formatted into the reused cell, then neutralized.
    fn collect_str<T: std::fmt::Display + ?Sized>(self, v: &T) -> Result<(), Error> {
        let mut text = std::mem::take(&mut self.row.cell);
        text.clear();
        let _ = write!(text, "{v}");
        let out = self.row.text(&text);
        self.row.cell = text;
        out
    }
    refuse_compound!();
    refuse_records!();
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
