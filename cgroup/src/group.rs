//! [`Cgroups`] (the hierarchy this process may use) and [`Group`] (one control group in it):
//! limits, freeze and thaw, usage, killing every process in it, and removal on drop.

use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::CgroupError;
use crate::mounts::{Bases, Version, detect_bases};

/// The CFS period a CPU limit is expressed in, 100 ms (the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;
/// The smallest CFS quota the kernel takes, 1 ms a period.
pub const MIN_CPU_QUOTA_US: u64 = 1_000;
/// How long freezing or emptying a group may take before it is an error.
const SETTLE: Duration = Duration::from_secs(2);
/// How often a settling state is re-read.
const POLL: Duration = Duration::from_millis(1);

/// The control groups this process may create: where, and which interface.
#[derive(Debug, Clone)]
pub struct Cgroups {
    version: Version,
    bases: Bases,
}

/// A group's memory figures, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Charged now (v1 `memory.usage_in_bytes`, v2 `memory.current`; page cache included).
    pub current: u64,
    /// The most ever charged, where the kernel keeps it (v1 always, v2 from 5.19).
    pub peak: Option<u64>,
}

impl Cgroups {
    /// The control groups of this machine, beneath this process's own groups; an error
    /// that says what is missing when there are none to use.
    pub fn detect() -> Result<Self, CgroupError> {
        let (version, bases) = detect_bases()?;
        Ok(Self { version, bases })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// One line for logs and results: interface and where groups go.
    pub fn describe(&self) -> String {
        match &self.bases {
            Bases::V1 {
                memory,
                cpu,
                freezer,
                ..
            } => format!(
                "cgroup v1 (memory under {}, cpu under {}, freezer under {})",
                memory.display(),
                cpu.display(),
                freezer.display()
            ),
            Bases::V2 { base } => format!("cgroup v2 under {}", base.display()),
        }
    }

    /// Creates the group `name` (a relative path such as `tgbench/run-42`) beneath this
    /// process's groups, with any missing parents. When the group is dropped its directory
    /// is removed, and its parents too if that leaves them empty.
    pub fn create(&self, name: &str) -> Result<Group, CgroupError> {
        check_name(name)?;
        let dirs = match &self.bases {
            Bases::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => Dirs::V1 {
                memory: memory.join(name),
                cpu: cpu.join(name),
                cpuacct: cpuacct.join(name),
                freezer: freezer.join(name),
            },
            Bases::V2 { base } => {
                enable_v2_controllers(base)?;
                Dirs::V2 {
                    dir: base.join(name),
                }
            }
        };
        let mut group = Group {
            version: self.version,
            dirs,
            created: Vec::new(),
            _parent: None,
        };
        let bases: Vec<PathBuf> = match &self.bases {
            Bases::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => unique(vec![
                memory.clone(),
                cpu.clone(),
                cpuacct.clone(),
                freezer.clone(),
            ]),
            Bases::V2 { base } => vec![base.clone()],
        };
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        for base in bases {
            let mut dir = base;
            for (i, part) in parts.iter().enumerate() {
                dir = dir.join(part);
                // Another group may remove a shared parent between its mkdir and this
                // one's child: make it again.
                let mut attempts = 0;
                while let Err(e) = group.make_dir(&dir) {
                    attempts += 1;
                    let gone_parent = matches!(&e, CgroupError::Create { source, .. } if source.kind() == ErrorKind::NotFound);
                    if !gone_parent || attempts == 5 {
                        return Err(e);
                    }
                    let mut again = dir.parent().map(Path::to_path_buf).unwrap_or_default();
                    let mut stack = Vec::new();
                    while !again.exists() && again.parent().is_some() {
                        stack.push(again.clone());
                        again = again.parent().map(Path::to_path_buf).unwrap_or_default();
                    }
                    for missing in stack.into_iter().rev() {
                        let _ = fs::create_dir(&missing);
                        if !group.created.contains(&missing) {
                            group.created.push(missing);
                        }
                    }
                }
                let parent = i + 1 < parts.len();
                // A shared parent (`tgbench`) is removed by whichever group leaves it empty.
                if parent && !group.created.contains(&dir) {
                    group.created.push(dir.clone());
                }
                if self.version == Version::V2 && parent {
                    enable_v2_controllers(&dir)?;
                }
            }
        }
        Ok(group)
    }
}

impl Cgroups {
    /// Removes the groups directly beneath `parent` (e.g. `tgbench`) whose name `stale`
    /// picks, with everything beneath them: their processes killed (a frozen one thawed to
    /// die), their directories removed, deepest first. For groups a killed process left
    /// behind. Returns the names removed.
    pub fn remove_stale(&self, parent: &str, stale: impl Fn(&str) -> bool) -> Vec<String> {
        if check_name(parent).is_err() {
            return Vec::new();
        }
        let first = match &self.bases {
            Bases::V1 { memory, .. } => memory.join(parent),
            Bases::V2 { base } => base.join(parent),
        };
        let Ok(entries) = fs::read_dir(&first) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_dir() || !stale(&name) {
                continue;
            }
            let mut tree = Vec::new();
            subtree(&entry.path(), Path::new(&name), &mut tree);
            tree.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for relative in tree {
                let name = format!("{parent}/{}", relative.display());
                let group = self.existing(&name);
                let _ = group.remove();
            }
            removed.push(name);
        }
        removed
    }

