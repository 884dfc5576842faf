//! Finding where this process may create groups: the cgroup mounts of `/proc/self/mountinfo`
//! and this process's own groups of `/proc/self/cgroup`.
//!
//! Groups are created *beneath this process's own group* in each hierarchy, never beside it,
//! so whatever limits and accounting the process already lives under also cover the groups
//! it makes. cgroup v1 is used when its `memory`, `cpu`, `cpuacct` and `freezer`
//! controllers are all mounted (a hybrid machine has v1 controllers and an empty v2 mount);
//! cgroup v2 when its unified hierarchy offers `memory` and `cpu` to this process's group.

use std::path::{Path, PathBuf};

use crate::error::CgroupError;

/// The cgroup interface in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// One hierarchy per controller (`/sys/fs/cgroup/memory`, `…/cpu`, …).
    V1,
    /// The unified hierarchy.
    V2,
}

/// The v1 controllers used, in the order their directories are listed.
pub const V1_CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "freezer"];

/// One group's directories: one per v1 controller (co-mounted controllers share one), or
/// one in v2. This process's own group, found here, is where groups are made beneath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dirs {
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

impl Dirs {
    /// The child group `name` of this one, in every hierarchy.
    pub fn join(&self, name: &str) -> Dirs {
        match self {
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
        }
    }

    /// Every distinct directory, in a fixed order.
    pub fn all(&self) -> Vec<PathBuf> {
        let dirs = match self {
            Dirs::V1 {
                memory,
                cpu,
                cpuacct,
                freezer,
            } => vec![memory, cpu, cpuacct, freezer],
            Dirs::V2 { dir } => vec![dir],
        };
        let mut unique: Vec<PathBuf> = Vec::new();
        for d in dirs {
            if !unique.contains(d) {
                unique.push(d.clone());
            }
        }
        unique
    }

    /// The directory a group's processes are listed in (v1: the memory hierarchy's).
    pub fn main(&self) -> &Path {
        match self {
            Dirs::V1 { memory, .. } => memory,
            Dirs::V2 { dir } => dir,
        }
    }
}

/// One line of `/proc/self/mountinfo` that mounts a cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The hierarchy's path that is mounted (`/` unless a container mounted a subtree).
    pub root: String,
    pub point: PathBuf,
    /// `cgroup` or `cgroup2`.
    pub fstype: String,
    /// Super options: for v1 the controllers (`rw,memory`).
    pub options: Vec<String>,
}

/// The cgroup mounts of a mountinfo text.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let mut rest = after.split(' ');
            let fstype = rest.next()?;
            let _source = rest.next()?;
            let options = rest.next().unwrap_or_default();
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(Mount {
                root: unescape(fields.get(3)?),
                point: PathBuf::from(unescape(fields.get(4)?)),
                fstype: fstype.to_owned(),
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` (octal).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/proc/self/cgroup` as (controllers, path) pairs; v2's line has no controllers.
pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some((controllers, path.to_owned()))
        })
        .collect()
}

/// The directory of this process's group inside `mount`, given its path in the hierarchy.
fn own_dir(mount: &Mount, own: &str) -> PathBuf {
    let root = mount.root.trim_end_matches('/');
    let relative = own.strip_prefix(root).unwrap_or("");
    let relative = relative.trim_start_matches('/');
    if relative.is_empty() {
        mount.point.clone()
    } else {
        mount.point.join(relative)
    }
}

/// The v1 bases, or what is missing.
pub fn v1_bases(mounts: &[Mount], own: &[(Vec<String>, String)]) -> Result<Dirs, String> {
    let mut dirs = Vec::new();
    let mut missing = Vec::new();
    for controller in V1_CONTROLLERS {
        let mount = mounts
            .iter()
            .find(|m| m.fstype == "cgroup" && m.options.iter().any(|o| o == controller));
        let path = own
            .iter()
            .find(|(cs, _)| cs.iter().any(|c| c == controller))
            .map(|(_, p)| p.as_str());
        match (mount, path) {
            (Some(m), Some(p)) => dirs.push(own_dir(m, p)),
            _ => missing.push(controller),
        }
    }
    if !missing.is_empty() {
        return Err(format!("cgroup v1 lacks {}", missing.join(", ")));
    }
    let mut dirs = dirs.into_iter();
    let mut next = || dirs.next().expect("one directory per controller");
    Ok(Dirs::V1 {
        memory: next(),
        cpu: next(),
        cpuacct: next(),
        freezer: next(),
    })
}

