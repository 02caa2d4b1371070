//! The built-in demo organization and the synthetic organization generator.
//!
//! Both produce a [`Snapshot`](crate::snapshot::Snapshot), like `collect` does, so everything
//! after the snapshot runs unchanged on them. [`OrgBuilder`] also builds the small
//! organizations of the rule and scenario tests.

mod builder;
mod generate;
mod rng;

pub use builder::{OrgBuilder, Spend, ROOT_ID};
pub use generate::{builtin, generate, DemoParams, BUILTIN_SEED};
pub use rng::Rng;

/// The demo's own config (examples/config.toml), used by `--demo` when no `--config` is given.
pub const CONFIG: &str = include_str!("../../../examples/config.toml");
