//! The system under test as a process: started with the SUT environment contract
//! (`TGBENCH_API_URL`, `TGBENCH_TOKENS_FILE`, `TGBENCH_LISTEN`, `TGBENCH_PUBLIC_URL`) in a
//! process group of its own, optionally pinned to CPUs, waited on until ready, and stopped
//! with SIGTERM then SIGKILL to the whole group. [`SutProcess`] is a guard: dropping it
//! kills the group, so nothing is left behind even on an early return or a panic.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use crate::scenario::{Kind, Scenario, Sut};

/// Lines of the SUT's stderr kept for failure messages.
pub const TAIL_LINES: usize = 20;

/// Why a SUT could not be started, became not ready, or died.
#[derive(Debug, thiserror::Error)]
pub enum SutError {
    #[error(
        "SUT {sut}: reference binary {} not found; build them with `cargo build --release -p tgbench-impls` \
         (or set TGBENCH_IMPLS_DIR to the folder holding polling-bot, webhook-bot and hybrid-bot)",
        path.display()
    )]
    MissingBinary { sut: String, path: PathBuf },
    #[error("SUT {sut}: cannot start {program}: {source}")]
    Spawn {
        sut: String,
        program: String,
        source: std::io::Error,
    },
    #[error("SUT {sut}: cannot prepare its environment: {source}")]
    Prepare { sut: String, source: std::io::Error },
    #[error("SUT {sut} exited ({status}) before it was ready{}", tail_text(tail))]
    ExitedEarly {
        sut: String,
        status: String,
        tail: Vec<String>,
    },
    #[error(
        "SUT {sut} not ready after {waited_s:.1} s (ready = \"{ready}\": {state}); raise ready_timeout_s if it is just slow{}",
        tail_text(tail)
    )]
    NotReady {
        sut: String,
        ready: String,
        waited_s: f64,
        state: String,
        tail: Vec<String>,
    },
    #[error("interrupted while waiting for SUT {sut} to be ready")]
    Interrupted { sut: String },
}

fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() {
        "; it wrote nothing to stderr".to_string()
    } else {
        format!("; last lines of its stderr:\n    {}", tail.join("\n    "))
    }
}

/// Where the reference binaries (`polling-bot`, `webhook-bot`, `hybrid-bot`) are:
/// `$TGBENCH_IMPLS_DIR`, else next to the running executable (and, for test binaries in
/// `target/<profile>/deps`, one folder up).
pub fn impls_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TGBENCH_IMPLS_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps")
        && let Some(up) = dir.parent()
    {
        return up.to_path_buf();
    }
    dir
}

/// When tgbench was started by `cargo run` (cargo sets `CARGO` and `CARGO_MANIFEST_DIR`)
/// and a reference binary the scenario needs is missing from `impls`, builds them with
/// the same cargo and profile, so `cargo run --release --bin tgbench -- claims` works on
/// a fresh checkout. Otherwise does nothing: [`command_line`] then names what is missing.
pub fn build_reference_binaries_if_missing(scn: &Scenario, impls: &Path) {
    let missing = scn
        .suts
        .iter()
        .filter_map(|s| s.kind.reference_binary())
        .any(|bin| !impls.join(bin).is_file());
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return;
    };
    if !missing {
        return;
    }
    let release = impls.file_name().is_some_and(|n| n != "debug");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "tgbench-impls", "--bins"])
        .current_dir(manifest_dir);
    if release {
        cmd.arg("--release");
    }
    eprintln!(
        "tgbench: building the reference servers once (cargo build{} -p tgbench-impls)",
        if release { " --release" } else { "" }
    );
    match cmd.status() {
        Ok(st) if st.success() => {}
        Ok(st) => eprintln!("tgbench: building the reference servers failed ({st})"),
        Err(e) => eprintln!("tgbench: cannot run cargo to build the reference servers: {e}"),
    }
}

