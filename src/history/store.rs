//! The SQLite store: opening (created on first use, migrated), reading the previous run and
//! the stored events, and writing a run in one transaction so that a run is either all there
//! or not there at all, whenever the process dies.

use crate::analyze::finding::FindingRef;
use crate::analyze::rules;
use crate::model::Severity;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::observe::{observed_at, Observed};
use super::schema;
use crate::analyze::finding::Finding;
use crate::analyze::GrantRow;
use crate::model::{EventKind, EventSource, GrantEvent, Rate, RateSource};
use crate::progress;

/// An open history store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A stored run, as the next run needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PastRun {
    pub as_of: NaiveDate,
    pub tool_version: String,
    pub complete: bool,
    /// Snapshot tables the run could not read completely.
    pub incomplete_tables: Vec<String>,
    /// Grant ARN -> status on the run's as-of date.
    pub statuses: BTreeMap<String, String>,
    /// Finding id -> the finding as stored.
    pub findings: BTreeMap<String, PastFinding>,
}

/// A finding of a stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct PastFinding {
    pub finding: FindingRef,
    pub first_seen: NaiveDate,
}

/// One line of `history runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub as_of: NaiveDate,
    pub recorded_at: String,
    pub tool_version: String,
    pub source: String,
    pub complete: bool,
    pub grants: i64,
    pub findings: i64,
    pub new_findings: i64,
    pub resolved_findings: i64,
}

/// Everything a run writes to the store.
pub struct RunRecord<'a> {
    pub as_of: NaiveDate,
    pub organization_id: &'a str,
    pub recorded_at: DateTime<Utc>,
    pub tool_version: &'a str,
    pub source: &'a str,
    pub collected_at: DateTime<Utc>,
    pub complete: bool,
    pub incomplete_tables: &'a [crate::snapshot::Table],
    /// The grants on the as-of date, with their status then.
    pub grants: &'a [GrantRow],
    /// The snapshot's events (observed ones and those after the as-of date are skipped).
    pub events: &'a [GrantEvent],
    pub observed: &'a [Observed],
    /// With `tracking.first_seen` filled.
    pub findings: &'a [Finding],
    pub new_findings: usize,
    pub resolved_findings: usize,
    /// The public rates the run read itself (remembered ones are not stored again).
    pub public_rates: &'a [Rate],
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(s: &str) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn parse_severity(s: &str) -> rusqlite::Result<Severity> {
    Severity::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!(
                "stored severity `{s}` is not one of {}",
                Severity::KNOWN.join(", ")
            )
            .into(),
        )
    })
}

