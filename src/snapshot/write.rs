//! Writing a snapshot directory: one Parquet file per table plus `manifest.json`.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, ParquetCompression, ParquetWriter};

use super::{tables, Snapshot};

/// Writes `snap` to `dir` (created if needed). The manifest is written last, so a directory
/// with a manifest holds every table.
pub fn write(snap: &Snapshot, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
    let _ = fs::remove_file(dir.join("manifest.json"));
    let frames = [
        (
            "organization",
            tables::to_frame(
                "organization",
                tables::ORGANIZATION,
                std::slice::from_ref(&snap.organization),
            )?,
        ),
        (
            "accounts",
            tables::to_frame("accounts", tables::ACCOUNTS, &snap.accounts)?,
        ),
        (
            "organizational_units",
            tables::to_frame(
                "organizational_units",
                tables::ORGANIZATIONAL_UNITS,
                &snap.organizational_units,
            )?,
        ),
        (
            "licenses",
            tables::to_frame("licenses", tables::LICENSES, &snap.licenses)?,
        ),
        (
            "grants",
            tables::to_frame("grants", tables::GRANTS, &snap.grants)?,
        ),
        (
            "grant_events",
            tables::to_frame("grant_events", tables::GRANT_EVENTS, &snap.grant_events)?,
        ),
        ("usage", snap.usage.clone()),
    ];
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
