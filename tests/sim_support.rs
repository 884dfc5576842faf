//! Helpers for the simulator's end-to-end tests: the `tgbench` and reference bot binaries
//! (built once per test binary, next to this test executable's profile), temporary scenario
//! files, reading results, and the processes a run leaves (it must leave none).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tgbench_reports::results::Results;

/// `target/<profile>`: the folder holding this test binary's `deps/`.
/// The repository's root (the root test crate's manifest folder).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("executable folder");
    deps.parent().expect("profile folder").to_path_buf()
}

/// `cargo build --quiet ARGS` in this test executable's profile (`--release` too when it
/// is the release one); panics naming `what` when the build fails. Returns the profile
/// folder, where the binaries are.
fn cargo_build(what: &str, args: &[&str]) -> PathBuf {
    let dir = profile_dir();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("running cargo build for the binaries");
    assert!(status.success(), "cargo build of {what} failed");
    dir
}

/// Builds `tgbench`, the reference bots (`polling-bot`, `webhook-bot`, `hybrid-bot`), the
/// emulated Lambda (`mock-lambda`) and the reference function (`webhook-lambda`) in this
/// profile once, and returns the folder holding them. Cargo does not build other
/// packages' binaries for a test, so the test asks for them.
pub fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = cargo_build(
            "tgbench, tgbench-impls, mock-lambda and tgbench-webhook-lambda",
            &[
                "-p",
                "tgbench",
                "-p",
                "tgbench-impls",
                "-p",
                "mock-lambda",
                "-p",
                "tgbench-webhook-lambda",
                "--bins",
            ],
        );
        for bin in [
            "tgbench",
            "polling-bot",
            "webhook-bot",
            "hybrid-bot",
            "mock-lambda",
            "webhook-lambda",
        ] {
            assert!(dir.join(bin).is_file(), "{} missing after the build", bin);
        }
        dir
    })
}

/// Runs the built `tgbench` with `args` to its end; returns (exit code, stdout, stderr).
pub fn tgbench(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(binaries().join("tgbench"))
        .args(args)
        .output()
        .expect("running tgbench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The standalone `mock-telegram` binary, built once in this profile.
pub fn mock_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        cargo_build(
            "mock-telegram",
            &["-p", "mock-telegram", "--bin", "mock-telegram"],
        )
        .join("mock-telegram")
    })
}

/// Writes `text` as `<dir>/<name>.toml`.
pub fn scenario_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("writing a scenario file");
    path
}

/// `tgbench run SCENARIO --no-progress --out OUT` in this process; its exit code.
pub fn run_in_process(scenario: &Path, out: &Path) -> u8 {
    tgbench::run_cli(<tgbench::Cli as clap::Parser>::parse_from([
        "tgbench",
        "run",
        scenario.to_str().unwrap(),
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]))
}

/// Reads `<dir>/results.json`.
pub fn read_results(dir: &Path) -> Results {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json exists");
    Results::from_json(&text).expect("results.json parses")
}

/// Live processes whose environment holds `<var>=<mark>`: one test's SUT processes (other
/// tests run the same binaries at the same time), found however they were reparented.
pub fn marked(var: &str, mark: &str) -> Vec<u32> {
    let needle = format!("{var}={mark}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Every process descending from `root` (not including it), from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(ppid) = stat_field(pid, 1).and_then(|s| s.parse::<u32>().ok()) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &parent_of {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// Field `i` (0-based, counted after the command name) of /proc/PID/stat: 0 = state,
/// 1 = ppid, 11 = utime, 12 = stime.
pub fn stat_field(pid: u32, i: usize) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = s.rsplit_once(')')?.1;
    after.split_whitespace().nth(i).map(str::to_string)
}

/// CPU seconds (utime + stime, at 100 ticks a second) and RSS in MiB of one process, as the
/// kernel counts them (/proc/PID/stat and /proc/PID/status).
pub fn kernel_cpu_s_and_rss_mb(pid: u32) -> (f64, f64) {
    let tick = |i| {
        stat_field(pid, i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("/proc/{pid}/stat field {i}"))
    };
    let cpu_s = (tick(11) + tick(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"));
    (cpu_s, kb / 1024.0)
}

/// Writes `text` as a scenario file and runs it through the library (reference binaries
/// from [`binaries`], results under `<dir>/out`); asserts it ended well and returns its
/// results.
pub fn run_scenario_text(dir: &Path, name: &str, text: &str) -> Results {
    let path = scenario_file(dir, name, text);
    let s = tgbench::scenario::load(path.to_str().unwrap()).unwrap();
    let opts = tgbench::run::Options {
        out_dir: Some(dir.join("out")),
        progress: false,
        impls_dir: Some(binaries().to_path_buf()),
        ..tgbench::run::Options::default()
    };
    let outcome = tgbench::run::run_scenario(&s, &opts).expect("the run starts");
    assert_eq!(
        outcome.status,
        tgbench::run::Status::Ok,
        "{:?}",
        outcome.results.incomplete_reason
    );
    outcome.results
}

/// A Prometheus configuration scraping `target` every second as job `job`, written to
/// `<dir>/prometheus.yml`.
pub fn prometheus_config(dir: &Path, job: &str, target: &str) -> PathBuf {
    let path = dir.join("prometheus.yml");
    let text = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: {job}\n    \
         static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(&path, text).expect("writing prometheus.yml");
    path
}

/// Processes a test started, killed and reaped when it ends (however it ends).
pub struct Reaped(pub Vec<std::process::Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    stat_field(pid, 0).is_some_and(|state| state != "Z" && state != "X")
}

/// Asserts that `message` refuses a million polling bots with the limit of this machine
/// that comes first, and its fix; returns the limit as preflight's short form names it.
/// The open-files limit comes first unless it is above ~1,000,064 (some hosts allow
/// 1,048,576); then the ephemeral ports do, which are never more than 64,512.
pub fn assert_refused_by_a_machine_limit(message: &str) -> &'static str {
    let (limit, setting) = if message.contains("open files") {
        ("open files", "ulimit -n")
    } else if message.contains("ephemeral ports") {
        ("ephemeral ports", "net.ipv4.ip_local_port_range")
    } else {
        panic!("no open-files or ephemeral-ports limit named: {message}");
    };
    assert!(message.contains(setting), "{limit}: {message}");
    assert!(
        message.contains("Lower [telegram] bots to ≤"),
        "{limit}: {message}"
    );
    limit
}

/// Processes whose command line contains `marker`.
pub fn with_marker(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) && alive(pid) {
            out.push(pid);
        }
    }
    out
}
