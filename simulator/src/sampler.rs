//! CPU and memory of processes, sampled with sysinfo on a fixed period.
//!
//! The SUT is measured as its whole process tree (the root and every descendant alive at
//! the sample), or as one tree per replica of a fleet, summed; the harness — which embeds the mock — is measured as one process, apart,
//! as overhead. CPU is in percent of one core (a process on two busy cores shows 200 %);
//! RSS in MiB. sysinfo computes CPU from the change between two refreshes, so the first
//! sample after [`Sampler::new`] needs [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] to pass.
//!
//! Each sample reads only the processes it reports (this one and each root's tree, found
//! through the kernel's `/proc/PID/task/TID/children` lists), not every process on the
//! machine: a whole `/proc` scan cost the harness about 2 % of a core on a quiet machine.
//! Where the kernel keeps no such lists (built without `CONFIG_PROC_CHILDREN`), it scans
//! every process and links the tree by parent ids, as before.
//!
//! Known blind spot: a child that starts and exits between two samples is not seen.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tgbench_reports::results::{Cpu, Memory, round2, round3};

/// Usage of one process (or tree) over the last period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Percent of one core over the period since the previous sample.
    pub cpu_pct: f64,
    pub rss_mb: f64,
    /// Processes counted (1 for a single process).
    pub processes: usize,
}

/// One sample: the SUT's trees summed (None when every root is gone), each replica's tree,
/// and the harness.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub at: Instant,
    /// Seconds since the previous reading.
    pub period_s: f64,
    pub sut: Option<Usage>,
    /// Each root's tree, in the order of the roots (None: that root is gone).
    pub parts: Vec<Option<Usage>>,
    pub harness: Usage,
}

/// Samples a SUT's process trees (one per replica) and this process.
pub struct Sampler {
    sys: System,
    roots: Vec<Option<Pid>>,
    /// Whether the root's own usage counts (false: only its descendants').
    root_counts: bool,
    me: Pid,
    last: Instant,
    /// Whether the kernel lists each task's children (`/proc/PID/task/TID/children`).
    kernel_lists_children: bool,
    /// Each process's children, as of the last refresh.
    children: HashMap<Pid, Vec<Pid>>,
    /// The processes the last refresh read (read once more, so that those gone since are
    /// dropped).
    read: Vec<Pid>,
}

const MIB: f64 = 1024.0 * 1024.0;

impl Sampler {
    /// Starts sampling these roots' trees, one per replica (None: a root not started yet,
    /// or only the harness). Takes the first reference reading now.
    pub fn new(roots: &[Option<u32>]) -> Sampler {
        // Do not keep /proc/PID/stat files open: the harness needs its file descriptors.
        sysinfo::set_open_files_limit(0);
        let mut s = Sampler {
            sys: System::new(),
            roots: roots.iter().map(|r| r.map(Pid::from_u32)).collect(),
            root_counts: true,
            me: Pid::from_u32(std::process::id()),
            last: Instant::now(),
            kernel_lists_children: Path::new("/proc/thread-self/children").exists(),
            children: HashMap::new(),
            read: Vec::new(),
        };
        s.refresh();
        s
    }

    /// Reads this process and the roots' trees (or, where the kernel lists no children,
    /// every process) and notes who is whose child.
    fn refresh(&mut self) {
        let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
        if self.kernel_lists_children {
            let roots = self.roots.iter().flatten().copied();
            self.children = listed_children(roots.clone());
            // The roots always (one that is gone must read as gone), and those read last
            // time, so that sysinfo drops the ones that have exited.
            let mut pids: Vec<Pid> = self.children.keys().copied().chain(roots).collect();
            pids.push(self.me);
            let now = pids.clone();
            pids.append(&mut self.read);
            pids.sort_unstable();
            pids.dedup();
            self.sys
                .refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, kind);
            self.read = now;
        } else {
            self.sys
                .refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
            self.children = parent_links(&self.sys);
        }
        self.last = Instant::now();
    }

    /// Samples these roots, one tree each, from the next reading on (a fleet's replicas).
    pub fn set_roots(&mut self, roots: &[Option<u32>]) {
        self.roots = roots.iter().map(|r| r.map(Pid::from_u32)).collect();
    }

    /// Whether the root process's own usage is counted, or only its descendants' (a
    /// platform whose children are the SUT).
    pub fn count_root(&mut self, yes: bool) {
        self.root_counts = yes;
    }

    /// The smallest period sysinfo can measure CPU over.
    pub fn min_period() -> Duration {
        sysinfo::MINIMUM_CPU_UPDATE_INTERVAL
    }

    /// Refreshes and reads. Call at most once per [`Sampler::min_period`].
    pub fn sample(&mut self) -> Reading {
        let before = self.last;
        self.refresh();
        let period_s = self.last.duration_since(before).as_secs_f64();
        let parts: Vec<Option<Usage>> = self
            .roots
            .iter()
            .map(|r| r.and_then(|r| self.tree_usage(r)))
            .collect();
        let sut = parts.iter().flatten().copied().reduce(|a, b| Usage {
            cpu_pct: a.cpu_pct + b.cpu_pct,
            rss_mb: a.rss_mb + b.rss_mb,
            processes: a.processes + b.processes,
        });
        let harness = self.single(self.me).unwrap_or_default();
        Reading {
            at: self.last,
            period_s,
            sut,
            parts,
            harness,
        }
    }

    fn single(&self, pid: Pid) -> Option<Usage> {
        let p = self.sys.process(pid)?;
        Some(Usage {
            cpu_pct: f64::from(p.cpu_usage()),
            rss_mb: p.memory() as f64 / MIB,
            processes: 1,
        })
    }

    /// The root and all its descendants (threads are not processes here).
    fn tree_usage(&self, root: Pid) -> Option<Usage> {
        let root_proc = self.sys.process(root)?;
        if root_proc.thread_kind().is_some() {
            return None;
        }
        let mut usage = Usage::default();
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        while let Some(pid) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            if pid == root && !self.root_counts {
                // Not counted, but its descendants are.
            } else if let Some(u) = self.single(pid) {
                usage.cpu_pct += u.cpu_pct;
                usage.rss_mb += u.rss_mb;
                usage.processes += 1;
            }
            if let Some(kids) = self.children.get(&pid) {
                stack.extend(kids.iter().copied());
            }
        }
        Some(usage)
    }
}

