//! The three command lines and what each binary runs. The binaries only parse, read the
//! environment and call `run_*` with [`crate::shutdown::signal`]; tests call the same
//! functions with their own shutdown future.
//!
//! Each `run_*` prints exactly one line to stdout when the server is ready (the harness
//! waits for it) and one line to stderr when it has stopped:
//! - `polling-bot: 2000 bots polling`
//! - `webhook-bot: 2000 bots on webhooks at http://127.0.0.1:8443 (listening on 127.0.0.1:8443)`
//! - `hybrid-bot: 1500 bots on webhooks at http://… (listening on …), 500 polling (0 after a failed setWebhook)`

use std::{io::Write, time::Duration};

use anyhow::{Context, bail};
use clap::Parser;
use tokio::net::{TcpListener, TcpSocket};

use crate::{
    hybrid::{self, HybridOpts},
    platform::{Platform, PlatformOpts},
    polling::{self, PollingOpts, check_open_files},
    shard::Shard,
    shutdown,
    sut_env::SutEnv,
    webhook::{self, WebhookOpts},
};

const ENV_HELP: &str = "\
Environment (the SUT contract of tgbench):
  TGBENCH_API_URL      Bot API base URL, e.g. http://127.0.0.1:8081 (calls go to <url>/bot<token>/<method>)
  TGBENCH_TOKENS_FILE  one bot token a line; every bot in it is served
  TGBENCH_LISTEN       host:port the webhook server binds (webhook-bot, hybrid-bot)
  TGBENCH_PUBLIC_URL   URL base registered with setWebhook (default http(s)://<bound address>)
  TGBENCH_SHARD        i/N, as --shard: serve the bots with bot_id mod N == i (webhook servers
                       answer every bot and bind TGBENCH_LISTEN with SO_REUSEPORT)
  RUST_LOG             log filter for stderr (default warn)

SIGTERM or SIGINT stops cleanly: in-flight updates finish, offsets are confirmed; a second
signal exits at once.";

/// `polling-bot`: every bot long-polls getUpdates.
#[derive(Debug, Parser)]
#[command(
    name = "polling-bot",
    version,
    about = "Multi-tenant Telegram bot server: every bot of TGBENCH_TOKENS_FILE long-polls getUpdates",
    long_about = "Multi-tenant Telegram bot server: every bot of TGBENCH_TOKENS_FILE long-polls \
getUpdates, one loop per bot on one shared connection pool. An update's offset is confirmed only \
after it was handled. Each bot answers /start with a welcome, echoes text as a reply, and answers \
callback queries. Prints `polling-bot: N bots polling` when ready.",
    after_long_help = ENV_HELP
)]
pub struct PollingCli {
    #[command(flatten)]
    pub polling: PollingOpts,
    #[command(flatten)]
    pub platform: PlatformOpts,
}

/// `webhook-bot`: every bot receives updates by webhook.
#[derive(Debug, Parser)]
#[command(
    name = "webhook-bot",
    version,
    about = "Multi-tenant Telegram bot server: every bot of TGBENCH_TOKENS_FILE gets updates by webhook",
    long_about = "Multi-tenant Telegram bot server: serves POST /webhook/{bot_id} and GET /health on \
TGBENCH_LISTEN and registers every bot of TGBENCH_TOKENS_FILE with setWebhook (a random secret per \
bot). Each bot answers /start with a welcome, echoes text as a reply, and answers callback queries. \
Prints `webhook-bot: N bots on webhooks at URL (listening on ADDR)` when ready.",
    after_long_help = ENV_HELP
)]
pub struct WebhookCli {
    #[command(flatten)]
    pub webhook: WebhookOpts,
    #[command(flatten)]
    pub platform: PlatformOpts,
}

