//! The sampler against the kernel: for processes of known CPU and memory use, what
//! `tgbench::sampler` reports must agree with /proc (utime+stime deltas, VmRSS) within a
//! few percent, for a single process and for a whole tree.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tgbench::sampler::Sampler;

use crate::sim_support::{descendants, stat_field};

/// CPU seconds of a process from /proc/PID/stat (utime + stime).
fn kernel_cpu_s(pid: u32, ticks_per_s: f64) -> f64 {
    let utime: f64 = stat_field(pid, 11)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let stime: f64 = stat_field(pid, 12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    (utime + stime) / ticks_per_s
}

fn vm_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Python: burn `busy_ms` then sleep `idle_ms`, forever (≈ busy/(busy+idle) of a core),
/// after holding `hold_mb` of touched memory.
fn burner(busy_ms: u32, idle_ms: u32, hold_mb: u32) -> String {
    format!(
        "import time\n\
         held = b'\\x01' * ({hold_mb} << 20)\n\
         while True:\n\
         \x20   end = time.perf_counter() + {busy_ms} / 1000\n\
         \x20   while time.perf_counter() < end: pass\n\
         \x20   time.sleep({idle_ms} / 1000)\n"
    )
}

/// A started process whose whole tree is killed when the test ends, passing or not.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        for p in descendants(self.0.id()) {
            let _ = Command::new("kill").arg(p.to_string()).status();
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[&str]) -> Killed {
    Killed(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (the truth tests need it): {e}")),
    )
}

/// Samples `root`'s tree for `span` with the sampler, and reads the kernel's CPU seconds
/// of `pids` over the same span. Returns (sampler cpu s, kernel cpu s, last sample).
fn measure(root: u32, pids: &[u32], span: Duration) -> (f64, f64, tgbench::sampler::Usage) {
    let ticks = clock_ticks();
    let mut sampler = Sampler::new(&[Some(root)]);
    let before: f64 = pids.iter().map(|&p| kernel_cpu_s(p, ticks)).sum();
    let start = Instant::now();
    let mut cpu_s = 0.0;
    let mut last = None;
    while start.elapsed() < span {
        std::thread::sleep(Duration::from_millis(250));
        let r = sampler.sample();
        let u = r.sut.expect("the root is alive");
        cpu_s += u.cpu_pct / 100.0 * r.period_s;
        last = Some(u);
    }
    let after: f64 = pids.iter().map(|&p| kernel_cpu_s(p, ticks)).sum();
    (cpu_s, after - before, last.unwrap())
}

#[test]
fn cpu_and_rss_of_one_process_match_the_kernel() {
    let p = spawn("python3", &["-c", &burner(5, 5, 200)]);
    let pid = p.0.id();
    // Let it allocate and settle.
    std::thread::sleep(Duration::from_millis(800));
    let (sampled, kernel, last) = measure(pid, &[pid], Duration::from_secs(3));
    // ≈ 50 % of a core for 3 s ≈ 1.5 CPU s (the machine may be busy; compare, do not assume).
    assert!(kernel > 0.5, "the burner burned {kernel} s");
    let err = (sampled - kernel).abs();
    assert!(
        err <= 0.05 * kernel + 0.03,
        "sampler {sampled:.3} CPU s vs kernel {kernel:.3} CPU s"
    );
    let rss = vm_rss_mb(pid);
    assert!(rss > 195.0, "holding 200 MiB: VmRSS {rss}");
    assert!(
        (last.rss_mb - rss).abs() <= 0.03 * rss,
        "sampler RSS {} MiB vs VmRSS {rss} MiB",
        last.rss_mb
    );
    assert_eq!(last.processes, 1);
}

