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

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

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
use tokio::sync::oneshot;

use super::call::{CostBudget, Cx, Page, Paged};
use super::permissions::GET_COST_AND_USAGE;
use crate::model::usage::{UsageBuilder, UsageRef};
use crate::snapshot::Table;

/// The `BILLING_ENTITY` of third-party models sold through AWS Marketplace.
pub const MARKETPLACE_BILLING_ENTITY: &str = "AWS Marketplace";
pub const UNBLENDED_COST: &str = "UnblendedCost";
pub const USAGE_QUANTITY: &str = "UsageQuantity";
pub const PUBLIC_ON_DEMAND_COST: &str = "PublicOnDemandCost";

/// One group of one day, as Cost Explorer returned it. A large organization returns millions
/// of groups over a few thousand distinct keys, so the keys are interned in the query's
/// [`Keys`] and a row is a few numbers: reading stays small however many pages there are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CeRow {
    pub date: NaiveDate,
    /// In the order of the query's `GroupBy`, as ids in its [`Keys`].
    pub keys: [u32; 2],
    /// `UnblendedCost`, `UsageQuantity` and `PublicOnDemandCost`; an absent metric is `None`.
    pub cost: Option<f64>,
    pub qty: Option<f64>,
    pub public: Option<f64>,
}

/// The distinct group keys of one query, each stored once.
#[derive(Debug, Default)]
pub struct Keys {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Keys {
    pub fn id(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 4 billion distinct keys");
        self.ids.insert(key.to_string(), id);
        self.names.push(key.to_string());
        id
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// A query's rows with their keys.
#[derive(Debug, Default)]
pub struct CeRows {
    pub rows: Vec<CeRow>,
    pub keys: Keys,
}

/// The usage table and what it took.
pub struct CeData {
    pub usage: DataFrame,
}

/// The accounts with at least one usage row in the SERVICE query's answer, or `None` when that
/// answer is incomplete (then which accounts spend is not known).
pub type Spenders = Option<BTreeSet<String>>;

/// Reads the usage table. `spenders` receives the accounts with spend as soon as the SERVICE
/// query is read, before the team query (the account tags wait for it, nothing else).
pub async fn collect(cx: &Cx<'_>, spenders: oneshot::Sender<Spenders>) -> CeData {
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
    if by_service.0.items.is_empty()
        && by_service
            .0
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
    let service_failed = by_service.0.error.is_some();
    let by_service = CeRows {
        rows: cx.keep(
            &GET_COST_AND_USAGE,
            &format!("{start}..{end} by LINKED_ACCOUNT,SERVICE"),
            &[Table::Usage],
            by_service.0,
        ),
        keys: by_service.1,
    };
    // The receiver is gone when every account's tags are read anyway.
    let _ = spenders.send((!service_failed).then(|| accounts_of(&by_service)));

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
        let failed = paged.0.error.is_some();
        let rows = cx.keep(
            &GET_COST_AND_USAGE,
            &format!("{start}..{end} by TAG {tag_key},LINKED_ACCOUNT"),
            &[Table::Usage],
            paged.0,
        );
        // A partial team answer would attribute some days and not others: use none of it.
        (!failed).then_some(CeRows {
            rows,
            keys: paged.1,
        })
    };

    CeData {
        usage: combine(by_service, by_team, tag_key),
    }
}

/// The accounts of the rows that become usage rows (see [`combine`]), whatever their cost.
fn accounts_of(by_service: &CeRows) -> BTreeSet<String> {
    let k = &by_service.keys;
    let mut ids: Vec<u32> = by_service
        .rows
        .iter()
        .filter(|r| !k.name(r.keys[0]).is_empty() && !k.name(r.keys[1]).is_empty())
        .map(|r| r.keys[0])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|i| k.name(i).to_string()).collect()
}

fn dimension(d: Dimension) -> GroupDefinition {
    GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key(d.as_str())
        .build()
}

/// Runs one `GetCostAndUsage` query over the whole period, DAILY, Marketplace only.
async fn query(
    cx: &Cx<'_>,
    group_by: Vec<GroupDefinition>,
    metrics: &[&str],
) -> (Paged<CeRow>, Keys) {
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
    let keys = Mutex::new(Keys::default());
    let (period, filter, group_by, keys_ref) = (&period, &filter, &group_by, &keys);
    let paged = cx
        .pages(&GET_COST_AND_USAGE, |t| {
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
                    .map(|r| {
                        let mut keys = keys_ref.lock().expect("keys lock");
                        Page::new(rows(r.results_by_time(), &mut keys), r.next_page_token())
                    })
            }
        })
        .await;
    (paged, keys.into_inner().expect("keys lock"))
}

fn rows(results: &[ResultByTime], keys: &mut Keys) -> Vec<CeRow> {
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
            let metric = |name: &str| {
                g.metrics()
                    .and_then(|m| m.get(name))
                    .and_then(|v| v.amount()?.parse::<f64>().ok())
            };
            let key = |i: usize| g.keys().get(i).map_or("", String::as_str);
            out.push(CeRow {
                date,
                keys: [keys.id(key(0)), keys.id(key(1))],
                cost: metric(UNBLENDED_COST),
                qty: metric(USAGE_QUANTITY),
                public: metric(PUBLIC_ON_DEMAND_COST),
            });
        }
    }
    out
}

