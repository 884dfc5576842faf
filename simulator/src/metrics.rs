//! Live metrics of a run: `tgbench run` / `capacity` / `claims --metrics-listen ADDR` serve
//! `GET /metrics` (OpenMetrics, or the Prometheus text format when asked) while they work.
//!
//! Nothing is counted twice and no message costs anything more. The run tells [`Live`]
//! where it is (a segment begins, a monitor tick, a segment ends); a scrape reads the
//! embedded mock's own counters and latency histogram at that instant
//! ([`mock_telegram::metrics::Reading`]) and subtracts their values at the segment's start.
//! A finished segment's counts are kept, summed over repetitions and capacity steps, so
//! every counter of a `(sut, phase)` only grows while `tgbench` runs. The series and their
//! exposition are mock-telegram's ([`mock_telegram::metrics::encode`]); this module adds the
//! ones only tgbench knows: lost updates, the SUT's and the harness's CPU and RSS, the bots.
//!
//! [`MetricsServer`] serves them on a listener of its own thread, and, when the command is
//! done, waits for one more scrape ([`MetricsServer::linger`]) so the last segment's final
//! figures reach Prometheus.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use mock_telegram::Mock;
use mock_telegram::metrics::{self as mm, Reading};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::{Registry, Unit};

use crate::sampler::Usage;

const MIB: f64 = 1024.0 * 1024.0;

/// The `phase` label of a segment: `warm-up`, `window`, or the `[[phase]]`'s name.
pub fn phase_label(measured: bool, phase: Option<&str>) -> String {
    match (measured, phase) {
        (false, _) => "warm-up".into(),
        (true, Some(p)) => p.into(),
        (true, None) => "window".into(),
    }
}

/// What one `(sut, phase)` has counted in its finished segments.
#[derive(Debug, Default, Clone)]
struct Totals {
    reading: Reading,
    /// Updates still unanswered at the end of a segment's drain (results' `lost`).
    lost: u64,
    sut_cpu_s: f64,
    harness_cpu_s: f64,
}

/// The segment running now, on its own mock.
#[derive(Debug)]
struct Current {
    key: (String, String),
    mock: Arc<Mock>,
    /// The mock's counters when the segment began.
    start: Reading,
    /// Set when its load and drain are over: later ticks still add CPU to it.
    ended: bool,
}

/// What a scrape reads.
#[derive(Debug, Default)]
struct Figures {
    totals: BTreeMap<(String, String), Totals>,
    current: Option<Current>,
    /// RSS at the last tick, bytes: the SUT's (None when it is gone) and the harness's.
    sut_rss: Option<f64>,
    harness_rss: Option<f64>,
    bots: Option<u64>,
}

/// A run's live figures, shared by the run (which updates them at segment edges and on
/// monitor ticks) and the metrics server (which reads them at each scrape).
#[derive(Debug, Default)]
pub struct Live {
    state: Mutex<Figures>,
    /// The last scrape's start.
    last_scrape: Mutex<Option<Instant>>,
}

impl Live {
    pub fn new() -> Arc<Live> {
        Arc::new(Live::default())
    }

    fn state(&self) -> MutexGuard<'_, Figures> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A segment of `sut` begins on `mock` (fresh per SUT run) with `bots` bots.
    pub fn begin_segment(&self, sut: &str, phase: &str, mock: &Arc<Mock>, bots: u64) {
        let mut s = self.state();
        let key = (sut.to_string(), phase.to_string());
        s.totals.entry(key.clone()).or_default();
        s.bots = Some(bots);
        s.current = Some(Current {
            key,
            mock: mock.clone(),
            start: Reading::of(mock),
            ended: false,
        });
    }

    /// The segment running now has drained (or stopped): its counts become final.
    pub fn end_segment(&self) {
        let mut s = self.state();
        let Some(cur) = s.current.as_mut() else {
            return;
        };
        if cur.ended {
            return;
        }
        cur.ended = true;
        let done = Reading::of(&cur.mock).since(&cur.start);
        let key = cur.key.clone();
        let t = s.totals.entry(key).or_default();
        t.reading.add_counts(&done);
        t.lost += done.injected.saturating_sub(done.replied);
    }

    /// The SUT run is over (its SUT stopped): no gauges until the next segment begins.
    pub fn end_sut(&self) {
        self.end_segment();
        let mut s = self.state();
        s.current = None;
        s.sut_rss = None;
    }

    /// A monitor tick: `period_s` seconds of CPU at these rates, and RSS now. Counted for
    /// the segment running (or the one that just ended).
    pub fn tick(&self, period_s: f64, sut: Option<Usage>, harness: Usage) {
        let mut s = self.state();
        s.sut_rss = sut.map(|u| u.rss_mb * MIB);
        s.harness_rss = Some(harness.rss_mb * MIB);
        let Some(key) = s.current.as_ref().map(|c| c.key.clone()) else {
            return;
        };
        let t = s.totals.entry(key).or_default();
        t.sut_cpu_s += sut.map_or(0.0, |u| u.cpu_pct / 100.0 * period_s);
        t.harness_cpu_s += harness.cpu_pct / 100.0 * period_s;
    }

