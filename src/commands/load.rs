//! What the commands share: the config, the organization from its source (the demo, a
//! snapshot, AWS, with a cost export's usage), and the async runtime.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::cli::{AwsArgs, SourceArgs, SpendSourceArgs};
use crate::config::{AthenaFile, Config, CostSource};
use crate::inputs::athena::AthenaOptions;
use crate::inputs::{athena, collect, cost_export, demo};
use crate::progress;
use crate::snapshot::{self, Snapshot};

/// The config of `--config`, or the demo's own with `--demo`, or the defaults.
pub fn config(path: Option<&Path>, demo: bool) -> Result<Config> {
    match path {
        Some(path) => Config::load(path),
        None if demo => Config::parse(demo::CONFIG).context("built-in demo config"),
        None => Ok(Config::default()),
    }
}

/// The organization (the demo, a snapshot, or AWS itself) with its last day of data; a cost
/// export, when given, replaces its usage table.
pub fn snapshot(
    source: &SourceArgs,
    config: &Config,
    now: DateTime<Utc>,
    record: Option<&Path>,
) -> Result<(Snapshot, NaiveDate)> {
    let athena_opts = athena_options(source, config)?;
    // Read first: a live collection reads the tags of the accounts the export names.
    let from_athena = match &athena_opts {
        Some(a) => Some(query_athena(source, config, a, now)?),
        None => None,
    };
    let export = match &source.cost_export {
        Some(path) => {
            progress::line(&format!("reading cost export `{}`", path.display()));
            let loaded = match path.to_str().filter(|p| p.starts_with("s3://")) {
                Some(url) => read_s3_export(url, source, config, now)?,
                None => cost_export::read(path, &config.team_tag_key)?,
            };
            for note in &loaded.notes {
                progress::line(note);
            }
            progress::line(&format!(
                "{} daily usage rows of Marketplace Bedrock spend from {} files",
                loaded.usage.height(),
                loaded.files.len()
            ));
            Some((path, loaded))
        }
        None => None,
    };
    let mut snap = if source.demo {
        progress::line("building the demo organization");
        demo::builtin()
    } else if let Some(dir) = &source.snapshot {
        progress::line(&format!("reading snapshot `{}`", dir.display()));
        progress::timed("read snapshot", || snapshot::read(dir))?
    } else {
        // The usage read above replaces the collection's: Cost Explorer's spend queries
        // ($0.01 a page) would be thrown away, so they are not sent, and the accounts whose
        // tags are needed are the ones that usage names.
        let (named, usage_from) = match (&export, &athena_opts, &from_athena) {
            (Some((path, loaded)), _, _) => (
                accounts_named(&loaded.usage)?,
                collect::UsageFrom::Elsewhere(format!("the cost export `{}`", path.display())),
            ),
            (None, Some(opts), Some(got)) => (
                match &got.usage {
                    Some(u) => accounts_named(u)?,
                    // The query gave nothing: no spend, so no account needs a team (the run
                    // is incomplete and exits 2 anyway).
                    None => BTreeSet::new(),
                },
                collect::UsageFrom::Elsewhere(format!(
                    "the Athena query over `{}.{}`",
                    opts.database, opts.table
                )),
            ),
            _ => (BTreeSet::new(), collect::UsageFrom::CostExplorer),
        };
        collect_live(&source.aws, config, now, record, named, usage_from)?
    };
    if let Some((path, loaded)) = export {
        loaded.replace_usage(&mut snap, path);
    }
    if let (Some(opts), Some(got)) = (athena_opts, from_athena) {
        athena::replace_usage(&mut snap, &opts, got.usage, got.query, got.gaps);
    }
    let end = snap.manifest.period_end;
    Ok((snap, end))
}

/// The Athena options when the spend comes from Athena (`--cost-source athena` or the config's
/// `cost_source`): the config's `[athena]` with the command line's `--athena-*` over it, all
/// checked before anything is read.
pub fn athena_options(source: &SourceArgs, config: &Config) -> Result<Option<AthenaOptions>> {
    athena_options_of(&source.spend, source.cost_export.is_some(), config)
}

