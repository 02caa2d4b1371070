//! The history stage of a run, in its two halves: [`Recall::open`] before the analysis (what
//! the store remembers goes into the snapshot as events), [`Recall::compare`] and
//! [`Recall::record`] after it (the findings against the previous run, then the run stored).
//! The analysis itself never sees the store.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::{
    activation, changes, observe, ActivationRow, Changes, Observed, PastRun, RunRecord, Store,
};
use crate::analyze::Analysis;
use crate::config::Config;
use crate::progress;
use crate::snapshot::Snapshot;

/// The store, opened before the analysis, with what it told the snapshot.
pub struct Recall {
    store: Store,
    /// Shown in the progress line (`history.sqlite`, an `s3://` URL).
    name: String,
    as_of: NaiveDate,
    previous: Option<PastRun>,
    /// Stored events given back to the snapshot.
    remembered: usize,
    /// Status changes seen between the previous run and this one.
    observed: Vec<Observed>,
}

/// How the run is stored.
pub struct RecordOptions {
    pub keep_weeks: u32,
    pub recorded_at: DateTime<Utc>,
    /// Tests only: sleep this long inside the write transaction.
    pub pause: Option<Duration>,
}

/// When the snapshot could not read its rates (a ledger gap on `rates`), the public rates an
/// earlier run read are given back, as `history` rates, for the products the snapshot has
/// none for; returns what was given, for the progress line.
fn remember_public_rates(
    snap: &mut Snapshot,
    stored: Vec<(crate::model::Rate, chrono::DateTime<chrono::Utc>)>,
) -> Option<String> {
    use crate::analyze::products::product_key;
    use crate::model::RateSource;
    if !snap
        .incomplete_tables()
        .contains(&crate::snapshot::Table::Rates)
    {
        return None;
    }
    let public = |s: &RateSource| matches!(s, RateSource::PublicOffer | RateSource::PriceList);
    let known: std::collections::BTreeSet<String> = snap
        .rates
        .iter()
        .filter(|r| public(&r.source))
        .map(|r| product_key(&r.product))
        .collect();
    let mut given: std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>> =
        Default::default();
    for (mut rate, read_at) in stored {
        if known.contains(&product_key(&rate.product)) {
            continue;
        }
        let oldest = given.entry(rate.product.clone()).or_insert(read_at);
        *oldest = (*oldest).min(read_at);
        rate.source = RateSource::History;
        snap.rates.push(rate);
    }
    if given.is_empty() {
        return None;
    }
    let list: Vec<String> = given
        .iter()
        .map(|(p, t)| format!("{p} (read {})", t.date_naive()))
        .collect();
    Some(format!(
        "the public rates could not be read: using those the history store remembers for {}",
        list.join(", ")
    ))
}

impl Recall {
    /// Opens the store at `path` for the organization of `snap`, and feeds the snapshot the
    /// events the store remembers up to `as_of` and the transitions observed since the
    /// previous run.
    pub fn open(
        path: &Path,
        name: String,
        snap: &mut Snapshot,
        config: &Config,
        as_of: NaiveDate,
    ) -> Result<Recall> {
        let store = Store::open(path)?;
        store.check_organization(&snap.organization.id)?;
        let previous = progress::timed("history read previous run", || store.previous(as_of))?;
        let events = progress::timed("history read events", || store.events_until(as_of))?;
        let remembered = observe::feed(snap, events);
        let observed = progress::timed("history observe", || match &previous {
            Some(p) => observe::transitions(snap, config, as_of, p),
            None => Vec::new(),
        });
        observe::feed(snap, observed.iter().map(|o| o.event.clone()));
        let rates = store.public_rates()?;
        if let Some(line) = remember_public_rates(snap, rates) {
            progress::line(&line);
        }
        Ok(Recall {
            store,
            name,
            as_of,
            previous,
            remembered,
            observed,
        })
    }

    /// Marks each finding new or persisting against the previous run, and lists the resolved.
    pub fn compare(&self, analysis: &mut Analysis) -> Changes {
        changes::compare(
            &mut analysis.findings,
            self.previous.as_ref(),
            self.as_of,
            &analysis.completeness.affected_rules,
        )
    }

    /// Stores the run (suppressions already applied) and reads its activation history back.
    pub fn record(
        mut self,
        snap: &Snapshot,
        analysis: &Analysis,
        changes: &Changes,
        opts: &RecordOptions,
    ) -> Result<Vec<ActivationRow>> {
        let record = RunRecord {
            as_of: self.as_of,
            organization_id: &snap.organization.id,
            recorded_at: opts.recorded_at,
            tool_version: env!("CARGO_PKG_VERSION"),
            source: &snap.manifest.source,
            collected_at: snap.manifest.collected_at,
            complete: snap.is_complete(),
            incomplete_tables: &analysis.completeness.incomplete_tables,
            grants: &analysis.grants,
            events: &snap.grant_events,
            observed: &self.observed,
            findings: &analysis.findings,
            new_findings: changes.new,
            resolved_findings: changes.resolved,
            public_rates: &snap.rates,
        };
        progress::timed("history write", || {
            self.store.record(&record, opts.keep_weeks, opts.pause)
        })?;
        progress::line(&format!(
            "history `{}`: {}; {} new, {} persisting, {} resolved; {} events remembered, {} changes observed between runs",
            self.name,
            self.previous
                .as_ref()
                .map_or("first run".to_string(), |p| format!("previous run {}", p.as_of)),
            changes.new,
            changes.persisting,
            changes.resolved,
            self.remembered,
            self.observed.len()
        ));
        progress::timed("history activation", || {
            activation::history(&self.store, self.as_of)
        })
    }
}
