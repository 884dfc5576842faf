//! getUpdates: offsets, limits, long polls held until an update arrives, Telegram's
//! anti-spin rules, and the two 409s.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::bot::{Allowed, HeldPoll, LastPoll, PollWake};
use crate::error::{ApiError, CONFLICT_OTHER_GET_UPDATES, CONFLICT_WEBHOOK_ACTIVE};
use crate::mock::Mock;
use crate::network::pause;
use crate::params::Params;
use crate::queue::envelope_batch;

/// The longest a getUpdates may be held (Telegram clamps `timeout` to 0-50 s).
pub const MAX_TIMEOUT_SECS: i64 = 50;
/// Anti-spin: the same offset again within this long, with timeout < 3, is held 3 s.
const SPIN_HOLD_WINDOW: Duration = Duration::from_secs(3);
const SPIN_HOLD: Duration = Duration::from_secs(3);
/// Anti-spin: the same offset again within this long after an answer gets limit 1.
const SPIN_LIMIT_WINDOW: Duration = Duration::from_millis(500);

/// Batching: a long poll woken by an update answers once no further update came for this
/// long (`Client::long_poll_wakeup`, `LONG_POLL_WAIT_AFTER`)...
const BATCH_WAIT_AFTER: Duration = Duration::from_millis(1);
/// ...or this long after the first wake-up (`LONG_POLL_MAX_DELAY`).
const BATCH_MAX_DELAY: Duration = Duration::from_millis(2);
/// One 409 Conflict per this long is answered at once; later ones wait this long
/// (`Client::fail_query_conflict`).
const CONFLICT_INTERVAL: Duration = Duration::from_secs(3);

/// The parameters of one getUpdates after clamping and the anti-spin rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRequest {
    pub offset: i64,
    pub limit: usize,
    pub timeout: Duration,
}

impl PollRequest {
    /// Reads and clamps offset, limit (1-100, default 100) and timeout (0-50 s, default 0).
    pub fn from_params(params: &Params) -> Result<PollRequest, ApiError> {
        let offset = params.i64("offset")?.unwrap_or(0);
        let limit = params.i64("limit")?.unwrap_or(100).clamp(1, 100) as usize;
        let timeout = params
            .i64("timeout")?
            .unwrap_or(0)
            .clamp(0, MAX_TIMEOUT_SECS) as u64;
        Ok(PollRequest {
            offset,
            limit,
            timeout: Duration::from_secs(timeout),
        })
    }

    /// Telegram's anti-spin rules, given the previous call.
    pub fn anti_spin(mut self, last: Option<LastPoll>, now: Instant) -> PollRequest {
        let Some(last) = last.filter(|l| l.offset == self.offset) else {
            return self;
        };
        if self.timeout < SPIN_HOLD
            && now.saturating_duration_since(last.started) < SPIN_HOLD_WINDOW
        {
            self.timeout = SPIN_HOLD;
        }
        if last
            .finished
            .is_some_and(|f| now.saturating_duration_since(f) < SPIN_LIMIT_WINDOW)
        {
            self.limit = 1;
        }
        self
    }
}

/// Keeps the held-poll gauge and the bot's poll slot right however the call ends
/// (answered, timed out, or dropped because the client went away).
struct HeldGuard<'a> {
    mock: &'a Mock,
    bot: usize,
    seq: u64,
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        self.mock.counters.gu_in_flight.fetch_sub(1, Relaxed);
        let mut st = self.mock.bots[self.bot].lock();
        if st.poll.as_ref().is_some_and(|p| p.seq == self.seq) {
            st.poll = None;
        }
    }
}

/// getUpdates for bot `bot`; `extra` is a fault's added delay. Takes the parameters by
/// value and drops them before waiting: 10,000 held polls should not keep 10,000 maps.
pub async fn get_updates(
    mock: &Arc<Mock>,
    bot: usize,
    params: Params,
    extra: Duration,
) -> Result<Vec<u8>, ApiError> {
    let arrived = Instant::now();
    let request = PollRequest::from_params(&params)?;
    let allowed = params.allowed_updates()?;
    drop(params);
    let b = &mock.bots[bot];

    let (request, waiter) = {
        let mut st = b.lock();
        if st.webhook.is_some() {
            mock.counters.gu_conflicts.fetch_add(1, Relaxed);
            return Err(ApiError::Conflict(CONFLICT_WEBHOOK_ACTIVE));
        }
        if let Some(list) = allowed {
            st.allowed = Allowed { list: Some(list) };
        }
        let request = if mock.config().anti_spin {
            request.anti_spin(st.last_poll, arrived)
        } else {
            request
        };
        st.last_poll = Some(LastPoll {
            offset: request.offset,
            started: arrived,
            finished: None,
        });
        st.last_poll_seen = Some(arrived);
        let forgotten = if request.offset > 0 {
            let confirmed = st.queue.confirm(request.offset);
            mock.counters.pending.fetch_sub(confirmed as u64, Relaxed);
            0
        } else if request.offset < 0 {
            st.queue.keep_last(request.offset.unsigned_abs() as usize)
        } else {
            0
        };
        if forgotten > 0 {
            mock.note_forgotten(forgotten);
        }
        if st.poll.is_some() {
            mock.counters.gu_conflicts.fetch_add(1, Relaxed);
            st.end_poll(PollWake::Conflict(CONFLICT_OTHER_GET_UPDATES));
        }
        let waiter = if st.queue.is_empty() && !request.timeout.is_zero() {
            st.poll_seq += 1;
            let seq = st.poll_seq;
            let (tx, rx) = oneshot::channel();
            st.poll = Some(HeldPoll { seq, tx });
            mock.counters.gu_in_flight.fetch_add(1, Relaxed);
            Some((seq, rx))
        } else {
            None
        };
        (request, waiter)
    };

    match waiter {
        None => {
            // Answered at once: the whole round trip is spent on this call.
            let hold = if mock.distance.is_zero() {
                extra
            } else {
                mock.distance.sample() + extra
            };
            pause(hold).await;
        }
        Some((seq, rx)) => {
            let guard = HeldGuard { mock, bot, seq };
            let wake = tokio::time::timeout(request.timeout, rx).await;
            drop(guard);
            match wake {
                Ok(Ok(PollWake::Conflict(why))) => {
                    pause(conflict_delay(mock, bot, Instant::now())).await;
                    return Err(ApiError::Conflict(why));
                }
                Ok(Ok(PollWake::Shutdown)) => {}
                Ok(Ok(PollWake::Updates)) if mock.config().poll_batching => {
                    batch_wait(mock, bot).await;
                    pause(mock.distance.half() + extra).await;
                }
                // Woken by an update, or timed out: only the answer's half trip is left.
                _ => pause(mock.distance.half() + extra).await,
            }
        }
    }
    Ok(answer(mock, bot, request, arrived))
}

