//! Clean-up verification after a subscription is cancelled (`verify-cleanup`): every grant of
//! the license deleted, no spend on the product after the cut-off plus grace, nobody billed at
//! the private rate after the cut-off. Pure: reads a snapshot, decides, and leaves printing
//! and the CSV to the caller.

use anyhow::{bail, Result};
use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use super::context::Context;
use super::spend::{self, DAY, PRODUCT_KEY};
use crate::model::usage::{self, epoch_days, from_epoch_days};
use crate::model::{day, GrantStatus, License};
use crate::money::usd;
use crate::snapshot::Table;

/// Which license to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A product name (license product name or usage service name); it must have exactly one
    /// organization license.
    Product(String),
    LicenseArn(String),
}

/// What `verify-cleanup` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub target: Target,
    /// Overrides the license's end as the cut-off day.
    pub cancelled_on: Option<NaiveDate>,
    /// Overrides `cancellation_grace_days`.
    pub grace_days: Option<u32>,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    /// The data cannot decide (no public cost, data ending too early): never shown as a pass.
    Unverified,
    Fail,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Unverified => "unverified",
            Outcome::Fail => "fail",
        }
    }
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Pass,
    Fail,
    /// No check failed, but one could not be decided or the snapshot's data is incomplete.
    Incomplete,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Incomplete => "INCOMPLETE",
        }
    }
}

/// Check names, as they appear in the CSV.
pub const GRANTS_DELETED: &str = "grants-deleted";
pub const NO_SPEND: &str = "no-spend-after-cutoff";
pub const NO_PRIVATE_RATE: &str = "no-private-rate-after-cutoff";

/// One check with its evidence (empty when it passed).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    /// First day the check looks at (spend checks).
    pub from: Option<NaiveDate>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

/// One leftover: a grant, or an account's spend.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// Whether this item fails the check or only leaves it undecided (in the row's `result`).
    #[serde(skip)]
    pub outcome: Option<Outcome>,
    pub account_id: String,
    pub account_name: String,
    pub grant_arn: String,
    pub grant_status: String,
    pub grantee_kind: String,
    pub grantee_id: String,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// Distinct days with spend.
    pub days: Option<u64>,
    pub rows: Option<u64>,
    pub cost_usd: Option<f64>,
    pub public_cost_usd: Option<f64>,
    pub detail: String,
}

/// The verification of one license.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub license_arn: String,
    pub product: String,
    pub license_status: String,
    /// Last day of the entitlement; spend after it is checked.
    pub cut_off: NaiveDate,
    /// `--cancelled-on` or `license end`.
    pub cut_off_source: &'static str,
    pub grace_days: u32,
    /// Last day of data looked at.
    pub data_end: NaiveDate,
    /// Snapshot tables this verification reads that the ledger marks incomplete.
    pub incomplete_tables: Vec<Table>,
    pub checks: Vec<Check>,
}

/// Tables a clean-up verification reads.
const TABLES: &[Table] = &[
    Table::Licenses,
    Table::Grants,
    Table::GrantEvents,
    Table::Usage,
];

impl Verification {
    pub fn verdict(&self) -> Verdict {
        let worst = self.checks.iter().map(|c| c.outcome).max();
        match worst {
            Some(Outcome::Fail) => Verdict::Fail,
            Some(Outcome::Unverified) => Verdict::Incomplete,
            _ if !self.incomplete_tables.is_empty() => Verdict::Incomplete,
            _ => Verdict::Pass,
        }
    }

