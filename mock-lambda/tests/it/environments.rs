//! Execution environments as AWS runs them: reused warm, frozen between invocations (no
//! CPU, by the kernel's figures), reaped after `keep_warm`, and no more than
//! `concurrency` of them (429 beyond).

use std::time::Duration;

use mock_lambda::ResourceMode;
use serde_json::Value;

use crate::support::{Harness, assert_gone, cgroups_or_skip, cpu_ticks, ends, script};

/// The resource modes this machine can test: signals always, cgroups where available.
fn modes() -> Vec<ResourceMode> {
    let mut modes = vec![ResourceMode::Signals];
    if cgroups_or_skip() {
        modes.push(ResourceMode::Cgroups);
    }
    modes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_environment_is_reused_and_gets_the_documented_variables() {
    let mut config = script("echo", ResourceMode::Auto);
    config
        .env
        .push(("TGBENCH_API_URL".into(), "http://127.0.0.1:1".into()));
    config.memory_mb = 256;
    let h = Harness::start(config).await;
    let first: Value = h
        .post("/webhook/1", r#"{"n":1}"#)
        .await
        .json()
        .await
        .unwrap();
    // The environment is busy until its runtime asks for the next event; the second
    // request then runs warm in it (a busy one rightly causes a second cold start).
    h.wait_for("the environment to be idle", |s| s.concurrency == 0)
        .await;
    let second: Value = h
        .post("/webhook/1", r#"{"n":2}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["pid"], second["pid"], "the second request ran warm");
    let env = &first["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "tgbench-function");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert_eq!(env["TGBENCH_API_URL"], "http://127.0.0.1:1");
    assert!(
        env["LAMBDA_TASK_ROOT"]
            .as_str()
            .unwrap()
            .ends_with("functions")
    );
    assert!(
        env["AWS_LAMBDA_RUNTIME_API"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(second["event"]["body"], r#"{"n":2}"#);
    let stats = h.stats();
    assert_eq!((stats.invocations, stats.cold_starts), (2, 1));
    assert_eq!(stats.environments_started, 1);
    assert!(stats.init_ms.count == 1 && stats.init_ms.p50 > 0.0);
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_environment_uses_no_cpu() {
    // Frozen as its runtime asks for the next event, and after the default idle grace.
    let cases = modes()
        .into_iter()
        .flat_map(|m| [(m, Duration::ZERO), (m, mock_lambda::config::FREEZE_AFTER)]);
    for (mode, freeze_after) in cases {
        let mut config = script("spin", mode);
        // One vCPU, so the spinning thread visibly runs while the environment is thawed.
        config.memory_mb = 1769;
        config.freeze_after = freeze_after;
        config.env.push(("SLEEP_S".into(), "1".into()));
        let h = Harness::start(config).await;
        let answer: Value = h.post("/x", "{}").await.json().await.unwrap();
        let pid = answer["pid"].as_u64().unwrap() as u32;
        let stats = h
            .wait_for("the environment to be frozen", |s| {
                s.environments[0].state == "frozen"
            })
            .await;
        let thawed_cpu = stats.environments[0].cpu_s;
        assert!(
            thawed_cpu > 0.1,
            "{mode:?}: a thread spinning for the 1 s invocation used only {thawed_cpu} s"
        );
        let ticks = cpu_ticks(pid);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let frozen_cpu = h.stats().environments[0].cpu_s - thawed_cpu;
        let frozen_ticks = cpu_ticks(pid) - ticks;
        assert!(
            frozen_cpu < 0.02,
            "{mode:?}: frozen for 5 s, the environment used {frozen_cpu} s"
        );
        assert!(
            frozen_ticks <= 1,
            "{mode:?}: frozen for 5 s, /proc counts {frozen_ticks} ticks"
        );
        let mechanism = h.stats().resources.mechanism;
        match mode {
            ResourceMode::Signals => assert_eq!(mechanism, "signals"),
            _ => assert!(mechanism.starts_with("cgroup-v"), "{mechanism}"),
        }
        // Thawed for the next invocation: the same process answers it.
        let again: Value = h.post("/y", "{}").await.json().await.unwrap();
        assert_eq!(again["pid"], answer["pid"], "{mode:?}");
        let stats = h.server.shutdown().await;
        assert_gone(&stats, 1, "shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environments_are_reaped_after_keep_warm() {
    let mut config = script("echo", ResourceMode::Auto);
    config.keep_warm = Duration::from_secs(1);
    let h = Harness::start(config).await;
    let first: Value = h.post("/x", "{}").await.json().await.unwrap();
    let stats = h
        .wait_for("the idle environment to be reaped", |s| {
            s.environments_alive == 0
        })
        .await;
    assert_gone(&stats, 1, "reaped");
    assert!(ends(first["pid"].as_u64().unwrap() as u32));
    let second: Value = h.post("/x", "{}").await.json().await.unwrap();
    assert_ne!(first["pid"], second["pid"]);
    let stats = h.stats();
    assert_eq!((stats.cold_starts, stats.invocations), (2, 2));
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_limit_requests_get_429() {
    let mut config = script("sleep", ResourceMode::Auto);
    config.concurrency = 1;
    config.env.push(("SLEEP_S".into(), "2".into()));
    let h = Harness::start(config).await;
    let url = h.server.url();
    let client = h.client.clone();
    let first =
        tokio::spawn(async move { client.post(format!("{url}/a")).body("{}").send().await });
    h.wait_for("the first invocation to run", |s| s.invocations == 1)
        .await;
    let throttled = h.post("/b", "{}").await;
    assert_eq!(throttled.status(), 429);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["message"], "Rate Exceeded.");
    assert_eq!(first.await.unwrap().unwrap().status(), 200);
    h.wait_for("the environment to be idle", |s| s.concurrency == 0)
        .await;
    assert_eq!(h.post("/c", "{}").await.status(), 200);
    let stats = h.stats();
    assert_eq!(stats.throttled, 1);
    assert_eq!((stats.cold_starts, stats.invocations), (1, 2));
    assert_eq!((stats.concurrency_peak, stats.requests), (1, 3));
    let marked: u64 = stats
        .concurrency_series
        .points
        .iter()
        .map(|p| p.throttled)
        .sum();
    assert_eq!(marked, 1);
    assert!(stats.concurrency_series.points.iter().any(|p| p.peak == 1));
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_opens_one_environment_per_concurrent_request() {
    let mut config = script("sleep", ResourceMode::Auto);
    config.concurrency = 3;
    config.env.push(("SLEEP_S".into(), "1".into()));
    let h = Harness::start(config).await;
    let requests: Vec<_> = (0..3)
        .map(|i| {
            let url = format!("{}/{i}", h.server.url());
            let client = h.client.clone();
            tokio::spawn(async move { client.post(url).body("{}").send().await })
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap().unwrap().status(), 200);
    }
    // An invocation is billed until its runtime asks for the next event.
    let stats = h
        .wait_for("every environment to be idle", |s| s.concurrency == 0)
        .await;
    assert_eq!((stats.cold_starts, stats.concurrency_peak), (3, 3));
    assert_eq!(stats.cold_start_marks.len(), 3);
    assert!(stats.cold_start_marks.iter().all(|m| m.init_ms.is_some()));
    // Each invocation slept 1 s: at least 3 s billed, at 512 MB.
    assert!(stats.billing.billed_ms >= 3000, "{:?}", stats.billing);
    let billed_s = (stats.billing.billed_ms + stats.billing.init_billed_ms) as f64 / 1000.0;
    assert!(
        (stats.billing.gb_s - billed_s * 0.5).abs() < 1e-9,
        "{:?}",
        stats.billing
    );
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_being_shut_down_hold_no_concurrency() {
    for mode in modes() {
        // Both environments are reaped together and take the whole 2 s shutdown phase to
        // die (their runtime ignores SIGTERM): a request meanwhile gets a new environment.
        let mut config = script("sleep", mode);
        config.concurrency = 2;
        config.keep_warm = Duration::from_secs(1);
        config.shutdown_grace = Duration::from_secs(2);
        config.env.push(("SLEEP_S".into(), "0.5".into()));
        config.env.push(("IGNORE_TERM".into(), "1".into()));
        let h = Harness::start(config).await;
        let (a, b) = tokio::join!(h.post("/a", "{}"), h.post("/b", "{}"));
        assert_eq!(
            (a.status().as_u16(), b.status().as_u16()),
            (200, 200),
            "{mode:?}"
        );
        let dying = h
            .wait_for("both environments to be in their shutdown phase", |s| {
                s.environments.len() == 2 && s.environments.iter().all(|e| e.state == "ending")
            })
            .await;
        let pids: Vec<u32> = dying.environments.iter().filter_map(|e| e.pid).collect();
        assert_eq!(pids.len(), 2);
        let during = h.post("/c", "{}").await;
        assert_eq!(during.status(), 200, "{mode:?}");
        let stats = h.stats();
        assert_eq!(stats.throttled, 0, "{mode:?}: {stats:#?}");
        assert_eq!((stats.cold_starts, stats.invocations), (3, 3), "{mode:?}");
        // The request did meet them dying: they ended after the third one started. The
        // third is reaped in turn (keep-warm 1 s), and nothing is left.
        let stats = h
            .wait_for("every environment to be reaped and gone", |s| {
                s.environments.iter().filter(|e| e.state == "ended").count() == 3
            })
            .await;
        let started = stats.environments[2].started_s;
        for id in [1, 2, 3] {
            assert_gone(&stats, id, "reaped");
        }
        for env in &stats.environments[..2] {
            assert!(env.ended_s.unwrap() > started, "{mode:?}: {stats:#?}");
        }
        h.server.shutdown().await;
    }
}
