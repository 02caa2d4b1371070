//! Coverage: for each (account, product) and each day of the window, was the account on the
//! organization's entitlement, and by which grant.
//!
//! Days are grouped into segments of equal state, so a year of daily coverage for ten
//! thousand accounts stays a few rows per pair. A day is covered when a covering grant was
//! ACTIVE at the start of that day (00:00 UTC), so the day of activation still counts as
//! exposed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::context::{Candidate, Context};
use crate::model::{day, day_start, GrantStatus};

/// The state of one (account, product) on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// The account holds the organization's subscription.
    Subscriber,
    /// An ACTIVE grant covers the account.
    Covered,
    /// A grant's status changed on an unknown day of an interval that includes this one
    /// (see `timeline`), and ACTIVE on one side of it: the spend may have been at public or
    /// at private price. Reported apart from confirmed exposure, never added to it.
    ActivationUnknown,
    /// A grant covers the account but is not ACTIVE yet: spend is at public price.
    AwaitingActivation,
    /// No grant covers the account: spend is at public price.
    NotCovered,
    /// The license ended; within the grace period.
    LicenseEndedGrace,
    /// The license ended more than the grace period ago.
    AfterCancellation,
}

impl State {
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Subscriber => "subscriber",
            State::Covered => "covered",
            State::ActivationUnknown => "activation-unknown",
            State::AwaitingActivation => "awaiting-activation",
            State::NotCovered => "not-covered",
            State::LicenseEndedGrace => "license-ended-grace",
            State::AfterCancellation => "after-cancellation",
        }
    }

    /// Spend in this state is billed at public price instead of the private offer.
    pub fn is_exposed(self) -> bool {
        matches!(self, State::AwaitingActivation | State::NotCovered)
    }
}

/// Consecutive days of one (account, product) in one state.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub account_id: String,
    pub product_key: String,
    /// The license the state refers to (the covering grant's, else the product's main one).
    pub license_arn: String,
    pub state: State,
    /// Index into `Context::grants` of the grant as granted (top-level).
    pub grant: Option<usize>,
    /// Index of the grant whose status decides (the account's sub-grant where there is one).
    pub effective_grant: Option<usize>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Spend in this segment, filled by `spend`.
    pub spend: Spend,
}

/// Money in a segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spend {
    pub cost_usd: f64,
    /// Sum of public-price cost over the usage rows that carry one (positive billed and public
    /// cost: credits and refunds say nothing about the rate).
    pub public_cost_usd: f64,
    /// Sum of billed cost over the same rows (to compare with `public_cost_usd`).
    pub cost_with_public_usd: f64,
    pub rows: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// Rows of an exposed segment whose dimension has both a public and a private rate
    /// ([`super::rates`]), their billed cost, and their quantity times (public - private): the
    /// exact overspend. Zero in segments that are not exposed (their rows are not priced).
    pub rated_rows: u64,
    pub rated_cost_usd: f64,
    pub rated_overspend_usd: f64,
    /// Rows whose dimension has both rates and whose billed rate (cost over quantity) is
    /// clearly the public one, or the private one ([`super::rates::Prices::billed_at`]):
    /// evidence of what AWS's billing took the coverage to be.
    pub billed_public: Billed,
    pub billed_private: Billed,
}

/// Usage rows billed at one of the two prices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Billed {
    pub rows: u64,
    pub cost_usd: f64,
    /// Their quantity x (public - private).
    pub gap_usd: f64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
}

impl Billed {
    fn add(&mut self, o: &Billed) {
        self.rows += o.rows;
        self.cost_usd += o.cost_usd;
        self.gap_usd += o.gap_usd;
        self.first_day = min_opt(self.first_day, o.first_day);
        self.last_day = self.last_day.max(o.last_day);
    }
}

impl Spend {
    pub fn add(&mut self, o: &Spend) {
        self.cost_usd += o.cost_usd;
        self.public_cost_usd += o.public_cost_usd;
        self.cost_with_public_usd += o.cost_with_public_usd;
        self.rows += o.rows;
        self.rated_rows += o.rated_rows;
        self.rated_cost_usd += o.rated_cost_usd;
        self.rated_overspend_usd += o.rated_overspend_usd;
        self.billed_public.add(&o.billed_public);
        self.billed_private.add(&o.billed_private);
        self.first_day = min_opt(self.first_day, o.first_day);
        self.last_day = self.last_day.max(o.last_day);
    }
}

fn min_opt(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => a.or(b),
    }
}

/// First day whose start is at or after `t`.
fn ceil_day(t: DateTime<Utc>) -> NaiveDate {
    let d = day(t);
    if day_start(d) == t {
        d
    } else {
        d + Duration::days(1)
    }
}

