//! Cost allocation: the window's Marketplace model spend by month, team, product and account,
//! each row saying how its team was found. One pass over the window's rows sums them per
//! (month, billed account, caller, product, cost-allocation tag); the teams are decided on
//! those sums.
//!
//! First, spend billed to the subscriber whose line item names another account as the caller
//! (CUR 2.0 `line_item_iam_principal`) is moved to that account: it used it. Then the methods
//! of `allocation_precedence` are tried in order (default: the cost-allocation tag on the usage
//! row, the subscriber's shared pool for its spend that names no caller, the using account's
//! team tag, the longest matching OU-path rule); a row none of them attributes is unallocated.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use chrono::{Datelike, Duration};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::context::Context;
use super::coverage::Spend;
use super::finding::OverspendBasis;
use super::rules::overspend;
use super::spend::{RowLoss, WindowUsage};
use crate::model::usage::epoch_days;

/// Spend of one (month, team, method, product, billed account, using account).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationRow {
    /// `YYYY-MM`.
    pub month: String,
    /// Empty when unallocated or in the shared pool.
    pub team: String,
    pub method: AllocationMethod,
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
    /// The part of `cost_usd` on days no ACTIVE grant covered the using account (public-price
    /// exposure), and what it lost to public pricing with its basis, as in the findings.
    pub exposed_usd: f64,
    pub overspend_usd: Option<f64>,
    #[serde(serialize_with = "super::finding::basis_text")]
    pub overspend_basis: OverspendBasis,
}

/// How a row's team was found (docs/finance.md). Declared in the order of the names, so that
/// sorting by method sorts by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllocationMethod {
    /// The `team_tag_key` tag on the account that used the spend.
    AccountTag,
    /// The `team_tag_key` cost-allocation tag on the usage row.
    CostAllocationTag,
    /// The longest matching `team_rules` prefix of that account's OU path.
    OuRule,
    /// Spend billed to the subscriber that names no caller: the subscriber's shared pool.
    SharedPool,
    /// No listed method found a team.
    Unallocated,
}

impl AllocationMethod {
    /// The methods a config may list in `allocation_precedence`, in the default order.
    pub const CONFIGURABLE: [AllocationMethod; 4] = [
        AllocationMethod::CostAllocationTag,
        AllocationMethod::SharedPool,
        AllocationMethod::AccountTag,
        AllocationMethod::OuRule,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AllocationMethod::AccountTag => "account-tag",
            AllocationMethod::CostAllocationTag => "cost-allocation-tag",
            AllocationMethod::OuRule => "ou-rule",
            AllocationMethod::SharedPool => "shared-pool",
            AllocationMethod::Unallocated => "unallocated",
        }
    }

    /// The configurable method named `s`.
    pub fn configurable(s: &str) -> Option<AllocationMethod> {
        Self::CONFIGURABLE.into_iter().find(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for AllocationMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AllocationRow {
    /// Some of its exposed spend has no price basis: its overspend is unknown or a lower bound.
    pub fn has_unpriced_exposure(&self) -> bool {
        self.exposed_usd != 0.0
            && (self.overspend_basis.is_unknown()
                || self.overspend_basis == OverspendBasis::AgreementTermsPartial)
    }

    /// Who the spend went to, in one word: `team` when a team was found, else `shared-pool`
    /// (the subscriber's own spend naming no caller) or `unallocated`. Reports keep the two
    /// team-less kinds apart.
    pub fn owner(&self) -> &'static str {
        if !self.team.is_empty() {
            "team"
        } else {
            match self.method {
                AllocationMethod::SharedPool => AllocationMethod::SharedPool.as_str(),
                _ => AllocationMethod::Unallocated.as_str(),
            }
        }
    }
}

/// The sums of one pass over the rows: (month, billed account, caller or "", usage product,
/// cost-allocation tag or "") -> their sums. Everything an allocation row says is a function
/// of these five.
type RowKey<'a> = (usize, &'a str, &'a str, &'a str, &'a str);
type RowSums<'a> = FxHashMap<RowKey<'a>, RowSum<'a>>;

/// What the rows of one key add up to.
#[derive(Debug, Clone, Copy, Default)]
struct RowSum<'a> {
    product_key: Option<&'a str>,
    cost: f64,
    rows: u64,
    /// Exposed cost, and of it the rows with both rates: their cost and what they lost.
    exposed: f64,
    rated_rows: u64,
    rated_cost: f64,
    lost_nanos: i64,
}

impl RowSum<'_> {
    fn add(&mut self, o: &RowSum) {
        self.cost += o.cost;
        self.rows += o.rows;
        self.exposed += o.exposed;
        self.rated_rows += o.rated_rows;
        self.rated_cost += o.rated_cost;
        self.lost_nanos += o.lost_nanos;
    }

    /// The exposed part as a spend, for [`overspend`].
    fn exposed_spend(&self) -> Spend {
        Spend {
            cost_usd: self.exposed,
            rated_rows: self.rated_rows,
            rated_cost_usd: self.rated_cost,
            rated_overspend_usd: self.lost_nanos as f64 / 1e9,
            ..Spend::default()
        }
    }
}

