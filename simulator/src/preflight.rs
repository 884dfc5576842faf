//! Before anything starts: does the scenario fit this machine? Open files, ephemeral
//! ports and memory, against what the kernel allows. A scenario that cannot fit is refused
//! with the reason and the fix, instead of failing halfway with "Too many open files".
//!
//! The estimates are deliberately simple and stated in the messages: the embedded mock
//! holds one socket per long-polling bot (plus those of webhook deliveries in flight), the
//! SUT holds the other end of each, and every such connection takes an ephemeral port of
//! the one (SUT address, mock address:port) pair.

use std::fmt;

use crate::scenario::{Kind, Scenario};
use crate::schedule::MAX_SENDS;

/// File descriptors the harness (or a SUT) needs besides its bot connections: runtime,
/// listeners, stdio, logs, the tokens file, HTTP clients.
pub const BASE_FILES: u64 = 64;

/// What this machine allows, read from /proc.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub cores: usize,
    /// Soft RLIMIT_NOFILE of this process (what `ulimit -n` says).
    pub open_files: u64,
    /// Hard RLIMIT_NOFILE: the most the soft limit can be raised to.
    pub open_files_hard: u64,
    /// Size of net.ipv4.ip_local_port_range: connections per address pair.
    pub ephemeral_ports: u64,
    pub port_range: (u64, u64),
    pub mem_total_mb: f64,
    pub mem_available_mb: f64,
}

impl Machine {
    /// Reads this machine's limits. Unreadable values fall back to conservative defaults.
    pub fn probe() -> Machine {
        let (open_files, open_files_hard) = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|t| parse_open_files(&t))
            .unwrap_or((1024, 1024));
        let port_range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|t| parse_port_range(&t))
            .unwrap_or((32768, 60999));
        let (mem_total_mb, mem_available_mb) = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .map(|t| parse_meminfo(&t))
            .unwrap_or((1024.0, 512.0));
        Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            open_files,
            open_files_hard,
            ephemeral_ports: port_range.1.saturating_sub(port_range.0) + 1,
            port_range,
            mem_total_mb,
            mem_available_mb,
        }
    }
}

/// Raises this process's soft open-files limit to the hard limit (children inherit it).
/// Returns the soft limit in force afterwards.
pub fn raise_open_files_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => Machine::probe().open_files,
    }
}

/// `Max open files  20000  20000  files` from /proc/self/limits → (soft, hard).
pub fn parse_open_files(limits: &str) -> Option<(u64, u64)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let num = |s: Option<&str>| -> Option<u64> {
        match s? {
            "unlimited" => Some(u64::MAX),
            n => n.parse().ok(),
        }
    };
    Some((num(fields.next())?, num(fields.next())?))
}

/// `32768\t60999` → (32768, 60999).
pub fn parse_port_range(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace().map(|s| s.parse::<u64>());
    match (it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) if lo <= hi => Some((lo, hi)),
        _ => None,
    }
}

