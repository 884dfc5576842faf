//! Long polling: one loop per bot, each mostly parked on its in-flight getUpdates.
//!
//! Per bot: deleteWebhook once (as frameworks do), then
//! `getUpdates(offset, limit, timeout, allowed_updates)` → handle the batch → next offset.
//! - An update's offset is confirmed (sent as `offset` in the next getUpdates) only after the
//!   update was handled, so a crash loses nothing (it may redo the last batch).
//! - `--handle sequential` handles a batch in order; `concurrent` handles the batch's updates
//!   at once and waits for all of them before polling again (the offset can only move past
//!   a handled prefix, so polling on while a batch runs would confirm unhandled updates).
//! - `--short-poll-interval-ms N`: `timeout=0`, one request every N ms per bot (the "2
//!   requests per second per bot" model); bots start at random phases.
//! - Errors: the client retries forever with back-off (429 waits `retry_after`); a long poll
//!   that comes back empty much too early backs off as well, so a misbehaving server cannot
//!   make the loop spin; 401/404 (token revoked) stop that bot's loop.
//! - Stop: a held getUpdates is dropped, the current batch finishes, and if anything was
//!   handled since the last confirmation a final `getUpdates(offset=last+1, timeout=0,
//!   limit=1)` confirms it. Nothing is handled twice after a clean stop.
//!
//! Thousands of bots → thousands of tasks and as many keep-alive sockets: [`check_open_files`]
//! says clearly when the open-file limit cannot hold them.

use std::{sync::Arc, time::Duration};

use clap::{Args, ValueEnum};
use futures::{StreamExt, future::join_all};
use rand::Rng;
use tokio::{task::JoinSet, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{
    client::{Attempts, GetUpdates},
    platform::Platform,
    token::BotToken,
};

/// How a batch of updates is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Handle {
    /// One after another, in update order.
    Sequential,
    /// All of a batch at once; the next poll waits for the whole batch.
    Concurrent,
}

/// Polling flags.
#[derive(Debug, Clone, Args)]
pub struct PollingOpts {
    /// Seconds a getUpdates may be held by the server (aiogram's default is 30).
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub poll_timeout: u64,
    /// Most updates per getUpdates (1-100).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Short polling instead: timeout=0 and one getUpdates every N ms per bot. 500 gives
    /// "2 requests per second per bot" against a server without Telegram's anti-spin hold
    /// (mock-telegram --no-anti-spin); Telegram holds a repeated offset 3 s.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub short_poll_interval_ms: Option<u64>,
    /// How a batch of updates is handled.
    #[arg(long, value_enum, default_value_t = Handle::Sequential)]
    pub handle: Handle,
}

