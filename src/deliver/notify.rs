//! The chat notification after a run: a Slack-compatible message (`text` plus `blocks`) posted
//! to an incoming webhook when findings are new or resolved, or data is missing.
//!
//! It runs after `report`, from the same [`Report`] the reports were written from, so the
//! message says exactly what they say. Without run history every finding counts as new.
//! The POST goes through the AWS SDK's HTTP client (`aws-smithy-http-client`: hyper and
//! rustls, already built for the collectors), so it adds no HTTP stack of its own.

use std::time::Duration;

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::analyze::finding::Change;
use crate::model::Severity;
use crate::money::usd;
use crate::report::view::ChangedFinding;
use crate::report::Report;

/// Findings (and missing sources) listed by name in a message; the rest are counted.
pub const LISTED: usize = 5;

/// Longest account name, product or error message quoted in a message, in characters.
const QUOTED_CHARS: usize = 80;

/// A webhook that could not take the message. The URL is never part of the text: an incoming
/// webhook's URL is its credential.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the webhook URL must start with `https://` or `http://`")]
    BadUrl,
    #[error("could not reach the webhook at `{host}`")]
    Unreachable {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the webhook at `{host}` answered HTTP {status}: {body}")]
    Rejected {
        host: String,
        status: u16,
        body: String,
    },
}

/// What a message says: the figures of summary.json and the findings of findings.json.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub as_of: NaiveDate,
    pub tool_version: String,
    pub findings: usize,
    /// Findings per severity, gravest first, zero counts left out.
    pub by_severity: Vec<(Severity, u64)>,
    pub exposure_usd: f64,
    /// The run compared with; `None` without history or on its first run.
    pub previous_as_of: Option<NaiveDate>,
    pub new: usize,
    pub resolved: usize,
    /// The gravest new findings that are not suppressed, at most [`LISTED`].
    pub top_new: Vec<Line>,
    /// Resolved findings, at most [`LISTED`].
    pub top_resolved: Vec<Line>,
    pub complete: bool,
    /// Sources that could not be read, as `service operation (scope): code`.
    pub missing: Vec<String>,
    pub affected_rules: Vec<String>,
}

/// One finding in a message: the change lists' line.
pub type Line = ChangedFinding;

/// The gravest [`LISTED`] first, in the reports' one order.
fn gravest_first(lines: &mut Vec<Line>) {
    lines.sort_by(|a, b| a.gravity().order(&b.gravity()));
    lines.truncate(LISTED);
}

