//! Activation history (`activation_history.csv`): for every grant that reaches one account
//! (account grants and the per-account sub-grants of OU and organization grants), and for
//! every (account, product), when it was first seen, created, accepted, activated (exact from
//! an event, or bounded between two runs), disabled and deleted, read from the store.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rusqlite::params;
use serde::Serialize;

use super::observe::observed_at;
use super::store::{date_text, parse_date, stored_grants, time_of, Store, StoredGrant};
use crate::model::day;

/// One row of activation_history.csv (columns in `crate::report::ACTIVATION_COLUMNS`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationRow {
    /// `account-product` (the account's entitlement to the product, over all its grants) or
    /// `grant` (one grant).
    pub scope: &'static str,
    pub account_id: String,
    pub product: String,
    pub license_arn: String,
    /// The grant; for `account-product`, the grant that activated first.
    pub grant_arn: String,
    /// The organization or OU grant a sub-grant belongs to.
    pub parent_grant_arn: String,
    /// `account`, `ou` or `organization`: how the grant reaches the account.
    pub via: String,
    /// As-of date of the first run that saw the grant.
    pub first_seen: Option<NaiveDate>,
    pub created_at: Option<NaiveDate>,
    pub accepted_at: Option<NaiveDate>,
    /// Day of activation when an event gives it.
    pub activated_at: Option<NaiveDate>,
    /// Activation observed between runs: after this as-of date ...
    pub activated_after: Option<NaiveDate>,
    /// ... and by this one (also set, to `first_seen`, when ACTIVE when first seen).
    pub activated_by: Option<NaiveDate>,
    /// `cloudtrail`, `demo`, `observed` (between two runs), `unknown` (ACTIVE when first
    /// seen, no event), empty when never activated.
    pub activation_source: String,
    pub disabled_at: Option<NaiveDate>,
    pub deleted_at: Option<NaiveDate>,
    /// Status on the last run's as-of date (`account-product`: ACTIVE when any grant is).
    pub status: String,
    /// Days from creation to activation (the `activated_by` bound when observed).
    pub days_to_activation: Option<i64>,
}

impl ActivationRow {
    /// The day activation is known by: exact, or the upper bound.
    fn activation_day(&self) -> Option<NaiveDate> {
        self.activated_at.or(self.activated_by)
    }
}

struct GrantInfo {
    grant: StoredGrant,
    first_seen: Option<NaiveDate>,
    first_status: String,
    last_status: String,
}

struct Event {
    kind: String,
    time: i64,
    source: String,
    /// (after, by) for observed events.
    bounds: Option<(NaiveDate, NaiveDate)>,
}

/// Activation history on `as_of`, from the runs up to that date.
pub fn history(store: &Store, as_of: NaiveDate) -> Result<Vec<ActivationRow>> {
    read(store, as_of).with_context(|| {
        format!(
            "failed to read activation history from `{}`",
            store.path().display()
        )
    })
}

fn read(store: &Store, as_of: NaiveDate) -> rusqlite::Result<Vec<ActivationRow>> {
    let conn = store.conn();
    let day_text = date_text(as_of);
    let mut grants: BTreeMap<i64, GrantInfo> = stored_grants(conn)?
        .into_iter()
        .map(|grant| {
            let info = GrantInfo {
                first_seen: None,
                first_status: String::new(),
                last_status: String::new(),
                grant,
            };
            (info.grant.id, info)
        })
        .collect();
    // SQLite returns the other columns of the row that holds the min() / max().
    for (agg, first) in [("min", true), ("max", false)] {
        let mut stmt = conn.prepare(&format!(
            "SELECT o.grant_id, {agg}(r.as_of), o.status
             FROM grant_observations o JOIN runs r ON r.id = o.run_id
             WHERE r.as_of <= ?1 GROUP BY o.grant_id"
        ))?;
        let rows = stmt.query_map([&day_text], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (id, seen, status) = row?;
            if let Some(g) = grants.get_mut(&id) {
                if first {
                    g.first_seen = Some(parse_date(&seen)?);
                    g.first_status = status;
                } else {
                    g.last_status = status;
                }
            }
        }
    }
    let mut events: BTreeMap<(i64, String), Vec<Event>> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT e.grant_id, e.account_id, e.kind, e.time, e.source, e.observed_after, e.observed_by
         FROM grant_events e
         WHERE e.time <= ?1
           AND (e.run_id IS NULL OR e.run_id IN (SELECT id FROM runs WHERE as_of <= ?2))
         ORDER BY e.time, e.kind",
    )?;
    let rows = stmt.query_map(params![observed_at(as_of).timestamp(), day_text], |r| {
        let after: Option<String> = r.get(5)?;
        let by: Option<String> = r.get(6)?;
        let bounds = match (after, by) {
            (Some(a), Some(b)) => Some((parse_date(&a)?, parse_date(&b)?)),
            _ => None,
        };
        Ok((
            (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
            Event {
                kind: r.get(2)?,
                time: r.get(3)?,
                source: r.get(4)?,
                bounds,
            },
        ))
    })?;
    for row in rows {
        let (key, e) = row?;
        events.entry(key).or_default().push(e);
    }

    let by_arn: BTreeMap<&str, i64> = grants
        .iter()
        .map(|(id, g)| (g.grant.arn.as_str(), *id))
        .collect();
    let mut out = Vec::new();
    for (id, g) in &grants {
        let sub = g.grant.sub_grant;
        if g.first_seen.is_none() || !(sub || g.grant.grantee_kind == "account") {
            continue;
        }
        // Only a sub-grant's parent is an organization or OU grant that reaches the account.
        let parent_id = by_arn.get(g.grant.parent_arn.as_str()).filter(|_| sub);
        let parent = parent_id.map(|p| &grants[p]);
        // The grant's own events, and its parent's events about this account.
        let mut own: Vec<&Event> = events
            .range((*id, String::new())..(*id + 1, String::new()))
            .flat_map(|(_, v)| v)
            .collect();
        if let Some(pid) = parent_id {
            own.extend(
                events
                    .get(&(*pid, g.grant.grantee_id.clone()))
                    .into_iter()
                    .flatten(),
            );
        }
        own.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.kind.cmp(&b.kind)));
        out.push(grant_row(g, parent, &own));
    }
    let mut rows = account_product_rows(&out);
    rows.append(&mut out);
    rows.sort_by(|a, b| {
        (
            &a.account_id,
            &a.product,
            a.scope != "account-product",
            &a.grant_arn,
        )
            .cmp(&(
                &b.account_id,
                &b.product,
                b.scope != "account-product",
                &b.grant_arn,
            ))
    });
    Ok(rows)
}

