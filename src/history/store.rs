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
use crate::model::{EventKind, EventSource, GrantEvent};

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

    let mut ids: HashMap<String, i64> = HashMap::new();
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO grants
                 (arn, license_arn, product, parent_arn, grantee_kind, grantee_id, sub_grant)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (arn) DO UPDATE SET license_arn = excluded.license_arn,
                 product = excluded.product, parent_arn = excluded.parent_arn,
                 grantee_kind = excluded.grantee_kind, grantee_id = excluded.grantee_id,
                 sub_grant = excluded.sub_grant
             RETURNING id",
        )?;
        let mut observe = tx.prepare_cached(
            "INSERT INTO grant_observations (run_id, grant_id, status, version)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for g in rec.grants {
            let id: i64 = upsert.query_row(
                params![
                    g.grant_arn,
                    g.license_arn,
                    g.product,
                    g.parent_arn,
                    g.grantee_kind.as_str(),
                    g.grantee_id,
                    g.is_sub_grant
                ],
                |r| r.get(0),
            )?;
            observe.execute(params![run_id, id, g.status.as_str(), g.version])?;
            ids.insert(g.grant_arn.clone(), id);
        }
    }
    if let Some(p) = pause {
        eprintln!("entitlement-audit: test pause inside the history transaction");
        std::thread::sleep(p);
    }

    let mut grant_id = |arn: &str| -> rusqlite::Result<i64> {
        if let Some(id) = ids.get(arn) {
            return Ok(*id);
        }
        let id = tx
            .prepare_cached(
                "INSERT INTO grants (arn) VALUES (?1)
                 ON CONFLICT (arn) DO UPDATE SET arn = excluded.arn RETURNING id",
            )?
            .query_row([arn], |r| r.get(0))?;
        ids.insert(arn.to_string(), id);
        Ok(id)
    };
    let end = observed_at(rec.as_of);
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO grant_events
                 (grant_id, account_id, kind, time, source, actor, run_id, observed_after, observed_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for e in rec
            .events
            .iter()
            .filter(|e| e.source != EventSource::Observed && e.time <= end)
        {
            insert.execute(params![
                grant_id(&e.grant_arn)?,
                e.account_id.as_deref().unwrap_or(""),
                e.kind.as_str(),
                e.time.timestamp(),
                e.source.as_str(),
                e.actor,
                None::<i64>,
                None::<String>,
                None::<String>,
            ])?;
        }
        for o in rec.observed {
            let e = &o.event;
            insert.execute(params![
                grant_id(&e.grant_arn)?,
                e.account_id.as_deref().unwrap_or(""),
                e.kind.as_str(),
                e.time.timestamp(),
                e.source.as_str(),
                e.actor,
                run_id,
                date_text(o.after),
                date_text(o.by),
            ])?;
        }
    }

    let mut key = tx.prepare_cached(
        "INSERT INTO finding_keys (id, rule, account_id, account_name, product, license_arn, grant_arn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET account_name = excluded.account_name,
             product = excluded.product
         RETURNING key",
    )?;
    let mut finding = tx.prepare_cached(
        "INSERT INTO findings (run_id, key, severity, first_seen, cost_usd, suppressed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for f in rec.findings {
        let k: i64 = key.query_row(
            params![
                f.id,
                f.rule,
                f.account_id,
                f.account_name,
                f.product,
                f.license_arn,
                f.grant_arn
            ],
            |r| r.get(0),
        )?;
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