/// Builds the usage table from the SERVICE query's rows (`[account, service]` keys) and, when
/// read, the team query's rows (`["<tag_key>$<value>", account]` keys). See the module doc.
///
/// Both are sorted and merged instead of indexed, and the rows go straight into the frame in
/// order (date, account, product, team): nothing per row is kept but the frame itself.
pub fn combine(mut by_service: CeRows, by_team: Option<CeRows>, tag_key: &str) -> DataFrame {
    let prefix = format!("{tag_key}$");
    let sk = &by_service.keys;
    by_service.rows.sort_by(|a, b| {
        (a.date, sk.name(a.keys[0]), sk.name(a.keys[1])).cmp(&(
            b.date,
            sk.name(b.keys[0]),
            sk.name(b.keys[1]),
        ))
    });
    // Team shares of each account-day: (date, account, team, cost), sorted.
    let mut shares: Vec<(NaiveDate, &str, Option<&str>, f64)> = by_team
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .map(|r| {
                    let tag = t.keys.name(r.keys[0]);
                    let team = tag.strip_prefix(&prefix).unwrap_or(tag).trim();
                    let team = (!team.is_empty()).then_some(team);
                    (r.date, t.keys.name(r.keys[1]), team, r.cost.unwrap_or(0.0))
                })
                .collect()
        })
        .unwrap_or_default();
    shares.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    // The same team twice in an account-day (pages split a day) adds up.
    shares.dedup_by(|next, kept| {
        let same = (next.0, next.1, next.2) == (kept.0, kept.1, kept.2);
        if same {
            kept.3 += next.3;
        }
        same
    });

    let mut builder = UsageBuilder::with_capacity(by_service.rows.len());
    for r in &by_service.rows {
        let (account, product) = (sk.name(r.keys[0]), sk.name(r.keys[1]));
        if account.is_empty() || product.is_empty() {
            continue;
        }
        let cost = r.cost.unwrap_or(0.0);
        let qty = r.qty.unwrap_or(0.0);
        let public = r.public;
        let mut push = |cost, qty, public, team: Option<&str>| {
            builder.push_ref(&UsageRef {
                date: r.date,
                account_id: account,
                product,
                usage_type: "",
                cost_usd: cost,
                usage_quantity: qty,
                public_cost_usd: public,
                team_tag: team,
                caller_account_id: None,
            })
        };
        let from = shares.partition_point(|s| (s.0, s.1) < (r.date, account));
        let to = from + shares[from..].partition_point(|s| (s.0, s.1) == (r.date, account));
        let split = &shares[from..to];
        let total: f64 = split.iter().map(|s| s.3).sum();
        if split.is_empty() || total <= 0.0 || split.iter().any(|s| s.3 < 0.0) {
            push(cost, qty, public, None);
            continue;
        }
        let (mut left_cost, mut left_qty, mut left_public) = (cost, qty, public);
        for (i, &(_, _, team, team_cost)) in split.iter().enumerate() {
            if i + 1 == split.len() {
                push(left_cost, left_qty, left_public, team);
                break;
            }
            let f = team_cost / total;
            let part_public = public.map(|p| p * f);
            push(cost * f, qty * f, part_public, team);
            left_cost -= cost * f;
            left_qty -= qty * f;
            left_public = left_public.zip(part_public).map(|(l, p)| l - p);
        }
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

    type Row<'a> = (NaiveDate, [&'a str; 2], f64, Option<f64>);

    fn row(date: NaiveDate, keys: [&str; 2], cost: f64, qty: Option<f64>) -> Row<'_> {
        (date, keys, cost, qty)
    }

    fn ce(list: Vec<Row<'_>>) -> CeRows {
        let mut out = CeRows::default();
        for (date, [a, b], cost, qty) in list {
            let keys = [out.keys.id(a), out.keys.id(b)];
            out.rows.push(CeRow {
                date,
                keys,
                cost: Some(cost),
                qty,
                public: None,
            });
        }
        out
    }

    #[test]
    fn team_split_keeps_the_service_total() {
        let by_service = ce(vec![
            row(d(1), ["111122223333", "Claude"], 10.0, Some(100.0)),
            row(d(1), ["111122223333", "Command"], 0.3, Some(3.0)),
            row(d(1), ["444455556666", "Claude"], 7.0, Some(70.0)),
            row(d(2), ["444455556666", "Claude"], 1.0, None),
        ]);
        let by_team = ce(vec![
            row(d(1), ["team$ml", "111122223333"], 6.2, None),
            row(d(1), ["team$search", "111122223333"], 3.1, None),
            row(d(1), ["team$", "111122223333"], 1.0, None),
            row(d(1), ["team$ml", "444455556666"], 7.0, None),
        ]);
        let df = combine(by_service, Some(by_team), "team");
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
        let by_service = ce(vec![row(d(1), ["111122223333", "Claude"], 2.5, Some(1.0))]);
        let rows = usage::rows(&combine(by_service, None, "team")).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].team_tag, None);
        assert_eq!(rows[0].cost_usd, 2.5);
    }
}
