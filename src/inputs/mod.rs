//! The inputs: everything that produces a [`Snapshot`](crate::snapshot::Snapshot) or one of
//! its tables. Each source sits here side by side; docs/specs/source.md says what a source
//! must do.
//!
//! - [`collect`]: the live organization, read-only, through the AWS SDKs.
//! - [`demo`]: the built-in demo organization and the synthetic generator.
//! - [`cost_export`]: CUR 2.0 / FOCUS cost exports as the usage table, in place of Cost
//!   Explorer's.
//! - [`athena`]: the same usage table aggregated by Amazon Athena over a CUR 2.0 / FOCUS table.
//! - [`export_s3`]: a cost export in S3, only the billing periods the window needs.

pub mod athena;
pub mod collect;
pub mod cost_export;
pub mod demo;
pub mod export_s3;
