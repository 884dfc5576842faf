//! A `kind = "serverless"` SUT end to end: `tgbench run` starts the emulated Lambda
//! (`mock-lambda`) with the reference function (`webhook-lambda`), registers every bot's
//! webhook with a secret of its own, and every message is answered once, through the
//! function URL, by execution environments the platform started cold; the results carry
//! the platform's figures, and nothing is left running.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;
use tgbench_reports::results::Results;

use crate::sim_support::{self, alive, binaries, read_results, scenario_file};

const SCENARIO: &str = r#"
name = "serverless-e2e"
duration_s = 4
drain_s = 20
seed = 3

[telegram]
bots = 5
rtt_ms = 5

[load]
model = "poisson"
messages_per_bot_per_min = 60

[[sut]]
name = "fn"
kind = "serverless"
function = "webhook-lambda"
memory_mb = 256
concurrency = 20
keep_warm_s = 1
timeout_s = 10
ready_timeout_s = 60
stop_timeout_s = 30

[slo]
max_lost = 0
"#;

/// `tgbench run` on `text` written as `<dir>/<name>.toml`; it must succeed. The results
/// and the results folder.
fn run(dir: &Path, name: &str, text: &str) -> (Results, PathBuf) {
    let path = scenario_file(dir, name, text);
    let out = dir.join("out");
    let code = tgbench::run_cli(tgbench::Cli::parse_from([
        "tgbench",
        "run",
        path.to_str().unwrap(),
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]));
    let r = read_results(&out);
    assert_eq!(code, 0, "exit code; runs: {:#?}", r.runs);
    (r, out)
}

