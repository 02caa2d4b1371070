//! The store's schema: an ordered list of migrations; `PRAGMA user_version` records how many
//! have been applied. A migration is never edited once released: a change is a new entry.

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, TransactionBehavior};

/// Migrations in order; the store's version is the number applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Version 1: runs, grants seen, per-run grant observations, grant events (from the snapshot
/// and observed between runs), findings per run.
const V1: &str = "
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    as_of             TEXT NOT NULL UNIQUE,
    organization_id   TEXT NOT NULL,
    recorded_at       TEXT NOT NULL,
    tool_version      TEXT NOT NULL,
    source            TEXT NOT NULL,
    collected_at      TEXT NOT NULL,
    complete          INTEGER NOT NULL,
    incomplete_tables TEXT NOT NULL, -- snapshot tables named by the ledger, space-separated
    grants            INTEGER NOT NULL,
    findings          INTEGER NOT NULL,
    new_findings      INTEGER NOT NULL,
    resolved_findings INTEGER NOT NULL
);

-- Every grant ever seen or named by an event; the other tables refer to it by id.
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY,
    arn          TEXT NOT NULL UNIQUE,
    license_arn  TEXT NOT NULL DEFAULT '',
    product      TEXT NOT NULL DEFAULT '',
    parent_arn   TEXT NOT NULL DEFAULT '',
    grantee_kind TEXT NOT NULL DEFAULT '',
    grantee_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX grants_by_grantee ON grants (grantee_id);
CREATE INDEX grants_by_parent ON grants (parent_arn);

-- Each grant's status and version on a run's as-of date.
CREATE TABLE grant_observations (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    grant_id INTEGER NOT NULL REFERENCES grants (id),
    status   TEXT NOT NULL,
    version  TEXT NOT NULL,
    PRIMARY KEY (run_id, grant_id)
) WITHOUT ROWID;
CREATE INDEX grant_observations_by_grant ON grant_observations (grant_id);

-- Dated changes. Snapshot events (cloudtrail, demo) are kept once, whichever run saw them,
-- so they outlive CloudTrail's 90 days; observed ones belong to the run that observed the
-- change (run_id) and lie between two runs' as-of dates (observed_after, observed_by].
CREATE TABLE grant_events (
    grant_id       INTEGER NOT NULL REFERENCES grants (id),
    account_id     TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    time           INTEGER NOT NULL, -- seconds since 1970-01-01 UTC
    source         TEXT NOT NULL,
    actor          TEXT,
    run_id         INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    observed_after TEXT,
    observed_by    TEXT,
    PRIMARY KEY (grant_id, account_id, kind, time, source)
) WITHOUT ROWID;

-- What a finding id stands for (fixed by the id's hash inputs).
CREATE TABLE finding_keys (
    key          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    rule         TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    account_name TEXT NOT NULL,
    product      TEXT NOT NULL,
    license_arn  TEXT NOT NULL,
    grant_arn    TEXT NOT NULL
);

CREATE TABLE findings (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key        INTEGER NOT NULL REFERENCES finding_keys (key),
    severity   TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    cost_usd   REAL,
    suppressed INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX findings_by_key ON findings (key);
";

/// Version 2: whether a grant is a per-account sub-grant, as the analysis decided it (by
/// relation: its parent is an organization or OU grant), instead of guessing from the text of
/// `parent_arn`, which AWS may fill with the seller's grant for a direct grant. Rows already
/// stored are decided the same way from the grants the store holds.
const V2: &str = "
ALTER TABLE grants ADD COLUMN sub_grant INTEGER NOT NULL DEFAULT 0;
UPDATE grants SET sub_grant = 1
WHERE grantee_kind = 'account'
  AND parent_arn IN (SELECT arn FROM grants WHERE grantee_kind IN ('ou', 'organization'));
";

/// Version 3: the public rates each run read (Bedrock's offers, the Price List), the latest per
/// product, dimension and source, with when they were read: a run that cannot read them uses
/// these.
const V3: &str = "
CREATE TABLE public_rates (
    product       TEXT NOT NULL,
    dimension_key TEXT NOT NULL,
    source        TEXT NOT NULL,
    price         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    unit          TEXT,
    read_at       TEXT NOT NULL, -- collection time of the run that read it
    PRIMARY KEY (product, dimension_key, source)
) WITHOUT ROWID;
";

/// Brings the store at `conn` up to [`VERSION`], one transaction per migration. Each step
/// reads the version inside its own `IMMEDIATE` transaction, so two processes opening a new
/// store at once do not both create it. `name` is the store's path, for messages.
pub fn migrate(conn: &mut Connection, name: &str) -> Result<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("failed to lock history store `{name}`"))?;
        let current: u32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .with_context(|| format!("failed to read the schema version of `{name}`"))?;
        if current > VERSION {
            bail!(
                "history store `{name}` has schema version {current}, newer than this build's {VERSION}: use a newer entitlement-audit"
            );
        }
        if current == VERSION {
            return Ok(());
        }
        let version = current + 1;
        tx.execute_batch(MIGRATIONS[current as usize])
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .and_then(|()| tx.commit())
            .with_context(|| {
                format!("failed to migrate history store `{name}` to schema version {version}")
            })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_store_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "mem").unwrap();
        migrate(&mut conn, "mem").unwrap();
        let v: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn refuses_a_newer_store() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, "x.sqlite").unwrap_err().to_string();
        assert!(err.contains("newer than this build"), "{err}");
    }
}
