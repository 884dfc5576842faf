//! Where a deployment's CPU and memory figures come from. For the process-tree shape: the
//! tree under the SUT's root process, read from /proc by [`crate::sampler::Sampler`]; the
//! root changes when a fault restarts the SUT, and the source follows it. For the
//! serverless shape: the tree below the platform's process (the execution environments),
//! without the platform itself, whose cost is overhead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A handle the monitor samples through; cheap to clone, shared with the deployment that
/// keeps it current.
#[derive(Clone, Debug, Default)]
pub struct ResourceSource {
    /// The root process of the SUT's tree (0: none).
    root: Arc<AtomicU32>,
    /// Whether the root process itself counts (false: only its descendants).
    root_counts: bool,
}

impl ResourceSource {
    /// The tree under `root`.
    pub fn process_tree(root: u32) -> ResourceSource {
        ResourceSource {
            root: Arc::new(AtomicU32::new(root)),
            root_counts: true,
        }
    }

    /// The descendants of `root`, without it.
    pub fn below(root: u32) -> ResourceSource {
        ResourceSource {
            root: Arc::new(AtomicU32::new(root)),
            root_counts: false,
        }
    }

    /// Whether the root process itself is part of the figures.
    pub fn root_counts(&self) -> bool {
        self.root_counts
    }

    /// The root process to sample now; None when there is none.
    pub fn root(&self) -> Option<u32> {
        let pid = self.root.load(Ordering::Relaxed);
        (pid != 0).then_some(pid)
    }

    /// From now on the tree is under `root` (a restarted SUT).
    pub(super) fn set_root(&self, root: u32) {
        self.root.store(root, Ordering::Relaxed);
    }
}
