//! Inline SVG charts for the HTML report, generated in Rust: no script, no network, and
//! readable without colour (every series has its own fill pattern, every bar its value as
//! text and a `<title>`). All text is escaped here; the templates insert the SVG as is.

use std::fmt::Write;

/// Fill patterns, one per series: Okabe-Ito colours, each with a different texture.
const PATTERNS: &[(&str, &str)] = &[
    ("#0072B2", ""),
    (
        "#E69F00",
        r##"<path d="M0 6L6 0M-1 1L1 -1M5 7L7 5" stroke="#000" stroke-width="1"/>"##,
    ),
    (
        "#009E73",
        r##"<circle cx="3" cy="3" r="1.2" fill="#fff"/>"##,
    ),
    (
        "#CC79A7",
        r##"<path d="M0 0L6 6M6 0L0 6" stroke="#000" stroke-width="0.7"/>"##,
    ),
    (
        "#56B4E9",
        r##"<path d="M0 3H6" stroke="#000" stroke-width="1"/>"##,
    ),
    (
        "#BBBBBB",
        r##"<path d="M3 0V6" stroke="#000" stroke-width="1"/>"##,
    ),
];

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 210.0;
const VALUE_W: f64 = 110.0;
const ROW_H: f64 = 22.0;
const LABEL_CHARS: usize = 30;

/// One bar: a label and one value per series.
pub struct Bar {
    pub label: String,
    pub values: Vec<f64>,
}

/// Escapes text for SVG/XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a label to `n` characters (on a character boundary) with an ellipsis.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn pattern(i: usize) -> String {
    format!("url(#ea-p{})", i % PATTERNS.len())
}

/// The pattern definitions every chart refers to; included once per page.
pub fn defs() -> String {
    let mut s = String::from(
        r#"<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>"#,
    );
    for (i, (colour, texture)) in PATTERNS.iter().enumerate() {
        let _ = write!(
            s,
            r#"<pattern id="ea-p{i}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="{colour}"/>{texture}</pattern>"#
        );
    }
    s.push_str("</defs></svg>");
    s
}

fn legend(s: &mut String, series: &[String], y: f64) {
    let mut x = 0.0;
    for (i, name) in series.iter().enumerate() {
        let label = short(name, 28);
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{y}" width="14" height="14" fill="{}" stroke="#333" stroke-width="0.5"/><text x="{}" y="{}">{}</text>"##,
            pattern(i),
            x + 18.0,
            y + 11.0,
            esc(&label)
        );
        x += 30.0 + 8.0 * label.chars().count() as f64;
        if x > WIDTH - 120.0 {
            break;
        }
    }
}

/// Horizontal bars, stacked by series, each labelled with its total.
pub fn hbars(title: &str, series: &[String], bars: &[Bar], fmt: fn(f64) -> String) -> String {
    let legend_h = if series.len() > 1 { 24.0 } else { 0.0 };
    let height = legend_h + ROW_H * bars.len().max(1) as f64 + 4.0;
    let max = bars
        .iter()
        .map(|b| b.values.iter().map(|v| v.max(0.0)).sum::<f64>())
        .fold(0.0, f64::max);
    let plot = WIDTH - LABEL_W - VALUE_W;
    let mut s = open(title, height);
    if series.len() > 1 {
        legend(&mut s, series, 2.0);
    }
    if bars.is_empty() {
        let _ = write!(s, r#"<text x="0" y="{}">no data</text>"#, legend_h + 15.0);
    }
    for (row, bar) in bars.iter().enumerate() {
        let y = legend_h + ROW_H * row as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end"><title>{}</title>{}</text>"#,
            LABEL_W - 6.0,
            y + 15.0,
            esc(&bar.label),
            esc(&short(&bar.label, LABEL_CHARS))
        );
        let mut x = LABEL_W;
        for (i, v) in bar.values.iter().enumerate() {
            let w = if max > 0.0 {
                v.max(0.0) / max * plot
            } else {
                0.0
            };
            if w <= 0.0 {
                continue;
            }
            let name = series.get(i).map_or("", String::as_str);
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{}" width="{w:.1}" height="{}" fill="{}" stroke="#333" stroke-width="0.5"><title>{}: {}: {}</title></rect>"##,
                y + 3.0,
                ROW_H - 6.0,
                pattern(i),
                esc(&bar.label),
                esc(name),
                esc(&fmt(*v))
            );
            x += w;
        }
        let total: f64 = bar.values.iter().sum();
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}">{}</text>"#,
            x + 6.0,
            y + 15.0,
            esc(&fmt(total))
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical columns, one per point, each labelled with its value.
pub fn columns(title: &str, points: &[(String, f64)], fmt: fn(f64) -> String) -> String {
    let height = 180.0;
    let (top, bottom) = (18.0, 36.0);
    let plot_h = height - top - bottom;
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let step = WIDTH / points.len().max(1) as f64;
    let mut s = open(title, height);
    if points.is_empty() {
        s.push_str(r#"<text x="0" y="20">no data</text>"#);
    }
    let _ = write!(
        s,
        r##"<line x1="0" y1="{0}" x2="{WIDTH}" y2="{0}" stroke="#333" stroke-width="1"/>"##,
        top + plot_h
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let h = if max > 0.0 {
            v.max(0.0) / max * plot_h
        } else {
            0.0
        };
        let x = step * i as f64 + step * 0.15;
        let w = step * 0.7;
        let y = top + plot_h - h;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}" stroke="#333" stroke-width="0.5"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"##,
            pattern(0),
            esc(label),
            esc(&fmt(*v)),
            x + w / 2.0,
            y - 4.0,
            esc(&fmt(*v)),
            x + w / 2.0,
            top + plot_h + 16.0,
            esc(&short(label, 12)),
        );
    }
    s.push_str("</svg>");
    s
}

fn open(title: &str, height: f64) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{0}" xmlns="http://www.w3.org/2000/svg"><title>{0}</title>"#,
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(x: f64) -> String {
        format!("{x}")
    }

    #[test]
    fn text_is_escaped() {
        let bars = [Bar {
            label: "<script>alert(1)</script>\"onmouseover=x".into(),
            values: vec![1.0],
        }];
        let svg = hbars("t<", &["s&".into()], &bars, plain);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("\"onmouseover"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("t&lt;"));
    }

    #[test]
    fn long_labels_are_shortened_on_char_boundaries() {
        let label = "é".repeat(5000);
        let svg = columns("weeks", &[(label.clone(), 2.0)], plain);
        assert!(svg.contains(&format!("{}…", "é".repeat(11))));
        let svg = hbars(
            "x",
            &[],
            &[Bar {
                label,
                values: vec![0.0],
            }],
            plain,
        );
        assert!(svg.contains("…"));
    }

    #[test]
    fn every_series_has_its_own_pattern() {
        let d = defs();
        for i in 0..PATTERNS.len() {
            assert!(d.contains(&format!("id=\"ea-p{i}\"")));
        }
        let svg = hbars(
            "x",
            &["a".into(), "b".into()],
            &[Bar {
                label: "l".into(),
                values: vec![1.0, 2.0],
            }],
            plain,
        );
        assert!(svg.contains("url(#ea-p0)") && svg.contains("url(#ea-p1)"));
    }
}
