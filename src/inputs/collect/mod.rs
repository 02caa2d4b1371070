//! Collecting a real organization through the AWS SDKs: Organizations, License Manager,
//! Cost Explorer and CloudTrail, read-only, into an in-memory [`Snapshot`].
//!
//! The only module that knows the AWS SDK (`collect -> snapshot -> analyze -> report`). Each
//! service has its own file converting SDK types to [`crate::model`] types at once; `call`
//! holds the one pacing/pagination/error path they share, `permissions` the one list of
//! operations they may call. A call that fails after retries, or is denied, becomes a
//! completeness ledger entry and the run carries on with the rest.

pub mod athena;
mod call;
pub mod clients;
mod cloudtrail;
mod cost_explorer;
pub mod doctor;
mod doctor_sources;
mod invocations;
pub mod ledger;
mod license_manager;
mod marketplace_agreement;
pub mod members;
mod organizations;
pub mod permissions;
mod price_list;
mod public_offers;
pub mod record;
pub mod retry;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

pub use clients::{load_sdk_config, Clients};
pub use doctor::{doctor, doctor_sources_with, doctor_with, Check, CheckStatus};
pub use doctor_sources::SourceChecks;
pub use permissions::iam_policy;
pub use retry::{BadPace, Pace, PaceOptions, RetryOptions};

use crate::snapshot::{Manifest, Snapshot, Table, TableInfo, FORMAT_VERSION};
use call::Cx;

/// What to collect and how gently. Build with [`CollectOptions::new`] for the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectOptions {
    /// Named profile of the shared config files; default chain when `None`.
    pub profile: Option<String>,
    /// Role to assume on top of the loaded credentials (`--role-arn`).
    pub role_arn: Option<String>,
    /// Session name of the assumed role. Default `entitlement-audit`.
    pub role_session_name: String,
    /// First day of the Cost Explorer window. Default: 90 days ending `period_end`.
    pub period_start: NaiveDate,
    /// Last day (inclusive) of the Cost Explorer window. Default: the day before `now`.
    pub period_end: NaiveDate,
    /// Cost-allocation tag key naming the team. Default `team`.
    pub team_tag_key: String,
    /// Paid Cost Explorer requests allowed per run ($0.01 each, retries count). Default 50.
    pub max_cost_explorer_requests: u64,
    /// Only licenses and grants of this issuer; `None` keeps every issuer.
    /// Default `AWS/Marketplace`.
    pub license_issuer: Option<String>,
    /// Forces a smaller page size than each service's maximum (tests use 1). Default `None`.
    pub page_size: Option<i32>,
    /// How far back CloudTrail is searched. Default 90 (CloudTrail's own limit).
    pub cloudtrail_days: i64,
    /// Skip CloudTrail altogether. Default `false`.
    pub skip_cloudtrail: bool,
    /// Whose account tags to read. Default [`AccountTags::Needed`].
    pub account_tags: AccountTags,
    /// Accounts known from elsewhere to need a team (the billed accounts and callers of the
    /// cost export or Athena query that will replace the usage table): their tags are read
    /// too. Default empty.
    pub tags_also_for: BTreeSet<String>,
    /// Where the usage table comes from. Default [`UsageFrom::CostExplorer`].
    pub usage_from: UsageFrom,
    pub retry: RetryOptions,
    pub pace: PaceOptions,
    /// Keep every response body of the run, scrubbed, in this directory (`--record`; see
    /// [`record`]). Default `None`.
    pub record: Option<PathBuf>,
    /// Role name to assume in every ACTIVE member account (`--member-role`): its invocation
    /// metrics, its own grant changes and its own agreements are read. Default `None`.
    pub member_role: Option<String>,
    /// Member accounts read at once. Default [`members::DEFAULT_CONCURRENCY`].
    pub member_concurrency: usize,
    /// Regions whose invocation metrics are read; empty: the regions the usage types name,
    /// and `us-east-1`. Default empty.
    pub member_regions: Vec<String>,
}

/// Whose tags `ListTagsForResource` reads (one call per account: Organizations has no bulk
/// form). The tags give an account its team, which only spend needs (docs/collect.md,
/// "Account tags").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountTags {
    /// The accounts with Marketplace spend in Cost Explorer, and [`CollectOptions::tags_also_for`];
    /// every account when Cost Explorer's answer is incomplete.
    Needed,
    /// Every account (findings on accounts without spend then carry the team of their tag).
    All,
}

