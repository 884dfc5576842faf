//! One SUT run: a fresh mock, the SUT deployed and waited on until ready, then every
//! segment of the scenario (warm-up, the window or each phase) under its load, watched
//! through its drain; each measured segment becomes a results entry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_telegram::{Latencies, Mock, MockConfig, MockServer, RetrySchedule, Stats, TestCa};
use tgbench_reports::Prices;
use tgbench_reports::results::{Resources, Run, SutInfo};
use tgbench_reports::text::NOT_MEASURED;

use super::faults::{self, FaultRunner};
use super::inject::{InjectReport, Injector};
use super::monitor::{Monitor, Tick};
use super::watch::{Live, Until, watch};
use super::{Session, Stop, SutRun, assemble};
use crate::sampler::CpuSummary;
use crate::scenario::{DEFAULT_MOCK_LISTEN, Kind, Scenario, Segment, Sut, Telegram, secs};
use crate::schedule;
use crate::sut::{Deployment, ResourceSource, Setup, SutTls, prometheus, serverless};

impl Session {
    /// Runs one SUT once through every segment, on a fresh mock.
    pub(crate) fn measure(&self, scn: &Scenario, sut: &Sut, rep: u32) -> SutRun {
        let tg = scn.telegram.with(sut.telegram.as_ref());
        let tls = match tg.tls.then(run_tls).transpose() {
            Ok(tls) => tls,
            Err(stop) => {
                return SutRun {
                    runs: Vec::new(),
                    stop: Some(stop),
                };
            }
        };
        let mock = Mock::new(MockConfig {
            // Webhook certificates are checked against the run's CA, as Telegram checks them.
            webhook_ca_pem: tls.as_ref().map(|t| t.sut.ca_pem.clone()),
            ..mock_config(&tg, scn.seed)
        });
        if sut.kind == Kind::Serverless {
            // Each reply's update, to split latency by the platform's cold starts.
            mock.keep_reply_log();
        }
        let server = match self.serve(&mock, &tg, tls.as_ref().map(|t| t.mock.clone())) {
            Ok(server) => server,
            Err(stop) => {
                return SutRun {
                    runs: Vec::new(),
                    stop: Some(stop),
                };
            }
        };
        let m = Measurement {
            s: self,
            scn,
            sut,
            rep,
            bot_ids: Arc::new(mock.bots().iter().map(|b| b.id).collect()),
            mock,
            who: if scn.repeat > 1 {
                format!("{} #{}", sut.name, rep + 1)
            } else {
                sut.name.clone()
            },
            phase: Arc::new(Mutex::new(String::from("warm-up"))),
            tls: tls.map(|t| t.sut),
        };
        let mut out = SutRun::default();
        if let Err(stop) = m.run(&server.base_url(), &mut out.runs) {
            out.stop = Some(stop);
        }
        self.rt.block_on(server.shutdown());
        out
    }

