//! Cost exports as the spend source: CUR 2.0 and FOCUS 1.x files from AWS Data Exports
//! (Parquet, CSV or gzip CSV; one file or the directory tree an export writes), read lazily
//! with polars, reduced to Marketplace Bedrock rows and mapped into the usage table, daily.
//!
//! It sits beside `collect`: it builds the snapshot's usage table in place of Cost Explorer;
//! nothing after the snapshot reads an export. The format is detected per file from its
//! columns; a missing or mistyped column is an error naming the file and the column.
//!
//! String work (product suffix, timestamps, IAM principal ARNs, tag maps as JSON text) is done
//! on the distinct values only and joined back, so the crate needs no polars string features.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;
use polars::prelude::*;

use crate::model::usage::{self, epoch_days};
use crate::snapshot::{LedgerEntry, Table};
use crate::snapshot::{Snapshot, TableInfo};

/// The suffix AWS Marketplace gives Bedrock model products.
pub const BEDROCK_SUFFIX: &str = "(Amazon Bedrock Edition)";

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Data Exports `COST_AND_USAGE_REPORT` (CUR 2.0).
    Cur2,
    /// Data Exports `FOCUS_1_0_AWS` / `FOCUS_1_2_AWS`.
    Focus,
}

impl Format {
    /// The name on the command line and in the config: `cur2`, `focus`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Cur2 => "cur2",
            Format::Focus => "focus",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cur2" => Ok(Format::Cur2),
            "focus" => Ok(Format::Focus),
            _ => Err(format!("`{s}` is not `cur2` or `focus`")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Cur2 => "CUR 2.0",
            Format::Focus => "FOCUS",
        })
    }
}

/// Where each usage column comes from in one format (the Athena query reads the same ones:
/// `inputs::athena::sql`).
pub(crate) struct Spec {
    pub(crate) format: Format,
    /// A column only this format has.
    pub(crate) marker: &'static str,
    pub(crate) date: &'static str,
    pub(crate) account: &'static str,
    pub(crate) product: &'static str,
    /// The map column and key holding the product name when there is no flat column: CUR 2.0
    /// as Data Exports writes it has only `product['product_name']`.
    pub(crate) product_map: Option<(&'static str, &'static str)>,
    pub(crate) usage_type: Option<&'static str>,
    pub(crate) cost: &'static str,
    pub(crate) quantity: Option<&'static str>,
    pub(crate) public_cost: Option<&'static str>,
    pub(crate) caller: Option<&'static str>,
    /// Tag maps (JSON text or Parquet maps), in order of preference.
    pub(crate) tags: &'static [&'static str],
    /// The line item type / charge category column, and the values kept.
    pub(crate) kind: &'static str,
    pub(crate) kinds: &'static [&'static str],
    /// The value of `kind` for usage (other kinds are kept apart, without a public cost).
    pub(crate) usage_kind: &'static str,
    /// A column that must equal a value (CUR: the billing entity).
    pub(crate) entity: Option<(&'static str, &'static str)>,
}

/// The columns of a format.
pub(crate) fn spec(format: Format) -> &'static Spec {
    match format {
        Format::Cur2 => &CUR2,
        Format::Focus => &FOCUS,
    }
}

const CUR2: Spec = Spec {
    format: Format::Cur2,
    marker: "line_item_unblended_cost",
    date: "line_item_usage_start_date",
    account: "line_item_usage_account_id",
    product: "product_product_name",
    product_map: Some(("product", "product_name")),
    usage_type: Some("line_item_usage_type"),
    cost: "line_item_unblended_cost",
    quantity: Some("line_item_usage_amount"),
    public_cost: Some("pricing_public_on_demand_cost"),
    caller: Some("line_item_iam_principal"),
    tags: &["resource_tags", "tags"],
    kind: "line_item_line_item_type",
    kinds: &[
        "Usage",
        "Credit",
        "Refund",
        "Discount",
        "PrivateRateDiscount",
        "BundledDiscount",
        "EdpDiscount",
    ],
    usage_kind: "Usage",
    entity: Some(("bill_billing_entity", "AWS Marketplace")),
};