/// How long a getUpdates ended by a 409 Conflict at `now` waits before its answer: at once
/// if no 409 was answered at once in the last 3 s, else 3 s.
fn conflict_delay(mock: &Mock, bot: usize, now: Instant) -> Duration {
    let mut st = mock.bots[bot].lock();
    if st.next_conflict.is_none_or(|t| now >= t) {
        st.next_conflict = Some(now + CONFLICT_INTERVAL);
        Duration::ZERO
    } else {
        CONFLICT_INTERVAL
    }
}

/// Waits for more updates after a wake-up, as Telegram batches them: until none came for
/// 1 ms, 2 ms after the wake-up at most.
async fn batch_wait(mock: &Mock, bot: usize) {
    let woke = Instant::now();
    let hard = woke + BATCH_MAX_DELAY;
    let mut seen = mock.bots[bot].lock().last_update_id;
    loop {
        let until = (Instant::now() + BATCH_WAIT_AFTER).min(hard);
        tokio::time::sleep_until(until.into()).await;
        let last = mock.bots[bot].lock().last_update_id;
        if last == seen || Instant::now() >= hard {
            return;
        }
        seen = last;
    }
}

/// Collects the batch and counts it.
fn answer(mock: &Mock, bot: usize, request: PollRequest, arrived: Instant) -> Vec<u8> {
    let mut items = Vec::new();
    let now = Instant::now();
    let (n, handed) = {
        let mut st = mock.bots[bot].lock();
        let expired = st.queue.drop_expired(now);
        if expired > 0 {
            mock.note_forgotten(expired);
        }
        let taken = st.queue.take_batch(request.limit, &mut items);
        crate::split::batch_handed_out(&mut st, taken.0, now);
        st.last_poll_seen = Some(now);
        if let Some(last) = st.last_poll.as_mut().filter(|l| l.started == arrived) {
            last.finished = Some(now);
        }
        taken
    };
    let c = &mock.counters;
    c.gu_calls.fetch_add(1, Relaxed);
    c.gu_held_us.fetch_add(
        now.saturating_duration_since(arrived).as_micros() as u64,
        Relaxed,
    );
    if n == 0 {
        c.gu_empty.fetch_add(1, Relaxed);
    }
    c.gu_returned.fetch_add(n as u64, Relaxed);
    c.delivered.fetch_add(handed.first, Relaxed);
    c.redelivered.fetch_add(handed.again, Relaxed);
    envelope_batch(&items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(offset: i64, timeout: u64) -> PollRequest {
        PollRequest {
            offset,
            limit: 100,
            timeout: Duration::from_secs(timeout),
        }
    }

    #[test]
    fn anti_spin_holds_and_limits_the_same_offset_only() {
        let t0 = Instant::now();
        let last = LastPoll {
            offset: 5,
            started: t0,
            finished: Some(t0),
        };
        let again = req(5, 0).anti_spin(Some(last), t0 + Duration::from_millis(100));
        assert_eq!((again.timeout, again.limit), (SPIN_HOLD, 1));
        let later = req(5, 0).anti_spin(Some(last), t0 + Duration::from_secs(1));
        assert_eq!((later.timeout, later.limit), (SPIN_HOLD, 100));
        let much_later = req(5, 0).anti_spin(Some(last), t0 + Duration::from_secs(4));
        assert_eq!(much_later, req(5, 0));
        let other_offset = req(6, 0).anti_spin(Some(last), t0);
        assert_eq!(other_offset, req(6, 0));
        let long_poll = req(5, 30).anti_spin(Some(last), t0 + Duration::from_secs(1));
        assert_eq!(long_poll, req(5, 30));
    }

    #[tokio::test]
    async fn limits_and_timeouts_are_clamped() {
        let p = Params::parse(
            Some("limit=500&timeout=90&offset=-3"),
            None,
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
        let r = PollRequest::from_params(&p).unwrap();
        assert_eq!(
            (r.offset, r.limit, r.timeout),
            (-3, 100, Duration::from_secs(50))
        );
        let p = Params::parse(Some("limit=0&timeout=-1"), None, bytes::Bytes::new())
            .await
            .unwrap();
        let r = PollRequest::from_params(&p).unwrap();
        assert_eq!((r.limit, r.timeout), (1, Duration::ZERO));
    }
}
