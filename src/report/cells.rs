//! The cells of a report row, walked once for every tabular writer.
//!
//! A row is a serde struct or map (flattened fields included) whose fields are exactly the
//! table's columns, in order, each one value. [`Rows::row`] serializes a row straight into a
//! [`Sink`], checking each field's name against the columns; nothing is built as JSON or text
//! first. The CSV writer's sink writes fields (neutralized text, plain numbers); the
//! workbook's writes cells typed by each column's kind.

use std::fmt::Write as _;

use serde::ser::{self, Impossible, Serialize};

/// Takes the cells of a row, each with the index of its column.
pub trait Sink {
    /// Text; also dates and other values serialized through `Display` (`collect_str`), enum
    /// variants and characters.
    fn text(&mut self, column: usize, s: &str) -> Result<(), Error>;
    /// A finite floating-point number.
    fn number(&mut self, column: usize, x: f64) -> Result<(), Error>;
    /// A whole number of any integer type.
    fn integer(&mut self, column: usize, x: i128) -> Result<(), Error>;
    fn boolean(&mut self, column: usize, b: bool) -> Result<(), Error>;
    /// No value: `None`, unit, or a number that is not finite (JSON has no NaN or infinity,
    /// so such a number is no value, as in the JSON outputs).
    fn none(&mut self, column: usize) -> Result<(), Error>;
    /// After the last cell of a row.
    fn end_row(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// A row that is not a flat record of the columns, or what a sink refused.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    pub fn new(msg: impl std::fmt::Display) -> Error {
        Error(msg.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::new(msg)
    }
}

/// Walks rows of `columns` into a sink.
pub struct Rows<'c, S> {
    pub sink: S,
    columns: &'c [&'c str],
    /// Index of the next column.
    next: usize,
    /// Reused for values serialized through `Display` (dates).
    text: String,
}

impl<'c, S: Sink> Rows<'c, S> {
    pub fn new(sink: S, columns: &'c [&'c str]) -> Self {
        Rows {
            sink,
            columns,
            next: 0,
            text: String::new(),
        }
    }

    /// Serializes one row into the sink: every column once, in order, then `end_row`.
    pub fn row<T: Serialize + ?Sized>(&mut self, row: &T) -> Result<(), Error> {
        self.next = 0;
        row.serialize(&mut *self)?;
        if self.next != self.columns.len() {
            return Err(Error(format!(
                "a row has {} fields, the columns are {:?}",
                self.next, self.columns
            )));
        }
        self.sink.end_row()
    }

    fn error(&self) -> Error {
        Error::new("a row is not a struct or map")
    }

    fn expect(&mut self, field: &str) -> Result<(), Error> {
        match self.columns.get(self.next) {
            Some(c) if *c == field => Ok(()),
            expected => Err(Error(format!(
                "columns {:?} do not match the row: field `{field}` where {} was expected",
                self.columns,
                expected.map_or("the end of the row".to_string(), |c| format!("`{c}`"))
            ))),
        }
    }

    /// A sink's error, named by its column.
    fn named(&self, column: usize, Error(m): Error) -> Error {
        Error(format!("column `{}`: {m}", self.columns[column]))
    }

    fn cell<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let column = self.next;
        self.next += 1;
        value.serialize(Cell { rows: self, column })
    }
}

/// Serializer methods that fail with `self.error()`: scalars taking one argument each.
macro_rules! refuse {
    ($($f:ident($($t:ty),*)),* $(,)?) => {
        $(fn $f(self, $(_: $t),*) -> Result<(), Error> { Err(self.error()) })*
    };
}

/// Serializer methods that fail with `self.error()`: every scalar but a string (a row is a
/// record, a key is a string).
macro_rules! refuse_scalars {
    () => {
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
    };
}

