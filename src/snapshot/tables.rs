//! The small tables (everything but usage) as text columns.
//!
//! Each row is turned into a flat JSON object through serde and each field becomes a nullable
//! text column; reading does the reverse. Timestamps are RFC 3339 text, tags JSON text, so
//! every table reads the same way in DuckDB, pandas or here.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::{Column, DataFrame, DataType};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

use super::Table;
use super::{Snapshot, TableInfo, UnknownValue};

/// Table name -> its columns, in file order.
pub(super) const ORGANIZATION: &[&str] = &["id", "management_account_id", "subscriber_account_id"];
pub(super) const ACCOUNTS: &[&str] = &[
    "id",
    "name",
    "email",
    "state",
    "joined_at",
    "parent_id",
    "ou_path",
    "tags",
    "tags_read",
];
pub(super) const ORGANIZATIONAL_UNITS: &[&str] = &["id", "name", "parent_id", "path"];
pub(super) const LICENSES: &[&str] = &[
    "arn",
    "product_name",
    "product_sku",
    "issuer",
    "status",
    "validity_begin",
    "validity_end",
    "created_at",
    "beneficiary",
    "home_region",
    "version",
    "seller_grant_arn",
];
pub(super) const GRANTS: &[&str] = &[
    "arn",
    "name",
    "license_arn",
    "parent_arn",
    "grantee_principal_arn",
    "grantee_kind",
    "grantee_id",
    "status",
    "status_reason",
    "version",
    "home_region",
    "activation_override",
    "grant_type",
    "relation",
    "granted_operations",
];
pub(super) const GRANT_EVENTS: &[&str] = &[
    "time",
    "grant_arn",
    "account_id",
    "kind",
    "source",
    "actor",
    "not_before",
];

pub(super) const AGREEMENTS: &[&str] = &[
    "id",
    "status",
    "acceptor_account_id",
    "product_id",
    "offer_id",
    "license_arn",
    "license_link",
    "acceptance_time",
    "start_time",
    "end_time",
    "last_update_time",
    "end_time_behavior",
    "auto_renew",
];
pub(super) const RATES: &[&str] = &[
    "source",
    "agreement_id",
    "product",
    "dimension_key",
    "price",
    "currency",
    "unit",
];

pub(super) const INVOCATIONS: &[&str] = &[
    "day",
    "account_id",
    "region",
    "model_id",
    "base_model_id",
    "model_name",
    "resolution",
    "invocations",
    "input_tokens",
    "output_tokens",
];

/// Columns added in format 2: a format-1 file has none of them, and its rows take each
/// field's default (`snapshot::read` then derives the grants' relation).
const ADDED_IN_2: &[&str] = &["seller_grant_arn", "relation", "not_before"];
/// Columns added in format 3 (`accounts.tags_read`: absent means the tags were read).
const ADDED_IN_3: &[&str] = &["tags_read"];
/// Columns added in format 5 (`grants.granted_operations`: absent means not known).
const ADDED_IN_5: &[&str] = &["granted_operations"];

/// A column an older format does not have: absent or empty, the field takes its default.
fn optional(column: &str) -> bool {
    ADDED_IN_2.contains(&column) || ADDED_IN_3.contains(&column) || ADDED_IN_5.contains(&column)
}

/// Builds a frame of nullable text columns from serializable rows.
pub(super) fn to_frame<T: Serialize>(
    table: &str,
    columns: &[&str],
    rows: &[T],
) -> Result<DataFrame> {
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(rows.len()); columns.len()];
    for row in rows {
        let Value::Object(map) = serde_json::to_value(row)? else {
            bail!("table `{table}`: a row is not an object");
        };
        if let Some(extra) = map.keys().find(|k| !columns.contains(&k.as_str())) {
            bail!("table `{table}`: field `{extra}` has no column");
        }
        for (i, name) in columns.iter().enumerate() {
            cells[i].push(match map.get(*name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            });
        }
    }
    let cols = columns
        .iter()
        .zip(cells)
        .map(|(name, values)| Column::new((*name).into(), values))
        .collect();
    Ok(DataFrame::new(rows.len(), cols)?)
}

