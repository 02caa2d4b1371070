//! `report.html`: one self-contained page for people (governance, FinOps, whoever cleans up).
//!
//! Everything is inline and the Content-Security-Policy allows no network at all: the style
//! and the script are allowed by their SHA-256 hashes, computed here from the rendered
//! templates, so even markup that slipped past escaping could not run a script. Data for the
//! findings table travels as JSON in a `<script type="application/json">` block, with `<`, `>`
//! and `&` escaped so no string can close it.

use std::io::Write;

use anyhow::Result;
use base64::Engine as _;
use minijinja::value::Value;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::charts::{self, Bar};
use super::templates::{group_thousands, Templates};
use super::view::Page;
use crate::money::usd;

/// Renders the page into `w`.
pub fn write<W: Write>(mut w: W, tpl: &Templates, page: &Page) -> Result<()> {
    let base = Value::from_serialize(page);
    let css = tpl.render("report.css", base.clone())?;
    let js = tpl.render("report.js", base.clone())?;
    let ctx = minijinja::context! {
        csp => csp(&css, &js),
        css => Value::from_safe_string(css),
        js => Value::from_safe_string(js),
        findings_json => Value::from_safe_string(script_json(&page.findings.rows)?),
        chart_defs => Value::from_safe_string(charts::defs()),
        charts => charts_of(page),
        ..base
    };
    w.write_all(tpl.render("report.html", ctx)?.as_bytes())?;
    w.flush()?;
    Ok(())
}

/// The policy: nothing may load, only the page's own style and script may run.
pub fn csp(css: &str, js: &str) -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'",
        sha256_source(css),
        sha256_source(js)
    )
}

fn sha256_source(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` (so no
/// `</script>` or `<!--`), and no U+2028/U+2029.
pub fn script_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    let raw = serde_json::to_string(v)?;
    let mut out = String::with_capacity(raw.len() + raw.len() / 16);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn count(x: f64) -> String {
    group_thousands(x.round() as i64)
}

/// The charts, as SVG markup escaped in `charts`.
fn charts_of(page: &Page) -> Value {
    let coverage = charts::hbars(
        "Accounts per product by coverage state",
        &[
            "covered".into(),
            "awaiting activation".into(),
            "uncovered but spending".into(),
            "license ended".into(),
        ],
        &page
            .coverage
            .iter()
            .map(|p| Bar {
                label: p.product.clone(),
                values: vec![
                    p.accounts_covered as f64,
                    p.accounts_awaiting as f64,
                    p.accounts_uncovered as f64,
                    p.accounts_ended as f64,
                ],
            })
            .collect::<Vec<_>>(),
        count,
    );
    let f = &page.funnel;
    let funnel = charts::hbars(
        "Activation funnel: account and product pairs",
        &["pairs".into()],
        &[
            ("granted", f.granted),
            ("activated", f.activated),
            ("invoking", f.invoking),
        ]
        .map(|(label, n)| Bar {
            label: label.into(),
            values: vec![n as f64],
        }),
        count,
    );
    let weeks = &page.timeline.weeks;
    let week_points = |v: fn(&super::view::Week) -> f64| -> Vec<(String, f64)> {
        weeks
            .iter()
            .map(|w| (w.start.format("%b %d").to_string(), v(w)))
            .collect()
    };
    let activations = charts::columns(
        "Grant activations per week",
        &week_points(|w| w.activated as f64),
        count,
    );
    let exposure = charts::columns(
        "Accounts without an active grant for a product, per week",
        &week_points(|w| w.exposed_accounts as f64),
        count,
    );
    let exposure_usd = charts::columns(
        "Spend at public price per week",
        &week_points(|w| w.exposure_usd),
        usd,
    );
    let al = &page.allocation;
    let spend = charts::hbars(
        "Spend by team and product",
        &al.products,
        &al.teams
            .iter()
            .map(|t| Bar {
                label: match t.owner {
                    "team" => t.team.clone(),
                    other => format!("({})", other.replace('-', " ")),
                },
                values: t.by_product.clone(),
            })
            .collect::<Vec<_>>(),
        usd,
    );
    let safe = Value::from_safe_string;
    minijinja::context! {
        coverage => safe(coverage),
        funnel => safe(funnel),
        activations => safe(activations),
        exposure => safe(exposure),
        exposure_usd => safe(exposure_usd),
        spend => safe(spend),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_block() {
        let s = script_json(&["</script><!-- & \u{2028}"]).unwrap();
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(
            serde_json::from_str::<Vec<String>>(&s).unwrap(),
            ["</script><!-- & \u{2028}"]
        );
    }

    #[test]
    fn csp_allows_no_network() {
        let p = csp("a", "b");
        assert!(p.starts_with("default-src 'none';"));
        assert!(!p.contains("http") && !p.contains("unsafe"));
        // The hash of "a", as browsers compute it.
        assert!(p.contains("'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='"));
    }
}
