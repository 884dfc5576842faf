//! What the mock counts, exactly: Bot API calls by method and HTTP status, bytes by method,
//! the fate of every update, the latency histograms' summaries, getUpdates and webhook
//! accounting.
//!
//! [`Counters`] are the live atomics; [`Stats`] is their snapshot, the JSON of
//! `GET /_mock/stats` and the return of [`Mock::stats`](crate::Mock::stats).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

use crate::error::STATUS_CODES;
use crate::method::Method;

/// Reply latency, from the update's due instant to the reply, in milliseconds: the same
/// summary as a results file's `latency_ms` ([`Latency::from_histogram`]).
pub use tgbench_results::Latency;

/// A snapshot of everything the mock counted since start or the last reset.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Bot API calls by canonical method name (`getUpdates`, `sendMessage`, ...).
    pub requests: BTreeMap<String, u64>,
    /// Bot API request and response body bytes.
    pub bytes: Bytes,
    /// The same bytes by method.
    #[serde(default)]
    pub bytes_by_method: BTreeMap<String, Bytes>,
    pub updates: Updates,
    pub latency_ms: Latency,
    /// The same replies' latency in two parts that add up to it ([`crate::split`]).
    #[serde(default)]
    pub latency_split: LatencySplit,
    pub get_updates: GetUpdates,
    pub webhook: Webhook,
    /// Calls answered 429 by the rate limits (not by fault injection).
    pub rate_limited: u64,
    pub readiness: Readiness,
    /// TLS handshakes on both sides ([`crate::tls`]); zero over plain HTTP.
    #[serde(default)]
    pub tls: Tls,
}

/// TLS handshakes completed: connections the Bot API server accepted over TLS, and TLS
/// connections the webhook client opened (each reused while kept alive).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Tls {
    pub bot_api_handshakes: u64,
    pub webhook_handshakes: u64,
}

/// Reply latency in two parts, ms: due → handed out, handed out → reply.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencySplit {
    pub in_telegram: Latency,
    pub delivery_to_reply: Latency,
}

/// Body bytes in and out.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Bytes {
    #[serde(rename = "in")]
    pub inbound: u64,
    #[serde(rename = "out")]
    pub outbound: u64,
}

/// The fate of injected updates.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Updates {
    pub injected: u64,
    /// Handed to the bot for the first time (getUpdates answer or 2xx webhook POST).
    pub delivered: u64,
    /// Injected updates that got at least one reply.
    pub replied: u64,
    /// Replies beyond the first to the same update.
    pub duplicated: u64,
    /// Later hand-overs of an already delivered update.
    pub redelivered: u64,
    /// injected - replied.
    pub unanswered: u64,
    /// Kept for the bots now, not yet confirmed.
    pub pending: u64,
    /// Not kept: their kind was not in the bot's allowed_updates.
    #[serde(default)]
    pub filtered: u64,
    /// Dropped unconfirmed: drop_pending_updates, a negative offset, or the per-bot bound.
    #[serde(default)]
    pub dropped: u64,
}

/// getUpdates accounting.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GetUpdates {
    /// Answered calls (with a result, empty or not).
    pub calls: u64,
    /// Answers with no update.
    pub empty: u64,
    pub empty_share: f64,
    /// Updates per non-empty answer.
    pub mean_batch: f64,
    /// Mean time a call was held before its answer (0 for immediate ones).
    pub held_ms_mean: f64,
    /// Calls held right now.
    pub in_flight: u64,
    /// 409 answers (a second poller, or a webhook set).
    pub conflicts: u64,
}

/// Webhook delivery accounting.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Webhook {
    /// POSTs finished (any outcome).
    pub deliveries: u64,
    /// Answered 2xx.
    pub ok: u64,
    /// Non-2xx, refused, or timed out.
    pub failed: u64,
    /// POSTs of an update that had failed before.
    pub retries: u64,
    pub in_flight: u64,
    pub in_flight_peak: u64,
    pub in_flight_peak_per_bot: u64,
    /// 2xx answers whose body was a method call, executed.
    pub method_in_response: u64,
}

/// How many bots are ready to receive: polling now (or lately), or with a webhook set.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Readiness {
    pub bots: usize,
    /// Bots with a getUpdates held now or seen within the last 2*rtt+1s.
    pub polling: usize,
    pub webhooks_set: usize,
}

/// The live counters (atomics, so no lock is taken to count).
#[derive(Debug, Default)]
pub struct Counters {
    /// Calls by method and by the slot of their answer's status in [`STATUS_CODES`].
    requests: [[AtomicU64; STATUS_CODES.len()]; Method::COUNT],
    bytes_in: [AtomicU64; Method::COUNT],
    bytes_out: [AtomicU64; Method::COUNT],
    pub injected: AtomicU64,
    pub delivered: AtomicU64,
    pub replied: AtomicU64,
    pub duplicated: AtomicU64,
    pub redelivered: AtomicU64,
    pub pending: AtomicU64,
    pub filtered: AtomicU64,
    pub dropped: AtomicU64,
    pub gu_calls: AtomicU64,
    pub gu_empty: AtomicU64,
    pub gu_returned: AtomicU64,
    pub gu_held_us: AtomicU64,
    pub gu_in_flight: AtomicU64,
    pub gu_conflicts: AtomicU64,
    pub wh_deliveries: AtomicU64,
    pub wh_ok: AtomicU64,
    pub wh_failed: AtomicU64,
    pub wh_retries: AtomicU64,
    pub wh_in_flight: AtomicU64,
    pub wh_in_flight_peak: AtomicU64,
    pub wh_in_flight_peak_per_bot: AtomicU64,
    pub wh_method_in_response: AtomicU64,
    pub rate_limited: AtomicU64,
    pub tls_bot_api_handshakes: AtomicU64,
}