const FOCUS: Spec = Spec {
    format: Format::Focus,
    marker: "BilledCost",
    date: "ChargePeriodStart",
    account: "SubAccountId",
    product: "ServiceName",
    product_map: None,
    usage_type: Some("x_UsageType"),
    cost: "BilledCost",
    quantity: Some("ConsumedQuantity"),
    public_cost: Some("ListCost"),
    caller: None,
    tags: &["Tags"],
    kind: "ChargeCategory",
    kinds: &["Usage", "Credit", "Adjustment"],
    usage_kind: "Usage",
    entity: None,
};

/// Columns that must exist in a file of this format (the others are read when present; the
/// product name is checked apart, it may come from a map).
fn required(spec: &Spec) -> Vec<&'static str> {
    let mut cols = vec![spec.date, spec.account, spec.cost, spec.kind];
    if let Some((c, _)) = spec.entity {
        cols.push(c);
    }
    if spec.format == Format::Cur2 {
        cols.extend(spec.usage_type);
        cols.extend(spec.quantity);
    }
    cols
}

/// The usage table read from an export, and what it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Schema in [`crate::model::usage`].
    pub usage: DataFrame,
    /// Files read, with their format and the rows kept.
    pub files: Vec<(PathBuf, Format, u64)>,
    /// What could not be used (e.g. a tag map stored as a Parquet map).
    pub notes: Vec<String>,
    /// What of the export could not be read (billing periods of an export in S3), each a gap
    /// on the usage table: the run is incomplete.
    pub gaps: Vec<LedgerEntry>,
}

impl Loaded {
    /// Nothing read: an empty usage table (every period of an export in S3 a gap).
    pub fn empty(gaps: Vec<LedgerEntry>) -> Self {
        Self {
            usage: usage::conform(usage::UsageBuilder::default().finish())
                .expect("the usage schema"),
            files: Vec::new(),
            notes: Vec::new(),
            gaps,
        }
    }

    /// The text for the manifest's `tables.usage.source`.
    pub fn source(&self, path: &Path) -> String {
        let mut formats: Vec<String> = self.files.iter().map(|f| f.1.to_string()).collect();
        formats.sort();
        formats.dedup();
        if formats.is_empty() {
            return format!("cost-export:{} (0 files)", path.display());
        }
        format!(
            "cost-export:{} ({}; {} files)",
            path.display(),
            formats.join(", "),
            self.files.len()
        )
    }

    /// Replaces the snapshot's usage table (Cost Explorer's or the demo's) with this one and
    /// says so in the manifest; Cost Explorer gaps in the ledger no longer apply.
    pub fn replace_usage(self, snap: &mut Snapshot, path: &Path) {
        let source = self.source(path);
        // The run's `source` (summary.json) says where the spend came from too.
        snap.manifest.source = format!("{} with usage from {source}", snap.manifest.source);
        snap.manifest.tables.insert(
            Table::Usage.to_string(),
            TableInfo {
                rows: self.usage.height() as u64,
                source,
            },
        );
        snap.manifest
            .completeness
            .retain(|e| e.service != "cost-explorer");
        snap.manifest.completeness.extend(self.gaps);
        snap.manifest.completeness.sort();
        snap.usage = self.usage;
    }
}

