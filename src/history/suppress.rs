//! Suppressions: a TOML file of accepted findings. Each entry matches findings by rule,
//! account, product and/or grant (`*` globs) and says why, who owns it and until when.
//! Suppressed findings stay in the reports, marked, but do not count toward `--fail-on`;
//! expired entries stop applying and are reported; entries about to expire are listed.
//!
//! ```toml
//! [[suppress]]
//! rule = "EA008"                     # code or name
//! account = "1111*"
//! reason = "second grant kept while the OU grant rolls out"
//! owner = "platform-team@example.com"
//! expires = 2026-12-31               # last day it applies
//! ```

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::analyze::finding::Finding;

/// Entries expiring within this many days of the as-of date are listed in summary.json.
pub const EXPIRING_WITHIN_DAYS: i64 = 14;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    suppress: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: Option<String>,
    account: Option<String>,
    product: Option<String>,
    grant: Option<String>,
    reason: String,
    owner: String,
    expires: toml::Value,
}

/// One validated entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Position in the file, from 1.
    pub entry: usize,
    pub rule: Option<String>,
    pub account: Option<String>,
    pub product: Option<String>,
    pub grant: Option<String>,
    pub reason: String,
    pub owner: String,
    /// Last day the entry applies.
    pub expires: NaiveDate,
}

/// A parsed suppressions file.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressions {
    pub file: String,
    pub entries: Vec<Entry>,
}

/// The `suppressions` section of summary.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressionReport {
    pub file: String,
    pub entries: usize,
    /// Findings marked suppressed in this run.
    pub suppressed_findings: usize,
    /// Entries past their expiry date: they no longer apply.
    pub expired: Vec<EntryUse>,
    /// Entries that still apply but expire within 14 days of the as-of date.
    pub expiring_soon: Vec<EntryUse>,
    /// Entries that apply but matched no finding.
    pub unused: Vec<EntryUse>,
}

/// An entry and the findings it matched in this run (for an expired entry: would have).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryUse {
    #[serde(flatten)]
    pub entry: Entry,
    pub findings: usize,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn expiry(v: &toml::Value) -> Option<NaiveDate> {
    match v {
        toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
            let d = d.date?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    }
}

impl Suppressions {
    pub fn load(path: &Path) -> Result<Suppressions> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read suppressions `{}`", path.display()))?;
        Self::parse(&text, &path.display().to_string())
            .with_context(|| format!("invalid suppressions `{}`", path.display()))
    }

    /// Parses and validates a suppressions file; every problem is reported at once.
    pub fn parse(text: &str, file: &str) -> Result<Suppressions> {
        let raw: File = toml::from_str(text)?;
        let mut problems = Vec::new();
        let mut entries = Vec::new();
        for (i, r) in raw.suppress.into_iter().enumerate() {
            let n = i + 1;
            if [&r.rule, &r.account, &r.product, &r.grant]
                .iter()
                .all(|m| m.as_deref().is_none_or(|s| s.trim().is_empty()))
            {
                problems.push(format!(
                    "entry {n}: give at least one of `rule`, `account`, `product`, `grant`"
                ));
            }
            for (key, value) in [("reason", &r.reason), ("owner", &r.owner)] {
                if value.trim().is_empty() {
                    problems.push(format!("entry {n}: `{key}` must not be empty"));
                }
            }
            let Some(expires) = expiry(&r.expires) else {
                problems.push(format!(
                    "entry {n}: `expires` must be a date such as 2026-12-31"
                ));
                continue;
            };
            entries.push(Entry {
                entry: n,
                rule: r.rule,
                account: r.account,
                product: r.product,
                grant: r.grant,
                reason: r.reason,
                owner: r.owner,
                expires,
            });
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        Ok(Suppressions {
            file: file.to_string(),
            entries,
        })
    }

    /// Marks the findings matched by an entry still in force on `as_of` (the first such
    /// entry in the file wins) and reports expired, expiring and unused entries.
    pub fn apply(&self, findings: &mut [Finding], as_of: NaiveDate) -> SuppressionReport {
        let mut used = vec![0usize; self.entries.len()];
        let mut suppressed = 0;
        for f in findings.iter_mut() {
            let mut applied = false;
            for (i, e) in self.entries.iter().enumerate() {
                if !e.matches(f) {
                    continue;
                }
                used[i] += 1;
                if !applied && e.expires >= as_of {
                    applied = true;
                    suppressed += 1;
                    let t = &mut f.tracking;
                    t.suppressed = true;
                    t.suppression_reason = e.reason.clone();
                    t.suppression_owner = e.owner.clone();
                    t.suppression_expires = Some(e.expires);
                }
            }
        }
        let pick = |keep: &dyn Fn(&Entry, usize) -> bool| -> Vec<EntryUse> {
            self.entries
                .iter()
                .zip(&used)
                .filter(|(e, n)| keep(e, **n))
                .map(|(e, n)| EntryUse {
                    entry: e.clone(),
                    findings: *n,
                })
                .collect()
        };
        let soon = as_of + Duration::days(EXPIRING_WITHIN_DAYS);
        SuppressionReport {
            file: self.file.clone(),
            entries: self.entries.len(),
            suppressed_findings: suppressed,
            expired: pick(&|e, _| e.expires < as_of),
            expiring_soon: pick(&|e, _| e.expires >= as_of && e.expires <= soon),
            unused: pick(&|e, n| e.expires >= as_of && n == 0),
        }
    }
}

impl Entry {
    /// Every pattern the entry gives matches the finding (`rule` by code or by name).
    pub fn matches(&self, f: &Finding) -> bool {
        let ok = |pattern: &Option<String>, values: &[&str]| {
            pattern
                .as_deref()
                .is_none_or(|p| values.iter().any(|v| glob(p, v)))
        };
        ok(&self.rule, &[f.rule, f.name])
            && ok(&self.account, &[&f.account_id])
            && ok(&self.product, &[&f.product])
            && ok(&self.grant, &[&f.grant_arn])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("EA00*", "EA008"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(!glob("a*c", "ab"));
        assert!(glob(
            "*:grant:g-1*",
            "arn:aws:license-manager::1:grant:g-12"
        ));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Suppressions::parse(
            "[[suppress]]\nrule = \"EA001\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-12-31\nticket = \"X-1\"\n",
            "s.toml",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("ticket"), "{err:#}");
    }

    #[test]
    fn required_fields_and_problems_at_once() {
        let err = Suppressions::parse(
            "[[suppress]]\nrule = \"EA001\"\nreason = \"r\"\nexpires = 2026-12-31\n",
            "s.toml",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("owner"), "{err:#}");
        let err = Suppressions::parse(
            "[[suppress]]\nreason = \" \"\nowner = \"o\"\nexpires = \"soon\"\n",
            "s.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("at least one of"), "{err}");
        assert!(err.contains("`reason` must not be empty"), "{err}");
        assert!(err.contains("`expires` must be a date"), "{err}");
    }

    #[test]
    fn dates_as_toml_dates_or_strings() {
        let s = Suppressions::parse(
            "[[suppress]]\nrule = \"EA001\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2026-12-31\n\
             [[suppress]]\nproduct = \"Claude*\"\nreason = \"r\"\nowner = \"o\"\nexpires = \"2027-01-02\"\n",
            "s.toml",
        )
        .unwrap();
        assert_eq!(
            s.entries[1].expires,
            NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()
        );
        assert_eq!(s.entries[0].entry, 1);
    }
}
