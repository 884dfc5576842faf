//! The `mock-telegram` binary. It only parses arguments and hands them to
//! [`mock_telegram::cli::main`]; everything else lives in the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    mock_telegram::cli::main(mock_telegram::cli::Opts::parse())
}
