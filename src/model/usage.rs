//! The usage table: daily Marketplace model spend, one row per (date, account, product, usage
//! type[, tag]). It can hold millions of rows, so it lives in a polars frame with this schema.

use chrono::NaiveDate;
use polars::prelude::*;

pub const DATE: &str = "date";
pub const ACCOUNT_ID: &str = "account_id";
pub const PRODUCT: &str = "product";
pub const USAGE_TYPE: &str = "usage_type";
pub const COST_USD: &str = "cost_usd";
pub const USAGE_QUANTITY: &str = "usage_quantity";
pub const PUBLIC_COST_USD: &str = "public_cost_usd";
pub const TEAM_TAG: &str = "team_tag";
pub const CALLER_ACCOUNT_ID: &str = "caller_account_id";

/// Column names and types, in order. Nullable: `public_cost_usd`, `team_tag`, `caller_account_id`.
pub fn schema() -> Schema {
    Schema::from_iter([
        Field::new(DATE.into(), DataType::Date),
        Field::new(ACCOUNT_ID.into(), DataType::String),
        Field::new(PRODUCT.into(), DataType::String),
        Field::new(USAGE_TYPE.into(), DataType::String),
        Field::new(COST_USD.into(), DataType::Float64),
        Field::new(USAGE_QUANTITY.into(), DataType::Float64),
        Field::new(PUBLIC_COST_USD.into(), DataType::Float64),
        Field::new(TEAM_TAG.into(), DataType::String),
        Field::new(CALLER_ACCOUNT_ID.into(), DataType::String),
    ])
}

/// Checks that a frame has every usage column with the right type, naming the first one that
/// does not, and returns it with the columns in schema order.
pub fn conform(df: DataFrame) -> PolarsResult<DataFrame> {
    let want = schema();
    for (name, dtype) in want.iter() {
        let got = df
            .column(name.as_str())
            .map_err(|_| polars_err!(ColumnNotFound: "usage column `{}` is missing", name))?;
        if got.dtype() != dtype && got.dtype() != &DataType::Null {
            polars_bail!(SchemaMismatch: "usage column `{}` has type {} (expected {})", name, got.dtype(), dtype);
        }
    }
    let names: Vec<PlSmallStr> = want.iter_names().cloned().collect();
    let mut out = df.select(names)?;
    // An all-null column may come back untyped; give it its declared type.
    for (name, dtype) in want.iter() {
        if out.column(name.as_str())?.dtype() == &DataType::Null {
            let c = out.column(name.as_str())?.cast(dtype)?;
            out.with_column(c)?;
        }
    }
    Ok(out)
}

/// Builds a usage frame row by row (demo data, collectors, tests) without a `String` per
/// text cell: generators and collectors append millions of rows.
#[derive(Clone)]
pub struct UsageBuilder {
    date: Vec<i32>,
    account_id: StringChunkedBuilder,
    product: StringChunkedBuilder,
    usage_type: StringChunkedBuilder,
    cost_usd: Vec<f64>,
    usage_quantity: Vec<f64>,
    public_cost_usd: Vec<Option<f64>>,
    team_tag: StringChunkedBuilder,
    caller_account_id: StringChunkedBuilder,
}

impl Default for UsageBuilder {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// One usage row, owned; see [`UsageRef`] for the borrowed form.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub date: NaiveDate,
    pub account_id: String,
    pub product: String,
    pub usage_type: String,
    pub cost_usd: f64,
    pub usage_quantity: f64,
    pub public_cost_usd: Option<f64>,
    pub team_tag: Option<String>,
    pub caller_account_id: Option<String>,
}

/// One usage row, borrowed, for [`UsageBuilder::push_ref`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageRef<'a> {
    pub date: NaiveDate,
    pub account_id: &'a str,
    pub product: &'a str,
    pub usage_type: &'a str,
    pub cost_usd: f64,
    pub usage_quantity: f64,
    pub public_cost_usd: Option<f64>,
    pub team_tag: Option<&'a str>,
    pub caller_account_id: Option<&'a str>,
}

/// Days since 1970-01-01, polars' physical representation of a date.
pub fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32
}

