//! Parses arguments, reads the clock once, runs the command and maps the result to an exit
//! code (0 clean, 1 findings at or above --fail-on, 2 incomplete data, 3 error).

use std::process::ExitCode;

use clap::Parser;
use entitlement_audit::cli::{Cli, Command};
use entitlement_audit::commands::{self, exit};

fn main() -> ExitCode {
    // clap exits 2 on a usage error, which is this tool's "incomplete data": a scheduled job
    // that tolerates 2 would pass on a typo. Help and version still print and exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::ERROR } else { 0 };
            // Printing can only fail on a closed stream; the exit code says it all then.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    // The one clock read of the run (`--now` pins it for tests).
    #[allow(clippy::disallowed_methods)] // the one place (clippy.toml)
    let now = cli.now.unwrap_or_else(chrono::Utc::now);
    let result = match &cli.command {
        Command::Run(args) => commands::run::run(args, now),
        Command::Collect(args) => commands::collect::collect(args, now),
        Command::IamPolicy(args) => commands::info::iam_policy(args, std::io::stdout().lock()),
        Command::Doctor(args) => commands::collect::doctor(args, now, std::io::stdout().lock()),
        Command::Demo(args) => commands::demo::demo(args),
        Command::VerifyCleanup(args) => {
            commands::verify_cleanup::verify_cleanup(args, now, std::io::stdout().lock())
        }
        Command::Plan(args) => commands::plan::plan(args, now),
        Command::Rules => commands::info::rules(std::io::stdout().lock()),
        Command::Explain { code } => commands::info::explain(code, std::io::stdout().lock()),
        Command::History(args) => commands::history::history(args, std::io::stdout().lock()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// `-v` shows the collectors' info logs, `-vv` debug; `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "entitlement_audit=info",
        _ => "entitlement_audit=debug,aws_smithy_runtime=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