    /// Every series, now.
    fn encode(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        if let Ok(mut at) = self.last_scrape.lock() {
            *at = Some(Instant::now());
        }
        let s = self.state();
        // Finished counts, plus the running segment's so far (with its gauges).
        let rows: Vec<(&(String, String), Totals)> = s
            .totals
            .iter()
            .map(|(key, t)| {
                let mut t = t.clone();
                if let Some(cur) = s.current.as_ref().filter(|c| &c.key == key) {
                    let now = Reading::of(&cur.mock);
                    if !cur.ended {
                        t.reading.add_counts(&now.since(&cur.start));
                    }
                    t.reading.gauges = now.gauges;
                }
                (key, t)
            })
            .collect();
        let labels: Vec<[(&str, &str); 2]> = rows
            .iter()
            .map(|((sut, phase), _)| [("sut", sut.as_str()), ("phase", phase.as_str())])
            .collect();
        let series: Vec<(mm::Labels, &Reading)> = labels
            .iter()
            .zip(&rows)
            .map(|(l, (_, t))| (&l[..], &t.reading))
            .collect();
        mm::encode(encoder, &series)?;
        let each = |f: fn(&Totals) -> f64| {
            labels
                .iter()
                .zip(&rows)
                .map(move |(l, (_, t))| (&l[..], f(t)))
        };
        mm::counter(
            encoder,
            "tgbench_updates_lost",
            "Updates of a finished segment still unanswered after its drain (results.json's lost); added when the segment ends.",
            None,
            labels.iter().zip(&rows).map(|(l, (_, t))| (&l[..], t.lost)),
        )?;
        mm::counter(
            encoder,
            "tgbench_sut_cpu",
            "CPU time of the SUT's process tree, as tgbench samples it every sample_ms.",
            Some(&Unit::Seconds),
            each(|t| t.sut_cpu_s),
        )?;
        mm::counter(
            encoder,
            "tgbench_harness_cpu",
            "CPU time of the tgbench process (the embedded mock, the injector, the sampler), as sampled.",
            Some(&Unit::Seconds),
            each(|t| t.harness_cpu_s),
        )?;
        // Gauges: only for the SUT running now.
        let now: Vec<[(&str, &str); 2]> = s
            .current
            .as_ref()
            .map(|c| [("sut", c.key.0.as_str()), ("phase", c.key.1.as_str())])
            .into_iter()
            .collect();
        mm::gauge(
            encoder,
            "tgbench_sut_resident_memory",
            "RSS of the SUT's process tree at the last sample.",
            Some(&Unit::Bytes),
            now.iter().filter_map(|l| Some((&l[..], s.sut_rss?))),
        )?;
        mm::gauge(
            encoder,
            "tgbench_harness_resident_memory",
            "RSS of the tgbench process at the last sample.",
            Some(&Unit::Bytes),
            now.iter().filter_map(|l| Some((&l[..], s.harness_rss?))),
        )?;
        mm::gauge(
            encoder,
            "tgbench_bots",
            "Bots in the run now (a capacity search steps it).",
            None,
            now.iter().filter_map(|l| Some((&l[..], s.bots? as i64))),
        )?;
        Ok(())
    }

    /// When the last scrape started.
    fn last_scrape(&self) -> Option<Instant> {
        self.last_scrape.lock().ok().and_then(|at| *at)
    }
}

/// The collector a registry holds: reads [`Live`] at each scrape.
#[derive(Debug)]
struct LiveCollector(Arc<Live>);

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.0.encode(&mut encoder)
    }
}

/// The registry `GET /metrics` serves.
pub fn registry(live: Arc<Live>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(LiveCollector(live)));
    registry
}

/// The metrics router: `GET /metrics`, in the format the `Accept` header asks for.
pub fn router(live: Arc<Live>) -> Router {
    async fn metrics(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
        mm::response(&registry, &headers)
    }
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(Arc::new(registry(live)))
}

