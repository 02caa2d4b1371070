//! Spend per coverage segment. The window's usage is counted and summed in polars and read
//! row by row from the snapshot's own columns; each row is placed in its segment by a hash
//! lookup and a binary search, in one pass (linear in rows, where a polars join of the rows
//! to the segments was not).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::NaiveDate;

use anyhow::{ensure, Result};
use polars::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::context::Context;
use super::coverage::{Billed, Segment, Spend};
use super::rates::{BilledAt, Prices, RateBook};
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
    /// The snapshot's usage rows, shared with it (no copy): [`WindowUsage::rows`] yields the
    /// window's, each with its product key. Selecting them into a frame of their own held a
    /// second copy of nearly every row for the whole analysis (240 MiB at 10,000 accounts).
    frame: DataFrame,
    /// The window's first and last day, in days since 1970-01-01.
    first_day: i32,
    last_day: i32,
    /// Each usage product of the snapshot -> its license product key (`None`: unmapped),
    /// resolved once.
    product_keys: FxHashMap<String, Option<String>>,
    /// The window's first day and length in days.
    pub start: NaiveDate,
    pub days: usize,
    /// Rows and billed cost of the window, summed by polars: what every figure reconciles to.
    pub rows: u64,
    pub cost_usd: f64,
    /// Rows of the snapshot outside the window (kept out of every total, and said so).
    pub rows_outside_window: u64,
    pub cost_outside_window_usd: f64,
}

pub const PRODUCT_KEY: &str = "product_key";
pub const DAY: &str = "day";

