//! The platform every transport drives: the Bot API client, the bot manager, the logic's cost,
//! and the counters `/health` and the reports show. A transport only moves updates in and
//! replies out; [`Platform::decide`] and [`Platform::process`] are the one place an update is
//! handled.
//!
//! Each bot remembers the ids of its last [`RECENT_UPDATES`] updates: an update delivered
//! again (a webhook retried after a timeout or a dropped connection) is not handled twice.

use std::{
    collections::{HashMap, VecDeque},
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use clap::Args;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::{
    backoff::Backoff,
    client::{Api, ApiConfig},
    logic::{self, HandlerCost},
    manager::{Manager, ManagerConfig},
    shard::Shard,
    token::BotToken,
    types::{DEFAULT_ALLOWED_UPDATES, Reply, Update},
};

/// Flags shared by the three servers: the bot's cost, the manager, the client.
#[derive(Debug, Clone, Args)]
pub struct PlatformOpts {
    /// CPU burned per update, in µs (a handler's own work; blocks a worker thread).
    #[arg(long, default_value_t = 0, value_name = "US")]
    pub work_us: u64,
    /// Time awaited per update, in ms (a database call; the thread stays free).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub io_ms: u64,
    /// Bot instances kept loaded (LRU); a bot is loaded on its first update.
    #[arg(long, default_value = "10000", value_name = "N")]
    pub max_loaded: NonZeroUsize,
    /// Time one bot instance takes to load, in ms (paid again after an eviction).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub load_ms: u64,
    /// Update kinds asked for (getUpdates / setWebhook `allowed_updates`).
    #[arg(long, value_delimiter = ',', value_name = "KINDS", default_values_t = DEFAULT_ALLOWED_UPDATES.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
    pub allowed_updates: Vec<String>,
    /// Timeout of an ordinary Bot API call, in s (a long poll gets its own timeout + 10 s).
    #[arg(long, default_value_t = 15, value_name = "S")]
    pub request_timeout_s: u64,
    /// First back-off ceiling after a 5xx, 409 or network error, in ms (doubles per retry).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub backoff_base_ms: u64,
    /// Largest back-off ceiling, in ms; each wait is between half and all of its ceiling.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    pub backoff_cap_ms: u64,
    /// Attempts of an ordinary call (sendMessage, setWebhook, …) before giving up.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
    /// Start-up calls (deleteWebhook / setWebhook) in flight at once.
    #[arg(long, default_value = "64", value_name = "N")]
    pub startup_concurrency: NonZeroUsize,
    /// On SIGTERM/SIGINT, time allowed for in-flight updates and offset confirmation, in s.
    #[arg(long, default_value_t = 10, value_name = "S")]
    pub shutdown_grace_s: u64,
    /// This process is shard i of N: it polls, or registers webhooks for, only the bots with
    /// `bot_id mod N == i`; a webhook server still answers every bot of the tokens file
    /// (replicas behind a load balancer), with secrets derived from the tokens.
    #[arg(long, env = crate::shard::SHARD_ENV, value_name = "i/N")]
    pub shard: Option<Shard>,
    /// CA certificates (PEM) the Bot API client trusts beside the built-in roots, e.g.
    /// tgbench's per-run test CA when the Bot API is served over HTTPS.
    #[arg(long, env = "TGBENCH_CA_FILE", value_name = "PEM", value_parser = read_ca_file)]
    pub ca_file: Option<CaPem>,
}

/// The PEM of `--ca-file` / `TGBENCH_CA_FILE`, read and checked when the flags are parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaPem(pub Vec<u8>);

fn read_ca_file(path: &str) -> Result<CaPem, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(CaPem(pem)),
        Ok(_) => Err(format!("{path} holds no PEM certificate")),
        Err(e) => Err(format!("{path} is not a PEM certificate bundle: {e}")),
    }
}

impl Default for PlatformOpts {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

impl PlatformOpts {
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: Duration::from_millis(self.backoff_base_ms),
            cap: Duration::from_millis(self.backoff_cap_ms),
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_s)
    }
}

/// Update ids remembered per bot to skip a redelivered update.
pub const RECENT_UPDATES: usize = 32;

/// Update and reply counters.
#[derive(Debug, Default)]
pub struct Counters {
    pub updates_received: AtomicU64,
    pub updates_handled: AtomicU64,
    pub duplicates_skipped: AtomicU64,
    pub replies_sent: AtomicU64,
    pub replies_failed: AtomicU64,
}

/// A point-in-time copy of every counter (the body of `/health`, minus transport fields).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Snapshot {
    pub bots: usize,
    pub loaded: usize,
    pub loads: u64,
    pub evictions: u64,
    pub updates_received: u64,
    pub updates_handled: u64,
    pub duplicates_skipped: u64,
    pub replies_sent: u64,
    pub replies_failed: u64,
    pub api_requests: u64,
    pub api_retries: u64,
    pub api_rate_limited: u64,
    pub api_failed: u64,
}