/// Serves `router(live)` on `listener` until `shutdown` resolves.
pub async fn run(
    live: Arc<Live>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(live))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The metrics endpoint of a command, on a thread of its own (the runs' runtimes come and
/// go with each scenario; this one lasts the whole command).
pub struct MetricsServer {
    live: Arc<Live>,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Serves `live` on `listener` (bound by the caller) until dropped. Ctrl-C or SIGTERM
    /// sets `cancel` meanwhile (the runs' own handlers go with their runtimes; this one
    /// keeps a signal able to end [`MetricsServer::linger`]).
    pub fn start(
        live: Arc<Live>,
        listener: std::net::TcpListener,
        cancel: Arc<AtomicBool>,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = live.clone();
        let thread = std::thread::Builder::new()
            .name("tgbench-metrics".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("metrics endpoint: {e}");
                            return;
                        }
                    };
                    let shutdown = async move {
                        let _ = stopped.await;
                    };
                    tokio::spawn(async move {
                        use tokio::signal::unix::{SignalKind, signal};
                        let (Ok(mut int), Ok(mut term)) = (
                            signal(SignalKind::interrupt()),
                            signal(SignalKind::terminate()),
                        ) else {
                            return;
                        };
                        tokio::select! {
                            _ = int.recv() => {},
                            _ = term.recv() => {},
                        }
                        cancel.store(true, Ordering::SeqCst);
                    });
                    if let Err(e) = run(served, listener, shutdown).await {
                        tracing::error!("metrics endpoint: {e}");
                    }
                });
            })?;
        Ok(MetricsServer {
            live,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Waits until a scrape has begun after now (so it read the final figures), at most
    /// `max`, or until `cancel` is set. Returns whether a scrape came.
    pub fn linger(&self, max: Duration, cancel: &AtomicBool) -> bool {
        let since = Instant::now();
        let deadline = since + max;
        loop {
            if self.live.last_scrape().is_some_and(|at| at > since) {
                return true;
            }
            if Instant::now() >= deadline || cancel.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_telegram::{MockConfig, NewUpdate};

    fn scrape(live: &Arc<Live>) -> String {
        mm::expose(&registry(live.clone()), mm::Format::OpenMetrics)
    }

    /// The value of the one sample line starting with `prefix` (name and labels).
    fn value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    fn inject(mock: &Mock, n: usize) {
        let bot = mock.bots()[0].id;
        for chat in 0..n {
            mock.inject(NewUpdate::message(bot, chat as i64 + 1, "hi"))
                .expect("injected");
        }
    }

    #[test]
    fn counters_add_up_over_segments_and_repetitions_and_only_grow() {
        let live = Live::new();
        let key = r#"{sut="webhook",phase="window"}"#;
        let injected = format!("tgbench_updates_injected_total{key}");
        let lost = format!("tgbench_updates_lost_total{key}");
        for rep in 0..2u64 {
            let mock = Mock::new(MockConfig {
                bots: 1,
                ..MockConfig::default()
            });
            inject(&mock, 2); // before the segment: not counted
            live.begin_segment("webhook", "window", &mock, 1);
            inject(&mock, 3);
            let text = scrape(&live);
            assert_eq!(
                value(&text, &injected),
                Some((3 * rep + 3) as f64),
                "{text}"
            );
            assert_eq!(value(&text, &format!("tgbench_bots{key}")), Some(1.0));
            live.end_segment();
            inject(&mock, 4); // after its end: not counted either
            let text = scrape(&live);
            assert_eq!(
                value(&text, &injected),
                Some((3 * rep + 3) as f64),
                "{text}"
            );
            // Nothing was answered, so all 3 of the segment are lost.
            assert_eq!(value(&text, &lost), Some((3 * (rep + 1)) as f64), "{text}");
            live.end_sut();
            let text = scrape(&live);
            assert_eq!(
                value(&text, &injected),
                Some((3 * rep + 3) as f64),
                "{text}"
            );
            assert_eq!(
                value(&text, "tgbench_polls_held{"),
                None,
                "no gauge after the SUT: {text}"
            );
        }
    }

    #[test]
    fn ticks_add_cpu_seconds_to_the_segment_running() {
        let live = Live::new();
        let mock = Mock::new(MockConfig {
            bots: 1,
            ..MockConfig::default()
        });
        let usage = |cpu_pct, rss_mb| Usage {
            cpu_pct,
            rss_mb,
            processes: 1,
        };
        live.tick(1.0, Some(usage(100.0, 1.0)), usage(10.0, 2.0)); // no segment yet
        live.begin_segment("polling", "warm-up", &mock, 1);
        live.tick(0.5, Some(usage(50.0, 3.0)), usage(20.0, 4.0));
        live.tick(0.5, Some(usage(150.0, 5.0)), usage(20.0, 4.0));
        let text = scrape(&live);
        let key = r#"{sut="polling",phase="warm-up"}"#;
        assert_eq!(
            value(&text, &format!("tgbench_sut_cpu_seconds_total{key}")),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            value(&text, &format!("tgbench_harness_cpu_seconds_total{key}")),
            Some(0.2)
        );
        assert_eq!(
            value(&text, &format!("tgbench_sut_resident_memory_bytes{key}")),
            Some(5.0 * MIB)
        );
    }

    #[test]
    fn phases_are_labelled_like_the_results() {
        assert_eq!(phase_label(false, None), "warm-up");
        assert_eq!(phase_label(true, None), "window");
        assert_eq!(phase_label(true, Some("active")), "active");
    }
}
