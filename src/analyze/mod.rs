//! The analysis: pure functions from a snapshot, a config and an as-of date to coverage,
//! findings and cost allocation. No I/O, no clock.
//!
//! Order: [`context`] (the organization on the as-of date) -> [`spend`] (window usage, product
//! matching) -> [`coverage`] (segments per account and product) -> spend per segment ->
//! [`allocation`] -> [`rules`] -> sorted findings with stable ids. [`cleanup`] verifies a
//! cancelled subscription's clean-up on the same context (`verify-cleanup`).

pub mod allocation;
pub mod cleanup;
pub mod context;
pub mod coverage;
pub mod finding;
pub mod grant_home;
pub mod invoked;
pub mod products;
pub mod rates;
pub mod rules;
pub mod spend;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Config;
use crate::model::{day, Severity};
use crate::money;
use crate::progress::timed;
use crate::snapshot::{LedgerEntry, Snapshot, Table};
use allocation::AllocationRow;
use context::Context;
use coverage::{Spend, State};
use finding::{finding_id, Finding, OverspendBasis};
use rules::{Facts, RULES};

/// Everything the reports show.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub as_of: NaiveDate,
    /// The account holding the organization's licenses (management or delegated admin).
    pub subscriber_account_id: String,
    pub window_start: NaiveDate,
    pub findings: Vec<Finding>,
    pub coverage: Vec<CoverageRow>,
    pub grants: Vec<GrantRow>,
    pub allocation: Vec<AllocationRow>,
    pub totals: Totals,
    /// Spend at public price (exposed segments) per day of the window; sums to
    /// `totals.exposure_usd`.
    pub exposure_by_day: Vec<DaySpend>,
    pub completeness: Completeness,
    /// Where a new grant goes, for each account an EA001 finding names (the fix plan reads it;
    /// not in the reports).
    #[serde(skip)]
    pub grant_homes: BTreeMap<String, grant_home::GrantHome>,
}

/// One coverage segment, ready to print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    pub account_id: String,
    pub account_name: String,
    pub ou_path: String,
    pub product: String,
    pub license_arn: String,
    pub state: State,
    pub grant_arn: String,
    /// The account's own sub-grant, when the grant is an organization or OU grant.
    pub sub_grant_arn: String,
    /// The effective grant's status at the segment's end; `None` without a grant.
    pub grant_status: Option<crate::model::GrantStatus>,
    pub activation_time_unknown: bool,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub cost_usd: f64,
    /// Exposed segments with spend: the estimated spend above the private price.
    pub overspend_usd: Option<f64>,
    #[serde(serialize_with = "finding::basis_text")]
    pub overspend_basis: OverspendBasis,
}

/// One grant on the as-of date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantRow {
    pub grant_arn: String,
    pub name: String,
    pub product: String,
    pub license_arn: String,
    pub parent_arn: String,
    pub is_sub_grant: bool,
    pub relation: crate::model::GrantRelation,
    pub grantee_kind: crate::model::PrincipalKind,
    pub grantee_id: String,
    pub grantee_name: String,
    pub status: crate::model::GrantStatus,
    pub status_reason: String,
    pub version: String,
    pub created_at: Option<NaiveDate>,
    pub activated_at: Option<NaiveDate>,
    pub activation_time_unknown: bool,
    pub findings: String,
    /// What the grant allows (the fix plan copies it into a new grant); not a report column.
    #[serde(skip)]
    pub granted_operations: Vec<String>,
}

/// Spend of one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySpend {
    pub day: NaiveDate,
    pub cost_usd: f64,
}

