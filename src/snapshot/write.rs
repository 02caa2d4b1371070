//! Writing a snapshot directory (in progress).
use std::path::Path;

use super::Snapshot;

/// Writes `snap` to `dir` as Parquet tables plus `manifest.json`.
pub fn write(snap: &Snapshot, dir: &Path) -> anyhow::Result<()> {
    let _ = snap;
    anyhow::bail!("writing snapshots is not implemented yet: `{}`", dir.display())
}
