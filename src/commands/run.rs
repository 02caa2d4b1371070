//! `run`: the weekly job. Its phases, in order (docs/ARCHITECTURE.md walks them):
//! [`prepare`] checks every option and reads the history store before any time is spent;
//! [`load`] builds the snapshot and lets the history feed it what it remembers; the analysis
//! runs; [`record_history`] compares, applies suppressions and stores the run; [`report`]
//! writes the files and decides the exit code; [`deliver`] saves the history, publishes and
//! notifies.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};

use super::{exit, load};
use crate::analyze::{self, Analysis};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::deliver::notify;
use crate::deliver::remote::{self, Location, Saved, StateFile, S3};
use crate::history::{self, Recall, RecordOptions, RunHistory, SuppressionReport, Suppressions};
use crate::model::Severity;
use crate::progress;
use crate::report::{self, Outputs, Report, RunInfo, Templates};
use crate::snapshot::Snapshot;

/// `run`: analyze the demo, a snapshot or the live organization, compare with the run
/// history, write every report and record the run, then notify. Returns the exit code.
pub fn run(args: &RunArgs, now: DateTime<Utc>) -> Result<u8> {
    let prepared = prepare(args)?;
    let (snap, as_of, recall) = load(args, &prepared, now)?;
    let mut analysis = analyze_logged(&snap, &prepared.config, as_of)?;
    let changes = recall.as_ref().map(|r| r.compare(&mut analysis));
    let suppressions = prepared
        .suppressions
        .as_ref()
        .map(|s| suppress(&mut analysis, s));
    let history = changes.map(|changes| RunHistory {
        changes,
        activation: Default::default(),
    });
    let run = RunInfo::new(&snap, &analysis, args.common.fail_on);
    let r = Report {
        analysis: &analysis,
        history: history.as_ref(),
        suppressions: suppressions.as_ref(),
        run: &run,
    };
    let outputs = Outputs {
        xlsx: !args.no_xlsx,
    };
    // The run is stored on its own thread while the reports are written: only the activation
    // history waits for it (the two cores are otherwise half idle while the store is written).
    let (stored, reported) = std::thread::scope(|scope| {
        let store = recall.zip(history.as_ref()).map(|(recall, h)| {
            let (snap, analysis) = (&snap, &analysis);
            scope.spawn(move || {
                h.activation
                    .fill(|| record_history(args, recall, snap, analysis, &h.changes, now))
            })
        });
        let reported = report(&r, &args.out, &prepared.templates, &outputs);
        let stored = store.map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (stored, reported)
    });
    // A failed store is the run's error, before whatever the writers made of it.
    stored.transpose()?;
    let reported = reported?;
    deliver(args, prepared, &r, &reported, now)?;
    Ok(reported.code)
}

/// Everything checked and read before the run spends any time.
struct Prepared {
    rt: tokio::runtime::Runtime,
    s3: Option<S3>,
    /// The history store, downloaded when in S3; `None` with `--no-history`.
    state: Option<StateFile>,
    publish: Option<Location>,
    config: Config,
    templates: Templates,
    suppressions: Option<Suppressions>,
}

/// Checks the options, reads the config, the templates and the suppressions, and fetches
/// the history store.
fn prepare(args: &RunArgs) -> Result<Prepared> {
    if let Some(url) = &args.after.notify_webhook {
        notify::webhook_host(url).context("`--notify-webhook`")?;
    }
    let publish = parse_location("--publish", args.after.publish.as_deref())?;
    let state_at = match args.history.no_history {
        true => None,
        false => parse_location("--state", Some(&args.history.state))?,
    };
    let rt = load::runtime()?;
    let s3 = [&state_at, &publish]
        .iter()
        .any(|l| l.as_ref().is_some_and(Location::is_s3))
        .then(|| rt.block_on(S3::load(args.source.aws.profile.as_deref())));
    let state = state_at
        .map(|at| rt.block_on(StateFile::open(&at, s3.as_ref())))
        .transpose()
        .context("failed to read the history")?;
    if let Some(status) = state.as_ref().and_then(StateFile::remote_status) {
        progress::line(&format!("history store {status}"));
    }
    Ok(Prepared {
        rt,
        s3,
        state,
        publish,
        config: load::config(args.common.config.as_deref(), args.source.demo)?,
        templates: Templates::new(args.templates.as_deref())?,
        suppressions: args
            .history
            .suppressions
            .as_deref()
            .map(Suppressions::load)
            .transpose()?,
    })
}

fn parse_location(flag: &str, s: Option<&str>) -> Result<Option<Location>> {
    s.map(Location::parse)
        .transpose()
        .with_context(|| format!("`{flag}`"))
}

/// The snapshot and its as-of date; with history, the store opened and what it remembers
/// fed into the snapshot.
fn load(
    args: &RunArgs,
    p: &Prepared,
    now: DateTime<Utc>,
) -> Result<(Snapshot, NaiveDate, Option<Recall>)> {
    let (mut snap, default_as_of) =
        load::snapshot(&args.source, &p.config, now, args.record.as_deref())?;
    let as_of = args.common.as_of.unwrap_or(default_as_of);
    let recall = p
        .state
        .as_ref()
        .map(|state| Recall::open(state.path(), state.name(), &mut snap, &p.config, as_of))
        .transpose()?;
    Ok((snap, as_of, recall))
}

fn analyze_logged(snap: &Snapshot, config: &Config, as_of: NaiveDate) -> Result<Analysis> {
    progress::line(&format!(
        "analyzing {} accounts, {} grants, {} usage rows as of {as_of}",
        snap.accounts.len(),
        snap.grants.len(),
        snap.usage.height()
    ));
    analyze::analyze(snap, config, as_of)
}

