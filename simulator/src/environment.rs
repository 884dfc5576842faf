//! The machine a run was measured on (figures mean little without it), and UTC times for
//! results and folder names.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tgbench_reports::results::Environment;

use crate::preflight::Machine;

/// Describes this machine; `pinning` says how SUT and harness were placed.
pub fn describe(machine: &Machine, pinning: &str) -> Environment {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Environment {
        cores: machine.cores as u32,
        cpu_model,
        os,
        kernel,
        git_revision: git_revision(),
        memory_total_mb: machine.mem_total_mb.round(),
        open_files_limit: machine.open_files,
        pinning: pinning.to_string(),
        sut_dies_with_tgbench: Some(crate::sut::have_setpriv()),
    }
}

/// `git describe --always --dirty` of the source folder this binary was built from, else
/// of the current directory, else "unknown".
pub fn git_revision() -> String {
    let try_in = |dir: Option<&str>| -> Option<String> {
        let mut cmd = Command::new("git");
        if let Some(d) = dir {
            cmd.args(["-C", d]);
        }
        let out = cmd
            .args(["describe", "--always", "--dirty", "--abbrev=12"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    try_in(Some(env!("CARGO_MANIFEST_DIR")))
        .or_else(|| try_in(None))
        .unwrap_or_else(|| "unknown".into())
}

/// Civil date (y, m, d, hh, mm, ss) in UTC of a Unix time.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3_600) as u32,
        (rem % 3_600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC of a Unix time: `2025-01-31T09:05:00Z`.
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

/// Now, compact UTC for folder names: `20250131T090500Z`.
pub fn now_compact() -> String {
    let (y, m, d, hh, mm, ss) = civil(unix_now());
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_738_314_300), "2025-01-31T09:05:00Z");
        assert_eq!(now_compact().len(), 16);
    }

    #[test]
    fn describes_this_machine() {
        let e = describe(&Machine::probe(), "not pinned");
        assert!(e.cores >= 1);
        assert!(!e.cpu_model.is_empty() && !e.os.is_empty());
        assert_eq!(e.pinning, "not pinned");
    }
}
