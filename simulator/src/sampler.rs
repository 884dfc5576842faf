//! CPU and memory of processes, sampled with sysinfo on a fixed period.
//!
//! The SUT is measured as its whole process tree (the root and every descendant alive at
//! the sample), or as one tree per replica of a fleet, summed; the harness — which embeds the mock — is measured as one process, apart,
//! as overhead. CPU is in percent of one core (a process on two busy cores shows 200 %);
//! RSS in MiB. sysinfo computes CPU from the change between two refreshes, so the first
//! sample after [`Sampler::new`] needs [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] to pass.
//!
//! Known blind spot: a child that starts and exits between two samples is not seen.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

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
    pub replicas: Vec<Option<Usage>>,
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
}

const MIB: f64 = 1024.0 * 1024.0;

impl Sampler {
    /// Starts sampling `root`'s tree (None: only the harness). Takes the first reference
    /// reading now.
    pub fn new(root: Option<u32>) -> Sampler {
        // Do not keep /proc/PID/stat files open: the harness needs its file descriptors.
        sysinfo::set_open_files_limit(0);
        let mut s = Sampler {
            sys: System::new(),
            roots: vec![root.map(Pid::from_u32)],
            root_counts: true,
            me: Pid::from_u32(std::process::id()),
            last: Instant::now(),
        };
        s.refresh();
        s
    }

    fn refresh(&mut self) {
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        self.last = Instant::now();
    }

    /// Samples another root from the next reading on (a restarted SUT).
    pub fn set_root(&mut self, root: Option<u32>) {
        self.set_roots(&[root]);
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
        let replicas: Vec<Option<Usage>> = self
            .roots
            .iter()
            .map(|r| r.and_then(|r| self.tree_usage(r)))
            .collect();
        let sut = replicas.iter().flatten().copied().reduce(|a, b| Usage {
            cpu_pct: a.cpu_pct + b.cpu_pct,
            rss_mb: a.rss_mb + b.rss_mb,
            processes: a.processes + b.processes,
        });
        let harness = self.single(self.me).unwrap_or_default();
        Reading {
            at: self.last,
            period_s,
            sut,
            replicas,
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
        let procs = self.sys.processes();
        let root_proc = procs.get(&root)?;
        if root_proc.thread_kind().is_some() {
            return None;
        }
        let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (pid, p) in procs {
            if p.thread_kind().is_some() {
                continue;
            }
            if let Some(parent) = p.parent() {
                children.entry(parent).or_default().push(*pid);
            }
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
            if let Some(kids) = children.get(&pid) {
                stack.extend(kids.iter().copied());
            }
        }
        Some(usage)
    }
}

/// Summary of a series of CPU readings (percent of one core).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSummary {
    pub mean_pct: f64,
    pub p95_pct: f64,
    pub max_pct: f64,
    pub cpu_s: f64,
}

impl From<&tgbench_reports::results::Cpu> for CpuSummary {
    /// The summary a results `cpu` entry was written from (to judge an SLO on figures that
    /// came from elsewhere, e.g. Prometheus).
    fn from(c: &tgbench_reports::results::Cpu) -> Self {
        CpuSummary {
            mean_pct: c.mean_pct,
            p95_pct: c.p95_pct,
            max_pct: c.max_pct,
            cpu_s: c.cpu_s,
        }
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
        let mut s = Sampler::new(Some(u32::MAX - 7));
        std::thread::sleep(Sampler::min_period());
        let r = s.sample();
        assert!(r.sut.is_none());
        assert!(r.harness.rss_mb > 1.0);
        assert!(r.period_s >= Sampler::min_period().as_secs_f64() * 0.9);
    }
}
