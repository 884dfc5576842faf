//! Shared by the tests: a platform served on loopback, the test runtime (`functions/
//! runtime.py`), waiting for a condition with a far deadline, and checks that nothing is
//! left running.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mock_lambda::{FunctionConfig, LambdaServer, Logs, Platform, ResourceMode, Stats};
use tokio::net::TcpListener;

/// Far from any outcome a test waits for, so a loaded machine does not fail it.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Whether this machine gives the platform control groups; outside CI a machine without
/// them prints SKIPPED for the tests that need them, under `CI=true` they fail.
pub fn cgroups_or_skip() -> bool {
    match tgbench_cgroup::Cgroups::detect() {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {e}");
            false
        }
        Err(e) => panic!("CI has cgroups: {e}"),
    }
}

/// The Python interpreter itself, not a wrapper (a pyenv shim costs a few processes per
/// start, which 0.07 vCPU turns into seconds).
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("python3 runs");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// The test runtime in `mode` (see the script's doc), with `resources`, at 512 MB (0.29
/// vCPU).
pub fn script(mode: &str, resources: ResourceMode) -> FunctionConfig {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/functions");
    let mut config = FunctionConfig::new(python());
    config.memory_mb = 512;
    config.args = vec![dir.join("runtime.py").display().to_string()];
    config.task_root = Some(dir);
    config.env.push(("MODE".into(), mode.into()));
    config.resources = resources;
    config.logs = Logs::Inherit;
    config.series_period = Duration::from_millis(100);
    config
}

/// A platform served on `127.0.0.1:0`, and a client for it.
pub struct Harness {
    pub server: LambdaServer,
    pub client: reqwest::Client,
}

impl Harness {
    pub async fn start(config: FunctionConfig) -> Self {
        let platform = Platform::start(config).expect("the platform starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self {
            server: LambdaServer::start(platform, listener),
            client: reqwest::Client::new(),
        }
    }

    pub fn platform(&self) -> &std::sync::Arc<Platform> {
        self.server.platform()
    }

    pub fn stats(&self) -> Stats {
        self.platform().stats()
    }

    /// POSTs `body` to the function URL at `path`.
    pub async fn post(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.server.url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the front door answers")
    }

    /// Polls the stats until `done` holds; panics with `what` after [`DEADLINE`].
    pub async fn wait_for(&self, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
        let start = Instant::now();
        loop {
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}: {stats:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether `pid` has ended, waiting up to [`DEADLINE`] for it: a SIGKILLed process dies
/// when the kernel next schedules it, which on a loaded machine is not at once. (The
/// processes these tests check would otherwise live for minutes.)
pub fn ends(pid: u32) -> bool {
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > DEADLINE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Whether `pid` runs (a zombie does not count).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// CPU time of `pid` from `/proc` (utime + stime), in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process exists");
    let (_, rest) = stat.rsplit_once(") ").unwrap();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Checks that environment `id` ended for `reason` and left nothing: its process gone and
/// its control group removed.
pub fn assert_gone(stats: &Stats, id: u64, reason: &str) {
    let env = stats
        .environments
        .iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no environment {id}: {stats:#?}"));
    assert_eq!(env.state, "ended", "{env:#?}");
    assert_eq!(env.end_reason.as_deref(), Some(reason), "{env:#?}");
    let pid = env.pid.expect("the runtime had a pid");
    assert!(ends(pid), "the runtime {pid} still runs");
    if let Some(group) = &env.cgroup {
        assert!(!Path::new(group).exists(), "{group} was left behind");
    }
}

/// A file in a fresh temporary folder (kept alive by the returned guard).
pub fn temp_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}
