//! Where the SUT and the harness run: the SUTs on the CPUs their `cpus` name, the harness
//! (and the mock it embeds) on the others, when the machine allows it; otherwise nothing is
//! pinned and the results say why. Decided once per run, beside [`crate::preflight`]'s
//! other question about this machine.

use std::process::{Command, Stdio};

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

use crate::scenario::{Scenario, Sut};

/// CPU placement of SUT and harness.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// CPUs for the SUT (None: not pinned).
    pub sut: Option<Vec<usize>>,
    /// CPUs for the harness (None: not pinned).
    pub harness: Option<Vec<usize>>,
    /// Said in results: "SUT on CPU 1, harness on CPU 0", "not pinned: 1 core".
    pub note: String,
}

impl Placement {
    /// The placement of a scenario on a machine with `cores` cores: its SUTs on every CPU
    /// any of them asks for, the harness on the cores none asks for.
    pub fn for_scenario(scn: &Scenario, cores: usize) -> Placement {
        let mut wanted: Vec<usize> = scn
            .suts
            .iter()
            .filter_map(|s| s.cpus.as_ref())
            .flat_map(|c| c.0.iter().copied())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let any = scn.suts.iter().any(|s| s.cpus.is_some());
        placement(
            any.then_some(wanted.as_slice()),
            cores,
            any && have_taskset(),
        )
    }

    /// The CPUs a SUT is pinned to, if the placement allows pinning at all.
    pub fn sut_cpus<'a>(&self, s: &'a Sut) -> Option<&'a [usize]> {
        self.sut.as_ref()?;
        s.cpus.as_ref().map(|c| c.0.as_slice())
    }

    /// Cores a SUT may use: its pinned CPUs, else all `cores`.
    pub fn sut_cores(&self, s: &Sut, cores: usize) -> usize {
        self.sut_cpus(s).map(<[usize]>::len).unwrap_or(cores)
    }

    /// Cores the harness may use: its pinned CPUs, else all `cores`.
    pub fn harness_cores(&self, cores: usize) -> usize {
        self.harness.as_ref().map(Vec::len).unwrap_or(cores)
    }

    /// Pins the calling thread (and every thread it starts afterwards) to the harness's
    /// CPUs, until the returned guard is dropped (on the same thread).
    pub fn pin_harness(&self) -> Pinned {
        Pinned {
            before: self.harness.as_deref().and_then(pin_current_thread),
        }
    }
}

/// Where SUT and harness go, given the SUT's `cpus` and the machine's core count: the SUT
/// on its CPUs and the harness on the others, when there are at least two cores, every
/// requested CPU exists and at least one is left for the harness.
pub fn placement(cpus: Option<&[usize]>, cores: usize, taskset: bool) -> Placement {
    let plural = |v: &[usize]| {
        let list: Vec<String> = v.iter().map(|c| c.to_string()).collect();
        format!(
            "CPU{} {}",
            if v.len() > 1 { "s" } else { "" },
            list.join(",")
        )
    };
    let unpinned = |note: String| Placement {
        sut: None,
        harness: None,
        note,
    };
    let Some(cpus) = cpus else {
        return unpinned("not pinned: no cpus given".into());
    };
    if cores < 2 {
        return unpinned(format!("not pinned: {cores} core"));
    }
    if let Some(bad) = cpus.iter().find(|&&c| c >= cores) {
        return unpinned(format!(
            "not pinned: CPU {bad} does not exist ({cores} cores)"
        ));
    }
    if !taskset {
        return unpinned("not pinned: taskset not found".into());
    }
    let rest: Vec<usize> = (0..cores).filter(|c| !cpus.contains(c)).collect();
    if rest.is_empty() {
        return Placement {
            sut: Some(cpus.to_vec()),
            harness: None,
            note: format!("SUT on {}, harness not pinned (no core left)", plural(cpus)),
        };
    }
    Placement {
        note: format!("SUT on {}, harness on {}", plural(cpus), plural(&rest)),
        sut: Some(cpus.to_vec()),
        harness: Some(rest),
    }
}

/// Whether `taskset` (which pins a SUT) can be run.
pub fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The harness pinned by [`Placement::pin_harness`]; dropping it puts the thread back on
/// the CPUs it had.
pub struct Pinned {
    before: Option<CpuSet>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(before) = &self.before {
            let _ = sched_setaffinity(Pid::from_raw(0), before);
        }
    }
}

/// Pins the calling thread to `cpus`; returns the set it had.
fn pin_current_thread(cpus: &[usize]) -> Option<CpuSet> {
    let me = Pid::from_raw(0);
    let before = sched_getaffinity(me).ok()?;
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).ok()?;
    }
    sched_setaffinity(me, &set).ok()?;
    Some(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_rules() {
        let p = placement(Some(&[1]), 2, true);
        assert_eq!(p.sut, Some(vec![1]));
        assert_eq!(p.harness, Some(vec![0]));
        assert_eq!(p.note, "SUT on CPU 1, harness on CPU 0");
        assert_eq!(placement(Some(&[1]), 1, true).note, "not pinned: 1 core");
        assert_eq!(placement(Some(&[3]), 2, true).sut, None);
        assert_eq!(placement(None, 2, true).sut, None);
        let all = placement(Some(&[0, 1]), 2, true);
        assert_eq!(all.harness, None);
        assert_eq!(placement(Some(&[1]), 2, false).sut, None);
    }

    #[test]
    fn a_scenario_places_the_union_of_its_suts_cpus() {
        let scn = crate::scenario::parse(
            "name = \"p\"\nduration_s = 1\n[telegram]\nbots = 1\n\
             [[sut]]\nname = \"a\"\nkind = \"polling\"\ncpus = \"2\"\n\
             [[sut]]\nname = \"b\"\nkind = \"webhook\"\ncpus = \"1,2\"\n\
             [[sut]]\nname = \"c\"\nkind = \"webhook\"",
            "p.toml",
        )
        .unwrap();
        let p = Placement::for_scenario(&scn, 4);
        if !have_taskset() {
            assert_eq!(p.note, "not pinned: taskset not found");
            return;
        }
        assert_eq!(p.sut, Some(vec![1, 2]));
        assert_eq!(p.harness, Some(vec![0, 3]));
        assert_eq!(p.sut_cpus(&scn.suts[0]), Some(&[2][..]));
        assert_eq!(p.sut_cores(&scn.suts[1], 4), 2);
        assert_eq!(p.sut_cores(&scn.suts[2], 4), 4, "no cpus: every core");
        assert_eq!(p.harness_cores(4), 2);
    }
}
