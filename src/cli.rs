//! Command-line arguments (clap derive structs only).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};

use crate::model::Severity;

#[derive(Debug, Parser)]
#[command(
    name = "entitlement-audit",
    version,
    about = "Audit AWS Marketplace model entitlements (License Manager grants) across an AWS Organization"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Use this instant (RFC 3339) as the run's clock instead of the system clock: the usage
    /// window ends the day before, CloudTrail is searched back from it, and a snapshot records
    /// it as its collection time. For tests and replays against a local endpoint.
    #[arg(long, global = true, value_name = "TIMESTAMP")]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze an organization and write the reports.
    Run(RunArgs),
    /// Write a synthetic organization snapshot of any size.
    Demo(DemoArgs),
    /// Verify the clean-up of a cancelled subscription: grants deleted, no usage and no
    /// private-rate billing after the cut-off. Exit 0 PASS, 1 FAIL, 2 undecided, 3 error.
    VerifyCleanup(VerifyCleanupArgs),
    /// Write the fix plan (fix-plan.json, fix-plan.sh) for an organization, without the
    /// reports: the commands that would close its findings, for a person to review and run.
    Plan(PlanArgs),
    /// List the rules.
    Rules,
    /// Show a rule's documentation.
    Explain {
        /// Rule code, e.g. EA001.
        code: String,
    },
    /// Show the run history kept by `run`.
    History(HistoryArgs),
    /// Read the organization from AWS (read-only) into a snapshot directory.
    Collect(CollectArgs),
    /// Print the least-privilege IAM policy for exactly the operations the collectors call
    /// (plus the S3 statements for `--state` and `--publish` locations in S3, when given).
    IamPolicy(IamPolicyArgs),
    /// Check credentials, organization access, License Manager integration, Cost Explorer
    /// and CloudTrail (with `--cost-source athena` the workgroup and the table, with
    /// `--cost-export s3://...` the export's bucket), and say how to fix what is wrong.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// TOML options file (`team_tag_key`, `cost_source`, `[athena]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The spend source the runs will use (`athena` checks its workgroup and table too).
    #[command(flatten)]
    pub spend: SpendSourceArgs,
    /// The runs' `--cost-export`: an `s3://BUCKET/PREFIX` location is checked listable.
    #[arg(long, value_name = "PATH")]
    pub cost_export: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct IamPolicyArgs {
    /// The `--state` location the scheduled run will use: `s3://BUCKET/KEY` adds read and
    /// write of that object and `s3:ListBucket` on its bucket.
    #[arg(long, value_name = "LOCATION")]
    pub state: Option<String>,
    /// The `--publish` location: `s3://BUCKET/PREFIX` adds writing under that prefix.
    #[arg(long, value_name = "LOCATION")]
    pub publish: Option<String>,
    /// For `--cost-source athena`: the S3 location of the CUR 2.0 / FOCUS table's data (e.g.
    /// `s3://cid-123456789012-data-exports/cur2/`) adds the Athena operations, the Glue
    /// catalog reads and reading that data.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub athena_data: Option<String>,
    /// The `--cost-export s3://BUCKET/PREFIX` location: adds reading the export there.
    #[arg(long, value_name = "s3://BUCKET/PREFIX")]
    pub cost_export: Option<String>,
    /// With `--athena-data`: the query results location (`--athena-output`, or the
    /// workgroup's) adds writing the result file there and reading it back.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", requires = "athena_data")]
    pub athena_output: Option<String>,
    /// The `--member-role` NAME the run will use: adds `sts:AssumeRole` on that role in every
    /// account.
    #[arg(long, value_name = "NAME", conflicts_with = "member")]
    pub member_role: Option<String>,
    /// Print the policy of the member role instead (what each member account's role must
    /// allow), and nothing else.
    #[arg(long, conflicts_with_all = ["state", "publish", "athena_data", "cost_export"])]
    pub member: bool,
}