/// The program and arguments a SUT entry starts (before any pinning).
pub fn command_line(sut: &Sut, impls: &Path) -> Result<Vec<String>, SutError> {
    match sut.kind.reference_binary() {
        Some(bin) => {
            let path = impls.join(bin);
            if !path.is_file() {
                return Err(SutError::MissingBinary {
                    sut: sut.name.clone(),
                    path,
                });
            }
            let mut cmd = vec![path.to_string_lossy().into_owned()];
            cmd.extend(sut.args.iter().cloned());
            Ok(cmd)
        }
        None => {
            let mut cmd = sut.command.clone().unwrap_or_default();
            cmd.extend(sut.args.iter().cloned());
            Ok(cmd)
        }
    }
}

/// The SUT environment contract, and the temporary folder holding the tokens file.
pub struct SutEnv {
    pub api_url: String,
    pub tokens_file: PathBuf,
    pub listen: SocketAddr,
    pub public_url: String,
    _dir: tempfile::TempDir,
}

impl SutEnv {
    /// Writes the tokens (one a line) and picks a free loopback port for TGBENCH_LISTEN.
    pub fn prepare(api_url: &str, tokens: &[String]) -> std::io::Result<SutEnv> {
        let dir = tempfile::Builder::new().prefix("tgbench-sut-").tempdir()?;
        let tokens_file = dir.path().join("tokens.txt");
        let mut f = std::fs::File::create(&tokens_file)?;
        for t in tokens {
            writeln!(f, "{t}")?;
        }
        f.sync_all()?;
        let listen = free_loopback_port()?;
        Ok(SutEnv {
            api_url: api_url.to_string(),
            tokens_file,
            listen,
            public_url: format!("http://{listen}"),
            _dir: dir,
        })
    }

    /// The four TGBENCH_* variables.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("TGBENCH_API_URL".into(), self.api_url.clone()),
            (
                "TGBENCH_TOKENS_FILE".into(),
                self.tokens_file.to_string_lossy().into_owned(),
            ),
            ("TGBENCH_LISTEN".into(), self.listen.to_string()),
            ("TGBENCH_PUBLIC_URL".into(), self.public_url.clone()),
        ]
    }
}

/// A loopback port free right now (bound, read, released).
pub fn free_loopback_port() -> std::io::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

/// What to start.
pub struct Launch<'a> {
    pub name: &'a str,
    pub kind: Kind,
    /// Program and arguments.
    pub command: Vec<String>,
    pub env: &'a BTreeMap<String, String>,
    pub contract: &'a SutEnv,
    /// Pin to these CPUs with `taskset -c` (None: not pinned).
    pub cpus: Option<&'a [usize]>,
    /// Copy of everything the SUT writes (stdout and stderr), if given.
    pub log: Option<&'a Path>,
}

/// A running SUT. Dropping it kills its whole process group.
pub struct SutProcess {
    name: String,
    child: Child,
    pgid: Pid,
    /// The command line actually started (with `taskset` when pinned).
    pub command: Vec<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
    stopped: bool,
}

