//! The system under test. The run loop talks to a [`Deployment`] (start, ready, signal,
//! restart, stop) and samples it through a [`ResourceSource`]; what a SUT is underneath
//! stays in here.
//!
//! - [`deployment`]: the SUT as the run loop sees it: a process tree, or a function on
//!   the emulated Lambda platform.
//! - [`process`]: a SUT process — its own process group, optionally pinned, dying with
//!   tgbench, stopped with SIGTERM then SIGKILL to the group; a guard that leaves nothing
//!   behind.
//! - [`ready`]: when a SUT counts as ready (the mock's view, or a health URL), and waiting
//!   for it.
//! - [`budget`]: a SUT's CPU budget (`cpu_quota`): a control group with a CFS quota.
//! - [`env`](mod@env): the SUT environment contract (`TGBENCH_*`).
//! - [`reference`](mod@reference): the reference servers: where they are, building them with cargo, the
//!   command line a `[[sut]]` starts.
//! - [`resources`]: where a deployment's CPU and memory figures come from.
//! - [`prometheus`]: a SUT's CPU and memory from Prometheus (`[sut.metrics]`): `query_range`
//!   over a window, per replica and summed.
//! - [`serverless`]: the serverless shape: the emulated Lambda platform (`mock-lambda`),
//!   the deploy step (webhooks with per-bot secrets), the platform's figures per window.

pub mod budget;
pub mod deployment;
pub mod env;
pub mod process;
pub mod prometheus;
pub mod ready;
pub mod reference;
pub mod resources;
pub mod serverless;

use std::path::PathBuf;

pub use budget::CpuBudget;
pub use deployment::{Deployment, Setup};
pub use env::{SutEnv, SutTls, free_loopback_port};
pub use process::{Exit, Launch, SutProcess, TAIL_LINES, have_setpriv};
pub use ready::{Probe, Readiness, wait_ready};
pub use reference::{build_reference_binaries_if_missing, command_line, impls_dir};
pub use resources::ResourceSource;

/// Why a SUT could not be started, became not ready, or died.
#[derive(Debug, thiserror::Error)]
pub enum SutError {
    #[error(
        "SUT {sut}: reference binary {} not found; build them with `cargo build --release -p tgbench-impls` \
         (or set TGBENCH_IMPLS_DIR to the folder holding polling-bot, webhook-bot and hybrid-bot)",
        path.display()
    )]
    MissingBinary { sut: String, path: PathBuf },
    #[error(
        "SUT {sut}: {} not found; build the serverless platform and the reference function with \
         `cargo build --release -p mock-lambda -p tgbench-webhook-lambda` (or set TGBENCH_IMPLS_DIR \
         to the folder holding mock-lambda and webhook-lambda)",
        path.display()
    )]
    MissingPlatform { sut: String, path: PathBuf },
    #[error("SUT {sut}: cannot start {program}: {source}")]
    Spawn {
        sut: String,
        program: String,
        source: std::io::Error,
    },
    #[error("SUT {sut}: cannot write its tokens_file {}: {source}", path.display())]
    TokensFile {
        sut: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SUT {sut}: cannot prepare its environment: {source}")]
    Prepare { sut: String, source: std::io::Error },
    #[error("SUT {sut} exited ({status}) before it was ready{}", tail_text(tail))]
    ExitedEarly {
        sut: String,
        status: String,
        tail: Vec<String>,
    },
    #[error(
        "SUT {sut} not ready after {waited_s:.1} s (ready = \"{ready}\": {state}); raise ready_timeout_s if it is just slow{}",
        tail_text(tail)
    )]
    NotReady {
        sut: String,
        ready: String,
        waited_s: f64,
        state: String,
        tail: Vec<String>,
    },
    #[error("interrupted while waiting for SUT {sut} to be ready")]
    Interrupted { sut: String },
    #[error(
        "SUT {sut}: cpu_quota = {cores} cannot be enforced here: no usable cgroup CPU controller \
         ({}); run tgbench as root on a machine with cgroups, or remove cpu_quota",
        mock_lambda::resources::error_chain(source)
    )]
    CpuQuota {
        sut: String,
        cores: f64,
        source: tgbench_cgroup::CgroupError,
    },
}

/// The end of a failure message: the last lines of the SUT's stderr, or that it wrote none.
pub fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() {
        "; it wrote nothing to stderr".to_string()
    } else {
        format!("; last lines of its stderr:\n    {}", tail.join("\n    "))
    }
}
