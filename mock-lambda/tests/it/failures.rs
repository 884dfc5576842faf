//! Environments that fail: over memory, past the timeout, crashing mid-invocation, never
//! asking for an event, answering nonsense. Each time the caller gets AWS's failure (502
//! at a function URL), the error is counted by kind, and the environment is gone with
//! everything it started: no process, no control group.

use std::time::Duration;

use mock_lambda::ResourceMode;

use crate::support::{Harness, assert_gone, cgroups_or_skip, ends, script, temp_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_over_the_limit_kills_the_environment() {
    if !cgroups_or_skip() {
        return;
    }
    let mut config = script("oom", ResourceMode::Cgroups);
    config.memory_mb = 128;
    config.timeout = Duration::from_secs(60);
    let h = Harness::start(config).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h
        .wait_for("the environment to end", |s| s.environments_alive == 0)
        .await;
    assert_eq!(stats.errors.oom, 1, "{:?}", stats.errors);
    assert_gone(&stats, 1, "oom");
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_past_its_timeout_kills_the_environment() {
    let mut config = script("sleep", ResourceMode::Auto);
    config.timeout = Duration::from_secs(1);
    config.env.push(("SLEEP_S".into(), "300".into()));
    let h = Harness::start(config).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h
        .wait_for("the environment to end", |s| s.environments_alive == 0)
        .await;
    assert_eq!(stats.errors.timeout, 1, "{:?}", stats.errors);
    assert_gone(&stats, 1, "timeout");
    // Billed up to the timeout, not beyond.
    assert!(
        (1000..=1001).contains(&stats.billing.billed_ms),
        "{:?}",
        stats.billing
    );
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_invocation_takes_the_whole_tree_down() {
    let mut modes = vec![ResourceMode::Signals];
    if cgroups_or_skip() {
        modes.push(ResourceMode::Cgroups);
    }
    for mode in modes {
        let (_dir, pid_file) = temp_file("child.pid");
        let mut config = script("crash", mode);
        config
            .env
            .push(("PID_FILE".into(), pid_file.display().to_string()));
        let h = Harness::start(config).await;
        assert_eq!(h.post("/x", "{}").await.status(), 502, "{mode:?}");
        let stats = h
            .wait_for("the environment to end", |s| s.environments_alive == 0)
            .await;
        assert_eq!(stats.errors.crash, 1, "{mode:?}: {:?}", stats.errors);
        assert_gone(&stats, 1, "crash");
        let child: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
        assert!(
            ends(child),
            "{mode:?}: the runtime's child {child} still runs"
        );
        h.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_never_asks_for_an_event_fails_its_init() {
    let mut config = script("never_next", ResourceMode::Auto);
    config.init_timeout = Duration::from_secs(2);
    let h = Harness::start(config).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h
        .wait_for("the environment to end", |s| s.environments_alive == 0)
        .await;
    assert_eq!((stats.errors.init, stats.invocations), (1, 0));
    assert_eq!(stats.cold_start_marks[0].init_ms, None);
    assert!(stats.billing.init_billed_ms >= 2000, "{:?}", stats.billing);
    assert_gone(&stats, 1, "init_timeout");
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_reporting_an_init_error_fails_its_init() {
    let h = Harness::start(script("init_error", ResourceMode::Auto)).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h
        .wait_for("the environment to end", |s| s.environments_alive == 0)
        .await;
    assert_eq!(stats.errors.init, 1);
    assert_gone(&stats, 1, "init_error");
    h.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_function_response_is_a_502_and_the_environment_stays() {
    let h = Harness::start(script("invalid", ResourceMode::Auto)).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    // The environment is busy until its runtime asks for the next event; the second
    // request then runs warm in it (a busy one rightly causes a second cold start).
    h.wait_for("the environment to be idle", |s| s.concurrency == 0)
        .await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h.stats();
    assert_eq!(stats.errors.invalid_response, 2);
    assert_eq!((stats.cold_starts, stats.invocations), (1, 2));
    assert_eq!(stats.environments_alive, 1);
    let stats = h.server.shutdown().await;
    assert_gone(&stats, 1, "shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_is_a_502_and_the_environment_stays() {
    let h = Harness::start(script("error", ResourceMode::Auto)).await;
    assert_eq!(h.post("/x", "{}").await.status(), 502);
    let stats = h.stats();
    assert_eq!(stats.errors.function, 1);
    assert_eq!(stats.environments_alive, 1);
    h.server.shutdown().await;
}
