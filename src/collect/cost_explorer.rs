//! Cost Explorer: daily AWS Marketplace spend per account and product, and per account and
//! team tag, combined into the usage table. Every request costs $0.01, so requests are
//! counted against `max_cost_explorer_requests` and no page is fetched twice.
//!
//! Cost Explorer groups by at most two keys, so the team comes from a second query grouped by
//! `TAG <team_tag_key>` and `LINKED_ACCOUNT`. The combination never double counts: the rows
//! are the SERVICE query's rows, and when an account-day's spend spans several teams each row
//! is split across them in proportion to the teams' share of that account-day (the last
//! share takes the remainder, so the parts add up to the row). The usage table's total
//! therefore equals the SERVICE query's total; the team split inside an account-day is an
//! estimate, exact whenever an account-day has a single team (the usual account-per-team
//! layout).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, ResultByTime,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Duration, NaiveDate};
use polars::prelude::DataFrame;

use super::call::{CostBudget, Cx, Page, Paged};
use super::permissions::GET_COST_AND_USAGE;
use super::table::USAGE;
use crate::model::usage::{UsageBuilder, UsageRow};

/// The `BILLING_ENTITY` of third-party models sold through AWS Marketplace.
pub const MARKETPLACE_BILLING_ENTITY: &str = "AWS Marketplace";
pub const UNBLENDED_COST: &str = "UnblendedCost";
pub const USAGE_QUANTITY: &str = "UsageQuantity";
pub const PUBLIC_ON_DEMAND_COST: &str = "PublicOnDemandCost";

/// One group of one day, as Cost Explorer returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct CeRow {
    pub date: NaiveDate,
    /// In the order of the query's `GroupBy`.
    pub keys: Vec<String>,
    /// Metrics present in the answer; an absent metric is absent here too.
    pub metrics: BTreeMap<String, f64>,
}

/// The usage table and what it took.
pub struct CeData {
    pub usage: DataFrame,
}

pub async fn collect(cx: &Cx<'_>) -> CeData {
    let start = cx.opts.period_start;
    let end = cx.opts.period_end;
    let tag_key = cx.opts.team_tag_key.as_str();

    cx.progress
        .message("cost explorer: reading Marketplace spend by account and product");
    let by_account_and_service = || {
        vec![
            dimension(Dimension::LinkedAccount),
            dimension(Dimension::Service),
        ]
    };
    let mut by_service = query(
        cx,
        by_account_and_service(),
        &[UNBLENDED_COST, USAGE_QUANTITY, PUBLIC_ON_DEMAND_COST],
    )
    .await;
    // `PublicOnDemandCost` is recent; should an endpoint reject it, the spend still matters
    // more than the public price: ask again without it (public cost stays empty).
    if by_service.items.is_empty()
        && by_service
            .error
            .as_ref()
            .is_some_and(|e| e.code == "ValidationException")
    {
        tracing::warn!(
            "cost explorer rejected the query; retrying without `{PUBLIC_ON_DEMAND_COST}`"
        );
        by_service = query(
            cx,
            by_account_and_service(),
            &[UNBLENDED_COST, USAGE_QUANTITY],
        )
        .await;
    }
    let service_failed = by_service.error.is_some();
    let by_service = cx.keep(
        &GET_COST_AND_USAGE,
        &format!("{start}..{end} by LINKED_ACCOUNT,SERVICE"),
        &[USAGE],
        by_service,
    );

    // Without the product rows there is nothing to attribute: spare the request.
    let by_team = if service_failed {
        None
    } else {
        cx.progress
            .message(&format!("cost explorer: reading spend by tag `{tag_key}`"));
        let paged = query(
            cx,
            vec![
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Tag)
                    .key(tag_key)
                    .build(),
                dimension(Dimension::LinkedAccount),
            ],
            &[UNBLENDED_COST],
        )
        .await;
        let failed = paged.error.is_some();
        let rows = cx.keep(
            &GET_COST_AND_USAGE,
            &format!("{start}..{end} by TAG {tag_key},LINKED_ACCOUNT"),
            &[USAGE],
            paged,
        );
        // A partial team answer would attribute some days and not others: use none of it.
        (!failed).then_some(rows)
    };

    CeData {
        usage: combine(&by_service, by_team.as_deref(), tag_key),
    }
}