/// Allocates the window's usage, each row with its exposed part and overspend (`row_loss`,
/// one per window row from the spend pass, says which rows were exposed and what they lost;
/// `price_basis` is the findings' fallback where rates are missing). The rows' total equals
/// the window's usage total to the cent, and so does each billed account's.
pub fn allocate(
    cx: &Context,
    w: &WindowUsage,
    row_loss: &[RowLoss],
    price_basis: &BTreeMap<String, (OverspendBasis, f64)>,
) -> Result<Vec<AllocationRow>> {
    ensure!(
        row_loss.len() as u64 == w.rows,
        "the spend pass placed {} rows of the window's {}",
        row_loss.len(),
        w.rows
    );
    let months = Months::of_window(cx);
    let mut sums: RowSums = FxHashMap::default();
    // Consecutive rows of one key (an account's days of one product, as collectors and
    // exports often write them) are summed before touching the map.
    let mut run: Option<(RowKey, RowSum)> = None;
    for (r, &loss) in w.rows()?.zip(row_loss) {
        let key = (
            months.index(r.day),
            r.account_id,
            r.caller_account_id.unwrap_or_default(),
            r.product,
            r.team_tag.unwrap_or_default(),
        );
        let mut sum = RowSum {
            product_key: r.product_key,
            cost: r.cost_usd,
            rows: 1,
            ..RowSum::default()
        };
        if loss.is_exposed() {
            sum.exposed = r.cost_usd;
            if let Some(nanos) = loss.rated_nanos() {
                sum.rated_rows = 1;
                sum.rated_cost = r.cost_usd;
                sum.lost_nanos = nanos;
            }
        }
        match &mut run {
            Some((k, acc)) if same_key(k, &key) => acc.add(&sum),
            _ => {
                if let Some((k, acc)) = run.replace((key, sum)) {
                    add(&mut sums, k, acc);
                }
            }
        }
    }
    if let Some((k, acc)) = run {
        add(&mut sums, k, acc);
    }

    // Name and teams of every account, worked out once (not once per sum).
    let who: FxHashMap<&str, Who> = cx
        .snap
        .accounts
        .iter()
        .map(|a| {
            let who = Who {
                name: &a.name,
                tag_team: cx.tag_team(a),
                ou_team: cx.ou_rule_team(a),
            };
            (a.id.as_str(), who)
        })
        .collect();
    let subscriber = cx.subscriber();
    let mut rows: Vec<(OutKey, RowSum)> = Vec::with_capacity(sums.len());
    for ((month, billed, caller, product, tag), sum) in sums {
        let to_subscriber = billed == subscriber;
        let redistributed = to_subscriber && !caller.is_empty() && caller != subscriber;
        let used_by = if redistributed { caller } else { billed };
        let pooled = to_subscriber && caller.is_empty();
        let user = who.get(used_by);
        let (team, method) = cx
            .cfg
            .allocation_precedence
            .iter()
            .find_map(|&m| {
                let team = match m {
                    AllocationMethod::CostAllocationTag => (!tag.is_empty()).then_some(tag),
                    AllocationMethod::SharedPool => pooled.then_some(""),
                    AllocationMethod::AccountTag => user.and_then(|u| u.tag_team.as_deref()),
                    AllocationMethod::OuRule => user.and_then(|u| u.ou_team.as_deref()),
                    AllocationMethod::Unallocated => None,
                };
                team.map(|t| (t, m))
            })
            .unwrap_or(("", AllocationMethod::Unallocated));
        let used_by = match method {
            AllocationMethod::SharedPool => "",
            _ => used_by,
        };
        let product = sum.product_key.map_or(product, |k| cx.products.name(k));
        rows.push((
            (month, team, method, product, billed, used_by, redistributed),
            sum,
        ));
    }
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Different callers or tags can land on one output row (the pool, say): merge them.
    rows.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1.add(&later.1);
        }
        same
    });

    let name = |id: &str| who.get(id).map(|w| w.name.to_string()).unwrap_or_default();
    let out: Vec<AllocationRow> = rows
        .into_iter()
        .map(
            |((month, team, method, product, billed, used_by, redistributed), sum)| {
                let (overspend_usd, overspend_basis) = match sum.product_key {
                    Some(k) if sum.exposed != 0.0 => {
                        overspend(price_basis, k, &sum.exposed_spend())
                    }
                    _ => (None, OverspendBasis::NotApplicable),
                };
                AllocationRow {
                    month: months.labels[month].clone(),
                    team: team.to_string(),
                    method,
                    product: product.to_string(),
                    account_id: billed.to_string(),
                    account_name: name(billed),
                    cost_usd: sum.cost,
                    rows: sum.rows,
                    used_by_account_id: used_by.to_string(),
                    used_by_account_name: name(used_by),
                    redistributed,
                    exposed_usd: sum.exposed,
                    overspend_usd,
                    overspend_basis,
                }
            },
        )
        .collect();
    reconcile(w, &out)?;
    Ok(out)
}

