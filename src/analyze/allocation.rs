//! Cost allocation: the window's Marketplace model spend by month, team, product and account,
//! each row saying how its team was found. Computed columnar in polars.
//!
//! First, spend billed to the subscriber whose line item names another account as the caller
//! (CUR 2.0 `line_item_iam_principal`) is moved to that account: it used it. Then the methods
//! of `allocation_precedence` are tried in order (default: the cost-allocation tag on the usage
//! row, the subscriber's shared pool for its spend that names no caller, the using account's
//! team tag, the longest matching OU-path rule); a row none of them attributes is unallocated.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use chrono::{Datelike, Duration};
use polars::prelude::*;
use serde::Serialize;

use super::context::Context;
use super::coverage::Spend;
use super::spend::WindowUsage;
use crate::config::{ACCOUNT_TAG, COST_ALLOCATION_TAG, OU_RULE, SHARED_POOL};
use crate::model::usage::{self, epoch_days};

/// Spend of one (month, team, method, product, billed account, using account).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationRow {
    /// `YYYY-MM`.
    pub month: String,
    /// Empty when unallocated or in the shared pool.
    pub team: String,
    /// `cost-allocation-tag`, `shared-pool`, `account-tag`, `ou-rule` or `unallocated`.
    pub method: String,
    pub product: String,
    /// The account the usage was billed to.
    pub account_id: String,
    pub account_name: String,
    pub cost_usd: f64,
    pub rows: u64,
    /// The account that used it: the caller named by the line item when the subscriber was
    /// billed for it, else the billed account; empty for the shared pool.
    pub used_by_account_id: String,
    pub used_by_account_name: String,
    /// Moved from the subscriber to the caller named by the line item.
    pub redistributed: bool,
}

pub const UNALLOCATED: &str = "unallocated";

const USED_BY: &str = "used_by_account_id";
const REDISTRIBUTED: &str = "redistributed";

