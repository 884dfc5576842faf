//! [`Group`]: one control group: limits, freeze and thaw, usage, killing every process in
//! it, and removal on drop.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cgroups::{check_name, enable_v2_controllers};
use crate::error::CgroupError;
use crate::mounts::{Dirs, Version};

/// The CFS period a CPU limit is expressed in, 100 ms (the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;
/// The smallest CFS quota the kernel takes, 1 ms a period.
pub const MIN_CPU_QUOTA_US: u64 = 1_000;
/// How long freezing or emptying a group may take before it is an error.
const SETTLE: Duration = Duration::from_secs(2);
/// How often a settling state is re-read.
const POLL: Duration = Duration::from_millis(1);

/// A group's memory figures, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Charged now (v1 `memory.usage_in_bytes`, v2 `memory.current`; page cache included).
    pub current: u64,
    /// The most ever charged, where the kernel keeps it (v1 always, v2 from 5.19).
    pub peak: Option<u64>,
}

/// One control group. Dropping it kills whatever still runs in it and removes every
/// directory it created (and keeps its parent alive until then).
#[derive(Debug)]
pub struct Group {
    pub(crate) version: Version,
    pub(crate) dirs: Dirs,
    /// Directories this group created, outermost first.
    pub(crate) created: Vec<PathBuf>,
    pub(crate) _parent: Option<Arc<Group>>,
}

impl Group {
    pub fn version(&self) -> Version {
        self.version
    }

    /// The group's directory (v1: in the memory hierarchy).
    pub fn path(&self) -> &Path {
        self.dirs.main()
    }

    pub(crate) fn all_dirs(&self) -> Vec<PathBuf> {
        self.dirs.all()
    }

    pub(crate) fn make_dir(&mut self, dir: &Path) -> Result<(), CgroupError> {
        match fs::create_dir(dir) {
            Ok(()) => {
                self.created.push(dir.to_owned());
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(source) => Err(CgroupError::Create {
                path: dir.to_owned(),
                source,
            }),
        }
    }

    /// A new group `name` beneath this one; it holds this group alive until it is dropped.
    pub fn child(self: &Arc<Self>, name: &str) -> Result<Group, CgroupError> {
        check_name(name)?;
        if self.version == Version::V2 {
            enable_v2_controllers(self.path())?;
        }
        let dirs = self.dirs.join(name);
        let mut child = Group {
            version: self.version,
            dirs,
            created: Vec::new(),
            _parent: Some(self.clone()),
        };
        for dir in child.all_dirs() {
            child.make_dir(&dir)?;
        }
        Ok(child)
    }

    /// The `cgroup.procs` file of each hierarchy: writing a pid into each moves that
    /// process in (a launcher can write its own pid before it execs the real program).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.all_dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// The `sh -c` script that starts a command inside the group from its first instruction:
    /// it writes its own pid into every `cgroup.procs` file of the group, then execs `"$0"
    /// "$@"` (the program and its arguments, given after the script; same pid), so nothing
    /// runs outside the group, not even a child forked at once.
    pub fn launcher_script(&self) -> String {
        let moves: Vec<String> = self
            .procs_files()
            .iter()
            .map(|f| format!("echo $$ > {}", shell_quote(&f.to_string_lossy())))
            .collect();
        format!("{} && exec \"$0\" \"$@\"", moves.join(" && "))
    }

    /// `command` (program and arguments) as a command line that starts it inside the group
    /// ([`Group::launcher_script`]). Prefix it with what must stay outside (e.g. `setpriv`).
    pub fn launcher(&self, command: &[String]) -> Vec<String> {
        let mut line = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            self.launcher_script(),
        ];
        line.extend(command.iter().cloned());
        line
    }

    /// Moves process `pid` into the group.
    pub fn add_process(&self, pid: u32) -> Result<(), CgroupError> {
        for file in self.procs_files() {
            write(&file, &pid.to_string())?;
        }
        Ok(())
    }

