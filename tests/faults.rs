//! Faults as scenario steps: every shipped `faults-*` scenario, shortened (20 bots at one
//! message per bot per second, an 8 s window, the fault from 2 s to 4 s), run through the
//! library against both reference transports. After every fault: nothing lost
//! (`injected = replied`), nothing answered twice (a SIGKILL apart), the fault recorded in
//! `runs[].faults`, no request storm while Telegram is down or failing, no reply (and no
//! call but a final confirmation) while the SUT is stopped, and no SUT process left behind —
//! the restarted one included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tgbench::run::{self, Options, Status, faults};
use tgbench::scenario::{self, FaultKind};
use tgbench_reports::results::{Results, Run};

use crate::sim_support::{self, binaries, scenario_file};

/// Processes whose environment holds `TGBENCH_TEST_MARK=<mark>` (this test's SUTs only:
/// other tests run the same binaries at the same time).
fn marked(mark: &str) -> Vec<u32> {
    sim_support::marked("TGBENCH_TEST_MARK", mark)
}

/// The shipped scenario `faults-<name>`, shortened, each SUT marked with `mark`. The load
/// is raised to 60 messages per bot per minute (20 a second, ~40 inside the fault): enough
/// that every check below is decided by the fault, not by how few messages fell in it.
fn shortened(name: &str, mark: &str) -> scenario::Scenario {
    let mut s = scenario::load(&format!("faults-{name}")).unwrap();
    s.telegram.bots = 20;
    s.load.messages_per_bot_per_min = 60.0;
    s.duration_s = Some(8.0);
    s.warmup_s = 1.0;
    s.drain_s = 20.0;
    for f in &mut s.faults {
        f.at_s = 2.0;
        f.duration_s = 2.0;
    }
    for sut in &mut s.suts {
        sut.cpus = None;
        sut.env.insert("TGBENCH_TEST_MARK".into(), mark.into());
    }
    s.source = format!("shortened:{name}");
    s
}

/// Runs it, watching which marked SUT processes exist meanwhile; returns the results and
/// every pid seen.
fn run_marked(s: &scenario::Scenario, mark: &str) -> (Results, BTreeSet<u32>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        out_dir: Some(dir.path().join("out")),
        progress: false,
        impls_dir: Some(binaries().to_path_buf()),
        ..Options::default()
    };
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (done, mark) = (done.clone(), mark.to_string());
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::Relaxed) {
                seen.extend(marked(&mark));
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        })
    };
    let outcome = run::run_scenario(s, &opts).expect("the run starts");
    done.store(true, Ordering::Relaxed);
    let seen = watcher.join().unwrap();
    assert_eq!(
        outcome.status,
        Status::Ok,
        "{:?}",
        outcome.results.incomplete_reason
    );
    std::thread::sleep(Duration::from_millis(200));
    let left = marked(mark);
    assert!(left.is_empty(), "SUT processes left behind: {left:?}");
    (outcome.results, seen)
}

/// The promise for every run: complete, nothing lost, nothing answered twice, the fault
/// recorded where it was put.
///
/// Answered twice is possible only after a SIGKILL: an update whose reply went out in the
/// last millisecond or so before the kill, before its offset was confirmed (polling) or its
/// delivery acknowledged (webhook), comes again to the restarted SUT. A clean stop confirms
/// first, and a Telegram fault fails a call before it takes effect, so there it is 0.
fn assert_survived(r: &Results, kind: FaultKind) {
    assert_eq!(r.runs.len(), 2, "both transports ran");
    for run in &r.runs {
        let u = &run.updates;
        let who = &run.sut.name;
        assert!(run.complete, "{who}: {:?}", run.incomplete_reason);
        assert!(u.injected > 100, "{who}: only {} injected", u.injected);
        assert_eq!(u.lost, 0, "{who}: {u:?}");
        assert_eq!(u.injected, u.replied, "{who}: {u:?}");
        if kind == FaultKind::SutKill {
            // At most the replies in flight at the instant of the kill.
            assert!(u.duplicated <= 3, "{who}: {u:?}");
        } else {
            assert_eq!(u.duplicated, 0, "{who}: {u:?}");
        }
        assert_eq!(run.faults.len(), 1, "{who}: {:?}", run.faults);
        let f = &run.faults[0];
        assert_eq!(f.kind, kind.as_str());
        assert!((f.start_s - 2.0).abs() < 0.2, "{who}: {f:?}");
        assert!(f.end_s >= 3.95, "{who}: {f:?}");
        assert!(
            run.harness
                .notes
                .iter()
                .any(|n| n.starts_with(&format!("fault {}", kind.as_str()))),
            "{who}: {:?}",
            run.harness.notes
        );
    }
}

