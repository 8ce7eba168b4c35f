//! The `jacsense` command; see `jacsense --help` and the crate docs of `jacsense_cli`.

use std::process::ExitCode;

use clap::Parser;
use jacsense_cli::cli::Cli;
use jacsense_cli::error::EXIT_INPUT;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_INPUT } else { 0 });
        }
    };
    match jacsense_cli::cli::run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("jacsense: error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
