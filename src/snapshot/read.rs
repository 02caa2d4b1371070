//! Reading a snapshot directory back (in progress).
use std::path::Path;

use super::Snapshot;

/// Reads the snapshot in `dir`.
pub fn read(dir: &Path) -> anyhow::Result<Snapshot> {
    anyhow::bail!("reading snapshots is not implemented yet: `{}`", dir.display())
}