impl SutProcess {
    /// Starts the SUT in a new process group with the environment contract.
    pub fn start(l: Launch<'_>) -> Result<SutProcess, SutError> {
        let mut command = l.command.clone();
        if let Some(cpus) = l.cpus {
            let list: Vec<String> = cpus.iter().map(|c| c.to_string()).collect();
            let mut pinned = vec!["taskset".to_string(), "-c".to_string(), list.join(",")];
            pinned.append(&mut command);
            command = pinned;
        }
        // If tgbench itself dies (even by SIGKILL, which no handler sees), the kernel kills
        // the SUT: `setpriv --pdeathsig` sets PR_SET_PDEATHSIG and execs the command (same
        // pid), which needs no unsafe `pre_exec` here. Without setpriv, only a tgbench that
        // lives to run its guards stops the SUT.
        if have_setpriv() {
            let mut guarded: Vec<String> = ["setpriv", "--pdeathsig", "KILL", "--"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            guarded.append(&mut command);
            command = guarded;
        }
        let (program, args) = command.split_first().ok_or_else(|| SutError::Spawn {
            sut: l.name.to_string(),
            program: String::new(),
            source: std::io::Error::other("empty command"),
        })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(l.env)
            .envs(l.contract.vars())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|source| SutError::Spawn {
            sut: l.name.to_string(),
            program: program.clone(),
            source,
        })?;
        let pgid = Pid::from_raw(child.id() as i32);
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let log = l.log.and_then(|p| {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::File::create(p)
                .ok()
                .map(|f| Arc::new(Mutex::new(f)))
        });
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, None, log.clone(), "out");
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, Some(tail.clone()), log, "err");
        }
        Ok(SutProcess {
            name: l.name.to_string(),
            child,
            pgid,
            command,
            tail,
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the SUT has exited, without reaping it (so its process group
    /// id stays reserved until [`SutProcess::stop`] kills the rest of the group).
    pub fn exited(&self) -> Option<String> {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pgid), flags) {
            Ok(WaitStatus::Exited(_, code)) => Some(format!("exit code {code}")),
            Ok(WaitStatus::Signaled(_, sig, _)) => Some(format!("killed by {sig}")),
            Ok(_) => None,
            // Already reaped (stop() ran) or not our child any more.
            Err(_) => self.stopped.then(|| "stopped".to_string()),
        }
    }

    /// The last lines the SUT wrote to stderr.
    pub fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// SIGTERM (`kill = false`) or SIGKILL to the whole group, without waiting (faults).
    pub fn signal(&self, kill: bool) {
        if !self.stopped {
            let sig = if kill {
                Signal::SIGKILL
            } else {
                Signal::SIGTERM
            };
            let _ = killpg(self.pgid, sig);
        }
    }

    /// SIGTERM to the group, up to `grace` to exit, then SIGKILL to the group; reaps.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.stopped {
            return None;
        }
        let _ = killpg(self.pgid, Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_group()
    }

    fn kill_group(&mut self) -> Option<ExitStatus> {
        // The leader is not reaped yet, so the group id cannot have been reused.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let status = self.child.wait().ok();
        self.stopped = true;
        status
    }
}

impl Drop for SutProcess {
    fn drop(&mut self) {
        if !self.stopped {
            self.kill_group();
        }
    }
}

fn spawn_reader(
    stream: impl std::io::Read + Send + 'static,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
    log: Option<Arc<Mutex<std::fs::File>>>,
    label: &'static str,
) {
    std::thread::Builder::new()
        .name(format!("sut-std{label}"))
        .spawn(move || {
            let reader = BufReader::new(stream);
            for line in reader.split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                if let Some(log) = &log
                    && let Ok(mut f) = log.lock()
                {
                    let _ = writeln!(f, "[{label}] {line}");
                }
                if let Some(tail) = &tail
                    && let Ok(mut t) = tail.lock()
                {
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            }
        })
        .expect("spawning a reader thread");
}

/// Readiness as the probe sees it right now.
pub enum Probe {
    Ready,
    /// Not yet: what is missing, e.g. "37 of 100 bots polling".
    Waiting(String),
}

