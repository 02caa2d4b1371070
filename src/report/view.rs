//! The view model the HTML and Markdown reports share: headline numbers, changes since the
//! last run, top findings and per-section summaries, computed from an [`Analysis`].
//!
//! Its size is bounded whatever the organization's size: summaries and top-N lists, never one
//! row per coverage segment; the CSVs carry the full detail.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::{Report, RunInfo};
use crate::analyze::coverage::State;
use crate::analyze::finding::{Change, Finding, FindingRef, Gravity};
use crate::analyze::rules::{code, RULES};
use crate::analyze::{Analysis, CoverageRow};
use crate::history::{self, ResolvedFinding};
use crate::model::{GrantStatus, PrincipalKind, Severity};
use crate::money::usd;
use crate::snapshot::{LedgerEntry, UnknownValue};

/// Findings listed in the HTML report (by severity, then cost); findings.csv has them all.
pub const TOP_FINDINGS: usize = 500;
/// Rows of the smaller lists (clean-up findings, recent activations, ledger entries).
pub const TOP_ROWS: usize = 100;
/// Teams shown by name in the cost allocation; the rest are summed as one row.
pub const TOP_TEAMS: usize = 25;
/// Products shown by name in the spend chart; the rest are summed as "other products".
pub const TOP_PRODUCTS: usize = 5;

/// New and resolved findings listed by name in the change lists, gravest first; the counts
/// say how many there are, findings.csv and summary.json have them all.
pub const TOP_CHANGES: usize = 100;

/// What changed since the previous run. Run history fills it; without history the reports
/// say so instead of showing every finding as new.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    /// The as-of date of the run compared with.
    pub previous_as_of: Option<NaiveDate>,
    /// The gravest new findings, at most [`TOP_CHANGES`].
    pub new: Vec<ChangedFinding>,
    pub new_total: usize,
    /// The gravest resolved findings, at most [`TOP_CHANGES`].
    pub resolved: Vec<ChangedFinding>,
    pub resolved_total: usize,
    pub persisting: usize,
}

/// One new or resolved finding, as the change lists show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedFinding {
    #[serde(flatten)]
    pub finding: FindingRef,
    pub cost_usd: Option<f64>,
    pub message: String,
}

impl From<&Finding> for ChangedFinding {
    fn from(f: &Finding) -> Self {
        ChangedFinding {
            finding: FindingRef::from(f),
            cost_usd: f.cost_usd,
            message: f.message.clone(),
        }
    }
}

impl From<&ResolvedFinding> for ChangedFinding {
    /// As last stored: a resolved finding's cost and message are not kept.
    fn from(r: &ResolvedFinding) -> Self {
        ChangedFinding {
            finding: r.finding.clone(),
            cost_usd: None,
            message: format!("last seen in the run of {}", r.last_seen),
        }
    }
}

impl ChangedFinding {
    pub fn gravity(&self) -> Gravity<'_> {
        self.finding.gravity(self.cost_usd)
    }
}

impl Changes {
    /// The change lists of the run's `history`: new findings in full (gravest first),
    /// resolved ones as last stored.
    pub fn new(history: &history::Changes, findings: &[Finding]) -> Changes {
        let gravest = |mut all: Vec<ChangedFinding>| {
            let total = all.len();
            all.sort_by(|a, b| a.gravity().order(&b.gravity()));
            all.truncate(TOP_CHANGES);
            (all, total)
        };
        let (new, new_total) = gravest(
            findings
                .iter()
                .filter(|f| f.tracking.change == Some(Change::New))
                .map(ChangedFinding::from)
                .collect(),
        );
        let (resolved, resolved_total) = gravest(
            history
                .resolved_findings
                .iter()
                .map(ChangedFinding::from)
                .collect(),
        );
        Changes {
            previous_as_of: history.previous_run.as_ref().map(|p| p.as_of),
            new,
            new_total,
            resolved,
            resolved_total,
            persisting: history.persisting,
        }
    }
}