/// How to reach AWS (credentials come from the default chain: environment, profiles, SSO,
/// web identity, instance roles; endpoints from the standard `AWS_ENDPOINT_URL*` variables).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Named profile of the shared AWS config files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Role to assume (read-only audit role) on top of the loaded credentials.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Days of Cost Explorer usage to read, ending yesterday.
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub days: u32,
    /// Cap on paid Cost Explorer requests ($0.01 each, retries included).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_cost_explorer_requests: u64,
    /// Page size for every list call (the service maximum by default; 1 to test paging).
    #[arg(long, value_name = "N")]
    pub page_size: Option<i32>,
    /// Do not read CloudTrail (grant activation times then come from run history only).
    #[arg(long)]
    pub skip_cloudtrail: bool,
    /// Pacing of one service, repeatable: SERVICE=REQUESTS_PER_SECOND[/IN_FLIGHT], SERVICE one
    /// of organizations, license-manager, cost-explorer, cloudtrail. Defaults: 5/4, 5/4, 2/1,
    /// 1/1 (gentle on the quotas the organization's own tooling shares).
    #[arg(long, value_name = "SERVICE=RATE[/N]")]
    pub pace: Vec<String>,
    /// Whose account tags to read (one `ListTagsForResource` call each): `needed`, the accounts
    /// with Marketplace spend (or named by `--cost-export`), every account when Cost Explorer's
    /// answer is incomplete; or `all`, so that findings on accounts without spend carry the
    /// team of their tag too.
    #[arg(long, value_name = "WHICH", default_value = "needed", value_parser = ["needed", "all"])]
    pub account_tags: String,
    /// Read every ACTIVE member account through this role (`arn:aws:iam::<id>:role/NAME`,
    /// read-only: `iam-policy --member`, docs/members.md): its Bedrock invocation metrics,
    /// its own grant activations and its own Marketplace agreements.
    #[arg(long, value_name = "NAME")]
    pub member_role: Option<String>,
    /// Member accounts read at once (each call is also paced: `--pace sts=`, `cloudwatch=`,
    /// `member-cloudtrail=`, `member-agreements=`).
    #[arg(long, value_name = "N", default_value_t = 8, requires = "member_role")]
    pub member_concurrency: usize,
    /// A region whose invocation metrics are read, repeatable (default: the config's
    /// `[members] regions`, else the regions the usage types name and us-east-1).
    #[arg(long, value_name = "REGION", requires = "member_role")]
    pub member_region: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Snapshot directory to write.
    #[arg(long, value_name = "SNAPSHOT_DIR")]
    pub out: PathBuf,
    /// TOML options file (for `team_tag_key`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Also keep every raw response of the collection in this new (or empty) directory,
    /// scrubbed of ids, names, e-mails and tag values, with a manifest of the calls (for
    /// replaying the organization's shapes in tests; docs/collect.md).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
}

/// Where the organization comes from: the demo, a snapshot, or (neither given) AWS itself.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Use the built-in demo organization.
    #[arg(long, conflicts_with = "snapshot")]
    pub demo: bool,
    /// Read a snapshot directory (from `collect` or `demo`).
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Read spend from a CUR 2.0 or FOCUS cost export (Parquet, CSV or gzip CSV: a file or an
    /// export's directory tree, or `s3://BUCKET/PREFIX`, a Data Exports location of which only
    /// the billing periods of the `--days` window are read) instead of the snapshot's Cost
    /// Explorer usage.
    #[arg(long, value_name = "PATH")]
    pub cost_export: Option<PathBuf>,
    #[command(flatten)]
    pub spend: SpendSourceArgs,
    /// Live collection options (used when neither `--demo` nor `--snapshot` is given).
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--cost-source` and the Athena options (`run`, `plan`, `verify-cleanup`, `doctor`).
#[derive(Debug, Clone, Default, Args)]
pub struct SpendSourceArgs {
    /// Where the spend comes from: `cost-explorer` (the live collection's queries, the
    /// snapshot's or the demo's usage) or `athena`, one query over a CUR 2.0 / FOCUS table for
    /// the window `--days` ending yesterday (docs/cost-sources.md). Default: the config's
    /// `cost_source`.
    #[arg(long, value_name = "SOURCE", value_parser = ["cost-explorer", "athena"], conflicts_with = "cost_export")]
    pub cost_source: Option<String>,
    #[command(flatten)]
    pub athena: AthenaArgs,
}

/// The Athena table of `--cost-source athena`; each overrides the config's `[athena]`.
#[derive(Debug, Clone, Default, Args)]
pub struct AthenaArgs {
    /// Athena workgroup (default: the caller's default, `primary`).
    #[arg(long, value_name = "NAME")]
    pub athena_workgroup: Option<String>,
    /// Glue database of the table (default `cid_data_export`).
    #[arg(long, value_name = "NAME")]
    pub athena_database: Option<String>,
    /// The CUR 2.0 or FOCUS table (default `cur2`).
    #[arg(long, value_name = "NAME")]
    pub athena_table: Option<String>,
    /// Query results location, when the workgroup sets none.
    #[arg(long, value_name = "s3://BUCKET/PREFIX/")]
    pub athena_output: Option<String>,
    /// The table's format.
    #[arg(long, value_name = "FORMAT", value_parser = ["cur2", "focus"])]
    pub athena_format: Option<String>,
    /// Refuse to query unless the workgroup cancels queries scanning more than this many GB
    /// (its BytesScannedCutoffPerQuery; Athena gives no estimate before a query runs).
    #[arg(long, value_name = "GB")]
    pub max_athena_scan_gb: Option<f64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Directory for the reports.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also keep every raw response of the live collection in this new (or empty) directory,
    /// scrubbed (see `collect --record`). Not with `--demo` or `--snapshot`.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["demo", "snapshot"])]
    pub record: Option<PathBuf>,
    /// Report templates: a file here replaces the built-in of the same name (report.html,
    /// report.css, report.js, summary.md).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Do not write `report.xlsx` (the CSV files hold the same tables).
    #[arg(long)]
    pub no_xlsx: bool,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub after: AfterRunArgs,
    #[command(flatten)]
    pub history: HistoryOptions,
    #[command(flatten)]
    pub test: TestHooks,
}

/// The run history and the suppressions (`run` only).
#[derive(Debug, Args)]
pub struct HistoryOptions {
    /// History store (SQLite), created on first use: a path, or `s3://BUCKET/KEY`
    /// (downloaded before the run, uploaded after it unless another run wrote it meanwhile).
    #[arg(long, value_name = "PATH|s3://BUCKET/KEY", default_value = crate::history::DEFAULT_STATE)]
    pub state: String,
    /// Neither read nor write the history store (no changes, no activation history).
    #[arg(long, conflicts_with_all = ["state", "keep_weeks"])]
    pub no_history: bool,
    /// Prune runs more than this many weeks older than the newest run.
    #[arg(long, value_name = "N", default_value_t = crate::history::DEFAULT_KEEP_WEEKS)]
    pub keep_weeks: u32,
    /// TOML file of accepted findings (rule, account, product or grant patterns with a
    /// reason, an owner and an expiry date).
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
}

