//! The injector: a thread that sends each scheduled message at its instant, whether or not
//! the bot answered the earlier ones (open model), with `due` = the scheduled instant, so
//! a late injection still counts its latency from the schedule (no coordinated omission).
//! It measures its own lateness against the schedule.
//!
//! It sleeps at least [`BATCH`] at a time and then sends every message that is due, so at
//! 10,000 messages/s one wake sends about ten: not one sleep, wake and hand-off to the mock's
//! runtime per message (which was 40 % of the harness's CPU at that rate). It stays a thread
//! of its own so that it keeps the schedule even when the mock's runtime has thousands of
//! webhook deliveries queued (as a task on that runtime it fell seconds behind).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mock_telegram::{Mock, NewUpdate};

use crate::send::{Send, SendKind};

/// What the injector did.
#[derive(Debug)]
pub struct InjectReport {
    /// Updates the mock accepted.
    pub injected: u64,
    /// Injections the mock refused (e.g. a bot's pending bound); the first error's text.
    pub refused: u64,
    pub first_error: Option<String>,
    /// Lateness against the schedule, µs.
    pub lag_us: Histogram<u64>,
    /// True when it stopped before the end of its schedule.
    pub stopped_early: bool,
    /// Longest single `Mock::inject` call: time spent inside the mock (its locks), as
    /// opposed to the thread waking late.
    pub slowest_inject: Duration,
}

/// A running injector.
pub struct Injector {
    handle: JoinHandle<InjectReport>,
}

/// Longest single sleep, so a stop request is seen quickly.
const SLICE: Duration = Duration::from_millis(20);
/// Shortest sleep: messages due within it go out together after it.
pub const BATCH: Duration = Duration::from_millis(1);

impl Injector {
    /// Starts sending `schedule` (offsets from `start`, in time order; a list, or a trace
    /// read as it plays) to the bots `bot_ids[send.bot]`.
    pub fn spawn(
        mock: Arc<Mock>,
        bot_ids: Arc<Vec<i64>>,
        schedule: Box<dyn Iterator<Item = Send> + std::marker::Send>,
        start: Instant,
        stop: Arc<AtomicBool>,
    ) -> Injector {
        let handle = std::thread::Builder::new()
            .name("tgbench-inject".into())
            .spawn(move || inject(&mock, &bot_ids, schedule, start, &stop))
            .expect("spawning the injector thread");
        Injector { handle }
    }

    pub fn join(self) -> InjectReport {
        self.handle.join().expect("the injector thread panicked")
    }
}

fn inject(
    mock: &Mock,
    bot_ids: &[i64],
    schedule: impl Iterator<Item = Send>,
    start: Instant,
    stop: &AtomicBool,
) -> InjectReport {
    let mut report = InjectReport {
        injected: 0,
        refused: 0,
        first_error: None,
        lag_us: tgbench_reports::histogram::new_latency_histogram(),
        stopped_early: false,
        slowest_inject: Duration::ZERO,
    };
    let mut now = Instant::now();
    for (seq, s) in schedule.enumerate() {
        let due = start + s.at;
        while now < due {
            if stop.load(Ordering::Relaxed) {
                report.stopped_early = true;
                return report;
            }
            std::thread::sleep((due - now).clamp(BATCH, SLICE));
            now = Instant::now();
        }
        if stop.load(Ordering::Relaxed) {
            report.stopped_early = true;
            return report;
        }
        let lag = now.saturating_duration_since(due);
        let _ = report
            .lag_us
            .record((lag.as_micros() as u64).clamp(1, tgbench_reports::histogram::MAX_LATENCY_US));
        let Some(&bot_id) = bot_ids.get(s.bot as usize) else {
            continue;
        };
        let mut update = match s.kind {
            SendKind::Message => NewUpdate::message(bot_id, s.chat_id, format!("hello {seq}")),
            SendKind::Callback => NewUpdate::callback(bot_id, s.chat_id, format!("button {seq}")),
            SendKind::Group { user_id } => {
                NewUpdate::group_message(bot_id, s.chat_id, user_id, format!("hello {seq}"))
            }
        };
        update.due = Some(due);
        let result = mock.inject(update);
        // One clock read per message: the end of this injection is the start of the next
        // one's lateness, and the length of this one.
        let after = Instant::now();
        report.slowest_inject = report.slowest_inject.max(after - now);
        now = after;
        match result {
            Ok(_) => report.injected += 1,
            Err(e) => {
                report.refused += 1;
                report.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    report
}
