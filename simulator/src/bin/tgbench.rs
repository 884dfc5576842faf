//! The `tgbench` binary: parses the command line and hands it to the library
//! ([`tgbench::run_cli`]); everything else lives there.

use clap::Parser;

/// jemalloc: the embedded mock allocates and frees per call (parameters, answers, updates);
/// glibc's malloc and free were a fifth of its instructions per echoed message (see the
/// `echo_path` bench), and jemalloc keeps idle connections' buffers out of RSS as in the
/// `mock-telegram` binary.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(tgbench::run_cli(tgbench::Cli::parse()))
}
