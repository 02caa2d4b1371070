//! Conversions between the model types and Parquet tables (in progress).
use super::Snapshot;

pub(super) fn refresh_manifest(snap: &mut Snapshot) {
    let _ = snap;
}