/// [`athena_options`] from the spend source's options (`doctor` has no [`SourceArgs`]);
/// `cost_export`: whether `--cost-export` is given.
pub fn athena_options_of(
    spend: &SpendSourceArgs,
    cost_export: bool,
    config: &Config,
) -> Result<Option<AthenaOptions>> {
    let a = &spend.athena;
    let cost_source = match spend.cost_source.as_deref() {
        Some(s) => s.parse::<CostSource>().map_err(anyhow::Error::msg)?,
        None if cost_export => CostSource::CostExplorer,
        None => config.cost_source,
    };
    let flags = a.athena_workgroup.is_some()
        || a.athena_database.is_some()
        || a.athena_table.is_some()
        || a.athena_output.is_some()
        || a.athena_format.is_some()
        || a.max_athena_scan_gb.is_some();
    if cost_source != CostSource::Athena {
        anyhow::ensure!(
            !flags,
            "the `--athena-*` options need `--cost-source athena`"
        );
        return Ok(None);
    }
    let c = &config.athena;
    let file = AthenaFile {
        workgroup: a.athena_workgroup.clone().or_else(|| c.workgroup.clone()),
        database: a
            .athena_database
            .clone()
            .unwrap_or_else(|| c.database.clone()),
        table: a.athena_table.clone().unwrap_or_else(|| c.table.clone()),
        output: a.athena_output.clone().or_else(|| c.output.clone()),
        format: a
            .athena_format
            .clone()
            .unwrap_or_else(|| c.format.name().to_string()),
        max_scan_gb: a.max_athena_scan_gb.or(c.max_scan_gb),
        reuse_minutes: c.reuse_minutes,
    };
    let mut problems = Vec::new();
    let opts = file.options(Some(&config.team_tag_key), "Athena", &mut problems);
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(Some(opts))
}

