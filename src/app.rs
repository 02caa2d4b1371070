//! The commands: load the inputs, run the pipeline, write the reports, decide the exit code.
//! `main.rs` only parses arguments, reads the clock once and maps errors to exit code 3.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::analyze::cleanup::{self, Target, Verdict};
use crate::analyze::{self, rules::RULES, Analysis};
use crate::cli::{
    AfterRunArgs, AwsArgs, CollectArgs, DemoArgs, HistoryArgs, HistoryCommand, HistoryOptions,
    IamPolicyArgs, RunArgs, SourceArgs, VerifyCleanupArgs,
};
use crate::config::Config;
use crate::deliver::remote::{Location, Saved, StateFile, S3};
use crate::deliver::{notify, remote};
use crate::history::{self, observe, RunHistory, RunRecord, Store, Suppressions};
use crate::inputs::{collect, cost_export, demo};
use crate::model::Severity;
use crate::progress;
use crate::report::{self, RunInfo};
use crate::snapshot::{self, Snapshot};

/// Exit codes, as documented in the README.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const INCOMPLETE: u8 = 2;
    pub const ERROR: u8 = 3;
}

/// The demo's own config: examples/config.toml.
pub const DEMO_CONFIG: &str = include_str!("../examples/config.toml");

/// Parses `--fail-on`: a severity, or `none` (never fail on findings).
pub fn parse_fail_on(s: &str) -> Result<Option<Severity>> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let sev = Severity::parse(&s.to_ascii_lowercase());
    if !sev.is_known() {
        bail!(
            "`--fail-on {s}` is not one of none, {}",
            Severity::KNOWN.join(", ")
        );
    }
    Ok(Some(sev))
}

fn load_config(path: Option<&Path>, demo: bool) -> Result<Config> {
    match path {
        Some(path) => Config::load(path),
        None if demo => Config::parse(DEMO_CONFIG).context("built-in demo config"),
        None => Ok(Config::default()),
    }
}

/// The organization (the demo, a snapshot, or AWS itself) with its last day of data; a cost
/// export, when given, replaces its usage table.
fn load_snapshot(
    source: &SourceArgs,
    config: &Config,
    now: DateTime<Utc>,
    record: Option<&Path>,
) -> Result<(Snapshot, NaiveDate)> {
    let mut snap = if source.demo {
        progress::line("building the demo organization");
        demo::builtin()
    } else if let Some(dir) = &source.snapshot {
        progress::line(&format!("reading snapshot `{}`", dir.display()));
        progress::timed("read snapshot", || snapshot::read(dir))?
    } else {
        collect_live(&source.aws, config, now, record)?
    };
    if let Some(path) = &source.cost_export {
        progress::line(&format!("reading cost export `{}`", path.display()));
        let loaded = cost_export::read(path, &config.team_tag_key)?;
        for note in &loaded.notes {
            progress::line(note);
        }
        progress::line(&format!(
            "{} daily usage rows of Marketplace Bedrock spend from {} files",
            loaded.usage.height(),
            loaded.files.len()
        ));
        loaded.replace_usage(&mut snap, path);
    }
    let end = snap.manifest.period_end;
    Ok((snap, end))
}

