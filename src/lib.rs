//! entitlement-audit: a weekly audit of AWS Marketplace model entitlements (License Manager
//! grants) across an AWS Organization.
//!
//! # Layout
//!
//! Data flows one way: `collect` (or `demo`) -> `snapshot` -> `analyze` -> `report`.
//!
//! - [`model`]: accounts, OUs, licenses, grants, events and the usage table; plain types.
//! - [`snapshot`]: the normalized tables on disk (Parquet + `manifest.json`).
//! - [`cost_export`]: CUR 2.0 / FOCUS cost exports as the usage table, in place of Cost
//!   Explorer.
//! - [`demo`]: the built-in demo organization and the synthetic generator.
//! - [`config`]: the TOML options, validated.
//! - [`analyze`]: coverage, rules EA001-EA010, cost allocation; pure.
//! - [`history`]: the SQLite store of past runs (read before the analysis, written after):
//!   changes since the previous run, activation history, suppressions.
//! - [`report`]: CSV and JSON outputs, the HTML report and the Markdown summary.
//! - [`remote`]: around the pipeline, `s3://` locations: the history store downloaded before
//!   a run and put back after it (conditional write), the reports published by date.
//! - [`notify`]: after the reports, a Slack-compatible message when something changed.
//! - [`cli`], [`app`], [`progress`]: the command line around the pipeline.

pub mod analyze;
pub mod app;
pub mod cli;
pub mod collect;
pub mod config;
pub mod cost_export;
pub mod demo;
pub mod history;
pub mod model;
pub mod notify;
pub mod progress;
pub mod remote;
pub mod report;
pub mod snapshot;