/// The inverse of [`epoch_days`].
pub fn from_epoch_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date") + chrono::Duration::days(days as i64)
}

impl UsageBuilder {
    pub fn with_capacity(n: usize) -> Self {
        let text = |name: &str| StringChunkedBuilder::new(name.into(), n);
        Self {
            date: Vec::with_capacity(n),
            account_id: text(ACCOUNT_ID),
            product: text(PRODUCT),
            usage_type: text(USAGE_TYPE),
            cost_usd: Vec::with_capacity(n),
            usage_quantity: Vec::with_capacity(n),
            public_cost_usd: Vec::with_capacity(n),
            team_tag: text(TEAM_TAG),
            caller_account_id: text(CALLER_ACCOUNT_ID),
        }
    }

    pub fn push(&mut self, r: UsageRow) {
        self.push_ref(&UsageRef {
            date: r.date,
            account_id: &r.account_id,
            product: &r.product,
            usage_type: &r.usage_type,
            cost_usd: r.cost_usd,
            usage_quantity: r.usage_quantity,
            public_cost_usd: r.public_cost_usd,
            team_tag: r.team_tag.as_deref(),
            caller_account_id: r.caller_account_id.as_deref(),
        });
    }

    pub fn push_ref(&mut self, r: &UsageRef<'_>) {
        self.date.push(epoch_days(r.date));
        self.account_id.append_value(r.account_id);
        self.product.append_value(r.product);
        self.usage_type.append_value(r.usage_type);
        self.cost_usd.push(r.cost_usd);
        self.usage_quantity.push(r.usage_quantity);
        self.public_cost_usd.push(r.public_cost_usd);
        self.team_tag.append_option(r.team_tag);
        self.caller_account_id.append_option(r.caller_account_id);
    }

    pub fn len(&self) -> usize {
        self.date.len()
    }

    pub fn is_empty(&self) -> bool {
        self.date.is_empty()
    }

    pub fn finish(self) -> DataFrame {
        let height = self.date.len();
        let date = Column::new(DATE.into(), self.date)
            .cast(&DataType::Date)
            .expect("i32 casts to date");
        DataFrame::new(
            height,
            vec![
                date,
                self.account_id.finish().into_column(),
                self.product.finish().into_column(),
                self.usage_type.finish().into_column(),
                Column::new(COST_USD.into(), self.cost_usd),
                Column::new(USAGE_QUANTITY.into(), self.usage_quantity),
                Column::new(PUBLIC_COST_USD.into(), self.public_cost_usd),
                self.team_tag.finish().into_column(),
                self.caller_account_id.finish().into_column(),
            ],
        )
        .expect("columns have equal length")
    }
}

/// Reads a usage frame back into rows (small frames only: tests and reports of a few rows).
pub fn rows(df: &DataFrame) -> PolarsResult<Vec<UsageRow>> {
    let date = df.column(DATE)?.cast(&DataType::Int32)?;
    let date = date.i32()?;
    let account = df.column(ACCOUNT_ID)?.str()?;
    let product = df.column(PRODUCT)?.str()?;
    let usage_type = df.column(USAGE_TYPE)?.str()?;
    let cost = df.column(COST_USD)?.f64()?;
    let qty = df.column(USAGE_QUANTITY)?.f64()?;
    let public = df.column(PUBLIC_COST_USD)?.f64()?;
    let team = df.column(TEAM_TAG)?.str()?;
    let caller = df.column(CALLER_ACCOUNT_ID)?.str()?;
    Ok((0..df.height())
        .map(|i| UsageRow {
            date: from_epoch_days(date.get(i).unwrap_or_default()),
            account_id: account.get(i).unwrap_or_default().to_string(),
            product: product.get(i).unwrap_or_default().to_string(),
            usage_type: usage_type.get(i).unwrap_or_default().to_string(),
            cost_usd: cost.get(i).unwrap_or_default(),
            usage_quantity: qty.get(i).unwrap_or_default(),
            public_cost_usd: public.get(i),
            team_tag: team.get(i).map(str::to_string),
            caller_account_id: caller.get(i).map(str::to_string),
        })
        .collect())
}
