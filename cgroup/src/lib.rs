//! tgbench-cgroup: Linux control groups for tgbench, v1 and v2 behind one API.
//!
//! What a benchmark needs from cgroups and nothing more: put processes in a group, limit its
//! memory and CPU, freeze and thaw it, read the CPU time and memory the kernel charged to
//! it (however many processes came and went), kill everything in it, and remove it. The
//! emulated function service (`mock-lambda`) sizes each execution environment with it as
//! AWS Lambda does; a SUT's CPU quota can use the same group.
//!
//! Groups are made beneath this process's own group in each hierarchy, so whatever already
//! limits and accounts for the process covers them too. [`Cgroups::detect`] says
//! [`CgroupError::NotAvailable`], with the reason, when the machine offers no usable
//! controllers: a caller then falls back (signals, `/proc` sampling) and says so. Every
//! [`Group`] removes the directories it created when dropped, after killing what still runs
//! in it, so an error or a panic leaves no group behind.
//!
//! Why not the `cgroups-rs` crate: it pulls a D-Bus stack (zbus, for systemd) into every
//! build, an older `nix` and `thiserror` beside the workspace's, kills a group only through
//! v2's `cgroup.kill`, and does not wait for a freeze to complete; the file operations used
//! here are a few lines each, documented in the kernel's cgroup-v1 and cgroup-v2 guides.
//!
//! ```no_run
//! use tgbench_cgroup::Cgroups;
//! let cgroups = Cgroups::detect()?;
//! let group = cgroups.create("tgbench/example")?;
//! group.set_memory_limit(128 << 20)?;
//! group.set_cpu_limit(0.5)?;
//! // spawn a process, then group.add_process(pid)?, group.freeze()?, group.thaw()?
//! println!("{:?} {:?}", group.cpu_usage()?, group.memory()?);
//! group.remove()?;
//! # Ok::<(), tgbench_cgroup::CgroupError>(())
//! ```
//!
//! # Layout
//! - [`mounts`]: which interface, and where this process may create groups
//!   (`/proc/self/mountinfo`, `/proc/self/cgroup`).
//! - [`cgroups`]: [`Cgroups`]: detect, create groups, sweep the groups of killed runs.
//! - [`group`]: [`Group`]: limit, freeze, read, kill, remove.
//! - [`error`]: the one error type, [`CgroupError`].

pub mod cgroups;
pub mod error;
pub mod group;
pub mod mounts;

pub use cgroups::Cgroups;
pub use error::CgroupError;
pub use group::{CPU_PERIOD_US, Group, Memory};
pub use mounts::Version;
