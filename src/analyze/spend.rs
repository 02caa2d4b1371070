//! Spend per coverage segment, computed columnar: the usage table is joined to the segments
//! by (account, product) and summed per segment in polars, never row by row.

use std::collections::BTreeSet;

use anyhow::{ensure, Result};
use polars::prelude::*;

use super::context::Context;
use super::coverage::{Segment, Spend};
use crate::model::usage::{self, epoch_days, from_epoch_days};

/// Spend that matches no organization license, per (account, usage product).
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    pub account_id: String,
    pub product: String,
    pub spend: Spend,
}

/// The usage of the window, with its product key.
pub struct WindowUsage {
    /// Usage rows of the window plus `product_key` (null when unmapped) and `day` (i32),
    /// materialized once: every consumer scans it instead of re-running the selection.
    frame: DataFrame,
    pub total: Spend,
    /// Rows of the snapshot outside the window (kept out of every total, and said so).
    pub rows_outside_window: u64,
    pub cost_outside_window_usd: f64,
}

pub const PRODUCT_KEY: &str = "product_key";
pub const DAY: &str = "day";

/// Selects the window's usage and resolves each row's product.
pub fn window_usage(cx: &Context) -> Result<WindowUsage> {
    let start = epoch_days(cx.window_start);
    let end = epoch_days(cx.as_of);
    let base = cx
        .snap
        .usage
        .clone()
        .lazy()
        .with_column(col(usage::DATE).cast(DataType::Int32).alias(DAY));
    let in_window = col(DAY).gt_eq(lit(start)).and(col(DAY).lt_eq(lit(end)));

    let outside = base
        .clone()
        .filter(in_window.clone().not())
        .select([
            len().alias("rows"),
            col(usage::COST_USD).sum().alias("cost"),
        ])
        .collect()?;
    let rows_outside_window = outside
        .column("rows")?
        .cast(&DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0);
    let cost_outside_window_usd = outside.column("cost")?.f64()?.get(0).unwrap_or(0.0);

    let frame = with_product_key(cx, base.filter(in_window))?.collect()?;
    let total = frame.clone().lazy().select(aggregates()).collect()?;
    let total = spend_at(&total, 0)?;
    Ok(WindowUsage {
        frame,
        total,
        rows_outside_window,
        cost_outside_window_usd,
    })
}

/// Adds `product_key` (null when the usage product matches no organization license) to usage
/// rows: the distinct product names are resolved once and joined back.
pub fn with_product_key(cx: &Context, usage_rows: LazyFrame) -> Result<LazyFrame> {
    let services = usage_rows
        .clone()
        .select([col(usage::PRODUCT).unique()])
        .collect()?;
    let services = services.column(usage::PRODUCT)?.str()?;
    let names: Vec<String> = (0..services.len())
        .map(|i| services.get(i).unwrap_or_default().to_string())
        .collect();
    let keys: Vec<Option<String>> = names
        .iter()
        .map(|s| cx.products.resolve(s).map(str::to_string))
        .collect();
    let mapping = DataFrame::new(
        names.len(),
        vec![
            Column::new(usage::PRODUCT.into(), names),
            Column::new(PRODUCT_KEY.into(), keys),
        ],
    )?;
    Ok(usage_rows.join(
        mapping.lazy(),
        [col(usage::PRODUCT)],
        [col(usage::PRODUCT)],
        JoinArgs::new(JoinType::Left),
    ))
}

impl WindowUsage {
    /// The window's rows, for a query.
    pub fn lazy(&self) -> LazyFrame {
        self.frame.clone().lazy()
    }
}