/// Everything a report template sees.
#[derive(Debug, Serialize)]
pub struct Page<'a> {
    pub run: &'a RunInfo,
    pub headline: Vec<Card>,
    pub complete: bool,
    pub changes: Option<Changes>,
    pub findings: FindingsView,
    pub coverage: Vec<ProductCoverage>,
    pub funnel: Funnel,
    pub timeline: Timeline,
    pub allocation: Allocation,
    pub cleanup: Cleanup,
    pub completeness: CompletenessView<'a>,
    /// Suppressed findings (`--suppressions`), at most `TOP_ROWS`.
    pub suppressed: Vec<ChangedFinding>,
    /// The fix plan's size, once the plan is made ([`Page::with_plan`]).
    pub plan: Option<PlanView>,
}

/// The fix plan in numbers: commands per account, findings left to a person.
#[derive(Debug, Serialize)]
pub struct PlanView {
    pub commands: usize,
    /// (account, `subscriber` or `member`, commands), in the plan's order; at most
    /// `TOP_ROWS`, the rest counted in `other_accounts`.
    pub accounts: Vec<PlanAccount>,
    pub other_accounts: usize,
    pub decisions: usize,
}

#[derive(Debug, Serialize)]
pub struct PlanAccount {
    pub account_id: String,
    pub runs_as: &'static str,
    pub commands: usize,
}

/// One headline number. `value` is already formatted; an incomplete figure says so.
#[derive(Debug, Serialize)]
pub struct Card {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub detail: String,
    /// The figure depends on data the run could not read completely.
    pub incomplete: bool,
}

#[derive(Debug, Serialize)]
pub struct FindingsView {
    pub total: usize,
    pub shown: usize,
    pub by_severity: Vec<Count>,
    pub by_rule: Vec<RuleCount>,
    /// The top findings, for the client-side table (embedded as JSON).
    pub rows: Vec<FindingRow>,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Serialize)]
pub struct RuleCount {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: String,
    pub count: usize,
    pub cost_usd: f64,
    pub incomplete: bool,
}

/// A finding as the findings table shows it (short keys: this is the bulk of the page).
#[derive(Debug, Serialize)]
pub struct FindingRow {
    pub id: String,
    pub sev: String,
    /// Severity as a number for sorting: higher is graver.
    pub rank: usize,
    pub rule: &'static str,
    pub name: &'static str,
    pub acct: String,
    pub acct_name: String,
    pub team: String,
    pub product: String,
    pub grant: String,
    pub cost: Option<f64>,
    pub over: Option<f64>,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    pub msg: String,
    pub incomplete: bool,
}

/// Accounts and spend of one product by coverage state (accounts by their state on the
/// as-of date, spend over the window).
#[derive(Debug, Default, Serialize)]
pub struct ProductCoverage {
    pub product: String,
    pub accounts_covered: usize,
    /// On the as-of date, an activation (or deactivation) nobody dated may or may not have
    /// happened yet.
    pub accounts_activation_unknown: usize,
    pub accounts_awaiting: usize,
    pub accounts_uncovered: usize,
    pub accounts_ended: usize,
    pub cost_covered_usd: f64,
    /// Spend on days whose coverage is unknown: neither covered nor exposed.
    pub cost_activation_unknown_usd: f64,
    pub cost_exposed_usd: f64,
    pub cost_ended_usd: f64,
}

/// Account-product pairs from grant to use.
#[derive(Debug, Default, Serialize)]
pub struct Funnel {
    pub granted: usize,
    pub activated: usize,
    pub invoking: usize,
}

#[derive(Debug, Serialize)]
pub struct Timeline {
    pub weeks: Vec<Week>,
    pub activations_known: usize,
    pub activation_time_unknown: usize,
    pub recent: Vec<Activation>,
}

/// One week (Monday to Sunday) of the window.
#[derive(Debug, Serialize)]
pub struct Week {
    pub start: NaiveDate,
    pub activated: usize,
    /// Accounts with a product in an exposed state (awaiting activation or not covered) on
    /// some day of the week, whether or not they spent on it that week.
    pub exposed_accounts: usize,
    /// Their spend at public price that week.
    pub exposure_usd: f64,
}

#[derive(Debug, Serialize)]
pub struct Activation {
    pub date: NaiveDate,
    pub grant_name: String,
    pub grantee_kind: String,
    pub grantee_id: String,
    pub grantee_name: String,
    pub product: String,
}