impl PollingOpts {
    /// Rejects settings that would poll back to back.
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_timeout == 0 && self.short_poll_interval_ms.is_none() {
            return Err(
                "--poll-timeout 0 without --short-poll-interval-ms would poll back to back; \
                        give a timeout (long polling) or an interval (short polling)"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Default for PollingOpts {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

/// What the polling loops did, returned by [`Polling::stop`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollingReport {
    /// Bots that were polling.
    pub bots: usize,
    /// Loops that ended early because their token was refused (401/404).
    pub refused: usize,
    /// Final confirming getUpdates made at stop.
    pub final_confirms: usize,
    /// Final confirmations that failed (their last batch may be delivered again).
    pub final_confirm_failures: usize,
}

/// Running polling loops.
#[derive(Debug)]
pub struct Polling {
    bots: usize,
    cancel: CancellationToken,
    loops: JoinSet<LoopEnd>,
}

#[derive(Debug, Clone, Copy)]
enum LoopEnd {
    Stopped { confirm: Option<bool> },
    Refused,
}

/// Starts polling for `bots`: deleteWebhook for each (bounded by the platform's start-up
/// concurrency), then one loop per bot. Returns once every loop is running.
pub async fn start(platform: Arc<Platform>, bots: Vec<BotToken>, opts: &PollingOpts) -> Polling {
    let concurrency = bots.len().clamp(1, 1024);
    futures::stream::iter(bots.iter())
        .for_each_concurrent(concurrency, |token| {
            let platform = &platform;
            async move {
                // On failure the loop's getUpdates meets 409 and backs off: logged, not fatal.
                let _ = platform
                    .at_startup(platform.api.delete_webhook(token, false))
                    .await;
            }
        })
        .await;
    let cancel = CancellationToken::new();
    let mut loops = JoinSet::new();
    let count = bots.len();
    for token in bots {
        loops.spawn(poll_loop(
            platform.clone(),
            token,
            opts.clone(),
            cancel.clone(),
        ));
    }
    Polling {
        bots: count,
        cancel,
        loops,
    }
}

impl Polling {
    /// Bots being polled.
    pub fn bots(&self) -> usize {
        self.bots
    }

    /// Runs until `shutdown` resolves, then [`Polling::stop`]s.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> PollingReport {
        shutdown.await;
        self.stop().await
    }

    /// Stops every loop: held polls are dropped, batches finish, offsets are confirmed.
    pub async fn stop(mut self) -> PollingReport {
        self.cancel.cancel();
        let mut report = PollingReport {
            bots: self.bots,
            ..PollingReport::default()
        };
        while let Some(end) = self.loops.join_next().await {
            match end {
                Ok(LoopEnd::Refused) => report.refused += 1,
                Ok(LoopEnd::Stopped { confirm: Some(ok) }) => {
                    report.final_confirms += 1;
                    if !ok {
                        report.final_confirm_failures += 1;
                    }
                }
                Ok(LoopEnd::Stopped { confirm: None }) => {}
                Err(e) => tracing::error!("a polling loop panicked: {e}"),
            }
        }
        report
    }
}

async fn poll_loop(
    platform: Arc<Platform>,
    token: BotToken,
    opts: PollingOpts,
    cancel: CancellationToken,
) -> LoopEnd {
    let api = &platform.api;
    let backoff = api.config().backoff;
    let mut offset: i64 = 0; // next update wanted; everything below is handled
    let mut confirmed: i64 = 0; // offset of the last getUpdates that succeeded
    let (timeout, mut ticker) = match opts.short_poll_interval_ms {
        Some(ms) => {
            let period = Duration::from_millis(ms);
            let phase = Duration::from_millis(rand::thread_rng().gen_range(0..ms));
            let mut t = tokio::time::interval_at(Instant::now() + phase, period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            (0, Some(t))
        }
        None => (opts.poll_timeout, None),
    };
    let mut early_empties = 0u32;
    loop {
        if let Some(t) = ticker.as_mut() {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = t.tick() => {}
            }
        }
        let params = GetUpdates {
            offset,
            limit: opts.limit,
            timeout,
            allowed_updates: &platform.allowed_updates,
        };
        let asked = Instant::now();
        let result = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            r = api.get_updates(&token, &params, Attempts::Forever) => r,
        };
        let updates = match result {
            Ok(updates) => {
                confirmed = offset;
                updates
            }
            Err(e) if matches!(e.code(), Some(401 | 404)) => {
                tracing::error!(bot = %token, "token refused, this bot stops polling: {e}");
                return LoopEnd::Refused;
            }
            Err(_) => {
                // A final error (e.g. 400): logged by the client; wait the longest back-off.
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(backoff.cap) => continue,
                }
            }
        };
        // A long poll answered empty long before its timeout means a server that does not
        // hold requests (or `--poll-timeout 0` without an interval): back off, never spin.
        let too_early = timeout == 0 || asked.elapsed() < Duration::from_secs(timeout) / 2;
        if updates.is_empty() && ticker.is_none() && too_early {
            let wait = backoff.delay(early_empties, &mut rand::thread_rng());
            early_empties = early_empties.saturating_add(1);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => continue,
            }
        }
        early_empties = 0;
        // Telegram never returns updates below the offset; a server that does is not obeyed.
        let fresh: Vec<_> = updates
            .into_iter()
            .filter(|u| u.update_id >= offset)
            .collect();
        let Some(last) = fresh.iter().map(|u| u.update_id).max() else {
            continue;
        };
        let bot_id = token.id();
        match opts.handle {
            Handle::Sequential => {
                for u in &fresh {
                    platform.process(bot_id, u).await;
                }
            }
            Handle::Concurrent => {
                join_all(fresh.iter().map(|u| platform.process(bot_id, u))).await;
            }
        }
        offset = last + 1;
    }
    // Stopped. Confirm what was handled since the last successful getUpdates.
    let confirm = if offset > confirmed {
        let params = GetUpdates {
            offset,
            limit: 1,
            timeout: 0,
            allowed_updates: &platform.allowed_updates,
        };
        let attempts = Attempts::AtMost(api.config().max_attempts.min(3));
        Some(api.get_updates(&token, &params, attempts).await.is_ok())
    } else {
        None
    };
    LoopEnd::Stopped { confirm }
}