/// Switches for the tests only, all in this one place and hidden from `--help`: the tests of
/// overlapping scheduled runs use them to hold a run at a chosen point.
#[derive(Debug, Default, Args)]
pub struct TestHooks {
    /// Sleep this long inside the history write transaction.
    #[arg(long, value_name = "MS", hide = true)]
    pub test_pause_in_history_write_ms: Option<u64>,
    /// Before saving the history, wait (a minute at most) until this file exists.
    #[arg(long, value_name = "FILE", hide = true)]
    pub test_wait_before_saving_history: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History store (SQLite): a path, or `s3://BUCKET/KEY` (read from a downloaded copy).
    #[arg(
        long,
        value_name = "PATH|s3://BUCKET/KEY",
        default_value = crate::history::DEFAULT_STATE,
        global = true
    )]
    pub state: String,
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// List the stored runs.
    Runs,
    /// Timeline of an account (12-digit id) or a grant (ARN): events, status changes between
    /// runs, findings.
    Show {
        /// Account id or grant ARN.
        target: String,
    },
}

/// What happens once the reports are written (`run` only).
#[derive(Debug, Args)]
pub struct AfterRunArgs {
    /// Copy the reports to `s3://BUCKET/PREFIX` (or a directory), under `YYYY-MM-DD/` (the
    /// as-of date) and `latest/`.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub publish: Option<String>,
    /// Post a Slack-compatible message to this incoming webhook when findings are new or
    /// resolved, or data is missing (a failed post exits 3; the reports stay written).
    #[arg(
        long,
        value_name = "URL",
        env = "ENTITLEMENT_AUDIT_WEBHOOK_URL",
        hide_env_values = true
    )]
    pub notify_webhook: Option<String>,
    /// A link to end the message with (the job's page, the published report).
    #[arg(long, value_name = "URL", requires = "notify_webhook")]
    pub notify_link: Option<String>,
}

/// Options shared by the commands that analyze.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// TOML options file (the demo uses examples/config.toml when none is given).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or higher: none, info, low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", default_value = "none", value_parser = parse_fail_on)]
    pub fail_on: std::option::Option<Severity>,
    /// Report date (default: the last day of usage read: the demo's 2026-10-31 for --demo,
    /// the snapshot's last day for --snapshot, yesterday for a live run).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Directory for fix-plan.json and fix-plan.sh.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// TOML options file (the demo uses examples/config.toml when none is given).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report date (default as for `run`).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["product", "license_arn"])))]
pub struct VerifyCleanupArgs {
    /// The product whose subscription was cancelled (license product name or usage service
    /// name).
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// The cancelled license.
    #[arg(long, value_name = "ARN")]
    pub license_arn: Option<String>,
    /// Cut-off day (default: the license's end).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub cancelled_on: Option<NaiveDate>,
    /// Days after the cut-off before usage fails the check (default: the config's
    /// `cancellation_grace_days`).
    #[arg(long, value_name = "N")]
    pub grace_days: Option<u32>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Directory for `cleanup_verification.csv` and `cleanup_verification.xlsx`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Do not write `cleanup_verification.xlsx`.
    #[arg(long)]
    pub no_xlsx: bool,
    /// TOML options file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Last day of data to look at (default: the data's last day).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 40)]
    pub accounts: usize,
    #[arg(long, default_value_t = 3)]
    pub products: usize,
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Percentage of the generated accounts that spend at all (the named ones always do).
    #[arg(long, value_name = "PERCENT", default_value_t = 100)]
    pub spending_percent: u32,
    /// Snapshot directory to write.
    #[arg(long, value_name = "SNAPSHOT_DIR")]
    pub out: PathBuf,
}

/// `--fail-on`: a severity (any case), or `none` (findings never fail the run). The type is
/// spelled `std::option::Option` above so that clap takes `none` as a value, not as absence.
fn parse_fail_on(s: &str) -> Result<Option<Severity>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    s.parse::<Severity>()
        .map(Some)
        .map_err(|_| format!("not one of none, {}", Severity::KNOWN.join(", ")))
}
