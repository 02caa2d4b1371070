//! `entitlement-audit history runs` and `history show ACCOUNT|GRANT`: the store as text.

use std::io::Write;

use anyhow::{Context, Result};
use rusqlite::params;

use super::store::{time_of, Store};

/// One line per stored run, oldest first.
pub fn runs(store: &Store, mut out: impl Write) -> Result<()> {
    let runs = store.runs()?;
    writeln!(
        out,
        "{:<10}  {:<25}  {:<8}  {:<8}  {:<8}  {:>6}  {:>8}  {:>5}  {:>8}",
        "as_of",
        "recorded_at",
        "version",
        "source",
        "complete",
        "grants",
        "findings",
        "new",
        "resolved"
    )?;
    for r in &runs {
        writeln!(
            out,
            "{:<10}  {:<25}  {:<8}  {:<8}  {:<8}  {:>6}  {:>8}  {:>5}  {:>8}",
            r.as_of,
            r.recorded_at,
            r.tool_version,
            r.source,
            if r.complete { "yes" } else { "no" },
            r.grants,
            r.findings,
            r.new_findings,
            r.resolved_findings
        )?;
    }
    writeln!(out, "{} runs in `{}`", runs.len(), store.path().display())?;
    Ok(())
}

/// The timeline of an account (12 digits) or a grant (ARN): grant events, status changes
/// between runs, and the findings about it with the runs that had them.
pub fn show(store: &Store, target: &str, mut out: impl Write) -> Result<()> {
    let lines = timeline(store, target).with_context(|| {
        format!(
            "failed to read the timeline of `{target}` from `{}`",
            store.path().display()
        )
    })?;
    if lines.is_empty() {
        anyhow::bail!(
            "`{target}` is in no stored run: give an account id or a grant ARN (`history runs` lists the runs)"
        );
    }
    for (_, line) in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// (sort key, text) lines.
fn timeline(store: &Store, target: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let conn = store.conn();
    let is_grant = target.starts_with("arn:");
    // The grants concerned: the grant (and its sub-grants), or every grant reaching the account.
    let grant_filter = if is_grant {
        "g.arn = ?1 OR g.parent_arn = ?1"
    } else {
        "g.grantee_id = ?1"
    };
    let mut lines = Vec::new();

    let mut stmt = conn.prepare(&format!(
        "SELECT e.time, e.kind, e.source, e.observed_after, e.observed_by, g.arn, g.product, e.account_id
         FROM grant_events e JOIN grants g ON g.id = e.grant_id
         WHERE ({grant_filter}) OR (e.account_id = ?1 AND ?2 = 0)
         ORDER BY e.time"
    ))?;
    let rows = stmt.query_map(params![target, is_grant], |r| {
        let time = time_of(r.get(0)?);
        let kind: String = r.get(1)?;
        let source: String = r.get(2)?;
        let after: Option<String> = r.get(3)?;
        let by: Option<String> = r.get(4)?;
        let arn: String = r.get(5)?;
        let product: String = r.get(6)?;
        let when = match (&after, &by) {
            (Some(a), Some(b)) => format!("after {a}, by {b}"),
            _ => time.format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        // Same instant: created before accepted before activated (the order of `EventKind`).
        let rank = crate::model::EventKind::KNOWN
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(9);
        let at = by.map_or_else(|| time.to_rfc3339(), |b| format!("{b}T23:59:59"));
        let key = format!("{at} {rank}");
        Ok((
            key,
            format!("{when:<28}  {kind:<10} {source:<10} {product}  {arn}"),
        ))
    })?;
    for row in rows {
        lines.push(row?);
    }

    // Status changes from run to run.
    let mut stmt = conn.prepare(&format!(
        "SELECT g.arn, g.product, r.as_of, o.status
         FROM grant_observations o JOIN grants g ON g.id = o.grant_id JOIN runs r ON r.id = o.run_id
         WHERE {grant_filter}
         ORDER BY g.arn, r.as_of"
    ))?;
    let rows = stmt.query_map(params![target], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut last: Option<(String, String)> = None;
    for row in rows {
        let (arn, product, as_of, status) = row?;
        let changed = last.as_ref().is_none_or(|(a, s)| *a != arn || *s != status);
        if changed {
            let what = if last.as_ref().is_some_and(|(a, _)| *a == arn) {
                "status"
            } else {
                "first seen"
            };
            lines.push((
                format!("{as_of}T23:59:59"),
                format!(
                    "{:<28}  {what:<10} {status:<10} {product}  {arn}",
                    format!("run {as_of}")
                ),
            ));
        }
        last = Some((arn, status));
    }

    // Findings, with the first and last run that had them.
    let finding_filter = if is_grant {
        "k.grant_arn = ?1"
    } else {
        "k.account_id = ?1"
    };
    let latest: Option<String> = conn.query_row("SELECT max(as_of) FROM runs", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT k.id, k.product, min(r.as_of), max(r.as_of)
         FROM findings f JOIN finding_keys k ON k.key = f.key JOIN runs r ON r.id = f.run_id
         WHERE {finding_filter} GROUP BY k.id ORDER BY min(r.as_of), k.id"
    ))?;
    let rows = stmt.query_map(params![target], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (id, product, first, last) = row?;
        let state = if Some(&last) == latest.as_ref() {
            "open".to_string()
        } else {
            format!("last seen {last}")
        };
        lines.push((
            format!("{first}T23:59:59"),
            format!(
                "{:<28}  {:<10} {id}  {product}  ({state})",
                format!("run {first}"),
                "finding"
            ),
        ));
    }
    lines.sort();
    Ok(lines)
}