/// Money totals of the window; they reconcile with the usage table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub usage_rows: u64,
    pub spend_usd: f64,
    /// Confirmed public-price spend: days no ACTIVE grant covered the account.
    pub exposure_usd: f64,
    /// Spend on days whose coverage is unknown (`activation-unknown`): a grant's status
    /// changed at an instant no event dates. Neither exposure nor covered spend.
    pub activation_unknown_usd: f64,
    /// Estimated overspend where a price basis exists.
    pub overspend_usd: f64,
    /// The part of `overspend_usd` computed exactly from rates (quantity x the public minus
    /// private rate of each exposed row); the rest comes from discounts.
    pub overspend_from_rates_usd: f64,
    /// Exposure for which no price basis exists (its overspend is unknown, not zero).
    pub exposure_without_price_basis_usd: f64,
    pub after_cancellation_usd: f64,
    pub unmapped_usd: f64,
    pub unallocated_usd: f64,
    /// Spend billed to the subscriber that names no caller (cost allocation `shared-pool`).
    pub shared_pool_usd: f64,
    /// Spend billed to the subscriber and moved to the caller its line items name.
    pub redistributed_usd: f64,
    pub accounts_exposed: u64,
    pub grants_awaiting_activation: u64,
    pub orphaned_grants: u64,
    /// Usage rows of the snapshot outside the window, left out of every figure.
    pub rows_outside_window: u64,
    pub cost_outside_window_usd: f64,
}

/// What the run could not read, and which rules that touches.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completeness {
    pub complete: bool,
    pub missing: Vec<LedgerEntry>,
    pub incomplete_tables: Vec<crate::snapshot::Table>,
    pub affected_rules: Vec<&'static str>,
    pub unknown_values: Vec<crate::snapshot::UnknownValue>,
}

/// Runs the whole analysis for `as_of`.
pub fn analyze(snap: &Snapshot, cfg: &Config, as_of: NaiveDate) -> Result<Analysis> {
    let cx = timed("context", || Context::new(snap, cfg, as_of));
    let window = timed("window usage", || spend::window_usage(&cx))?;
    let mut pairs = timed("spend pairs", || spend::spend_pairs(&window))?;
    let invoked = timed("invocations", || invoked::invoked(&cx));
    pairs.extend(invoked.pairs());
    let mut segments = timed("segments", || coverage::segments(&cx, &pairs));
    let placed = timed("attribute spend", || {
        spend::attribute(&window, &cx.rates, &mut segments)
    })?;
    let price_basis = timed("price basis", || price_basis(&cx, &segments));
    let allocation = timed("allocation", || {
        allocation::allocate(&cx, &window, &placed.row_loss, &price_basis)
    })?;
    let facts = Facts {
        price_basis,
        unallocated: allocation::unallocated(&allocation),
        unallocated_tags_unread: allocation::unallocated_tags_unread(&cx, &allocation),
        segments,
        unmapped: placed.unmapped,
        invoked,
    };

    let incomplete_tables = snap.incomplete_tables();
    // A gap of one member account (its role not assumed, a call in it failed) touches that
    // account's findings only; the others stand.
    let org_wide = snap.incomplete_tables_org_wide();
    let by_account = snap.incomplete_accounts();
    let mut findings = Vec::new();
    let mut affected_rules = Vec::new();
    for rule in RULES {
        let start = findings.len();
        timed(rule.code(), || rule.check(&cx, &facts, &mut findings));
        let reads = |tables: &[Table]| rule.tables().iter().any(|t| tables.contains(t));
        let incomplete = reads(&org_wide);
        if incomplete || by_account.values().any(|t| reads(t)) {
            affected_rules.push(rule.code());
        }
        for f in &mut findings[start..] {
            f.id = finding_id(f.rule, &f.account_id, &f.license_arn, &f.grant_arn);
            // A rule may know its finding rests on data that was not read.
            f.data_incomplete |= incomplete
                || by_account
                    .get(f.account_id.as_str())
                    .is_some_and(|t| reads(t));
        }
    }
    mark_undecided(snap, &mut findings);
    cross_reference(&mut findings);
    findings.sort_by(|a, b| a.gravity().order(&b.gravity()));

    let totals = timed("totals", || {
        totals(&cx, &facts, &findings, &window, &allocation)
    });
    let grant_homes = findings
        .iter()
        .filter(|f| f.rule == rules::code::PUBLIC_PRICE_EXPOSURE)
        .filter_map(|f| cx.account(&f.account_id))
        .map(|a| (a.id.clone(), grant_home::of(&cx, a)))
        .collect();
    let mut analysis = Analysis {
        grant_homes,
        as_of,
        subscriber_account_id: cx.subscriber().to_string(),
        window_start: cx.window_start,
        coverage: timed("coverage rows", || coverage_rows(&cx, &facts)),
        grants: timed("grant rows", || grant_rows(&cx, &findings)),
        allocation,
        totals,
        exposure_by_day: placed
            .exposed_by_day
            .iter()
            .zip(0..)
            .map(|(&cost_usd, i)| DaySpend {
                day: cx.window_start + chrono::Duration::days(i),
                cost_usd,
            })
            .collect(),
        completeness: Completeness {
            complete: snap.is_complete(),
            missing: snap.manifest.completeness.clone(),
            incomplete_tables,
            affected_rules,
            unknown_values: snap.manifest.unknown_values.clone(),
        },
        findings,
    };
    analysis.round_money();
    Ok(analysis)
}

