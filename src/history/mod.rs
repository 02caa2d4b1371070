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

use std::sync::OnceLock;

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
#[derive(Debug, Default)]
pub struct RunHistory {
    pub changes: Changes,
    /// Rows of `activation_history.csv`.
    pub activation: Activation,
}

/// The activation history of a run: read back from the store once the run is written, by the
/// thread writing it, while the reports that do not need it are written (`commands::run`).
#[derive(Debug, Default)]
pub struct Activation(OnceLock<Result<Vec<ActivationRow>, String>>);

impl Activation {
    /// Rows already known.
    pub fn ready(rows: Vec<ActivationRow>) -> Activation {
        Activation(OnceLock::from(Ok(rows)))
    }

    /// Runs `read` and gives its rows, or its error, to every reader waiting; a panic in
    /// `read` gives them an error too, so that no reader waits forever.
    pub fn fill(
        &self,
        read: impl FnOnce() -> anyhow::Result<Vec<ActivationRow>>,
    ) -> anyhow::Result<()> {
        struct Stopped<'a>(&'a Activation);
        impl Drop for Stopped<'_> {
            fn drop(&mut self) {
                // Only the first value counts: after a normal end this changes nothing.
                let _ = (self.0).0.set(Err("the history write stopped".into()));
            }
        }
        let _stopped = Stopped(self);
        let (rows, result) = match read() {
            Ok(rows) => (Ok(rows), Ok(())),
            Err(e) => (Err(format!("{e:#}")), Err(e)),
        };
        let _ = self.0.set(rows);
        result
    }

    /// The rows, once [`Activation::set`] gave them: waits until then.
    pub fn rows(&self) -> anyhow::Result<&[ActivationRow]> {
        match self.0.wait() {
            Ok(rows) => Ok(rows),
            Err(e) => anyhow::bail!("no activation history: {e}"),
        }
    }
}