impl Digest {
    /// The digest of a run's report.
    pub fn new(r: &Report) -> Digest {
        let a = r.analysis;
        let mut top_new: Vec<Line> = a
            .findings
            .iter()
            .filter(|f| {
                !f.tracking.suppressed && f.tracking.change.is_none_or(|c| c == Change::New)
            })
            .map(Line::from)
            .collect();
        let new = r.history.map_or(top_new.len(), |h| h.changes.new);
        gravest_first(&mut top_new);
        let (previous_as_of, resolved, mut top_resolved) = match r.history {
            Some(h) => (
                h.changes.previous_run.as_ref().map(|p| p.as_of),
                h.changes.resolved,
                h.changes.resolved_findings.iter().map(Line::from).collect(),
            ),
            None => (None, 0, Vec::new()),
        };
        gravest_first(&mut top_resolved);
        let mut by_severity: Vec<(Severity, u64)> = Severity::ALL
            .into_iter()
            .map(|s| {
                (
                    s,
                    a.findings.iter().filter(|f| f.severity == s).count() as u64,
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        by_severity.reverse();
        let c = &a.completeness;
        Digest {
            as_of: r.run.as_of,
            tool_version: r.run.tool_version.clone(),
            findings: a.findings.len(),
            by_severity,
            exposure_usd: a.totals.exposure_usd,
            previous_as_of,
            new,
            resolved,
            top_new,
            top_resolved,
            complete: c.complete,
            missing: c
                .missing
                .iter()
                .map(|g| {
                    format!(
                        "{} {} ({}): {}",
                        g.service, g.operation, g.scope, g.error_code
                    )
                })
                .collect(),
            affected_rules: c.affected_rules.iter().map(|r| r.to_string()).collect(),
        }
    }

    /// Worth a message: something new, something resolved, or data missing.
    pub fn worth_sending(&self) -> bool {
        self.new > 0 || self.resolved > 0 || !self.complete
    }

    /// One line for notifications and clients that do not show blocks.
    pub fn headline(&self) -> String {
        let mut s = format!(
            "Entitlement audit {}: {} new, {} resolved, {} open findings",
            self.as_of, self.new, self.resolved, self.findings
        );
        if !self.complete {
            s.push_str(&format!(
                "; data incomplete ({} sources not read)",
                self.missing.len()
            ));
        }
        s
    }

    /// The Slack-compatible message: `text` (the headline) and `blocks`. `link` (the job's
    /// page, say) ends the message.
    pub fn message(&self, link: Option<&str>) -> Value {
        let mut blocks = vec![
            json!({"type": "header", "text": {"type": "plain_text",
                "text": format!("Entitlement audit {}", self.as_of)}}),
            section(&self.overview()),
        ];
        if !self.top_new.is_empty() {
            blocks.push(section(&listing("New findings", self.new, &self.top_new)));
        }
        if !self.top_resolved.is_empty() {
            blocks.push(section(&listing(
                "Resolved",
                self.resolved,
                &self.top_resolved,
            )));
        }
        if !self.complete {
            blocks.push(section(&self.missing_data()));
        }
        let mut context = vec![json!({"type": "mrkdwn",
            "text": format!("entitlement-audit {}", escape(&self.tool_version))})];
        if let Some(link) = link {
            context.push(json!({"type": "mrkdwn", "text": format!("<{}|Reports>", escape(link))}));
        }
        blocks.push(json!({"type": "context", "elements": context}));
        json!({"text": escape(&self.headline()), "blocks": blocks})
    }

    fn overview(&self) -> String {
        let since = match self.previous_as_of {
            Some(d) => format!("since {d}"),
            None => "(no earlier run to compare with: every finding is new)".to_string(),
        };
        let severities: Vec<String> = self
            .by_severity
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let open = if severities.is_empty() {
            format!("{} open", self.findings)
        } else {
            format!("{} open ({})", self.findings, severities.join(", "))
        };
        format!(
            "*{} new* and *{} resolved* findings {since}; {open}.\nPublic-price exposure *{}*. Data: {}.",
            self.new,
            self.resolved,
            usd(self.exposure_usd),
            if self.complete {
                "complete"
            } else {
                "*incomplete*"
            }
        )
    }

    fn missing_data(&self) -> String {
        let mut s = format!(
            ":warning: *Data incomplete*: {} sources could not be read; findings of {} may be missing.",
            self.missing.len(),
            if self.affected_rules.is_empty() {
                "no rule".to_string()
            } else {
                escape(&self.affected_rules.join(", "))
            }
        );
        for gap in self.missing.iter().take(LISTED) {
            s.push_str(&format!("\n• {}", escape(&shorten(gap))));
        }
        if self.missing.len() > LISTED {
            s.push_str(&format!("\n… and {} more", self.missing.len() - LISTED));
        }
        s
    }
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn listing(title: &str, total: usize, lines: &[Line]) -> String {
    let mut s = format!("*{title}*");
    for l in lines {
        s.push_str(&format!(
            "\n• {} {} {}: {} ({}), {}{}",
            l.finding.severity,
            escape(&l.finding.rule),
            escape(&l.finding.name),
            escape(&shorten(&l.finding.account_name)),
            escape(&l.finding.account_id),
            escape(&shorten(&l.finding.product)),
            l.cost_usd
                .filter(|c| *c > 0.0)
                .map_or(String::new(), |c| format!(", {}", usd(c)))
        ));
    }
    if total > lines.len() {
        s.push_str(&format!("\n… and {} more", total - lines.len()));
    }
    s
}

/// Slack's escaping for message text: `&`, `<` and `>` become entities, so an account name
/// cannot open a link or mention (`<!channel>`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= QUOTED_CHARS {
        return s.to_string();
    }
    let mut t: String = s.chars().take(QUOTED_CHARS - 1).collect();
    t.push('…');
    t
}

/// The host of an http(s) URL (never the path or query, which hold a webhook's secret).
pub fn webhook_host(url: &str) -> Result<&str, NotifyError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(NotifyError::BadUrl)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() {
        return Err(NotifyError::BadUrl);
    }
    Ok(host)
}

/// Posts `message` as JSON to `url`; any 2xx answer is success.
pub async fn post(url: &str, message: &Value) -> Result<(), NotifyError> {
    let host = webhook_host(url)?.to_string();
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .build();
    let connector = Connector::builder()
        .connector_settings(settings)
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build();
    let mut request = HttpRequest::new(SdkBody::from(message.to_string()));
    request
        .set_method("POST")
        .map_err(|_| NotifyError::BadUrl)?;
    request.set_uri(url).map_err(|_| NotifyError::BadUrl)?;
    request
        .headers_mut()
        .insert("content-type", "application/json");
    let unreachable = |e: Box<dyn std::error::Error + Send + Sync>| NotifyError::Unreachable {
        host: host.clone(),
        source: e,
    };
    let response = connector
        .call(request)
        .await
        .map_err(|e| unreachable(e.into()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = ByteStream::new(response.into_body())
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.into_bytes()).into_owned())
        .unwrap_or_default();
    Err(NotifyError::Rejected {
        host,
        status: status.as_u16(),
        body: shorten(body.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::finding::FindingRef;

    fn line(rule: &str, severity: &str, name: &str, cost: Option<f64>) -> Line {
        Line {
            finding: FindingRef {
                id: format!("{rule}-{name}"),
                rule: rule.into(),
                name: "public-price-exposure".into(),
                severity: Severity::parse(severity).unwrap(),
                account_id: "111122223333".into(),
                account_name: name.into(),
                product: "Claude 3 Haiku".into(),
                license_arn: String::new(),
                grant_arn: String::new(),
            },
            cost_usd: cost,
            message: String::new(),
        }
    }

    fn digest() -> Digest {
        Digest {
            as_of: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            tool_version: "0.1.0".into(),
            findings: 3,
            by_severity: vec![(Severity::High, 2), (Severity::Low, 1)],
            exposure_usd: 1234.5,
            previous_as_of: NaiveDate::from_ymd_opt(2026, 10, 24),
            new: 1,
            resolved: 0,
            top_new: vec![line("EA001", "high", "payments-prod", Some(105.93))],
            top_resolved: vec![],
            complete: true,
            missing: vec![],
            affected_rules: vec![],
        }
    }

    #[test]
    fn worth_sending_only_when_something_changed_or_is_missing() {
        let mut d = digest();
        assert!(d.worth_sending());
        d.new = 0;
        assert!(!d.worth_sending());
        d.resolved = 2;
        assert!(d.worth_sending());
        d.resolved = 0;
        d.complete = false;
        assert!(d.worth_sending());
    }

    #[test]
    fn hostile_names_cannot_link_or_mention_and_stay_short() {
        let mut d = digest();
        let long = "W".repeat(5000);
        d.top_new = vec![
            line("EA001", "high", "<!channel> <http://evil|click> & co", None),
            line("EA001", "high", &long, None),
        ];
        let m = d.message(None);
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(!text.contains("<http://evil"), "{text}");
        assert!(text.contains("&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co"));
        for block in m["blocks"].as_array().unwrap() {
            if let Some(t) = block["text"]["text"].as_str() {
                assert!(t.chars().count() <= 3000, "block over Slack's limit");
            }
        }
        assert!(!text.contains(&"W".repeat(QUOTED_CHARS)));
    }

    #[test]
    fn the_message_lists_new_findings_and_links_the_reports() {
        let m = digest().message(Some("https://github.com/o/r/actions/runs/1"));
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        let all = serde_json::to_string(&m).unwrap();
        assert!(all.contains("*1 new* and *0 resolved* findings since 2026-10-24"));
        assert!(all.contains("high EA001 public-price-exposure: payments-prod (111122223333), Claude 3 Haiku, $105.93"));
        assert!(all.contains("<https://github.com/o/r/actions/runs/1|Reports>"));
        assert_eq!(
            m["text"],
            "Entitlement audit 2026-10-31: 1 new, 0 resolved, 3 open findings"
        );
    }

    #[test]
    fn gravest_and_costliest_first() {
        let mut v = vec![
            line("EA010", "low", "a", Some(500.0)),
            line("EA001", "high", "b", Some(1.0)),
            line("EA002", "high", "c", Some(9.0)),
            line("EA003", "critical", "d", None),
        ];
        gravest_first(&mut v);
        let order: Vec<&str> = v.iter().map(|l| l.finding.rule.as_str()).collect();
        assert_eq!(order, ["EA003", "EA002", "EA001", "EA010"]);
    }

    #[test]
    fn the_webhook_host_never_includes_the_secret_path() {
        assert_eq!(
            webhook_host("https://hooks.slack.com/services/T0/B0/secret").unwrap(),
            "hooks.slack.com"
        );
        assert_eq!(
            webhook_host("http://user:pw@127.0.0.1:8080/x?y").unwrap(),
            "127.0.0.1:8080"
        );
        assert!(webhook_host("ftp://x").is_err());
        assert!(webhook_host("https:///x").is_err());
    }
}