/// An invocation without a grant (EA015) and the exposure billing later shows (EA001) on the
/// same account, product and overlapping days name each other (`related_finding_id`).
fn cross_reference(findings: &mut [Finding]) {
    let overlap =
        |a: &Finding, b: &Finding| match (a.first_day, a.last_day, b.first_day, b.last_day) {
            (Some(a0), Some(a1), Some(b0), Some(b1)) => a0 <= b1 && b0 <= a1,
            _ => false,
        };
    let early: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].rule == rules::code::INVOCATION_WITHOUT_GRANT)
        .collect();
    for i in early {
        let billed = (0..findings.len()).find(|&j| {
            let (a, b) = (&findings[i], &findings[j]);
            b.rule == rules::code::PUBLIC_PRICE_EXPOSURE
                && b.account_id == a.account_id
                && b.product == a.product
                && overlap(a, b)
        });
        if let Some(j) = billed {
            findings[i].related_finding_id = findings[j].id.clone();
            findings[j].related_finding_id = findings[i].id.clone();
        }
    }
}

/// Findings that rest on a grant whose parent could not be read (`parent-unread`: a direct
/// grant or a sub-grant, nobody knows): the grant's own, and those about its account and
/// license. Only those are marked, not every finding reading the grants table.
fn mark_undecided(snap: &Snapshot, findings: &mut [Finding]) {
    let undecided: Vec<&crate::model::Grant> = snap
        .grants
        .iter()
        .filter(|g| g.relation == crate::model::GrantRelation::ParentUnread)
        .collect();
    if undecided.is_empty() {
        return;
    }
    let arns: BTreeSet<&str> = undecided.iter().map(|g| g.arn.as_str()).collect();
    let pairs: BTreeSet<(&str, &str)> = undecided
        .iter()
        .map(|g| (g.grantee_id.as_str(), g.license_arn.as_str()))
        .collect();
    for f in findings.iter_mut() {
        if arns.contains(f.grant_arn.as_str())
            || pairs.contains(&(f.account_id.as_str(), f.license_arn.as_str()))
        {
            f.data_incomplete = true;
        }
    }
}

/// How overspend is estimated per product: the private/public ratio seen on its covered spend
/// when the data carries public-price cost, else the configured discount, else none; each
/// saying so when the agreements or rates could not be read.
fn price_basis(
    cx: &Context,
    segments: &[coverage::Segment],
) -> BTreeMap<String, (OverspendBasis, f64)> {
    let rates_unread = cx
        .snap
        .incomplete_tables()
        .iter()
        .any(|t| matches!(t, Table::Agreements | Table::Rates));
    let mut observed: BTreeMap<&str, Spend> = BTreeMap::new();
    for s in segments
        .iter()
        .filter(|s| matches!(s.state, State::Covered | State::Subscriber))
    {
        observed
            .entry(s.product_key.as_str())
            .or_default()
            .add(&s.spend);
    }
    cx.products
        .names
        .iter()
        .map(|(key, name)| {
            let seen = observed
                .get(key.as_str())
                .filter(|s| s.public_cost_usd > 0.0 && s.cost_with_public_usd > 0.0);
            let basis = match (seen, cx.cfg.private_discount(name)) {
                (Some(s), _) if s.cost_with_public_usd < s.public_cost_usd => (
                    OverspendBasis::ObservedPrivateRate,
                    // Kept to a millionth: the sums carry last-bit noise from parallel
                    // aggregation, which must not reach the rounded overspend.
                    money::round(1.0 - s.cost_with_public_usd / s.public_cost_usd),
                ),
                (_, Some(d)) => (OverspendBasis::ConfiguredDiscount, d),
                _ => (OverspendBasis::None, 0.0),
            };
            let basis = match rates_unread {
                true => (basis.0.rates_unread(), basis.1),
                false => basis,
            };
            (key.clone(), basis)
        })
        .collect()
}

