//! `verify-cleanup`: the pass/fail verdict on a cancelled subscription's clean-up, with its
//! evidence.

use std::fs::{self, File};
use std::io::{BufWriter, Write};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};

use super::{exit, load};
use crate::analyze::cleanup::{self, Target, Verdict};
use crate::analyze::context::Context as Organization;
use crate::cli::VerifyCleanupArgs;
use crate::progress;
use crate::report;

/// `verify-cleanup`: print the verdict with its evidence on `out`, write
/// `cleanup_verification.csv`; exit 0 on PASS, 1 on FAIL, 2 when undecided.
pub fn verify_cleanup(
    args: &VerifyCleanupArgs,
    now: DateTime<Utc>,
    mut out: impl Write,
) -> Result<u8> {
    let config = load::config(args.config.as_deref(), args.source.demo)?;
    let (snap, default_as_of) = load::snapshot(&args.source, &config, now, None)?;
    let target = match (&args.product, &args.license_arn) {
        (_, Some(arn)) => Target::LicenseArn(arn.clone()),
        (Some(name), None) => Target::Product(name.clone()),
        (None, None) => bail!("pass `--product NAME` or `--license-arn ARN`"),
    };
    let request = cleanup::Request {
        target,
        cancelled_on: args.cancelled_on,
        grace_days: args.grace_days,
    };
    let as_of = args.as_of.unwrap_or(default_as_of);
    let cx = Organization::new(&snap, &config, as_of);
    let v = cleanup::verify(&cx, &request)?;
    for line in v.lines() {
        writeln!(out, "{line}")?;
    }
    fs::create_dir_all(&args.out)
        .with_context(|| format!("failed to create `{}`", args.out.display()))?;
    let path = args.out.join(report::CLEANUP_FILE);
    let file =
        File::create(&path).with_context(|| format!("failed to create `{}`", path.display()))?;
    let rows = v.rows();
    report::csv::write(BufWriter::new(file), report::CLEANUP_COLUMNS, &rows)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    progress::line(&format!("wrote `{}`", path.display()));
    if !args.no_xlsx {
        let path = args.out.join(report::xlsx::CLEANUP_FILE);
        let file = File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        report::xlsx::cleanup(BufWriter::new(file), snap.manifest.collected_at, &rows)
            .with_context(|| format!("failed to write `{}`", path.display()))?;
        progress::line(&format!("wrote `{}`", path.display()));
    }
    Ok(match v.verdict() {
        Verdict::Pass => exit::CLEAN,
        Verdict::Fail => exit::FINDINGS,
        Verdict::Incomplete => exit::INCOMPLETE,
    })
}
