//! Reference multi-tenant Telegram bot servers for tgbench: one bot logic and one Bot API
//! client, delivered by long polling (`polling-bot`), by webhook (`webhook-bot`), or by both
//! (`hybrid-bot`, webhook with polling as the fallback). They are meant to be the best honest
//! implementation of each transport, so differences in a report come from the transport and
//! not from a sloppy server. Every setting comes from the SUT environment (`TGBENCH_API_URL`,
//! `TGBENCH_TOKENS_FILE`, `TGBENCH_LISTEN`, `TGBENCH_PUBLIC_URL`: see [`sut_env`]) plus
//! flags, exactly as a third-party bot would take it.
//!
//! # Layout
//! Leaves first: each module uses only modules listed before it (no import circles), and no
//! module uses [`cli`].
//! - [`token`]: a bot token, its id, and its redacted display for logs.
//! - [`types`]: the few Bot API types the bots read (Update, Message, CallbackQuery).
//! - [`backoff`]: exponential back-off with jitter (pure, unit-tested).
//! - [`flags`]: the defaults of every flags struct, read from its own `#[arg]` attributes.
//! - [`shutdown`]: SIGTERM/SIGINT, shared by the three binaries.
//! - [`shard`]: `--shard i/N`: which bots a process of a fleet owns (`bot_id mod N`), and
//!   the webhook secrets every replica derives alike (uses `token`).
//! - [`sut_env`]: the `TGBENCH_*` environment and the tokens file (uses `token`).
//! - [`client`]: the one Bot API client (pooled reqwest, long-poll-sized timeouts, 429
//!   `retry_after`, back-off on 5xx / network / 409, bounded attempts).
//! - [`logic`]: the one bot logic (`/start`, echo, callback answer) and its handler cost.
//! - [`manager`]: the multi-tenant bot manager: known bots, an LRU of loaded instances.
//! - [`platform`]: client + manager + logic + counters, the thing every transport drives;
//!   its flags (`PlatformOpts`).
//! - [`polling`], [`webhook`]: two transports on a platform, each `start`ed and stopped,
//!   each with its flags.
//! - [`hybrid`]: webhook and polling on one platform (uses both).
//! - [`cli`]: the three command lines and their `run_*` functions (the binaries are thin).

pub mod backoff;
pub mod cli;
pub mod client;
pub mod flags;
pub mod hybrid;
pub mod logic;
pub mod manager;
pub mod platform;
pub mod polling;
pub mod shard;
pub mod shutdown;
pub mod sut_env;
pub mod token;
pub mod types;
pub mod webhook;