/// Reads rows back from a frame of text columns, naming the table, row and column at fault.
pub(super) fn from_frame<T: DeserializeOwned>(
    table: &str,
    columns: &[&str],
    df: &DataFrame,
) -> Result<Vec<T>> {
    let cols = columns
        .iter()
        .filter(|name| !(optional(name) && df.column(name).is_err()))
        .map(|name| {
            let c = df
                .column(name)
                .map_err(|_| anyhow!("table `{table}` has no column `{name}`"))?;
            let c = c
                .cast(&DataType::String)
                .with_context(|| format!("table `{table}` column `{name}` is not text"))?;
            Ok((*name, c))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut map = Map::new();
        for (name, c) in &cols {
            let v = c
                .str()?
                .get(i)
                .map(|s| cell_value(name, s))
                .unwrap_or(Value::Null);
            // An empty optional cell is the field's default, as when the column is absent.
            if v.is_null() && optional(name) {
                continue;
            }
            map.insert((*name).to_string(), v);
        }
        let row = serde_json::from_value(Value::Object(map))
            .with_context(|| format!("table `{table}` row {}", i + 1))?;
        out.push(row);
    }
    Ok(out)
}

/// Columns that hold JSON text (maps, booleans) rather than plain text.
fn cell_value(column: &str, s: &str) -> Value {
    match column {
        "tags" | "tags_read" | "auto_renew" | "granted_operations" | "invocations"
        | "input_tokens" | "output_tokens" => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
        _ => Value::String(s.to_string()),
    }
}

pub(super) fn refresh_manifest(snap: &mut Snapshot) {
    let m = &mut snap.manifest;
    let mut set = |name: &str, rows: usize| {
        let entry = m
            .tables
            .entry(name.to_string())
            .or_insert_with(|| TableInfo {
                rows: 0,
                source: "unknown".into(),
            });
        entry.rows = rows as u64;
    };
    set(Table::Organization.as_str(), 1);
    set(Table::Accounts.as_str(), snap.accounts.len());
    set(
        Table::OrganizationalUnits.as_str(),
        snap.organizational_units.len(),
    );
    set(Table::Licenses.as_str(), snap.licenses.len());
    set(Table::Grants.as_str(), snap.grants.len());
    set(Table::GrantEvents.as_str(), snap.grant_events.len());
    set(Table::Agreements.as_str(), snap.agreements.len());
    set(Table::Rates.as_str(), snap.rates.len());
    set(Table::Usage.as_str(), snap.usage.height());
    // Member tables not read have no entry: not known, not empty.
    let mut absent = Vec::new();
    for (table, rows) in [
        (Table::Invocations, snap.invocations.as_ref().map(Vec::len)),
        (
            Table::MemberAgreements,
            snap.member_agreements.as_ref().map(Vec::len),
        ),
    ] {
        match rows {
            Some(rows) => set(table.as_str(), rows),
            None => absent.push(table),
        }
    }
    for table in absent {
        snap.manifest.tables.remove(table.as_str());
    }

    let mut unknown: BTreeMap<(&str, &str, String), u64> = BTreeMap::new();
    let mut flag = |table: Table, column: &'static str, known: bool, value: &str| {
        if !known {
            *unknown
                .entry((table.as_str(), column, value.to_string()))
                .or_default() += 1;
        }
    };
    for a in &snap.accounts {
        flag(
            Table::Accounts,
            "state",
            a.state.is_known(),
            a.state.as_str(),
        );
    }
    for l in &snap.licenses {
        flag(
            Table::Licenses,
            "status",
            l.status.is_known(),
            l.status.as_str(),
        );
    }
    for g in &snap.grants {
        flag(
            Table::Grants,
            "status",
            g.status.is_known(),
            g.status.as_str(),
        );
        flag(
            Table::Grants,
            "grantee_kind",
            g.grantee_kind.is_known(),
            g.grantee_kind.as_str(),
        );
        flag(
            Table::Grants,
            "relation",
            g.relation.is_known(),
            g.relation.as_str(),
        );
    }
    for e in &snap.grant_events {
        flag(
            Table::GrantEvents,
            "kind",
            e.kind.is_known(),
            e.kind.as_str(),
        );
    }
    for a in &snap.agreements {
        flag(
            Table::Agreements,
            "status",
            a.status.is_known(),
            a.status.as_str(),
        );
    }
    for a in snap.member_agreements.iter().flatten() {
        flag(
            Table::MemberAgreements,
            "status",
            a.status.is_known(),
            a.status.as_str(),
        );
    }
    for r in &snap.rates {
        flag(
            Table::Rates,
            "source",
            r.source.is_known(),
            r.source.as_str(),
        );
    }
    snap.manifest.unknown_values = unknown
        .into_iter()
        .map(|((table, column, value), rows)| UnknownValue {
            table: table.into(),
            column: column.into(),
            value,
            rows,
        })
        .collect();
}