/// `hybrid-bot`: webhooks for a share of the bots, polling for the rest and as fallback.
#[derive(Debug, Parser)]
#[command(
    name = "hybrid-bot",
    version,
    about = "Multi-tenant Telegram bot server: webhooks for --webhook-share of the bots, long polling for the rest",
    long_about = "Multi-tenant Telegram bot server: the first --webhook-share of TGBENCH_TOKENS_FILE's \
bots get webhooks (as webhook-bot), the others long-poll (as polling-bot), and every bot whose \
setWebhook fails polls instead. Models a gradual migration from polling to webhooks. Prints \
`hybrid-bot: W bots on webhooks at URL (listening on ADDR), P polling (F after a failed setWebhook)` \
when ready.",
    after_long_help = ENV_HELP
)]
pub struct HybridCli {
    #[command(flatten)]
    pub hybrid: HybridOpts,
    #[command(flatten)]
    pub webhook: WebhookOpts,
    #[command(flatten)]
    pub polling: PollingOpts,
    #[command(flatten)]
    pub platform: PlatformOpts,
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn ready(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Waits for a stop to finish within the grace period; a second signal cuts it short.
async fn within_grace<T>(grace: Duration, stop: impl Future<Output = T>) -> anyhow::Result<T> {
    tokio::select! {
        r = tokio::time::timeout(grace, stop) => r.with_context(|| format!(
            "in-flight updates did not finish within --shutdown-grace-s {}", grace.as_secs())),
        _ = shutdown::signal() => bail!("second signal: exiting without waiting"),
    }
}

/// Binds `TGBENCH_LISTEN`. A shard sets SO_REUSEPORT, so the replicas of a fleet share one
/// address and the kernel spreads connections over them (any replica gets any bot).
async fn bind(env: &SutEnv, shard: Option<Shard>) -> anyhow::Result<TcpListener> {
    let addr = env.listen_addr()?;
    let context = || format!("binding TGBENCH_LISTEN={addr}");
    if shard.is_none() {
        return TcpListener::bind(addr).await.with_context(context);
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .with_context(context)?;
    socket.set_reuseaddr(true).with_context(context)?;
    socket.set_reuseport(true).with_context(context)?;
    socket.bind(addr).with_context(context)?;
    socket.listen(1024).with_context(context)
}

/// What a shard adds to a ready line.
fn shard_note(shard: Option<Shard>, all: usize) -> String {
    shard
        .map(|s| format!(" (shard {s} of {all} bots)"))
        .unwrap_or_default()
}

/// polling-bot.
pub async fn run_polling(
    cli: PollingCli,
    env: SutEnv,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    cli.polling.validate().map_err(anyhow::Error::msg)?;
    let shard = cli.platform.shard;
    let all = env.tokens.len();
    check_open_files("polling-bot", crate::shard::owned(shard, &env.tokens).len())?;
    let platform = Platform::new(&env.api_url, env.tokens, &cli.platform)?;
    let polling = polling::start(platform.clone(), platform.owned_tokens(), &cli.polling).await;
    ready(&format!(
        "polling-bot: {} bots polling{}",
        polling.bots(),
        shard_note(shard, all)
    ));
    shutdown.await;
    let report = within_grace(cli.platform.shutdown_grace(), polling.stop()).await?;
    let s = platform.snapshot();
    eprintln!(
        "polling-bot: stopped; {} updates handled, {} replies sent, {} offsets confirmed at stop ({} failed)",
        s.updates_handled, s.replies_sent, report.final_confirms, report.final_confirm_failures
    );
    Ok(())
}

/// webhook-bot.
pub async fn run_webhook(
    cli: WebhookCli,
    env: SutEnv,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let shard = cli.platform.shard;
    let all = env.tokens.len();
    let listener = bind(&env, shard).await?;
    let platform = Platform::new(&env.api_url, env.tokens, &cli.platform)?;
    let bots = platform.manager.tokens().to_vec();
    let server = webhook::start(platform, listener, env.public_url, bots, &cli.webhook).await?;
    if !server.failed().is_empty() {
        eprintln!(
            "webhook-bot: {} bots could not set their webhook and get no updates (hybrid-bot polls them instead); first error: {}",
            server.failed().len(),
            server.failed()[0].1
        );
    }
    let h = server.state().health();
    ready(&format!(
        "webhook-bot: {} bots on webhooks at {} (listening on {}){}",
        h.webhooks_set,
        server.public_url(),
        server.addr(),
        shard_note(shard, all)
    ));
    shutdown.await;
    let h = within_grace(cli.platform.shutdown_grace(), server.stop()).await?;
    eprintln!(
        "webhook-bot: stopped; {} webhook requests, {} updates handled, {} replies sent",
        h.webhook.requests, h.platform.updates_handled, h.platform.replies_sent
    );
    Ok(())
}

/// hybrid-bot.
pub async fn run_hybrid(
    cli: HybridCli,
    env: SutEnv,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    cli.polling.validate().map_err(anyhow::Error::msg)?;
    let planned_polling =
        env.tokens.len() - hybrid::webhook_count(env.tokens.len(), cli.hybrid.webhook_share);
    check_open_files("hybrid-bot", planned_polling)?;
    let shard = cli.platform.shard;
    let all = env.tokens.len();
    let listener = bind(&env, shard).await?;
    let platform = Platform::new(&env.api_url, env.tokens, &cli.platform)?;
    let server = hybrid::start(
        platform,
        listener,
        env.public_url,
        &cli.hybrid,
        &cli.webhook,
        &cli.polling,
    )
    .await?;
    if let Err(e) = check_open_files("hybrid-bot", server.polling_bots()) {
        eprintln!("hybrid-bot: after the setWebhook fallback: {e}");
    }
    ready(&format!(
        "hybrid-bot: {} bots on webhooks at {} (listening on {}), {} polling ({} after a failed setWebhook){}",
        server.webhook_bots(),
        server.webhook().public_url(),
        server.webhook().addr(),
        server.polling_bots(),
        server.fallback_bots(),
        shard_note(shard, all)
    ));
    shutdown.await;
    let r = within_grace(cli.platform.shutdown_grace(), server.stop()).await?;
    eprintln!(
        "hybrid-bot: stopped; {} updates handled, {} replies sent, {} offsets confirmed at stop",
        r.health.platform.updates_handled, r.health.platform.replies_sent, r.polling.final_confirms
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_lines_are_consistent() {
        PollingCli::command().debug_assert();
        WebhookCli::command().debug_assert();
        HybridCli::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let c = PollingCli::parse_from([
            "polling-bot",
            "--poll-timeout",
            "5",
            "--short-poll-interval-ms",
            "500",
            "--handle",
            "concurrent",
            "--work-us",
            "100",
            "--allowed-updates",
            "message",
        ]);
        assert_eq!(c.polling.poll_timeout, 5);
        assert_eq!(c.polling.short_poll_interval_ms, Some(500));
        assert_eq!(c.polling.handle, polling::Handle::Concurrent);
        assert_eq!(c.platform.work_us, 100);
        assert_eq!(c.platform.allowed_updates, ["message"]);
        assert!(PollingCli::try_parse_from(["polling-bot", "--limit", "101"]).is_err());

        let w = WebhookCli::parse_from(["webhook-bot", "--allow-ips", "--ack", "before"]);
        assert_eq!(w.webhook.allow_ips.unwrap(), ["telegram", "loopback"]);
        assert_eq!(w.webhook.ack, webhook::Ack::Before);
        let w = WebhookCli::parse_from(["webhook-bot", "--allow-ips", "10.0.0.0/8,loopback"]);
        assert_eq!(w.webhook.allow_ips.unwrap(), ["10.0.0.0/8", "loopback"]);
        assert_eq!(
            WebhookCli::parse_from(["webhook-bot"]).webhook.allow_ips,
            None
        );

        let h = HybridCli::parse_from(["hybrid-bot", "--webhook-share", "0.3", "--tls"]);
        assert_eq!(h.hybrid.webhook_share, 0.3);
        assert!(h.webhook.tls);
        assert!(HybridCli::try_parse_from(["hybrid-bot", "--webhook-share", "2"]).is_err());
    }
}