#[test]
fn every_message_is_answered_once_through_the_serverless_platform() {
    let bin = binaries();
    for b in ["mock-lambda", "webhook-lambda"] {
        assert!(bin.join(b).is_file(), "{b} missing in {}", bin.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let (r, out) = run(dir.path(), "serverless-e2e", SCENARIO);
    let run = &r.runs[0];
    assert_eq!(run.sut.kind, "serverless");
    assert!(
        run.sut.command.iter().any(|c| c.ends_with("/mock-lambda")),
        "{:?}",
        run.sut.command
    );
    let u = &run.updates;
    assert!(u.injected >= 5, "{u:?}");
    assert_eq!(u.replied, u.injected, "every update answered: {u:?}");
    assert_eq!((u.lost, u.duplicated), (0, 0), "{u:?}");
    let s = run
        .serverless
        .as_ref()
        .expect("a serverless run has the platform's figures");
    assert_eq!(
        s.invocations, u.replied,
        "one invocation per answered update: {s:?}"
    );
    assert!(
        s.cold_starts >= 1 && s.environments_started >= s.cold_starts,
        "{s:?}"
    );
    assert!(
        s.init_ms.max > 0.0 && s.init_ms.p50 <= s.init_ms.max,
        "{s:?}"
    );
    assert_eq!(s.throttled, 0, "{s:?}");
    assert_eq!(
        (s.errors.timeout, s.errors.oom, s.errors.function),
        (0, 0, 0),
        "{s:?}"
    );
    assert!(s.concurrency_peak >= 1 && s.concurrency_peak <= 20, "{s:?}");
    // Each invocation and init billed at least 1 ms; 256 MB is a quarter GB.
    assert!(s.billed_ms >= s.invocations + s.cold_starts, "{s:?}");
    let gb_s = s.billed_ms as f64 / 1000.0 * 0.25;
    assert!((s.billed_gb_s - gb_s).abs() < 1e-9, "{s:?}");
    assert!(s.cost > 0.0, "{s:?}");
    assert!(!s.resources.is_empty());

    // Latency split by cold start: every reply in exactly one half; with no failure each
    // cold start served exactly one update first; a cold update waited for its init.
    let split = s.latency.as_ref().expect("a cold/warm latency split");
    assert_eq!(
        split.cold.count + split.warm.count,
        u.replied,
        "every reply cold or warm: {split:?}"
    );
    assert_eq!(split.cold.count + split.warm.count, run.latency_ms.count);
    assert_eq!(split.cold.count, s.cold_starts, "{split:?} {s:?}");
    assert!(
        split.cold.max >= s.init_ms.max * 0.99,
        "the slowest init is inside a cold update's latency: {split:?} {s:?}"
    );

    // The timeline: one point a second, its busy peak the run's, its cold starts the run's
    // (and any of the period it began in).
    assert!(!s.timeline.is_empty(), "{s:?}");
    let peak = s.timeline.iter().map(|p| p.busy).max().unwrap();
    assert_eq!(peak, s.concurrency_peak, "{:?}", s.timeline);
    let colds: u64 = s.timeline.iter().map(|p| p.cold_starts).sum();
    assert!(colds >= s.cold_starts, "{:?}", s.timeline);
    assert!(
        s.timeline.iter().all(|p| p.alive >= p.busy),
        "{:?}",
        s.timeline
    );

    // The platform's last words (its final stats on stderr, kept in the SUT's log with an
    // `[err] ` prefix): every environment ended, and none of their processes is alive.
    // The log is copied from the platform's stderr by a reader thread that may still be
    // writing its last line when the run returns: wait for it, with a generous deadline.
    let log_path = out.join("logs").join("fn-rep0.log");
    let final_stats = || -> Option<Value> {
        let log = std::fs::read_to_string(&log_path).ok()?;
        log.lines()
            .rev()
            .find_map(|l| serde_json::from_str(l.strip_prefix("[err] ").unwrap_or(l)).ok())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let last = loop {
        match final_stats() {
            Some(v) => break v,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            None => panic!(
                "the platform printed no final stats: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            ),
        }
    };
    let envs = last["environments"].as_array().unwrap();
    assert_eq!(envs.len() as u64, s.environments_started, "{last}");
    for env in envs {
        assert!(env["end_reason"].is_string(), "{env}");
        let pid = env["pid"].as_u64().unwrap() as u32;
        assert!(!alive(pid), "environment process {pid} left running: {env}");
    }
    assert_eq!(last["environments_alive"], 0);
}

/// Processes whose environment holds `SERVERLESS_TEST_MARK=<mark>`: the platform and every
/// environment it started (the function gets the SUT's `env` too).
fn marked(mark: &str) -> Vec<u32> {
    sim_support::marked("SERVERLESS_TEST_MARK", mark)
}

/// Regression guard: the platform runs its environments in process groups of their own, so
/// a SIGKILL to the platform's group does not reach them; frozen ones would stay forever.
/// After a `sut_kill` fault (and the restart) nothing is lost, and when the run ends no
/// process of the platform or its environments is left.
#[test]
fn a_killed_platform_leaves_no_environment_behind_and_nothing_is_lost() {
    binaries();
    let mark = format!("kill-{}", std::process::id());
    let text = SCENARIO
        .replace("duration_s = 4", "duration_s = 6")
        .replace("keep_warm_s = 1", "keep_warm_s = 60")
        .replace("rtt_ms = 5", "rtt_ms = 5\nretry_factor = 0.1")
        .replace(
            "stop_timeout_s = 30",
            &format!(
                "stop_timeout_s = 30\nenv = {{ SERVERLESS_TEST_MARK = \"{mark}\" }}\n\n\
                 [[fault]]\nat_s = 2\nkind = \"sut_kill\"\nduration_s = 1.5"
            ),
        );
    let dir = tempfile::tempdir().unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (done, mark) = (done.clone(), mark.clone());
        std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                seen.extend(marked(&mark));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            seen
        })
    };
    let (r, _) = run(dir.path(), "serverless-kill", &text);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watcher.join().unwrap();
    let run = &r.runs[0];
    assert_eq!(run.faults.len(), 1, "{:?}", run.faults);
    assert_eq!(run.faults[0].kind, "sut_kill");
    let u = &run.updates;
    assert!(u.injected >= 10, "{u:?}");
    assert_eq!((u.replied, u.lost), (u.injected, 0), "{u:?}");
    // Two platforms and at least one environment each were running during the run.
    assert!(seen.len() >= 4, "marked processes seen: {seen:?}");
    let left = marked(&mark);
    assert!(left.is_empty(), "left running after the run: {left:?}");
}

/// The platform's CPU split into its idle floor and its cost per invocation above it: an
/// idle phase (environments warm from the warm-up, no traffic) measures the floor, and the
/// busy phase after it carries that floor and its marginal cost per invocation.
#[test]
fn the_platform_cpu_splits_into_an_idle_floor_and_a_cost_per_invocation() {
    binaries();
    let text = SCENARIO
        .replace("duration_s = 4\n", "warmup_s = 2\n")
        .replace("drain_s = 20", "drain_s = 10")
        // A keep-warm of 20 s: nothing is reaped, and the reaper (the quiet clock) looks
        // every second.
        .replace("keep_warm_s = 1", "keep_warm_s = 20")
        .replace(
            "[[sut]]",
            "[[phase]]\nname = \"idle\"\nduration_s = 6\n[phase.load]\nmodel = \"idle\"\n\n\
             [[phase]]\nname = \"busy\"\nduration_s = 3\n\n[[sut]]",
        );
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = run(dir.path(), "serverless-split", &text);
    let phase = |name: &str| {
        r.runs
            .iter()
            .find(|x| x.phase.as_deref() == Some(name))
            .and_then(|x| x.serverless.clone())
            .unwrap_or_else(|| panic!("no serverless figures for phase {name}: {:#?}", r.runs))
    };
    let (idle, busy) = (phase("idle"), phase("busy"));
    assert_eq!(idle.invocations, 0, "{idle:?}");
    let floor = idle
        .platform_idle_cpu_ms_per_s
        .expect("a quiet phase measures the idle floor");
    assert!(floor >= 0.0, "{idle:?}");
    assert_eq!(
        idle.platform_marginal_cpu_ms, None,
        "no invocation: {idle:?}"
    );
    assert!(busy.invocations > 0, "{busy:?}");
    // Its own quiet stretches (the drain's, if any), else the idle phase's.
    assert!(busy.platform_idle_cpu_ms_per_s.is_some(), "{busy:?}");
    let marginal = busy
        .platform_marginal_cpu_ms
        .expect("a busy phase after a quiet one has a marginal cost");
    let total = busy.platform_cpu_s * 1000.0 / busy.invocations as f64;
    // Three HTTP exchanges per invocation cost the platform something, and never more than
    // its whole CPU per invocation.
    assert!(
        marginal > 0.0 && marginal <= total,
        "{marginal} of {total}: {busy:?}"
    );
    // Idle costs the platform far less per second than traffic does.
    let busy_per_s = busy.platform_cpu_s * 1000.0 / 3.0;
    assert!(
        floor < busy_per_s,
        "floor {floor} ms/s, busy {busy_per_s} ms/s"
    );
}