#[derive(Debug, Serialize)]
pub struct Allocation {
    pub total_usd: f64,
    pub unallocated_usd: f64,
    pub teams: Vec<TeamCost>,
    pub other_teams: usize,
    pub other_teams_usd: f64,
    /// Products named in `TeamCost::by_product`, biggest first; the last may be "other products".
    pub products: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TeamCost {
    /// Empty for the shared pool and the unallocated (`owner` says which).
    pub team: String,
    /// `team`, `shared-pool` or `unallocated`.
    pub owner: &'static str,
    pub methods: String,
    pub accounts: usize,
    pub cost_usd: f64,
    pub share: f64,
    pub by_product: Vec<f64>,
    /// What its exposed spend lost to public pricing, over the rows with a price basis.
    pub overspend_usd: f64,
    /// Some exposed spend of the team has no price basis: `overspend_usd` is a lower bound.
    pub overspend_unknown: bool,
}

#[derive(Debug, Serialize)]
pub struct Cleanup {
    pub licenses: Vec<CleanupLicense>,
    pub orphaned: Vec<FindingRow>,
    pub orphaned_total: usize,
    pub after_cancellation: Vec<FindingRow>,
    pub after_cancellation_total: usize,
}

/// The clean-up verdict of one ended license.
#[derive(Debug, Serialize)]
pub struct CleanupLicense {
    pub product: String,
    pub license_arn: String,
    pub grants_left: usize,
    pub accounts_spending_after: usize,
    pub spend_after_usd: f64,
    pub done: bool,
}

#[derive(Debug, Serialize)]
pub struct CompletenessView<'a> {
    pub complete: bool,
    pub missing: &'a [LedgerEntry],
    pub missing_total: usize,
    pub incomplete_tables: &'a [crate::snapshot::Table],
    pub affected_rules: Vec<RuleName>,
    pub unknown_values: &'a [UnknownValue],
    pub unknown_total: usize,
}

#[derive(Debug, Serialize)]
pub struct RuleName {
    pub code: &'static str,
    pub name: &'static str,
}

impl<'a> Page<'a> {
    pub fn new(r: &Report<'a>) -> Page<'a> {
        let a = r.analysis;
        Page {
            run: r.run,
            headline: headline(a),
            complete: a.completeness.complete,
            changes: r.history.map(|h| Changes::new(&h.changes, &a.findings)),
            findings: findings(a),
            coverage: coverage(&a.coverage),
            funnel: funnel(a),
            timeline: timeline(a),
            allocation: allocation(a),
            cleanup: cleanup(a),
            completeness: completeness(a),
            suppressed: a
                .findings
                .iter()
                .filter(|f| f.tracking.suppressed)
                .take(TOP_ROWS)
                .map(ChangedFinding::from)
                .collect(),
            plan: None,
        }
    }

    /// The page with the size of the fix plan written beside it.
    pub fn with_plan(mut self, p: &crate::plan::Plan) -> Page<'a> {
        let mut accounts: Vec<PlanAccount> = p
            .per_account()
            .into_iter()
            .map(|(account, commands)| PlanAccount {
                runs_as: if account == p.subscriber_account_id {
                    "subscriber"
                } else {
                    "member"
                },
                account_id: account.to_string(),
                commands,
            })
            .collect();
        let other_accounts = accounts.len().saturating_sub(TOP_ROWS);
        accounts.truncate(TOP_ROWS);
        self.plan = Some(PlanView {
            commands: p.steps.len(),
            accounts,
            other_accounts,
            decisions: p.decisions.len(),
        });
        self
    }
}

fn severity_rank(s: &Severity) -> usize {
    *s as usize
}

