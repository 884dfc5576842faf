//! The `mock-telegram` binary: options, checks, and serving until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use crate::{Mock, MockConfig, RetrySchedule};

/// A Telegram Bot API emulator for N bots, and the latency clock of tgbench.
///
/// Bots reach it at http://ADDR/bot<token>/<method>, exactly as they reach
/// api.telegram.org; point a framework's API URL at it. Harnesses use the control API:
///   GET  /_mock/bots              the bots' ids, usernames and tokens
///   POST /_mock/updates           {"bot_id":…,"chat_id":…,"text":"…"} or {"updates":[…]}
///   GET  /_mock/stats             counts, latency percentiles (ms), getUpdates/webhook figures
///   GET  /_mock/sent?bot_id=ID    what a bot sent, in order
///   POST /_mock/reset             clear updates, counters and the latency histogram
///   GET  /metrics                 OpenMetrics for Prometheus (text/plain 0.0.4 on request)
/// With --control-token, /_mock/* and /metrics need it.
///
/// Example: mock-telegram --listen 127.0.0.1:8081 --bots 100 --rtt-ms 80 --jitter-ms 20
#[derive(Debug, Clone, Parser)]
#[command(name = "mock-telegram", version, verbatim_doc_comment)]
pub struct Opts {
    /// Address to listen on. A non-loopback address needs --control-token.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// How many bots exist (ids from 7000000001 up; tokens from --seed).
    #[arg(long, default_value_t = 1)]
    pub bots: usize,
    /// Seed of the bots' tokens: the same seed gives the same tokens.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Emulated Telegram<->bot round trip in ms (answers and deliveries are delayed by it).
    #[arg(long, default_value_t = 0.0)]
    pub rtt_ms: f64,
    /// Uniform +/- jitter on each RTT sample, in ms.
    #[arg(long, default_value_t = 0.0)]
    pub jitter_ms: f64,
    /// Turn off Telegram's rate limits (30 msg/s per bot, 1/s per chat -> 429).
    #[arg(long)]
    pub no_rate_limits: bool,
    /// Turn off Telegram's anti-spin rules for getUpdates on the same offset.
    #[arg(long)]
    pub no_anti_spin: bool,
    /// Answer a woken long poll at once instead of waiting 1-2 ms for more updates (Telegram
    /// batches them).
    #[arg(long)]
    pub no_poll_batching: bool,
    /// Always deliver webhooks over max_connections connections, instead of Telegram's slow
    /// start after 10 s without a success (one connection, one more per 2 s).
    #[arg(long)]
    pub no_webhook_ramp: bool,
    /// Drop an update not handed over this many seconds after it was sent (Telegram: 86400).
    #[arg(long, default_value_t = 86_400.0)]
    pub update_expiry_s: f64,
    /// Require this token on /_mock/* and /metrics (Authorization: Bearer T, or ?token=T).
    #[arg(long, env = "MOCK_TELEGRAM_CONTROL_TOKEN")]
    pub control_token: Option<String>,
    /// Multiply Telegram's webhook retry delays (0, 2, 4 … 64 s, then 60-120 s) by this.
    #[arg(long, default_value_t = 1.0)]
    pub retry_factor: f64,
    /// A network (CIDR, e.g. 198.18.0.0/15) setWebhook accepts URLs on beside loopback;
    /// repeat for more. Default: loopback only.
    #[arg(long = "webhook-host", value_name = "CIDR")]
    pub webhook_hosts: Vec<ipnet::IpNet>,
    /// Worker threads (1 = everything on one core; default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl Opts {
    /// The mock's configuration, after checking the options.
    pub fn config(&self) -> anyhow::Result<MockConfig> {
        if !self.listen.ip().is_loopback() && self.control_token.is_none() {
            bail!(
                "refusing to listen on {} without --control-token: the control API lets anyone \
                 read the bots' tokens and inject updates; use a loopback address or set a token",
                self.listen
            );
        }
        let ms = |name: &str, v: f64| -> anyhow::Result<Duration> {
            if !v.is_finite() || v < 0.0 {
                bail!("--{name} must be a non-negative number of milliseconds, got {v}");
            }
            Ok(Duration::from_secs_f64(v / 1000.0))
        };
        if !self.retry_factor.is_finite() || self.retry_factor < 0.0 {
            bail!(
                "--retry-factor must be a non-negative number, got {}",
                self.retry_factor
            );
        }
        if !self.update_expiry_s.is_finite() || self.update_expiry_s <= 0.0 {
            bail!(
                "--update-expiry-s must be a positive number of seconds, got {}",
                self.update_expiry_s
            );
        }
        Ok(MockConfig {
            bots: self.bots,
            seed: self.seed,
            rtt: ms("rtt-ms", self.rtt_ms)?,
            jitter: ms("jitter-ms", self.jitter_ms)?,
            rate_limits: !self.no_rate_limits,
            anti_spin: !self.no_anti_spin,
            poll_batching: !self.no_poll_batching,
            webhook_ramp: !self.no_webhook_ramp,
            update_expiry: Duration::from_secs_f64(self.update_expiry_s),
            retry: RetrySchedule::compressed(self.retry_factor),
            control_token: self.control_token.clone(),
            webhook_hosts: self.webhook_hosts.clone(),
            ..MockConfig::default()
        })
    }
}

