//! tgbench-webhook-lambda: the reference webhook bot as an AWS Lambda function.
//!
//! The same multi-tenant bot as `webhook-bot` (the one logic, Bot API client, bot manager
//! and redelivery check of `tgbench-impls`), reached through a Lambda function URL:
//! Telegram POSTs to `{function URL}/webhook/{bot_id}`, the event's `rawPath` names the
//! bot, its `x-telegram-bot-api-secret-token` header is checked against that bot's secret
//! in constant time, and the reply is sent through the Bot API, or returned in the
//! response body with reply-in-response. Built on the official `lambda_runtime` crate, so
//! the same binary runs unmodified on AWS Lambda (`provided.al2023`, as `bootstrap`) and
//! on tgbench's emulated platform (`mock-lambda`).
//!
//! Configuration, all read once at init (outside the handler, as Lambda functions do):
//!
//! | variable | meaning |
//! |---|---|
//! | `TGBENCH_API_URL` | the Bot API base URL (`https://api.telegram.org` on AWS) |
//! | `TGBENCH_TOKENS_FILE` | the bots' tokens, one a line (relative to `LAMBDA_TASK_ROOT`) |
//! | `WEBHOOK_SECRETS_FILE` | each bot's webhook secret, `BOT_ID SECRET` a line |
//! | `REPLY_IN_RESPONSE` | `true` or `1`: return the reply as the response body |
//!
//! Registering the webhooks (`setWebhook` with the function URL and each secret) is the
//! deploy step's job, not the function's.
//!
//! # Layout
//! - [`handler`]: the event in, the checks, the platform, the response out.
//! - [`secrets`]: the per-bot secrets file and the constant-time check.
//! - [`Cli`] and [`run`]: the binary's options and its init + runtime loop.

pub mod handler;
pub mod secrets;

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use tgbench_impls::platform::{Platform, PlatformOpts};
use tgbench_impls::sut_env::SutEnv;

use crate::handler::{Function, UrlRequest};
use crate::secrets::Secrets;

/// The function's options: flags (a `bootstrap` wrapper script may pass them) or variables.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "webhook-lambda", version)]
pub struct Cli {
    /// Return the reply as the response body (Telegram executes it: one round trip less).
    #[arg(long, env = "REPLY_IN_RESPONSE")]
    pub reply_in_response: bool,
    #[command(flatten)]
    pub platform: PlatformOpts,
}

/// Init (environment, secrets, the platform), then the Lambda runtime loop until the
/// environment is shut down. An init error ends the process before its first `/next`, as
/// Lambda expects of a failed init.
pub async fn run(cli: Cli) -> Result<(), lambda_runtime::Error> {
    let env = SutEnv::from_env()?;
    let secrets = Secrets::from_env()?;
    let platform = Platform::new(&env.api_url, env.tokens, &cli.platform)?;
    let function = Arc::new(Function {
        platform,
        secrets,
        reply_in_response: cli.reply_in_response,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<UrlRequest>| {
        let function = function.clone();
        async move { Ok::<_, std::convert::Infallible>(function.handle(event.payload).await) }
    }))
    .await
}
