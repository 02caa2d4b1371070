//! The run history: an embedded SQLite store of past runs, read before the analysis and
//! written after it ([`stage`], called by `run`), so that `analyze` stays pure.
//!
//! What it adds to a run: grant transitions observed between runs fed back as events
//! ([`observe`]), new / persisting / resolved findings ([`changes`]), the activation history
//! of every grant ([`activation`]), suppressions ([`suppress`]) and the `history` command
//! ([`show`]). The schema and its migrations are in [`schema`], the reads and the one-
//! transaction write in [`store`]. docs/history.md describes the store.

pub mod activation;
pub mod changes;
pub mod observe;
pub mod schema;
pub mod show;
pub mod stage;
pub mod store;
pub mod suppress;

use serde::Serialize;

pub use activation::ActivationRow;
pub use changes::{Changes, PreviousRun, ResolvedFinding};
pub use observe::Observed;
pub use stage::{Recall, RecordOptions};
pub use store::{PastRun, RunRecord, Store};
pub use suppress::{SuppressionReport, Suppressions};

/// Where the store lives unless `--state` says otherwise.
pub const DEFAULT_STATE: &str = "entitlement-audit-state/history.sqlite";

/// Runs older than this many weeks (before the newest run) are pruned unless `--keep-weeks`
/// says otherwise: two years of weekly reports.
pub const DEFAULT_KEEP_WEEKS: u32 = 104;

/// What the history adds to a run's reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunHistory {
    pub changes: Changes,
    /// Rows of `activation_history.csv`.
    pub activation: Vec<ActivationRow>,
}