pub(crate) fn time_of(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl Store {
    /// Opens the store at `path`, creating it (and its directory) on first use and migrating
    /// it to the current schema.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create `{}`", dir.display()))?;
        }
        Self::open_with(path)
    }

    /// Opens a store that must already exist (the `history` command never creates one).
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            bail!(
                "no history store at `{}`: `entitlement-audit run` creates it (or pass `--state PATH`)",
                path.display()
            );
        }
        Self::open_with(path)
    }

    fn open_with(path: &Path) -> Result<Store> {
        let name = path.display().to_string();
        let mut conn = Connection::open(path)
            .with_context(|| format!("failed to open history store `{name}`"))?;
        // Wait for another run holding the store rather than fail; auto_vacuum only takes
        // effect on a new file, before its first table.
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .and_then(|()| {
                conn.execute_batch(
                    "PRAGMA auto_vacuum = INCREMENTAL;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA temp_store = MEMORY;
                     PRAGMA foreign_keys = ON;",
                )
            })
            .with_context(|| format!("failed to configure history store `{name}`"))?;
        schema::migrate(&mut conn, &name)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    fn context(&self, what: &str) -> String {
        format!("failed to {what} history store `{}`", self.path.display())
    }

    /// Fails when the store holds runs of another organization: comparing them would report
    /// every finding as new and every grant as just created.
    pub fn check_organization(&self, organization_id: &str) -> Result<()> {
        let other: Option<String> = self
            .conn
            .query_row(
                "SELECT organization_id FROM runs WHERE organization_id <> ?1 LIMIT 1",
                [organization_id],
                |r| r.get(0),
            )
            .optional()
            .with_context(|| self.context("read"))?;
        if let Some(other) = other {
            bail!(
                "history store `{}` holds runs of organization `{other}`, not `{organization_id}`: pass another `--state PATH`",
                self.path.display()
            );
        }
        Ok(())
    }

    /// The latest stored run with an as-of date before `as_of`.
    pub fn previous(&self, as_of: NaiveDate) -> Result<Option<PastRun>> {
        self.previous_inner(as_of)
            .with_context(|| self.context("read the previous run from"))
    }

    fn previous_inner(&self, as_of: NaiveDate) -> rusqlite::Result<Option<PastRun>> {
        let Some((id, day, tool_version, complete, incomplete)) = self
            .conn
            .query_row(
                "SELECT id, as_of, tool_version, complete, incomplete_tables FROM runs
                 WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1",
                [date_text(as_of)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT g.arn, o.status FROM grant_observations o JOIN grants g ON g.id = o.grant_id
             WHERE o.run_id = ?1",
        )?;
        let statuses = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<BTreeMap<String, String>>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT k.id, k.rule, f.severity, k.account_id, k.account_name, k.product,
                    k.license_arn, k.grant_arn, f.first_seen
             FROM findings f JOIN finding_keys k ON k.key = f.key WHERE f.run_id = ?1",
        )?;
        let findings = stmt
            .query_map([id], |r| {
                let rule: String = r.get(1)?;
                let finding = FindingRef {
                    id: r.get(0)?,
                    name: rules::by_code(&rule)
                        .map(|r| r.name().to_string())
                        .unwrap_or_default(),
                    rule,
                    severity: parse_severity(&r.get::<_, String>(2)?)?,
                    account_id: r.get(3)?,
                    account_name: r.get(4)?,
                    product: r.get(5)?,
                    license_arn: r.get(6)?,
                    grant_arn: r.get(7)?,
                };
                Ok(PastFinding {
                    finding,
                    first_seen: parse_date(&r.get::<_, String>(8)?)?,
                })
            })?
            .map(|f| f.map(|f| (f.finding.id.clone(), f)))
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
        Ok(Some(PastRun {
            as_of: parse_date(&day)?,
            tool_version,
            complete,
            incomplete_tables: incomplete.split_whitespace().map(str::to_string).collect(),
            statuses,
            findings,
        }))
    }

    /// Stored events up to the end of `as_of`: snapshot events of any run, and changes
    /// observed by runs before `as_of` (a run being replaced does not see its own).
    pub fn events_until(&self, as_of: NaiveDate) -> Result<Vec<GrantEvent>> {
        let run = || -> rusqlite::Result<Vec<GrantEvent>> {
            let mut stmt = self.conn.prepare(
                "SELECT g.arn, e.account_id, e.kind, e.time, e.source, e.actor, e.observed_after
                 FROM grant_events e JOIN grants g ON g.id = e.grant_id
                 WHERE e.time <= ?1
                   AND (e.run_id IS NULL OR e.run_id IN (SELECT id FROM runs WHERE as_of < ?2))",
            )?;
            let rows = stmt.query_map(
                params![observed_at(as_of).timestamp(), date_text(as_of)],
                |r| {
                    let account: String = r.get(1)?;
                    Ok(GrantEvent {
                        grant_arn: r.get(0)?,
                        account_id: (!account.is_empty()).then_some(account),
                        kind: EventKind::parse(&r.get::<_, String>(2)?),
                        time: time_of(r.get(3)?),
                        source: EventSource::parse(&r.get::<_, String>(4)?),
                        actor: r.get(5)?,
                        // An observed change lies after the previous run's observation.
                        not_before: match r.get::<_, Option<String>>(6)? {
                            Some(after) => Some(observed_at(parse_date(&after)?)),
                            None => None,
                        },
                    })
                },
            )?;
            rows.collect()
        };
        run().with_context(|| self.context("read grant events from"))
    }

    /// The public rates earlier runs read, with when: the latest per product, dimension and
    /// source.
    pub fn public_rates(&self) -> Result<Vec<(Rate, DateTime<Utc>)>> {
        let run = || -> rusqlite::Result<Vec<(Rate, DateTime<Utc>)>> {
            let mut stmt = self.conn.prepare(
                "SELECT product, dimension_key, source, price, currency, unit, read_at
                 FROM public_rates ORDER BY product, dimension_key, source",
            )?;
            let rows = stmt.query_map([], |r| {
                let read_at: String = r.get(6)?;
                let read_at = DateTime::parse_from_rfc3339(&read_at)
                    .map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            6,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?
                    .with_timezone(&Utc);
                let rate = Rate {
                    source: RateSource::parse(&r.get::<_, String>(2)?),
                    agreement_id: None,
                    product: r.get(0)?,
                    dimension_key: r.get(1)?,
                    price: r.get(3)?,
                    currency: r.get(4)?,
                    unit: r.get(5)?,
                };
                Ok((rate, read_at))
            })?;
            rows.collect()
        };
        run().with_context(|| self.context("read the public rates from"))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>> {
        let run = || -> rusqlite::Result<Vec<RunSummary>> {
            let mut stmt = self.conn.prepare(
                "SELECT as_of, recorded_at, tool_version, source, complete, grants, findings,
                        new_findings, resolved_findings
                 FROM runs ORDER BY as_of",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RunSummary {
                    as_of: parse_date(&r.get::<_, String>(0)?)?,
                    recorded_at: r.get(1)?,
                    tool_version: r.get(2)?,
                    source: r.get(3)?,
                    complete: r.get(4)?,
                    grants: r.get(5)?,
                    findings: r.get(6)?,
                    new_findings: r.get(7)?,
                    resolved_findings: r.get(8)?,
                })
            })?;
            rows.collect()
        };
        run().with_context(|| self.context("list the runs of"))
    }

    /// Writes a run in one transaction, replacing a stored run with the same as-of date, then
    /// prunes runs more than `keep_weeks` weeks older than the newest. `pause` (tests only)
    /// sleeps inside the transaction, after part of the run is written.
    pub fn record(
        &mut self,
        rec: &RunRecord,
        keep_weeks: u32,
        pause: Option<std::time::Duration>,
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("failed to start writing history store `{path}`"))?;
        write_run(&tx, rec, pause)
            .and_then(|()| tx.commit())
            .with_context(|| format!("failed to write the run to history store `{path}`"))?;
        self.prune(keep_weeks)
            .with_context(|| format!("failed to prune history store `{path}`"))
    }

    /// Deletes runs more than `keep_weeks` weeks before the newest run, and what only they
    /// referred to. Events of grants still observed by a kept run stay, however old.
    fn prune(&mut self, keep_weeks: u32) -> rusqlite::Result<()> {
        let newest: Option<String> =
            self.conn
                .query_row("SELECT max(as_of) FROM runs", [], |r| r.get(0))?;
        let Some(newest) = newest else { return Ok(()) };
        let cutoff = parse_date(&newest)? - Duration::weeks(i64::from(keep_weeks));
        let tx = self.conn.transaction()?;
        let pruned = tx.execute("DELETE FROM runs WHERE as_of < ?1", [date_text(cutoff)])?;
        if pruned > 0 {
            tx.execute_batch(&format!(
                "DELETE FROM finding_keys WHERE key NOT IN (SELECT key FROM findings);
                 DELETE FROM grant_events WHERE time < {}
                   AND grant_id NOT IN (SELECT grant_id FROM grant_observations);
                 DELETE FROM grants WHERE id NOT IN (SELECT grant_id FROM grant_observations)
                   AND id NOT IN (SELECT grant_id FROM grant_events);",
                crate::model::day_start(cutoff).timestamp()
            ))?;
        }
        tx.commit()?;
        if pruned > 0 {
            self.conn.execute_batch("PRAGMA incremental_vacuum;")?;
        }
        Ok(())
    }
}