fn headline(a: &Analysis) -> Vec<Card> {
    let t = &a.totals;
    let affected = |code: &str| a.completeness.affected_rules.contains(&code);
    // An incomplete figure is a lower bound; an incomplete zero is not known at all.
    let card = |key, label, n: f64, text: String, detail: String, rule: &str| {
        let incomplete = affected(rule);
        let value = match (incomplete, n == 0.0) {
            (false, _) => text,
            (true, true) => "not known".to_string(),
            (true, false) => format!("at least {text}"),
        };
        let detail = if incomplete {
            format!("{detail} Data for {rule} is incomplete.")
        } else {
            detail
        };
        Card {
            key,
            label,
            value,
            detail,
            incomplete,
        }
    };
    let exact = if t.overspend_from_rates_usd > 0.0 {
        format!(
            "{} of it exact, from agreement terms and public rates. ",
            usd(t.overspend_from_rates_usd)
        )
    } else {
        String::new()
    };
    let without = if t.exposure_without_price_basis_usd > 0.0 {
        format!(
            "{exact}Not included: {} of exposure has no price basis, so its overspend is unknown.",
            usd(t.exposure_without_price_basis_usd)
        )
    } else {
        format!("{exact}Every exposed product has a price basis.")
    };
    let gaps = a.completeness.missing.len();
    let completeness = if a.completeness.complete {
        Card {
            key: "completeness",
            label: "Data completeness",
            value: "complete".into(),
            detail: "Every source the run meant to read was read.".into(),
            incomplete: false,
        }
    } else {
        let rules: Vec<&str> = a.completeness.affected_rules.clone();
        Card {
            key: "completeness",
            label: "Data completeness",
            value: "INCOMPLETE".into(),
            detail: format!(
                "{gaps} source(s) could not be read; affected rules: {}. Figures marked incomplete are lower bounds.",
                if rules.is_empty() { "none".to_string() } else { rules.join(", ") }
            ),
            incomplete: true,
        }
    };
    vec![
        card(
            "exposure",
            "Public-price exposure",
            t.exposure_usd,
            usd(t.exposure_usd),
            "Spend billed at public price by accounts without an active grant.".into(),
            code::PUBLIC_PRICE_EXPOSURE,
        ),
        card(
            "activation_unknown",
            "Exposure unconfirmed",
            t.activation_unknown_usd,
            usd(t.activation_unknown_usd),
            "Spend on days a grant was activated (or deactivated) at a time no event dates: public or private price, not counted above.".into(),
            code::PUBLIC_PRICE_EXPOSURE,
        ),
        card(
            "overspend",
            "Estimated overspend",
            t.overspend_usd,
            usd(t.overspend_usd),
            without,
            code::PUBLIC_PRICE_EXPOSURE,
        ),
        card(
            "accounts_exposed",
            "Accounts exposed",
            t.accounts_exposed as f64,
            super::templates::group_thousands(t.accounts_exposed as i64),
            "Accounts with public-price spend on a product the organization subscribes to.".into(),
            code::PUBLIC_PRICE_EXPOSURE,
        ),
        card(
            "awaiting",
            "Grants awaiting activation",
            t.grants_awaiting_activation as f64,
            super::templates::group_thousands(t.grants_awaiting_activation as i64),
            "DISABLED, PENDING_ACCEPT or PENDING_WORKFLOW on the report date.".into(),
            code::GRANT_NOT_ACTIVATED,
        ),
        card(
            "orphaned",
            "Orphaned grants",
            t.orphaned_grants as f64,
            super::templates::group_thousands(t.orphaned_grants as i64),
            "Live grants of a cancelled or ended license.".into(),
            code::ORPHANED_GRANT,
        ),
        completeness,
    ]
}

fn finding_row(f: &Finding) -> FindingRow {
    FindingRow {
        id: f.id.clone(),
        sev: f.severity.to_string(),
        rank: severity_rank(&f.severity),
        rule: f.rule,
        name: f.name,
        acct: f.account_id.clone(),
        acct_name: f.account_name.clone(),
        team: f.team.clone(),
        product: f.product.clone(),
        grant: f.grant_arn.clone(),
        cost: f.cost_usd,
        over: f.overspend_usd,
        first: f.first_day,
        last: f.last_day,
        msg: f.message.clone(),
        incomplete: f.data_incomplete,
    }
}

fn top_rows<'a>(it: impl Iterator<Item = &'a Finding>, n: usize) -> (Vec<FindingRow>, usize) {
    let mut all: Vec<&Finding> = it.collect();
    all.sort_by(|a, b| a.gravity().order(&b.gravity()));
    let total = all.len();
    (all.into_iter().take(n).map(finding_row).collect(), total)
}

