//! Faults as scenario steps (`[[fault]]`): the schedule, a state machine that starts and
//! ends each fault at its instant, and what a fault window cost in requests.
//!
//! The machine is driven by `FaultRunner::poll` from the watch loop (`run::watch`, every
//! 20 ms) and acts through a `Target` — the live mock and SUT in a run, a fake in tests —
//! so the schedule is tested without processes or a clock.
//!
//! - `telegram_*`: `Target::set_fault` at the start, `Fault::None` at the end.
//! - `sut_stop` / `sut_kill`: SIGTERM / SIGKILL to the SUT's process group at the start
//!   (a SIGTERM not obeyed within the SUT's `stop_timeout_s` becomes a SIGKILL); the SUT is
//!   restarted `duration_s` after the start, or once it has exited if that takes longer;
//!   then it must be ready again within its `ready_timeout_s`. The load never pauses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mock_telegram::Fault;
use tgbench_reports::results::{FaultWindow, Sample, round3};

use crate::scenario::{FaultKind, FaultSpec, Scenario, secs};

/// What the runner acts on.
pub(crate) trait Target {
    fn set_fault(&mut self, fault: Fault);
    /// Sends SIGTERM (`kill = false`) or SIGKILL to the SUT's process group.
    fn signal(&mut self, kill: bool);
    fn sut_exited(&mut self) -> bool;
    /// Reaps the old SUT and starts a new one with the same environment.
    fn restart(&mut self) -> Result<(), String>;
    /// Whether the restarted SUT is ready again (called until it is).
    fn ready_again(&mut self) -> bool;
}

/// A fault placed on the measured timeline.
#[derive(Debug, Clone)]
struct Planned {
    /// Seconds into the measured timeline.
    at: f64,
    spec: FaultSpec,
}

#[derive(Debug)]
enum State {
    Idle,
    /// A Telegram fault until `until`.
    Telegram {
        until: Instant,
    },
    /// The SUT was signalled; restart at `restart_at` once it has exited; SIGKILL it at
    /// `kill_at` if it has not.
    Down {
        restart_at: Instant,
        kill_at: Instant,
        killed: bool,
    },
    /// Restarted at `at`; must be ready by `deadline`.
    Recovering {
        at: Instant,
        deadline: Instant,
    },
}

/// A fault that started, for the results.
#[derive(Debug, Clone)]
struct Record {
    kind: FaultKind,
    start: Instant,
    end: Option<Instant>,
    ready_after: Option<Duration>,
}

/// Starts and ends the scenario's faults on schedule.
pub(crate) struct FaultRunner {
    plan: VecDeque<Planned>,
    state: State,
    /// Where the current measured segment sits: its start on the timeline and in time.
    segment: Option<(f64, Instant)>,
    records: Vec<Record>,
    stop_timeout: Duration,
    ready_timeout: Duration,
}

impl FaultRunner {
    /// The faults of `scn`, for a SUT with these stop and ready timeouts.
    pub fn new(scn: &Scenario, stop_timeout: Duration, ready_timeout: Duration) -> FaultRunner {
        let mut plan: Vec<Planned> = scn
            .faults
            .iter()
            .map(|f| Planned {
                at: f.at_s,
                spec: f.clone(),
            })
            .collect();
        plan.sort_by(|a, b| a.at.total_cmp(&b.at));
        FaultRunner {
            plan: plan.into(),
            state: State::Idle,
            segment: None,
            records: Vec::new(),
            stop_timeout,
            ready_timeout,
        }
    }

    /// A measured segment starts at `t0`, `offset_s` into the measured timeline (`None`
    /// for warm-up: no fault starts then).
    pub fn enter_segment(&mut self, offset_s: Option<f64>, t0: Instant) {
        self.segment = offset_s.map(|o| (o, t0));
    }

    /// Whether the SUT is down on purpose right now (its exit is not a failure).
    pub fn sut_down(&self) -> bool {
        matches!(self.state, State::Down { .. })
    }