/// The body of [`Store::record`]'s transaction.
fn write_run(
    tx: &Transaction,
    rec: &RunRecord,
    pause: Option<std::time::Duration>,
) -> rusqlite::Result<()> {
    let as_of = date_text(rec.as_of);
    tx.execute("DELETE FROM runs WHERE as_of = ?1", [&as_of])?;
    tx.execute(
        "INSERT INTO runs (as_of, organization_id, recorded_at, tool_version, source,
                           collected_at, complete, incomplete_tables, grants, findings,
                           new_findings, resolved_findings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            as_of,
            rec.organization_id,
            rec.recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rec.tool_version,
            rec.source,
            rec.collected_at.to_rfc3339(),
            rec.complete,
            rec.incomplete_tables
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            rec.grants.len() as i64,
            rec.findings.len() as i64,
            rec.new_findings as i64,
            rec.resolved_findings as i64,
        ],
    )?;
    let run_id = tx.last_insert_rowid();

    let mut ids = progress::timed("history write grants", || {
        write_grants(tx, run_id, rec.grants)
    })?;
    if let Some(p) = pause {
        eprintln!("entitlement-audit: test pause inside the history transaction");
        std::thread::sleep(p);
    }
    progress::timed("history write events", || {
        write_events(tx, run_id, rec, &mut ids)
    })?;
    progress::timed("history write findings", || write_findings(tx, run_id, rec))?;
    write_public_rates(tx, rec)
}