    /// The mock, served at `[telegram] listen` (default: a free loopback port), over HTTPS
    /// with `tls`.
    fn serve(
        &self,
        mock: &Arc<Mock>,
        tg: &Telegram,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<MockServer, Stop> {
        let _enter = self.rt.enter();
        let listen = tg.listen.as_deref().unwrap_or(DEFAULT_MOCK_LISTEN);
        match self.rt.block_on(tokio::net::TcpListener::bind(listen)) {
            Ok(l) => Ok(match tls {
                Some(config) => MockServer::start_tls(mock.clone(), l, config),
                None => MockServer::start(mock.clone(), l),
            }),
            Err(e) => Err(Stop::SutFailed(format!(
                "cannot bind the mock on {listen} ([telegram] listen): {e}"
            ))),
        }
    }
}

/// HTTPS on both sides for one SUT run: the mock's server configuration and what the SUT
/// is handed, from a test CA made for this run alone.
struct RunTls {
    mock: Arc<rustls::ServerConfig>,
    sut: SutTls,
}

fn run_tls() -> Result<RunTls, Stop> {
    let made = || -> Result<RunTls, mock_telegram::tls::TlsError> {
        let ca = TestCa::new()?;
        let served = ca.issue_loopback()?;
        Ok(RunTls {
            mock: mock_telegram::tls::server_config(&served.cert_pem, &served.key_pem)?,
            sut: SutTls {
                ca_pem: ca.cert_pem(),
                webhook: ca.issue_loopback()?,
            },
        })
    };
    made().map_err(|e| Stop::SutFailed(format!("cannot set up TLS for the run: {e}")))
}

/// The mock's settings for a `[telegram]` table (with a SUT's overrides applied).
pub fn mock_config(t: &Telegram, seed: u64) -> MockConfig {
    let mut c = MockConfig {
        bots: t.bots as usize,
        seed,
        rtt: Duration::from_secs_f64(t.rtt_ms / 1000.0),
        jitter: Duration::from_secs_f64(t.jitter_ms / 1000.0),
        rate_limits: t.rate_limits,
        anti_spin: t.anti_spin,
        retry: if t.retry_factor == 1.0 {
            RetrySchedule::telegram()
        } else {
            RetrySchedule::compressed(t.retry_factor)
        },
        webhook_timeout: secs(t.webhook_timeout_s),
        control_token: t.control_token(),
        enforce_webhook_ports: t.enforce_webhook_ports,
        poll_batching: t.poll_batching,
        webhook_ramp: t.webhook_ramp,
        update_expiry: secs(t.update_expiry_s),
        // Checked by the scenario's validation: each is a CIDR.
        webhook_hosts: t
            .webhook_hosts
            .iter()
            .filter_map(|h| h.parse().ok())
            .collect(),
        ..MockConfig::default()
    };
    if let Some(n) = t.max_pending_per_bot {
        c.max_pending_per_bot = n as usize;
    }
    c
}

/// What a figure measured under a CPU quota does and does not say (printed where one was in
/// force).
pub const QUOTA_CAVEAT: &str = "a quota-held figure is the SUT's capacity in CFS slices of \
     that share of a core (100 ms periods: bursts past the quota wait for the next period, \
     adding up to ~100 ms to latency), not a whole core divided; per-core figures from it \
     extrapolate only as far as the README's 0.25 / 0.5 / 1 core measurements show";

/// The seed of segment `i`: the same for every SUT and repetition.
fn segment_seed(seed: u64, i: usize) -> u64 {
    seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One SUT run in progress: what each of its steps needs.
struct Measurement<'a> {
    s: &'a Session,
    scn: &'a Scenario,
    sut: &'a Sut,
    rep: u32,
    mock: Arc<Mock>,
    bot_ids: Arc<Vec<i64>>,
    /// How progress lines name it: "webhook", or "webhook #2" when the scenario repeats.
    who: String,
    /// The segment running now, for the live line.
    phase: Arc<Mutex<String>>,
    /// HTTPS on both sides: what the SUT is handed.
    tls: Option<SutTls>,
}

/// The SUT while it runs: what acts on it and what watches it.
struct Running<'a> {
    live: Live<'a>,
    faults: FaultRunner,
    monitor: Monitor,
    info: SutInfo,
    /// The names of the SUT's parts (replicas, app and proxy), in the monitor's order.
    part_names: Vec<String>,
}

/// What one segment recorded, from its start through its drain.
struct Recording {
    label: String,
    /// Its start, the end of its load, the end of its drain.
    t0: Instant,
    t_end: Instant,
    t_drained: Instant,
    /// The mock's counters and latency histogram at those instants.
    start: Stats,
    end: Stats,
    drained: Stats,
    hist_start: Latencies,
    hist_drained: Latencies,
    /// The mock's reply log's length with each histogram (0 when it keeps none).
    log_start: usize,
    log_drained: usize,
    /// The SUT's platform figures at its start and after its drain (serverless shape).
    platform_start: Option<mock_lambda::Stats>,
    platform_drained: Option<mock_lambda::Stats>,
    inject: InjectReport,
    /// What ended it early, if anything did.
    stop: Option<Stop>,
}

impl Recording {
    /// Updates of this segment still unanswered after its drain.
    fn open(&self) -> u64 {
        let (a, b) = (&self.start.updates, &self.drained.updates);
        let injected = b.injected.saturating_sub(a.injected);
        injected.saturating_sub(b.replied.saturating_sub(a.replied))
    }
}