/// Serializer methods that hand an integer of their type to `self.integer`.
macro_rules! integers {
    ($($f:ident($t:ty)),* $(,)?) => {
        $(fn $f(self, v: $t) -> Result<(), Error> { self.integer(v) })*
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

impl<'a, 'c, S: Sink> ser::Serializer for &'a mut Rows<'c, S> {
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
    refuse_scalars!();
    refuse!(serialize_str(&str));
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

impl<S: Sink> ser::SerializeStruct for &mut Rows<'_, S> {
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
impl<S: Sink> ser::SerializeMap for &mut Rows<'_, S> {
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
struct Key<'r, 'c, S>(&'r mut Rows<'c, S>);

impl<S> Key<'_, '_, S> {
    fn error(&self) -> Error {
        Error::new("a row has a key that is not a string")
    }
}

impl<S: Sink> ser::Serializer for Key<'_, '_, S> {
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
    refuse_scalars!();
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

/// One cell of a row, handed to the sink.
struct Cell<'r, 'c, S> {
    rows: &'r mut Rows<'c, S>,
    column: usize,
}

impl<S> Cell<'_, '_, S> {
    fn error(&self) -> Error {
        Error(format!(
            "column `{}` holds a list or record, not one value",
            self.rows.columns[self.column]
        ))
    }
}

impl<S: Sink> Cell<'_, '_, S> {
    /// Hands the cell to the sink; what the sink refuses is named by its column.
    fn put(self, f: impl FnOnce(&mut S, usize) -> Result<(), Error>) -> Result<(), Error> {
        let Cell { rows, column } = self;
        f(&mut rows.sink, column).map_err(|e| rows.named(column, e))
    }

    fn number(self, x: f64) -> Result<(), Error> {
        if x.is_finite() {
            self.put(|s, c| s.number(c, x))
        } else {
            self.none()
        }
    }

    fn integer(self, x: impl Into<i128>) -> Result<(), Error> {
        let x = x.into();
        self.put(|s, c| s.integer(c, x))
    }

    fn text(self, v: &str) -> Result<(), Error> {
        self.put(|s, c| s.text(c, v))
    }

    fn none(self) -> Result<(), Error> {
        self.put(|s, c| s.none(c))
    }
}

impl<S: Sink> ser::Serializer for Cell<'_, '_, S> {
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
        self.put(|s, c| s.boolean(c, v))
    }
    integers!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
    );
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.number(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(self.error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.text(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    /// Dates and other `Display` values: formatted into a reused buffer, then text.
    fn collect_str<T: std::fmt::Display + ?Sized>(self, v: &T) -> Result<(), Error> {
        let Cell { rows, column } = self;
        let mut text = std::mem::take(&mut rows.text);
        text.clear();
        let _ = write!(text, "{v}");
        let out = Cell {
            rows: &mut *rows,
            column,
        }
        .text(&text);
        rows.text = text;
        out
    }
    refuse_compound!();
    refuse_records!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// Records what it is given.
    #[derive(Default)]
    struct Log(Vec<String>, bool);

    impl Sink for Log {
        fn text(&mut self, c: usize, s: &str) -> Result<(), Error> {
            self.0.push(format!("{c}:text:{s}"));
            Ok(())
        }
        fn number(&mut self, c: usize, x: f64) -> Result<(), Error> {
            self.0.push(format!("{c}:number:{x}"));
            Ok(())
        }
        fn integer(&mut self, c: usize, x: i128) -> Result<(), Error> {
            self.0.push(format!("{c}:integer:{x}"));
            Ok(())
        }
        fn boolean(&mut self, c: usize, b: bool) -> Result<(), Error> {
            if self.1 {
                return Err(Error::new("no booleans here"));
            }
            self.0.push(format!("{c}:boolean:{b}"));
            Ok(())
        }
        fn none(&mut self, c: usize) -> Result<(), Error> {
            self.0.push(format!("{c}:none"));
            Ok(())
        }
        fn end_row(&mut self) -> Result<(), Error> {
            self.0.push("end".into());
            Ok(())
        }
    }

    #[derive(Serialize)]
    struct Inner {
        ok: bool,
    }

    #[derive(Serialize)]
    struct Row {
        day: chrono::NaiveDate,
        n: u64,
        x: f64,
        y: f64,
        #[serde(flatten)]
        inner: Inner,
    }

    #[test]
    fn each_value_reaches_the_sink_by_its_type() {
        let row = Row {
            day: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            n: 7,
            x: -1.5,
            y: f64::INFINITY,
            inner: Inner { ok: true },
        };
        let mut rows = Rows::new(Log::default(), &["day", "n", "x", "y", "ok"]);
        rows.row(&row).unwrap();
        assert_eq!(
            rows.sink.0,
            [
                "0:text:2026-10-31",
                "1:integer:7",
                "2:number:-1.5",
                "3:none",
                "4:boolean:true",
                "end"
            ]
        );
    }

    #[test]
    fn a_sink_error_is_given_its_column() {
        #[derive(Serialize)]
        struct Flag {
            n: u8,
            flag: bool,
        }
        let mut rows = Rows::new(Log::default(), &["n", "flag"]);
        rows.sink.1 = true;
        let e = rows.row(&Flag { n: 1, flag: true }).unwrap_err();
        assert_eq!(e.to_string(), "column `flag`: no booleans here");
    }
}
