//! The hybrid server: webhooks for most bots, long polling for the rest.
//!
//! The first `--webhook-share` of the tokens file's bots (file order, so raising the share
//! only ever moves more bots over: a gradual migration) are registered with setWebhook;
//! the others poll. Every bot whose setWebhook fails falls back to polling at once, so no bot
//! goes without updates (the fallback the benchmarked webhook platform has). One process, one platform (client, manager, counters) for both.
//! With a shard (`--shard i/N`), the split is made over the whole file and the process then
//! registers and polls only its own bots of each part, answering any webhook bot.

use std::sync::Arc;

use clap::Args;
use tokio::net::TcpListener;

use crate::{
    platform::Platform,
    polling::{self, Polling, PollingOpts, PollingReport},
    webhook::{self, Health, Webhook, WebhookError, WebhookOpts, WebhookState},
};

/// Hybrid flags.
#[derive(Debug, Clone, Args)]
pub struct HybridOpts {
    /// Share of bots (0.0-1.0, in tokens-file order) put on webhooks; the rest poll.
    #[arg(long, default_value_t = 1.0, value_name = "P", value_parser = parse_share)]
    pub webhook_share: f64,
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a share between 0.0 and 1.0")),
    }
}

/// A running hybrid server.
#[derive(Debug)]
pub struct Hybrid {
    webhook: Webhook,
    polling: Polling,
    fallback: usize,
}

/// What the hybrid server did, returned by [`Hybrid::stop`].
#[derive(Debug, Clone)]
pub struct HybridReport {
    pub health: Health,
    pub polling: PollingReport,
}

/// How many of `bots` go on webhooks at `share`.
pub fn webhook_count(bots: usize, share: f64) -> usize {
    ((bots as f64) * share).round().clamp(0.0, bots as f64) as usize
}

/// Starts the webhook part (serving `listener`, registering its share of the platform's
/// bots), then polling for the other bots and for every bot whose setWebhook failed.
pub async fn start(
    platform: Arc<Platform>,
    listener: TcpListener,
    public_url: Option<String>,
    opts: &HybridOpts,
    webhook_opts: &WebhookOpts,
    polling_opts: &PollingOpts,
) -> Result<Hybrid, WebhookError> {
    let tokens = platform.manager.tokens().to_vec();
    let k = webhook_count(tokens.len(), opts.webhook_share);
    let (on_webhook, mut on_polling) = (tokens[..k].to_vec(), tokens[k..].to_vec());
    // A shard answers every webhook bot but registers, and polls, only its own.
    let state = WebhookState::for_hybrid(platform.clone(), &on_webhook, webhook_opts)?;
    let register = crate::shard::owned(platform.shard, &on_webhook);
    on_polling = crate::shard::owned(platform.shard, &on_polling);
    let webhook =
        webhook::start_with_state(state, listener, public_url, register, webhook_opts).await?;
    let fallback = webhook.failed().len();
    for (token, err) in webhook.failed() {
        tracing::warn!(bot = %token, "setWebhook failed, polling instead: {err}");
    }
    on_polling.extend(webhook.failed().iter().map(|(t, _)| t.clone()));
    webhook.state().set_polling_bots(on_polling.len());
    let polling = polling::start(platform, on_polling, polling_opts).await;
    Ok(Hybrid {
        webhook,
        polling,
        fallback,
    })
}

impl Hybrid {
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// Bots on webhooks (setWebhook succeeded).
    pub fn webhook_bots(&self) -> usize {
        self.webhook.state().health().webhooks_set
    }

    /// Bots polling (planned ones and fallbacks).
    pub fn polling_bots(&self) -> usize {
        self.polling.bots()
    }

    /// Bots polling because their setWebhook failed.
    pub fn fallback_bots(&self) -> usize {
        self.fallback
    }

    /// Runs until `shutdown` resolves, then [`Hybrid::stop`]s.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> HybridReport {
        shutdown.await;
        self.stop().await
    }

    /// Stops both parts at once (each finishes its in-flight updates).
    pub async fn stop(self) -> HybridReport {
        let (health, polling) = tokio::join!(self.webhook.stop(), self.polling.stop());
        HybridReport { health, polling }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_splits_by_rounding_and_rejects_out_of_range() {
        assert_eq!(webhook_count(1000, 1.0), 1000);
        assert_eq!(webhook_count(1000, 0.0), 0);
        assert_eq!(webhook_count(3, 0.5), 2);
        assert_eq!(parse_share("0.25"), Ok(0.25));
        assert!(parse_share("1.5").is_err() && parse_share("-0.1").is_err());
        assert!(parse_share("half").is_err());
    }
}