/// (MemTotal, MemAvailable) in MiB from /proc/meminfo.
pub fn parse_meminfo(text: &str) -> (f64, f64) {
    let field = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// What a scenario needs at a given bot count (the largest over its SUTs).
#[derive(Debug, Clone, PartialEq)]
pub struct Needs {
    pub bots: u64,
    /// Open files in the harness process (which embeds the mock).
    pub harness_files: u64,
    /// Open files in the SUT process.
    pub sut_files: u64,
    /// Connections between the SUT and the mock's single address:port.
    pub connections: u64,
    /// Harness memory, MiB (mock state, connections, the schedule).
    pub harness_memory_mb: f64,
    /// Scheduled sends of the longest segment.
    pub sends: u64,
    /// Which SUT kind needs the most connections, for messages.
    pub worst_kind: Kind,
}

/// Connections one SUT of `kind` holds with the mock at `bots` bots.
fn connections(s: &Scenario, kind: Kind, bots: u64) -> u64 {
    match kind {
        // One held getUpdates per bot; hybrid and unknown servers may poll every bot.
        Kind::Polling | Kind::Hybrid | Kind::Command | Kind::External => bots,
        // Deliveries in flight (and as many API calls back), with a wide margin.
        // Serverless: deliveries to the function URL, and each environment's API calls.
        Kind::Webhook | Kind::Serverless => {
            let rtt_s = s.telegram.rtt_ms / 1000.0;
            let in_flight = (s.peak_rate_per_s(bots) * (2.0 * rtt_s + 0.5) * 4.0).ceil() as u64;
            2 * in_flight.max(64).min(bots.max(1))
        }
    }
}

/// The needs of `scenario` at `bots` bots.
pub fn needs(s: &Scenario, bots: u64) -> Needs {
    let s = s.with_bots(bots);
    let (worst_kind, conns) = s
        .suts
        .iter()
        .map(|sut| (sut.kind, connections(&s, sut.kind, bots)))
        .max_by_key(|(_, c)| *c)
        .unwrap_or((Kind::Polling, bots));
    let sends = s
        .segments()
        .iter()
        .map(|seg| crate::schedule::expected_sends(&seg.load, bots, seg.duration).ceil() as u64)
        .max()
        .unwrap_or(0);
    Needs {
        bots,
        harness_files: BASE_FILES + conns,
        sut_files: BASE_FILES + conns,
        connections: conns,
        // 40 MiB base, ~48 KiB per connection (buffers of both HTTP ends, mock state),
        // 96 B per scheduled send.
        harness_memory_mb: 40.0 + conns as f64 * 48.0 / 1024.0 + sends as f64 * 96.0 / 1048576.0,
        sends,
        worst_kind,
    }
}

/// Which limit of the machine a scenario hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    OpenFiles,
    EphemeralPorts,
    Memory,
    ScheduleSize,
}

/// A scenario that does not fit: which limit, and a message with the reason and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct Refusal {
    pub limit: Limit,
    /// The machine's value of the limit (files, ports, MiB, sends).
    pub allowed: u64,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Refusal {
    /// Short form for capacity curves: `machine: open files (20000)`.
    pub fn short(&self) -> String {
        let what = match self.limit {
            Limit::OpenFiles => "open files",
            Limit::EphemeralPorts => "ephemeral ports",
            Limit::Memory => "memory MiB",
            Limit::ScheduleSize => "schedule size",
        };
        format!("machine: {what} ({})", self.allowed)
    }
}