/// A cost export in S3: the billing periods of the live window (`--days` ending the day before
/// `--now`), as their manifests list them, read like a local export.
fn read_s3_export(
    url: &str,
    source: &SourceArgs,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<cost_export::Loaded> {
    use crate::deliver::remote::{Location, S3};
    use crate::inputs::export_s3;
    let Location::S3(at) = Location::parse(url).context("`--cost-export`")? else {
        unreachable!("an s3:// location");
    };
    let co = collect_options(&source.aws, config, now)?;
    let periods = athena::sql::billing_periods(co.period_start, co.period_end);
    let rt = runtime()?;
    let s3 = rt.block_on(S3::load(source.aws.profile.as_deref()));
    let fetched = rt.block_on(export_s3::fetch(
        s3.client(),
        &at,
        &periods,
        export_s3::Patience::default(),
    ))?;
    for (period, execution, files) in &fetched.periods {
        progress::line(&format!(
            "billing period {period}: {files} files{}",
            execution
                .as_deref()
                .map(|e| format!(" (delivery `{e}`)"))
                .unwrap_or_default()
        ));
    }
    if !fetched.empty.is_empty() {
        progress::line(&format!(
            "no data in `{url}` for {}",
            fetched.empty.join(", ")
        ));
    }
    for gap in &fetched.gaps {
        progress::line(&format!(
            "usage not read from the export: `{}` {}: {}",
            gap.operation, gap.error_code, gap.message
        ));
    }
    // Periods S3 would not give, or still being written, are gaps: the rest is read and the
    // run reports, incomplete (exit 2).
    if fetched.periods.is_empty() {
        anyhow::ensure!(
            !fetched.gaps.is_empty(),
            "`{url}` has no data for the window's billing periods ({})",
            periods.join(", ")
        );
        return Ok(cost_export::Loaded::empty(fetched.gaps));
    }
    let mut loaded = cost_export::read(fetched.dir.path(), &config.team_tag_key)?;
    loaded.gaps = fetched.gaps;
    Ok(loaded)
}

/// Runs the Athena query for the live window (`--days` ending the day before `--now`).
fn query_athena(
    source: &SourceArgs,
    config: &Config,
    opts: &AthenaOptions,
    now: DateTime<Utc>,
) -> Result<collect::AthenaUsage> {
    let co = collect_options(&source.aws, config, now)?;
    progress::line(&format!(
        "querying Athena `{}.{}` ({}) for usage {} to {}",
        opts.database,
        opts.table,
        opts.format.name(),
        co.period_start,
        co.period_end
    ));
    let status = |line: &str| progress::status(line);
    let got = runtime()?.block_on(collect::athena_usage(&co, opts, now, &status))?;
    if let Some(q) = &got.query {
        progress::line(&q.summary());
        if !q.reads_iam_principal {
            progress::line(
                "the table has no `line_item_iam_principal`: callers unknown, spend stays with the billed account",
            );
        }
    }
    for gap in &got.gaps {
        progress::line(&format!(
            "usage not read from Athena: `{}` {}: {}",
            gap.operation, gap.error_code, gap.message
        ));
    }
    Ok(got)
}

/// The billed accounts and the callers of a usage table: the accounts that need a team.
fn accounts_named(usage: &polars::prelude::DataFrame) -> Result<BTreeSet<String>> {
    use crate::model::usage::{ACCOUNT_ID, CALLER_ACCOUNT_ID};
    let mut out = BTreeSet::new();
    for column in [ACCOUNT_ID, CALLER_ACCOUNT_ID] {
        let values = usage.column(column)?.str()?;
        for i in 0..values.len() {
            let id = values.get(i).unwrap_or_default();
            if !id.is_empty() && !out.contains(id) {
                out.insert(id.to_string());
            }
        }
    }
    Ok(out)
}

/// Collection options from the command line and the config.
pub fn collect_options(
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
    o.account_tags = match aws.account_tags.as_str() {
        "all" => collect::AccountTags::All,
        _ => collect::AccountTags::Needed,
    };
    o.team_tag_key = config.team_tag_key.clone();
    o.member_role = aws.member_role.clone();
    o.member_concurrency = aws.member_concurrency.max(1);
    o.member_regions = if aws.member_region.is_empty() {
        config.member_regions.clone()
    } else {
        aws.member_region.clone()
    };
    if let Some(bad) = o
        .member_regions
        .iter()
        .find(|r| !crate::config::is_region(r))
    {
        anyhow::bail!("`--member-region {bad}` is not a region name");
    }
    if let Some(role) = &o.member_role {
        let ok = !role.is_empty()
            && role.len() <= 64
            && role
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
        anyhow::ensure!(ok, "`--member-role {role}` is not an IAM role name");
    }
    Ok(o)
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Reads the organization from AWS, read-only; with `record`, keeps its responses there.
/// `tags_also_for`: accounts whose tags are needed whatever Cost Explorer says; `usage_from`:
/// whether Cost Explorer's spend queries are sent at all.
pub fn collect_live(
    aws: &AwsArgs,
    config: &Config,
    now: DateTime<Utc>,
    record: Option<&Path>,
    tags_also_for: BTreeSet<String>,
    usage_from: collect::UsageFrom,
) -> Result<Snapshot> {
    let mut opts = collect_options(aws, config, now)?;
    opts.record = record.map(Path::to_path_buf);
    opts.tags_also_for = tags_also_for;
    progress::line(&match &usage_from {
        collect::UsageFrom::CostExplorer => format!(
            "collecting from AWS: usage {} to {}, at most {} Cost Explorer requests",
            opts.period_start, opts.period_end, opts.max_cost_explorer_requests
        ),
        collect::UsageFrom::Elsewhere(source) => format!(
            "collecting from AWS: usage {} to {} from {source}, no Cost Explorer requests",
            opts.period_start, opts.period_end
        ),
    });
    opts.usage_from = usage_from;
    let progress = |line: &str| progress::status(line);
    let snap = runtime()?.block_on(collect::collect(&opts, now, &progress))?;
    progress::line(&format!(
        "collected {} accounts, {} licenses, {} grants, {} usage rows; {} Cost Explorer requests (${:.2}); {} gaps",
        snap.accounts.len(),
        snap.licenses.len(),
        snap.grants.len(),
        snap.usage.height(),
        snap.manifest.cost_explorer_requests,
        snap.manifest.cost_explorer_requests as f64 * collect::COST_EXPLORER_REQUEST_USD,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::usage::{UsageBuilder, UsageRow};

    fn row(account: &str, caller: Option<&str>) -> UsageRow {
        UsageRow {
            date: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            account_id: account.into(),
            product: "Claude 3 Haiku (Amazon Bedrock Edition)".into(),
            usage_type: String::new(),
            cost_usd: 1.0,
            usage_quantity: 1.0,
            public_cost_usd: None,
            team_tag: None,
            caller_account_id: caller.map(str::to_string),
        }
    }

    /// aws-apis.md (7), UNCONFIRMED: an export may bill the invoking member or the subscriber;
    /// with the subscriber billed, the callers (from `line_item_iam_principal`) are the
    /// members whose tags the collection must read. Both forms name every account involved.
    #[test]
    fn an_export_names_its_billed_accounts_and_its_callers() {
        let mut b = UsageBuilder::with_capacity(4);
        // The member billed itself, no caller column value.
        b.push(row("111122223333", None));
        // The subscriber billed, the members as callers (one twice, one empty).
        b.push(row("123456789012", Some("444455556666")));
        b.push(row("123456789012", Some("444455556666")));
        b.push(row("123456789012", Some("")));
        let named = accounts_named(&b.finish()).unwrap();
        assert_eq!(
            named,
            BTreeSet::from(["111122223333", "123456789012", "444455556666"].map(String::from))
        );
    }
}