/// Which source supplies the usage table of a live collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageFrom {
    /// Cost Explorer's spend queries (`GetCostAndUsage`, $0.01 a page).
    CostExplorer,
    /// Another source read before the collection, named here (`the Athena query over
    /// `cid_data_export.cur2``, `the cost export `...``): its usage replaces the snapshot's,
    /// so Cost Explorer's spend queries, whose answer would be thrown away, are not sent. The
    /// accounts whose tags are needed are then [`CollectOptions::tags_also_for`] alone (the
    /// other source's billed accounts and callers).
    Elsewhere(String),
}

/// The default Cost Explorer window, in days.
pub const DEFAULT_PERIOD_DAYS: i64 = 90;

/// What one Cost Explorer API request costs, in USD.
pub const COST_EXPLORER_REQUEST_USD: f64 = 0.01;

impl CollectOptions {
    /// The defaults, with the Cost Explorer window ending the day before `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        let period_end = now.date_naive() - Duration::days(1);
        Self {
            profile: None,
            role_arn: None,
            role_session_name: "entitlement-audit".to_string(),
            period_start: period_end - Duration::days(DEFAULT_PERIOD_DAYS - 1),
            period_end,
            team_tag_key: "team".to_string(),
            max_cost_explorer_requests: 50,
            license_issuer: Some("AWS/Marketplace".to_string()),
            page_size: None,
            cloudtrail_days: 90,
            skip_cloudtrail: false,
            account_tags: AccountTags::Needed,
            tags_also_for: BTreeSet::new(),
            usage_from: UsageFrom::CostExplorer,
            retry: RetryOptions::default(),
            pace: PaceOptions::default(),
            record: None,
            member_role: None,
            member_concurrency: members::DEFAULT_CONCURRENCY,
            member_regions: Vec::new(),
        }
    }
}

/// Receives one line per collection step (the binary shows a bar or plain lines).
pub trait Progress: Send + Sync {
    fn message(&self, line: &str);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn message(&self, _line: &str) {}
}

impl<F: Fn(&str) + Send + Sync> Progress for F {
    fn message(&self, line: &str) {
        self(line)
    }
}