fn dimension(d: Dimension) -> GroupDefinition {
    GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key(d.as_str())
        .build()
}

/// Runs one `GetCostAndUsage` query over the whole period, DAILY, Marketplace only.
async fn query(cx: &Cx<'_>, group_by: Vec<GroupDefinition>, metrics: &[&str]) -> Paged<CeRow> {
    let c = &cx.clients.cost_explorer;
    let period = DateInterval::builder()
        .start(cx.opts.period_start.to_string())
        .end((cx.opts.period_end + Duration::days(1)).to_string())
        .build()
        .expect("start and end are set");
    let filter = Expression::builder()
        .dimensions(
            DimensionValues::builder()
                .key(Dimension::BillingEntity)
                .values(MARKETPLACE_BILLING_ENTITY)
                .build(),
        )
        .build();
    let budget = cx.cost_budget.clone();
    let (period, filter, group_by) = (&period, &filter, &group_by);
    cx.pages(&GET_COST_AND_USAGE, |t| {
        let mut req = c
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .filter(filter.clone())
            .set_group_by(Some(group_by.clone()))
            .set_next_page_token(t);
        for m in metrics {
            req = req.metrics(*m);
        }
        let budget = budget.clone();
        async move {
            req.customize()
                .interceptor(BudgetInterceptor(budget))
                .send()
                .await
                .map(|r| Page::new(rows(r.results_by_time()), r.next_page_token()))
        }
    })
    .await
}

fn rows(results: &[ResultByTime]) -> Vec<CeRow> {
    let mut out = Vec::new();
    for day in results {
        let Some(date) = day
            .time_period()
            .and_then(|p| NaiveDate::parse_from_str(p.start().get(..10)?, "%Y-%m-%d").ok())
        else {
            tracing::warn!("cost explorer result without a readable date skipped");
            continue;
        };
        for g in day.groups() {
            let metrics = g
                .metrics()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.amount()?.parse::<f64>().ok()?)))
                        .collect()
                })
                .unwrap_or_default();
            out.push(CeRow {
                date,
                keys: g.keys().to_vec(),
                metrics,
            });
        }
    }
    out
}

/// Builds the usage table from the SERVICE query's rows (`[account, service]` keys) and, when
/// read, the team query's rows (`["<tag_key>$<value>", account]` keys). See the module doc.
pub fn combine(by_service: &[CeRow], by_team: Option<&[CeRow]>, tag_key: &str) -> DataFrame {
    let prefix = format!("{tag_key}$");
    let mut shares: BTreeMap<(NaiveDate, &str), BTreeMap<Option<&str>, f64>> = BTreeMap::new();
    for r in by_team.unwrap_or_default() {
        let (Some(tag), Some(account)) = (r.keys.first(), r.keys.get(1)) else {
            continue;
        };
        let team = tag.strip_prefix(&prefix).unwrap_or(tag).trim();
        let team = (!team.is_empty()).then_some(team);
        let cost = r.metrics.get(UNBLENDED_COST).copied().unwrap_or(0.0);
        *shares
            .entry((r.date, account.as_str()))
            .or_default()
            .entry(team)
            .or_default() += cost;
    }

    let mut out: Vec<UsageRow> = Vec::new();
    for r in by_service {
        let (Some(account), Some(product)) = (r.keys.first(), r.keys.get(1)) else {
            continue;
        };
        let cost = r.metrics.get(UNBLENDED_COST).copied().unwrap_or(0.0);
        let qty = r.metrics.get(USAGE_QUANTITY).copied().unwrap_or(0.0);
        let public = r.metrics.get(PUBLIC_ON_DEMAND_COST).copied();
        let row = |cost, qty, public, team: Option<&str>| UsageRow {
            date: r.date,
            account_id: account.clone(),
            product: product.clone(),
            usage_type: String::new(),
            cost_usd: cost,
            usage_quantity: qty,
            public_cost_usd: public,
            team_tag: team.map(str::to_string),
            caller_account_id: None,
        };
        let split = shares.get(&(r.date, account.as_str())).filter(|s| {
            let total: f64 = s.values().sum();
            total > 0.0 && s.values().all(|v| *v >= 0.0)
        });
        let Some(split) = split else {
            out.push(row(cost, qty, public, None));
            continue;
        };
        let total: f64 = split.values().sum();
        let (mut left_cost, mut left_qty, mut left_public) = (cost, qty, public);
        let n = split.len();
        for (i, (team, team_cost)) in split.iter().enumerate() {
            if i + 1 == n {
                out.push(row(left_cost, left_qty, left_public, *team));
                break;
            }
            let f = team_cost / total;
            let part_public = public.map(|p| p * f);
            out.push(row(cost * f, qty * f, part_public, *team));
            left_cost -= cost * f;
            left_qty -= qty * f;
            left_public = left_public.zip(part_public).map(|(l, p)| l - p);
        }
    }
    out.sort_by(|a, b| {
        (a.date, &a.account_id, &a.product, &a.team_tag).cmp(&(
            b.date,
            &b.account_id,
            &b.product,
            &b.team_tag,
        ))
    });
    let mut builder = UsageBuilder::default();
    for r in out {
        builder.push(r);
    }
    builder.finish()
}