    /// The processes in the group now.
    pub fn processes(&self) -> Result<Vec<i32>, CgroupError> {
        let file = self.path().join("cgroup.procs");
        let text = read(&file)?;
        text.lines()
            .map(|l| {
                l.trim().parse().map_err(|_| CgroupError::Parse {
                    path: file.clone(),
                    content: l.to_owned(),
                })
            })
            .collect()
    }

    /// Limits memory to `bytes`, swap included: above it the kernel reclaims, then kills a
    /// process of the group (the OOM killer).
    pub fn set_memory_limit(&self, bytes: u64) -> Result<(), CgroupError> {
        let value = bytes.to_string();
        match &self.dirs {
            Dirs::V1 { memory, .. } => {
                write(&memory.join("memory.limit_in_bytes"), &value)?;
                let memsw = memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &value)?;
                }
            }
            Dirs::V2 { dir } => {
                write(&dir.join("memory.max"), &value)?;
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    write(&swap, "0")?;
                }
            }
        }
        Ok(())
    }

    /// Limits CPU to `cores` (0.5 = half of one core) with a CFS quota per 100 ms period,
    /// at least 1 ms.
    pub fn set_cpu_limit(&self, cores: f64) -> Result<(), CgroupError> {
        let quota = ((cores * CPU_PERIOD_US as f64).round() as u64).max(MIN_CPU_QUOTA_US);
        match &self.dirs {
            Dirs::V1 { cpu, .. } => {
                write(&cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                write(&cpu.join("cpu.cfs_quota_us"), &quota.to_string())
            }
            Dirs::V2 { dir } => write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}")),
        }
    }

    /// The CPU limit in force, as the kernel shows it: "cpu.cfs_quota_us = 25000,
    /// cpu.cfs_period_us = 100000" (v1) or "cpu.max = 25000 100000" (v2).
    pub fn cpu_limit(&self) -> Result<String, CgroupError> {
        match &self.dirs {
            Dirs::V1 { cpu, .. } => Ok(format!(
                "cpu.cfs_quota_us = {}, cpu.cfs_period_us = {}",
                read(&cpu.join("cpu.cfs_quota_us"))?.trim(),
                read(&cpu.join("cpu.cfs_period_us"))?.trim()
            )),
            Dirs::V2 { dir } => Ok(format!("cpu.max = {}", read(&dir.join("cpu.max"))?.trim())),
        }
    }

    /// Freezes every process of the group and waits until the kernel says it is frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match &self.dirs {
            Dirs::V1 { freezer, .. } => {
                let state = freezer.join("freezer.state");
                write(&state, "FROZEN")?;
                settle("freezing", &state, || Ok(read(&state)?.trim() == "FROZEN"))
            }
            Dirs::V2 { dir } => {
                write(&dir.join("cgroup.freeze"), "1")?;
                let events = dir.join("cgroup.events");
                settle("freezing", &events, || {
                    Ok(read(&events)?.lines().any(|l| l.trim() == "frozen 1"))
                })
            }
        }
    }

    /// Lets the group's processes run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match &self.dirs {
            Dirs::V1 { freezer, .. } => write(&freezer.join("freezer.state"), "THAWED"),
            Dirs::V2 { dir } => write(&dir.join("cgroup.freeze"), "0"),
        }
    }

    /// CPU time used by every process that ever ran in the group (user + system).
    pub fn cpu_usage(&self) -> Result<Duration, CgroupError> {
        match &self.dirs {
            Dirs::V1 { cpuacct, .. } => {
                let file = cpuacct.join("cpuacct.usage");
                let ns = parse_u64(&file, read(&file)?.trim())?;
                Ok(Duration::from_nanos(ns))
            }
            Dirs::V2 { dir } => {
                let file = dir.join("cpu.stat");
                let us = keyed(&file, &read(&file)?, "usage_usec")?;
                Ok(Duration::from_micros(us))
            }
        }
    }

    /// Memory charged now and at most.
    pub fn memory(&self) -> Result<Memory, CgroupError> {
        let (current, peak) = match &self.dirs {
            Dirs::V1 { memory, .. } => (
                memory.join("memory.usage_in_bytes"),
                memory.join("memory.max_usage_in_bytes"),
            ),
            Dirs::V2 { dir } => (dir.join("memory.current"), dir.join("memory.peak")),
        };
        let current = parse_u64(&current, read(&current)?.trim())?;
        let peak = match fs::read_to_string(&peak) {
            Ok(text) => Some(parse_u64(&peak, text.trim())?),
            Err(_) => None,
        };
        Ok(Memory { current, peak })
    }

    /// How many processes the kernel's OOM killer killed in the group.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        let file = match &self.dirs {
            Dirs::V1 { memory, .. } => memory.join("memory.oom_control"),
            Dirs::V2 { dir } => dir.join("memory.events"),
        };
        keyed(&file, &read(&file)?, "oom_kill")
    }

    /// Kills every process in the group (SIGKILL) and waits until it is empty. A frozen
    /// group is thawed so the kills take effect.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        let start = Instant::now();
        if let Dirs::V2 { dir } = &self.dirs {
            let kill_file = dir.join("cgroup.kill");
            if kill_file.exists() {
                write(&kill_file, "1")?;
            }
        }
        loop {
            let pids = self.processes()?;
            if pids.is_empty() {
                // A v1 freezer left FROZEN would freeze the next process moved in.
                return self.thaw();
            }
            if start.elapsed() > SETTLE {
                return Err(CgroupError::Timeout {
                    what: "killing every process",
                    path: self.path().to_owned(),
                    waited_ms: SETTLE.as_millis() as u64,
                });
            }
            // Freeze first so no process forks a new one between the list and the kills.
            let frozen = self.freeze().is_ok();
            for pid in pids {
                // ESRCH: it exited between the list and the kill.
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            if frozen {
                self.thaw()?;
            }
            thread::sleep(POLL);
        }
    }

    /// Kills what runs in the group and removes its directories now, reporting failure
    /// (dropping does the same, silently).
    pub fn remove(mut self) -> Result<(), CgroupError> {
        self.remove_dirs()
    }

    fn remove_dirs(&mut self) -> Result<(), CgroupError> {
        if self.created.is_empty() {
            return Ok(());
        }
        let killed = self.kill_all();
        let mut first_error = killed.err();
        // Innermost first: a parent goes only once its children are gone.
        let mut created = std::mem::take(&mut self.created);
        created.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for dir in created {
            let leaf = self.all_dirs().contains(&dir);
            if !leaf {
                // A shared parent (`tgbench`) may still hold another run's groups: one
                // try, no waiting (waiting on a busy parent made every removal take
                // seconds while another platform ran).
                let _ = fs::remove_dir(&dir);
                continue;
            }
            if let Err(e) = remove_dir(&dir)
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `text` as one single-quoted `sh` word.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = self.remove_dirs();
    }
}

