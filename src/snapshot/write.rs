//! Writing a snapshot directory: one Parquet file per table plus `manifest.json`.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, ParquetCompression, ParquetWriter};

use super::Table;
use super::{tables, Snapshot};

/// Writes `snap` to `dir` (created if needed). The manifest is written last, so a directory
/// with a manifest holds every table.
pub fn write(snap: &Snapshot, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
    let _ = fs::remove_file(dir.join("manifest.json"));
    let mut frames = vec![
        (
            Table::Organization.as_str(),
            tables::to_frame(
                Table::Organization.as_str(),
                tables::ORGANIZATION,
                std::slice::from_ref(&snap.organization),
            )?,
        ),
        (
            Table::Accounts.as_str(),
            tables::to_frame(Table::Accounts.as_str(), tables::ACCOUNTS, &snap.accounts)?,
        ),
        (
            Table::OrganizationalUnits.as_str(),
            tables::to_frame(
                Table::OrganizationalUnits.as_str(),
                tables::ORGANIZATIONAL_UNITS,
                &snap.organizational_units,
            )?,
        ),
        (
            Table::Licenses.as_str(),
            tables::to_frame(Table::Licenses.as_str(), tables::LICENSES, &snap.licenses)?,
        ),
        (
            Table::Grants.as_str(),
            tables::to_frame(Table::Grants.as_str(), tables::GRANTS, &snap.grants)?,
        ),
        (
            Table::GrantEvents.as_str(),
            tables::to_frame(
                Table::GrantEvents.as_str(),
                tables::GRANT_EVENTS,
                &snap.grant_events,
            )?,
        ),
        (
            Table::Agreements.as_str(),
            tables::to_frame(
                Table::Agreements.as_str(),
                tables::AGREEMENTS,
                &snap.agreements,
            )?,
        ),
        (
            Table::Rates.as_str(),
            tables::to_frame(Table::Rates.as_str(), tables::RATES, &snap.rates)?,
        ),
        (Table::Usage.as_str(), snap.usage.clone()),
    ];
    // A member table that was not read has no file (not known, not empty).
    if let Some(rows) = &snap.invocations {
        let name = Table::Invocations.as_str();
        frames.push((name, tables::to_frame(name, tables::INVOCATIONS, rows)?));
    }
    if let Some(rows) = &snap.member_agreements {
        let name = Table::MemberAgreements.as_str();
        frames.push((name, tables::to_frame(name, tables::AGREEMENTS, rows)?));
    }
    for t in [Table::Invocations, Table::MemberAgreements] {
        let _ = fs::remove_file(dir.join(format!("{t}.parquet")));
    }
    for (name, mut df) in frames {
        write_parquet(&mut df, &dir.join(format!("{name}.parquet")))?;
    }
    let mut manifest = snap.manifest.clone();
    manifest.format_version = super::FORMAT_VERSION;
    let path = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest)?;
    fs::write(&path, text + "\n").with_context(|| format!("failed to write `{}`", path.display()))
}

fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<()> {
    let file =
        File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    Ok(())
}
