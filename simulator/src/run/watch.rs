//! The watch: while a segment's load runs, and through its drain, one loop takes a step
//! every 20 ms — the faults due, then Ctrl-C, then the SUT's health — until its stop
//! condition holds ([`Until`]) or something stops the run ([`Stop`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mock_telegram::{Fault, Mock, Stats};

use super::Stop;
use super::faults::{FaultRunner, Target};
use crate::sut::{self, Deployment};

/// How often the watch looks.
const STEP: Duration = Duration::from_millis(20);

/// The mock and the SUT as the watch and the faults act on them.
pub(super) struct Live<'a> {
    pub mock: &'a Mock,
    pub sut: Deployment,
    pub cancel: &'a AtomicBool,
}

impl Target for Live<'_> {
    fn set_fault(&mut self, fault: Fault) {
        self.mock.set_fault(fault);
    }

    fn signal(&mut self, kill: bool) {
        self.sut.signal(kill);
    }

    fn sut_exited(&mut self) -> bool {
        self.sut.exited()
    }

    fn restart(&mut self) -> Result<(), String> {
        self.sut.restart().map_err(|e| e.to_string())
    }

    fn ready_again(&mut self) -> bool {
        self.sut.ready_again()
    }
}

/// When a watch ends, unless something stops the run first.
pub(super) enum Until<'a> {
    /// At this instant (a segment's planned end).
    Deadline(Instant),
    /// When every update injected since `since` is answered and delivered and no fault is
    /// in progress, or at `deadline` (the end of `drain_s`).
    Drained { since: &'a Stats, deadline: Instant },
}

impl Until<'_> {
    fn deadline(&self) -> Instant {
        match self {
            Until::Deadline(d) | Until::Drained { deadline: d, .. } => *d,
        }
    }

    fn holds(&self, now: Instant, mock: &Mock, faults: &FaultRunner) -> bool {
        if now >= self.deadline() {
            return true;
        }
        let Until::Drained { since, .. } = self else {
            return false;
        };
        let st = mock.stats();
        let injected = st.updates.injected.saturating_sub(since.updates.injected);
        let replied = st.updates.replied.saturating_sub(since.updates.replied);
        // Every reply implies a delivery; waiting for both keeps `delivered` exact too
        // (a webhook POST is answered after the reply it triggered).
        let delivered = st.updates.delivered.saturating_sub(since.updates.delivered);
        replied >= injected && delivered >= injected && faults.idle()
    }
}

/// Watches until `until` holds; `label` and `t0` (the segment's name and start) place a
/// failure in its message.
pub(super) fn watch(
    live: &mut Live<'_>,
    faults: &mut FaultRunner,
    until: Until<'_>,
    label: &str,
    t0: Instant,
) -> Option<Stop> {
    loop {
        let now = Instant::now();
        if let Some(stop) = step(live, faults, now, label, t0) {
            return Some(stop);
        }
        if until.holds(now, live.mock, faults) {
            return None;
        }
        std::thread::sleep(until.deadline().saturating_duration_since(now).min(STEP));
    }
}

/// One turn of the watch: the faults due, then Ctrl-C and the SUT's health.
fn step(
    live: &mut Live<'_>,
    faults: &mut FaultRunner,
    now: Instant,
    label: &str,
    t0: Instant,
) -> Option<Stop> {
    let into = || format!("{:.1} s into the {label}", t0.elapsed().as_secs_f64());
    if let Err(e) = faults.poll(now, live) {
        return Some(Stop::SutFailed(format!(
            "SUT {} {e} ({})",
            live.sut.name(),
            into()
        )));
    }
    let interrupted = live.cancel.load(Ordering::SeqCst);
    if faults.sut_down() {
        // Down on purpose: its exit is not a failure.
        return interrupted.then_some(Stop::Interrupted);
    }
    if interrupted {
        return Some(Stop::Interrupted);
    }
    let exit = live.sut.exit()?;
    Some(Stop::SutFailed(format!(
        "SUT {} exited ({}) {}{}",
        live.sut.name(),
        exit.status,
        into(),
        sut::tail_text(&exit.tail)
    )))
}