/// Allocates the window's usage. The rows' total equals the window's usage total to the cent,
/// and so does each billed account's.
pub fn allocate(cx: &Context, w: &WindowUsage) -> Result<Vec<AllocationRow>> {
    let mut ids = Vec::new();
    let mut tag_teams = Vec::new();
    let mut ou_teams = Vec::new();
    let mut names = Vec::new();
    for a in &cx.snap.accounts {
        ids.push(a.id.clone());
        names.push(a.name.clone());
        tag_teams.push(cx.tag_team(a));
        ou_teams.push(cx.ou_rule_team(a));
    }
    let accounts = DataFrame::new(
        ids.len(),
        vec![
            Column::new(USED_BY.into(), ids.clone()),
            Column::new("tag_team".into(), tag_teams),
            Column::new("ou_team".into(), ou_teams),
            Column::new("used_by_name".into(), names.clone()),
        ],
    )?;
    let billed_names = DataFrame::new(
        ids.len(),
        vec![
            Column::new(usage::ACCOUNT_ID.into(), ids),
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

    let subscriber = lit(cx.subscriber());
    let to_subscriber = col(usage::ACCOUNT_ID).eq(subscriber.clone());
    let names_caller = col(usage::CALLER_ACCOUNT_ID)
        .is_not_null()
        .and(col(usage::CALLER_ACCOUNT_ID).neq(lit("")));
    let redistributed = to_subscriber
        .clone()
        .and(names_caller.clone())
        .and(col(usage::CALLER_ACCOUNT_ID).neq(subscriber));
    let mut lf = w.lazy().with_columns([
        redistributed.clone().alias(REDISTRIBUTED),
        when(redistributed)
            .then(col(usage::CALLER_ACCOUNT_ID))
            .otherwise(col(usage::ACCOUNT_ID))
            .alias(USED_BY),
    ]);
    let left =
        |other: DataFrame, key: &str| (other.lazy(), col(key), JoinArgs::new(JoinType::Left));
    for (other, key, args) in [
        left(accounts, USED_BY),
        left(billed_names, usage::ACCOUNT_ID),
        left(products, "product_key"),
        left(calendar, "day"),
    ] {
        lf = lf.join(other, [key.clone()], [key], args);
    }

    // The precedence as one when/then chain, built from the last method to the first.
    let tagged = col(usage::TEAM_TAG)
        .is_not_null()
        .and(col(usage::TEAM_TAG).neq(lit("")));
    let pooled = to_subscriber.and(names_caller.not());
    let mut team = lit(NULL).cast(DataType::String);
    let mut method = lit(UNALLOCATED);
    for m in cx.cfg.allocation_precedence.iter().rev() {
        let (applies, by) = match m.as_str() {
            COST_ALLOCATION_TAG => (tagged.clone(), col(usage::TEAM_TAG)),
            SHARED_POOL => (pooled.clone(), lit(NULL).cast(DataType::String)),
            ACCOUNT_TAG => (col("tag_team").is_not_null(), col("tag_team")),
            OU_RULE => (col("ou_team").is_not_null(), col("ou_team")),
            other => unreachable!("config validation rejects allocation method `{other}`"),
        };
        team = when(applies.clone()).then(by).otherwise(team);
        method = when(applies).then(lit(m.as_str())).otherwise(method);
    }
    let in_pool = col("method").eq(lit(SHARED_POOL));
    let df = lf
        .with_columns([
            team.fill_null(lit("")).alias("team"),
            method.alias("method"),
            col("product_name")
                .fill_null(col(usage::PRODUCT))
                .alias("product_out"),
            col("account_name").fill_null(lit("")),
        ])
        .with_columns([
            when(in_pool.clone())
                .then(lit(""))
                .otherwise(col(USED_BY))
                .alias(USED_BY),
            when(in_pool)
                .then(lit(""))
                .otherwise(col("used_by_name").fill_null(lit("")))
                .alias("used_by_name"),
        ])
        .group_by([
            col("month"),
            col("team"),
            col("method"),
            col("product_out"),
            col(usage::ACCOUNT_ID),
            col("account_name"),
            col(USED_BY),
            col("used_by_name"),
            col(REDISTRIBUTED),
        ])
        .agg([
            col(usage::COST_USD).sum().alias("cost"),
            len().alias("rows"),
        ])
        .sort(
            [
                "month",
                "team",
                "method",
                "product_out",
                usage::ACCOUNT_ID,
                USED_BY,
            ],
            SortMultipleOptions::default(),
        )
        .collect()?;

    let text = |name: &str| -> Result<Vec<String>> {
        let c = df.column(name)?.str()?;
        Ok((0..c.len())
            .map(|i| c.get(i).unwrap_or_default().to_string())
            .collect())
    };
    let (month, team, method, product, account, account_name, used_by, used_by_name) = (
        text("month")?,
        text("team")?,
        text("method")?,
        text("product_out")?,
        text(usage::ACCOUNT_ID)?,
        text("account_name")?,
        text(USED_BY)?,
        text("used_by_name")?,
    );
    let moved = df.column(REDISTRIBUTED)?.bool()?;
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
            used_by_account_id: used_by[i].clone(),
            used_by_account_name: used_by_name[i].clone(),
            redistributed: moved.get(i).unwrap_or(false),
        })
        .collect();
    reconcile(w, &out)?;
    Ok(out)
}

/// Every cent and row of the window is allocated exactly once, and redistribution moved no
/// money between billed accounts.
fn reconcile(w: &WindowUsage, out: &[AllocationRow]) -> Result<()> {
    let total: f64 = out.iter().map(|r| r.cost_usd).sum();
    let total_rows: u64 = out.iter().map(|r| r.rows).sum();
    ensure!(
        total_rows == w.total.rows && (total - w.total.cost_usd).abs() < 0.005,
        "cost allocation does not reconcile: ${total:.2} in {total_rows} rows allocated, ${:.2} in {} rows of usage",
        w.total.cost_usd,
        w.total.rows
    );
    let source = w
        .lazy()
        .group_by([col(usage::ACCOUNT_ID)])
        .agg([col(usage::COST_USD).sum().alias("cost")])
        .collect()?;
    let ids = source.column(usage::ACCOUNT_ID)?.str()?;
    let costs = source.column("cost")?.f64()?;
    let mut by_account: BTreeMap<&str, f64> = BTreeMap::new();
    for r in out {
        *by_account.entry(r.account_id.as_str()).or_default() += r.cost_usd;
    }
    for i in 0..source.height() {
        let id = ids.get(i).unwrap_or_default();
        let (want, got) = (costs.get(i).unwrap_or(0.0), by_account.remove(id));
        ensure!(
            got.is_some_and(|g| (g - want).abs() < 0.005),
            "cost allocation does not reconcile for account `{id}`: ${:.2} allocated, ${want:.2} billed",
            got.unwrap_or(0.0)
        );
    }
    Ok(())
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