/// rmdir, retried briefly: a group whose last process just died can be busy for a moment.
fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) && start.elapsed() < SETTLE => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Polls `done` until it holds, or [`SETTLE`] passes.
fn settle(
    what: &'static str,
    path: &Path,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<(), CgroupError> {
    let start = Instant::now();
    while !done()? {
        if start.elapsed() > SETTLE {
            return Err(CgroupError::Timeout {
                what,
                path: path.to_owned(),
                waited_ms: SETTLE.as_millis() as u64,
            });
        }
        thread::sleep(POLL);
    }
    Ok(())
}

pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

fn parse_u64(path: &Path, text: &str) -> Result<u64, CgroupError> {
    text.parse().map_err(|_| CgroupError::Parse {
        path: path.to_owned(),
        content: text.to_owned(),
    })
}

/// The value of `key` in a `key value` per line file (`cpu.stat`, `memory.events`, …).
fn keyed(path: &Path, text: &str, key: &str) -> Result<u64, CgroupError> {
    let value = text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim())
    });
    match value {
        Some(v) => parse_u64(path, v),
        None => Err(CgroupError::Parse {
            path: path.to_owned(),
            content: format!("no {key} line"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(shell_quote("/a b/c'd"), r"'/a b/c'\''d'");
    }

    #[test]
    fn keyed_files_are_read_by_key() {
        let text = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(Path::new("f"), text, "oom_kill").unwrap(), 3);
        assert!(keyed(Path::new("f"), text, "missing").is_err());
    }
}