/// Checks `scenario` at `bots` bots against `machine`.
pub fn check(s: &Scenario, bots: u64, m: &Machine) -> Result<Needs, Refusal> {
    let n = needs(s, bots);
    let largest = |fits: &dyn Fn(&Needs) -> bool| -> u64 {
        // Largest bot count that fits, by bisection on the same estimate.
        let (mut lo, mut hi) = (0u64, bots);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(&needs(s, mid)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    };
    let per_conn = match n.worst_kind {
        Kind::Webhook | Kind::Serverless => "webhook deliveries in flight and API calls",
        _ => "1 per bot connection: each polling bot holds a getUpdates open",
    };
    let files_allowed = m.open_files;
    if n.harness_files.max(n.sut_files) > files_allowed {
        let max = largest(&|x: &Needs| x.harness_files.max(x.sut_files) <= files_allowed);
        return Err(Refusal {
            limit: Limit::OpenFiles,
            allowed: files_allowed,
            message: format!(
                "scenario needs ~{} open files in the harness process ({per_conn}, plus {BASE_FILES}) \
                 and as many in the SUT; this machine allows {} per process (ulimit -n{}). \
                 Lower [telegram] bots to ≤ {}, or run the mock as a separate process",
                group(n.harness_files),
                group(files_allowed),
                if m.open_files_hard > files_allowed {
                    format!(
                        "; raise it up to {} with ulimit -n",
                        group(m.open_files_hard)
                    )
                } else {
                    ", the hard limit".to_string()
                },
                group(max),
            ),
        });
    }
    if n.connections > m.ephemeral_ports {
        let max = largest(&|x: &Needs| x.connections <= m.ephemeral_ports);
        return Err(Refusal {
            limit: Limit::EphemeralPorts,
            allowed: m.ephemeral_ports,
            message: format!(
                "scenario needs ~{} connections between the SUT and the mock's one address:port \
                 ({per_conn}); this machine has {} ephemeral ports per address pair \
                 (net.ipv4.ip_local_port_range = {} {}). Lower [telegram] bots to ≤ {}, or widen the range",
                group(n.connections),
                group(m.ephemeral_ports),
                m.port_range.0,
                m.port_range.1,
                group(max),
            ),
        });
    }
    if n.sends > MAX_SENDS {
        return Err(Refusal {
            limit: Limit::ScheduleSize,
            allowed: MAX_SENDS,
            message: format!(
                "scenario schedules ~{} messages in one segment; tgbench holds at most {} in memory. \
                 Shorten duration_s or lower messages_per_bot_per_min",
                group(n.sends),
                group(MAX_SENDS)
            ),
        });
    }
    let budget = m.mem_available_mb * 0.8;
    if n.harness_memory_mb > budget {
        let max = largest(&|x: &Needs| x.harness_memory_mb <= budget);
        return Err(Refusal {
            limit: Limit::Memory,
            allowed: m.mem_available_mb as u64,
            message: format!(
                "scenario needs ~{:.0} MiB in the harness (mock state, connections, schedule); \
                 {:.0} MiB is available (MemAvailable) and tgbench uses at most 80 % of it. \
                 Lower [telegram] bots to ≤ {}, or the message rate",
                n.harness_memory_mb,
                m.mem_available_mb,
                group(max)
            ),
        });
    }
    Ok(n)
}

/// 24010 → "24,010".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            cores: 2,
            open_files: 20_000,
            open_files_hard: 20_000,
            ephemeral_ports: 28_232,
            port_range: (32768, 60999),
            mem_total_mb: 24_000.0,
            mem_available_mb: 20_000.0,
        }
    }

    fn scenario(kind: &str, bots: u64) -> Scenario {
        crate::scenario::parse(
            &format!(
                "name = \"t\"\nduration_s = 10\n[telegram]\nbots = {bots}\nrtt_ms = 50\n\
                 [load]\nmodel = \"poisson\"\nmessages_per_bot_per_min = 1\n\
                 [[sut]]\nname = \"s\"\nkind = \"{kind}\"\n"
            ),
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn parses_proc_files() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 20000                files     \n";
        assert_eq!(parse_open_files(limits), Some((1024, 20_000)));
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        let (t, a) = parse_meminfo(
            "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   20480000 kB\n",
        );
        assert_eq!((t, a), (24_000.0, 20_000.0));
    }

    #[test]
    fn a_million_polling_bots_are_refused_up_front_with_the_fix() {
        let s = scenario("polling", 1_000_000);
        let r = check(&s, 1_000_000, &machine()).unwrap_err();
        assert_eq!(r.limit, Limit::OpenFiles);
        assert!(r.message.contains("~1,000,064 open files"), "{}", r.message);
        assert!(
            r.message.contains("allows 20,000 per process"),
            "{}",
            r.message
        );
        assert!(
            r.message.contains("Lower [telegram] bots to ≤ 19,936"),
            "{}",
            r.message
        );
        assert_eq!(r.short(), "machine: open files (20000)");
    }

    #[test]
    fn the_edge_of_the_open_files_limit() {
        let s = scenario("polling", 100);
        assert!(check(&s, 19_936, &machine()).is_ok());
        assert!(check(&s, 19_937, &machine()).is_err());
    }

    #[test]
    fn ports_limit_when_files_allow_more() {
        let mut m = machine();
        m.open_files = 1_000_000;
        let s = scenario("polling", 30_000);
        let r = check(&s, 30_000, &m).unwrap_err();
        assert_eq!(r.limit, Limit::EphemeralPorts);
        assert!(r.message.contains("≤ 28,232"), "{}", r.message);
    }

    #[test]
    fn webhooks_need_connections_for_deliveries_in_flight_only() {
        let s = scenario("webhook", 20_000);
        let n = check(&s, 20_000, &machine()).unwrap();
        // 20,000 bots × 1/min = 333/s × (0.1 + 0.5 s) × 4 = 800 in flight, ×2 = 1,600
        // (not one per bot, as for polling).
        assert!((1_590..=1_610).contains(&n.connections), "{n:?}");
    }

    #[test]
    fn memory_limit() {
        let mut m = machine();
        m.mem_available_mb = 50.0;
        let s = scenario("webhook", 100);
        let r = check(&s, 100, &m).unwrap_err();
        assert_eq!(r.limit, Limit::Memory);
    }

    #[test]
    fn probe_reads_this_machine() {
        let m = Machine::probe();
        assert!(m.cores >= 1 && m.open_files >= 64 && m.ephemeral_ports > 1000);
        assert!(m.mem_total_mb > 100.0);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(24_010), "24,010");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
