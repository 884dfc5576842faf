//! `hybrid-bot`: only parses its arguments and the environment, then runs
//! [`tgbench_impls::cli::run_hybrid`] until SIGTERM or SIGINT. See `hybrid-bot --help`.

use clap::Parser;
use tgbench_impls::{
    cli::{self, HybridCli},
    shutdown,
    sut_env::SutEnv,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = HybridCli::parse();
    cli::init_tracing();
    cli::run_hybrid(args, SutEnv::from_env()?, shutdown::signal()).await
}
