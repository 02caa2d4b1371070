//! entitlement-audit: a weekly audit of AWS Marketplace model entitlements (License Manager
//! grants) across an AWS Organization.
//!
//! # Layout
//!
//! Data flows one way: `inputs` -> `snapshot` -> `analyze` -> `history` -> `report` ->
//! `deliver`.
//!
//! - [`inputs`]: the sources of a snapshot: [`inputs::collect`] (AWS, read-only),
//!   [`inputs::demo`] (synthetic), [`inputs::cost_export`] (CUR 2.0 / FOCUS files) and
//!   [`inputs::athena`] (the same usage aggregated by Athena).
//! - [`model`]: accounts, OUs, licenses, grants, events and the usage table; plain types.
//! - [`snapshot`]: the normalized tables on disk (Parquet + `manifest.json`).
//! - [`config`]: the TOML options, validated into typed settings.
//! - [`money`]: the one rounding of output amounts and the one way to write them.
//! - [`analyze`]: coverage, the rules (`analyze::rules::RULES`), cost allocation; pure.
//! - [`history`]: the SQLite store of past runs (read before the analysis, written after):
//!   changes since the previous run, activation history, suppressions.
//! - [`report`]: CSV and JSON outputs, the HTML report and the Markdown summary.
//! - [`deliver`]: around the run: the history store and the published reports in S3, the
//!   chat notification.
//! - [`cli`], [`commands`] (one file per subcommand; `run` as named phases), [`progress`]:
//!   the command line around the pipeline.

pub mod analyze;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deliver;
pub mod history;
pub mod inputs;
pub mod model;
pub mod money;
pub mod plan;
pub mod progress;
pub mod report;
pub mod snapshot;
