//! Real control groups on this machine: limits, freeze, usage, kill, removal. Outside CI a
//! machine without usable cgroups (not root, no controllers) prints SKIPPED; under
//! `CI=true` it fails, since CI runs as root on a machine that has them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use tgbench_cgroup::{CgroupError, Cgroups, Group};

fn cgroups() -> Option<Cgroups> {
    match Cgroups::detect() {
        Ok(c) => Some(c),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {e}");
            None
        }
        Err(e) => panic!("CI has cgroups: {e}"),
    }
}

/// A group of its own per test, named so parallel tests and runs do not meet.
fn group(cgroups: &Cgroups, test: &str) -> Group {
    let name = format!("tgbench/test-{}-{test}", std::process::id());
    cgroups.create(&name).expect("create a group")
}

fn spawn_in(group: &Group, program: &str, args: &[&str]) -> Child {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    group.add_process(child.id()).expect("move into the group");
    child
}

fn busy_loop(group: &Group) -> Child {
    spawn_in(group, "sh", &["-c", "while :; do :; done"])
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(") ").map(|(_, r)| r.chars().next());
            state != Some(Some('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn a_frozen_group_uses_no_cpu_and_a_thawed_one_does() {
    let Some(cgroups) = cgroups() else { return };
    let group = group(&cgroups, "freeze");
    let mut child = busy_loop(&group);
    sleep(Duration::from_millis(200));
    group.freeze().expect("freeze");
    let frozen_from = group.cpu_usage().unwrap();
    sleep(Duration::from_secs(1));
    let frozen_used = group.cpu_usage().unwrap() - frozen_from;
    group.thaw().expect("thaw");
    let thawed_from = group.cpu_usage().unwrap();
    sleep(Duration::from_secs(1));
    let thawed_used = group.cpu_usage().unwrap() - thawed_from;
    assert!(
        frozen_used < Duration::from_millis(20),
        "frozen for 1 s, used {frozen_used:?}"
    );
    assert!(
        thawed_used > Duration::from_millis(100),
        "a busy loop thawed for 1 s used only {thawed_used:?}"
    );
    group.remove().expect("remove");
    let _ = child.wait();
}

#[test]
fn a_cpu_limit_caps_a_busy_loop() {
    let Some(cgroups) = cgroups() else { return };
    let group = group(&cgroups, "cpu");
    group.set_cpu_limit(0.05).expect("cpu limit");
    let setting = group.cpu_limit().expect("read the limit back");
    assert!(
        setting == "cpu.cfs_quota_us = 5000, cpu.cfs_period_us = 100000"
            || setting == "cpu.max = 5000 100000",
        "{setting}"
    );
    let mut child = busy_loop(&group);
    let from = group.cpu_usage().unwrap();
    sleep(Duration::from_secs(2));
    let used = group.cpu_usage().unwrap() - from;
    // 5 % of a core for 2 s is 100 ms; unlimited, the loop takes a whole core.
    assert!(
        used < Duration::from_millis(400),
        "limited to 0.05 cores, used {used:?} in 2 s"
    );
    assert!(used > Duration::ZERO);
    group.remove().expect("remove");
    let _ = child.wait();
}

#[test]
fn over_the_memory_limit_the_kernel_kills_and_counts_it() {
    let Some(cgroups) = cgroups() else { return };
    let group = group(&cgroups, "memory");
    group.set_memory_limit(32 << 20).expect("memory limit");
    // Writes 100 MB (b"x" * n touches every page), then waits.
    let mut child = spawn_in(
        &group,
        "python3",
        &["-c", "import time; b = b'x' * (100 << 20); time.sleep(30)"],
    );
    let status = child.wait().expect("wait");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "killed by the OOM killer: {status}"
    );
    assert!(group.oom_kills().unwrap() >= 1);
    let memory = group.memory().unwrap();
    assert!(memory.peak.is_none_or(|p| p <= 32 << 20), "{memory:?}");
}

#[test]
fn dropping_a_group_kills_its_processes_and_removes_its_directories() {
    let Some(cgroups) = cgroups() else { return };
    let parent = Arc::new(group(&cgroups, "drop"));
    let child_group = parent.child("env-1").expect("child group");
    let mut sleeper = spawn_in(&child_group, "sleep", &["300"]);
    let pid = sleeper.id();
    assert_eq!(child_group.processes().unwrap(), vec![pid as i32]);
    let child_dir = child_group.path().to_owned();
    let parent_dir = parent.path().to_owned();
    child_group.freeze().expect("freeze");
    drop(child_group);
    let _ = sleeper.wait();
    assert!(!alive(pid), "the sleeper still runs");
    assert!(!child_dir.exists(), "{} left behind", child_dir.display());
    drop(parent);
    assert!(!parent_dir.exists(), "{} left behind", parent_dir.display());
}

#[test]
fn kill_all_empties_a_group_whose_processes_fork() {
    let Some(cgroups) = cgroups() else { return };
    let group = group(&cgroups, "fork");
    // The shell forks only once it is in the group (the test writes a line when it is).
    let mut shell = Command::new("sh")
        .args(["-c", "read go; sleep 300 & sleep 300 & wait"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn");
    group.add_process(shell.id()).expect("move into the group");
    use std::io::Write;
    writeln!(shell.stdin.take().unwrap(), "go").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while group.processes().unwrap().len() < 3 && Instant::now() < deadline {
        sleep(Duration::from_millis(10));
    }
    let pids = group.processes().unwrap();
    assert_eq!(pids.len(), 3, "sh and two sleeps: {pids:?}");
    group.kill_all().expect("kill all");
    assert!(group.processes().unwrap().is_empty());
    let _ = shell.wait();
    for pid in pids {
        assert!(!alive(pid as u32), "{pid} survived");
    }
    let dir = group.path().to_owned();
    group.remove().expect("remove");
    assert!(!Path::new(&dir).exists());
}

#[test]
fn names_that_climb_out_are_refused() {
    let Some(cgroups) = cgroups() else { return };
    let err = cgroups.create("../escape").unwrap_err();
    assert!(matches!(err, CgroupError::BadName { .. }), "{err}");
}

/// The launcher puts the command in the group before it runs: the process started through it
/// (the same pid as the launcher) is listed in the group, and so is a child it forks at once.
#[test]
fn a_command_started_through_the_launcher_runs_inside_the_group() {
    let Some(cgroups) = cgroups() else { return };
    let group = group(&cgroups, "launcher");
    let line = group.launcher(&[
        "sh".to_string(),
        "-c".to_string(),
        "sleep 30 & wait".to_string(),
    ]);
    let mut child = Command::new(&line[0])
        .args(&line[1..])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let procs = group.processes().unwrap();
        if procs.contains(&pid) && procs.len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} and its child not in the group: {procs:?}"
        );
        sleep(Duration::from_millis(10));
    }
    group.remove().expect("remove");
    let _ = child.wait();
}