/// Counts every Cost Explorer request actually sent (retries included) and refuses one past
/// the cap before it leaves, so the cap holds even for retries.
#[derive(Debug)]
struct BudgetInterceptor(Arc<CostBudget>);

impl Intercept for BudgetInterceptor {
    fn name(&self) -> &'static str {
        "CostExplorerBudget"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.0.take() {
            Ok(())
        } else {
            Err(format!("cost explorer request cap of {} reached", self.0.max()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::usage;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, day).unwrap()
    }

    fn row(date: NaiveDate, keys: [&str; 2], cost: f64, qty: Option<f64>) -> CeRow {
        let mut metrics = BTreeMap::from([(UNBLENDED_COST.to_string(), cost)]);
        if let Some(q) = qty {
            metrics.insert(USAGE_QUANTITY.to_string(), q);
        }
        CeRow {
            date,
            keys: keys.map(str::to_string).to_vec(),
            metrics,
        }
    }

    #[test]
    fn team_split_keeps_the_service_total() {
        let by_service = vec![
            row(d(1), ["111122223333", "Claude"], 10.0, Some(100.0)),
            row(d(1), ["111122223333", "Command"], 0.3, Some(3.0)),
            row(d(1), ["444455556666", "Claude"], 7.0, Some(70.0)),
            row(d(2), ["444455556666", "Claude"], 1.0, None),
        ];
        let by_team = vec![
            row(d(1), ["team$ml", "111122223333"], 6.2, None),
            row(d(1), ["team$search", "111122223333"], 3.1, None),
            row(d(1), ["team$", "111122223333"], 1.0, None),
            row(d(1), ["team$ml", "444455556666"], 7.0, None),
        ];
        let df = combine(&by_service, Some(&by_team), "team");
        let rows = usage::rows(&df).unwrap();
        let total: f64 = rows.iter().map(|r| r.cost_usd).sum();
        assert!((total - 18.3).abs() < 1e-9, "total {total}");
        // 3 teams x 2 products for the split account-day, 1 for the single-team one, 1 untagged.
        assert_eq!(rows.len(), 8);
        let ml: f64 = rows
            .iter()
            .filter(|r| r.account_id == "111122223333" && r.team_tag.as_deref() == Some("ml"))
            .map(|r| r.cost_usd)
            .sum();
        assert!((ml - 10.3 * 6.2 / 10.3).abs() < 1e-9);
        let single: Vec<_> = rows
            .iter()
            .filter(|r| r.account_id == "444455556666" && r.date == d(1))
            .collect();
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].team_tag.as_deref(), Some("ml"));
        assert_eq!(single[0].cost_usd, 7.0);
        let no_team: Vec<_> = rows.iter().filter(|r| r.date == d(2)).collect();
        assert_eq!(no_team[0].team_tag, None);
        assert_eq!(no_team[0].usage_quantity, 0.0);
        assert_eq!(no_team[0].public_cost_usd, None);
    }

    #[test]
    fn without_team_rows_every_row_is_unattributed() {
        let by_service = vec![row(d(1), ["111122223333", "Claude"], 2.5, Some(1.0))];
        let rows = usage::rows(&combine(&by_service, None, "team")).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].team_tag, None);
        assert_eq!(rows[0].cost_usd, 2.5);
    }
}
