//! A run that is stopped — Ctrl-C, a SUT that dies, a SUT that never gets ready — ends
//! with a distinct exit code, writes what it measured marked incomplete, and leaves no
//! process behind.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sim_support::{
    alive, binaries, descendants, read_results, run_in_process, scenario_file, with_marker,
};

/// Starts `tgbench run SCENARIO --out OUT` as a subprocess (stderr as given) and waits,
/// up to 30 s, until its SUT `polling` runs and has written to its log (messages are being
/// answered). Returns the child and its pid.
fn spawn_run_until_sut_serves(
    scenario: &std::path::Path,
    out: &std::path::Path,
    stderr: Stdio,
) -> (std::process::Child, u32) {
    let child = Command::new(binaries().join("tgbench"))
        .args(["run", scenario.to_str().unwrap(), "--no-progress", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let log = std::fs::read_to_string(out.join("logs/polling-rep0.log")).unwrap_or_default();
        if !descendants(pid).is_empty() && !log.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, pid)
}

#[test]
fn sigint_stops_the_run_writes_incomplete_results_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(
        dir.path(),
        "long",
        r#"name = "long"
duration_s = 60
warmup_s = 0
drain_s = 5
seed = 3

[telegram]
bots = 20
rtt_ms = 10

[load]
model = "constant"
messages_per_bot_per_min = 60

[[sut]]
name = "polling"
kind = "polling"
args = ["--poll-timeout", "20"]

[[sut]]
name = "never-started"
kind = "webhook"
"#,
    );
    let out = dir.path().join("out");
    let (mut child, pid) = spawn_run_until_sut_serves(&scenario, &out, Stdio::piped());
    std::thread::sleep(Duration::from_secs(2));
    let sut_tree = descendants(pid);
    assert!(!sut_tree.is_empty(), "the SUT should be running");
    assert!(sut_tree.iter().all(|&p| alive(p)));

    let t = Instant::now();
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "tgbench did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    for p in &sut_tree {
        assert!(
            !alive(*p),
            "process {p} of the SUT survived the interrupted run"
        );
    }
    let r = read_results(&out);
    assert!(!r.complete);
    assert!(
        r.incomplete_reason
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    assert_eq!(r.runs.len(), 1, "only the interrupted SUT ran");
    let run = &r.runs[0];
    assert_eq!(run.sut.name, "polling");
    assert!(!run.complete);
    assert!(
        run.incomplete_reason
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    assert!(run.updates.injected > 0, "{:?}", run.updates);
    assert!(
        run.duration_s > 1.0 && run.duration_s < 30.0,
        "{}",
        run.duration_s
    );
    // No temporary results file left next to results.json.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_sut_crash_ends_the_run_with_exit_3_and_incomplete_results() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(
        dir.path(),
        "crash",
        r#"name = "crash"
duration_s = 20
drain_s = 1

[telegram]
bots = 2

[load]
model = "constant"
messages_per_bot_per_min = 60

[[sut]]
name = "crasher"
kind = "command"
command = ["sh", "-c", "sleep 1.5; echo 'panic: out of luck' >&2; exit 7"]
ready = "none"
"#,
    );
    let out = dir.path().join("out");
    let t = Instant::now();
    let code = run_in_process(&scenario, &out);
    assert_eq!(code, 3);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the crash ends the run at once"
    );
    let r = read_results(&out);
    assert!(!r.complete);
    let reason = r.incomplete_reason.unwrap();
    assert!(
        reason.contains("SUT crasher exited (exit code 7)"),
        "{reason}"
    );
    assert!(reason.contains("panic: out of luck"), "{reason}");
    assert_eq!(r.runs.len(), 1);
    assert!(!r.runs[0].complete);
    // Injected before the crash, never answered (the SUT never talks to the mock): every
    // one lost, none hidden.
    let u = &r.runs[0].updates;
    assert!(u.injected > 0, "{u:?}");
    assert_eq!(u.replied, 0, "{u:?}");
    assert_eq!(u.lost, u.injected, "{u:?}");
}

