//! `plan`: the fix plan alone (fix-plan.json, fix-plan.sh) for the demo, a snapshot or a live
//! collection, without the reports or the history.

use std::fs::{self, File};
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::{exit, load};
use crate::cli::PlanArgs;
use crate::progress;
use crate::report::{PLAN_JSON, PLAN_SCRIPT};

/// Writes the plan into `args.out`; exit 0, or 2 when the data is incomplete (the plan may
/// then miss findings the run could not see).
pub fn plan(args: &PlanArgs, now: DateTime<Utc>) -> Result<u8> {
    let config = load::config(args.config.as_deref(), args.source.demo)?;
    let (snap, default_as_of) = load::snapshot(&args.source, &config, now, None)?;
    let as_of = args.as_of.unwrap_or(default_as_of);
    let analysis = crate::analyze::analyze(&snap, &config, as_of)?;
    let p = crate::plan::plan(&analysis, &analysis.subscriber_account_id);
    fs::create_dir_all(&args.out)
        .with_context(|| format!("failed to create `{}`", args.out.display()))?;
    let write = |name: &str, f: &dyn Fn(&mut BufWriter<File>) -> Result<()>| -> Result<()> {
        let path = args.out.join(name);
        let file = File::create(&path)
            .with_context(|| format!("failed to create `{}`", path.display()))?;
        let mut w = BufWriter::new(file);
        f(&mut w)
            .and_then(|()| Ok(w.flush()?))
            .with_context(|| format!("failed to write `{}`", path.display()))
    };
    write(PLAN_JSON, &|w| p.write_json(w))?;
    write(PLAN_SCRIPT, &|w| {
        Ok(w.write_all(crate::plan::script(&p).as_bytes())?)
    })?;
    progress::line(&format!(
        "wrote {PLAN_JSON} and {PLAN_SCRIPT} to `{}`: {} command(s) in {} account(s), {} finding(s) for a person to decide",
        args.out.display(),
        p.steps.len(),
        p.per_account().len(),
        p.decisions.len()
    ));
    Ok(if snap.is_complete() {
        exit::CLEAN
    } else {
        exit::INCOMPLETE
    })
}
