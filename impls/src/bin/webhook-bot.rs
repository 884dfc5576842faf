//! `webhook-bot`: only parses its arguments and the environment, then runs
//! [`tgbench_impls::cli::run_webhook`] until SIGTERM or SIGINT. See `webhook-bot --help`.

use clap::Parser;
use tgbench_impls::{
    cli::{self, WebhookCli},
    shutdown,
    sut_env::SutEnv,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = WebhookCli::parse();
    cli::init_tracing();
    cli::run_webhook(args, SutEnv::from_env()?, shutdown::signal()).await
}