/// (account, product key) pairs with mapped spend in the window.
pub fn spend_pairs(w: &WindowUsage) -> Result<BTreeSet<(String, String)>> {
    let df = w
        .lazy()
        .filter(col(PRODUCT_KEY).is_not_null())
        .select([col(usage::ACCOUNT_ID), col(PRODUCT_KEY)])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let a = df.column(usage::ACCOUNT_ID)?.str()?;
    let k = df.column(PRODUCT_KEY)?.str()?;
    Ok((0..df.height())
        .map(|i| {
            (
                a.get(i).unwrap_or_default().to_string(),
                k.get(i).unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// Fills each segment's spend and returns the unmapped spend; checks that every cent of the
/// window landed in exactly one place.
pub fn attribute(w: &WindowUsage, segments: &mut [Segment]) -> Result<Vec<Unmapped>> {
    let n = segments.len();
    let seg = DataFrame::new(
        n,
        vec![
            Column::new(
                usage::ACCOUNT_ID.into(),
                segments
                    .iter()
                    .map(|s| s.account_id.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                PRODUCT_KEY.into(),
                segments
                    .iter()
                    .map(|s| s.product_key.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new("seg".into(), (0..n as u32).collect::<Vec<_>>()),
            Column::new(
                "seg_from".into(),
                segments
                    .iter()
                    .map(|s| epoch_days(s.from))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "seg_to".into(),
                segments
                    .iter()
                    .map(|s| epoch_days(s.to))
                    .collect::<Vec<_>>(),
            ),
        ],
    )?;
    let per_segment = w
        .lazy()
        .filter(col(PRODUCT_KEY).is_not_null())
        .join(
            seg.lazy(),
            [col(usage::ACCOUNT_ID), col(PRODUCT_KEY)],
            [col(usage::ACCOUNT_ID), col(PRODUCT_KEY)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col(DAY)
                .gt_eq(col("seg_from"))
                .and(col(DAY).lt_eq(col("seg_to"))),
        )
        .group_by([col("seg")])
        .agg(aggregates())
        .collect()?;
    let ids = per_segment.column("seg")?.u32()?;
    for i in 0..per_segment.height() {
        if let Some(id) = ids.get(i) {
            segments[id as usize].spend = spend_at(&per_segment, i)?;
        }
    }

    let unmapped_df = w
        .lazy()
        .filter(col(PRODUCT_KEY).is_null())
        .group_by([col(usage::ACCOUNT_ID), col(usage::PRODUCT)])
        .agg(aggregates())
        .sort(
            [usage::ACCOUNT_ID, usage::PRODUCT],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let a = unmapped_df.column(usage::ACCOUNT_ID)?.str()?;
    let p = unmapped_df.column(usage::PRODUCT)?.str()?;
    let mut unmapped = Vec::with_capacity(unmapped_df.height());
    for i in 0..unmapped_df.height() {
        unmapped.push(Unmapped {
            account_id: a.get(i).unwrap_or_default().to_string(),
            product: p.get(i).unwrap_or_default().to_string(),
            spend: spend_at(&unmapped_df, i)?,
        });
    }

    let mut placed = Spend::default();
    segments.iter().for_each(|s| placed.add(&s.spend));
    unmapped.iter().for_each(|u| placed.add(&u.spend));
    ensure!(
        placed.rows == w.total.rows && (placed.cost_usd - w.total.cost_usd).abs() < 0.005,
        "spend does not reconcile: {} rows / ${:.2} placed, {} rows / ${:.2} in the window",
        placed.rows,
        placed.cost_usd,
        w.total.rows,
        w.total.cost_usd
    );
    Ok(unmapped)
}

/// The sums every spend figure is made of.
fn aggregates() -> Vec<Expr> {
    // Only usage billed at some rate says what the rate was: a credit or refund (negative
    // cost, public cost often zero in CUR) would skew the private/public ratio.
    let rated = col(usage::PUBLIC_COST_USD)
        .gt(lit(0.0))
        .and(col(usage::COST_USD).gt(lit(0.0)));
    vec![
        col(usage::COST_USD).sum().alias("cost"),
        when(rated.clone())
            .then(col(usage::PUBLIC_COST_USD))
            .otherwise(lit(0.0))
            .sum()
            .alias("public"),
        when(rated)
            .then(col(usage::COST_USD))
            .otherwise(lit(0.0))
            .sum()
            .alias("cost_with_public"),
        len().alias("rows"),
        col(DAY).min().alias("first"),
        col(DAY).max().alias("last"),
    ]
}

fn spend_at(df: &DataFrame, i: usize) -> Result<Spend> {
    let f = |name: &str| -> Result<f64> {
        Ok(df
            .column(name)?
            .cast(&DataType::Float64)?
            .f64()?
            .get(i)
            .unwrap_or(0.0))
    };
    let d = |name: &str| -> Result<Option<chrono::NaiveDate>> {
        Ok(df
            .column(name)?
            .cast(&DataType::Int32)?
            .i32()?
            .get(i)
            .map(from_epoch_days))
    };
    Ok(Spend {
        cost_usd: f("cost")?,
        public_cost_usd: f("public")?,
        cost_with_public_usd: f("cost_with_public")?,
        rows: f("rows")? as u64,
        first_day: d("first")?,
        last_day: d("last")?,
    })
}
