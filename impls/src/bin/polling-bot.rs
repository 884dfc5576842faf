//! `polling-bot`: only parses its arguments and the environment, then runs
//! [`tgbench_impls::cli::run_polling`] until SIGTERM or SIGINT. See `polling-bot --help`.

use clap::Parser;
use tgbench_impls::{
    cli::{self, PollingCli},
    shutdown,
    sut_env::SutEnv,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = PollingCli::parse();
    cli::init_tracing();
    cli::run_polling(args, SutEnv::from_env()?, shutdown::signal()).await
}
