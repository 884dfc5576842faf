//! Where a deployment's CPU and memory figures come from. For the process-tree shape: the
//! tree under each part's root process — one for a single SUT, one per replica of a fleet,
//! and one more for a proxy in front (`nginx`) — read from /proc by
//! [`crate::sampler::Sampler`], summed, and kept per part; a root changes when a fault
//! restarts its replica, and the source follows it. For the serverless shape: the tree
//! below the platform's process (the execution environments), without the platform
//! itself, whose cost is overhead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A handle the monitor samples through; cheap to clone, shared with the deployment that
/// keeps it current.
#[derive(Clone, Debug, Default)]
pub struct ResourceSource {
    /// Each part's name and the root process of its tree (0: none now).
    parts: Arc<Vec<(String, AtomicU32)>>,
    /// Whether a root process itself counts (false: only its descendants).
    root_counts: bool,
}

impl ResourceSource {
    /// The tree under `root`.
    pub fn process_tree(root: u32) -> ResourceSource {
        ResourceSource::replicas(&[root])
    }

    /// The trees under each of `roots`, one per replica of a fleet (named by index).
    pub fn replicas(roots: &[u32]) -> ResourceSource {
        let named: Vec<(String, u32)> = roots
            .iter()
            .enumerate()
            .map(|(i, &r)| (i.to_string(), r))
            .collect();
        ResourceSource::parts(named)
    }

    /// The trees under each named root.
    pub fn parts(parts: Vec<(String, u32)>) -> ResourceSource {
        ResourceSource {
            parts: Arc::new(
                parts
                    .into_iter()
                    .map(|(n, r)| (n, AtomicU32::new(r)))
                    .collect(),
            ),
            root_counts: true,
        }
    }

    /// The descendants of `root`, without it.
    pub fn below(root: u32) -> ResourceSource {
        ResourceSource {
            root_counts: false,
            ..ResourceSource::process_tree(root)
        }
    }

    /// Whether the root process itself is part of the figures.
    pub fn root_counts(&self) -> bool {
        self.root_counts
    }

    /// Each part's root process now (None: gone or not started again yet).
    pub fn roots(&self) -> Vec<Option<u32>> {
        self.parts
            .iter()
            .map(|(_, r)| {
                let pid = r.load(Ordering::Relaxed);
                (pid != 0).then_some(pid)
            })
            .collect()
    }

    /// The parts' names, in the order of [`ResourceSource::roots`].
    pub fn names(&self) -> Vec<String> {
        self.parts.iter().map(|(n, _)| n.clone()).collect()
    }

    /// From now on part `part`'s tree is under `root` (a restarted replica).
    pub(super) fn set_root(&self, part: usize, root: u32) {
        if let Some((_, r)) = self.parts.get(part) {
            r.store(root, Ordering::Relaxed);
        }
    }
}
