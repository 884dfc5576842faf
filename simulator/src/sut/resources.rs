//! Where a deployment's CPU and memory figures come from. For the process-tree shape: the
//! tree under each replica's root process (one for a single SUT), read from /proc by
//! [`crate::sampler::Sampler`]; a root changes when a fault restarts its replica, and the
//! source follows it. For the serverless shape: the tree below the platform's process (the
//! execution environments), without the platform itself, whose cost is overhead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A handle the monitor samples through; cheap to clone, shared with the deployment that
/// keeps it current.
#[derive(Clone, Debug, Default)]
pub struct ResourceSource {
    /// The root process of each replica's tree (0: none now).
    roots: Arc<Vec<AtomicU32>>,
    /// Whether a root process itself counts (false: only its descendants).
    root_counts: bool,
}

impl ResourceSource {
    /// The tree under `root`.
    pub fn process_tree(root: u32) -> ResourceSource {
        ResourceSource::replicas(&[root])
    }

    /// The trees under each of `roots`, one per replica of a fleet.
    pub fn replicas(roots: &[u32]) -> ResourceSource {
        ResourceSource {
            roots: Arc::new(roots.iter().map(|&r| AtomicU32::new(r)).collect()),
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

    /// The root process to sample now (the first replica's); None when there is none.
    pub fn root(&self) -> Option<u32> {
        self.roots().into_iter().next().flatten()
    }

    /// Each replica's root process now (None: gone or not started again yet).
    pub fn roots(&self) -> Vec<Option<u32>> {
        self.roots
            .iter()
            .map(|r| {
                let pid = r.load(Ordering::Relaxed);
                (pid != 0).then_some(pid)
            })
            .collect()
    }

    /// From now on replica `replica`'s tree is under `root` (a restarted replica).
    pub(super) fn set_root(&self, replica: usize, root: u32) {
        if let Some(r) = self.roots.get(replica) {
            r.store(root, Ordering::Relaxed);
        }
    }
}