fn totals(
    cx: &Context,
    facts: &Facts,
    findings: &[Finding],
    w: &spend::WindowUsage,
    allocation: &[AllocationRow],
) -> Totals {
    let allocated = |keep: fn(&AllocationRow) -> bool| -> f64 {
        allocation
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.cost_usd)
            .sum()
    };
    let sum_state = |keep: fn(State) -> bool| -> f64 {
        facts
            .segments
            .iter()
            .filter(|s| keep(s.state))
            .map(|s| s.spend.cost_usd)
            .sum()
    };
    let by_rule = |code: &'static str| findings.iter().filter(move |f| f.rule == code);
    let exposed: Vec<&Finding> = by_rule(rules::code::PUBLIC_PRICE_EXPOSURE).collect();
    let grants_awaiting = cx
        .grants
        .iter()
        .filter(|v| v.status.is_awaiting_activation())
        .count() as u64;
    Totals {
        usage_rows: w.rows,
        spend_usd: w.cost_usd,
        exposure_usd: sum_state(State::is_exposed),
        activation_unknown_usd: sum_state(|s| s == State::ActivationUnknown),
        overspend_usd: exposed.iter().filter_map(|f| f.overspend_usd).sum(),
        overspend_from_rates_usd: facts
            .segments
            .iter()
            .filter(|s| s.state.is_exposed())
            .map(|s| s.spend.rated_overspend_usd)
            .sum(),
        exposure_without_price_basis_usd: facts
            .segments
            .iter()
            .filter(|s| s.state.is_exposed())
            .map(|s| facts.unpriced(&s.product_key, &s.spend))
            .sum(),
        after_cancellation_usd: sum_state(|s| s == State::AfterCancellation),
        unmapped_usd: facts.unmapped.iter().map(|u| u.spend.cost_usd).sum(),
        unallocated_usd: facts.unallocated.values().map(|s| s.cost_usd).sum(),
        shared_pool_usd: allocated(|r| r.method == allocation::AllocationMethod::SharedPool),
        redistributed_usd: allocated(|r| r.redistributed),
        accounts_exposed: exposed
            .iter()
            .filter(|f| f.cost_usd.is_some_and(|c| c > 0.0))
            .map(|f| f.account_id.as_str())
            .collect::<BTreeSet<_>>()
            .len() as u64,
        grants_awaiting_activation: grants_awaiting,
        orphaned_grants: by_rule(rules::code::ORPHANED_GRANT).count() as u64,
        rows_outside_window: w.rows_outside_window,
        cost_outside_window_usd: w.cost_outside_window_usd,
    }
}

fn coverage_rows(cx: &Context, facts: &Facts) -> Vec<CoverageRow> {
    facts
        .segments
        .iter()
        .map(|s| {
            let account = cx.account(&s.account_id);
            let top = s.grant.map(|i| &cx.grants[i]);
            let eff = s.effective_grant.map(|i| &cx.grants[i]);
            let (overspend_usd, overspend_basis) = if s.state.is_exposed() && s.spend.cost_usd > 0.0
            {
                facts.overspend(&s.product_key, &s.spend)
            } else {
                (None, OverspendBasis::NotApplicable)
            };
            CoverageRow {
                account_id: s.account_id.clone(),
                account_name: account.map(|a| a.name.clone()).unwrap_or_default(),
                ou_path: account.map(|a| a.ou_path.clone()).unwrap_or_default(),
                product: cx.products.name(&s.product_key).to_string(),
                license_arn: s.license_arn.clone(),
                state: s.state,
                grant_arn: top.map(|g| g.grant.arn.clone()).unwrap_or_default(),
                sub_grant_arn: eff
                    .filter(|e| e.grant.is_sub_grant())
                    .map(|e| e.grant.arn.clone())
                    .unwrap_or_default(),
                grant_status: eff
                    .and_then(|e| e.timeline.status_at(crate::model::day_start(s.to)).cloned()),
                activation_time_unknown: s.state == State::Covered
                    && eff.is_some_and(|e| e.timeline.activation_unknown()),
                from: s.from,
                to: s.to,
                days: (s.to - s.from).num_days() + 1,
                cost_usd: s.spend.cost_usd,
                overspend_usd,
                overspend_basis,
            }
        })
        .collect()
}