/// Delimits the window's usage, counts and sums it, and resolves each usage product.
pub fn window_usage(cx: &Context) -> Result<WindowUsage> {
    let (first_day, last_day) = (epoch_days(cx.window_start), epoch_days(cx.as_of));
    let frame = cx.snap.usage.clone();
    let day = col(usage::DATE).cast(DataType::Int32);
    let in_window = day
        .clone()
        .gt_eq(lit(first_day))
        .and(day.lt_eq(lit(last_day)));
    let sums = frame
        .clone()
        .lazy()
        .select([
            in_window.clone().sum().cast(DataType::UInt64).alias("rows"),
            len().cast(DataType::UInt64).alias("all"),
            col(usage::COST_USD)
                .filter(in_window.clone())
                .sum()
                .alias("cost"),
            col(usage::COST_USD)
                .filter(in_window.not())
                .sum()
                .alias("cost_outside"),
        ])
        .collect()?;
    let count = |name: &str| -> Result<u64> { Ok(sums.column(name)?.u64()?.get(0).unwrap_or(0)) };
    let money = |name: &str| -> Result<f64> { Ok(sums.column(name)?.f64()?.get(0).unwrap_or(0.0)) };
    let rows = count("rows")?;
    let products = frame
        .column(usage::PRODUCT)?
        .as_materialized_series()
        .unique()?;
    let product_keys = products
        .str()?
        .iter()
        .map(|p| {
            let p = p.unwrap_or_default();
            (p.to_string(), cx.products.resolve(p).map(str::to_string))
        })
        .collect();
    Ok(WindowUsage {
        start: cx.window_start,
        days: usize::try_from((cx.as_of - cx.window_start).num_days() + 1).unwrap_or(0),
        rows,
        cost_usd: money("cost")?,
        rows_outside_window: count("all")? - rows,
        cost_outside_window_usd: money("cost_outside")?,
        frame,
        first_day,
        last_day,
        product_keys,
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

/// One usage row of the window, borrowed from its frame.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub account_id: &'a str,
    pub product: &'a str,
    /// `None` when the product matches no organization license.
    pub product_key: Option<&'a str>,
    /// Days since 1970-01-01.
    pub day: i32,
    pub usage_type: &'a str,
    pub cost_usd: f64,
    pub usage_quantity: f64,
    pub public_cost_usd: Option<f64>,
    pub team_tag: Option<&'a str>,
    pub caller_account_id: Option<&'a str>,
}

impl WindowUsage {
    /// The window's rows one by one, in the snapshot's order, for the passes that place each
    /// row in one of many small groups (a segment, an allocation key): a hash lookup per row
    /// is linear where a polars join or many-key group-by of millions of rows was not.
    pub fn rows(&self) -> Result<impl Iterator<Item = Row<'_>>> {
        let f = &self.frame;
        let text = |name: &str| -> Result<&StringChunked> { Ok(f.column(name)?.str()?) };
        let number = |name: &str| -> Result<&Float64Chunked> { Ok(f.column(name)?.f64()?) };
        let columns = text(usage::ACCOUNT_ID)?
            .iter()
            .zip(text(usage::PRODUCT)?.iter())
            .zip(f.column(usage::DATE)?.date()?.physical().iter())
            .zip(text(usage::USAGE_TYPE)?.iter())
            .zip(number(usage::COST_USD)?.iter())
            .zip(number(usage::USAGE_QUANTITY)?.iter())
            .zip(number(usage::PUBLIC_COST_USD)?.iter())
            .zip(text(usage::TEAM_TAG)?.iter())
            .zip(text(usage::CALLER_ACCOUNT_ID)?.iter());
        let (first, last) = (self.first_day, self.last_day);
        // Rows of one product come in runs: its key is looked up when the product changes.
        let mut key_of: (&str, Option<&str>) = ("", None);
        let keys = &self.product_keys;
        Ok(columns.filter_map(
            move |(
                (((((((account, product), day), usage_type), cost), qty), public), tag),
                caller,
            )| {
                let day = day.unwrap_or_default();
                if day < first || day > last {
                    return None;
                }
                let product = product.unwrap_or_default();
                if key_of.0 != product || key_of.0.is_empty() {
                    let key = keys.get(product).and_then(|k| k.as_deref());
                    key_of = (product, key);
                }
                Some(Row {
                    account_id: account.unwrap_or_default(),
                    product,
                    product_key: key_of.1,
                    day,
                    usage_type: usage_type.unwrap_or_default(),
                    cost_usd: cost.unwrap_or(0.0),
                    usage_quantity: qty.unwrap_or(0.0),
                    public_cost_usd: public,
                    team_tag: tag,
                    caller_account_id: caller,
                })
            },
        ))
    }
}

/// (account, product key) pairs with mapped spend in the window.
pub fn spend_pairs(w: &WindowUsage) -> Result<BTreeSet<(String, String)>> {
    let mut pairs: FxHashSet<(&str, &str)> = FxHashSet::default();
    let mut last = None;
    for r in w.rows()? {
        let Some(key) = r.product_key else { continue };
        if last != Some((r.account_id, key)) {
            last = Some((r.account_id, key));
            pairs.insert((r.account_id, key));
        }
    }
    Ok(pairs
        .into_iter()
        .map(|(a, k)| (a.to_string(), k.to_string()))
        .collect())
}

/// Where the window's spend went besides the segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Spend matching no organization license.
    pub unmapped: Vec<Unmapped>,
    /// Spend in exposed segments per day of the window (first day first): the public-price
    /// exposure over time.
    pub exposed_by_day: Vec<f64>,
    /// Per window row, in [`WindowUsage::rows`] order: what it lost to public pricing
    /// ([`RowLoss`]), for the allocation pass (which would otherwise place every row again).
    pub row_loss: Vec<RowLoss>,
}

/// A row's exposure in one word: [`RowLoss::COVERED`] (not exposed, or no mapped product),
/// [`RowLoss::UNRATED`] (exposed, its dimension lacks a rate), else the nano-dollars it lost
/// (quantity x gap, nothing when billed at the private rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLoss(i64);

impl RowLoss {
    pub const COVERED: RowLoss = RowLoss(i64::MIN);
    pub const UNRATED: RowLoss = RowLoss(i64::MIN + 1);

    pub fn is_exposed(self) -> bool {
        self != RowLoss::COVERED
    }

    /// The nano-dollars lost, for an exposed row with both rates.
    pub fn rated_nanos(self) -> Option<i64> {
        (self.0 > RowLoss::UNRATED.0).then_some(self.0)
    }
}

/// Finds each usage row's coverage segment and the prices of its dimension: the segments of an
/// (account, product) are consecutive and ordered by day, so a row's segment is a hash lookup
/// (skipped while rows stay on one pair) and a binary search, linear in rows where a polars
/// join of the rows to the segments grew faster than linearly. The spend pass places each
/// row once and hands the allocation pass each row's [`RowLoss`].
struct Placement<'a> {
    segments: &'a [Segment],
    rates: &'a RateBook,
    ranges: FxHashMap<(&'a str, &'a str), Range<usize>>,
    last: Option<((&'a str, &'a str), Range<usize>)>,
    /// (license, usage type) -> the prices: few pairs, looked up once each.
    prices: FxHashMap<(&'a str, &'a str), Option<Prices>>,
}

