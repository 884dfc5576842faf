//! The `mock-lambda` binary. It only parses arguments and hands them to
//! [`mock_lambda::cli::main`]; everything else lives in the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    mock_lambda::cli::main(mock_lambda::cli::Opts::parse())
}
