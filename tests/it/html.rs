//! The human-facing reports under hostile input: every AWS-provided string comes out escaped
//! in report.html (markup, SVG and the JSON block) and in summary.md, nothing from the data
//! can add a script, an event handler or a link, and the page loads nothing from the network.

use crate::support::reports;

use std::collections::BTreeMap;
use std::fs;

use entitlement_audit::analyze::Analysis;
use reports::{hostile, long, HOSTILE};

/// One start tag: name and attributes (names lowercased, values raw).
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: BTreeMap<String, String>,
    /// Text up to the closing tag, for `<script>` and `<style>` (raw-text elements).
    raw: Option<String>,
}

/// Decodes the character references the escaper produces (named and numeric).
fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let r = &rest[i + 1..];
        let end = r.find(';').expect("terminated reference");
        let ent = &r[..end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            _ if ent.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&ent[2..], 16).unwrap()).unwrap()
            }
            _ if ent.starts_with('#') => char::from_u32(ent[1..].parse().unwrap()).unwrap(),
            _ => panic!("unknown reference `&{ent};`"),
        };
        out.push(c);
        rest = &r[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A small HTML tokenizer: enough to list every tag a browser would build from the page.
/// Escaped text contains no `<`, so every `<` outside comments and raw text opens a tag.
fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").expect("unterminated comment");
            rest = &r[end + 3..];
            continue;
        }
        if rest.starts_with("</") || rest.starts_with("<!") {
            rest = &rest[rest.find('>').expect("unterminated tag") + 1..];
            continue;
        }
        let body = &rest[1..];
        let name_end = body
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap();
        let name = body[..name_end].to_ascii_lowercase();
        let mut attrs = BTreeMap::new();
        let mut s = &body[name_end..];
        loop {
            s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if let Some(r) = s.strip_prefix('>') {
                s = r;
                break;
            }
            let an_end = s
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
                .unwrap();
            let an = s[..an_end].to_ascii_lowercase();
            s = &s[an_end..];
            let mut value = String::new();
            if let Some(r) = s.trim_start().strip_prefix('=') {
                let r = r.trim_start();
                let (v, after) = match r.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let end = r[1..].find(q).unwrap();
                        (&r[1..end + 1], &r[end + 2..])
                    }
                    _ => {
                        let end = r.find(|c: char| c.is_whitespace() || c == '>').unwrap();
                        (&r[..end], &r[end..])
                    }
                };
                value = decode(v);
                s = after;
            }
            attrs.insert(an, value);
        }
        let raw = if name == "script" || name == "style" {
            let close = format!("</{name}");
            let end = s
                .to_ascii_lowercase()
                .find(&close)
                .expect("raw text closed");
            let text = s[..end].to_string();
            s = &s[end..];
            Some(text)
        } else {
            None
        };
        out.push(Tag { name, attrs, raw });
        rest = s;
    }
    out
}

fn render() -> (String, String, Analysis) {
    let (a, run) = hostile();
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    (html, md, a)
}

#[test]
fn hostile_names_cannot_add_scripts_handlers_or_links() {
    let (html, _, _) = render();
    let tags = tags(&html);

    let scripts: Vec<&Tag> = tags.iter().filter(|t| t.name == "script").collect();
    assert_eq!(
        scripts.len(),
        2,
        "only the data block and the page's own script"
    );
    assert_eq!(
        scripts[0].attrs.get("type").map(String::as_str),
        Some("application/json")
    );
    assert!(scripts[1].attrs.is_empty(), "{:?}", scripts[1].attrs);

    for t in &tags {
        for (name, value) in &t.attrs {
            assert!(
                !name.starts_with("on"),
                "event handler `{name}` on <{}>",
                t.name
            );
            assert!(
                name != "src" && name != "srcset" && name != "action",
                "<{}> {name}",
                t.name
            );
            assert_ne!(name, "style", "style attributes are blocked by the CSP");
            if name == "href" {
                // Anchors, and the run's own files beside the page.
                assert!(
                    value.starts_with('#')
                        || value.ends_with(".csv")
                        || value == "fix-plan.sh"
                        || value == "fix-plan.json",
                    "link `{value}` on <{}>",
                    t.name
                );
            }
            if value.contains("url(") {
                assert!(value.starts_with("url(#"), "`{value}`");
            }
        }
        assert!(
            !matches!(
                t.name.as_str(),
                "img" | "iframe" | "object" | "embed" | "link" | "base" | "form"
            ),
            "<{}> from data",
            t.name
        );
    }

    // The hostile strings are there, as text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(html.contains("&lt;img src=x onerror=alert(5)&gt;"));
    assert!(html.contains(&long()), "long names are kept whole in text");
}

