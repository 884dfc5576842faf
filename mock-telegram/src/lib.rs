//! mock-telegram: a Telegram Bot API emulator for thousands of bots, and tgbench's clock.
//!
//! Real bot frameworks (teloxide, aiogram, python-telegram-bot) run against it unmodified,
//! only their API base URL pointed at it: `/bot<token>/<method>` with Telegram's parameters,
//! encodings, envelopes, error wording, long polling, webhooks and rate limits. Harnesses
//! drive it through the control API (`/_mock/*`) or, in-process, through [`Mock`]: a
//! simulated user's message is injected when it is due, and the bot's reply closes the
//! latency sample — so latency is measured on one monotonic clock, in µs (HdrHistogram).
//!
//! Telegram is far away: [`MockConfig::rtt`] and [`MockConfig::jitter`] delay answers and
//! deliveries. An ordinary call's answer is held one RTT sample; a held getUpdates woken by
//! an update answers half a sample after the wake; a webhook POST starts half a sample after
//! its update is due; a method call in a webhook response runs half a sample after the
//! response. One echo costs 1.5 RTT by polling or webhook, 1 RTT by reply-in-response.
//!
//! ```no_run
//! # async fn demo() {
//! use mock_telegram::{Mock, MockConfig, MockServer, NewUpdate};
//! let mock = Mock::new(MockConfig { bots: 2, ..MockConfig::default() });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let server = MockServer::start(mock.clone(), listener);
//! let bot = &mock.bots()[0];
//! // a bot calls {server.base_url()}/bot{bot.token}/getUpdates ...
//! mock.inject(NewUpdate::message(bot.id, 42, "hello")).unwrap();
//! println!("{:?}", mock.stats().latency_ms);
//! server.shutdown().await;
//! # }
//! ```
//!
//! # Layout
//! Leaves first: each module uses only modules listed before it (no import circles).
//! - Vocabulary, no crate imports: [`config`] ([`MockConfig`], [`RetrySchedule`]);
//!   [`token`] (bot ids and tokens from a seed, constant-time checks); [`types`] (the
//!   Telegram objects written, and the `{"ok":true}` envelope); [`method`] ([`method::Method`],
//!   the Bot API methods by name); [`error`] ([`ApiError`], Telegram's error envelope,
//!   and [`MockError`]); [`network`] (RTT samples and [`Fault`]s); [`ratelimit`] (token
//!   buckets); [`queue`] (the unconfirmed-update queue, updates kept as JSON bytes);
//!   [`webhook_client`] (the HTTP client that POSTs deliveries, with its own http://
//!   connection pool, and its TLS handshakes counted); [`webhook_connections`] (how many
//!   connections a webhook may use: Telegram's slow start after an outage); [`tls`] (the
//!   per-run test CA, the HTTPS server configuration, Telegram's allowed webhook ports).
//! - [`params`]: parameters from query, JSON, form and multipart bodies (uses `error`).
//! - [`bot`]: one bot's state behind its own mutex (queue, chats, poll, webhook, sent).
//! - [`split`]: where a reply's latency goes — the total and its two parts (in Telegram,
//!   delivery to reply) as histograms, and the hand-out stamps (uses `bot`).
//! - [`stats`]: [`Stats`], [`Readiness`] and the atomic counters behind them (uses `method`,
//!   and `error` for the statuses calls are counted by).
//! - [`mock`]: [`Mock`], all state; inject, stats, latencies, sent, reset, faults. It imports no
//!   method implementation.
//! - [`metrics`]: `GET /metrics`, OpenMetrics (or Prometheus text) read from `stats`'
//!   counters and `mock`'s histogram at scrape time; the series are encoded here once, for
//!   the standalone mock and for `tgbench`.
//! - The Bot API methods on a [`Mock`]: [`polling`] (getUpdates); [`webhook`]
//!   (setWebhook, deleteWebhook, getWebhookInfo, and delivery: a response's method call
//!   runs through the `Execute` it is handed); [`api`] (one call: fault, RTT, dispatch to
//!   `polling`, `webhook` or the chat methods it holds).
//! - [`control`]: the `/_mock/*` handlers and the control token (which guards `/metrics`
//!   too).
//! - [`server`]: the router, [`run`] and [`run_tls`] (HTTPS), [`MockServer`]; [`cli`]: the
//!   binary's options.

pub mod api;
pub mod bot;
pub mod cli;
pub mod config;
pub mod control;
pub mod error;
pub mod method;
pub mod metrics;
pub mod mock;
pub mod network;
pub mod params;
pub mod polling;
pub mod queue;
pub mod ratelimit;
pub mod server;
pub mod split;
pub mod stats;
pub mod tls;
pub mod token;
pub mod types;
pub mod webhook;
pub mod webhook_client;
pub mod webhook_connections;

pub use bot::SentMessage;
pub use config::{MockConfig, RetrySchedule};
pub use error::{ApiError, MockError};
pub use mock::{Mock, NewUpdate, ReplySample};
pub use network::Fault;
pub use server::{MockServer, router, run, run_tls};
pub use split::Latencies;
pub use stats::{LatencySplit, Readiness, Stats, Tls};
pub use tls::TestCa;
pub use token::BotInfo;