/// `run`: analyze the demo, a snapshot or the live organization, compare with the run
/// history, write every report and record the run, then notify. Returns the exit code.
pub fn run(args: &RunArgs, now: DateTime<Utc>) -> Result<u8> {
    let fail_on = parse_fail_on(&args.common.fail_on)?;
    let publish = check_after_run(&args.after)?;
    let state_at = (!args.history.no_history)
        .then(|| Location::parse(&args.history.state))
        .transpose()
        .context("`--state`")?;
    let rt = runtime()?;
    let s3 = s3_client(
        &rt,
        args.source.aws.profile.as_deref(),
        &[&state_at, &publish],
    );
    let state = state_at
        .map(|at| rt.block_on(StateFile::open(&at, s3.as_ref())))
        .transpose()
        .context("failed to read the history")?;
    let config = load_config(args.common.config.as_deref(), args.source.demo)?;
    let mut opts = report::Options::new(args.templates.as_deref())?;
    let (snap, default_as_of) = load_snapshot(&args.source, &config, now, args.record.as_deref())?;
    let as_of = args.common.as_of.unwrap_or(default_as_of);
    let suppressions = args
        .history
        .suppressions
        .as_deref()
        .map(Suppressions::load)
        .transpose()?;
    let mut snap = snap;
    let analysis = if args.history.no_history {
        let mut a = analyze_logged(&snap, &config, as_of)?;
        suppress(&mut a, suppressions.as_ref(), as_of);
        a
    } else {
        let state = state.as_ref().expect("a store unless --no-history");
        if let Some(status) = state.remote_status() {
            progress::line(&format!("history store {status}"));
        }
        analyze_with_history(
            &mut snap,
            &config,
            as_of,
            &args.history,
            state,
            suppressions,
            now,
        )?
    };
    opts.changes = analysis
        .history
        .as_ref()
        .map(|h| h.changes.view(&analysis.findings));
    let reported = report_and_exit(&analysis, &snap, as_of, fail_on, &args.out, &opts)?;
    let kept = || format!("the reports are written in `{}`", args.out.display());
    if let Some(state) = state {
        if let Some(gate) = &args.history.test_wait_before_saving_history {
            wait_for(gate)?;
        }
        let run_id = format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        match rt
            .block_on(state.save(s3.as_ref(), &run_id))
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
    if let Some(dest) = &publish {
        match rt.block_on(remote::publish(
            s3.as_ref(),
            dest,
            &args.out,
            &reported.written,
            as_of,
        )) {
            Ok(to) => progress::line(&format!(
                "published {} files to {}",
                reported.written.len(),
                to.join(" and ")
            )),
            Err(e) => failures
                .push(anyhow::Error::new(e).context(format!("failed to publish ({})", kept()))),
        }
    }
    if let Some(url) = &args.after.notify_webhook {
        if let Err(e) = notify_run(&rt, url, args.after.notify_link.as_deref(), &args.out) {
            failures.push(e.context(format!("failed to notify ({})", kept())));
        }
    }
    // Each failure is named; the last one is the error that exits 3.
    let Some(last) = failures.pop() else {
        return Ok(reported.code);
    };
    for e in &failures {
        eprintln!("error: {e:#}");
    }
    Err(last)
}

/// Tests of overlapping runs hold a run here, between its download and its upload of the
/// history, until the test has run another one.
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

/// Checks the after-run options before the run spends any time; returns where to publish.
fn check_after_run(after: &AfterRunArgs) -> Result<Option<Location>> {
    if let Some(url) = &after.notify_webhook {
        notify::webhook_host(url).context("`--notify-webhook`")?;
    }
    after
        .publish
        .as_deref()
        .map(Location::parse)
        .transpose()
        .context("`--publish`")
}

/// An S3 client when any of `locations` is in S3.
fn s3_client(
    rt: &tokio::runtime::Runtime,
    profile: Option<&str>,
    locations: &[&Option<Location>],
) -> Option<S3> {
    locations
        .iter()
        .any(|l| l.as_ref().is_some_and(Location::is_s3))
        .then(|| rt.block_on(S3::load(profile)))
}

/// Posts the run's digest to the webhook when something changed or is missing.
fn notify_run(
    rt: &tokio::runtime::Runtime,
    url: &str,
    link: Option<&str>,
    out: &Path,
) -> Result<()> {
    let digest = notify::digest(out)?;
    if !digest.worth_sending() {
        progress::line("nothing new, resolved or missing: no notification");
        return Ok(());
    }
    rt.block_on(notify::post(url, &digest.message(link)))?;
    progress::line(&format!("notified: {}", digest.headline()));
    Ok(())
}

/// `verify-cleanup`: print the verdict with its evidence on `out`, write
/// `cleanup_verification.csv`; exit 0 on PASS, 1 on FAIL, 2 when undecided.
pub fn verify_cleanup(
    args: &VerifyCleanupArgs,
    now: DateTime<Utc>,
    mut out: impl Write,
) -> Result<u8> {
    let config = load_config(args.config.as_deref(), args.source.demo)?;
    let (snap, default_as_of) = load_snapshot(&args.source, &config, now, None)?;
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
    let cx = analyze::context::Context::new(&snap, &config, as_of);
    let v = cleanup::verify(&cx, &request)?;
    for line in v.lines() {
        writeln!(out, "{line}")?;
    }
    fs::create_dir_all(&args.out)
        .with_context(|| format!("failed to create `{}`", args.out.display()))?;
    let path = args.out.join(CLEANUP_FILE);
    let file =
        File::create(&path).with_context(|| format!("failed to create `{}`", path.display()))?;
    report::csv::write(BufWriter::new(file), report::CLEANUP_COLUMNS, &v.rows())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    progress::line(&format!("wrote `{}`", path.display()));
    Ok(match v.verdict() {
        Verdict::Pass => exit::CLEAN,
        Verdict::Fail => exit::FINDINGS,
        Verdict::Incomplete => exit::INCOMPLETE,
    })
}

/// The file `verify-cleanup` writes.
pub const CLEANUP_FILE: &str = "cleanup_verification.csv";

/// Reads the history before the analysis (stored events, transitions since the previous
/// run), and records the run after it, with its changes and suppressions applied.
fn analyze_with_history(
    snap: &mut Snapshot,
    config: &Config,
    as_of: NaiveDate,
    opts: &HistoryOptions,
    state: &StateFile,
    suppressions: Option<Suppressions>,
    now: DateTime<Utc>,
) -> Result<Analysis> {
    let mut store = Store::open(state.path())?;
    store.check_organization(&snap.organization.id)?;
    let prev = store.previous(as_of)?;
    let remembered = observe::feed(snap, store.events_until(as_of)?);
    let observed = match &prev {
        Some(p) => observe::transitions(snap, config, as_of, p),
        None => Vec::new(),
    };
    observe::feed(snap, observed.iter().map(|o| o.event.clone()));
    let mut analysis = analyze_logged(snap, config, as_of)?;
    let changes = history::changes::compare(
        &mut analysis.findings,
        prev.as_ref(),
        as_of,
        &analysis.completeness.affected_rules,
    );
    suppress(&mut analysis, suppressions.as_ref(), as_of);
    let record = RunRecord {
        as_of,
        organization_id: &snap.organization.id,
        recorded_at: now,
        tool_version: env!("CARGO_PKG_VERSION"),
        source: &snap.manifest.source,
        collected_at: snap.manifest.collected_at,
        complete: snap.is_complete(),
        incomplete_tables: &analysis.completeness.incomplete_tables,
        grants: &analysis.grants,
        events: &snap.grant_events,
        observed: &observed,
        findings: &analysis.findings,
        new_findings: changes.new,
        resolved_findings: changes.resolved,
    };
    let pause = opts
        .test_pause_in_history_write_ms
        .map(std::time::Duration::from_millis);
    store.record(&record, opts.keep_weeks, pause)?;
    progress::line(&format!(
        "history `{}`: {}; {} new, {} persisting, {} resolved; {} events remembered, {} changes observed between runs",
        state.name(),
        prev.as_ref()
            .map_or("first run".to_string(), |p| format!("previous run {}", p.as_of)),
        changes.new,
        changes.persisting,
        changes.resolved,
        remembered,
        observed.len()
    ));
    let activation = history::activation::history(&store, as_of)?;
    analysis.history = Some(RunHistory {
        changes,
        activation,
    });
    Ok(analysis)
}

/// Marks suppressed findings and says what the suppressions file did.
fn suppress(analysis: &mut Analysis, suppressions: Option<&Suppressions>, as_of: NaiveDate) {
    let Some(s) = suppressions else { return };
    let r = s.apply(&mut analysis.findings, as_of);
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
    analysis.suppressions = Some(r);
}

/// `history runs` / `history show TARGET`.
pub fn history(args: &HistoryArgs, out: impl Write) -> Result<u8> {
    let at = Location::parse(&args.state).context("`--state`")?;
    let rt = runtime()?;
    let s3 = s3_client(&rt, None, &[&Some(at.clone())]);
    let state = rt
        .block_on(StateFile::open(&at, s3.as_ref()))
        .context("failed to read the history")?;
    if at.is_s3() && !state.path().exists() {
        bail!("no history store at `{at}`: `entitlement-audit run` creates it");
    }
    let store = Store::open_existing(state.path())?;
    match &args.command {
        HistoryCommand::Runs => history::show::runs(&store, out)?,
        HistoryCommand::Show { target } => history::show::show(&store, target, out)?,
    }
    Ok(exit::CLEAN)
}

/// What a run wrote and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The exit code: clean, findings or incomplete.
    pub code: u8,
    /// Names of the files written into the output directory.
    pub written: Vec<String>,
}