/// Reads a cost export: one file, or every data file under a directory (Data Exports writes
/// `data/BILLING_PERIOD=YYYY-MM/*.parquet` plus JSON metadata, which is skipped).
pub fn read(path: &Path, team_tag_key: &str) -> Result<Loaded> {
    let files = data_files(path)?;
    if files.is_empty() {
        bail!(
            "no cost export file (`.parquet`, `.csv`, `.csv.gz`) under `{}`",
            path.display()
        );
    }
    let mut frames = Vec::with_capacity(files.len());
    let mut loaded = Loaded {
        usage: DataFrame::empty(),
        files: Vec::new(),
        notes: Vec::new(),
        gaps: Vec::new(),
    };
    for file in files {
        let (df, format) = read_file(&file, team_tag_key, &mut loaded.notes)
            .with_context(|| format!("in cost export `{}`", file.display()))?;
        loaded.files.push((file, format, df.height() as u64));
        frames.push(df.lazy());
    }
    loaded.usage = daily(concat(frames, UnionArgs::default())?)?;
    Ok(loaded)
}

/// Usage rows (the usage columns, not yet one per day and key) summed per day and key, sorted:
/// the usage table. The Athena source sums its rows the same way.
pub(crate) fn daily(rows: LazyFrame) -> Result<DataFrame> {
    let daily = rows
        .group_by([
            col(usage::DATE),
            col(usage::ACCOUNT_ID),
            col(usage::PRODUCT),
            col(usage::USAGE_TYPE),
            col(usage::TEAM_TAG),
            col(usage::CALLER_ACCOUNT_ID),
        ])
        .agg(sums())
        .sort(
            [
                usage::DATE,
                usage::ACCOUNT_ID,
                usage::PRODUCT,
                usage::USAGE_TYPE,
                usage::TEAM_TAG,
                usage::CALLER_ACCOUNT_ID,
            ],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()?;
    Ok(usage::conform(daily)?)
}

/// Sums of a group; the public cost stays null when no row of the group has one.
fn sums() -> Vec<Expr> {
    vec![
        col(usage::COST_USD).sum(),
        col(usage::USAGE_QUANTITY).sum(),
        when(col(usage::PUBLIC_COST_USD).count().gt(lit(0)))
            .then(col(usage::PUBLIC_COST_USD).sum())
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias(usage::PUBLIC_COST_USD),
    ]
}

/// Data files under `path`, sorted (the path itself when it is a file).
fn data_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("failed to read cost export `{}`", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("failed to list `{}`", dir.display()))?;
        for e in entries {
            let p = e
                .with_context(|| format!("failed to list `{}`", dir.display()))?
                .path();
            if p.is_dir() {
                dirs.push(p);
            } else if kind_of(&p).is_some() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Parquet,
    Csv,
    CsvGz,
}

fn kind_of(p: &Path) -> Option<FileKind> {
    let name = p.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".parquet") {
        Some(FileKind::Parquet)
    } else if name.ends_with(".csv.gz") {
        Some(FileKind::CsvGz)
    } else if name.ends_with(".csv") {
        Some(FileKind::Csv)
    } else {
        None
    }
}

/// A lazy scan of one file; CSV columns are all read as text and typed here.
fn scan(path: &Path) -> Result<LazyFrame> {
    let csv = |reader: LazyCsvReader| {
        reader
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .finish()
    };
    let text = path.to_str().with_context(|| "path is not UTF-8")?;
    Ok(
        match kind_of(path).with_context(|| "not a cost export file")? {
            FileKind::Parquet => {
                LazyFrame::scan_parquet(PlRefPath::new(text), ScanArgsParquet::default())?
            }
            FileKind::Csv => csv(LazyCsvReader::new(PlRefPath::new(text)))?,
            FileKind::CsvGz => {
                // Gzip has no random access: inflate once, then scan the bytes.
                let file = std::fs::File::open(path).context("failed to open")?;
                let mut bytes = Vec::new();
                flate2::read::MultiGzDecoder::new(file)
                    .read_to_end(&mut bytes)
                    .context("failed to decompress")?;
                csv(LazyCsvReader::new_with_sources(ScanSources::Buffers(
                    Arc::from([bytes.into()]),
                )))?
            }
        },
    )
}

