//! [`Cgroups`]: the control groups this process may use (which interface, where), creating
//! groups in them, and sweeping the groups a killed process left behind.

use std::fs;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use crate::error::CgroupError;
use crate::group::{Group, read, write};
use crate::mounts::{Dirs, Version, detect_bases};

/// The control groups this process may create: where, and which interface.
#[derive(Debug, Clone)]
pub struct Cgroups {
    version: Version,
    bases: Dirs,
}

impl Cgroups {
    /// The control groups of this machine, beneath this process's own groups; an error
    /// that says what is missing when there are none to use.
    pub fn detect() -> Result<Self, CgroupError> {
        let (version, bases) = detect_bases()?;
        Ok(Self { version, bases })
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// One line for logs and results: interface and where groups go.
    pub fn describe(&self) -> String {
        match &self.bases {
            Dirs::V1 {
                memory,
                cpu,
                freezer,
                ..
            } => format!(
                "cgroup v1 (memory under {}, cpu under {}, freezer under {})",
                memory.display(),
                cpu.display(),
                freezer.display()
            ),
            Dirs::V2 { dir } => format!("cgroup v2 under {}", dir.display()),
        }
    }

    /// Creates the group `name` (a relative path such as `tgbench/run-42`) beneath this
    /// process's groups, with any missing parents. When the group is dropped its directory
    /// is removed, and its parents too if that leaves them empty.
    pub fn create(&self, name: &str) -> Result<Group, CgroupError> {
        check_name(name)?;
        if let Dirs::V2 { dir } = &self.bases {
            enable_v2_controllers(dir)?;
        }
        let mut group = self.group(name);
        let bases = self.bases.all();
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        for base in bases {
            let mut dir = base;
            for (i, part) in parts.iter().enumerate() {
                dir = dir.join(part);
                // Another group may remove a shared parent between its mkdir and this
                // one's child: make it again.
                let mut attempts = 0;
                while let Err(e) = group.make_dir(&dir) {
                    attempts += 1;
                    let gone_parent = matches!(&e, CgroupError::Create { source, .. } if source.kind() == ErrorKind::NotFound);
                    if !gone_parent || attempts == 5 {
                        return Err(e);
                    }
                    let mut again = dir.parent().map(Path::to_path_buf).unwrap_or_default();
                    let mut stack = Vec::new();
                    while !again.exists() && again.parent().is_some() {
                        stack.push(again.clone());
                        again = again.parent().map(Path::to_path_buf).unwrap_or_default();
                    }
                    for missing in stack.into_iter().rev() {
                        let _ = fs::create_dir(&missing);
                        if !group.created.contains(&missing) {
                            group.created.push(missing);
                        }
                    }
                }
                let parent = i + 1 < parts.len();
                // A shared parent (`tgbench`) is removed by whichever group leaves it empty.
                if parent && !group.created.contains(&dir) {
                    group.created.push(dir.clone());
                }
                if self.version == Version::V2 && parent {
                    enable_v2_controllers(&dir)?;
                }
            }
        }
        Ok(group)
    }
}

impl Cgroups {
    /// Removes the groups directly beneath `parent` (e.g. `tgbench`) whose name `stale`
    /// picks, with everything beneath them: their processes killed (a frozen one thawed to
    /// die), their directories removed, deepest first. For groups a killed process left
    /// behind. Returns the names removed.
    pub fn remove_stale(&self, parent: &str, stale: impl Fn(&str) -> bool) -> Vec<String> {
        if check_name(parent).is_err() {
            return Vec::new();
        }
        let first = self.bases.main().join(parent);
        let Ok(entries) = fs::read_dir(&first) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_dir() || !stale(&name) {
                continue;
            }
            let mut tree = Vec::new();
            subtree(&entry.path(), Path::new(&name), &mut tree);
            tree.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
            for relative in tree {
                let name = format!("{parent}/{}", relative.display());
                let group = self.existing(&name);
                let _ = group.remove();
            }
            removed.push(name);
        }
        removed
    }

    /// The group `name`, owning no directory yet.
    fn group(&self, name: &str) -> Group {
        Group {
            version: self.version,
            dirs: self.bases.join(name),
            created: Vec::new(),
            _parent: None,
        }
    }

    /// A group that already exists, owning its directories (removed on drop).
    fn existing(&self, name: &str) -> Group {
        let mut group = self.group(name);
        group.created = group
            .all_dirs()
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        group
    }
}

/// Every directory at and beneath `dir`, as paths relative to its parent.
fn subtree(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) {
    out.push(relative.to_owned());
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                subtree(&entry.path(), &relative.join(entry.file_name()), out);
            }
        }
    }
}

/// A name is relative, non-empty, and stays beneath its parent.
pub(crate) fn check_name(name: &str) -> Result<(), CgroupError> {
    let path = Path::new(name);
    let ok = !name.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::BadName {
            name: name.to_owned(),
        })
    }
}

/// v2: lets the children of `dir` use `memory` and `cpu`. Fails when `dir` holds processes
/// of its own (v2's no-internal-processes rule), with that said.
pub(crate) fn enable_v2_controllers(dir: &Path) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let current = read(&file)?;
    if current.contains("memory") && current.contains("cpu") {
        return Ok(());
    }
    write(&file, "+memory +cpu").map_err(|e| match e {
        CgroupError::Write { source, .. } if source.raw_os_error() == Some(nix::libc::EBUSY) => {
            CgroupError::NotAvailable {
                reason: format!(
                    "the cgroup v2 group {} holds processes, so it cannot hand memory and cpu \
                     to groups beneath it; run under a delegated group of its own \
                     (e.g. systemd-run --scope -p Delegate=yes)",
                    dir.display()
                ),
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_stay_beneath_their_parent() {
        assert!(check_name("tgbench/run-1").is_ok());
        for bad in ["", "/abs", "../up", "a/../../b", "."] {
            assert!(
                matches!(check_name(bad), Err(CgroupError::BadName { .. })),
                "{bad:?}"
            );
        }
    }
}
