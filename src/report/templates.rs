//! The report templates: built into the binary from `report-templates/`, each replaceable by a
//! file of the same name in `--templates DIR`. Used by the HTML and Markdown writers.
//!
//! Escaping is on by default: `.html` templates escape HTML, `.md` templates escape Markdown
//! (so an account name cannot open a link or break a table), and an undefined variable is an
//! error rather than blank text.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use crate::money::usd;

/// The built-in templates, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "report.html",
        include_str!("../../report-templates/report.html"),
    ),
    (
        "report.css",
        include_str!("../../report-templates/report.css"),
    ),
    (
        "report.js",
        include_str!("../../report-templates/report.js"),
    ),
    (
        "summary.md",
        include_str!("../../report-templates/summary.md"),
    ),
];

const MARKDOWN: AutoEscape = AutoEscape::Custom("markdown");

/// The template set of a run.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, overridden by the files in `dir` when given. Every built-in
    /// name is compiled here, so a broken override fails before the analysis runs.
    pub fn new(dir: Option<&Path>) -> Result<Templates> {
        if let Some(d) = dir {
            if !d.is_dir() {
                bail!("templates directory `{}` does not exist", d.display());
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(auto_escape);
        env.set_formatter(format_value);
        let dir: Option<PathBuf> = dir.map(Path::to_path_buf);
        env.set_loader(move |name| load(dir.as_deref(), name));
        env.add_filter("usd", |x: f64| usd(x));
        env.add_filter("int", |x: f64| group_thousands(x.round() as i64));
        env.add_filter("pct", |x: f64| format!("{:.1}%", x * 100.0));
        let t = Templates { env };
        for (name, _) in BUILTIN {
            t.env
                .get_template(name)
                .with_context(|| format!("template `{name}`"))?;
        }
        Ok(t)
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String> {
        let t = self
            .env
            .get_template(name)
            .with_context(|| format!("template `{name}`"))?;
        t.render(ctx)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .with_context(|| format!("failed to render template `{name}`"))
    }
}

fn auto_escape(name: &str) -> AutoEscape {
    match name.rsplit('.').next() {
        Some("html" | "htm" | "svg") => AutoEscape::Html,
        Some("md") => MARKDOWN,
        _ => AutoEscape::None,
    }
}

fn load(dir: Option<&Path>, name: &str) -> Result<Option<String>, Error> {
    if name.contains("..") || name.starts_with('/') || name.contains('\\') {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("template name `{name}` leaves the templates directory"),
        ));
    }
    if let Some(path) = dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
        return std::fs::read_to_string(&path).map(Some).map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("failed to read `{}`", path.display()),
            )
            .with_source(e)
        });
    }
    Ok(BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, src)| src.to_string()))
}

/// The default formatter, plus Markdown escaping for `.md` templates.
fn format_value(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if state.auto_escape() == MARKDOWN && !value.is_safe() {
        let text = if value.is_none() || value.is_undefined() {
            String::new()
        } else {
            value.to_string()
        };
        out.write_str(&escape_markdown(&text))
            .map_err(|e| Error::new(ErrorKind::WriteFailure, "markdown output").with_source(e))
    } else {
        minijinja::escape_formatter(out, state, value)
    }
}

/// Escapes text for Markdown (GitHub flavour): inline markup, links, HTML and table pipes
/// become literal, and line breaks become spaces so a value stays in its table cell.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `1234567` -> `1,234,567`.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_neutralizes_links_html_and_tables() {
        let s = escape_markdown("[x](javascript:alert(1)) <b>|\n**");
        assert_eq!(
            s,
            "\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;\\| \\*\\*"
        );
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(group_thousands(-1000), "-1,000");
    }

    #[test]
    fn override_replaces_a_builtin_and_undefined_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("summary.md"), "custom {{ name }}").unwrap();
        let t = Templates::new(Some(dir.path())).unwrap();
        let ok = t
            .render("summary.md", minijinja::context! { name => "a|b" })
            .unwrap();
        assert_eq!(ok, "custom a\\|b");
        assert!(t.render("summary.md", minijinja::context! {}).is_err());
    }

    #[test]
    fn broken_override_fails_early() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.html"), "{% if %}").unwrap();
        let err = Templates::new(Some(dir.path())).err().unwrap();
        assert!(format!("{err:#}").contains("report.html"), "{err:#}");
    }
}
