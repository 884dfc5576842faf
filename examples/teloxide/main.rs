//! teloxide bot servers for tgbench: the bot logic of the Rust reference servers (`impls/`),
//! written the way a teloxide user writes it, run against the mock as `kind = "command"` SUTs
//! (`scenarios/stack-teloxide.toml`). Configured only through the tgbench SUT environment
//! (`TGBENCH_*`, docs/contracts.md); see README.md for how they run.
//!
//!   teloxide polling [ARGS]   every bot long-polls
//!   teloxide webhook [ARGS]   one axum server, /webhook/<bot_id> for every bot
//!
//! Both are multi-tenant: one process, one tokio runtime, one teloxide `Dispatcher` per bot,
//! every bot sharing one `reqwest` client (teloxide's `Bot::new` builds a client, with its own
//! connection pool and TLS roots, per bot).
//!
//! It is an example of the workspace's root package (see the root Cargo.toml), so it builds
//! with the same teloxide, and the same features, as the end-to-end tests: one binary for both
//! servers, one link.
//!
//! # Layout
//!
//! - [`sut`]: the SUT environment (`TGBENCH_*`), read and checked; the open-files limit;
//!   waiting for SIGTERM or SIGINT.
//! - [`logic`]: the handler tree every bot's dispatcher runs (`/start` → welcome, text → echo
//!   as a reply, button press → `answerCallbackQuery`), and the shared bot construction.
//! - [`polling`]: every bot long-polls (teloxide's `Polling`, 10 s timeout).
//! - [`webhook`]: teloxide's own per-bot webhook routers (`webhooks::axum_to_router`) merged
//!   into one axum server, behind a constant-time check of each bot's secret token.

mod logic;
mod polling;
mod sut;
mod webhook;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    match argv.next().as_deref() {
        Some("polling") => polling::run(argv.collect()).await,
        Some("webhook") => webhook::run(argv.collect()).await,
        _ => {
            eprintln!("usage: teloxide polling|webhook [ARGS...]");
            ExitCode::from(64)
        }
    }
}
