//! How many connections a bot's webhook delivers over: Telegram's slow start after an outage.
//!
//! From tdlib/telegram-bot-api, `WebhookActor.cpp` (`create_new_connections`, `start_up`,
//! `handle`): a webhook wants one connection per chat with updates loaded, at most
//! `max_connections`. While nothing succeeded in the last 10 s (and at first, when the last
//! success counts as an hour ago) it wants one connection at most, and opens at most one new
//! connection per 2 s; once a POST succeeded it opens at most 10 per 0.5 s. A connection that
//! fails at the transport level (refused, reset, timed out) is closed; one answered with an
//! HTTP error stays open. A POST needs a connection of its own, so the open connections cap
//! the POSTs in flight. After a 60 s outage delivery therefore starts on one connection and
//! widens only after the first success.
//!
//! Pure logic over [`Instant`]s: the webhook worker passes its clock in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// No success for this long: the webhook counts as down.
pub const QUIET_AFTER: Duration = Duration::from_secs(10);
/// While down: at most this many new connections...
const DOWN_OPENS: usize = 1;
/// ...per this long.
const DOWN_WINDOW: Duration = Duration::from_secs(2);
/// While up: at most this many new connections...
const UP_OPENS: usize = 10;
/// ...per this long.
const UP_WINDOW: Duration = Duration::from_millis(500);

/// A bot's webhook connections.
#[derive(Debug, Default, Clone)]
pub struct Connections {
    /// Connections open now (each carries at most one POST at a time).
    open: usize,
    /// The last 2xx answer; None = never (Telegram starts it an hour in the past).
    last_success: Option<Instant>,
    /// When connections were opened lately (the flood control of the mode in force).
    opened: VecDeque<Instant>,
    /// The flood control `opened` belongs to: true = up, false = down.
    up: bool,
}

impl Connections {
    /// Whether the webhook counts as down at `now` (no success in the last 10 s).
    pub fn is_down(&self, now: Instant) -> bool {
        self.last_success
            .is_none_or(|t| now.saturating_duration_since(t) > QUIET_AFTER)
    }

    /// Opens the connections the flood control allows towards `want` (chats with updates
    /// loaded) and returns how many are open, and when to look again if the flood control
    /// held one back.
    pub fn open_for(
        &mut self,
        want: usize,
        max_connections: usize,
        now: Instant,
    ) -> (usize, Option<Instant>) {
        let up = !self.is_down(now);
        if up != self.up {
            self.up = up;
            self.opened.clear();
        }
        let (need, opens, window) = if up {
            (want.clamp(1, max_connections.max(1)), UP_OPENS, UP_WINDOW)
        } else {
            (want.min(1), DOWN_OPENS, DOWN_WINDOW)
        };
        while self
            .opened
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.opened.pop_front();
        }
        let mut wake = None;
        while self.open < need {
            if self.opened.len() >= opens {
                wake = self.opened.front().map(|t| *t + window);
                break;
            }
            self.opened.push_back(now);
            self.open += 1;
        }
        (self.open, wake)
    }

    /// A POST was answered 2xx.
    pub fn succeeded(&mut self, now: Instant) {
        self.last_success = Some(now);
    }

    /// A POST failed at the transport level: its connection is gone.
    pub fn closed(&mut self) {
        self.open = self.open.saturating_sub(1);
    }

    /// The webhook was set anew or deleted: no connections, no success yet.
    pub fn reset(&mut self) {
        *self = Connections::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_new_webhook_starts_on_one_connection_and_widens_after_a_success() {
        let t0 = Instant::now();
        let mut c = Connections::default();
        assert!(c.is_down(t0));
        assert_eq!(c.open_for(40, 40, t0), (1, None));
        c.succeeded(t0 + MS);
        // Up: 10 new connections per 0.5 s.
        let (open, wake) = c.open_for(40, 40, t0 + MS);
        assert_eq!(open, 11);
        assert_eq!(wake, Some(t0 + MS + UP_WINDOW));
        assert_eq!(c.open_for(40, 40, t0 + MS + UP_WINDOW).0, 21);
        // Never more than the chats waiting, nor max_connections.
        assert_eq!(c.open_for(5, 40, t0 + 2 * UP_WINDOW).0, 21);
        let mut small = Connections::default();
        small.succeeded(t0);
        assert_eq!(small.open_for(40, 3, t0).0, 3);
    }

    #[test]
    fn after_ten_quiet_seconds_connections_reopen_one_per_two_seconds() {
        let t0 = Instant::now();
        let mut c = Connections::default();
        c.succeeded(t0);
        assert_eq!(c.open_for(4, 4, t0).0, 4);
        // The SUT goes away: every connection fails and closes.
        for _ in 0..4 {
            c.closed();
        }
        let later = t0 + QUIET_AFTER + MS;
        assert!(c.is_down(later));
        assert_eq!(c.open_for(4, 4, later), (1, None));
        c.closed();
        // The next one only 2 s after the last one opened.
        let (open, wake) = c.open_for(4, 4, later + MS);
        assert_eq!((open, wake), (0, Some(later + DOWN_WINDOW)));
        assert_eq!(c.open_for(4, 4, later + DOWN_WINDOW).0, 1);
        // An HTTP error keeps the connection: open connections stay usable while down.
        c.succeeded(later + DOWN_WINDOW + MS);
        assert_eq!(c.open_for(4, 4, later + DOWN_WINDOW + MS).0, 4);
    }

    #[test]
    fn nothing_waiting_while_down_opens_nothing() {
        let mut c = Connections::default();
        assert_eq!(c.open_for(0, 40, Instant::now()), (0, None));
    }
}
