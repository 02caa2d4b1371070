//! The commands, one file each (as cargo's `commands/`): `main.rs` parses the arguments,
//! reads the clock and calls one of these; each returns the exit code.
//!
//! - [`run`]: the weekly job, in named phases (prepare, load, analyze, record history,
//!   report, deliver; docs/ARCHITECTURE.md walks them).
//! - [`collect`]: `collect` and `doctor`, the live organization without the analysis.
//! - [`verify_cleanup`], [`history`], [`demo`]: one command each.
//! - [`info`]: `rules`, `explain` and `iam-policy`, which read nothing.
//!
//! What several commands share (the config, the snapshot from its source, the async
//! runtime) is in `load`.

pub mod collect;
pub mod demo;
pub mod history;
pub mod info;
mod load;
pub mod plan;
pub mod run;
pub mod verify_cleanup;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const INCOMPLETE: u8 = 2;
    pub const ERROR: u8 = 3;
}