/// Where one usage row of a mapped product lands.
#[derive(Debug, Clone, Copy)]
struct RowPlace {
    /// Index of its segment.
    segment: usize,
    /// Its dimension's public and private rates, when both are known.
    prices: Option<Prices>,
}

impl<'a> Placement<'a> {
    fn new(segments: &'a [Segment], rates: &'a RateBook) -> Result<Placement<'a>> {
        let mut ranges: FxHashMap<(&str, &str), Range<usize>> = FxHashMap::default();
        let mut i = 0;
        while i < segments.len() {
            let key = (
                segments[i].account_id.as_str(),
                segments[i].product_key.as_str(),
            );
            let end = i + segments[i..]
                .iter()
                .take_while(|s| (s.account_id.as_str(), s.product_key.as_str()) == key)
                .count();
            ensure!(
                ranges.insert(key, i..end).is_none(),
                "coverage segments of account `{}` and product `{}` are not consecutive",
                key.0,
                key.1
            );
            i = end;
        }
        Ok(Placement {
            segments,
            rates,
            ranges,
            last: None,
            prices: FxHashMap::default(),
        })
    }

    /// The segment and prices of a row of product `key` (a row with a product key).
    fn place(&mut self, r: &Row<'a>, key: &'a str) -> Result<RowPlace> {
        let range = match &self.last {
            Some((k, range)) if *k == (r.account_id, key) => range.clone(),
            _ => {
                let range = self
                    .ranges
                    .get(&(r.account_id, key))
                    .cloned()
                    .unwrap_or_default();
                self.last = Some(((r.account_id, key), range.clone()));
                range
            }
        };
        let pair = &self.segments[range.clone()];
        let at = pair.partition_point(|s| epoch_days(s.to) < r.day);
        ensure!(
            pair.get(at).is_some_and(|s| epoch_days(s.from) <= r.day),
            "usage of account `{}` for product `{key}` on {} falls in no coverage segment",
            r.account_id,
            from_epoch_days(r.day)
        );
        let segment = range.start + at;
        let license = self.segments[segment].license_arn.as_str();
        let rates = self.rates;
        let prices = *self
            .prices
            .entry((license, r.usage_type))
            .or_insert_with(|| rates.prices(license, key, r.usage_type));
        Ok(RowPlace { segment, prices })
    }
}

/// Quantity x (public - private) of a row, in whole nano-dollars: an integer sum is the same
/// in any row order (a float sum is not, and quantities of a millionth of a unit times a rate
/// land on half a micro-dollar, where rounding flips with the last bit).
fn gap_nanos(p: Prices, quantity: f64) -> i64 {
    (quantity * p.gap() * 1e9).round() as i64
}

/// Fills each segment's spend and returns the rest of the placement, in one pass over the
/// window's rows ([`Placement`]). Checks that every row and cent of the window landed in
/// exactly one place.
pub fn attribute(w: &WindowUsage, rates: &RateBook, segments: &mut [Segment]) -> Result<Placed> {
    let mut sums = vec![Sums::default(); segments.len()];
    let mut exposed_by_day = vec![0.0; w.days];
    let first = epoch_days(w.start);
    let mut unmapped: BTreeMap<(&str, &str), Sums> = BTreeMap::new();
    let mut placement = Placement::new(segments, rates)?;
    let mut row_loss = Vec::with_capacity(usize::try_from(w.rows).unwrap_or(0));
    for r in w.rows()? {
        let Some(key) = r.product_key else {
            unmapped
                .entry((r.account_id, r.product))
                .or_default()
                .add(&r, None, false);
            row_loss.push(RowLoss::COVERED);
            continue;
        };
        let at = placement.place(&r, key)?;
        let exposed = segments[at.segment].state.is_exposed();
        row_loss.push(sums[at.segment].add(&r, at.prices, exposed));
        if exposed {
            let day = usize::try_from(r.day - first).ok();
            if let Some(d) = day.and_then(|d| exposed_by_day.get_mut(d)) {
                *d += r.cost_usd;
            }
        }
    }
    drop(placement);
    for (segment, s) in segments.iter_mut().zip(sums) {
        segment.spend = s.spend();
    }
    let unmapped: Vec<Unmapped> = unmapped
        .into_iter()
        .map(|((account, product), s)| Unmapped {
            account_id: account.to_string(),
            product: product.to_string(),
            spend: s.spend(),
        })
        .collect();

    let mut placed = Spend::default();
    segments.iter().for_each(|s| placed.add(&s.spend));
    unmapped.iter().for_each(|u| placed.add(&u.spend));
    ensure!(
        placed.rows == w.rows && (placed.cost_usd - w.cost_usd).abs() < 0.005,
        "spend does not reconcile: {} rows / ${:.2} placed, {} rows / ${:.2} in the window",
        placed.rows,
        placed.cost_usd,
        w.rows,
        w.cost_usd
    );
    Ok(Placed {
        unmapped,
        exposed_by_day,
        row_loss,
    })
}