impl Measurement<'_> {
    /// Deploys the SUT, runs every segment, stops the SUT.
    fn run(&self, api_url: &str, runs: &mut Vec<Run>) -> Result<(), Stop> {
        let sut = self.deploy(api_url)?;
        let mut r = Running {
            info: sut.info(),
            part_names: sut.resources().names(),
            monitor: self.monitor(sut.resources()),
            faults: FaultRunner::new(
                self.scn,
                secs(self.sut.stop_timeout_s),
                secs(self.sut.ready_timeout_s),
            ),
            live: Live {
                mock: &self.mock,
                sut,
                cancel: &self.s.cancel,
            },
        };
        // Seconds of measured time before the segment (where the faults are placed), and
        // the updates the previous segment left unanswered.
        let mut timeline_s = 0.0;
        let mut carried = 0;
        let mut result = Ok(());
        for (i, seg) in self.scn.segments().iter().enumerate() {
            let rec = self.record(i, seg, seg.measured.then_some(timeline_s), &mut r);
            if seg.measured {
                timeline_s += seg.duration.as_secs_f64();
                runs.push(self.window(seg, &rec, &r, carried));
            }
            carried = rec.open();
            if let Some(stop) = rec.stop {
                r.faults.abort(Instant::now(), &mut r.live);
                result = Err(stop);
                break;
            }
        }
        r.monitor.stop();
        r.live.sut.stop();
        if let Some(live) = &self.s.metrics {
            live.end_sut();
        }
        result
    }

    /// Starts the SUT and waits until it is ready.
    fn deploy(&self, api_url: &str) -> Result<Deployment, Stop> {
        let s = self.s;
        let bots = self.scn.telegram.bots;
        let sut = Deployment::start(Setup {
            sut: self.sut,
            impls: &s.impls,
            cpus: s.placement.sut_cpus(self.sut),
            mock: &self.mock,
            api_url,
            bots: bots as usize,
            rt: s.rt.handle().clone(),
            logs: &s.file.dir.join("logs"),
            log_stem: format!("{}-rep{}", self.sut.name, self.rep),
            tls: self.tls.as_ref(),
        })?;
        s.progress.note(&format!(
            "▶ {}: starting ({bots} bots, ready = {})",
            self.who,
            sut.ready_condition()
        ));
        if let Some(q) = sut.info().cpu_quota {
            s.progress.note(&format!(
                "  {}: held to {} core ({}); {QUOTA_CAVEAT}",
                self.who, q.cores, q.mechanism
            ));
        }
        let took = sut.wait_ready(&s.cancel, |state| {
            s.progress
                .set(format!("{}: waiting until ready: {state}", self.who))
        })?;
        s.progress.note(&format!(
            "  {}: ready in {:.1} s",
            self.who,
            took.as_secs_f64()
        ));
        Ok(sut)
    }

    /// Samples the SUT and the mock until stopped, showing each tick on the live line.
    fn monitor(&self, resources: ResourceSource) -> Monitor {
        let progress = self.s.progress.clone();
        let phase = self.phase.clone();
        let who = self.who.clone();
        let metrics = self.s.metrics.clone();
        let on_tick = move |t: &Tick| {
            if let Some(live) = &metrics {
                live.tick(t.period_s, t.sut, t.harness);
            }
            let phase = phase.lock().map(|l| l.clone()).unwrap_or_default();
            let r = &t.stats.readiness;
            progress.set(format!(
                "{who} {phase} | ready {}/{} | sent {} replied {} | p99 {:.0} ms | SUT CPU {:.0} %",
                (r.polling + r.webhooks_set).min(r.bots),
                r.bots,
                t.stats.updates.injected,
                t.stats.updates.replied,
                t.p99_ms,
                t.sut.map(|u| u.cpu_pct).unwrap_or(0.0),
            ));
        };
        Monitor::spawn(
            self.mock.clone(),
            resources,
            Duration::from_millis(self.scn.sample_ms),
            on_tick,
        )
    }

    /// Runs segment `i` — its load until its planned end, then its drain — unless the
    /// run is interrupted or the SUT dies. `offset_s` places a measured segment on the
    /// faults' timeline (None for warm-up).
    fn record(
        &self,
        i: usize,
        seg: &Segment,
        offset_s: Option<f64>,
        r: &mut Running<'_>,
    ) -> Recording {
        let label = match (&seg.phase, seg.measured) {
            (_, false) => "warm-up".to_string(),
            (Some(p), true) => format!("phase {p}"),
            (None, true) => "window".to_string(),
        };
        if let Ok(mut l) = self.phase.lock() {
            *l = label.clone();
        }
        let bots = self.scn.telegram.bots;
        let plan = schedule::sends(
            &seg.load,
            bots,
            seg.duration,
            segment_seed(self.scn.seed, i),
        );
        let platform_start = r.live.sut.platform_stats();
        if let Some(live) = &self.s.metrics {
            let phase = crate::metrics::phase_label(seg.measured, seg.phase.as_deref());
            live.begin_segment(&self.sut.name, &phase, &self.mock, bots);
        }
        let start = self.mock.stats();
        let (hist_start, log_start) = self.mock.latencies_and_log_len();
        let t0 = Instant::now();
        r.faults.enter_segment(offset_s, t0);
        let stop_inject = Arc::new(AtomicBool::new(false));
        let injector = Injector::spawn(
            self.mock.clone(),
            self.bot_ids.clone(),
            plan,
            t0,
            stop_inject.clone(),
        );
        let mut stop = watch(
            &mut r.live,
            &mut r.faults,
            Until::Deadline(t0 + seg.duration),
            &label,
            t0,
        );
        stop_inject.store(true, Ordering::SeqCst);
        let inject = injector.join();
        let t_end = Instant::now();
        let end = self.mock.stats();
        if stop.is_none() {
            let drain = Until::Drained {
                since: &start,
                deadline: t_end + secs(self.scn.drain_s),
            };
            stop = watch(&mut r.live, &mut r.faults, drain, &label, t0);
        }
        // One more sample after the drain, so the timeseries adds up to the totals.
        r.monitor.wait_tick_after(
            Instant::now(),
            Duration::from_millis(self.scn.sample_ms.saturating_mul(2)),
        );
        let drained = self.mock.stats();
        let (hist_drained, log_drained) = self.mock.latencies_and_log_len();
        if let Some(live) = &self.s.metrics {
            live.end_segment();
        }
        Recording {
            label,
            t0,
            t_end,
            t_drained: Instant::now(),
            end,
            drained,
            hist_drained,
            log_start,
            log_drained,
            platform_drained: r.live.sut.platform_stats(),
            platform_start,
            start,
            hist_start,
            inject,
            stop,
        }
    }

    /// A SUT measured where it runs: its CPU and memory from Prometheus (`[sut.metrics]`,
    /// over the window at the sampling step), or, for an external SUT without metrics,
    /// not measured at all (null, never 0). A SUT tgbench started keeps its /proc figures.
    fn resources_elsewhere(&self, run: &mut Run, rec: &Recording) {
        match (&self.sut.metrics, self.sut.kind) {
            (Some(metrics), _) => {
                let wall = |t: Instant| {
                    let ago = Instant::now().saturating_duration_since(t);
                    std::time::SystemTime::now() - ago
                };
                let window = (wall(rec.t0), wall(rec.t_end));
                let step = Duration::from_millis(self.scn.sample_ms);
                let client = reqwest::Client::new();
                let got = self
                    .s
                    .rt
                    .block_on(prometheus::window_resources(&client, metrics, window, step));
                match got {
                    Ok((resources, total)) => {
                        run.cpu = Some(total.cpu);
                        run.memory = Some(total.memory);
                        run.resources = Some(resources);
                    }
                    Err(e) => {
                        run.cpu = None;
                        run.memory = None;
                        run.resources = Some(not_measured());
                        run.harness
                            .notes
                            .push(format!("CPU and memory not measured: {e}"));
                    }
                }
                let slo = &self.scn.slo;
                if slo.cpu_pct.is_some() || slo.rss_mb.is_some() {
                    run.slo = assemble::slo_checks(
                        slo,
                        &run.latency_ms,
                        run.updates.lost,
                        &run.cpu.as_ref().map(CpuSummary::from).unwrap_or_default(),
                        self.s.placement.sut_cores(self.sut, self.s.machine.cores),
                        run.memory.as_ref().map_or(0.0, |m| m.rss_peak_mb),
                    );
                }
            }
            (None, Kind::External) => {
                run.cpu = None;
                run.memory = None;
                run.resources = Some(not_measured());
            }
            (None, _) => {}
        }
    }

    /// The results entry of a measured segment; `carried` updates of the segment before
    /// were still unanswered when it started.
    fn window(&self, seg: &Segment, rec: &Recording, r: &Running<'_>, carried: u64) -> Run {
        let bots = self.scn.telegram.bots;
        let mut notes = Vec::new();
        if carried > 0 {
            notes.push(format!(
                "{carried} updates of the previous segment were still unanswered when this \
                 window started; a late reply to one of them counts here"
            ));
        }
        let window_ticks = r.monitor.ticks_between(rec.t0, rec.t_end);
        let series: Vec<(f64, Tick)> = r
            .monitor
            .ticks_between(rec.t0, rec.t_drained)
            .into_iter()
            .map(|t| (t.at.duration_since(rec.t0).as_secs_f64(), t))
            .collect();
        let reason = rec.stop.as_ref().map(|st| match st {
            Stop::Interrupted => "interrupted (SIGINT/SIGTERM) during this window".to_string(),
            Stop::SutFailed(m) => m.clone(),
        });
        let mut run = assemble::build(assemble::Window {
            sut: r.info.clone(),
            repetition: self.rep,
            phase: seg.phase.clone(),
            bots,
            duration_s: rec.t_end.duration_since(rec.t0).as_secs_f64(),
            start: &rec.start,
            end: &rec.end,
            drained: &rec.drained,
            hist_start: &rec.hist_start,
            hist_drained: &rec.hist_drained,
            window_ticks: &window_ticks,
            part_names: &r.part_names,
            series: &series,
            inject: &rec.inject,
            slo: &self.scn.slo,
            sut_cores: self.s.placement.sut_cores(self.sut, self.s.machine.cores),
            harness_cores: self.s.harness_cores,
            complete: rec.stop.is_none(),
            incomplete_reason: reason,
            tls: self.scn.telegram.with(self.sut.telegram.as_ref()).tls,
            notes,
        });
        let (windows, mut fault_notes) = r.faults.windows(rec.t0, rec.t_drained);
        fault_notes.extend(faults::rate_notes(&run.timeseries, &windows, bots));
        run.faults = windows;
        run.serverless = rec.platform_drained.as_ref().map(|end| {
            let mut s = serverless::window(rec.platform_start.as_ref(), end, &Prices::default());
            let replies = self.mock.reply_log(rec.log_start, rec.log_drained);
            let snapshots = rec.platform_start.iter().chain([end]);
            s.latency = Some(serverless::cold_warm(&replies, snapshots));
            s
        });
        run.harness.notes.extend(fault_notes);
        self.resources_elsewhere(&mut run, rec);
        self.s.progress.note(&format!(
            "  {} {}: injected {} replied {} lost {} | p99 {:.1} ms | CPU {} | RSS {} | harness CPU {:.1} %{}",
            self.who,
            rec.label,
            run.updates.injected,
            run.updates.replied,
            run.updates.lost,
            run.latency_ms.p99,
            run.cpu
                .as_ref()
                .map_or(NOT_MEASURED.into(), |c| format!("{:.1} %", c.mean_pct)),
            run.memory
                .as_ref()
                .map_or(NOT_MEASURED.into(), |m| format!("{:.1} MiB", m.rss_peak_mb)),
            run.overhead.cpu.mean_pct,
            run.harness
                .cpu_us_per_message
                .map(|us| format!(", {us:.1} µs per message"))
                .unwrap_or_default()
        ));
        run
    }
}

/// `resources` of a run whose CPU and memory were not measured.
fn not_measured() -> Resources {
    Resources {
        source: "none".to_string(),
        parts: Vec::new(),
    }
}
