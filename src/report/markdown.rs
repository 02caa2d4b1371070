//! `summary.md`: the headline numbers and the new (or, without history, the gravest) findings
//! in Markdown, for GitHub job summaries and chat. Every value is Markdown-escaped by the
//! template environment, so an account name cannot add a link or break a table.

use std::io::Write;

use anyhow::Result;
use minijinja::value::Value;

use super::templates::Templates;
use super::view::Page;

/// Renders the summary into `w`.
pub fn write<W: Write>(mut w: W, tpl: &Templates, page: &Page) -> Result<()> {
    w.write_all(
        tpl.render("summary.md", Value::from_serialize(page))?
            .as_bytes(),
    )?;
    w.flush()?;
    Ok(())
}