/// Segments for every (account, product) that has a covering grant or spend in the window.
/// `spend_pairs` are the (account, product key) pairs with mapped spend.
pub fn segments(cx: &Context, spend_pairs: &BTreeSet<(String, String)>) -> Vec<Segment> {
    let mut pairs: BTreeMap<(String, String), Vec<Candidate>> = BTreeMap::new();
    for id in cx.accounts.keys() {
        let keys: BTreeSet<&str> = cx
            .granted_licenses(id)
            .into_iter()
            .filter_map(|arn| cx.products.license(arn).map(|(_, key)| key))
            .collect();
        for key in keys {
            let c: Vec<Candidate> = cx.products.licenses[key]
                .iter()
                .flat_map(|&l| cx.candidates(id, &cx.snap.licenses[l].arn))
                .collect();
            if !c.is_empty() {
                pairs.insert((id.to_string(), key.to_string()), c);
            }
        }
    }
    for (account, key) in spend_pairs {
        pairs
            .entry((account.clone(), key.clone()))
            .or_insert_with(|| {
                cx.products.licenses[key]
                    .iter()
                    .flat_map(|&l| cx.candidates(account, &cx.snap.licenses[l].arn))
                    .collect()
            });
    }
    let mut out = Vec::new();
    for ((account, key), candidates) in pairs {
        pair_segments(cx, &account, &key, &candidates, &mut out);
    }
    out
}

/// The last day of the product's organization licenses when all of them have ended by the
/// as-of date and the end is known ([`Context::license_end`]: the agreement's end first);
/// `None` while any is alive or the end is unknown.
pub fn product_end(cx: &Context, key: &str) -> Option<(NaiveDate, String)> {
    let mut end: Option<(NaiveDate, String)> = None;
    for &i in cx.products.licenses.get(key)? {
        let l = &cx.snap.licenses[i];
        let d = day(cx.license_end(l)?.0);
        if end.as_ref().is_none_or(|(e, _)| d > *e) {
            end = Some((d, l.arn.clone()));
        }
    }
    end
}

/// The license a product's findings name when no grant is involved: the first live one, else
/// the first.
pub fn main_license(cx: &Context, key: &str) -> String {
    let ls = &cx.products.licenses[key];
    ls.iter()
        .map(|&i| &cx.snap.licenses[i])
        .find(|l| !cx.license_ended(l))
        .or_else(|| ls.first().map(|&i| &cx.snap.licenses[i]))
        .map(|l| l.arn.clone())
        .unwrap_or_default()
}

fn pair_segments(
    cx: &Context,
    account: &str,
    key: &str,
    candidates: &[Candidate],
    out: &mut Vec<Segment>,
) {
    let start = cx.window_start;
    let end = cx.as_of;
    let ended = product_end(cx, key);
    let grace = Duration::days(i64::from(cx.cfg.cancellation_grace_days));
    let main = main_license(cx, key);

    let mut breaks: BTreeSet<NaiveDate> = BTreeSet::from([start]);
    for c in candidates {
        for t in cx.grants[c.effective].timeline.change_times() {
            breaks.insert(ceil_day(t));
        }
    }
    if let Some((e, _)) = &ended {
        breaks.insert(*e + Duration::days(1));
        breaks.insert(*e + grace + Duration::days(1));
    }
    let breaks: Vec<NaiveDate> = breaks
        .into_iter()
        .filter(|d| *d >= start && *d <= end)
        .collect();

    let first_new = out.len();
    for (i, &from) in breaks.iter().enumerate() {
        let to = breaks
            .get(i + 1)
            .map(|d| *d - Duration::days(1))
            .unwrap_or(end);
        let at = day_start(from);
        let (state, cand) = match &ended {
            Some((e, _)) if from > *e + grace => (State::AfterCancellation, None),
            Some((e, _)) if from > *e => (State::LicenseEndedGrace, None),
            _ if account == cx.subscriber() => (State::Subscriber, None),
            _ => state_at(cx, candidates, at),
        };
        let license_arn = match (&cand, &ended) {
            (Some(c), _) => cx.grants[c.top].grant.license_arn.clone(),
            (None, Some((_, arn))) if state != State::Subscriber => arn.clone(),
            _ => main.clone(),
        };
        let seg = Segment {
            account_id: account.to_string(),
            product_key: key.to_string(),
            license_arn,
            state,
            grant: cand.map(|c| c.top),
            effective_grant: cand.map(|c| c.effective),
            from,
            to,
            spend: Spend::default(),
        };
        let extends = out.len() > first_new
            && out
                .last()
                .is_some_and(|p| p.state == seg.state && p.grant == seg.grant);
        match out.last_mut() {
            Some(prev) if extends => prev.to = to,
            _ => out.push(seg),
        }
    }
}

fn state_at(
    cx: &Context,
    candidates: &[Candidate],
    at: DateTime<Utc>,
) -> (State, Option<Candidate>) {
    let timeline = |c: &Candidate| &cx.grants[c.effective].timeline;
    let status = |c: &Candidate| timeline(c).status_at(at).cloned();
    let unknown = |c: &Candidate| timeline(c).active_unknown_at(at);
    if let Some(c) = candidates
        .iter()
        .find(|c| status(c) == Some(GrantStatus::Active) && !unknown(c))
    {
        return (State::Covered, Some(*c));
    }
    if let Some(c) = candidates.iter().find(|c| unknown(c)) {
        return (State::ActivationUnknown, Some(*c));
    }
    if let Some(c) = candidates
        .iter()
        .find(|c| status(c).is_some_and(|s| s.is_awaiting_activation()))
    {
        return (State::AwaitingActivation, Some(*c));
    }
    (State::NotCovered, None)
}