/// The v2 base (its controllers are checked by the caller), or what is missing.
pub fn v2_base(mounts: &[Mount], own: &[(Vec<String>, String)]) -> Result<Dirs, String> {
    let mount = mounts
        .iter()
        .find(|m| m.fstype == "cgroup2")
        .ok_or("no cgroup2 mount")?;
    let path = own
        .iter()
        .find(|(cs, _)| cs.is_empty())
        .map(|(_, p)| p.as_str())
        .ok_or("no v2 line in /proc/self/cgroup")?;
    Ok(Dirs::V2 {
        dir: own_dir(mount, path),
    })
}

/// Whether a v2 group offers `memory` and `cpu` to groups beneath it.
pub fn v2_controllers_ok(base: &Path) -> Result<(), String> {
    let file = base.join("cgroup.controllers");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let offered: Vec<&str> = text.split_whitespace().collect();
    let missing: Vec<&str> = ["memory", "cpu"]
        .into_iter()
        .filter(|c| !offered.contains(c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the cgroup v2 group {} is not offered {} (offered: {})",
            base.display(),
            missing.join(", "),
            text.trim()
        ))
    }
}

/// The bases of this machine: v1 if complete, else v2, else why neither.
pub fn detect_bases() -> Result<(Version, Dirs), CgroupError> {
    let read = |p: &str| {
        std::fs::read_to_string(p).map_err(|e| CgroupError::NotAvailable {
            reason: format!("cannot read {p}: {e}"),
        })
    };
    let mounts = parse_mountinfo(&read("/proc/self/mountinfo")?);
    let own = parse_proc_cgroup(&read("/proc/self/cgroup")?);
    let v1 = match v1_bases(&mounts, &own) {
        Ok(bases) => return Ok((Version::V1, bases)),
        Err(why) => why,
    };
    let v2 = v2_base(&mounts, &own).and_then(|bases| {
        if let Dirs::V2 { dir } = &bases {
            v2_controllers_ok(dir)?;
        }
        Ok(bases)
    });
    match v2 {
        Ok(bases) => Ok((Version::V2, bases)),
        Err(why) => Err(CgroupError::NotAvailable {
            reason: format!("{v1}; {why}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str = "\
6:freezer:/
4:memory:/jobs/42
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn v1_bases_sit_beneath_the_own_group_of_each_hierarchy() {
        let bases = v1_bases(&parse_mountinfo(HYBRID), &parse_proc_cgroup(HYBRID_SELF));
        assert_eq!(
            bases.unwrap(),
            Dirs::V1 {
                memory: "/sys/fs/cgroup/memory/jobs/42".into(),
                cpu: "/sys/fs/cgroup/cpu".into(),
                cpuacct: "/sys/fs/cgroup/cpuacct".into(),
                freezer: "/sys/fs/cgroup/freezer".into(),
            }
        );
    }

    #[test]
    fn co_mounted_cpu_and_cpuacct_share_a_directory() {
        let mounts = parse_mountinfo(
            "1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
             2 0 0:2 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             3 0 0:3 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n",
        );
        let own = parse_proc_cgroup("3:cpu,cpuacct:/a\n2:memory:/a\n1:freezer:/a\n");
        let Ok(Dirs::V1 { cpu, cpuacct, .. }) = v1_bases(&mounts, &own) else {
            panic!("v1 expected");
        };
        assert_eq!(cpu, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/a"));
        assert_eq!(cpu, cpuacct);
    }

    #[test]
    fn a_missing_v1_controller_is_named() {
        let mounts: Vec<Mount> = parse_mountinfo(HYBRID)
            .into_iter()
            .filter(|m| !m.options.contains(&"freezer".to_owned()))
            .collect();
        let err = v1_bases(&mounts, &parse_proc_cgroup(HYBRID_SELF)).unwrap_err();
        assert_eq!(err, "cgroup v1 lacks freezer");
    }

    #[test]
    fn v2_base_is_the_own_group_under_the_unified_mount() {
        let mounts = parse_mountinfo("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_proc_cgroup("0::/user.slice/run.scope\n");
        assert_eq!(
            v2_base(&mounts, &own).unwrap(),
            Dirs::V2 {
                dir: "/sys/fs/cgroup/user.slice/run.scope".into()
            }
        );
    }

    #[test]
    fn a_container_mount_of_a_subtree_is_followed() {
        let mounts =
            parse_mountinfo("1 0 0:1 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_proc_cgroup("0::/docker/abc/inner\n");
        assert_eq!(
            v2_base(&mounts, &own).unwrap(),
            Dirs::V2 {
                dir: "/sys/fs/cgroup/inner".into()
            }
        );
    }

    #[test]
    fn escaped_mount_points_are_unescaped() {
        let mounts = parse_mountinfo("1 0 0:1 / /mnt/a\\040b rw - cgroup2 cgroup2 rw\n");
        assert_eq!(mounts[0].point, PathBuf::from("/mnt/a b"));
    }
}
