//! `collect` (the live organization into a snapshot directory) and `doctor` (the
//! prerequisites of a live run, checked).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::{exit, load};
use crate::cli::{AwsArgs, CollectArgs};
use crate::config::Config;
use crate::inputs::collect;
use crate::progress;
use crate::snapshot;

/// `collect`: write a snapshot of the live organization. Exit 2 when something could not be
/// read (the snapshot is written anyway, with the gaps in its ledger).
pub fn collect(args: &CollectArgs, now: DateTime<Utc>) -> Result<u8> {
    let config = load::config(args.config.as_deref(), false)?;
    let snap = load::collect_live(
        &args.aws,
        &config,
        now,
        args.record.as_deref(),
        Default::default(),
        collect::UsageFrom::CostExplorer,
    )?;
    snapshot::write(&snap, &args.out)?;
    progress::line(&format!("wrote snapshot `{}`", args.out.display()));
    for gap in &snap.manifest.completeness {
        progress::line(&format!(
            "missing: {} {} ({}): {} {}",
            gap.service, gap.operation, gap.scope, gap.error_code, gap.message
        ));
    }
    Ok(if snap.is_complete() {
        exit::CLEAN
    } else {
        exit::INCOMPLETE
    })
}

/// `doctor`: checks the prerequisites; exit 0 when nothing fails, 2 otherwise.
pub fn doctor(aws: &AwsArgs, now: DateTime<Utc>, mut out: impl Write) -> Result<u8> {
    let opts = load::collect_options(aws, &Config::default(), now)?;
    let checks = load::runtime()?.block_on(collect::doctor(&opts));
    let mut failed = false;
    for c in &checks {
        writeln!(
            out,
            "{:<5} {:<42} {}",
            c.status.to_string(),
            c.name,
            c.detail
        )?;
        if let Some(fix) = &c.fix {
            writeln!(out, "      fix: {fix}")?;
        }
        failed |= c.status == collect::CheckStatus::Fail;
    }
    Ok(if failed {
        exit::INCOMPLETE
    } else {
        exit::CLEAN
    })
}
