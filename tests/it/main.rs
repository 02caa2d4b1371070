//! Every integration test in one binary: one link of polars, the AWS SDK crates and SQLite
//! instead of one per file. Each module was a test file of its own; `cargo test --test it
//! cli::` runs one module, `cargo test --test it -- --list` lists them all.

mod support;

mod athena;
mod athena_bench;
mod browser;
mod cli;
mod collect_bench;
mod collect_env;
mod collect_fake;
mod cost_export;
mod docs;
mod export_s3;
mod finance;
mod history;
mod html;
mod lifecycle;
mod live_e2e;
mod member_bench;
mod members;
mod plan;
mod rates;
mod rules;
mod sample_output;
mod scenarios;
mod schedule;
mod snapshot_roundtrip;
mod sources;
mod spreadsheet;
mod xlsx;