/// Client + manager + cost + counters, shared by a process's transports.
#[derive(Debug)]
pub struct Platform {
    pub api: Api,
    pub manager: Manager,
    pub cost: HandlerCost,
    pub allowed_updates: Vec<String>,
    /// The shard this process is (None: it serves every bot alone).
    pub shard: Option<Shard>,
    counters: Counters,
    recent: Mutex<HashMap<i64, VecDeque<i64>>>,
    startup: Semaphore,
}

impl Platform {
    /// Builds the platform for `tokens` against the Bot API at `api_url`.
    pub fn new(
        api_url: &str,
        tokens: Vec<BotToken>,
        opts: &PlatformOpts,
    ) -> Result<Arc<Self>, reqwest::Error> {
        let api = Api::new(
            api_url,
            ApiConfig {
                request_timeout: Duration::from_secs(opts.request_timeout_s),
                backoff: opts.backoff(),
                max_attempts: opts.max_attempts.max(1),
                pool_idle_per_host: tokens.len().max(16),
                ca_pem: opts.ca_file.as_ref().map(|c| c.0.clone()),
                ..ApiConfig::default()
            },
        )?;
        let manager = Manager::new(
            tokens,
            ManagerConfig {
                max_loaded: opts.max_loaded,
                load_cost: Duration::from_millis(opts.load_ms),
            },
        );
        Ok(Arc::new(Self {
            api,
            manager,
            cost: HandlerCost {
                work: Duration::from_micros(opts.work_us),
                io: Duration::from_millis(opts.io_ms),
            },
            allowed_updates: opts.allowed_updates.clone(),
            shard: opts.shard,
            counters: Counters::default(),
            recent: Mutex::new(HashMap::new()),
            startup: Semaphore::new(opts.startup_concurrency.get()),
        }))
    }

    /// Handles `update` for `bot_id` (load the instance, pay the cost, run the logic) and
    /// returns the call to make, without making it. `None` for an unknown bot too.
    pub async fn decide(&self, bot_id: i64, update: &Update) -> Option<Reply> {
        self.counters
            .updates_received
            .fetch_add(1, Ordering::Relaxed);
        if !self.first_delivery(bot_id, update.update_id) {
            self.counters
                .duplicates_skipped
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let instance = self.manager.instance(bot_id).await?;
        let reply = logic::handle(self.cost, &instance, update).await;
        self.counters
            .updates_handled
            .fetch_add(1, Ordering::Relaxed);
        reply
    }

    /// Records `update_id` for `bot_id`; false if it was among the bot's recent ones.
    fn first_delivery(&self, bot_id: i64, update_id: i64) -> bool {
        let mut recent = self.recent.lock().expect("platform lock poisoned");
        let ids = recent.entry(bot_id).or_default();
        if ids.contains(&update_id) {
            return false;
        }
        if ids.len() == RECENT_UPDATES {
            ids.pop_front();
        }
        ids.push_back(update_id);
        true
    }

    /// Handles `update` and sends the reply through the client (with its retries).
    /// Returns whether the update was handled completely (reply sent, or none needed).
    pub async fn process(&self, bot_id: i64, update: &Update) -> bool {
        let Some(reply) = self.decide(bot_id, update).await else {
            return true;
        };
        let Some(token) = self.manager.token(bot_id) else {
            return false;
        };
        match self.api.send(token, &reply).await {
            Ok(()) => {
                self.counters.replies_sent.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                // The client logged it (token redacted).
                self.counters.replies_failed.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Counts a reply that was delivered another way (in a webhook response body).
    pub fn count_reply_sent(&self) {
        self.counters.replies_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs a start-up call under the start-up concurrency bound.
    pub async fn at_startup<F: Future>(&self, call: F) -> F::Output {
        let _permit = self.startup.acquire().await.expect("never closed");
        call.await
    }

    /// The bots this process polls or registers webhooks for: its shard's share of the
    /// tokens file, or all of it.
    pub fn owned_tokens(&self) -> Vec<BotToken> {
        crate::shard::owned(self.shard, self.manager.tokens())
    }

    pub fn snapshot(&self) -> Snapshot {
        let c = &self.counters;
        let a = self.api.counters();
        let get = |x: &AtomicU64| x.load(Ordering::Relaxed);
        Snapshot {
            bots: self.manager.tokens().len(),
            loaded: self.manager.loaded(),
            loads: self.manager.loads(),
            evictions: self.manager.evictions(),
            updates_received: get(&c.updates_received),
            updates_handled: get(&c.updates_handled),
            duplicates_skipped: get(&c.duplicates_skipped),
            replies_sent: get(&c.replies_sent),
            replies_failed: get(&c.replies_failed),
            api_requests: get(&a.requests),
            api_retries: get(&a.retries),
            api_rate_limited: get(&a.rate_limited),
            api_failed: get(&a.failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_opts_are_the_documented_ones() {
        let o = PlatformOpts::default();
        assert_eq!((o.work_us, o.io_ms, o.load_ms), (0, 0, 0));
        assert_eq!(o.max_loaded.get(), 10_000);
        assert_eq!(o.allowed_updates, ["message", "callback_query"]);
        assert_eq!(o.backoff(), Backoff::default());
    }
}