/// Runs the analysis on a snapshot and writes the reports into `out` (no history).
pub fn analyze_and_report(
    snap: &Snapshot,
    config: &Config,
    as_of: NaiveDate,
    fail_on: Option<Severity>,
    out: &Path,
    opts: &report::Options,
) -> Result<Reported> {
    let analysis = analyze_logged(snap, config, as_of)?;
    report_and_exit(&analysis, snap, as_of, fail_on, out, opts)
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

/// Writes the reports and decides the exit code.
fn report_and_exit(
    analysis: &Analysis,
    snap: &Snapshot,
    as_of: NaiveDate,
    fail_on: Option<Severity>,
    out: &Path,
    opts: &report::Options,
) -> Result<Reported> {
    let run = RunInfo {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of,
        window_start: analysis.window_start,
        window_end: as_of,
        source: snap.manifest.source.clone(),
        collected_at: snap.manifest.collected_at,
        fail_on: fail_on.clone().unwrap_or(Severity::Other("none".into())),
    };
    let written = report::write_all(analysis, &run, out, opts)?;
    progress::line(&format!(
        "wrote {} to `{}`: {} findings, exposure ${:.2}",
        written.join(", "),
        out.display(),
        analysis.findings.len(),
        analysis.totals.exposure_usd
    ));
    if !analysis.completeness.complete {
        progress::line(&format!(
            "data is incomplete ({} gaps; rules affected: {}): see summary.json",
            analysis.completeness.missing.len(),
            analysis.completeness.affected_rules.join(", ")
        ));
        return Ok(Reported {
            code: exit::INCOMPLETE,
            written,
        });
    }
    let code = match fail_on {
        Some(s) if analysis.count_at_or_above(&s) > 0 => exit::FINDINGS,
        _ => exit::CLEAN,
    };
    Ok(Reported { code, written })
}

/// Collection options from the command line and the config.
fn collect_options(
    aws: &AwsArgs,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<collect::CollectOptions> {
    let mut o = collect::CollectOptions::new(now);
    for spec in &aws.pace {
        o.pace.apply(spec).context("invalid `--pace`")?;
    }
    o.profile = aws.profile.clone();
    o.role_arn = aws.role_arn.clone();
    o.period_start = o.period_end - Duration::days(i64::from(aws.days.max(1)) - 1);
    o.max_cost_explorer_requests = aws.max_cost_explorer_requests;
    o.page_size = aws.page_size;
    o.skip_cloudtrail = aws.skip_cloudtrail;
    o.team_tag_key = config.team_tag_key.clone();
    Ok(o)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Reads the organization from AWS, read-only; with `record`, keeps its responses there.
fn collect_live(
    aws: &AwsArgs,
    config: &Config,
    now: DateTime<Utc>,
    record: Option<&Path>,
) -> Result<Snapshot> {
    let mut opts = collect_options(aws, config, now)?;
    opts.record = record.map(Path::to_path_buf);
    progress::line(&format!(
        "collecting from AWS: usage {} to {}, at most {} Cost Explorer requests",
        opts.period_start, opts.period_end, opts.max_cost_explorer_requests
    ));
    let progress = |line: &str| progress::status(line);
    let snap = runtime()?.block_on(collect::collect(&opts, now, &progress))?;
    progress::line(&format!(
        "collected {} accounts, {} licenses, {} grants, {} usage rows; {} Cost Explorer requests (${:.2}); {} gaps",
        snap.accounts.len(),
        snap.licenses.len(),
        snap.grants.len(),
        snap.usage.height(),
        snap.manifest.cost_explorer_requests,
        snap.manifest.cost_explorer_requests as f64 * 0.01,
        snap.manifest.completeness.len()
    ));
    if let Some(dir) = record {
        progress::line(&format!(
            "recorded the responses, scrubbed, in `{}`",
            dir.display()
        ));
    }
    Ok(snap)
}

/// `collect`: write a snapshot of the live organization. Exit 2 when something could not be
/// read (the snapshot is written anyway, with the gaps in its ledger).
pub fn collect(args: &CollectArgs, now: DateTime<Utc>) -> Result<u8> {
    let config = load_config(args.config.as_deref(), false)?;
    let snap = collect_live(&args.aws, &config, now, args.record.as_deref())?;
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

/// `iam-policy`: the least-privilege policy for the collectors' operations, and for the S3
/// locations a scheduled run keeps its history in and publishes to.
pub fn iam_policy(args: &IamPolicyArgs, mut out: impl Write) -> Result<u8> {
    let parse = |flag: &str, s: &Option<String>| {
        s.as_deref()
            .map(Location::parse)
            .transpose()
            .with_context(|| format!("`{flag}`"))
    };
    let state = parse("--state", &args.state)?;
    let publish = parse("--publish", &args.publish)?;
    let mut policy = collect::iam_policy();
    let s3 = remote::iam_statements(state.as_ref(), publish.as_ref())?;
    if let Some(statements) = policy["Statement"].as_array_mut() {
        statements.extend(s3);
    }
    serde_json::to_writer_pretty(&mut out, &policy)?;
    writeln!(out)?;
    Ok(exit::CLEAN)
}

/// `doctor`: checks the prerequisites; exit 0 when nothing fails, 2 otherwise.
pub fn doctor(aws: &AwsArgs, now: DateTime<Utc>, mut out: impl Write) -> Result<u8> {
    let opts = collect_options(aws, &Config::default(), now)?;
    let checks = runtime()?.block_on(collect::doctor(&opts));
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

/// `demo`: write a synthetic snapshot.
pub fn demo(args: &DemoArgs) -> Result<u8> {
    let params = demo::DemoParams {
        accounts: args.accounts,
        products: args.products,
        days: args.days,
        seed: args.seed,
        ..demo::DemoParams::builtin()
    };
    progress::line(&format!(
        "generating {} accounts, {} products, {} days (seed {})",
        params.accounts, params.products, params.days, params.seed
    ));
    let snap = demo::generate(&params);
    snapshot::write(&snap, &args.out)?;
    progress::line(&format!(
        "wrote snapshot `{}`: {} accounts, {} grants, {} usage rows",
        args.out.display(),
        snap.accounts.len(),
        snap.grants.len(),
        snap.usage.height()
    ));
    Ok(exit::CLEAN)
}

/// `rules`: one line per rule.
pub fn rules(mut out: impl Write) -> Result<u8> {
    for r in RULES {
        writeln!(
            out,
            "{}  {:<28} {:<8} {}",
            r.code(),
            r.name(),
            r.default_severity(),
            r.summary()
        )?;
    }
    Ok(exit::CLEAN)
}

/// `explain CODE`: the rule's documentation.
pub fn explain(code: &str, mut out: impl Write) -> Result<u8> {
    let Some(rule) = analyze::rules::by_code(code) else {
        bail!("no rule `{code}`: `entitlement-audit rules` lists them");
    };
    out.write_all(rule.doc().as_bytes())?;
    Ok(exit::CLEAN)
}