impl Counters {
    /// Counts one call of `method`, answered with the status of `status_slot` (an index into
    /// [`STATUS_CODES`]: [`OK_SLOT`](crate::error::OK_SLOT) or
    /// [`ApiError::status_slot`](crate::ApiError::status_slot)), with its body sizes.
    pub fn call(&self, method: Method, status_slot: usize, bytes_in: usize, bytes_out: usize) {
        let i = method as usize;
        self.requests[i][status_slot].fetch_add(1, Relaxed);
        self.bytes_in[i].fetch_add(bytes_in as u64, Relaxed);
        self.bytes_out[i].fetch_add(bytes_out as u64, Relaxed);
    }

    /// A webhook POST started for a bot that now has `bot_in_flight` of them.
    pub fn webhook_started(&self, bot_in_flight: usize) {
        let now = self.wh_in_flight.fetch_add(1, Relaxed) + 1;
        self.wh_in_flight_peak.fetch_max(now, Relaxed);
        self.wh_in_flight_peak_per_bot
            .fetch_max(bot_in_flight as u64, Relaxed);
    }

    /// Calls so far by method (index `Method as usize`) and status slot.
    pub fn requests_by_status(&self) -> [[u64; STATUS_CODES.len()]; Method::COUNT] {
        self.requests
            .each_ref()
            .map(|by_status| by_status.each_ref().map(|n| n.load(Relaxed)))
    }

    /// The snapshot (readiness and latency are filled in by the caller).
    pub fn snapshot(&self) -> Stats {
        let mut s = Stats::default();
        for &m in Method::ALL {
            let i = m as usize;
            let n: u64 = self.requests[i].iter().map(|n| n.load(Relaxed)).sum();
            if n == 0 {
                continue;
            }
            let b = Bytes {
                inbound: self.bytes_in[i].load(Relaxed),
                outbound: self.bytes_out[i].load(Relaxed),
            };
            s.requests.insert(m.name().to_string(), n);
            s.bytes.inbound += b.inbound;
            s.bytes.outbound += b.outbound;
            s.bytes_by_method.insert(m.name().to_string(), b);
        }
        let injected = self.injected.load(Relaxed);
        let replied = self.replied.load(Relaxed);
        s.updates = Updates {
            injected,
            delivered: self.delivered.load(Relaxed),
            replied,
            duplicated: self.duplicated.load(Relaxed),
            redelivered: self.redelivered.load(Relaxed),
            unanswered: injected.saturating_sub(replied),
            pending: self.pending.load(Relaxed),
            filtered: self.filtered.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
        };
        let calls = self.gu_calls.load(Relaxed);
        let empty = self.gu_empty.load(Relaxed);
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        s.get_updates = GetUpdates {
            calls,
            empty,
            empty_share: ratio(empty, calls),
            mean_batch: ratio(self.gu_returned.load(Relaxed), calls - empty.min(calls)),
            held_ms_mean: ratio(self.gu_held_us.load(Relaxed), calls) / 1000.0,
            in_flight: self.gu_in_flight.load(Relaxed),
            conflicts: self.gu_conflicts.load(Relaxed),
        };
        s.webhook = Webhook {
            deliveries: self.wh_deliveries.load(Relaxed),
            ok: self.wh_ok.load(Relaxed),
            failed: self.wh_failed.load(Relaxed),
            retries: self.wh_retries.load(Relaxed),
            in_flight: self.wh_in_flight.load(Relaxed),
            in_flight_peak: self.wh_in_flight_peak.load(Relaxed),
            in_flight_peak_per_bot: self.wh_in_flight_peak_per_bot.load(Relaxed),
            method_in_response: self.wh_method_in_response.load(Relaxed),
        };
        s.rate_limited = self.rate_limited.load(Relaxed);
        s.tls.bot_api_handshakes = self.tls_bot_api_handshakes.load(Relaxed);
        s
    }

    /// Zeroes every counter except the gauges of what exists now (pending, in flight).
    pub fn reset(&self) {
        for a in self
            .requests
            .iter()
            .flatten()
            .chain(&self.bytes_in)
            .chain(&self.bytes_out)
        {
            a.store(0, Relaxed);
        }
        for a in [
            &self.injected,
            &self.delivered,
            &self.replied,
            &self.duplicated,
            &self.redelivered,
            &self.filtered,
            &self.dropped,
            &self.gu_calls,
            &self.gu_empty,
            &self.gu_returned,
            &self.gu_held_us,
            &self.gu_conflicts,
            &self.wh_deliveries,
            &self.wh_ok,
            &self.wh_failed,
            &self.wh_retries,
            &self.wh_method_in_response,
            &self.rate_limited,
            &self.tls_bot_api_handshakes,
        ] {
            a.store(0, Relaxed);
        }
        self.wh_in_flight_peak
            .store(self.wh_in_flight.load(Relaxed), Relaxed);
        self.wh_in_flight_peak_per_bot.store(0, Relaxed);
    }
}