/// The processes of the trees under `roots`, each with its children, from the kernel's
/// per-task lists (a process's children are spread over its threads' lists). A process
/// that is gone has no entry.
fn listed_children(roots: impl Iterator<Item = Pid>) -> HashMap<Pid, Vec<Pid>> {
    let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
    let mut stack: Vec<Pid> = roots.collect();
    while let Some(pid) = stack.pop() {
        if children.contains_key(&pid) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        let mut kids = Vec::new();
        for task in tasks.flatten() {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            kids.extend(
                list.split_ascii_whitespace()
                    .filter_map(|k| k.parse::<u32>().ok().map(Pid::from_u32)),
            );
        }
        stack.extend(kids.iter().copied());
        children.insert(pid, kids);
    }
    children
}

/// Each process's children, from the parent ids of every process sysinfo has read.
fn parent_links(sys: &System) -> HashMap<Pid, Vec<Pid>> {
    let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for (pid, p) in sys.processes() {
        if p.thread_kind().is_some() {
            continue;
        }
        if let Some(parent) = p.parent() {
            children.entry(parent).or_default().push(*pid);
        }
    }
    children
}

/// Summary of a series of CPU readings (percent of one core).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSummary {
    pub mean_pct: f64,
    pub p95_pct: f64,
    pub max_pct: f64,
    pub cpu_s: f64,
}

impl From<&Cpu> for CpuSummary {
    /// The summary a results `cpu` entry was written from (to judge an SLO on figures that
    /// came from elsewhere, e.g. Prometheus).
    fn from(c: &Cpu) -> Self {
        CpuSummary {
            mean_pct: c.mean_pct,
            p95_pct: c.p95_pct,
            max_pct: c.max_pct,
            cpu_s: c.cpu_s,
        }
    }
}

/// The results' CPU figures of a summary, rounded as results files keep them.
pub fn cpu_of(c: &CpuSummary) -> Cpu {
    Cpu {
        mean_pct: round2(c.mean_pct),
        p95_pct: round2(c.p95_pct),
        max_pct: round2(c.max_pct),
        cpu_s: round3(c.cpu_s),
    }
}

/// The results' memory figures of RSS samples (MiB), rounded as results files keep them.
pub fn memory_of(rss: &[f64]) -> Memory {
    if rss.is_empty() {
        return Memory::default();
    }
    Memory {
        rss_mean_mb: round2(rss.iter().sum::<f64>() / rss.len() as f64),
        rss_peak_mb: round2(rss.iter().copied().fold(0.0, f64::max)),
    }
}

/// Time-weighted mean, p95 and max of `(cpu_pct, period_s)` readings, and CPU seconds.
pub fn summarize_cpu(readings: &[(f64, f64)]) -> CpuSummary {
    if readings.is_empty() {
        return CpuSummary::default();
    }
    let total_s: f64 = readings.iter().map(|r| r.1).sum();
    let cpu_s: f64 = readings.iter().map(|r| r.0 / 100.0 * r.1).sum();
    let mut sorted: Vec<f64> = readings.iter().map(|r| r.0).collect();
    sorted.sort_by(f64::total_cmp);
    CpuSummary {
        mean_pct: if total_s > 0.0 {
            cpu_s / total_s * 100.0
        } else {
            0.0
        },
        p95_pct: percentile(&sorted, 0.95),
        max_pct: *sorted.last().unwrap_or(&0.0),
        cpu_s,
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_time_weighted() {
        let s = summarize_cpu(&[(100.0, 1.0), (0.0, 3.0)]);
        assert!((s.mean_pct - 25.0).abs() < 1e-9);
        assert!((s.cpu_s - 1.0).abs() < 1e-9);
        assert_eq!(s.max_pct, 100.0);
        assert_eq!(summarize_cpu(&[]), CpuSummary::default());
    }

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.5), 7.0);
    }

    #[test]
    fn harness_is_sampled_and_a_gone_root_is_none() {
        let mut s = Sampler::new(&[Some(u32::MAX - 7)]);
        std::thread::sleep(Sampler::min_period());
        let r = s.sample();
        assert!(r.sut.is_none());
        assert!(r.harness.rss_mb > 1.0);
        assert!(r.period_s >= Sampler::min_period().as_secs_f64() * 0.9);
    }
}
