//! A SUT's CPU budget, `[[sut]] cpu_quota`: a control group of its own with a CFS quota
//! (cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, v2 `cpu.max`) through
//! `tgbench-cgroup`, the SUT started inside it from its first instruction. Where the machine
//! offers no cgroup CPU controller the SUT is refused with the reason: a budget is never
//! pretended.

use std::sync::atomic::{AtomicU32, Ordering};

use tgbench_cgroup::{CgroupError, Cgroups, Group, Version};
use tgbench_reports::results::CpuQuota;

use super::SutError;

/// The parent of every group tgbench makes (shared with the serverless platform's groups).
const PARENT_GROUP: &str = "tgbench";

/// A SUT's CPU budget in force. Dropping it kills whatever still runs in the group and
/// removes the group.
#[derive(Debug)]
pub struct CpuBudget {
    group: Group,
    record: CpuQuota,
}

impl CpuBudget {
    /// A new group held to `cores` (0.25 = a quarter of one core) for SUT `sut`.
    pub fn new(sut: &str, cores: f64) -> Result<CpuBudget, SutError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let refused = |source: CgroupError| SutError::CpuQuota {
            sut: sut.to_string(),
            cores,
            source,
        };
        let cgroups = Cgroups::detect().map_err(refused)?;
        // `<name>-<pid>-<n>`: the serverless platform's sweep of groups whose owner died
        // reads this shape, so a SIGKILLed tgbench's group is swept too.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PARENT_GROUP}/sut-{}-{n}", std::process::id());
        let group = cgroups.create(&name).map_err(refused)?;
        group.set_cpu_limit(cores).map_err(refused)?;
        let setting = group.cpu_limit().map_err(refused)?;
        let interface = match cgroups.version() {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        };
        Ok(CpuBudget {
            record: CpuQuota {
                cores,
                mechanism: format!("{interface} cpu controller: {setting}"),
            },
            group,
        })
    }

    /// `command` started inside the budget's group.
    pub fn launcher(&self, command: &[String]) -> Vec<String> {
        self.group.launcher(command)
    }

    /// What results say about it.
    pub fn record(&self) -> CpuQuota {
        self.record.clone()
    }

    /// The group (tests read its processes and usage).
    pub fn group(&self) -> &Group {
        &self.group
    }
}
