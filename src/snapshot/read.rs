//! Reading a snapshot directory back, with errors that name the file and column at fault.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{bail, Context, Result};
use polars::prelude::{DataFrame, ParquetReader, SerReader};

use super::{tables, Manifest, Snapshot, FORMAT_VERSION};
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
        &in_file("organization"),
        tables::ORGANIZATION,
        &table("organization")?,
    )?
    .into_iter()
    .next()
    .with_context(|| {
        format!(
            "`{}` has no row",
            dir.join("organization.parquet").display()
        )
    })?;
    let mut grants: Vec<crate::model::Grant> =
        tables::from_frame(&in_file("grants"), tables::GRANTS, &table("grants")?)?;
    if manifest.format_version < 2 {
        // Format 1 stored no relation: every parent a sub-grant can have is in the file.
        crate::model::relate_grants(&mut grants);
    }
    let usage_path = dir.join("usage.parquet");
    let usage = usage::conform(table("usage")?)
        .with_context(|| format!("in `{}`", usage_path.display()))?;
    Ok(Snapshot {
        organization,
        accounts: tables::from_frame(&in_file("accounts"), tables::ACCOUNTS, &table("accounts")?)?,
        organizational_units: tables::from_frame(
            &in_file("organizational_units"),
            tables::ORGANIZATIONAL_UNITS,
            &table("organizational_units")?,
        )?,
        licenses: tables::from_frame(&in_file("licenses"), tables::LICENSES, &table("licenses")?)?,
        grants,
        grant_events: tables::from_frame(
            &in_file("grant_events"),
            tables::GRANT_EVENTS,
            &table("grant_events")?,
        )?,
        usage,
        manifest,
    })
}
