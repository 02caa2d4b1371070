//! Around the run, after the reports: where the history store lives between runs, where the
//! reports are published, and who is told.
//!
//! - [`remote`]: `s3://` locations: the history store downloaded before a run and put back
//!   after it (conditional write), the reports published by date.
//! - [`notify`]: a Slack-compatible message when something changed or is missing.

pub mod notify;
pub mod remote;