/// `a == b`, cheaply when the strings are the same bytes in memory (repeated values read from
/// a Parquet dictionary page point at one copy): the run test of every row.
fn same_key(a: &RowKey, b: &RowKey) -> bool {
    fn same(a: &str, b: &str) -> bool {
        (a.len() == b.len() && std::ptr::eq(a.as_ptr(), b.as_ptr())) || a == b
    }
    a.0 == b.0 && same(a.1, b.1) && same(a.2, b.2) && same(a.3, b.3) && same(a.4, b.4)
}

fn add<'a>(sums: &mut RowSums<'a>, key: RowKey<'a>, sum: RowSum<'a>) {
    sums.entry(key)
        .or_insert(RowSum {
            product_key: sum.product_key,
            ..RowSum::default()
        })
        .add(&sum);
}

/// (month, team, method, product, billed account, used by, redistributed): one output row.
type OutKey<'a> = (
    usize,
    &'a str,
    AllocationMethod,
    &'a str,
    &'a str,
    &'a str,
    bool,
);

/// An account's name and the teams its tag and the OU-path rules give it.
struct Who<'a> {
    name: &'a str,
    tag_team: Option<String>,
    ou_team: Option<String>,
}

/// The calendar months the window touches, in order.
struct Months {
    /// First day of each month within the window (the window's start for the first).
    starts: Vec<i32>,
    /// `YYYY-MM`.
    labels: Vec<String>,
}

impl Months {
    fn of_window(cx: &Context) -> Months {
        let (mut starts, mut labels) = (Vec::new(), Vec::new());
        let mut d = cx.window_start;
        while d <= cx.as_of {
            starts.push(epoch_days(d));
            labels.push(format!("{:04}-{:02}", d.year(), d.month()));
            d = (d.with_day(1).unwrap_or(d) + Duration::days(32))
                .with_day(1)
                .unwrap_or(cx.as_of + Duration::days(1));
        }
        Months { starts, labels }
    }

    fn index(&self, day: i32) -> usize {
        self.starts.partition_point(|&s| s <= day).saturating_sub(1)
    }
}

/// Every cent and row of the window is allocated exactly once, and redistribution moved no
/// money between billed accounts.
fn reconcile(w: &WindowUsage, out: &[AllocationRow]) -> Result<()> {
    let total: f64 = out.iter().map(|r| r.cost_usd).sum();
    let total_rows: u64 = out.iter().map(|r| r.rows).sum();
    ensure!(
        total_rows == w.rows && (total - w.cost_usd).abs() < 0.005,
        "cost allocation does not reconcile: ${total:.2} in {total_rows} rows allocated, ${:.2} in {} rows of usage",
        w.cost_usd,
        w.rows
    );
    // The usage billed to each account, summed straight from the rows.
    let mut source: FxHashMap<&str, f64> = FxHashMap::default();
    for r in w.rows()? {
        *source.entry(r.account_id).or_default() += r.cost_usd;
    }
    let mut by_account: BTreeMap<&str, f64> = BTreeMap::new();
    for r in out {
        *by_account.entry(r.account_id.as_str()).or_default() += r.cost_usd;
    }
    let mut source: Vec<(&str, f64)> = source.into_iter().collect();
    source.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (id, want) in source {
        let got = by_account.remove(id);
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
    for r in rows
        .iter()
        .filter(|r| r.method == AllocationMethod::Unallocated)
    {
        let s = out.entry(r.account_id.clone()).or_default();
        s.cost_usd += r.cost_usd;
        s.rows += r.rows;
    }
    out
}

/// The billed accounts of unallocated rows whose using account's tags were not read, when the
/// account tag is one of the methods: their team is not known rather than absent.
pub fn unallocated_tags_unread(
    cx: &Context,
    rows: &[AllocationRow],
) -> std::collections::BTreeSet<String> {
    if !cx
        .cfg
        .allocation_precedence
        .contains(&AllocationMethod::AccountTag)
    {
        return Default::default();
    }
    rows.iter()
        .filter(|r| r.method == AllocationMethod::Unallocated)
        .filter(|r| {
            let user = if r.used_by_account_id.is_empty() {
                &r.account_id
            } else {
                &r.used_by_account_id
            };
            cx.account(user).is_some_and(|a| !a.tags_read)
        })
        .map(|r| r.account_id.clone())
        .collect()
}
