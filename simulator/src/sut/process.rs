//! A SUT as a process: started with the environment contract in a process group of its
//! own (optionally pinned with `taskset`, optionally inside its CPU budget's control group, and under `setpriv --pdeathsig KILL` so it dies
//! with tgbench), its output copied to a log with the last lines of stderr kept, and
//! stopped with SIGTERM then SIGKILL to the whole group. [`SutProcess`] is a guard:
//! dropping it kills the group, so nothing is left behind even on an early return or a
//! panic.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use super::SutError;
use super::budget::CpuBudget;
use super::env::SutEnv;

/// Lines of the SUT's stderr kept for failure messages.
pub const TAIL_LINES: usize = 20;

/// What to start.
pub struct Launch<'a> {
    pub name: &'a str,
    /// Program and arguments.
    pub command: Vec<String>,
    pub env: &'a BTreeMap<String, String>,
    pub contract: &'a SutEnv,
    /// Pin to these CPUs with `taskset -c` (None: not pinned).
    pub cpus: Option<&'a [usize]>,
    /// Copy of everything the SUT writes (stdout and stderr), if given.
    pub log: Option<&'a Path>,
    /// The CPU budget to start it in (None: no budget).
    pub budget: Option<&'a CpuBudget>,
}

/// How a SUT process ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// "exit code 3", "killed by SIGKILL".
    pub status: String,
    /// The last lines it wrote to stderr (at most [`TAIL_LINES`]).
    pub tail: Vec<String>,
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
        if let Some(budget) = l.budget {
            command = budget.launcher(&command);
        }
        // If tgbench itself dies (even by SIGKILL, which no handler sees), the kernel kills
        // the SUT: `setpriv --pdeathsig` sets PR_SET_PDEATHSIG and execs the command (same
        // pid), which needs no unsafe `pre_exec` here. Without setpriv, only a tgbench that
        // lives to run its guards stops the SUT.
        if !have_setpriv() {
            warn_no_setpriv();
        } else {
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

    /// How the SUT ended, if it has: its status and the last lines of its stderr (after
    /// a moment for the reader threads to collect them).
    pub fn exit(&self) -> Option<Exit> {
        let status = self.exited()?;
        std::thread::sleep(Duration::from_millis(100));
        Some(Exit {
            status,
            tail: self.tail(),
        })
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

/// Says once, on stderr, that a SIGKILLed tgbench could leave its SUTs running.
fn warn_no_setpriv() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!(
            "warning: setpriv (util-linux) with --pdeathsig is not available: if tgbench is \
             killed by SIGKILL its SUT keeps running (Ctrl-C and errors still stop it). \
             Install util-linux (Debian: apt-get install util-linux) to close that gap."
        )
    });
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
            command: vec!["sh".into(), "-c".into(), script.into()],
            env,
            contract,
            cpus: None,
            log: None,
            budget: None,
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

    /// Waits (up to 5 s) until `p` has exited; how it ended.
    fn finished(p: &SutProcess) -> Exit {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match p.exit() {
                Some(exit) => return exit,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                None => panic!("still running after 5 s"),
            }
        }
    }

    /// Waits (up to 5 s) for the first line `p` writes to stderr: here, a child's pid.
    fn first_line_pid(p: &SutProcess) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.tail().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        p.tail()[0].parse().unwrap()
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
        let exit = finished(&p);
        let l = contract.listen;
        assert_eq!(
            exit.tail,
            vec![
                format!("http://127.0.0.1:9|{l}|http://{l}|x"),
                "1:a".into(),
                "2:b".into()
            ]
        );
        assert_eq!(exit.status, "exit code 0");
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
        let child = first_line_pid(&p);
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
        let child = first_line_pid(&p);
        drop(p);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!alive(child));
    }

    #[test]
    fn pinned_sut_runs_on_its_cpu() {
        if std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            < 2
            || !crate::placement::have_taskset()
        {
            let why = "needs 2 cores and taskset (util-linux)";
            assert!(std::env::var_os("CI").is_none(), "CI is set: {why}");
            eprintln!("SKIPPED pinned_sut_runs_on_its_cpu: {why} (set CI to make this fatal)");
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
        assert_eq!(finished(&p).tail, ["Cpus_allowed_list:\t1"]);
        let at = usize::from(have_setpriv()) * 4;
        assert_eq!(p.command[at..at + 3], ["taskset", "-c", "1"]);
        p.stop(Duration::from_millis(10));
    }

    /// `cpu_quota = 0.25`: a busy loop started in its budget is in the budget's group from
    /// the start (its first pid and a child it forks), the kernel holds the quota that was
    /// asked, and over two seconds the loop gets about a quarter of a core (unlimited it
    /// would take a whole one): bounded at 0.6 core, far from either outcome.
    #[test]
    fn a_sut_with_a_cpu_quota_runs_in_its_group_held_to_it() {
        let budget = match CpuBudget::new("busy", 0.25) {
            Ok(b) => b,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED a_sut_with_a_cpu_quota_runs_in_its_group_held_to_it: {e}");
                return;
            }
            Err(e) => panic!("CI has cgroups: {e}"),
        };
        let record = budget.record();
        assert_eq!(record.cores, 0.25);
        assert!(
            record
                .mechanism
                .ends_with("cpu.cfs_quota_us = 25000, cpu.cfs_period_us = 100000")
                || record.mechanism.ends_with("cpu.max = 25000 100000"),
            "{}",
            record.mechanism
        );
        let contract = SutEnv::prepare("http://127.0.0.1:9", &[]).unwrap();
        let env = BTreeMap::new();
        let mut l = launch_sh("while :; do :; done & echo $! >&2; wait", &env, &contract);
        l.budget = Some(&budget);
        let mut p = SutProcess::start(l).unwrap();
        let child = first_line_pid(&p);
        let procs = budget.group().processes().unwrap();
        assert!(
            procs.contains(&(p.pid() as i32)) && procs.contains(&child),
            "pid {} and its child {child} not both in the group: {procs:?}",
            p.pid()
        );
        let from = budget.group().cpu_usage().unwrap();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let used = budget.group().cpu_usage().unwrap() - from;
        let cores = used.as_secs_f64() / t0.elapsed().as_secs_f64();
        assert!(cores < 0.6, "held to 0.25 core, used {cores:.2}");
        assert!(cores > 0.0);
        p.stop(Duration::from_millis(10));
    }
}