/// Keeps the latest of each public rate the run read.
fn write_public_rates(tx: &Transaction, rec: &RunRecord) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO public_rates (product, dimension_key, source, price, currency, unit, read_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (product, dimension_key, source) DO UPDATE SET
           price = excluded.price, currency = excluded.currency, unit = excluded.unit,
           read_at = excluded.read_at
         WHERE excluded.read_at >= public_rates.read_at",
    )?;
    let read_at = rec.collected_at.to_rfc3339();
    for r in rec
        .public_rates
        .iter()
        .filter(|r| matches!(r.source, RateSource::PublicOffer | RateSource::PriceList))
    {
        stmt.execute(params![
            r.product,
            r.dimension_key,
            r.source.as_str(),
            r.price,
            r.currency,
            r.unit,
            read_at
        ])?;
    }
    Ok(())
}

/// One event row; snapshot events have no run (`observed` is `None`).
struct EventRow<'a> {
    grant_id: i64,
    event: &'a GrantEvent,
    observed: Option<&'a Observed>,
}

/// Stores the snapshot events not stored yet and the changes observed by this run, in the
/// order of the table's key (a b-tree fills fastest in order).
fn write_events(
    tx: &Transaction,
    run_id: i64,
    rec: &RunRecord,
    ids: &mut HashMap<String, i64>,
) -> rusqlite::Result<()> {
    let mut grant_id = |arn: &str| -> rusqlite::Result<i64> {
        if let Some(id) = ids.get(arn) {
            return Ok(*id);
        }
        // A grant only an event names (`ids` holds every stored one).
        tx.prepare_cached("INSERT INTO grants (arn) VALUES (?1)")?
            .execute([arn])?;
        let id = tx.last_insert_rowid();
        ids.insert(arn.to_string(), id);
        Ok(id)
    };
    let end = observed_at(rec.as_of);
    let stored = stored_snapshot_events(tx)?;
    let mut rows = Vec::new();
    for e in rec
        .events
        .iter()
        .filter(|e| e.source != EventSource::Observed && e.time <= end)
    {
        let id = grant_id(&e.grant_arn)?;
        let key = event_key(e);
        let known = stored.get(&(id, key.1)).is_some_and(|same_instant| {
            same_instant
                .iter()
                .any(|(a, k, s)| (a.as_str(), k.as_str(), s.as_str()) == (key.0, key.2, key.3))
        });
        if !known {
            rows.push(EventRow {
                grant_id: id,
                event: e,
                observed: None,
            });
        }
    }
    for o in rec.observed {
        let id = grant_id(&o.event.grant_arn)?;
        rows.push(EventRow {
            grant_id: id,
            event: &o.event,
            observed: Some(o),
        });
    }
    rows.sort_by(|a, b| {
        let (ka, kb) = (event_key(a.event), event_key(b.event));
        (a.grant_id, ka.0, ka.2, ka.1, ka.3).cmp(&(b.grant_id, kb.0, kb.2, kb.1, kb.3))
    });
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO grant_events
             (grant_id, account_id, kind, time, source, actor, run_id, observed_after, observed_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in rows {
        let (account, time, kind, source) = event_key(r.event);
        insert.execute(params![
            r.grant_id,
            account,
            kind,
            time,
            source,
            r.event.actor,
            r.observed.map(|_| run_id),
            r.observed.map(|o| date_text(o.after)),
            r.observed.map(|o| date_text(o.by)),
        ])?;
    }
    Ok(())
}

/// An event's key columns but the grant: (account, time, kind, source).
fn event_key(e: &GrantEvent) -> (&str, i64, &str, &str) {
    (
        e.account_id.as_deref().unwrap_or(""),
        e.time.timestamp(),
        e.kind.as_str(),
        e.source.as_str(),
    )
}

/// Stores the run's findings, and what each finding id stands for.
fn write_findings(tx: &Transaction, run_id: i64, rec: &RunRecord) -> rusqlite::Result<()> {
    let keys = write_finding_keys(tx, rec.findings)?;
    let mut order: Vec<(i64, &Finding)> = keys.into_iter().zip(rec.findings).collect();
    order.sort_unstable_by_key(|(k, _)| *k);
    let mut finding = tx.prepare_cached(
        "INSERT INTO findings (run_id, key, severity, first_seen, cost_usd, suppressed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (k, f) in order {
        finding.execute(params![
            run_id,
            k,
            f.severity.as_str(),
            date_text(f.tracking.first_seen.unwrap_or(rec.as_of)),
            f.cost_usd,
            f.tracking.suppressed,
        ])?;
    }
    Ok(())
}

/// A grant as the store holds it (`grants` table).
pub(crate) struct StoredGrant {
    pub id: i64,
    pub arn: String,
    pub license_arn: String,
    pub product: String,
    pub parent_arn: String,
    pub grantee_kind: String,
    pub grantee_id: String,
    pub sub_grant: bool,
}

impl StoredGrant {
    /// Whether the store already holds `g` as it is now.
    fn is(&self, g: &GrantRow) -> bool {
        self.license_arn == g.license_arn
            && self.product == g.product
            && self.parent_arn == g.parent_arn
            && self.grantee_kind == g.grantee_kind.as_str()
            && self.grantee_id == g.grantee_id
            && self.sub_grant == g.is_sub_grant
    }
}

/// Every grant the store holds.
pub(crate) fn stored_grants(conn: &Connection) -> rusqlite::Result<Vec<StoredGrant>> {
    let mut read = conn.prepare(
        "SELECT id, arn, license_arn, product, parent_arn, grantee_kind, grantee_id, sub_grant
         FROM grants",
    )?;
    let rows = read.query_map([], |r| {
        Ok(StoredGrant {
            id: r.get(0)?,
            arn: r.get(1)?,
            license_arn: r.get(2)?,
            product: r.get(3)?,
            parent_arn: r.get(4)?,
            grantee_kind: r.get(5)?,
            grantee_id: r.get(6)?,
            sub_grant: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Stores the run's grants and their status on the as-of date, and returns every grant's
/// store id by ARN. Grants already stored as they are now are not written again; a grant
/// whose attributes changed is updated in place.
fn write_grants(
    tx: &Transaction,
    run_id: i64,
    grants: &[GrantRow],
) -> rusqlite::Result<HashMap<String, i64>> {
    let stored: HashMap<String, StoredGrant> = stored_grants(tx)?
        .into_iter()
        .map(|g| (g.arn.clone(), g))
        .collect();
    let mut insert = tx.prepare_cached(
        "INSERT INTO grants
             (arn, license_arn, product, parent_arn, grantee_kind, grantee_id, sub_grant)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE grants SET license_arn = ?2, product = ?3, parent_arn = ?4, grantee_kind = ?5,
             grantee_id = ?6, sub_grant = ?7
         WHERE arn = ?1",
    )?;
    let mut observe = tx.prepare_cached(
        "INSERT INTO grant_observations (run_id, grant_id, status, version)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut ids: HashMap<String, i64> = stored.values().map(|g| (g.arn.clone(), g.id)).collect();
    for g in grants {
        let row = params![
            g.grant_arn,
            g.license_arn,
            g.product,
            g.parent_arn,
            g.grantee_kind.as_str(),
            g.grantee_id,
            g.is_sub_grant
        ];
        let id = match stored.get(&g.grant_arn) {
            Some(before) if before.is(g) => before.id,
            Some(before) => {
                update.execute(row)?;
                before.id
            }
            None => {
                insert.execute(row)?;
                let id = tx.last_insert_rowid();
                ids.insert(g.grant_arn.clone(), id);
                id
            }
        };
        observe.execute(params![run_id, id, g.status.as_str(), g.version])?;
    }
    Ok(ids)
}

/// Stored snapshot events by (grant id, time): (account, kind, source) of each.
type StoredEvents = HashMap<(i64, i64), Vec<(String, String, String)>>;

/// Snapshot events already stored (they are kept once, whichever run saw them).
fn stored_snapshot_events(tx: &Transaction) -> rusqlite::Result<StoredEvents> {
    let mut stored = StoredEvents::new();
    let mut read = tx.prepare(
        "SELECT grant_id, time, account_id, kind, source FROM grant_events WHERE run_id IS NULL",
    )?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        stored
            .entry((r.get(0)?, r.get(1)?))
            .or_default()
            .push((r.get(2)?, r.get(3)?, r.get(4)?));
    }
    Ok(stored)
}

/// Stores what each finding id stands for, and returns the store key of each finding in
/// order. Keys already stored with the same account name and product are not written again.
fn write_finding_keys(tx: &Transaction, findings: &[Finding]) -> rusqlite::Result<Vec<i64>> {
    let mut stored: HashMap<String, (i64, String, String)> = HashMap::new();
    let mut read = tx.prepare("SELECT id, key, account_name, product FROM finding_keys")?;
    let mut rows = read.query([])?;
    while let Some(r) = rows.next()? {
        stored.insert(r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?));
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO finding_keys (id, rule, account_id, account_name, product, license_arn, grant_arn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut update = tx
        .prepare_cached("UPDATE finding_keys SET account_name = ?2, product = ?3 WHERE key = ?1")?;
    let mut keys = Vec::with_capacity(findings.len());
    for f in findings {
        let key = match stored.get(&f.id) {
            Some((key, name, product)) if *name == f.account_name && *product == f.product => *key,
            Some((key, _, _)) => {
                update.execute(params![key, f.account_name, f.product])?;
                *key
            }
            None => {
                insert.execute(params![
                    f.id,
                    f.rule,
                    f.account_id,
                    f.account_name,
                    f.product,
                    f.license_arn,
                    f.grant_arn
                ])?;
                tx.last_insert_rowid()
            }
        };
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Analysis;
    use crate::snapshot::Snapshot;

    fn demo() -> (Snapshot, Analysis) {
        let snap = crate::inputs::demo::builtin();
        let cfg = crate::config::Config::default();
        let a = crate::analyze::analyze(&snap, &cfg, snap.manifest.period_end).unwrap();
        (snap, a)
    }

    fn record(store: &mut Store, snap: &Snapshot, a: &Analysis, as_of: NaiveDate) {
        let rec = RunRecord {
            as_of,
            organization_id: &snap.organization.id,
            recorded_at: snap.manifest.collected_at,
            tool_version: "test",
            source: "demo",
            collected_at: snap.manifest.collected_at,
            complete: true,
            incomplete_tables: &[],
            grants: &a.grants,
            events: &snap.grant_events,
            observed: &[],
            findings: &a.findings,
            new_findings: 0,
            resolved_findings: 0,
            public_rates: &snap.rates,
        };
        store.record(&rec, 104, None).unwrap();
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn text(store: &Store, sql: &str, arg: &str) -> String {
        store.conn.query_row(sql, [arg], |r| r.get(0)).unwrap()
    }

    /// A later run writes again only what changed: unchanged grants, finding keys and
    /// snapshot events are not duplicated, changed attributes are updated, and a grant only an
    /// event names is added.
    #[test]
    fn a_later_run_stores_what_changed_and_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let (mut snap, mut a) = demo();
        let day = snap.manifest.period_end;
        record(&mut store, &snap, &a, day);
        let grants = count(&store, "SELECT count(*) FROM grants");
        let events = count(&store, "SELECT count(*) FROM grant_events");
        let keys = count(&store, "SELECT count(*) FROM finding_keys");
        assert_eq!(grants, a.grants.len() as i64);
        assert!(events > 0 && keys > 0);

        a.grants[0].product = "Renamed product".into();
        a.findings[0].account_name = "Renamed account".into();
        let mut extra = snap.grant_events[0].clone();
        extra.grant_arn = "arn:aws:license-manager::123456789012:grant:g-onlyinanevent".into();
        snap.grant_events.push(extra);
        record(&mut store, &snap, &a, day + Duration::days(7));

        assert_eq!(count(&store, "SELECT count(*) FROM grants"), grants + 1);
        assert_eq!(
            count(&store, "SELECT count(*) FROM grant_events"),
            events + 1
        );
        assert_eq!(count(&store, "SELECT count(*) FROM finding_keys"), keys);
        assert_eq!(
            count(&store, "SELECT count(*) FROM grant_observations"),
            2 * a.grants.len() as i64
        );
        assert_eq!(
            count(&store, "SELECT count(*) FROM findings"),
            2 * a.findings.len() as i64
        );
        let g = &a.grants[0].grant_arn;
        assert_eq!(
            text(&store, "SELECT product FROM grants WHERE arn = ?1", g),
            "Renamed product"
        );
        let f = &a.findings[0].id;
        assert_eq!(
            text(
                &store,
                "SELECT account_name FROM finding_keys WHERE id = ?1",
                f
            ),
            "Renamed account"
        );
        // Every event stored is read back once.
        let back = store.events_until(day + Duration::days(7)).unwrap();
        assert_eq!(back.len() as i64, events + 1);
    }
}