    /// The human report: the verdict, then each check with its evidence.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{}: clean-up of {} (`{}`, {}), cut-off {} ({}), grace {} days, data to {}",
            self.verdict().as_str(),
            self.product,
            self.license_arn,
            self.license_status,
            self.cut_off,
            self.cut_off_source,
            self.grace_days,
            self.data_end
        )];
        if !self.incomplete_tables.is_empty() {
            out.push(format!(
                "  data incomplete: the snapshot could not read all of {}",
                self.incomplete_tables
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in &self.checks {
            out.push(format!(
                "  {} {}: {}",
                c.outcome.as_str().to_uppercase(),
                c.name,
                c.summary
            ));
            out.extend(c.evidence.iter().map(|e| format!("    - {}", e.detail)));
        }
        out
    }

    /// One CSV row for the verdict, then per check one row for a pass or one per evidence item.
    pub fn rows(&self) -> Vec<CleanupRow> {
        let row = |check: &str, result: &str, checked_from, evidence: Evidence| CleanupRow {
            check: check.to_string(),
            result: result.to_string(),
            license_arn: self.license_arn.clone(),
            product: self.product.clone(),
            cut_off: self.cut_off,
            checked_from,
            evidence,
        };
        let verdict = Evidence {
            detail: self.lines()[0].clone(),
            ..Evidence::default()
        };
        let mut out = vec![row(
            "verdict",
            &self.verdict().as_str().to_lowercase(),
            None,
            verdict,
        )];
        for c in &self.checks {
            if c.evidence.is_empty() {
                let pass = Evidence {
                    detail: c.summary.clone(),
                    ..Evidence::default()
                };
                out.push(row(c.name, c.outcome.as_str(), c.from, pass));
            }
            for e in &c.evidence {
                let mut e = e.clone();
                e.cost_usd = e.cost_usd.map(crate::money::round);
                e.public_cost_usd = e.public_cost_usd.map(crate::money::round);
                let result = e.outcome.unwrap_or(c.outcome);
                out.push(row(c.name, result.as_str(), c.from, e));
            }
        }
        out
    }
}

/// A row of `cleanup_verification.csv` (columns in docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CleanupRow {
    pub check: String,
    pub result: String,
    pub license_arn: String,
    pub product: String,
    pub cut_off: NaiveDate,
    pub checked_from: Option<NaiveDate>,
    /// The evidence item (empty for the verdict and for a passing check's row).
    #[serde(flatten)]
    pub evidence: Evidence,
}

/// Verifies the clean-up of one license with the data up to the context's as-of date.
pub fn verify(cx: &Context, req: &Request) -> Result<Verification> {
    let license = resolve(cx, &req.target)?;
    let key = crate::analyze::products::product_key(&license.product_name);
    let status = cx.license_status(license);
    let (cut_off, cut_off_source) = match (req.cancelled_on, cx.license_end(license)) {
        (Some(d), _) => (d, "--cancelled-on"),
        (None, Some((end, source))) => (day(end), source.as_str()),
        (None, _) if status.is_ended() => bail!(
            "license `{}` is {status} but its end date is unknown: pass `--cancelled-on DATE`",
            license.arn
        ),
        (None, _) => bail!(
            "license `{}` of {} has not ended ({status}) on {}: pass `--cancelled-on DATE` to verify a planned cut-off",
            license.arn,
            license.product_name,
            cx.as_of
        ),
    };
    let grace_days = req.grace_days.unwrap_or(cx.cfg.cancellation_grace_days);
    let spend_from = cut_off + Duration::days(i64::from(grace_days) + 1);
    let private_from = cut_off + Duration::days(1);

    let usage_rows = spend::with_product_key(cx, cx.snap.usage.clone().lazy())?
        .filter(col(PRODUCT_KEY).eq(lit(key.as_str())))
        .with_column(col(usage::DATE).cast(DataType::Int32).alias(DAY))
        .filter(col(DAY).lt_eq(lit(epoch_days(cx.as_of))));
    let after = |from: NaiveDate| col(DAY).gt_eq(lit(epoch_days(from)));
    let used = col(usage::COST_USD)
        .gt(lit(0.0))
        .or(col(usage::USAGE_QUANTITY).gt(lit(0.0)));
    let billed = col(usage::COST_USD).gt(lit(0.0));
    let public = col(usage::PUBLIC_COST_USD);

    let spend = per_account(cx, usage_rows.clone(), after(spend_from).and(used))?;
    let private = per_account(
        cx,
        usage_rows.clone(),
        after(private_from)
            .and(billed.clone())
            .and(public.clone().is_not_null())
            .and(col(usage::COST_USD).lt(public.clone())),
    )?;
    let unpriced = per_account(
        cx,
        usage_rows,
        after(private_from).and(billed).and(public.is_null()),
    )?;

    let checks = vec![
        grants_check(cx, &license.arn),
        spend_check(spend, spend_from, cx.as_of),
        private_rate_check(private, unpriced, private_from),
    ];
    let incomplete_tables = cx
        .snap
        .incomplete_tables()
        .into_iter()
        .filter(|t| TABLES.contains(t))
        .collect();
    Ok(Verification {
        license_arn: license.arn.clone(),
        product: license.product_name.clone(),
        license_status: status.to_string(),
        cut_off,
        cut_off_source,
        grace_days,
        data_end: cx.as_of,
        incomplete_tables,
        checks,
    })
}