/// Reads one file into usage rows (not yet daily).
fn read_file(
    path: &Path,
    team_tag_key: &str,
    notes: &mut Vec<String>,
) -> Result<(DataFrame, Format)> {
    let lf = scan(path)?;
    let schema = ctx(lf.clone().collect_schema(), "failed to read the columns")?;
    let spec = if schema.contains(CUR2.marker) {
        &CUR2
    } else if schema.contains(FOCUS.marker) {
        &FOCUS
    } else {
        bail!(
            "neither CUR 2.0 (no column `{}`) nor FOCUS (no column `{}`)",
            CUR2.marker,
            FOCUS.marker
        );
    };
    for c in required(spec) {
        if !schema.contains(c) {
            bail!("{} column `{c}` is missing", spec.format);
        }
    }
    // The product name: the flat column, else the key of the product map (CUR 2.0).
    let product_map = match spec.product_map {
        Some((map, key)) if !schema.contains(spec.product) && schema.contains(map) => {
            Some((map, key))
        }
        _ if schema.contains(spec.product) => None,
        _ => bail!("{} column `{}` is missing", spec.format, spec.product),
    };
    let present = |c: Option<&'static str>| c.filter(|c| schema.contains(c));
    let text_or_null = |c: Option<&'static str>| match c {
        Some(c) => col(c),
        None => lit(NULL).cast(DataType::String),
    };
    let check_type = |c: &str, ok: fn(&DataType) -> bool, want: &str| -> Result<()> {
        match schema.get(c) {
            Some(t) if !ok(t) => {
                bail!("{} column `{c}` has type {t}, expected {want}", spec.format)
            }
            _ => Ok(()),
        }
    };
    let is_text = |t: &DataType| matches!(t, DataType::String);
    let is_number = |t: &DataType| t.is_primitive_numeric() || matches!(t, DataType::String);
    let is_time = |t: &DataType| {
        matches!(
            t,
            DataType::String | DataType::Date | DataType::Datetime(_, _)
        )
    };
    let mut texts = vec![spec.account, spec.kind];
    if product_map.is_none() {
        texts.push(spec.product);
    }
    texts.extend(spec.entity.map(|e| e.0));
    texts.extend(present(spec.usage_type));
    texts.extend(present(spec.caller));
    for c in texts {
        check_type(c, is_text, "text")?;
    }
    let numbers: Vec<&str> = [
        Some(spec.cost),
        present(spec.quantity),
        present(spec.public_cost),
    ]
    .into_iter()
    .flatten()
    .collect();
    for &c in &numbers {
        check_type(c, is_number, "a number")?;
    }
    check_type(spec.date, is_time, "a timestamp")?;
    let tags = spec.tags.iter().copied().filter(|c| schema.contains(c));
    let mut tag_cols = Vec::new();
    for c in tags {
        if schema.get(c).is_some_and(is_text) {
            tag_cols.push((c, false));
        } else if schema.get(c).is_some_and(is_string_map) {
            tag_cols.push((c, true));
        } else {
            notes.push(format!(
                "`{}`: tag column `{c}` is neither JSON text nor a map of text ({}), team tags not read from it",
                path.display(),
                schema.get(c).map(|t| t.to_string()).unwrap_or_default()
            ));
        }
    }

    if let Some((map, _)) = product_map {
        if !schema.get(map).is_some_and(is_string_map) {
            bail!(
                "{} column `{map}` has type {}, expected a map of text",
                spec.format,
                schema.get(map).map(|t| t.to_string()).unwrap_or_default()
            );
        }
    }

    // Keep Marketplace Bedrock rows of the kept kinds, with only the columns used.
    let mut keep = col(spec.kind).eq(lit(spec.kinds[0]));
    for k in &spec.kinds[1..] {
        keep = keep.or(col(spec.kind).eq(lit(*k)));
    }
    if let Some((c, v)) = spec.entity {
        keep = keep.and(col(c).eq(lit(v)));
    }
    let mut select = vec![
        col(spec.date).alias("start"),
        col(spec.account).alias(usage::ACCOUNT_ID),
        match product_map {
            Some((map, _)) => col(map).alias(PRODUCT_MAP),
            None => col(spec.product).alias(usage::PRODUCT),
        },
        text_or_null(present(spec.usage_type)).alias("raw_usage_type"),
        col(spec.kind).alias("kind"),
        text_or_null(present(spec.caller)).alias("principal"),
    ];
    for (i, (c, _)) in tag_cols.iter().enumerate() {
        select.push(col(*c).alias(format!("tags{i}")));
    }
    for (name, c) in [
        ("raw_cost", Some(spec.cost)),
        ("raw_quantity", present(spec.quantity)),
        ("raw_public", present(spec.public_cost)),
    ] {
        select.push(match c {
            Some(c) => col(c).alias(name),
            None => lit(NULL).cast(DataType::Float64).alias(name),
        });
    }
    let rows = match product_map {
        None => {
            let bedrock = bedrock_products(&lf, spec.product)?;
            ctx(
                lf.filter(keep)
                    .join(
                        bedrock.lazy(),
                        [col(spec.product)],
                        [col(spec.product)],
                        JoinArgs::new(JoinType::Inner),
                    )
                    .select(select)
                    .collect(),
                "failed to read rows",
            )?
        }
        Some((_, key)) => {
            let rows = ctx(
                lf.filter(keep).select(select).collect(),
                "failed to read rows",
            )?;
            bedrock_rows_by_map(rows, key)?
        }
    };

    let rows = typed_numbers(rows, spec)?;
    let rows = with_date(rows, spec)?;
    let mut rows = mapped(rows, "principal", usage::CALLER_ACCOUNT_ID, caller_account)?;
    for (i, (_, is_map)) in tag_cols.iter().enumerate() {
        let (from, to) = (format!("tags{i}"), format!("team{i}"));
        if *is_map {
            let teams = map_lookup(rows.column(&from)?, |get| tag_lookup(get, team_tag_key))?;
            rows.with_column(Column::new(to.into(), teams))?;
        } else {
            let key = team_tag_key.to_string();
            rows = mapped(rows, &from, &to, move |s| tag_value(s, &key))?;
        }
    }
    let team = (0..tag_cols.len())
        .rev()
        .fold(lit(NULL).cast(DataType::String), |acc, i| {
            col(format!("team{i}")).fill_null(acc)
        });
    let is_usage = col("kind").eq(lit(spec.usage_kind));
    let df = rows
        .lazy()
        .select([
            col(usage::DATE),
            col(usage::ACCOUNT_ID),
            col(usage::PRODUCT),
            // Credits, refunds and discounts stay rows of their own, so a credit never makes
            // usage look billed below its public price.
            when(is_usage.clone())
                .then(col("raw_usage_type").fill_null(lit("")))
                .otherwise(col("kind"))
                .alias(usage::USAGE_TYPE),
            col("raw_cost").fill_null(lit(0.0)).alias(usage::COST_USD),
            col("raw_quantity")
                .fill_null(lit(0.0))
                .alias(usage::USAGE_QUANTITY),
            when(is_usage)
                .then(col("raw_public"))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias(usage::PUBLIC_COST_USD),
            team.alias(usage::TEAM_TAG),
            col(usage::CALLER_ACCOUNT_ID),
        ])
        .collect()?;
    Ok((df, spec.format))
}