#[test]
fn the_json_block_round_trips_and_cannot_close_itself() {
    let (html, _, a) = render();
    let data = tags(&html)
        .into_iter()
        .find(|t| t.attrs.get("id").map(String::as_str) == Some("findings-data"))
        .and_then(|t| t.raw)
        .expect("findings data block");
    assert!(!data.contains('<') && !data.contains('>') && !data.contains('&'));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&data).unwrap();
    assert_eq!(rows.len(), a.findings.len().min(500));
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["acct_name"].as_str().unwrap())
        .collect();
    for h in HOSTILE {
        assert!(names.contains(h), "`{h}` lost on the way");
    }
}

#[test]
fn the_page_loads_nothing_and_long_strings_wrap() {
    let (html, _, _) = render();
    let tags = tags(&html);
    let csp = tags
        .iter()
        .find(|t| t.attrs.get("http-equiv").map(String::as_str) == Some("Content-Security-Policy"))
        .map(|t| t.attrs["content"].clone())
        .expect("a CSP meta tag");
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(!csp.contains("http") && !csp.contains('*'), "{csp}");
    let style = tags
        .iter()
        .find(|t| t.name == "style")
        .and_then(|t| t.raw.clone())
        .unwrap();
    assert!(!style.contains("@import") && !style.contains("@font-face"));
    assert!(
        !style.replace("url(#", "").contains("url("),
        "no external resources in CSS"
    );
    assert!(style.contains("overflow-wrap: anywhere"));
    assert!(style.contains("table-layout: fixed"));
    let script = tags
        .iter()
        .filter(|t| t.name == "script")
        .nth(1)
        .and_then(|t| t.raw.clone())
        .unwrap();
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "fetch(",
        "XMLHttpRequest",
        "import(",
    ] {
        assert!(!script.contains(banned), "`{banned}` in the page script");
    }
}