    /// A group that already exists, owning its directories (removed on drop).
    fn existing(&self, name: &str) -> Group {
        let dirs = match &self.bases {
            Bases::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => Dirs::V1 {
                memory: memory.join(name),
                cpu: cpu.join(name),
                cpuacct: cpuacct.join(name),
                freezer: freezer.join(name),
            },
            Bases::V2 { base } => Dirs::V2 {
                dir: base.join(name),
            },
        };
        let mut group = Group {
            version: self.version,
            dirs,
            created: Vec::new(),
            _parent: None,
        };
        group.created = group
            .all_dirs()
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        group
    }
}

/// Every directory at and beneath `dir`, as paths relative to its parent.
fn subtree(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) {
    out.push(relative.to_owned());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                subtree(&entry.path(), &relative.join(entry.file_name()), out);
            }
        }
    }
}

/// A name is relative, non-empty, and stays beneath its parent.
fn check_name(name: &str) -> Result<(), CgroupError> {
    let path = Path::new(name);
    let ok = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::BadName {
            name: name.to_owned(),
        })
    }
}

fn unique(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let new = !seen.contains(d);
        seen.push(d.clone());
        new
    });
    dirs
}

/// v2: lets the children of `dir` use `memory` and `cpu`. Fails when `dir` holds processes
/// of its own (v2's no-internal-processes rule), with that said.
fn enable_v2_controllers(dir: &Path) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let current = read(&file)?;
    if current.contains("memory") && current.contains("cpu") {
        return Ok(());
    }
    write(&file, "+memory +cpu").map_err(|e| match e {
        CgroupError::Write { source, .. } if source.raw_os_error() == Some(nix::libc::EBUSY) => {
            CgroupError::NotAvailable {
                reason: format!(
                    "the cgroup v2 group {} holds processes, so it cannot hand memory and cpu \
                     to groups beneath it; run under a delegated group of its own \
                     (e.g. systemd-run --scope -p Delegate=yes)",
                    dir.display()
                ),
            }
        }
        other => other,
    })
}

/// Where one group lives: one directory per v1 controller, or one v2 directory.
#[derive(Debug, Clone)]
enum Dirs {
    V1 {
        memory: PathBuf,
        cpu: PathBuf,
        cpuacct: PathBuf,
        freezer: PathBuf,
    },
    V2 {
        dir: PathBuf,
    },
}

/// One control group. Dropping it kills whatever still runs in it and removes every
/// directory it created (and keeps its parent alive until then).
#[derive(Debug)]
pub struct Group {
    version: Version,
    dirs: Dirs,
    /// Directories this group created, outermost first.
    created: Vec<PathBuf>,
    _parent: Option<Arc<Group>>,
}

impl Group {
    pub fn version(&self) -> Version {
        self.version
    }

    /// The group's directory (v1: in the memory hierarchy).
    pub fn path(&self) -> &Path {
        match &self.dirs {
            Dirs::V1 { memory, .. } => memory,
            Dirs::V2 { dir } => dir,
        }
    }

    fn all_dirs(&self) -> Vec<PathBuf> {
        match &self.dirs {
            Dirs::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => unique(vec![
                memory.clone(),
                cpu.clone(),
                cpuacct.clone(),
                freezer.clone(),
            ]),
            Dirs::V2 { dir } => vec![dir.clone()],
        }
    }

    fn make_dir(&mut self, dir: &Path) -> Result<(), CgroupError> {
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
        let dirs = match &self.dirs {
            Dirs::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => Dirs::V1 {
                memory: memory.join(name),
                cpu: cpu.join(name),
                cpuacct: cpuacct.join(name),
                freezer: freezer.join(name),
            },
            Dirs::V2 { dir } => Dirs::V2 {
                dir: dir.join(name),
            },
        };
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
            if let Err(e) = remove_dir(&dir) {
                let leaf = self.all_dirs().contains(&dir);
                // A shared parent (`tgbench`) may still hold another run's groups.
                if leaf && first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
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

fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Read {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
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
    fn names_must_stay_beneath_their_parent() {
        assert!(check_name("tgbench/run-1").is_ok());
        for bad in ["", "/abs", "../up", "a/../../b", "."] {
            assert!(
                matches!(check_name(bad), Err(CgroupError::BadName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keyed_files_are_read_by_key() {
        let text = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(Path::new("f"), text, "oom_kill").unwrap(), 3);
        assert!(keyed(Path::new("f"), text, "missing").is_err());
    }
}
