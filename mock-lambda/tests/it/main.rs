//! mock-lambda's integration tests: real processes (a test runtime in Python, a shell
//! script, the Rust webhook function) over real HTTP on loopback.

mod environments;
mod failures;
mod runtime_api;
mod support;
mod webhook;
