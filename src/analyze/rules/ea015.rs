//! EA015 invocation-without-grant: a member account invoked a Marketplace model on a day no
//! ACTIVE grant covered it, from its own CloudWatch metrics, before any bill.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{days_between, finding, meta, Facts, Rule};
use crate::analyze::context::Context;
use crate::analyze::coverage::{Segment, State};
use crate::analyze::finding::Finding;
use crate::analyze::invoked::InvokedDay;
use crate::model::Severity;
use crate::money::usd;
use crate::snapshot::Table;

pub struct InvocationWithoutGrant;

/// A day an account invoked a product, and the exposed segment it falls in.
type ExposedDay<'a> = (NaiveDate, &'a InvokedDay, &'a Segment);

impl Rule for InvocationWithoutGrant {
    meta!(
        "EA015",
        "invocation-without-grant",
        Severity::High,
        "a member account invoked a Marketplace model on days no ACTIVE grant of its license covered it (CloudWatch, before any bill)",
        &[
            Table::Accounts,
            Table::Licenses,
            Table::Grants,
            Table::GrantEvents,
            Table::Invocations,
            Table::Rates,
        ]
    );

    fn check(&self, cx: &Context, facts: &Facts, out: &mut Vec<Finding>) {
        // (account, product key) -> its segments, in day order.
        let mut segments: BTreeMap<(&str, &str), Vec<&Segment>> = BTreeMap::new();
        for s in &facts.segments {
            segments
                .entry((s.account_id.as_str(), s.product_key.as_str()))
                .or_default()
                .push(s);
        }
        let mut exposed: BTreeMap<(&str, &str), Vec<ExposedDay>> = BTreeMap::new();
        for ((account, key, day), d) in &facts.invoked.days {
            if account == cx.subscriber() || d.invocations == 0 {
                continue;
            }
            let seg = segments
                .get(&(account.as_str(), key.as_str()))
                .and_then(|v| v.iter().find(|s| s.from <= *day && *day <= s.to));
            if let Some(seg) = seg.filter(|s| s.state.is_exposed()) {
                exposed
                    .entry((account.as_str(), key.as_str()))
                    .or_default()
                    .push((*day, d, seg));
            }
        }
        for ((account, key), days) in exposed {
            let mut f = finding(cx, self, account);
            let seg = days[0].2;
            f.product = cx.products.name(key).to_string();
            f.license_arn = seg.license_arn.clone();
            f.grant_arn = seg
                .grant
                .map(|g| cx.grants[g].grant.arn.clone())
                .unwrap_or_default();
            f.first_day = days.first().map(|d| d.0);
            f.last_day = days.last().map(|d| d.0);
            let sum = |g: fn(&InvokedDay) -> u64| days.iter().map(|d| g(d.1)).sum::<u64>();
            let (n, input, output) = (
                sum(|d| d.invocations),
                sum(|d| d.input_tokens),
                sum(|d| d.output_tokens),
            );
            let unpriced = sum(|d| d.unpriced_invocations);
            let cost: f64 = days.iter().map(|d| d.1.public_cost_usd).sum();
            let estimate = if unpriced == 0 {
                f.cost_usd = Some(cost);
                format!("estimated {} at the public rate", usd(cost))
            } else if unpriced < n {
                f.cost_usd = Some(cost);
                format!(
                    "estimated at least {} at the public rate ({unpriced} invocations in regions without a public rate)",
                    usd(cost)
                )
            } else {
                "no public rate to estimate the cost".to_string()
            };
            let awaiting = |d: &ExposedDay| d.2.state == State::AwaitingActivation;
            let why = if days.iter().all(awaiting) {
                "a grant covers the account but was not ACTIVE"
            } else if days.iter().any(awaiting) {
                "no ACTIVE grant of its license covered the account (on some of them a grant waited for activation)"
            } else {
                "no grant of its license covered the account"
            };
            let mut ids: Vec<&str> = days
                .iter()
                .flat_map(|d| d.1.model_ids.iter().map(String::as_str))
                .collect();
            ids.sort();
            ids.dedup();
            f.message = format!(
                "{n} invocations of {} ({}) between {}, {input} input and {output} output tokens, on days {why}; {estimate}; billing shows it a day or two later as EA001",
                f.product,
                ids.join(", "),
                days_between(f.first_day, f.last_day),
            );
            f.remediation = "activate the account's grant now (or create one for its OU), before the public-price usage is billed".into();
            out.push(f);
        }
    }
}
