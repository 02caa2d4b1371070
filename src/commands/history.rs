//! `history runs` and `history show TARGET`: the run history, read-only.

use std::io::Write;

use anyhow::{bail, Context, Result};

use super::{exit, load};
use crate::cli::{HistoryArgs, HistoryCommand};
use crate::deliver::remote::{Location, StateFile, S3};
use crate::history::{self, Store};

/// `history runs` / `history show TARGET`.
pub fn history(args: &HistoryArgs, out: impl Write) -> Result<u8> {
    let at = Location::parse(&args.state).context("`--state`")?;
    let rt = load::runtime()?;
    let s3 = at.is_s3().then(|| rt.block_on(S3::load(None)));
    let state = rt
        .block_on(StateFile::open(&at, s3.as_ref()))
        .context("failed to read the history")?;
    if at.is_s3() && !state.path().exists() {
        bail!("no history store at `{at}`: `entitlement-audit run` creates it");
    }
    let store = Store::open_existing(state.path())?;
    match &args.command {
        HistoryCommand::Runs => history::show::runs(&store, out)?,
        HistoryCommand::Show { target } => history::show::show(&store, target, out)?,
    }
    Ok(exit::CLEAN)
}
