//! `demo`: a synthetic organization of any size, written as a snapshot.

use anyhow::Result;

use super::exit;
use crate::cli::DemoArgs;
use crate::inputs::demo;
use crate::progress;
use crate::snapshot;

/// `demo`: write a synthetic snapshot.
pub fn demo(args: &DemoArgs) -> Result<u8> {
    let params = demo::DemoParams {
        accounts: args.accounts,
        products: args.products,
        days: args.days,
        seed: args.seed,
        spending_percent: args.spending_percent,
        ..demo::DemoParams::builtin()
    };
    progress::line(&format!(
        "generating {} accounts, {} products, {} days (seed {})",
        params.accounts, params.products, params.days, params.seed
    ));
    let snap = demo::generate(&params);
    snapshot::write(&snap, &args.out)?;
    progress::line(&format!(
        "wrote snapshot `{}`: {} accounts, {} grants, {} usage rows",
        args.out.display(),
        snap.accounts.len(),
        snap.grants.len(),
        snap.usage.height()
    ));
    Ok(exit::CLEAN)
}
