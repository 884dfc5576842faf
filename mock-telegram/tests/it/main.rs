//! mock-telegram's integration tests, over real HTTP on 127.0.0.1, one module per area.

mod accounting;
mod bad_input;
mod behaviours;
mod binary;
mod control;
mod encodings;
mod errors;
mod groups;
mod metrics;
mod polling;
mod split;
mod support;
mod tls;
mod webhook;