    /// Whether nothing is in progress (no fault on, no SUT down or recovering).
    pub fn idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Advances the machine to `now`. An error is a SUT that could not be brought back.
    pub fn poll(&mut self, now: Instant, t: &mut impl Target) -> Result<(), String> {
        loop {
            match &mut self.state {
                State::Idle => {
                    let Some((offset, t0)) = self.segment else {
                        return Ok(());
                    };
                    let Some(next) = self.plan.front() else {
                        return Ok(());
                    };
                    let due = t0 + secs(next.at - offset);
                    if next.at < offset || now < due {
                        return Ok(());
                    }
                    let p = self.plan.pop_front().expect("front exists");
                    self.start(p.spec, due.max(t0).min(now), now, t);
                }
                State::Telegram { until } => {
                    if now < *until {
                        return Ok(());
                    }
                    t.set_fault(Fault::None);
                    self.close(now);
                    self.state = State::Idle;
                }
                State::Down {
                    restart_at,
                    kill_at,
                    killed,
                } => {
                    let exited = t.sut_exited();
                    if !exited {
                        if now >= *kill_at && !*killed {
                            t.signal(true);
                            *killed = true;
                            continue;
                        }
                        return Ok(());
                    }
                    if now < *restart_at {
                        return Ok(());
                    }
                    t.restart()?;
                    self.close(now);
                    self.state = State::Recovering {
                        at: now,
                        deadline: now + self.ready_timeout,
                    };
                }
                State::Recovering { at, deadline } => {
                    let (at, deadline) = (*at, *deadline);
                    if t.ready_again() {
                        if let Some(r) = self.records.last_mut() {
                            r.ready_after = Some(now.saturating_duration_since(at));
                        }
                        self.state = State::Idle;
                        continue;
                    }
                    if now >= deadline {
                        return Err(format!(
                            "not ready again {:.1} s after its restart (ready_timeout_s)",
                            self.ready_timeout.as_secs_f64()
                        ));
                    }
                    return Ok(());
                }
            }
        }
    }

    fn start(&mut self, spec: FaultSpec, start: Instant, now: Instant, t: &mut impl Target) {
        let until = start + secs(spec.duration_s);
        self.records.push(Record {
            kind: spec.kind,
            start: now,
            end: None,
            ready_after: None,
        });
        self.state = match spec.kind {
            FaultKind::TelegramOutage | FaultKind::TelegramErrors | FaultKind::TelegramSlow => {
                t.set_fault(mock_fault(&spec));
                State::Telegram { until }
            }
            FaultKind::SutStop | FaultKind::SutKill => {
                let kill = spec.kind == FaultKind::SutKill;
                t.signal(kill);
                State::Down {
                    restart_at: until,
                    kill_at: now + self.stop_timeout,
                    killed: kill,
                }
            }
        };
    }

    fn close(&mut self, now: Instant) {
        if let Some(r) = self.records.iter_mut().rev().find(|r| r.end.is_none()) {
            r.end = Some(now);
        }
    }

    /// Ends a Telegram fault still on (an interrupted window); the SUT is left as it is.
    pub fn abort(&mut self, now: Instant, t: &mut impl Target) {
        if let State::Telegram { .. } = self.state {
            t.set_fault(Fault::None);
            self.close(now);
            self.state = State::Idle;
        }
    }

    /// The faults that started in `[t0, until)` as windows relative to `t0`, with notes
    /// (restart times). A fault still open ends at `until`.
    pub fn windows(&self, t0: Instant, until: Instant) -> (Vec<FaultWindow>, Vec<String>) {
        let rel = |i: Instant| round3(i.saturating_duration_since(t0).as_secs_f64());
        let mut out = Vec::new();
        let mut notes = Vec::new();
        for r in self
            .records
            .iter()
            .filter(|r| r.start >= t0 && r.start < until)
        {
            let end = r.end.unwrap_or(until).min(until.max(r.start));
            out.push(FaultWindow {
                kind: r.kind.as_str().to_string(),
                start_s: rel(r.start),
                end_s: rel(end),
            });
            if r.kind.stops_sut() {
                notes.push(match r.ready_after {
                    Some(d) => format!(
                        "fault {}: SUT restarted at {:.1} s, ready again {:.2} s later",
                        r.kind.as_str(),
                        rel(end),
                        d.as_secs_f64()
                    ),
                    None => format!(
                        "fault {}: SUT restarted at {:.1} s, not ready again by the end of the drain",
                        r.kind.as_str(),
                        rel(end)
                    ),
                });
            }
        }
        (out, notes)
    }
}

/// The mock's fault for a `telegram_*` spec.
pub fn mock_fault(spec: &FaultSpec) -> Fault {
    match spec.kind {
        FaultKind::TelegramOutage => Fault::Outage,
        FaultKind::TelegramErrors => Fault::Errors {
            rate: spec.rate.unwrap_or(0.0),
        },
        FaultKind::TelegramSlow => Fault::Slow {
            delay: Duration::from_secs_f64(spec.delay_ms.unwrap_or(0.0) / 1000.0),
        },
        FaultKind::SutStop | FaultKind::SutKill => Fault::None,
    }
}

/// Bot API requests per second the SUT made inside a fault window, and in the stretch of
/// the same length before it (from the window's start at most), from the timeseries.
/// Webhook deliveries (the mock's own requests) are left out. `None` for a stretch that
/// no sample covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    pub during_per_s: Option<f64>,
    pub before_per_s: Option<f64>,
}