/// Why the open-file limit cannot hold the sockets asked for.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} needs about {needed} open files (one socket per polling bot + {RESERVE_FDS} spare) \
     but this process may open only {limit} (ulimit -n). Run at most {max_bots} polling bots \
     per process, or raise the limit (ulimit -n {needed})"
)]
pub struct OpenFilesError {
    pub what: String,
    pub needed: u64,
    pub limit: u64,
    pub max_bots: u64,
}

/// File descriptors kept spare for the listener, webhook connections, logs and the like.
pub const RESERVE_FDS: u64 = 200;

/// Checks that `polling_bots` long polls (one socket each) fit the soft open-file limit.
/// Without a readable limit (not Linux) it says yes.
pub fn check_open_files(what: &str, polling_bots: usize) -> Result<(), OpenFilesError> {
    let Some(limit) = open_files_limit() else {
        return Ok(());
    };
    let needed = polling_bots as u64 + RESERVE_FDS;
    if needed <= limit {
        return Ok(());
    }
    Err(OpenFilesError {
        what: what.to_owned(),
        needed,
        limit,
        max_bots: limit.saturating_sub(RESERVE_FDS),
    })
}

/// The soft `RLIMIT_NOFILE` from /proc/self/limits (`None` if unlimited or unreadable).
pub fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&text)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max cpu time              unlimited            unlimited            seconds\n\
                    Max open files            20000                40000                files\n";
        assert_eq!(parse_open_files_limit(text), Some(20000));
        assert_eq!(
            parse_open_files_limit("Max open files unlimited unlimited files"),
            None
        );
    }

    /// Linux only: there /proc/self/limits always gives the soft limit as a number (the
    /// kernel caps RLIMIT_NOFILE at fs.nr_open, so it is never "unlimited").
    #[cfg(target_os = "linux")]
    #[test]
    fn too_many_bots_for_the_limit_is_a_clear_error() {
        let limit = open_files_limit()
            .expect("on Linux /proc/self/limits gives a finite soft open-files limit");
        assert!(check_open_files("polling-bot", 10).is_ok());
        let err = check_open_files("polling-bot", limit as usize).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("ulimit -n") && msg.contains(&limit.to_string()),
            "{msg}"
        );
        assert_eq!(err.max_bots, limit - RESERVE_FDS);
    }

    #[test]
    fn default_opts_are_the_documented_ones() {
        let o = PollingOpts::default();
        assert_eq!((o.poll_timeout, o.limit), (30, 100));
        assert_eq!(o.short_poll_interval_ms, None);
        assert_eq!(o.handle, Handle::Sequential);
        assert!(o.validate().is_ok());
        let spin = PollingOpts {
            poll_timeout: 0,
            ..PollingOpts::default()
        };
        assert!(
            spin.validate()
                .unwrap_err()
                .contains("--short-poll-interval-ms")
        );
        let short = PollingOpts {
            short_poll_interval_ms: Some(500),
            ..spin
        };
        assert!(short.validate().is_ok());
    }
}