fn grant_row(g: &GrantInfo, parent: Option<&GrantInfo>, events: &[&Event]) -> ActivationRow {
    // Observed events are dated by the run that saw them; the others by their own time.
    let date = |e: &Event| match e.bounds {
        Some((_, by)) => by,
        None => day(time_of(e.time)),
    };
    let first = |kind: &str| events.iter().find(|e| e.kind == kind);
    let last = |kind: &str| events.iter().rev().find(|e| e.kind == kind);
    let mut row = ActivationRow {
        scope: "grant",
        account_id: g.grant.grantee_id.clone(),
        product: g.grant.product.clone(),
        license_arn: g.grant.license_arn.clone(),
        grant_arn: g.grant.arn.clone(),
        parent_grant_arn: parent.map(|p| p.grant.arn.clone()).unwrap_or_default(),
        via: parent.map_or_else(
            || g.grant.grantee_kind.clone(),
            |p| p.grant.grantee_kind.clone(),
        ),
        first_seen: g.first_seen,
        created_at: first("created")
            .filter(|e| e.bounds.is_none())
            .map(|e| date(e)),
        accepted_at: first("accepted").map(|e| date(e)),
        activated_at: None,
        activated_after: None,
        activated_by: None,
        activation_source: String::new(),
        disabled_at: last("disabled").map(|e| date(e)),
        deleted_at: last("deleted").map(|e| date(e)),
        status: g.last_status.clone(),
        days_to_activation: None,
    };
    match first("activated") {
        Some(e) => {
            row.activation_source = e.source.clone();
            match e.bounds {
                Some((after, by)) => {
                    row.activated_after = Some(after);
                    row.activated_by = Some(by);
                }
                None => row.activated_at = Some(date(e)),
            }
        }
        None if g.first_status == "ACTIVE" => {
            row.activation_source = "unknown".into();
            row.activated_by = g.first_seen;
        }
        None => {}
    }
    if row.activation_source != "unknown" {
        row.days_to_activation = row
            .activation_day()
            .zip(row.created_at)
            .map(|(a, c)| (a - c).num_days());
    }
    row
}

/// One row per (account, product) summarizing its grant rows.
fn account_product_rows(grants: &[ActivationRow]) -> Vec<ActivationRow> {
    let mut by: BTreeMap<(&str, &str), Vec<&ActivationRow>> = BTreeMap::new();
    for r in grants {
        by.entry((&r.account_id, &r.product)).or_default().push(r);
    }
    by.into_values()
        .map(|rs| {
            let activated = rs
                .iter()
                .filter(|r| r.activation_day().is_some())
                .min_by_key(|r| (r.activation_day(), &r.grant_arn));
            let any_active = rs.iter().any(|r| r.status == "ACTIVE");
            let all_deleted = rs.iter().all(|r| r.deleted_at.is_some());
            let mut statuses: Vec<&str> = rs.iter().map(|r| r.status.as_str()).collect();
            statuses.sort();
            statuses.dedup();
            let created_at = rs.iter().filter_map(|r| r.created_at).min();
            let mut row = ActivationRow {
                scope: "account-product",
                account_id: rs[0].account_id.clone(),
                product: rs[0].product.clone(),
                license_arn: activated.unwrap_or(&rs[0]).license_arn.clone(),
                grant_arn: String::new(),
                parent_grant_arn: String::new(),
                via: String::new(),
                first_seen: rs.iter().filter_map(|r| r.first_seen).min(),
                created_at,
                accepted_at: rs.iter().filter_map(|r| r.accepted_at).min(),
                activated_at: None,
                activated_after: None,
                activated_by: None,
                activation_source: String::new(),
                disabled_at: None,
                deleted_at: None,
                status: if any_active {
                    "ACTIVE".into()
                } else {
                    statuses.join(" ")
                },
                days_to_activation: None,
            };
            if let Some(a) = activated {
                row.grant_arn = a.grant_arn.clone();
                row.parent_grant_arn = a.parent_grant_arn.clone();
                row.via = a.via.clone();
                row.activated_at = a.activated_at;
                row.activated_after = a.activated_after;
                row.activated_by = a.activated_by;
                row.activation_source = a.activation_source.clone();
                if a.activation_source != "unknown" {
                    row.days_to_activation = a
                        .activation_day()
                        .zip(created_at)
                        .map(|(d, c)| (d - c).num_days());
                }
            }
            if !any_active {
                row.disabled_at = rs.iter().filter_map(|r| r.disabled_at).max();
            }
            if all_deleted {
                row.deleted_at = rs.iter().filter_map(|r| r.deleted_at).max();
            }
            row
        })
        .collect()
}