/// Running sums of usage rows, the parts every spend figure is made of.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    cost: f64,
    public: f64,
    cost_with_public: f64,
    rows: u64,
    days: Option<(i32, i32)>,
    rated_rows: u64,
    rated_cost: f64,
    rated_overspend_nanos: i64,
    billed_public: Tally,
    billed_private: Tally,
}

/// Running sums of the rows billed at one price.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    rows: u64,
    cost: f64,
    /// Quantity x (public - private), in nano-dollars.
    gap_nanos: i64,
    days: Option<(i32, i32)>,
}

impl Tally {
    fn add(&mut self, cost: f64, gap_nanos: i64, day: i32) {
        self.rows += 1;
        self.cost += cost;
        self.gap_nanos += gap_nanos;
        self.days = span(self.days, day);
    }

    fn billed(&self) -> Billed {
        Billed {
            rows: self.rows,
            cost_usd: self.cost,
            gap_usd: self.gap_nanos as f64 / 1e9,
            first_day: self.days.map(|(a, _)| from_epoch_days(a)),
            last_day: self.days.map(|(_, b)| from_epoch_days(b)),
        }
    }
}

/// The day range `days` widened to `day`.
fn span(days: Option<(i32, i32)>, day: i32) -> Option<(i32, i32)> {
    Some(match days {
        Some((a, b)) => (a.min(day), b.max(day)),
        None => (day, day),
    })
}

impl Sums {
    /// Adds a row; `prices` are its dimension's public and private rates, when both are known.
    /// Only a row of an exposed segment has an overspend: its quantity x the gap, or nothing
    /// when the bill shows it at the private rate (EA014 names it). Returns the row's
    /// [`RowLoss`].
    fn add(&mut self, r: &Row, prices: Option<Prices>, exposed: bool) -> RowLoss {
        let (cost, day) = (r.cost_usd, r.day);
        let mut loss = if exposed {
            RowLoss::UNRATED
        } else {
            RowLoss::COVERED
        };
        if let Some(p) = prices {
            let gap = gap_nanos(p, r.usage_quantity);
            let billed_at = p.billed_at(cost, r.usage_quantity);
            match billed_at {
                Some(BilledAt::Public) => self.billed_public.add(cost, gap, day),
                Some(BilledAt::Private) => self.billed_private.add(cost, gap, day),
                None => {}
            }
            if exposed {
                let lost = match billed_at {
                    Some(BilledAt::Private) => 0,
                    _ => gap,
                };
                self.rated_rows += 1;
                self.rated_cost += cost;
                self.rated_overspend_nanos += lost;
                loss = RowLoss(lost);
            }
        }
        self.cost += cost;
        // Only usage billed at some rate says what the rate was: a credit or refund (negative
        // cost, public cost often zero in CUR) would skew the private/public ratio.
        if let Some(p) = r.public_cost_usd.filter(|p| *p > 0.0 && cost > 0.0) {
            self.public += p;
            self.cost_with_public += cost;
        }
        self.rows += 1;
        self.days = span(self.days, day);
        loss
    }

    fn spend(&self) -> Spend {
        Spend {
            cost_usd: self.cost,
            public_cost_usd: self.public,
            cost_with_public_usd: self.cost_with_public,
            rows: self.rows,
            rated_rows: self.rated_rows,
            rated_cost_usd: self.rated_cost,
            rated_overspend_usd: self.rated_overspend_nanos as f64 / 1e9,
            billed_public: self.billed_public.billed(),
            billed_private: self.billed_private.billed(),
            first_day: self.days.map(|(a, _)| from_epoch_days(a)),
            last_day: self.days.map(|(_, b)| from_epoch_days(b)),
        }
    }
}