/// Runs the binary: builds the runtime, binds, prints `listening on http://ADDR`, serves
/// until SIGINT or SIGTERM.
pub fn main(opts: Opts) -> anyhow::Result<()> {
    let config = opts.config()?;
    let mut runtime = match opts.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.max(1));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("binding {}", opts.listen))?;
        let addr = listener.local_addr()?;
        let bots = config.bots;
        let mock = Mock::new(config);
        println!("listening on http://{addr}");
        eprintln!("mock-telegram: {bots} bots; GET http://{addr}/_mock/bots lists their tokens");
        crate::run(mock, listener, shutdown_signal())
            .await
            .context("serving")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_listen_needs_a_control_token() {
        let opts = Opts::parse_from(["mock-telegram", "--listen", "0.0.0.0:9000"]);
        let err = opts.config().unwrap_err().to_string();
        assert!(err.contains("--control-token"), "{err}");
        let opts = Opts::parse_from([
            "mock-telegram",
            "--listen",
            "0.0.0.0:9000",
            "--control-token",
            "t",
        ]);
        assert!(opts.config().is_ok());
    }

    #[test]
    fn webhook_hosts_are_networks_and_repeat() {
        let opts = Opts::parse_from([
            "mock-telegram",
            "--webhook-host",
            "198.18.0.0/15",
            "--webhook-host",
            "fd00::/8",
        ]);
        let hosts = opts.config().unwrap().webhook_hosts;
        assert_eq!(hosts.len(), 2);
        assert!(hosts[0].contains(&"198.19.1.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(Opts::try_parse_from(["mock-telegram", "--webhook-host", "bench"]).is_err());
        assert!(
            Opts::parse_from(["mock-telegram"])
                .config()
                .unwrap()
                .webhook_hosts
                .is_empty()
        );
    }

    #[test]
    fn options_map_onto_the_config() {
        let opts = Opts::parse_from([
            "mock-telegram",
            "--bots",
            "3",
            "--seed",
            "9",
            "--rtt-ms",
            "80",
            "--jitter-ms",
            "5",
            "--no-rate-limits",
            "--no-anti-spin",
            "--retry-factor",
            "0.01",
            "--no-poll-batching",
            "--no-webhook-ramp",
            "--update-expiry-s",
            "2.5",
        ]);
        let c = opts.config().unwrap();
        assert_eq!((c.bots, c.seed), (3, 9));
        assert_eq!(
            (c.rtt, c.jitter),
            (Duration::from_millis(80), Duration::from_millis(5))
        );
        assert!(!c.rate_limits && !c.anti_spin && !c.poll_batching && !c.webhook_ramp);
        assert_eq!(c.update_expiry, Duration::from_millis(2500));
        let defaults = Opts::parse_from(["mock-telegram"]).config().unwrap();
        assert!(defaults.poll_batching && defaults.webhook_ramp);
        assert_eq!(defaults.update_expiry, crate::config::UPDATE_EXPIRY);
        assert!(
            Opts::parse_from(["mock-telegram", "--update-expiry-s", "0"])
                .config()
                .is_err()
        );
        assert_eq!(c.retry.delay_after(2), Duration::from_millis(20));
        assert!(
            Opts::parse_from(["mock-telegram", "--rtt-ms=-1"])
                .config()
                .is_err()
        );
    }
}
