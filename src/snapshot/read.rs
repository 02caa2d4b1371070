//! Reading a snapshot directory back, with errors that name the file and column at fault.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::{DataFrame, ParquetReader, SerReader};

use super::Table;
use super::{tables, Manifest, Snapshot, AGREEMENTS_SINCE, FORMAT_VERSION};
use crate::model::usage;

/// Reads the snapshot in `dir`.
pub fn read(dir: &Path) -> Result<Snapshot> {
    let manifest_path = dir.join("manifest.json");
    let text = fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "failed to read `{}` (is `{}` a snapshot directory?)",
            manifest_path.display(),
            dir.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse `{}`", manifest_path.display()))?;
    if manifest.format_version > FORMAT_VERSION {
        bail!(
            "`{}` has snapshot format {} but this version reads up to {FORMAT_VERSION}",
            manifest_path.display(),
            manifest.format_version
        );
    }
    let table = |name: &str| -> Result<DataFrame> {
        let path = dir.join(format!("{name}.parquet"));
        let file =
            File::open(&path).with_context(|| format!("failed to open `{}`", path.display()))?;
        ParquetReader::new(file)
            .finish()
            .with_context(|| format!("failed to read `{}`", path.display()))
    };
    let in_file = |name: &str| format!("{name}.parquet");
    let organization = tables::from_frame::<crate::model::Organization>(
        &in_file(Table::Organization.as_str()),
        tables::ORGANIZATION,
        &table(Table::Organization.as_str())?,
    )?
    .into_iter()
    .next()
    .with_context(|| {
        format!(
            "`{}` has no row",
            dir.join("organization.parquet").display()
        )
    })?;
    let mut grants: Vec<crate::model::Grant> = tables::from_frame(
        &in_file(Table::Grants.as_str()),
        tables::GRANTS,
        &table(Table::Grants.as_str())?,
    )?;
    if manifest.format_version < 2 {
        // Format 1 stored no relation: every parent a sub-grant can have is in the file.
        crate::model::relate_grants(&mut grants);
    }
    // Tables a format before `AGREEMENTS_SINCE` does not have: read as empty.
    let old = manifest.format_version < AGREEMENTS_SINCE;
    let frame =
        |t: Table| -> Result<Option<DataFrame>> { (!old).then(|| table(t.as_str())).transpose() };
    let agreements = match frame(Table::Agreements)? {
        Some(df) => tables::from_frame(&in_file("agreements"), tables::AGREEMENTS, &df)?,
        None => Vec::new(),
    };
    let rates = match frame(Table::Rates)? {
        Some(df) => tables::from_frame(&in_file("rates"), tables::RATES, &df)?,
        None => Vec::new(),
    };
    // The member tables: absent (not read, or a format before 6) is not known.
    fn member<T: serde::de::DeserializeOwned>(
        dir: &Path,
        t: Table,
        columns: &[&str],
    ) -> Result<Option<Vec<T>>> {
        let path = dir.join(format!("{t}.parquet"));
        if !path.exists() {
            return Ok(None);
        }
        let file =
            File::open(&path).with_context(|| format!("failed to open `{}`", path.display()))?;
        let df = ParquetReader::new(file)
            .finish()
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        tables::from_frame(&format!("{t}.parquet"), columns, &df).map(Some)
    }
    let invocations = member(dir, Table::Invocations, tables::INVOCATIONS)?;
    let member_agreements = member(dir, Table::MemberAgreements, tables::AGREEMENTS)?;
    let usage_path = dir.join("usage.parquet");
    let usage = usage::conform(table(Table::Usage.as_str())?)
        .with_context(|| format!("in `{}`", usage_path.display()))?;
    Ok(Snapshot {
        organization,
        accounts: tables::from_frame(
            &in_file(Table::Accounts.as_str()),
            tables::ACCOUNTS,
            &table(Table::Accounts.as_str())?,
        )?,
        organizational_units: tables::from_frame(
            &in_file(Table::OrganizationalUnits.as_str()),
            tables::ORGANIZATIONAL_UNITS,
            &table(Table::OrganizationalUnits.as_str())?,
        )?,
        licenses: tables::from_frame(
            &in_file(Table::Licenses.as_str()),
            tables::LICENSES,
            &table(Table::Licenses.as_str())?,
        )?,
        grants,
        grant_events: tables::from_frame(
            &in_file(Table::GrantEvents.as_str()),
            tables::GRANT_EVENTS,
            &table(Table::GrantEvents.as_str())?,
        )?,
        agreements,
        rates,
        usage,
        invocations,
        member_agreements,
        manifest,
    })
}