/// Polars' result with our context (polars' prelude has a `Context`-like trait of its own).
fn ctx<T>(r: PolarsResult<T>, what: &str) -> Result<T> {
    r.map_err(anyhow::Error::from).context(what.to_string())
}

/// The distinct product names of the file that are Marketplace Bedrock models.
fn bedrock_products(lf: &LazyFrame, column: &str) -> Result<DataFrame> {
    let names = ctx(
        lf.clone().select([col(column).unique()]).collect(),
        "failed to read product names",
    )?;
    let c = names.column(column)?.str()?;
    let keep: Vec<&str> = c
        .iter()
        .flatten()
        .filter(|n| n.trim_end().ends_with(BEDROCK_SUFFIX))
        .collect();
    Ok(DataFrame::new(
        keep.len(),
        vec![Column::new(column.into(), keep)],
    )?)
}

/// The selected product map column's name while rows are read.
const PRODUCT_MAP: &str = "product_map";

/// A Parquet map of text to text, as polars reads it: a list of key/value structs.
fn is_string_map(t: &DataType) -> bool {
    match t {
        DataType::List(inner) => match inner.as_ref() {
            DataType::Struct(fields) => {
                fields.len() == 2 && fields.iter().all(|f| f.dtype() == &DataType::String)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Each row's answer of `pick` over its map (a list of key/value structs), `pick` given a
/// lookup of one key; a null map is an empty one.
fn map_lookup(
    column: &Column,
    pick: impl Fn(&dyn Fn(&str) -> Option<String>) -> Option<String>,
) -> Result<Vec<Option<String>>> {
    let list = column.list()?;
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let Some(entries) = list.get_as_series(i) else {
            out.push(pick(&|_| None));
            continue;
        };
        let fields = entries.struct_()?.fields_as_series();
        let (keys, values) = (fields[0].str()?.clone(), fields[1].str()?.clone());
        let get = |want: &str| {
            (0..keys.len())
                .find(|&i| keys.get(i) == Some(want))
                .and_then(|i| values.get(i))
                .map(str::to_string)
        };
        out.push(pick(&get));
    }
    Ok(out)
}

/// Rows whose product map names a Marketplace Bedrock product under `key`, with that name as
/// the product.
fn bedrock_rows_by_map(rows: DataFrame, key: &str) -> Result<DataFrame> {
    let names = map_lookup(rows.column(PRODUCT_MAP)?, |get| get(key))?;
    let keep: BooleanChunked = names
        .iter()
        .map(|n| {
            n.as_deref()
                .is_some_and(|n| n.trim_end().ends_with(BEDROCK_SUFFIX))
        })
        .collect();
    let mut rows = rows;
    rows.with_column(Column::new(usage::PRODUCT.into(), names))?;
    Ok(rows.drop(PRODUCT_MAP)?.filter(&keep)?)
}

/// Casts the money and quantity columns to float64; a text value that is not a number is an
/// error naming the column and the value.
fn typed_numbers(df: DataFrame, spec: &Spec) -> Result<DataFrame> {
    let names = [
        ("raw_cost", Some(spec.cost)),
        ("raw_quantity", spec.quantity),
        ("raw_public", spec.public_cost),
    ];
    let mut df = df;
    for (name, source) in names {
        let raw = df.column(name)?.clone();
        let typed = raw.cast(&DataType::Float64)?;
        if raw.dtype() == &DataType::String {
            let text = raw.str()?;
            let num = typed.f64()?;
            if let Some(bad) = (0..df.height()).find_map(|i| {
                text.get(i)
                    .filter(|s| !s.trim().is_empty() && num.get(i).is_none())
            }) {
                bail!(
                    "{} column `{}` has `{bad}`, expected a number",
                    spec.format,
                    source.unwrap_or(name)
                );
            }
        }
        df.with_column(typed.with_name(name.into()))?;
    }
    Ok(df)
}

/// Adds `date` (the usage day, UTC) from the start timestamp (text, date or datetime).
fn with_date(df: DataFrame, spec: &Spec) -> Result<DataFrame> {
    let start = df.column("start")?;
    match start.dtype() {
        DataType::String => {
            let values = start.str()?;
            let mut bad = None;
            let days: Vec<Option<i32>> = values
                .iter()
                .map(|v| {
                    let d = v.and_then(parse_day);
                    if d.is_none() && bad.is_none() {
                        bad = Some(v.unwrap_or("").to_string());
                    }
                    d.map(epoch_days)
                })
                .collect();
            if let Some(v) = bad {
                bail!(
                    "{} column `{}` has `{v}`, expected a timestamp",
                    spec.format,
                    spec.date
                );
            }
            let date = Column::new(usage::DATE.into(), days).cast(&DataType::Date)?;
            let mut df = df;
            df.with_column(date)?;
            Ok(df)
        }
        _ => Ok(df
            .lazy()
            .with_column(col("start").cast(DataType::Date).alias(usage::DATE))
            .collect()?),
    }
}

/// The UTC day of an export timestamp: RFC 3339 (`2026-10-01T00:00:00Z`), or text starting
/// with `YYYY-MM-DD`.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc).date_naive());
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Adds `out`, computed by `f` from each distinct value of the text column `column`.
fn mapped(
    df: DataFrame,
    column: &str,
    out: &str,
    f: impl Fn(&str) -> Option<String>,
) -> Result<DataFrame> {
    let distinct = df.column(column)?.unique()?;
    let values = distinct.str()?;
    let mut map: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for v in values.iter().flatten() {
        map.insert(v, f(v));
    }
    let (keys, outs): (Vec<&str>, Vec<Option<String>>) = map.into_iter().unzip();
    let table = DataFrame::new(
        keys.len(),
        vec![
            Column::new(column.into(), keys),
            Column::new(out.into(), outs),
        ],
    )?;
    Ok(df
        .lazy()
        .join(
            table.lazy(),
            [col(column)],
            [col(column)],
            JoinArgs::new(JoinType::Left),
        )
        .collect()?)
}

/// The account id in an IAM or STS principal ARN (`arn:aws:iam::111122223333:role/x`,
/// `arn:aws:sts::111122223333:assumed-role/x/y`), or a bare 12-digit id.
pub fn caller_account(principal: &str) -> Option<String> {
    let p = principal.trim();
    let id = if p.starts_with("arn:") {
        p.split(':').nth(4)?
    } else {
        p
    };
    crate::model::is_account_id(id).then(|| id.to_string())
}

/// The team from a tag map written as JSON text: the user tag `key` as CUR 2.0 writes it
/// (`user_<key>`), as FOCUS does (`user:<key>`), bare, then the IAM principal tag
/// (`iamPrincipal/<key>`).
pub fn tag_value(json: &str, key: &str) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    let get = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_string);
    tag_lookup(&get, key)
}

/// The team in one tag map, given a lookup of one key: the first of the keys [`tag_value`]
/// names whose value is not blank, trimmed.
fn tag_lookup(get: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    [
        format!("user_{key}"),
        format!("user:{key}"),
        key.to_string(),
        format!("iamPrincipal/{key}"),
    ]
    .iter()
    .find_map(|k| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_from_principal() {
        assert_eq!(
            caller_account("arn:aws:sts::111122223333:assumed-role/App/i-1").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            caller_account("arn:aws:iam::444455556666:user/alice").as_deref(),
            Some("444455556666")
        );
        assert_eq!(caller_account("arn:aws:iam::aws:policy/x"), None);
        assert_eq!(caller_account(""), None);
    }

    #[test]
    fn team_from_tag_maps() {
        assert_eq!(
            tag_value(r#"{"user_team":"payments","user_env":"prod"}"#, "team").as_deref(),
            Some("payments")
        );
        assert_eq!(
            tag_value(r#"{"iamPrincipal/team":"search"}"#, "team").as_deref(),
            Some("search")
        );
        assert_eq!(tag_value(r#"{"user_team":" "}"#, "team"), None);
        assert_eq!(tag_value("not json", "team"), None);
    }

    #[test]
    fn export_timestamps() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 1);
        assert_eq!(parse_day("2026-10-01T23:00:00Z"), d);
        assert_eq!(parse_day("2026-10-01T23:00:00.000Z"), d);
        assert_eq!(parse_day("2026-10-02T01:00:00+02:00"), d);
        assert_eq!(parse_day("2026-10-01 05:00:00"), d);
        assert_eq!(parse_day("yesterday"), None);
    }
}