/// The license a target names; an unknown target is an error listing the known ones.
fn resolve<'a>(cx: &Context<'a>, target: &Target) -> Result<&'a License> {
    match target {
        Target::LicenseArn(arn) => match cx.license(arn) {
            Some(l) => Ok(l),
            None => bail!(
                "no license `{arn}` in the data; known licenses: {}",
                cx.snap
                    .licenses
                    .iter()
                    .map(|l| format!("`{}` ({})", l.arn, l.product_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        Target::Product(name) => {
            let known = || {
                cx.products
                    .names
                    .values()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Some(key) = cx.products.resolve(name) else {
                bail!(
                    "no organization license for product `{name}`; known products: {}",
                    known()
                );
            };
            match cx.products.licenses[key].as_slice() {
                [one] => Ok(&cx.snap.licenses[*one]),
                many => bail!(
                    "product `{name}` has {} organization licenses: pass `--license-arn` with one of {}",
                    many.len(),
                    many.iter()
                        .map(|&i| format!("`{}`", cx.snap.licenses[i].arn))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    }
}

/// Every grant and sub-grant of the license must be DELETED.
fn grants_check(cx: &Context, license_arn: &str) -> Check {
    let all: Vec<_> = cx
        .grants
        .iter()
        .filter(|v| v.grant.license_arn == license_arn)
        .collect();
    let mut evidence: Vec<Evidence> = all
        .iter()
        .filter(|v| v.status != GrantStatus::Deleted)
        .map(|v| {
            let g = v.grant;
            let account = cx.account(&g.grantee_id);
            let what = if g.is_sub_grant() {
                "sub-grant"
            } else {
                "grant"
            };
            let pending = if v.status == GrantStatus::PendingDelete {
                " (deletion requested, not done)"
            } else {
                ""
            };
            Evidence {
                outcome: Some(Outcome::Fail),
                account_id: account.map(|a| a.id.clone()).unwrap_or_default(),
                account_name: account.map(|a| a.name.clone()).unwrap_or_default(),
                grant_arn: g.arn.clone(),
                grant_status: v.status.to_string(),
                grantee_kind: g.grantee_kind.to_string(),
                grantee_id: g.grantee_id.clone(),
                detail: format!(
                    "{what} `{}` to {} `{}`{} is {}{pending}",
                    g.arn,
                    g.grantee_kind,
                    g.grantee_id,
                    account
                        .map(|a| format!(" ({})", a.name))
                        .unwrap_or_default(),
                    v.status
                ),
                ..Evidence::default()
            }
        })
        .collect();
    evidence.sort_by(|a, b| a.grant_arn.cmp(&b.grant_arn));
    let (outcome, summary) = if evidence.is_empty() {
        (
            Outcome::Pass,
            format!("all {} grants of the license are DELETED", all.len()),
        )
    } else {
        (
            Outcome::Fail,
            format!(
                "{} of {} grants of the license are not DELETED",
                evidence.len(),
                all.len()
            ),
        )
    };
    Check {
        name: GRANTS_DELETED,
        outcome,
        from: None,
        summary,
        evidence,
    }
}

/// No usage of the product after the cut-off plus grace; undecided when the data ends first.
fn spend_check(spend: Vec<AccountSpend>, from: NaiveDate, data_end: NaiveDate) -> Check {
    let (outcome, summary) = if !spend.is_empty() {
        let total: f64 = spend.iter().map(|s| s.cost_usd).sum();
        (
            Outcome::Fail,
            format!(
                "{} used the product from {from}: {}",
                accounts(spend.len()),
                usd(total)
            ),
        )
    } else if data_end < from {
        (
            Outcome::Unverified,
            format!("the data ends on {data_end}, before {from}, the first day to check"),
        )
    } else {
        (
            Outcome::Pass,
            format!("no usage of the product from {from} to {data_end}"),
        )
    };
    Check {
        name: NO_SPEND,
        outcome,
        from: Some(from),
        summary,
        evidence: spend
            .into_iter()
            .map(|s| s.evidence(Outcome::Fail, "spent"))
            .collect(),
    }
}

/// Nobody billed below the public price after the cut-off; spend without a public cost cannot
/// say which rate it was billed at.
fn private_rate_check(
    private: Vec<AccountSpend>,
    unpriced: Vec<AccountSpend>,
    from: NaiveDate,
) -> Check {
    let (outcome, summary) = if !private.is_empty() {
        let billed: f64 = private.iter().map(|s| s.cost_usd).sum();
        let public: f64 = private.iter().filter_map(|s| s.public_cost_usd).sum();
        (
            Outcome::Fail,
            format!(
                "{} billed below the public price from {from}: {} billed against {} public",
                accounts(private.len()),
                usd(billed),
                usd(public)
            ),
        )
    } else if !unpriced.is_empty() {
        let cost: f64 = unpriced.iter().map(|s| s.cost_usd).sum();
        (
            Outcome::Unverified,
            format!(
                "{} of spend from {from} carries no public cost: its rate is unknown",
                usd(cost)
            ),
        )
    } else {
        (
            Outcome::Pass,
            format!("no spend billed below the public price from {from}"),
        )
    };
    let evidence = private
        .into_iter()
        .map(|s| s.evidence(Outcome::Fail, "was billed below the public price:"))
        .chain(
            unpriced
                .into_iter()
                .map(|s| s.evidence(Outcome::Unverified, "spent, with no public cost,")),
        )
        .collect();
    Check {
        name: NO_PRIVATE_RATE,
        outcome,
        from: Some(from),
        summary,
        evidence,
    }
}

fn accounts(n: usize) -> String {
    match n {
        1 => "1 account".to_string(),
        n => format!("{n} accounts"),
    }
}

/// One account's usage rows matching a filter.
struct AccountSpend {
    account_id: String,
    account_name: String,
    cost_usd: f64,
    /// `None` when no row carries a public cost.
    public_cost_usd: Option<f64>,
    rows: u64,
    days: u64,
    first: NaiveDate,
    last: NaiveDate,
}

impl AccountSpend {
    fn evidence(self, outcome: Outcome, verb: &str) -> Evidence {
        let public = self
            .public_cost_usd
            .map(|p| format!(" (public price {})", usd(p)))
            .unwrap_or_default();
        Evidence {
            outcome: Some(outcome),
            detail: format!(
                "account `{}` ({}) {verb} {}{public} on {} days between {} and {}",
                self.account_id,
                self.account_name,
                usd(self.cost_usd),
                self.days,
                self.first,
                self.last
            ),
            account_id: self.account_id,
            account_name: self.account_name,
            first_day: Some(self.first),
            last_day: Some(self.last),
            days: Some(self.days),
            rows: Some(self.rows),
            cost_usd: Some(self.cost_usd),
            public_cost_usd: self.public_cost_usd,
            ..Evidence::default()
        }
    }
}

/// Sums the rows matching `keep` per account, columnar; sorted by account.
fn per_account(cx: &Context, rows: LazyFrame, keep: Expr) -> Result<Vec<AccountSpend>> {
    let df = rows
        .filter(keep)
        .group_by([col(usage::ACCOUNT_ID)])
        .agg([
            col(usage::COST_USD).sum().alias("cost"),
            col(usage::PUBLIC_COST_USD).sum().alias("public"),
            col(usage::PUBLIC_COST_USD)
                .count()
                .cast(DataType::UInt64)
                .alias("priced"),
            len().cast(DataType::UInt64).alias("rows"),
            col(DAY).n_unique().cast(DataType::UInt64).alias("days"),
            col(DAY).min().alias("first"),
            col(DAY).max().alias("last"),
        ])
        .sort([usage::ACCOUNT_ID], SortMultipleOptions::default())
        .collect()?;
    let ids = df.column(usage::ACCOUNT_ID)?.str()?;
    let cost = df.column("cost")?.f64()?;
    let public = df.column("public")?.f64()?;
    let priced = df.column("priced")?.u64()?;
    let rows = df.column("rows")?.u64()?;
    let days = df.column("days")?.u64()?;
    let first = df.column("first")?.i32()?;
    let last = df.column("last")?.i32()?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let id = ids.get(i).unwrap_or_default().to_string();
        out.push(AccountSpend {
            account_name: cx.account(&id).map(|a| a.name.clone()).unwrap_or_default(),
            account_id: id,
            cost_usd: cost.get(i).unwrap_or(0.0),
            public_cost_usd: public.get(i).filter(|_| priced.get(i).unwrap_or(0) > 0),
            rows: rows.get(i).unwrap_or(0),
            days: days.get(i).unwrap_or(0),
            first: from_epoch_days(first.get(i).unwrap_or_default()),
            last: from_epoch_days(last.get(i).unwrap_or_default()),
        });
    }
    Ok(out)
}