pub fn request_rates(series: &[Sample], w: &FaultWindow) -> FaultRates {
    let len = (w.end_s - w.start_s).max(0.0);
    let before_from = (w.start_s - len).max(0.0);
    FaultRates {
        during_per_s: rate_between(series, w.start_s, w.end_s),
        before_per_s: rate_between(series, before_from, w.start_s),
    }
}

/// Requests per second over the samples whose period ends in `(from, to]` (a sample holds
/// the requests of the period that ends at its `t_s`), measured over those periods.
fn rate_between(series: &[Sample], from: f64, to: f64) -> Option<f64> {
    let mut prev_t = 0.0;
    let mut requests = 0u64;
    let mut span = 0.0;
    for s in series {
        let start = prev_t;
        prev_t = s.t_s;
        // Periods that lie mostly inside the stretch.
        let mid = (start + s.t_s) / 2.0;
        if mid <= from || mid > to {
            continue;
        }
        span += s.t_s - start;
        requests += s
            .requests
            .iter()
            .filter(|(m, _)| m.as_str() != "webhook")
            .map(|(_, n)| *n)
            .sum::<u64>();
    }
    (span > 0.0).then(|| requests as f64 / span)
}

/// A harness note per fault window: the request rate during it against before it.
pub fn rate_notes(series: &[Sample], faults: &[FaultWindow], bots: u64) -> Vec<String> {
    faults
        .iter()
        .map(|w| {
            let r = request_rates(series, w);
            let fmt = |x: Option<f64>| x.map(|v| format!("{v:.1}/s")).unwrap_or("-".into());
            format!(
                "fault {} {:.1}–{:.1} s: the SUT made {} Bot API requests ({} per bot), against {} in the {:.1} s before",
                w.kind,
                w.start_s,
                w.end_s,
                fmt(r.during_per_s),
                r.during_per_s
                    .map(|v| format!("{:.3}/s", v / bots.max(1) as f64))
                    .unwrap_or("-".into()),
                fmt(r.before_per_s),
                (w.end_s - w.start_s).min(w.start_s),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Fake {
        log: Vec<String>,
        exited: bool,
        ready: bool,
        /// Exit only after SIGKILL (a SUT that ignores SIGTERM).
        stubborn: bool,
    }

    impl Target for Fake {
        fn set_fault(&mut self, f: Fault) {
            self.log.push(format!("fault {f:?}"));
        }
        fn signal(&mut self, kill: bool) {
            self.log.push(if kill { "KILL" } else { "TERM" }.into());
            if kill || !self.stubborn {
                self.exited = true;
            }
        }
        fn sut_exited(&mut self) -> bool {
            self.exited
        }
        fn restart(&mut self) -> Result<(), String> {
            self.log.push("restart".into());
            self.exited = false;
            Ok(())
        }
        fn ready_again(&mut self) -> bool {
            self.ready
        }
    }

    fn scenario(faults: &str) -> Scenario {
        crate::scenario::parse(
            &format!(
                "name = \"f\"\nduration_s = 10\n[telegram]\nbots = 1\n[[sut]]\nname = \"p\"\nkind = \"polling\"\n{faults}"
            ),
            "f.toml",
        )
        .unwrap()
    }

    fn run(r: &mut FaultRunner, fake: &mut Fake, t0: Instant, until_ms: u64) {
        for ms in (0..=until_ms).step_by(10) {
            r.poll(t0 + Duration::from_millis(ms), fake).unwrap();
        }
    }

    #[test]
    fn telegram_fault_starts_and_ends_on_schedule() {
        let scn =
            scenario("[[fault]]\nat_s = 2\nkind = \"telegram_errors\"\nduration_s = 3\nrate = 0.5");
        let mut r = FaultRunner::new(&scn, Duration::from_secs(5), Duration::from_secs(5));
        let mut fake = Fake::default();
        let t0 = Instant::now();
        r.enter_segment(Some(0.0), t0);
        run(&mut r, &mut fake, t0, 1_990);
        assert!(fake.log.is_empty());
        run(&mut r, &mut fake, t0, 2_000);
        assert_eq!(fake.log, ["fault Errors { rate: 0.5 }"]);
        run(&mut r, &mut fake, t0, 6_000);
        assert_eq!(fake.log[1], "fault None");
        let (w, notes) = r.windows(t0, t0 + Duration::from_secs(10));
        assert_eq!(
            w,
            [FaultWindow {
                kind: "telegram_errors".into(),
                start_s: 2.0,
                end_s: 5.0
            }]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn sut_stop_restarts_after_the_duration_and_waits_for_ready() {
        let scn = scenario("[[fault]]\nat_s = 1\nkind = \"sut_stop\"\nduration_s = 2");
        let mut r = FaultRunner::new(&scn, Duration::from_secs(5), Duration::from_secs(5));
        let mut fake = Fake::default();
        let t0 = Instant::now();
        r.enter_segment(Some(0.0), t0);
        run(&mut r, &mut fake, t0, 1_500);
        assert_eq!(fake.log, ["TERM"]);
        assert!(r.sut_down());
        run(&mut r, &mut fake, t0, 3_000);
        assert_eq!(fake.log, ["TERM", "restart"]);
        assert!(!r.sut_down() && !r.idle());
        fake.ready = true;
        r.poll(t0 + Duration::from_millis(3_500), &mut fake)
            .unwrap();
        assert!(r.idle());
        let (w, notes) = r.windows(t0, t0 + Duration::from_secs(10));
        assert_eq!((w[0].start_s, w[0].end_s), (1.0, 3.0));
        assert_eq!(
            notes,
            ["fault sut_stop: SUT restarted at 3.0 s, ready again 0.50 s later"]
        );
    }

    #[test]
    fn ignored_sigterm_becomes_sigkill_after_the_stop_timeout() {
        let scn = scenario("[[fault]]\nat_s = 0\nkind = \"sut_stop\"\nduration_s = 1");
        let mut r = FaultRunner::new(&scn, Duration::from_secs(2), Duration::from_secs(5));
        let mut fake = Fake {
            stubborn: true,
            ..Fake::default()
        };
        let t0 = Instant::now();
        r.enter_segment(Some(0.0), t0);
        run(&mut r, &mut fake, t0, 1_990);
        assert_eq!(fake.log, ["TERM"], "down past its duration until it exits");
        run(&mut r, &mut fake, t0, 2_000);
        assert_eq!(fake.log, ["TERM", "KILL", "restart"]);
        let (w, _) = r.windows(t0, t0 + Duration::from_secs(10));
        assert_eq!(w[0].end_s, 2.0, "the window ends at the real restart");
    }

    #[test]
    fn not_ready_after_restart_is_an_error() {
        let scn = scenario("[[fault]]\nat_s = 0\nkind = \"sut_kill\"\nduration_s = 1");
        let mut r = FaultRunner::new(&scn, Duration::from_secs(5), Duration::from_secs(1));
        let mut fake = Fake::default();
        let t0 = Instant::now();
        r.enter_segment(Some(0.0), t0);
        run(&mut r, &mut fake, t0, 1_990);
        let e = r
            .poll(t0 + Duration::from_millis(2_100), &mut fake)
            .unwrap_err();
        assert!(
            e.starts_with("not ready again 1.0 s after its restart"),
            "{e}"
        );
    }

    #[test]
    fn phased_faults_start_in_their_phase() {
        let scn = crate::scenario::parse(
            "name = \"f\"\n[telegram]\nbots = 1\n[[sut]]\nname = \"p\"\nkind = \"polling\"\n\
             [[phase]]\nname = \"a\"\nduration_s = 5\n[[phase]]\nname = \"b\"\nduration_s = 5\n\
             [[fault]]\nat_s = 6\nkind = \"telegram_outage\"\nduration_s = 1",
            "f.toml",
        )
        .unwrap();
        let mut r = FaultRunner::new(&scn, Duration::from_secs(5), Duration::from_secs(5));
        let mut fake = Fake::default();
        let t0 = Instant::now();
        r.enter_segment(Some(0.0), t0);
        run(&mut r, &mut fake, t0, 5_000);
        assert!(fake.log.is_empty(), "not in phase a");
        // Phase b starts later in time (after a drain), 5 s into the timeline.
        let t1 = t0 + Duration::from_secs(8);
        r.enter_segment(Some(5.0), t1);
        run(&mut r, &mut fake, t1, 990);
        assert!(fake.log.is_empty());
        run(&mut r, &mut fake, t1, 1_000);
        assert_eq!(fake.log, ["fault Outage"]);
    }

    fn sample(t_s: f64, get_updates: u64, webhook: u64) -> Sample {
        Sample {
            t_s,
            requests: BTreeMap::from([
                ("getUpdates".to_string(), get_updates),
                ("webhook".to_string(), webhook),
            ]),
            ..Sample::default()
        }
    }

    #[test]
    fn rates_compare_the_fault_with_the_stretch_before() {
        let series: Vec<Sample> = (1..=10)
            .map(|i| sample(i as f64, if (5..=6).contains(&i) { 1 } else { 4 }, 100))
            .collect();
        let w = FaultWindow {
            kind: "telegram_outage".into(),
            start_s: 4.0,
            end_s: 6.0,
        };
        let r = request_rates(&series, &w);
        assert_eq!(r.during_per_s, Some(1.0));
        assert_eq!(r.before_per_s, Some(4.0));
        let notes = rate_notes(&series, &[w], 2);
        assert!(
            notes[0].contains("1.0/s Bot API requests (0.500/s per bot), against 4.0/s"),
            "{notes:?}"
        );
    }
}
