//! The `mock-telegram` binary. It only parses arguments and hands them to
//! [`mock_telegram::cli::main`]; everything else lives in the library.

use clap::Parser;

/// jemalloc keeps its metadata out of the allocations, so the untouched parts of hyper's
/// per-connection buffers never become resident (see the `jemalloc` feature).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    mock_telegram::cli::main(mock_telegram::cli::Opts::parse())
}
