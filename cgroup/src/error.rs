//! [`CgroupError`]: why control groups cannot be used, or why an operation on a group failed.

use std::path::PathBuf;

/// What went wrong with control groups. [`CgroupError::NotAvailable`] is the one a caller
/// falls back on (signals and `/proc` sampling); the others are failures of a group that
/// exists, or should.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// This machine (or this process's place in the hierarchy) offers no usable control
    /// groups; the reason says what is missing.
    #[error("control groups are not available: {reason}")]
    NotAvailable { reason: String },
    /// A group's name is empty, absolute, or climbs out of its parent.
    #[error("{name:?} is not a valid group name (relative, no `..`, not empty)")]
    BadName { name: String },
    /// Reading a control file failed.
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a control file failed (a limit, a state, a process to move).
    #[error("cannot write {value:?} to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    /// Creating a group's directory failed.
    #[error("cannot create the group {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Removing a group's directory failed (it still holds processes or child groups).
    #[error("cannot remove the group {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A control file held something this crate cannot read.
    #[error("{path} holds {content:?}, not what the kernel documents")]
    Parse { path: PathBuf, content: String },
    /// Freezing (or killing) did not finish in time.
    #[error("{what} of {path} did not finish within {waited_ms} ms")]
    Timeout {
        what: &'static str,
        path: PathBuf,
        waited_ms: u64,
    },
}
