//! The snapshot: everything the analysis reads, as normalized tables.
//!
//! On disk it is a directory of Parquet files (one per table) plus `manifest.json`, so that
//! DuckDB or pandas can read it too (docs/snapshot-format.md). `collect` and `demo` build one,
//! `analyze` reads one; nothing after the snapshot talks to AWS.

mod read;
mod tables;
mod write;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use crate::model::{
    Account, Agreement, Grant, GrantEvent, Invocation, License, Organization, OrganizationalUnit,
    Rate,
};

pub use read::read;
pub use write::write;

/// The snapshot's tables: the names of `manifest.tables`, of ledger entries and of the rules'
/// inputs. A name that is not one of these cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Organization,
    Accounts,
    OrganizationalUnits,
    Licenses,
    Grants,
    GrantEvents,
    Agreements,
    Rates,
    Usage,
    Invocations,
    MemberAgreements,
}

impl Table {
    /// Every table, in the order the snapshot's files are written.
    pub const ALL: [Table; 11] = [
        Table::Organization,
        Table::Accounts,
        Table::OrganizationalUnits,
        Table::Licenses,
        Table::Grants,
        Table::GrantEvents,
        Table::Agreements,
        Table::Rates,
        Table::Usage,
        Table::Invocations,
        Table::MemberAgreements,
    ];

    /// The table's name: its file's stem, its key in `manifest.tables`.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Organization => "organization",
            Table::Accounts => "accounts",
            Table::OrganizationalUnits => "organizational_units",
            Table::Licenses => "licenses",
            Table::Grants => "grants",
            Table::GrantEvents => "grant_events",
            Table::Agreements => "agreements",
            Table::Rates => "rates",
            Table::Usage => "usage",
            Table::Invocations => "invocations",
            Table::MemberAgreements => "member_agreements",
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Version of the on-disk layout; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 6;

/// The first format with the `agreements` and `rates` tables; older snapshots read them empty.
pub const AGREEMENTS_SINCE: u32 = 4;

/// One organization's data, as read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub manifest: Manifest,
    pub organization: Organization,
    pub accounts: Vec<Account>,
    pub organizational_units: Vec<OrganizationalUnit>,
    pub licenses: Vec<License>,
    pub grants: Vec<Grant>,
    pub grant_events: Vec<GrantEvent>,
    pub agreements: Vec<Agreement>,
    pub rates: Vec<Rate>,
    /// Schema in [`crate::model::usage`].
    pub usage: DataFrame,
    /// The member accounts' daily model invocations (`--member-role`, format 6). `None`: not
    /// read (no member fan-out, or a snapshot from before format 6), which is not known, not
    /// none; its file is then absent.
    pub invocations: Option<Vec<Invocation>>,
    /// Purchase agreements the member accounts accepted themselves (`SearchAgreements` in each
    /// member, format 6); `None` as for `invocations`.
    pub member_agreements: Option<Vec<Agreement>>,
}

/// What a snapshot holds, where it came from, and what could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool_version: String,
    /// `demo`, `aws` or a free text naming another source.
    pub source: String,
    pub collected_at: DateTime<Utc>,
    /// First and last day of usage the snapshot meant to read.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Per table: rows and where they came from.
    pub tables: BTreeMap<String, TableInfo>,
    /// What could not be read, and why. Empty means complete.
    pub completeness: Vec<LedgerEntry>,
    /// Enum values from AWS this version does not know; kept as text.
    pub unknown_values: Vec<UnknownValue>,
    /// Paid Cost Explorer requests made while collecting.
    #[serde(default)]
    pub cost_explorer_requests: u64,
    /// The Athena query that gave the usage table (`--cost-source athena`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub athena: Option<crate::inputs::athena::AthenaQuery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInfo {
    pub rows: u64,
    /// e.g. `organizations:ListAccounts`, `demo`.
    pub source: String,
}

/// One piece of data a run meant to read but could not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `organizations`, `license-manager`, `cost-explorer`, `cloudtrail`, `cost-export`.
    pub service: String,
    pub operation: String,
    /// What the call was for: a license ARN, an account, a date range, `organization`.
    pub scope: String,
    pub error_code: String,
    pub message: String,
    /// Snapshot tables left incomplete by this gap.
    pub tables: Vec<Table>,
    /// The member account whose data is missing, when the gap is one account's (its role
    /// could not be assumed, or a call in it failed): only that account's findings of the
    /// rules reading `tables` are marked incomplete, not every finding of those rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnknownValue {
    pub table: String,
    pub column: String,
    pub value: String,
    pub rows: u64,
}

impl Snapshot {
    /// True when nothing the run meant to read is missing.
    pub fn is_complete(&self) -> bool {
        self.manifest.completeness.is_empty()
    }

    /// Tables named by at least one ledger entry.
    pub fn incomplete_tables(&self) -> Vec<Table> {
        self.tables_missing(|_| true)
    }

    /// Tables named by a ledger entry that is not one member account's: gaps that may hide a
    /// finding on any account.
    pub fn incomplete_tables_org_wide(&self) -> Vec<Table> {
        self.tables_missing(|e| e.account_id.is_none())
    }

    /// Member account -> the tables one of its gaps leaves incomplete.
    pub fn incomplete_accounts(&self) -> BTreeMap<&str, Vec<Table>> {
        let mut out: BTreeMap<&str, Vec<Table>> = BTreeMap::new();
        for e in &self.manifest.completeness {
            if let Some(a) = &e.account_id {
                let t = out.entry(a.as_str()).or_default();
                t.extend(e.tables.iter().copied());
                t.sort();
                t.dedup();
            }
        }
        out
    }

    fn tables_missing(&self, keep: impl Fn(&LedgerEntry) -> bool) -> Vec<Table> {
        let mut t: Vec<Table> = self
            .manifest
            .completeness
            .iter()
            .filter(|e| keep(e))
            .flat_map(|e| e.tables.iter().copied())
            .collect();
        t.sort_by_key(|t| t.as_str());
        t.dedup();
        t
    }

    /// Recomputes row counts and the unknown-enum list from the tables; call before writing.
    pub fn refresh_manifest(&mut self) {
        tables::refresh_manifest(self);
    }
}
