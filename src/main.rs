//! Parses arguments, reads the clock once, runs the command and maps the result to an exit
//! code (0 clean, 1 findings at or above --fail-on, 2 incomplete data, 3 error).

use std::process::ExitCode;

use clap::Parser;
use entitlement_audit::app::{self, exit};
use entitlement_audit::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let now = chrono::Utc::now();
    let result = match &cli.command {
        Command::Run(args) => app::run(args, now),
        Command::Demo(args) => app::demo(args),
        Command::Rules => app::rules(std::io::stdout().lock()),
        Command::Explain { code } => app::explain(code, std::io::stdout().lock()),
        Command::History(args) => app::history(args, std::io::stdout().lock()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