fn findings(a: &Analysis) -> FindingsView {
    let mut by_sev: BTreeMap<usize, (String, usize)> = Severity::KNOWN
        .iter()
        .enumerate()
        .map(|(i, s)| (i, (s.to_string(), 0)))
        .collect();
    for f in &a.findings {
        by_sev
            .entry(severity_rank(&f.severity))
            .or_insert_with(|| (f.severity.to_string(), 0))
            .1 += 1;
    }
    let by_rule = RULES
        .iter()
        .map(|r| {
            let of_rule = a.findings.iter().filter(|f| f.rule == r.code());
            RuleCount {
                code: r.code(),
                name: r.name(),
                severity: r.default_severity().to_string(),
                count: of_rule.clone().count(),
                cost_usd: of_rule.filter_map(|f| f.cost_usd).sum(),
                incomplete: a.completeness.affected_rules.contains(&r.code()),
            }
        })
        .collect();
    let (rows, total) = top_rows(a.findings.iter(), TOP_FINDINGS);
    FindingsView {
        total,
        shown: rows.len(),
        by_severity: by_sev
            .into_values()
            .rev()
            .map(|(name, count)| Count { name, count })
            .collect(),
        by_rule,
        rows,
    }
}

fn coverage(rows: &[CoverageRow]) -> Vec<ProductCoverage> {
    // The state of each (product, account) on the as-of date is that of its latest segment.
    let mut latest: BTreeMap<(&str, &str), &CoverageRow> = BTreeMap::new();
    let mut by: BTreeMap<&str, ProductCoverage> = BTreeMap::new();
    for r in rows {
        let e = latest
            .entry((r.product.as_str(), r.account_id.as_str()))
            .or_insert(r);
        if r.to > e.to {
            *e = r;
        }
        let p = by.entry(r.product.as_str()).or_default();
        let cost = match r.state {
            State::Covered | State::Subscriber => &mut p.cost_covered_usd,
            State::ActivationUnknown => &mut p.cost_activation_unknown_usd,
            State::AwaitingActivation | State::NotCovered => &mut p.cost_exposed_usd,
            State::LicenseEndedGrace | State::AfterCancellation => &mut p.cost_ended_usd,
        };
        *cost += r.cost_usd;
    }
    for ((product, _), r) in latest {
        let p = by.get_mut(product).expect("every product has a row");
        let accounts = match r.state {
            State::Covered | State::Subscriber => &mut p.accounts_covered,
            State::ActivationUnknown => &mut p.accounts_activation_unknown,
            State::AwaitingActivation => &mut p.accounts_awaiting,
            State::NotCovered => &mut p.accounts_uncovered,
            State::LicenseEndedGrace | State::AfterCancellation => &mut p.accounts_ended,
        };
        *accounts += 1;
    }
    by.into_iter()
        .map(|(product, mut p)| {
            p.product = product.to_string();
            p
        })
        .collect()
}

fn funnel(a: &Analysis) -> Funnel {
    let mut granted: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut activated: BTreeSet<(&str, &str)> = BTreeSet::new();
    for g in a
        .grants
        .iter()
        .filter(|g| g.grantee_kind == PrincipalKind::Account && g.status != GrantStatus::Deleted)
    {
        let pair = (g.grantee_id.as_str(), g.product.as_str());
        granted.insert(pair);
        if g.status == GrantStatus::Active {
            activated.insert(pair);
        }
    }
    let mut invoking: BTreeSet<(&str, &str)> = BTreeSet::new();
    for c in &a.coverage {
        let pair = (c.account_id.as_str(), c.product.as_str());
        if matches!(
            c.state,
            State::Covered | State::ActivationUnknown | State::AwaitingActivation
        ) {
            granted.insert(pair);
        }
        if c.state == State::Covered {
            activated.insert(pair);
            if c.cost_usd != 0.0 {
                invoking.insert(pair);
            }
        }
    }
    Funnel {
        granted: granted.len(),
        activated: activated.len(),
        invoking: invoking.len(),
    }
}

