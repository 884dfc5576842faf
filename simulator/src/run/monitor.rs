//! The monitor: a thread that, every sampling period, reads the SUT's process tree and the
//! harness (CPU, RSS), the mock's counters and its latency histogram. Each reading is a
//! [`Tick`]; windows and timeseries are cut from the ticks afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mock_telegram::{Mock, Stats};

use crate::sampler::{Sampler, Usage};
use crate::sut::ResourceSource;

/// One sampling period.
#[derive(Debug, Clone)]
pub struct Tick {
    pub at: Instant,
    /// Seconds since the previous tick.
    pub period_s: f64,
    /// The SUT's tree (its replicas' trees summed); None when every root process is gone.
    pub sut: Option<Usage>,
    /// Each replica's tree (one entry for a single process).
    pub parts: Vec<Option<Usage>>,
    pub harness: Usage,
    /// The mock's counters at `at` (cumulative).
    pub stats: Stats,
    /// p99 of the replies that closed during this period, ms (0 when none).
    pub p99_ms: f64,
}

/// A running monitor.
pub struct Monitor {
    handle: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    ticks: Arc<Mutex<Vec<Tick>>>,
}

impl Monitor {
    /// Samples the SUT through `sut` every `period` (at least sysinfo's minimum) until
    /// stopped; `on_tick` sees each tick as it is taken (progress display).
    pub fn spawn(
        mock: Arc<Mock>,
        sut: ResourceSource,
        period: Duration,
        mut on_tick: impl FnMut(&Tick) + Send + 'static,
    ) -> Monitor {
        let period = period.max(Sampler::min_period());
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let (stop2, ticks2) = (stop.clone(), ticks.clone());
        let mut sampler = Sampler::new(&sut.roots());
        sampler.count_root(sut.root_counts());
        let handle = std::thread::Builder::new()
            .name("tgbench-monitor".into())
            .spawn(move || {
                let mut prev: Histogram<u64> = mock.latency_histogram();
                let mut next = Instant::now() + period;
                while !stop2.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if now < next {
                        std::thread::sleep((next - now).min(Duration::from_millis(20)));
                        continue;
                    }
                    next += period;
                    if next < Instant::now() {
                        // Fell behind (a stalled machine): do not burst to catch up.
                        next = Instant::now() + period;
                    }
                    sampler.set_roots(&sut.roots());
                    let reading = sampler.sample();
                    let stats = mock.stats();
                    let hist = mock.latency_histogram();
                    let p99_ms = period_p99_ms(&hist, &prev);
                    prev = hist;
                    let tick = Tick {
                        at: reading.at,
                        period_s: reading.period_s,
                        sut: reading.sut,
                        parts: reading.parts,
                        harness: reading.harness,
                        stats,
                        p99_ms,
                    };
                    on_tick(&tick);
                    if let Ok(mut t) = ticks2.lock() {
                        t.push(tick);
                    }
                }
            })
            .expect("spawning the monitor thread");
        Monitor {
            handle: Some(handle),
            stop,
            ticks,
        }
    }

    /// Ticks taken in `(from, to]`.
    pub fn ticks_between(&self, from: Instant, to: Instant) -> Vec<Tick> {
        self.ticks
            .lock()
            .map(|t| {
                t.iter()
                    .filter(|x| x.at > from && x.at <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (up to `timeout`) for the first tick taken after `t`, so a window's last
    /// sample covers everything up to its end.
    pub fn wait_tick_after(&self, t: Instant, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let seen = self
                .ticks
                .lock()
                .map(|v| v.last().is_some_and(|x| x.at > t))
                .unwrap_or(true);
            if seen || self.handle.as_ref().is_none_or(|h| h.is_finished()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// p99 (ms) of what `now` holds beyond `before` (both cumulative).
pub fn period_p99_ms(now: &Histogram<u64>, before: &Histogram<u64>) -> f64 {
    if now.len() <= before.len() {
        return 0.0;
    }
    let mut delta = now.clone();
    if delta.subtract(before).is_err() {
        return 0.0;
    }
    if delta.is_empty() {
        0.0
    } else {
        delta.value_at_quantile(0.99) as f64 / 1000.0
    }
}
