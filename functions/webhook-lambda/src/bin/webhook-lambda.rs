//! `webhook-lambda` (deployed as `bootstrap`): only parses its options and runs
//! [`tgbench_webhook_lambda::run`], the Lambda runtime loop, until the environment ends.

use clap::Parser;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tgbench_impls::cli::init_tracing();
    tgbench_webhook_lambda::run(tgbench_webhook_lambda::Cli::parse()).await
}