/// The Monday on or before `d`.
fn week_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn timeline(a: &Analysis) -> Timeline {
    let mut weeks: BTreeMap<NaiveDate, (usize, BTreeSet<&str>, f64)> = BTreeMap::new();
    let mut w = week_of(a.window_start);
    while w <= a.as_of {
        weeks.insert(w, (0, BTreeSet::new(), 0.0));
        w += Duration::days(7);
    }
    for d in &a.exposure_by_day {
        if let Some(e) = weeks.get_mut(&week_of(d.day)) {
            e.2 += d.cost_usd;
        }
    }
    let mut known = 0;
    for g in &a.grants {
        if let Some(d) = g.activated_at {
            known += 1;
            if let Some(e) = weeks.get_mut(&week_of(d)) {
                e.0 += 1;
            }
        }
    }
    for c in a.coverage.iter().filter(|c| c.state.is_exposed()) {
        let mut w = week_of(c.from);
        while w <= c.to {
            if let Some(e) = weeks.get_mut(&w) {
                e.1.insert(c.account_id.as_str());
            }
            w += Duration::days(7);
        }
    }
    let mut recent: Vec<Activation> = a
        .grants
        .iter()
        .filter_map(|g| {
            Some(Activation {
                date: g.activated_at?,
                grant_name: g.name.clone(),
                grantee_kind: g.grantee_kind.to_string(),
                grantee_id: g.grantee_id.clone(),
                grantee_name: g.grantee_name.clone(),
                product: g.product.clone(),
            })
        })
        .collect();
    recent.sort_by(|x, y| {
        y.date
            .cmp(&x.date)
            .then_with(|| x.grantee_id.cmp(&y.grantee_id))
            .then_with(|| x.product.cmp(&y.product))
    });
    recent.truncate(TOP_ROWS / 5);
    Timeline {
        weeks: weeks
            .into_iter()
            .map(|(start, (activated, exposed, exposure_usd))| Week {
                start,
                activated,
                exposed_accounts: exposed.len(),
                exposure_usd,
            })
            .collect(),
        activations_known: known,
        activation_time_unknown: a
            .grants
            .iter()
            .filter(|g| g.activation_time_unknown)
            .count(),
        recent,
    }
}

fn allocation(a: &Analysis) -> Allocation {
    let total: f64 = a.allocation.iter().map(|r| r.cost_usd).sum();
    let mut product_cost: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &a.allocation {
        *product_cost.entry(r.product.as_str()).or_default() += r.cost_usd;
    }
    let mut products: Vec<(&str, f64)> = product_cost.into_iter().collect();
    products.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(y.0)));
    let named: Vec<&str> = products.iter().take(TOP_PRODUCTS).map(|p| p.0).collect();
    let columns = named.len() + usize::from(products.len() > named.len());

    struct Acc<'a> {
        cost: f64,
        overspend: f64,
        overspend_unknown: bool,
        methods: BTreeSet<&'a str>,
        accounts: BTreeSet<&'a str>,
        by_product: Vec<f64>,
    }
    let mut teams: BTreeMap<(&str, &'static str), Acc> = BTreeMap::new();
    for r in &a.allocation {
        let t = teams
            .entry((r.team.as_str(), r.owner()))
            .or_insert_with(|| Acc {
                cost: 0.0,
                overspend: 0.0,
                overspend_unknown: false,
                methods: BTreeSet::new(),
                accounts: BTreeSet::new(),
                by_product: vec![0.0; columns],
            });
        t.cost += r.cost_usd;
        t.overspend += r.overspend_usd.unwrap_or(0.0);
        t.overspend_unknown |= r.has_unpriced_exposure();
        t.methods.insert(r.method.as_str());
        t.accounts.insert(r.account_id.as_str());
        let col = named
            .iter()
            .position(|p| *p == r.product)
            .unwrap_or(columns.saturating_sub(1));
        t.by_product[col] += r.cost_usd;
    }
    let mut teams: Vec<TeamCost> = teams
        .into_iter()
        .map(|((team, owner), t)| TeamCost {
            team: team.to_string(),
            owner,
            methods: t.methods.into_iter().collect::<Vec<_>>().join(", "),
            accounts: t.accounts.len(),
            cost_usd: t.cost,
            share: if total > 0.0 { t.cost / total } else { 0.0 },
            by_product: t.by_product,
            overspend_usd: t.overspend,
            overspend_unknown: t.overspend_unknown,
        })
        .collect();
    teams.sort_by(|x, y| {
        y.cost_usd
            .total_cmp(&x.cost_usd)
            .then_with(|| x.team.cmp(&y.team))
            .then_with(|| x.owner.cmp(y.owner))
    });
    let rest = teams.split_off(teams.len().min(TOP_TEAMS));
    let mut names: Vec<String> = named.iter().map(|s| s.to_string()).collect();
    if columns > named.len() {
        names.push(format!("{} other products", products.len() - named.len()));
    }
    Allocation {
        total_usd: total,
        unallocated_usd: a.totals.unallocated_usd,
        other_teams: rest.len(),
        other_teams_usd: rest.iter().map(|t| t.cost_usd).sum(),
        teams,
        products: names,
    }
}