/// Waits until `probe` says ready, the SUT exits, `timeout` passes or `cancel` is set.
/// Returns how long it took.
pub fn wait_ready(
    sut: &SutProcess,
    ready: &str,
    timeout: Duration,
    cancel: &AtomicBool,
    mut probe: impl FnMut() -> Probe,
    mut progress: impl FnMut(&str),
) -> Result<Duration, SutError> {
    let start = Instant::now();
    loop {
        if let Some(status) = sut.exited() {
            // Give the reader threads a moment to collect the last lines.
            std::thread::sleep(Duration::from_millis(100));
            return Err(SutError::ExitedEarly {
                sut: sut.name.clone(),
                status,
                tail: sut.tail(),
            });
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(SutError::Interrupted {
                sut: sut.name.clone(),
            });
        }
        let state = match probe() {
            Probe::Ready => return Ok(start.elapsed()),
            Probe::Waiting(s) => {
                progress(&s);
                s
            }
        };
        if start.elapsed() >= timeout {
            return Err(SutError::NotReady {
                sut: sut.name.clone(),
                ready: ready.to_string(),
                waited_s: start.elapsed().as_secs_f64(),
                state,
                tail: sut.tail(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CPU placement of SUT and harness.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// CPUs for the SUT (None: not pinned).
    pub sut: Option<Vec<usize>>,
    /// CPUs for the harness (None: not pinned).
    pub harness: Option<Vec<usize>>,
    /// Said in results: "SUT on CPU 1, harness on CPU 0", "not pinned: 1 core".
    pub note: String,
}

/// Where SUT and harness go, given the SUT's `cpus` and the machine's core count: the SUT
/// on its CPUs and the harness on the others, when there are at least two cores, every
/// requested CPU exists and at least one is left for the harness.
pub fn placement(cpus: Option<&[usize]>, cores: usize, taskset: bool) -> Placement {
    let plural = |v: &[usize]| {
        let list: Vec<String> = v.iter().map(|c| c.to_string()).collect();
        format!(
            "CPU{} {}",
            if v.len() > 1 { "s" } else { "" },
            list.join(",")
        )
    };
    let Some(cpus) = cpus else {
        return Placement {
            sut: None,
            harness: None,
            note: "not pinned: no cpus given".into(),
        };
    };
    if cores < 2 {
        return Placement {
            sut: None,
            harness: None,
            note: format!("not pinned: {cores} core"),
        };
    }
    if let Some(bad) = cpus.iter().find(|&&c| c >= cores) {
        return Placement {
            sut: None,
            harness: None,
            note: format!("not pinned: CPU {bad} does not exist ({cores} cores)"),
        };
    }
    if !taskset {
        return Placement {
            sut: None,
            harness: None,
            note: "not pinned: taskset not found".into(),
        };
    }
    let rest: Vec<usize> = (0..cores).filter(|c| !cpus.contains(c)).collect();
    if rest.is_empty() {
        return Placement {
            sut: Some(cpus.to_vec()),
            harness: None,
            note: format!("SUT on {}, harness not pinned (no core left)", plural(cpus)),
        };
    }
    Placement {
        note: format!("SUT on {}, harness on {}", plural(cpus), plural(&rest)),
        sut: Some(cpus.to_vec()),
        harness: Some(rest),
    }
}

/// Whether `setpriv` (util-linux) with `--pdeathsig` can be run; asked once.
pub fn have_setpriv() -> bool {
    static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAVE.get_or_init(|| {
        Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Whether `taskset` can be run.
pub fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pins the calling thread (and so every thread it starts afterwards) to `cpus`.
/// Returns the previous set, to restore with [`restore_affinity`].
pub fn pin_current_thread(cpus: &[usize]) -> Option<nix::sched::CpuSet> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    let me = Pid::from_raw(0);
    let before = sched_getaffinity(me).ok()?;
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).ok()?;
    }
    sched_setaffinity(me, &set).ok()?;
    Some(before)
}

/// Puts the calling thread back on the CPUs it had.
pub fn restore_affinity(before: &nix::sched::CpuSet) {
    let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), before);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch_sh<'a>(
        script: &str,
        env: &'a BTreeMap<String, String>,
        contract: &'a SutEnv,
    ) -> Launch<'a> {
        Launch {
            name: "sh",
            kind: Kind::Command,
            command: vec!["sh".into(), "-c".into(), script.into()],
            env,
            contract,
            cpus: None,
            log: None,
        }
    }

    fn alive(pid: i32) -> bool {
        // A zombie is not alive; /proc/PID/stat field 3 is the state.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
                !after.trim_start().starts_with('Z')
            })
            .unwrap_or(false)
    }

    #[test]
    fn contract_env_reaches_the_sut() {
        let contract =
            SutEnv::prepare("http://127.0.0.1:9", &["1:a".into(), "2:b".into()]).unwrap();
        let env = BTreeMap::from([("EXTRA".to_string(), "x".to_string())]);
        let mut p = SutProcess::start(launch_sh(
            "echo \"$TGBENCH_API_URL|$TGBENCH_LISTEN|$TGBENCH_PUBLIC_URL|$EXTRA\" >&2; cat \"$TGBENCH_TOKENS_FILE\" >&2",
            &env,
            &contract,
        ))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        let tail = p.tail();
        let l = contract.listen;
        assert_eq!(
            tail,
            vec![
                format!("http://127.0.0.1:9|{l}|http://{l}|x"),
                "1:a".into(),
                "2:b".into()
            ]
        );
        assert_eq!(p.exited().as_deref(), Some("exit code 0"));
        p.stop(Duration::from_millis(10));
    }

    #[test]
    fn stop_kills_the_whole_group_even_when_sigterm_is_ignored() {
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        // The parent ignores TERM, and so does its background child.
        let mut p = SutProcess::start(launch_sh(
            "trap '' TERM; sleep 60 & echo $! >&2; wait",
            &env,
            &contract,
        ))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.tail().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let child: i32 = p.tail()[0].parse().unwrap();
        let leader = p.pid() as i32;
        assert!(alive(child) && alive(leader));
        let t = Instant::now();
        p.stop(Duration::from_millis(300));
        assert!(t.elapsed() >= Duration::from_millis(250));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!alive(child), "grandchild {child} survived");
        assert!(!alive(leader));
    }

    #[test]
    fn drop_kills_the_group() {
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        let p =
            SutProcess::start(launch_sh("sleep 60 & echo $! >&2; wait", &env, &contract)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.tail().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let child: i32 = p.tail()[0].parse().unwrap();
        drop(p);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!alive(child));
    }

    #[test]
    fn exit_before_ready_reports_stderr_tail() {
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        let p = SutProcess::start(launch_sh(
            "for i in $(seq 1 30); do echo line $i >&2; done; exit 3",
            &env,
            &contract,
        ))
        .unwrap();
        let cancel = AtomicBool::new(false);
        let e = wait_ready(
            &p,
            "polling",
            Duration::from_secs(5),
            &cancel,
            || Probe::Waiting("0 of 1 bots polling".into()),
            |_| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("SUT sh exited (exit code 3) before it was ready"),
            "{msg}"
        );
        assert!(
            msg.contains("line 11\n") && msg.ends_with("line 30"),
            "{msg}"
        );
        assert!(!msg.contains("line 10\n"), "{msg}");
    }

    #[test]
    fn not_ready_in_time_says_what_was_missing() {
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        let mut p =
            SutProcess::start(launch_sh("echo starting >&2; sleep 60", &env, &contract)).unwrap();
        let cancel = AtomicBool::new(false);
        let e = wait_ready(
            &p,
            "webhook",
            Duration::from_millis(300),
            &cancel,
            || Probe::Waiting("3 of 10 webhooks set".into()),
            |_| {},
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("not ready after 0.3 s (ready = \"webhook\": 3 of 10 webhooks set)"),
            "{msg}"
        );
        assert!(msg.ends_with("starting"), "{msg}");
        p.stop(Duration::from_secs(1));
    }

    #[test]
    fn missing_reference_binary_says_how_to_build_it() {
        let sut: Sut = toml::from_str("name = \"p\"\nkind = \"polling\"").unwrap();
        let e = command_line(&sut, Path::new("/nonexistent")).unwrap_err();
        assert!(
            e.to_string()
                .contains("build them with `cargo build --release -p tgbench-impls`")
        );
    }

    #[test]
    fn placement_rules() {
        let p = placement(Some(&[1]), 2, true);
        assert_eq!(p.sut, Some(vec![1]));
        assert_eq!(p.harness, Some(vec![0]));
        assert_eq!(p.note, "SUT on CPU 1, harness on CPU 0");
        assert_eq!(placement(Some(&[1]), 1, true).note, "not pinned: 1 core");
        assert_eq!(placement(Some(&[3]), 2, true).sut, None);
        assert_eq!(placement(None, 2, true).sut, None);
        let all = placement(Some(&[0, 1]), 2, true);
        assert_eq!(all.harness, None);
        assert_eq!(placement(Some(&[1]), 2, false).sut, None);
    }

    #[test]
    fn pinned_sut_runs_on_its_cpu() {
        if std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            < 2
            || !have_taskset()
        {
            return;
        }
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        let mut l = launch_sh(
            "grep Cpus_allowed_list /proc/self/status >&2",
            &env,
            &contract,
        );
        let cpus = [1usize];
        l.cpus = Some(&cpus);
        let mut p = SutProcess::start(l).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(p.tail(), vec!["Cpus_allowed_list:\t1".to_string()]);
        let at = usize::from(have_setpriv()) * 4;
        assert_eq!(p.command[at..at + 3], ["taskset", "-c", "1"]);
        p.stop(Duration::from_millis(10));
    }
}
