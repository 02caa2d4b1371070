//! `collect` (the live organization into a snapshot directory) and `doctor` (the
//! prerequisites of a live run, checked).

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{exit, load};
use crate::cli::{CollectArgs, DoctorArgs};
use crate::deliver::remote::Location;
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

/// `doctor`: checks the prerequisites (and those of the spend source the options name);
/// exit 0 when nothing fails, 2 otherwise.
pub fn doctor(args: &DoctorArgs, now: DateTime<Utc>, mut out: impl Write) -> Result<u8> {
    let config = load::config(args.config.as_deref(), false)?;
    let opts = load::collect_options(&args.aws, &config, now)?;
    let export = match args.cost_export.as_deref().and_then(|p| p.to_str()) {
        Some(url) if url.starts_with("s3://") => {
            match Location::parse(url).context("`--cost-export`")? {
                Location::S3(at) => Some(at),
                Location::Local(_) => None,
            }
        }
        _ => None,
    };
    let sources = collect::SourceChecks {
        athena: load::athena_options_of(&args.spend, args.cost_export.is_some(), &config)?,
        export,
    };
    let checks = load::runtime()?.block_on(collect::doctor(&opts, &sources));
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
