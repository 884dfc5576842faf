//! A `kind = "serverless"` SUT end to end: `tgbench run` starts the emulated Lambda
//! (`mock-lambda`) with the reference function (`webhook-lambda`), registers every bot's
//! webhook with a secret of its own, and every message is answered once, through the
//! function URL, by execution environments the platform started cold; the results carry
//! the platform's figures, and nothing is left running.

use clap::Parser;
use serde_json::Value;

use crate::sim_support::{alive, binaries, read_results, scenario_file};

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

[slo]
max_lost = 0
"#;

#[test]
fn every_message_is_answered_once_through_the_serverless_platform() {
    let bin = binaries();
    for b in ["mock-lambda", "webhook-lambda"] {
        assert!(bin.join(b).is_file(), "{b} missing in {}", bin.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = scenario_file(dir.path(), "serverless-e2e", SCENARIO);
    let out = dir.path().join("out");
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

    // The platform's last words (its final stats on stderr, kept in the SUT's log with an
    // `[err] ` prefix): every
    // environment ended, and none of their processes is still alive.
    let log = std::fs::read_to_string(out.join("logs").join("fn-rep0.log")).unwrap();
    let last: Value = log
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l.strip_prefix("[err] ").unwrap_or(l)).ok())
        .expect("the platform printed its final stats");
    let envs = last["environments"].as_array().unwrap();
    assert_eq!(envs.len() as u64, s.environments_started, "{last}");
    for env in envs {
        assert!(env["end_reason"].is_string(), "{env}");
        let pid = env["pid"].as_u64().unwrap() as u32;
        assert!(!alive(pid), "environment process {pid} left running: {env}");
    }
    assert_eq!(last["environments_alive"], 0);
}