/// Bot API requests per second during the fault, and before it.
fn rates(run: &Run) -> (f64, f64) {
    let r = faults::request_rates(&run.timeseries, &run.faults[0]);
    (
        r.during_per_s.expect("samples inside the fault"),
        r.before_per_s.expect("samples before the fault"),
    )
}

/// Bot API calls by method (webhook deliveries left out) in the timeseries samples whose
/// period lies mostly inside `(from, to]` seconds, as `faults::request_rates` takes them.
fn calls_between(run: &Run, from: f64, to: f64) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut start = 0.0;
    for s in &run.timeseries {
        let mid = (start + s.t_s) / 2.0;
        start = s.t_s;
        if mid <= from || mid > to {
            continue;
        }
        for (m, n) in &s.requests {
            if m != "webhook" {
                *out.entry(m.clone()).or_insert(0) += n;
            }
        }
    }
    out
}

/// Back-off, not a storm: no more requests per second than before the fault, or than two
/// per bot (the clients' back-off starts at 250-500 ms and doubles; a client that retried
/// at once would make thousands per second on loopback).
fn assert_bounded(run: &Run) {
    let (during, before) = rates(run);
    let bound = before.max(2.0 * run.bots as f64);
    assert!(
        during <= bound,
        "{}: {during:.1} requests/s during the fault, {before:.1}/s before",
        run.sut.name
    );
}

fn sut_fault(name: &str, kind: FaultKind) {
    let mark = format!("{name}-{}", std::process::id());
    let s = shortened(name, &mark);
    let (r, seen) = run_marked(&s, &mark);
    assert_survived(&r, kind);
    // Each transport was started, stopped by the fault and started again: 4 processes.
    assert!(seen.len() >= 4, "SUT pids seen: {seen:?}");
    for run in &r.runs {
        assert!(
            run.harness
                .notes
                .iter()
                .any(|n| n.contains("SUT restarted at") && n.contains("ready again")),
            "{}: {:?}",
            run.sut.name,
            run.harness.notes
        );
        // Between the stop and the restart the SUT answered nobody: a running SUT sends
        // ~40 replies in 2 s; a stopped one only those in flight at the signal, and those of
        // the fault's first sample sent before it. Its other calls: at most the final
        // getUpdates per bot that confirms the last offsets on a clean stop.
        let f = &run.faults[0];
        let before = calls_between(run, f.start_s - 2.0, f.start_s);
        let during = calls_between(run, f.start_s, f.end_s);
        let who = &run.sut.name;
        let replies =
            |calls: &BTreeMap<String, u64>| calls.get("sendMessage").copied().unwrap_or(0);
        assert!(
            replies(&before) >= 20,
            "{who}: 2 s before the fault {before:?}"
        );
        assert!(replies(&during) <= 8, "{who}: while stopped {during:?}");
        let others: u64 = during.values().sum::<u64>() - replies(&during);
        assert!(others <= run.bots + 8, "{who}: while stopped {during:?}");
    }
}

#[test]
fn sut_kill_loses_nothing_and_the_restarted_sut_is_stopped_too() {
    sut_fault("sut-kill", FaultKind::SutKill);
}

#[test]
fn sut_stop_loses_nothing_and_the_restarted_sut_is_stopped_too() {
    sut_fault("sut-stop", FaultKind::SutStop);
}

