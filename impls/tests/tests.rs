//! tgbench-impls integration tests: one binary, one module per area.
//! - `bad_input`: random requests on the webhook endpoint (proptest), the allowlist by source.
//! - `client`: the Bot API client's retries and back-off against wiremock.
//! - `polling_faults`: the polling loop against a misbehaving API (wiremock).
//! - `shards`: `--shard i/N` fleets against mock-telegram: polling shards poll only their
//!   share; webhook shards answer bots they do not own; two `webhook-bot`s on one port.
//! - `webhook_http`: the webhook router and server (statuses, /health, TLS, allowlist).
//! - `with_mock`: the three servers against mock-telegram over real HTTP (1,000 bots each),
//!   shutdown confirming offsets.

mod support;

mod bad_input;
mod client;
mod polling_faults;
mod shards;
mod webhook_http;
mod with_mock;