#[test]
fn a_whole_tree_is_summed_children_included() {
    // A shell with two burners of different duty cycles and memory, and a sleeping child.
    let script = "python3 -c \"$A\" & python3 -c \"$B\" & sleep 30 & wait";
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script])
        .env("A", burner(6, 4, 60))
        .env("B", burner(2, 8, 120))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let root = Killed(cmd.spawn().unwrap());
    let pid = root.0.id();
    std::thread::sleep(Duration::from_millis(800));
    let tree: Vec<u32> = std::iter::once(pid).chain(descendants(pid)).collect();
    assert_eq!(tree.len(), 4, "sh + 2 python + sleep: {tree:?}");
    let (sampled, kernel, last) = measure(pid, &tree, Duration::from_secs(3));
    assert!(kernel > 1.0, "the burners burned {kernel} s");
    assert!(
        (sampled - kernel).abs() <= 0.05 * kernel + 0.05,
        "sampler {sampled:.3} CPU s vs kernel {kernel:.3} CPU s"
    );
    let rss: f64 = tree.iter().map(|&p| vm_rss_mb(p)).sum();
    assert!(rss > 180.0, "{rss}");
    assert!(
        (last.rss_mb - rss).abs() <= 0.03 * rss,
        "sampler RSS {} MiB vs VmRSS sum {rss} MiB",
        last.rss_mb
    );
    assert_eq!(last.processes, 4);
}

#[test]
fn replicas_and_a_child_of_a_thread_are_read_from_the_first_sample() {
    // Replica A: a Python process whose second thread starts `sh`, which runs a burner
    // (the kernel lists that child under the thread, not the process's main task).
    // Replica B: a burner alone. Both roots are known from the start.
    let a_script = "import subprocess, threading, time\n\
                    def start():\n\
                    \x20   subprocess.Popen(['sh', '-c', 'python3 -c \"$B\"; :'])\n\
                    \x20   time.sleep(60)\n\
                    threading.Thread(target=start, daemon=True).start()\n\
                    time.sleep(60)\n";
    let a = Killed(
        Command::new("python3")
            .args(["-c", a_script])
            .env("B", burner(6, 4, 40))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let b = spawn("python3", &["-c", &burner(3, 7, 20)]);
    let (a_pid, b_pid) = (a.0.id(), b.0.id());
    std::thread::sleep(Duration::from_millis(800));
    let a_tree: Vec<u32> = std::iter::once(a_pid).chain(descendants(a_pid)).collect();
    assert_eq!(a_tree.len(), 3, "python + sh + python: {a_tree:?}");

    let ticks = clock_ticks();
    let mut sampler = Sampler::new(&[Some(a_pid), Some(b_pid)]);
    let kernel_a0: f64 = a_tree.iter().map(|&p| kernel_cpu_s(p, ticks)).sum();
    let kernel_b0 = kernel_cpu_s(b_pid, ticks);
    std::thread::sleep(Duration::from_millis(1500));
    let r = sampler.sample();
    let kernel_a = a_tree.iter().map(|&p| kernel_cpu_s(p, ticks)).sum::<f64>() - kernel_a0;
    let kernel_b = kernel_cpu_s(b_pid, ticks) - kernel_b0;
    let part = |i: usize| r.parts[i].expect("the replica is alive");
    assert_eq!(
        part(0).processes,
        3,
        "the thread's child and grandchild are counted"
    );
    assert_eq!(part(1).processes, 1);
    for (i, kernel) in [(0, kernel_a), (1, kernel_b)] {
        let sampled = part(i).cpu_pct / 100.0 * r.period_s;
        assert!(kernel > 0.2, "replica {i} burned {kernel} s");
        assert!(
            (sampled - kernel).abs() <= 0.1 * kernel + 0.03,
            "replica {i}, first sample: sampler {sampled:.3} CPU s vs kernel {kernel:.3} CPU s"
        );
    }
    let sut = r.sut.expect("both alive");
    assert_eq!(sut.processes, 4);
}

#[test]
fn a_root_that_exits_reads_as_gone() {
    let mut p = spawn("sleep", &["30"]);
    let pid = p.0.id();
    let mut sampler = Sampler::new(&[Some(pid)]);
    std::thread::sleep(Sampler::min_period());
    assert_eq!(sampler.sample().sut.map(|u| u.processes), Some(1));
    p.0.kill().unwrap();
    p.0.wait().unwrap();
    std::thread::sleep(Sampler::min_period());
    let r = sampler.sample();
    assert!(r.sut.is_none(), "an exited root still read: {:?}", r.sut);
    assert!(r.harness.rss_mb > 1.0);
}