#[test]
fn telegram_outage_loses_nothing_and_clients_back_off() {
    let mark = format!("outage-{}", std::process::id());
    let (r, _) = run_marked(&shortened("telegram-outage", &mark), &mark);
    assert_survived(&r, FaultKind::TelegramOutage);
    for run in &r.runs {
        assert_bounded(run);
        // The mock answered 502 and delivered nothing meanwhile: the updates of the
        // outage waited, so the slowest reply took about as long as the outage.
        assert!(
            run.latency_ms.max >= 1_000.0,
            "{}: {:?}",
            run.sut.name,
            run.latency_ms
        );
    }
}

#[test]
fn telegram_errors_lose_nothing_and_clients_back_off() {
    let mark = format!("errors-{}", std::process::id());
    let mut s = shortened("telegram-errors", &mark);
    s.faults[0].rate = Some(0.5);
    let (r, _) = run_marked(&s, &mark);
    assert_survived(&r, FaultKind::TelegramErrors);
    for run in &r.runs {
        assert_bounded(run);
    }
    // The mock did fail calls, and each client made them again: more sendMessage calls than
    // replies, per transport. Half of the calls fail for 2 s, when ~40 messages come: this
    // cannot miss (unless a client gave up on a reply, which the count of lost would show).
    for run in &r.runs {
        let calls = run
            .requests
            .by_method
            .get("sendMessage")
            .copied()
            .unwrap_or(0);
        let answered = run.updates.replied + run.updates.duplicated;
        assert!(
            calls > answered,
            "{}: {calls} sendMessage calls for {answered} replies",
            run.sut.name
        );
    }
}

#[test]
fn telegram_slow_loses_nothing_and_shows_the_delay() {
    let mark = format!("slow-{}", std::process::id());
    let (r, _) = run_marked(&shortened("telegram-slow", &mark), &mark);
    assert_survived(&r, FaultKind::TelegramSlow);
    for run in &r.runs {
        // 500 ms on the answers and deliveries an echo waits for.
        assert!(
            run.latency_ms.p99 >= 500.0,
            "{}: {:?}",
            run.sut.name,
            run.latency_ms
        );
    }
}

#[test]
fn fault_mistakes_name_file_line_key_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let base = "name = \"f\"\nduration_s = 10\n[telegram]\nbots = 2\n[[sut]]\nname = \"p\"\nkind = \"polling\"\n";
    let cases = [
        (
            "[[fault]]\nat_s = 1\nkind = \"telegram_errors\"\nduration_s = 2\nrate = 1.5\n",
            ":12: [[fault]] #1 rate = 1.5: expected a share ≥ 0 and ≤ 1",
        ),
        (
            "[[fault]]\nat_s = 1\nkind = \"telegram_slow\"\nduration_s = 2\n",
            ":8: [[fault]] #1 delay_ms: missing key delay_ms (required for kind = \"telegram_slow\")",
        ),
        (
            "[[fault]]\nat_s = 9\nkind = \"sut_kill\"\nduration_s = 2\n",
            ":9: [[fault]] #1 at_s = 9: the fault (9 s to 11 s) must lie inside the measured timeline (0 to 10 s)",
        ),
        (
            "[[fault]]\nat_s = 1\nkind = \"sut_crash\"\nduration_s = 2\n",
            ":10: [[fault]] #1 kind = \"sut_crash\": expected one of sut_stop, sut_kill, telegram_outage, telegram_errors, telegram_slow",
        ),
        (
            "[[fault]]\nat_s = 1\nkind = \"sut_kill\"\nduration_s = 2\nrate = 0.5\n",
            ":12: [[fault]] #1 rate: only for kind = \"telegram_errors\", not \"sut_kill\"",
        ),
        (
            "[[fault]]\nat_s = 1\nkind = \"sut_kill\"\nduration_s = 4\n[[fault]]\nat_s = 3\nkind = \"telegram_outage\"\nduration_s = 1\n",
            ":13: [[fault]] #2 at_s = 3: overlaps [[fault]] #1 (which lasts until 5 s)",
        ),
    ];
    for (i, (fault, want)) in cases.iter().enumerate() {
        let path = scenario_file(dir.path(), &format!("f{i}"), &format!("{base}{fault}"));
        let e = scenario::load(path.to_str().unwrap())
            .unwrap_err()
            .to_string();
        let want = format!("{}{want}", path.display());
        assert!(e.starts_with(&want), "case {i}:\n got {e}\nwant {want}");
    }
}
