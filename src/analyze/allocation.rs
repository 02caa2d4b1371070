//! Cost allocation: the window's Marketplace model spend by month, team, product and account,
//! each row saying how its team was found. Computed columnar in polars.
//!
//! Precedence: the cost-allocation tag on the usage row, then the account's team tag, then
//! the longest matching OU-path rule from the config, else unallocated.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use chrono::{Datelike, Duration};
use polars::prelude::*;
use serde::Serialize;

use super::context::Context;
use super::coverage::Spend;
use super::spend::WindowUsage;
use crate::model::usage::{self, epoch_days};

/// Spend of one (month, team, method, product, account).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationRow {
    /// `YYYY-MM`.
    pub month: String,
    /// Empty when unallocated.
    pub team: String,
    /// `cost-allocation-tag`, `account-tag`, `ou-rule` or `unallocated`.
    pub method: String,
    pub product: String,
    pub account_id: String,
    pub account_name: String,
    pub cost_usd: f64,
    pub rows: u64,
}

pub const UNALLOCATED: &str = "unallocated";

/// Allocates the window's usage. The rows' total equals the window's usage total to the cent.
pub fn allocate(cx: &Context, w: &WindowUsage) -> Result<Vec<AllocationRow>> {
    let mut ids = Vec::new();
    let mut teams = Vec::new();
    let mut methods = Vec::new();
    let mut names = Vec::new();
    for a in &cx.snap.accounts {
        let t = cx.account_team(a);
        ids.push(a.id.clone());
        names.push(a.name.clone());
        teams.push(t.as_ref().map(|(t, _)| t.clone()));
        methods.push(t.map(|(_, m)| m));
    }
    let accounts = DataFrame::new(
        ids.len(),
        vec![
            Column::new(usage::ACCOUNT_ID.into(), ids),
            Column::new("account_team".into(), teams),
            Column::new("account_method".into(), methods),
            Column::new("account_name".into(), names),
        ],
    )?;
    let (keys, product_names): (Vec<String>, Vec<String>) = cx
        .products
        .names
        .iter()
        .map(|(k, n)| (k.clone(), n.clone()))
        .unzip();
    let products = DataFrame::new(
        keys.len(),
        vec![
            Column::new("product_key".into(), keys),
            Column::new("product_name".into(), product_names),
        ],
    )?;
    let mut days = Vec::new();
    let mut months = Vec::new();
    let mut d = cx.window_start;
    while d <= cx.as_of {
        days.push(epoch_days(d));
        months.push(format!("{:04}-{:02}", d.year(), d.month()));
        d += Duration::days(1);
    }
    let calendar = DataFrame::new(
        days.len(),
        vec![
            Column::new("day".into(), days),
            Column::new("month".into(), months),
        ],
    )?;

    let tagged = col(usage::TEAM_TAG)
        .is_not_null()
        .and(col(usage::TEAM_TAG).neq(lit("")));
    let left =
        |other: DataFrame, key: &str| (other.lazy(), col(key), JoinArgs::new(JoinType::Left));
    let mut lf = w.lazy();
    for (other, key, args) in [
        left(accounts, usage::ACCOUNT_ID),
        left(products, "product_key"),
        left(calendar, "day"),
    ] {
        lf = lf.join(other, [key.clone()], [key], args);
    }
    let df = lf
        .with_columns([
            when(tagged.clone())
                .then(col(usage::TEAM_TAG))
                .otherwise(col("account_team").fill_null(lit("")))
                .alias("team"),
            when(tagged)
                .then(lit("cost-allocation-tag"))
                .otherwise(col("account_method").fill_null(lit(UNALLOCATED)))
                .alias("method"),
            col("product_name")
                .fill_null(col(usage::PRODUCT))
                .alias("product_out"),
            col("account_name").fill_null(lit("")),
        ])
        .group_by([
            col("month"),
            col("team"),
            col("method"),
            col("product_out"),
            col(usage::ACCOUNT_ID),
            col("account_name"),
        ])
        .agg([
            col(usage::COST_USD).sum().alias("cost"),
            len().alias("rows"),
        ])
        .sort(
            ["month", "team", "method", "product_out", usage::ACCOUNT_ID],
            SortMultipleOptions::default(),
        )
        .collect()?;

    let text = |name: &str| -> Result<Vec<String>> {
        let c = df.column(name)?.str()?;
        Ok((0..c.len())
            .map(|i| c.get(i).unwrap_or_default().to_string())
            .collect())
    };
    let (month, team, method, product, account, account_name) = (
        text("month")?,
        text("team")?,
        text("method")?,
        text("product_out")?,
        text(usage::ACCOUNT_ID)?,
        text("account_name")?,
    );
    let cost = df.column("cost")?.f64()?;
    let rows = df.column("rows")?.cast(&DataType::UInt64)?;
    let rows = rows.u64()?;
    let out: Vec<AllocationRow> = (0..df.height())
        .map(|i| AllocationRow {
            month: month[i].clone(),
            team: team[i].clone(),
            method: method[i].clone(),
            product: product[i].clone(),
            account_id: account[i].clone(),
            account_name: account_name[i].clone(),
            cost_usd: cost.get(i).unwrap_or(0.0),
            rows: rows.get(i).unwrap_or(0),
        })
        .collect();
    let total: f64 = out.iter().map(|r| r.cost_usd).sum();
    let total_rows: u64 = out.iter().map(|r| r.rows).sum();
    ensure!(
        total_rows == w.total.rows && (total - w.total.cost_usd).abs() < 0.005,
        "cost allocation does not reconcile: ${total:.2} in {total_rows} rows allocated, ${:.2} in {} rows of usage",
        w.total.cost_usd,
        w.total.rows
    );
    Ok(out)
}

/// Unallocated spend per account.
pub fn unallocated(rows: &[AllocationRow]) -> BTreeMap<String, Spend> {
    let mut out: BTreeMap<String, Spend> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.method == UNALLOCATED) {
        let s = out.entry(r.account_id.clone()).or_default();
        s.cost_usd += r.cost_usd;
        s.rows += r.rows;
    }
    out
}
