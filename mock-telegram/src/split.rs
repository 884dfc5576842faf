//! Where a reply's latency goes: *in Telegram* (due → handed out) and *delivery to reply*
//! (handed out → the reply reaches the mock: the trip to the bot, its processing and its
//! reply's trip back), beside the total (due → reply), each in its own HdrHistogram.
//!
//! An update is *handed out* when it leaves the mock: when the getUpdates answer that carries
//! it is written, or when the webhook POST that delivers it starts. Both happen after the
//! mock has held the emulated half trip ([`crate::network`]), so the network distance on the
//! way to the bot counts in Telegram's part, as the claims' timeline puts it (the server
//! "polls and gets it"). An update handed out more than once keeps its latest hand-out before
//! the reply: for an unconfirmed getUpdates batch, the answer the bot acted on; for a retried
//! webhook, the POST the bot was handling when it replied — the successful one, since a bot
//! replies while it handles the POST it then answers 2xx (a bot that replies and then fails
//! its answer has the reply counted from that failed POST, the one it really handled).
//! A reply to an update that was never handed out (a bot writing to a chat it did not
//! read) counts wholly in Telegram.
//!
//! The parts add up to the total exactly, reply by reply, in µs: the delivery part is the
//! total minus Telegram's part.

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::bot::{BotState, ChatMap, ChatState, Stamps};

/// Highest latency the histograms record, in µs (10 minutes).
pub const LATENCY_MAX_US: u64 = 600_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid histogram bounds")
}

/// One reply's latency and its split, µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitUs {
    /// Due → reply (at least 1).
    pub total: u64,
    /// Due → handed out (at most `total`).
    pub in_telegram: u64,
}

impl SplitUs {
    /// Splits the latency of a reply arriving `now` to an update with these stamps.
    pub fn of(stamps: Stamps, now: Instant) -> SplitUs {
        let us = |from: Instant, to: Instant| to.saturating_duration_since(from).as_micros() as u64;
        let total = us(stamps.due, now).clamp(1, LATENCY_MAX_US);
        let in_telegram = stamps
            .handed_out
            .map_or(total, |h| us(stamps.due, h))
            .min(total);
        SplitUs { total, in_telegram }
    }

    /// Handed out → reply.
    pub fn delivery_to_reply(self) -> u64 {
        self.total - self.in_telegram
    }
}

/// The reply latencies (µs, 1 µs to 10 minutes, 3 significant figures): the total and its
/// two parts, one value each per first reply.
#[derive(Clone, Debug)]
pub struct Latencies {
    pub total: Histogram<u64>,
    pub in_telegram: Histogram<u64>,
    pub delivery_to_reply: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            total: new_histogram(),
            in_telegram: new_histogram(),
            delivery_to_reply: new_histogram(),
        }
    }
}

impl Latencies {
    /// Records one reply.
    pub fn record(&mut self, split: SplitUs) {
        let _ = self.total.record(split.total);
        let _ = self.in_telegram.record(split.in_telegram);
        let _ = self.delivery_to_reply.record(split.delivery_to_reply());
    }

    /// What was recorded after `start` (a snapshot of the same, earlier); a histogram that
    /// cannot be subtracted (it was reset in between) is kept whole.
    pub fn since(&self, start: &Latencies) -> Latencies {
        let minus = |now: &Histogram<u64>, then: &Histogram<u64>| {
            let mut h = now.clone();
            if h.subtract(then).is_err() {
                h = now.clone();
            }
            h
        };
        Latencies {
            total: minus(&self.total, &start.total),
            in_telegram: minus(&self.in_telegram, &start.in_telegram),
            delivery_to_reply: minus(&self.delivery_to_reply, &start.delivery_to_reply),
        }
    }
}

/// Update `update_id` of chat `chat_id` left Telegram `at` (a webhook POST starts).
pub(crate) fn handed_out(
    chats: &mut ChatMap<ChatState>,
    chat_id: i64,
    update_id: i64,
    at: Instant,
) {
    if let Some(s) = chats
        .get_mut(&chat_id)
        .and_then(|c| c.samples.iter_mut().find(|s| s.update_id == update_id))
    {
        s.handed_out = Some(at);
    }
}

/// The first `n` updates of the bot's queue left Telegram `at` (a getUpdates answer).
pub(crate) fn batch_handed_out(st: &mut BotState, n: usize, at: Instant) {
    for p in st.queue.iter_mut().take(n) {
        handed_out(&mut st.chats, p.chat_id, p.update_id, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_parts_add_up_to_the_total() {
        let due = Instant::now();
        let ms = Duration::from_millis;
        let stamps = Stamps {
            due,
            handed_out: Some(due + ms(300)),
        };
        let s = SplitUs::of(stamps, due + ms(1_000));
        assert_eq!(
            (s.total, s.in_telegram, s.delivery_to_reply()),
            (1_000_000, 300_000, 700_000)
        );
        // Never handed out: all of it in Telegram.
        let s = SplitUs::of(
            Stamps {
                due,
                handed_out: None,
            },
            due + ms(5),
        );
        assert_eq!((s.in_telegram, s.delivery_to_reply()), (5_000, 0));
        // A hand-out after the reply (a stale stamp) is capped at the total.
        let s = SplitUs::of(
            Stamps {
                due,
                handed_out: Some(due + ms(9)),
            },
            due + ms(2),
        );
        assert_eq!((s.in_telegram, s.delivery_to_reply()), (2_000, 0));
    }

    #[test]
    fn since_subtracts_each_histogram() {
        let mut a = Latencies::default();
        a.record(SplitUs {
            total: 10,
            in_telegram: 4,
        });
        let start = a.clone();
        a.record(SplitUs {
            total: 20,
            in_telegram: 5,
        });
        let d = a.since(&start);
        assert_eq!((d.total.len(), d.total.max()), (1, 20));
        assert_eq!(d.in_telegram.max(), 5);
        assert_eq!(d.delivery_to_reply.max(), 15);
    }
}