fn cleanup(a: &Analysis) -> Cleanup {
    let ended = a
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.rule,
                code::ORPHANED_GRANT | code::USAGE_AFTER_CANCELLATION
            )
        })
        .map(|f| (&f.license_arn, &f.product))
        .chain(
            a.coverage
                .iter()
                .filter(|c| matches!(c.state, State::LicenseEndedGrace | State::AfterCancellation))
                .map(|c| (&c.license_arn, &c.product)),
        );
    let mut licenses: BTreeMap<&str, CleanupLicense> = BTreeMap::new();
    for (arn, product) in ended {
        licenses
            .entry(arn.as_str())
            .or_insert_with(|| CleanupLicense {
                product: product.clone(),
                license_arn: arn.clone(),
                grants_left: 0,
                accounts_spending_after: 0,
                spend_after_usd: 0.0,
                done: true,
            });
    }
    let mut spending: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in &a.findings {
        let Some(l) = licenses.get_mut(f.license_arn.as_str()) else {
            continue;
        };
        match f.rule {
            code::ORPHANED_GRANT => l.grants_left += 1,
            code::USAGE_AFTER_CANCELLATION => {
                l.spend_after_usd += f.cost_usd.unwrap_or(0.0);
                spending
                    .entry(f.license_arn.as_str())
                    .or_default()
                    .insert(f.account_id.as_str());
            }
            _ => {}
        }
    }
    for (arn, l) in licenses.iter_mut() {
        l.accounts_spending_after = spending.get(arn).map_or(0, BTreeSet::len);
        l.done = l.grants_left == 0 && l.accounts_spending_after == 0;
    }
    let (orphaned, orphaned_total) = top_rows(
        a.findings.iter().filter(|f| f.rule == code::ORPHANED_GRANT),
        TOP_ROWS,
    );
    let (after_cancellation, after_cancellation_total) = top_rows(
        a.findings
            .iter()
            .filter(|f| f.rule == code::USAGE_AFTER_CANCELLATION),
        TOP_ROWS,
    );
    Cleanup {
        licenses: licenses.into_values().collect(),
        orphaned,
        orphaned_total,
        after_cancellation,
        after_cancellation_total,
    }
}

fn completeness(a: &Analysis) -> CompletenessView<'_> {
    let c = &a.completeness;
    CompletenessView {
        complete: c.complete,
        missing: &c.missing[..c.missing.len().min(TOP_ROWS)],
        missing_total: c.missing.len(),
        incomplete_tables: &c.incomplete_tables,
        affected_rules: c
            .affected_rules
            .iter()
            .filter_map(|code| crate::analyze::rules::by_code(code))
            .map(|r| RuleName {
                code: r.code(),
                name: r.name(),
            })
            .collect(),
        unknown_values: &c.unknown_values[..c.unknown_values.len().min(TOP_ROWS)],
        unknown_total: c.unknown_values.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let sunday = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            week_of(sunday),
            NaiveDate::from_ymd_opt(2026, 10, 26).unwrap()
        );
        let monday = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
        assert_eq!(week_of(monday), monday);
    }
}
