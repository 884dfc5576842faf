//! The `tgbench` binary: parses the command line and hands it to the library
//! ([`tgbench::run_cli`]); everything else lives there.

use clap::Parser;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(tgbench::run_cli(tgbench::Cli::parse()))
}
