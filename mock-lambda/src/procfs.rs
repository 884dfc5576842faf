//! `/proc` figures: CPU time and resident memory of a process group (an environment without
//! control groups) and of this process (the platform's own overhead).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// CPU time and resident memory of some processes at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcUsage {
    /// User + system time, children that were waited for included (except in
    /// [`self_usage`]).
    pub cpu: Duration,
    pub rss_bytes: u64,
    /// How many processes were counted.
    pub processes: usize,
}

/// The fields of `/proc/PID/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    pgrp: i32,
    state: char,
    /// utime + stime + cutime + cstime, in clock ticks.
    ticks: u64,
    /// cutime + cstime: the children it waited for.
    child_ticks: u64,
    rss_pages: u64,
}

/// Parses `/proc/PID/stat` (the command name may hold spaces and parentheses).
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): index = field number - 3.
    let num = |field: usize| fields.get(field - 3)?.parse::<i64>().ok();
    let ticks = [14, 15, 16, 17]
        .iter()
        .map(|&f| num(f).map(|v| v.max(0) as u64))
        .sum::<Option<u64>>()?;
    let child_ticks = [16, 17]
        .iter()
        .map(|&f| num(f).map(|v| v.max(0) as u64))
        .sum::<Option<u64>>()?;
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: num(5)? as i32,
        ticks,
        child_ticks,
        rss_pages: num(24)?.max(0) as u64,
    })
}

fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100, |t| t as u64)
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as u64)
}

fn to_usage(stats: impl Iterator<Item = Stat>) -> ProcUsage {
    let (mut ticks, mut pages, mut processes) = (0, 0, 0);
    for s in stats {
        ticks += s.ticks;
        pages += s.rss_pages;
        processes += 1;
    }
    let hz = clock_ticks();
    ProcUsage {
        cpu: Duration::from_nanos(ticks * 1_000_000_000 / hz),
        rss_bytes: pages * page_size(),
        processes,
    }
}

/// Every live (not zombie) process whose process group is `pgid`: an environment's tree,
/// unless one of its processes left the group.
pub fn group_usage(pgid: i32) -> ProcUsage {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return ProcUsage::default();
    };
    let stats = dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let pid = name.to_str()?;
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let stat = parse_stat(&std::fs::read_to_string(entry.path().join("stat")).ok()?)?;
        (stat.pgrp == pgid && stat.state != 'Z').then_some(stat)
    });
    to_usage(stats)
}

/// This process: the platform's own cost (the whole process when it is embedded), without
/// the children it waited for: those are the environments' runtimes, counted as theirs.
pub fn self_usage() -> ProcUsage {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| parse_stat(&t));
    to_usage(stat.into_iter().map(without_children))
}

/// This process's CPU time (user + system, its threads, not its children), to the
/// microsecond: one `getrusage`, cheap enough for a timer.
pub fn self_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(Duration::ZERO, |u| {
        let tv = |t: nix::sys::time::TimeVal| {
            Duration::new(t.tv_sec().max(0) as u64, (t.tv_usec().max(0) as u32) * 1000)
        };
        tv(u.user_time()) + tv(u.system_time())
    })
}

/// `stat` without the CPU time of the children it waited for.
fn without_children(stat: Stat) -> Stat {
    Stat {
        ticks: stat.ticks - stat.child_ticks,
        child_ticks: 0,
        ..stat
    }
}

/// Whether `pid` has exited: a zombie waiting to be reaped, or gone.
pub fn exited(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
        .is_none_or(|s| s.state == 'Z')
}

/// Whether `pid` is alive: it has a `/proc` entry and is not a zombie.
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| parse_stat(&t))
        .is_some_and(|s| s.state != 'Z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 \
                    123 1000000 250 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            Stat {
                pgrp: 4242,
                state: 'S',
                ticks: 13,
                child_ticks: 3,
                rss_pages: 250
            }
        );
        // The platform's own figure leaves out its waited-for children (the runtimes).
        assert_eq!(without_children(s).ticks, 10);
    }

    #[test]
    fn this_process_is_counted() {
        let me = self_usage();
        assert_eq!(me.processes, 1);
        assert!(me.rss_bytes > 0);
        assert!(alive(std::process::id() as i32));
    }
}