#[test]
fn incomplete_data_is_shown_as_missing_not_as_zero() {
    let (html, md, _) = render();
    assert!(html.contains("Data is incomplete."));
    assert!(html.contains("EA001 public-price-exposure"));
    assert!(html.contains("EA005 usage-after-cancellation"));
    assert!(html.contains(r#"<div class="card incomplete" id="card-exposure">"#));
    assert!(
        html.contains("at least $"),
        "incomplete money is a lower bound"
    );
    assert!(md.contains("**Data is incomplete:**"));
    assert!(md.contains("(incomplete)"));
}

#[test]
fn summary_md_escapes_markup_links_and_pipes() {
    let (_, md, _) = render();
    assert!(!md.contains('<'), "raw HTML in summary.md");
    assert!(
        !md.contains("](") && !md.contains("[click]"),
        "a link from data"
    );
    for line in md
        .lines()
        .filter(|l| l.starts_with("| high ") || l.starts_with("| medium "))
    {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "a pipe from data split the row: {line}");
    }
    assert!(md.contains("\\[click\\]\\(javascript:alert\\(7\\)\\) \\| pipe"));
}

#[test]
fn the_demo_report_has_every_section() {
    let (a, run) = reports::demo();
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    for id in [
        "headline",
        "changes",
        "findings",
        "coverage",
        "timeline",
        "allocation",
        "cleanup",
        "completeness",
        "suppressed",
    ] {
        assert!(
            html.contains(&format!(r#"<section id="{id}">"#)),
            "section `{id}`"
        );
    }
    assert!(html.contains(r#"id="no-history""#));
    assert!(
        html.contains("FAIL: not done"),
        "the demo's cancelled license still has grants"
    );
    let exposure = entitlement_audit::money::usd(a.totals.exposure_usd);
    assert!(html.contains(&exposure), "exposure headline {exposure}");
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 6);
    assert!(html.contains("Spend at public price per week"));
    // Team-less spend is shown as what it is: the subscriber's shared pool, or unallocated.
    assert!(html.contains("<em>shared pool</em>") && html.contains("<em>unallocated</em>"));
}

#[test]
fn changes_render_when_history_provides_them() {
    use entitlement_audit::analyze::finding::{Change, FindingRef};
    use entitlement_audit::history::{self, PreviousRun, ResolvedFinding, RunHistory};
    use entitlement_audit::report::Report;
    let (mut a, run) = reports::hostile();
    let previous = chrono::NaiveDate::from_ymd_opt(2026, 10, 24).unwrap();
    for (i, f) in a.findings.iter_mut().enumerate() {
        f.tracking.change = Some(if i < 3 {
            Change::New
        } else {
            Change::Persisting
        });
    }
    let history = RunHistory {
        changes: history::Changes {
            previous_run: Some(PreviousRun {
                as_of: previous,
                tool_version: "0".into(),
                complete: true,
            }),
            new: 3,
            persisting: 7,
            resolved: 1,
            resolved_findings: vec![ResolvedFinding {
                finding: FindingRef::from(&a.findings[3]),
                first_seen: previous,
                last_seen: previous,
                data_incomplete: false,
            }],
        },
        activation: history::Activation::ready(Vec::new()),
    };
    let r = Report {
        history: Some(&history),
        ..Report::of(&a, &run)
    };
    let dir = tempfile::tempdir().unwrap();
    reports::write_report(&r, dir.path());
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!html.contains(r#"id="no-history""#));
    assert!(html.contains("Compared with the run of 2026-10-24: <strong>3</strong> new, <strong>1</strong> resolved, 7 persisting."));
    assert_eq!(tags(&html).iter().filter(|t| t.name == "script").count(), 2);
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("### Changes since 2026-10-24"), "{md}");
    assert!(md.contains("3 new, 1 resolved, 7 persisting."));
    assert!(!md.contains('<'));
}

#[test]
fn an_overridden_template_is_used_and_its_hash_allowed() {
    use entitlement_audit::report;
    let (a, run) = reports::demo();
    let templates = tempfile::tempdir().unwrap();
    let brand = "body { border-top: 4px solid #6b2fbf; }\n";
    fs::write(templates.path().join("report.css"), brand).unwrap();
    let opts = report::Templates::new(Some(templates.path())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    report::write_all(
        &report::Report::of(&a, &run),
        dir.path(),
        &opts,
        &report::Outputs::default(),
    )
    .unwrap();
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    let tags = tags(&html);
    let style = tags
        .iter()
        .find(|t| t.name == "style")
        .and_then(|t| t.raw.clone());
    assert_eq!(style.as_deref(), Some(brand));
    let csp = &tags
        .iter()
        .find(|t| t.attrs.contains_key("http-equiv"))
        .unwrap()
        .attrs["content"];
    let js = tags
        .iter()
        .filter(|t| t.name == "script")
        .nth(1)
        .and_then(|t| t.raw.clone())
        .unwrap();
    assert_eq!(*csp, report::html::csp(brand, &js));
}

/// The weekly exposure chart's dollars are the exposure total, split by week.
#[test]
fn weekly_exposure_adds_up_to_the_total() {
    use entitlement_audit::report::{view::Page, Report};
    let (a, run) = reports::demo();
    let page = Page::new(&Report::of(&a, &run));
    let weeks = &page.timeline.weeks;
    let sum: f64 = weeks.iter().map(|w| w.exposure_usd).sum();
    assert!(a.totals.exposure_usd > 0.0);
    assert!(
        (sum - a.totals.exposure_usd).abs() < 0.005,
        "{sum} vs {}",
        a.totals.exposure_usd
    );
    assert!(weeks.iter().filter(|w| w.exposure_usd > 0.0).count() > 1);

    // summary.md shows the last six of those weeks, with the same dollars.
    let dir = tempfile::tempdir().unwrap();
    reports::write(&a, &run, dir.path());
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    let section = md
        .split("### Public-price exposure by week")
        .nth(1)
        .expect("the weekly exposure section");
    for w in &weeks[weeks.len() - 6..] {
        let row = format!(
            "| {} | {} |",
            w.start,
            entitlement_audit::money::usd(w.exposure_usd).replace('$', "\\$")
        );
        assert!(section.contains(&row), "missing `{row}`");
    }
    assert!(!section.contains(&format!("| {} |", weeks[0].start)));
}

/// A first run with history marks every finding new; at 6,000 findings the change lists used
/// to list them all (several MB of page). They list the gravest `TOP_CHANGES` with the counts.
#[test]
fn a_first_run_with_thousands_of_new_findings_keeps_the_page_small() {
    use entitlement_audit::analyze::finding::Change;
    use entitlement_audit::history::{self, RunHistory};
    use entitlement_audit::report::view::TOP_CHANGES;
    use entitlement_audit::report::Report;
    let (mut a, run) = reports::demo();
    let base = a.findings.clone();
    a.findings = (0..6000)
        .map(|i| {
            let mut f = base[i % base.len()].clone();
            f.id = format!("{}-{i}", f.id);
            f.tracking.change = Some(Change::New);
            f
        })
        .collect();
    let gravest = a
        .findings
        .iter()
        .max_by(|x, y| y.gravity().order(&x.gravity()))
        .unwrap()
        .id
        .clone();
    let history = RunHistory {
        changes: history::Changes {
            new: a.findings.len(),
            ..history::Changes::default()
        },
        activation: history::Activation::ready(Vec::new()),
    };
    let r = Report {
        history: Some(&history),
        ..Report::of(&a, &run)
    };
    let dir = tempfile::tempdir().unwrap();
    reports::write_report(&r, dir.path());
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.len() < 1_000_000,
        "report.html is {} bytes",
        html.len()
    );
    let section = &html[html.find(r#"<section id="changes">"#).unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("<strong>6000</strong> new"), "{section}");
    assert!(
        section.contains(&format!("The {TOP_CHANGES} gravest of 6000")),
        "{section}"
    );
    assert_eq!(section.matches("<tr><td>").count(), TOP_CHANGES);
    // The gravest finding is listed first.
    let first_row = &section[section.find("<tr><td>").unwrap()..];
    let gravest_rule = &gravest[..5];
    assert!(first_row[..400.min(first_row.len())].contains(gravest_rule));
    let md = fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("6000 new, 0 resolved"), "{md}");
    assert!(md.contains("5980 more new finding(s): all of them in findings.csv"));
}