#[test]
fn a_sut_that_never_gets_ready_fails_with_its_stderr_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let marker = "31.4159";
    let scenario = scenario_file(
        dir.path(),
        "notready",
        &format!(
            r#"name = "notready"
duration_s = 5

[telegram]
bots = 3

[[sut]]
name = "mute"
kind = "command"
command = ["sh", "-c", "echo 'cannot read TGBENCH_TOKENS_FILE' >&2; exec sleep {marker}"]
ready = "polling"
ready_timeout_s = 1
"#
        ),
    );
    let out = dir.path().join("out");
    let code = run_in_process(&scenario, &out);
    assert_eq!(code, 3);
    let r = read_results(&out);
    assert!(!r.complete);
    let reason = r.incomplete_reason.unwrap();
    assert!(
        reason.contains("SUT mute not ready after 1.") && reason.contains("0 of 3 bots polling"),
        "{reason}"
    );
    assert!(
        reason.contains("cannot read TGBENCH_TOKENS_FILE"),
        "{reason}"
    );
    assert!(r.runs.is_empty());
    assert!(with_marker(marker).is_empty(), "the SUT was left running");
}

/// Regression: a tgbench killed by SIGKILL runs no guard, yet its SUT must not outlive it
/// (the SUT is started under `setpriv --pdeathsig KILL`).
#[test]
fn sigkill_of_tgbench_takes_the_sut_with_it() {
    if !tgbench::sut::have_setpriv() {
        let why = "setpriv (util-linux) with --pdeathsig is not available";
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set, so {why} is a failure"
        );
        eprintln!("SKIPPED: {why} (set CI to make this fatal)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(
        dir.path(),
        "killed",
        r#"name = "killed"
duration_s = 60
warmup_s = 0
seed = 5

[telegram]
bots = 5

[load]
model = "constant"
messages_per_bot_per_min = 60

[[sut]]
name = "polling"
kind = "polling"
"#,
    );
    let out = dir.path().join("out");
    let (mut child, pid) = spawn_run_until_sut_serves(&scenario, &out, Stdio::null());
    let sut_tree = descendants(pid);
    assert!(!sut_tree.is_empty(), "the SUT should be running");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let t = Instant::now();
    while sut_tree.iter().any(|&p| alive(p)) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in &sut_tree {
        assert!(!alive(*p), "SUT process {p} outlived a SIGKILLed tgbench");
    }
}

/// `keep_going` (what `tgbench claims` runs with): a SUT that exits before it is ready is
/// recorded and the next SUT still runs; the run ends "SUT failed", its results naming the
/// SUT and why, and the failed SUT's processes are gone.
#[test]
fn keep_going_measures_the_next_sut_after_one_fails() {
    binaries();
    let dir = tempfile::tempdir().unwrap();
    let s = tgbench::scenario::parse(
        r#"name = "keepgoing"
duration_s = 2
warmup_s = 0
drain_s = 3

[telegram]
bots = 2
rtt_ms = 5

[load]
model = "constant"
messages_per_bot_per_min = 60

[[sut]]
name = "crashes"
kind = "command"
command = ["sh", "-c", "echo 'TimedOut: cannot start 2 bots' >&2; exit 1"]
ready = "polling"

[[sut]]
name = "polling"
kind = "polling"
"#,
        "keepgoing.toml",
    )
    .unwrap();
    let opts = tgbench::run::Options {
        out_dir: Some(dir.path().join("out")),
        progress: false,
        impls_dir: Some(binaries().to_path_buf()),
        keep_going: true,
        ..tgbench::run::Options::default()
    };
    let outcome = tgbench::run::run_scenario(&s, &opts).unwrap();
    assert!(
        matches!(&outcome.status, tgbench::run::Status::SutFailed(why) if why.contains("TimedOut")),
        "{:?}",
        outcome.status
    );
    let r = read_results(&dir.path().join("out"));
    assert!(!r.complete);
    let reason = r.incomplete_reason.unwrap();
    assert!(reason.starts_with("SUTs failed: crashes: "), "{reason}");
    let names: Vec<&str> = r.runs.iter().map(|x| x.sut.name.as_str()).collect();
    assert_eq!(names, ["polling"], "the next SUT ran");
    let u = &r.runs[0].updates;
    assert!(u.injected > 0 && u.replied == u.injected, "{u:?}");
}