/// Stores the run; returns its activation history, read back from the store.
fn record_history(
    args: &RunArgs,
    recall: Recall,
    snap: &Snapshot,
    analysis: &Analysis,
    changes: &history::Changes,
    now: DateTime<Utc>,
) -> Result<Vec<history::ActivationRow>> {
    let opts = RecordOptions {
        keep_weeks: args.history.keep_weeks,
        recorded_at: now,
        pause: args
            .test
            .test_pause_in_history_write_ms
            .map(std::time::Duration::from_millis),
    };
    recall.record(snap, analysis, changes, &opts)
}

/// Marks suppressed findings and says what the suppressions file did.
fn suppress(analysis: &mut Analysis, suppressions: &Suppressions) -> SuppressionReport {
    let r = suppressions.apply(&mut analysis.findings, analysis.as_of);
    progress::line(&format!(
        "suppressions `{}`: {} findings suppressed; {} entries expired, {} expiring within {} days",
        r.file,
        r.suppressed_findings,
        r.expired.len(),
        r.expiring_soon.len(),
        history::suppress::EXPIRING_WITHIN_DAYS
    ));
    for (what, list) in [("expired", &r.expired), ("expires soon", &r.expiring_soon)] {
        for u in list {
            progress::line(&format!(
                "suppression entry {} (owner {}) {what}: {}",
                u.entry.entry, u.entry.owner, u.entry.expires
            ));
        }
    }
    r
}

/// What a run wrote and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The exit code: clean, findings or incomplete.
    pub code: u8,
    /// Names of the files written into the output directory.
    pub written: Vec<String>,
}

/// Writes the reports and decides the exit code.
fn report(r: &Report, out: &Path, templates: &Templates, outputs: &Outputs) -> Result<Reported> {
    let a = r.analysis;
    let written = report::write_all(r, out, templates, outputs)?;
    progress::line(&format!(
        "wrote {} to `{}`: {} findings, exposure ${:.2}",
        written.join(", "),
        out.display(),
        a.findings.len(),
        a.totals.exposure_usd
    ));
    if !a.completeness.complete {
        progress::line(&format!(
            "data is incomplete ({} gaps; rules affected: {}): see summary.json",
            a.completeness.missing.len(),
            a.completeness.affected_rules.join(", ")
        ));
        return Ok(Reported {
            code: exit::INCOMPLETE,
            written,
        });
    }
    let code = match a.count_at_or_above(r.run.fail_on) {
        0 => exit::CLEAN,
        _ => exit::FINDINGS,
    };
    Ok(Reported { code, written })
}

/// Runs the analysis on a snapshot and writes every report into `out`, without history.
pub fn analyze_and_report(
    snap: &Snapshot,
    config: &Config,
    as_of: NaiveDate,
    fail_on: Option<Severity>,
    out: &Path,
    templates: &Templates,
) -> Result<Reported> {
    let analysis = analyze_logged(snap, config, as_of)?;
    let run = RunInfo::new(snap, &analysis, fail_on);
    report(
        &Report::of(&analysis, &run),
        out,
        templates,
        &Outputs::default(),
    )
}

/// After the reports: the history saved, the reports published, the chat notified. Each
/// failure is named; the last one is the error that exits 3 (the reports stay written).
fn deliver(
    args: &RunArgs,
    p: Prepared,
    r: &Report,
    reported: &Reported,
    now: DateTime<Utc>,
) -> Result<()> {
    let kept = || format!("the reports are written in `{}`", args.out.display());
    if let Some(state) = p.state {
        if let Some(gate) = &args.test.test_wait_before_saving_history {
            wait_for(gate)?;
        }
        let run_id = format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        match p
            .rt
            .block_on(state.save(p.s3.as_ref(), &run_id))
            .with_context(|| format!("failed to save the history ({})", kept()))?
        {
            Saved::Local => {}
            Saved::Uploaded { url, etag } => progress::line(&format!(
                "history saved to `{url}`{}",
                etag.map_or(String::new(), |e| format!(" (ETag {e})"))
            )),
        }
    }
    let mut failures = Vec::new();
    if let Some(dest) = &p.publish {
        let written = &reported.written;
        match p.rt.block_on(remote::publish(
            p.s3.as_ref(),
            dest,
            &args.out,
            written,
            r.run.as_of,
        )) {
            Ok(to) => progress::line(&format!(
                "published {} files to {}",
                written.len(),
                to.join(" and ")
            )),
            Err(e) => failures
                .push(anyhow::Error::new(e).context(format!("failed to publish ({})", kept()))),
        }
    }
    if let Some(url) = &args.after.notify_webhook {
        let digest = notify::Digest::new(r);
        if !digest.worth_sending() {
            progress::line("nothing new, resolved or missing: no notification");
        } else {
            match p.rt.block_on(notify::post(
                url,
                &digest.message(args.after.notify_link.as_deref()),
            )) {
                Ok(()) => progress::line(&format!("notified: {}", digest.headline())),
                Err(e) => failures
                    .push(anyhow::Error::new(e).context(format!("failed to notify ({})", kept()))),
            }
        }
    }
    let Some(last) = failures.pop() else {
        return Ok(());
    };
    for e in &failures {
        eprintln!("error: {e:#}");
    }
    Err(last)
}

/// [`crate::cli::TestHooks`]: tests of overlapping runs hold a run here,
/// between its download and its upload of the history, until the test has run another one.
fn wait_for(gate: &Path) -> Result<()> {
    progress::line(&format!(
        "waiting for `{}` before saving the history",
        gate.display()
    ));
    for _ in 0..1200 {
        if gate.exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    bail!("`{}` did not appear within a minute", gate.display())
}