fn grant_rows(cx: &Context, findings: &[Finding]) -> Vec<GrantRow> {
    let mut codes: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in findings.iter().filter(|f| !f.grant_arn.is_empty()) {
        codes
            .entry(f.grant_arn.as_str())
            .or_default()
            .insert(f.rule);
    }
    let mut rows: Vec<GrantRow> = cx
        .grants
        .iter()
        .map(|v| {
            let g = v.grant;
            let grantee_name = cx
                .account(&g.grantee_id)
                .map(|a| a.name.clone())
                .or_else(|| cx.ous.get(g.grantee_id.as_str()).map(|o| o.path.clone()))
                .unwrap_or_default();
            GrantRow {
                grant_arn: g.arn.clone(),
                name: g.name.clone(),
                product: rules::license_product(cx, &g.license_arn),
                license_arn: g.license_arn.clone(),
                parent_arn: g.parent_arn.clone(),
                is_sub_grant: g.is_sub_grant(),
                relation: g.relation.clone(),
                grantee_kind: g.grantee_kind.clone(),
                grantee_id: g.grantee_id.clone(),
                grantee_name,
                status: v.status.clone(),
                status_reason: g.status_reason.clone().unwrap_or_default(),
                version: g.version.clone(),
                granted_operations: g.granted_operations.clone(),
                created_at: v.timeline.created_at.map(day),
                activated_at: v
                    .timeline
                    .activated_at
                    .filter(|t| *t < cx.as_of_end)
                    .map(day),
                activation_time_unknown: v.status == crate::model::GrantStatus::Active
                    && v.timeline.activation_unknown(),
                findings: codes
                    .get(g.arn.as_str())
                    .map(|c| c.iter().copied().collect::<Vec<_>>().join(" "))
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        a.license_arn
            .cmp(&b.license_arn)
            .then_with(|| a.grant_arn.cmp(&b.grant_arn))
    });
    rows
}

impl Analysis {
    fn round_money(&mut self) {
        for f in &mut self.findings {
            f.cost_usd
                .iter_mut()
                .chain(f.overspend_usd.iter_mut())
                .chain(f.activation_unknown_usd.iter_mut())
                .for_each(money::round_in_place);
        }
        // Ordered again on the rounded money: sums in another row order differ in their last
        // bits, and must not swap two findings of the same amount (an EA015 and its EA001).
        self.findings
            .sort_by(|a, b| a.gravity().order(&b.gravity()));
        self.coverage.iter_mut().for_each(|c| {
            money::round_in_place(&mut c.cost_usd);
            c.overspend_usd.iter_mut().for_each(money::round_in_place);
        });
        for r in &mut self.allocation {
            money::round_in_place(&mut r.cost_usd);
            money::round_in_place(&mut r.exposed_usd);
            if let Some(o) = &mut r.overspend_usd {
                money::round_in_place(o);
            }
        }
        self.exposure_by_day
            .iter_mut()
            .for_each(|d| money::round_in_place(&mut d.cost_usd));
        let t = &mut self.totals;
        for x in [
            &mut t.spend_usd,
            &mut t.exposure_usd,
            &mut t.activation_unknown_usd,
            &mut t.overspend_usd,
            &mut t.overspend_from_rates_usd,
            &mut t.exposure_without_price_basis_usd,
            &mut t.after_cancellation_usd,
            &mut t.unmapped_usd,
            &mut t.unallocated_usd,
            &mut t.shared_pool_usd,
            &mut t.redistributed_usd,
            &mut t.cost_outside_window_usd,
        ] {
            money::round_in_place(x);
        }
    }

    /// Findings at or above a severity, suppressed ones left out.
    /// Unsuppressed findings at `s` or graver; none for `None` (`--fail-on none`).
    pub fn count_at_or_above(&self, s: Option<Severity>) -> usize {
        let Some(s) = s else { return 0 };
        self.findings
            .iter()
            .filter(|f| !f.tracking.suppressed && f.severity >= s)
            .count()
    }
}