/// Collects the organization with clients loaded from the environment (see
/// [`load_sdk_config`]). `now` is the run's clock, read once by the caller. With
/// `opts.record`, the scrubbed recording is written once everything is read.
pub async fn collect(
    opts: &CollectOptions,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> anyhow::Result<Snapshot> {
    anyhow::ensure!(
        opts.period_start <= opts.period_end,
        "the collection period starts after it ends (`{}` > `{}`)",
        opts.period_start,
        opts.period_end
    );
    if let Some(dir) = &opts.record {
        record::prepare(dir)?;
    }
    let clients = Clients::load(opts).await;
    let snapshot = collect_with(&clients, opts, now, progress).await;
    if let (Some(dir), Some(recorder)) = (&opts.record, &clients.recorder) {
        recorder.write(dir, now)?;
    }
    Ok(snapshot)
}

/// The usage of `--cost-source athena`, and what became of its query.
pub struct AthenaUsage {
    /// The usage table; `None` when the query failed or its result could not be read whole.
    pub usage: Option<polars::prelude::DataFrame>,
    pub query: Option<crate::inputs::athena::AthenaQuery>,
    /// Why the usage is missing (ledger entries on the usage table).
    pub gaps: Vec<crate::snapshot::LedgerEntry>,
}

/// Runs the Athena query of the window `opts.period_start..=opts.period_end` with clients
/// loaded from the environment (see [`load_sdk_config`]).
pub async fn athena_usage(
    opts: &CollectOptions,
    athena: &crate::inputs::athena::AthenaOptions,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> anyhow::Result<AthenaUsage> {
    let clients = Clients::load(opts).await;
    athena_usage_with(&clients, opts, athena, now, progress).await
}

/// [`athena_usage`] with the given clients. Fails only on a name that may not be written into
/// the query; everything else is a gap. The result becomes a polars frame inside: run it on a
/// multi-threaded runtime (polars blocks on one).
pub async fn athena_usage_with(
    clients: &Clients,
    opts: &CollectOptions,
    athena: &crate::inputs::athena::AthenaOptions,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> anyhow::Result<AthenaUsage> {
    let target = crate::inputs::athena::sql::Target::new(
        &athena.database,
        &athena.table,
        &opts.team_tag_key,
    )?;
    let cx = Cx::new(clients, opts, progress);
    let window = (opts.period_start, opts.period_end);
    let fetched = athena::fetch(&cx, athena, &target, window, now).await;
    let usage = match fetched.result {
        Some((header, rows)) => match crate::inputs::athena::usage_from_rows(&header, &rows) {
            Ok(usage) => Some(usage),
            Err(e) => {
                let err = ledger::CallError::new("MalformedResult", format!("{e:#}"));
                let scope = format!("{}.{}", athena.database, athena.table);
                cx.ledger.record(
                    &permissions::GET_QUERY_RESULTS,
                    &scope,
                    &[Table::Usage],
                    &err,
                );
                None
            }
        },
        None => None,
    };
    Ok(AthenaUsage {
        usage,
        query: fetched.query,
        gaps: cx.ledger.entries(),
    })
}

/// Collects the organization with the given clients. Never fails: what could not be read is
/// in `manifest.completeness`.
pub async fn collect_with(
    clients: &Clients,
    opts: &CollectOptions,
    now: DateTime<Utc>,
    progress: &dyn Progress,
) -> Snapshot {
    let cx = Cx::new(clients, opts, progress);
    // The services are independent, and each has its own pacing: read them side by side. The
    // account tags alone wait for another service: for Cost Explorer to say which accounts
    // spend (its first query; the team query goes on beside the tags).
    let (spenders_tx, spenders_rx) = tokio::sync::oneshot::channel();
    let org = async {
        let mut org = organizations::collect(&cx).await;
        let scope = match opts.account_tags {
            AccountTags::All => organizations::TagScope::All("`--account-tags all`".to_string()),
            AccountTags::Needed => tag_scope(spenders_rx.await.ok().flatten(), opts),
        };
        organizations::read_tags(&cx, &mut org, scope).await;
        org
    };
    let (org, lm, ce, events, market) = tokio::join!(
        org,
        license_manager::collect(&cx),
        async {
            match &opts.usage_from {
                UsageFrom::CostExplorer => cost_explorer::collect(&cx, spenders_tx).await,
                UsageFrom::Elsewhere(source) => {
                    cx.progress.message(&format!(
                        "cost explorer: not queried for spend: the usage comes from {source}"
                    ));
                    // Nobody spends as far as Cost Explorer knows: the tags read are those of
                    // the accounts the other source names.
                    let _ = spenders_tx.send(Some(BTreeSet::new()));
                    cost_explorer::CeData {
                        usage: crate::model::usage::conform(
                            crate::model::usage::UsageBuilder::default().finish(),
                        )
                        .expect("the usage schema"),
                    }
                }
            }
        },
        async {
            if opts.skip_cloudtrail {
                Vec::new()
            } else {
                cloudtrail::collect(&cx, now).await
            }
        },
        marketplace_agreement::collect(&cx),
    );
    progress.message("collected; assembling the snapshot");

    let mut organization = org.organization;
    organization.subscriber_account_id = subscriber(
        &lm.organization_licenses,
        &organization.management_account_id,
    );

    // Beneficiary's semantics are unconfirmed and it may be absent: a license the subscriber's
    // own listing returned is the organization's whatever it says (doctor names the shape).
    let mut licenses = lm.organization_licenses;
    for l in licenses
        .iter_mut()
        .filter(|l| l.beneficiary.trim().is_empty())
    {
        l.beneficiary = organization.subscriber_account_id.clone();
    }
    for l in lm.member_licenses {
        if !licenses.iter().any(|k| k.arn == l.arn) {
            licenses.push(l);
        }
    }
    licenses.sort_by(|a, b| a.arn.cmp(&b.arn));
    let grants = lm.grants;
    // The models' public rates, once the licenses say which models the organization has.
    let subscriber = &organization.subscriber_account_id;
    let own: Vec<&crate::model::License> = licenses
        .iter()
        .filter(|l| &l.beneficiary == subscriber)
        .collect();
    let fan_out = opts.member_role.is_some();
    let models = if own.is_empty() && !fan_out {
        None
    } else {
        let tables: &[Table] = if fan_out {
            &[Table::Rates, Table::Invocations]
        } else {
            &[Table::Rates]
        };
        public_offers::foundation_models(&cx, tables).await
    };
    let public = public_offers::collect(&cx, &own, models.as_deref()).await;
    // The Price List for the models whose public offer gave no rate.
    let offered: BTreeSet<String> = public
        .iter()
        .map(|r| crate::analyze::products::product_key(&r.product))
        .collect();
    let unoffered: Vec<&crate::model::License> = own
        .iter()
        .filter(|l| !offered.contains(&crate::analyze::products::product_key(&l.product_name)))
        .copied()
        .collect();
    let listed = price_list::collect(&cx, &unoffered).await;
    let mut rates = market.rates;
    rates.extend(public);
    rates.extend(listed);

    // CloudTrail names the account only for account grants it created; fill it in from the
    // grant itself wherever the grant is an account grant.
    // By ARN: tens of thousands of events against tens of thousands of grants.
    let account_of: BTreeMap<&str, &str> = grants
        .iter()
        .filter(|g| g.grantee_kind == crate::model::PrincipalKind::Account)
        .map(|g| (g.arn.as_str(), g.grantee_id.as_str()))
        .collect();
    let mut grant_events = events;
    // The member accounts, once the accounts and the usage's regions are known.
    let members = match &opts.member_role {
        Some(role) => {
            let regions = if opts.member_regions.is_empty() {
                usage_regions(&ce.usage)
            } else {
                opts.member_regions.clone()
            };
            let names: BTreeMap<String, String> = models
                .iter()
                .flatten()
                .filter_map(|m| Some((m.model_id().to_string(), m.model_name()?.to_string())))
                .collect();
            let management = &organization.management_account_id;
            let others: Vec<crate::model::Account> = org
                .accounts
                .iter()
                .filter(|a| &a.id != management)
                .cloned()
                .collect();
            let window = (opts.period_start, opts.period_end);
            let m = members::collect(&cx, role, &others, &regions, &names, window, now).await;
            progress.message(&format!(
                "members: {} read, {} could not be assumed, {} skipped (not ACTIVE)",
                m.read,
                m.unreachable.len(),
                m.skipped.len()
            ));
            Some(m)
        }
        None => None,
    };
    if let Some(m) = &members {
        merge_events(&mut grant_events, &m.events);
    }
    for e in grant_events.iter_mut().filter(|e| e.account_id.is_none()) {
        if let Some(account) = account_of.get(e.grant_arn.as_str()) {
            e.account_id = Some(account.to_string());
        }
    }

    let mut tables = BTreeMap::new();
    let mut info = |name: Table, rows: usize, ops: &[&Op]| {
        let source = ops
            .iter()
            .map(|o| o.action())
            .collect::<Vec<_>>()
            .join(", ");
        tables.insert(
            name.to_string(),
            TableInfo {
                rows: rows as u64,
                source,
            },
        );
    };
    use permissions::*;
    info(Table::Organization, 1, &[&DESCRIBE_ORGANIZATION]);
    let listings: &[&Op] = if org.listed_all {
        &[
            &LIST_ACCOUNTS_FOR_PARENT,
            &LIST_ACCOUNTS,
            &LIST_TAGS_FOR_RESOURCE,
        ]
    } else {
        &[&LIST_ACCOUNTS_FOR_PARENT, &LIST_TAGS_FOR_RESOURCE]
    };
    info(Table::Accounts, org.accounts.len(), listings);
    info(
        Table::OrganizationalUnits,
        org.organizational_units.len(),
        &[&LIST_ROOTS, &LIST_OUS_FOR_PARENT],
    );
    info(
        Table::Licenses,
        licenses.len(),
        &[&LIST_RECEIVED_LICENSES, &LIST_RECEIVED_LICENSES_FOR_ORG],
    );
    info(
        Table::Grants,
        grants.len(),
        &[
            &LIST_DISTRIBUTED_GRANTS,
            &LIST_RECEIVED_GRANTS_FOR_ORG,
            &GET_GRANT,
        ],
    );
    info(Table::Usage, ce.usage.height(), &[&GET_COST_AND_USAGE]);
    info(
        Table::Agreements,
        market.agreements.len(),
        &[&SEARCH_AGREEMENTS, &GET_AGREEMENT_ENTITLEMENTS],
    );
    info(
        Table::Rates,
        rates.len(),
        &[
            &GET_AGREEMENT_TERMS,
            &LIST_FOUNDATION_MODELS,
            &LIST_FOUNDATION_MODEL_AGREEMENT_OFFERS,
            &GET_PRODUCTS,
        ],
    );
    if !opts.skip_cloudtrail {
        info(Table::GrantEvents, grant_events.len(), &[&LOOKUP_EVENTS]);
    } else {
        tables.insert(
            Table::GrantEvents.to_string(),
            TableInfo {
                rows: 0,
                source: "not collected (`skip_cloudtrail`)".to_string(),
            },
        );
    }

    if let UsageFrom::Elsewhere(source) = &opts.usage_from {
        tables.insert(
            Table::Usage.to_string(),
            TableInfo {
                rows: 0,
                source: format!("not read from Cost Explorer: the usage comes from {source}"),
            },
        );
    }
    if let Some(t) = tables.get_mut(Table::Accounts.as_str()) {
        t.source = format!("{} ({})", t.source, org.tags_scope);
    }
    if let Some(m) = &members {
        let skipped = match m.skipped.len() {
            0 => String::new(),
            _ => format!(
                "; skipped, not ACTIVE: {}",
                m.skipped
                    .iter()
                    .map(|(id, state)| format!("{id} ({state})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let role = opts.member_role.as_deref().unwrap_or_default();
        let how = format!(
            "{} through `--member-role {role}` in {} member accounts ({} could not be assumed), regions {}{skipped}",
            ASSUME_ROLE.action(),
            m.read,
            m.unreachable.len(),
            m.regions.join(", ")
        );
        tables.insert(
            Table::Invocations.to_string(),
            TableInfo {
                rows: m.invocations.len() as u64,
                source: format!(
                    "{}, {}, {}, {}; {how}",
                    LIST_METRICS.action(),
                    GET_METRIC_DATA.action(),
                    LIST_INFERENCE_PROFILES.action(),
                    LIST_FOUNDATION_MODELS.action()
                ),
            },
        );
        tables.insert(
            Table::MemberAgreements.to_string(),
            TableInfo {
                rows: m.agreements.len() as u64,
                source: format!("{}; {how}", SEARCH_AGREEMENTS.action()),
            },
        );
        if let Some(t) = tables.get_mut(Table::GrantEvents.as_str()) {
            t.source = format!(
                "{}, and in each member account (`member-cloudtrail` events)",
                t.source
            );
        }
    }

    let mut snapshot = Snapshot {
        manifest: Manifest {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            source: "aws".to_string(),
            collected_at: now,
            period_start: opts.period_start,
            period_end: opts.period_end,
            tables,
            completeness: Vec::new(),
            unknown_values: Vec::new(),
            cost_explorer_requests: cx.cost_budget.sent(),
            athena: None,
        },
        organization,
        accounts: org.accounts,
        organizational_units: org.organizational_units,
        licenses,
        grants,
        grant_events,
        agreements: market.agreements,
        rates,
        usage: ce.usage,
        invocations: members.as_ref().map(|m| m.invocations.clone()),
        member_agreements: members.map(|m| m.agreements),
    };
    // Row counts and the unknown enum values, the same way for every snapshot source.
    snapshot.refresh_manifest();
    snapshot.manifest.completeness = cx.ledger.entries();
    snapshot
}

/// Adds the member accounts' own grant changes to the management account's: an event both
/// trails hold (an organization trail) counts once.
fn merge_events(events: &mut Vec<crate::model::GrantEvent>, member: &[crate::model::GrantEvent]) {
    let key = |e: &crate::model::GrantEvent| (e.time, e.grant_arn.clone(), e.kind.clone());
    let seen: BTreeSet<_> = events.iter().map(key).collect();
    events.extend(member.iter().filter(|e| !seen.contains(&key(e))).cloned());
    events.sort_by(|a, b| {
        (a.time, &a.grant_arn, a.kind.as_str()).cmp(&(b.time, &b.grant_arn, b.kind.as_str()))
    });
}

/// The regions Marketplace Bedrock usage types name (`USW2-MP:USW2_InputTokenCount-Units`),
/// and `us-east-1` always (so a first run before any bill still reads a region). A billing
/// code this version does not know is skipped and logged.
pub fn usage_regions(usage: &polars::prelude::DataFrame) -> Vec<String> {
    let mut out = BTreeSet::from([clients::HOME_REGION.to_string()]);
    let Ok(types) = usage
        .column(crate::model::usage::USAGE_TYPE)
        .and_then(|c| c.str().cloned())
    else {
        return out.into_iter().collect();
    };
    let mut unknown = BTreeSet::new();
    for t in types.iter().flatten() {
        let code = t.split(['-', ':', '_']).next().unwrap_or_default();
        match crate::model::invocations::billing_region(code) {
            Some(r) => {
                out.insert(r.to_string());
            }
            None => {
                unknown.insert(code.to_string());
            }
        }
    }
    if !unknown.is_empty() {
        tracing::info!(?unknown, "usage type region codes not known; not read");
    }
    out.into_iter().collect()
}

/// Whose tags to read when only the needed ones are: the accounts with spend, and those named
/// by the options; every account when Cost Explorer could not say which spend (nothing is
/// lost silently: the tags of an account that spends are always read).
fn tag_scope(spenders: cost_explorer::Spenders, opts: &CollectOptions) -> organizations::TagScope {
    if let UsageFrom::Elsewhere(source) = &opts.usage_from {
        return organizations::TagScope::Only(
            opts.tags_also_for.clone(),
            format!(
                "the accounts {source} names as billed or calling (the others need no team; their `tags_read` is false)"
            ),
        );
    }
    match spenders {
        None => organizations::TagScope::All(
            "Cost Explorer's answer is incomplete, so which accounts spend is not known"
                .to_string(),
        ),
        Some(mut ids) => {
            let why = if opts.tags_also_for.is_empty() {
                "the accounts with Marketplace spend in Cost Explorer (the others need no team; their `tags_read` is false)"
            } else {
                "the accounts with Marketplace spend in Cost Explorer or in the cost export, and the cost export's callers (the others need no team; their `tags_read` is false)"
            };
            ids.extend(opts.tags_also_for.iter().cloned());
            organizations::TagScope::Only(ids, why.to_string())
        }
    }
}

/// The account holding the organization's Marketplace licenses: their most frequent
/// beneficiary, else the management account.
fn subscriber(org_licenses: &[crate::model::License], management: &str) -> String {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for l in org_licenses {
        if crate::model::is_account_id(&l.beneficiary) {
            *count.entry(&l.beneficiary).or_default() += 1;
        }
    }
    count
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or_else(|| management.to_string(), |(id, _)| id.to_string())
}

/// Parses an AWS time given as epoch seconds (`"1786848000"`, as License Manager's
/// `CreateTime` really is), epoch milliseconds, RFC 3339 / ISO-8601 with or without zone
/// (UTC assumed), or a bare date.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<f64>() {
        // Twelve or more digits cannot be seconds in this era: milliseconds.
        let secs = if n.abs() >= 1e11 { n / 1000.0 } else { n };
        let whole = secs.floor();
        let nanos = ((secs - whole) * 1e9).round() as u32;
        return DateTime::from_timestamp(whole as i64, nanos.min(999_999_999));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(crate::model::day_start)
}

/// An SDK timestamp as a chrono one.
pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_form_aws_uses() {
        let want = DateTime::from_timestamp(1_786_848_000, 0).unwrap();
        assert_eq!(parse_time("1786848000"), Some(want));
        assert_eq!(parse_time("1786848000000"), Some(want));
        assert_eq!(parse_time("1786848000.0"), Some(want));
        let iso = want.to_rfc3339();
        assert_eq!(parse_time(&iso), Some(want));
        assert_eq!(
            parse_time(&want.format("%Y-%m-%dT%H:%M:%S").to_string()),
            Some(want)
        );
        assert_eq!(parse_time("2026-08-16T02:40:00.000Z"), Some(want));
        assert_eq!(
            parse_time("2026-08-16"),
            DateTime::from_timestamp(1_786_838_400, 0)
        );
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn default_window_is_ninety_days_ending_yesterday() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let o = CollectOptions::new(now);
        assert_eq!(o.period_end.to_string(), "2026-11-19");
        assert_eq!((o.period_end - o.period_start).num_days() + 1, 90);
    }

    #[test]
    fn subscriber_is_the_licenses_beneficiary() {
        let l = |b: &str| crate::model::License {
            arn: "a".into(),
            product_name: String::new(),
            product_sku: String::new(),
            issuer: String::new(),
            status: crate::model::LicenseStatus::Available,
            validity_begin: None,
            validity_end: None,
            created_at: None,
            beneficiary: b.into(),
            home_region: String::new(),
            version: String::new(),
            seller_grant_arn: None,
        };
        assert_eq!(subscriber(&[], "123456789012"), "123456789012");
        assert_eq!(
            subscriber(
                &[l("111122223333"), l("111122223333"), l("x")],
                "123456789012"
            ),
            "111122223333"
        );
    }
}
