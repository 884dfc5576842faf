//! mock-lambda: an emulated AWS Lambda for one function, to measure what decides a
//! serverless bot (cold starts, environments per burst, throttling, freezing, billed time)
//! on one machine, with runtimes that run unmodified on AWS.
//!
//! It speaks the public **Lambda Runtime API 2018-06-01** to the function's runtime (any
//! program that does: `lambda_runtime` in Rust, `awslambdaric` in Python, a `bootstrap`
//! script) and answers HTTP as a **function URL** does (payload format 2.0), so Telegram's
//! webhook POST reaches the function as on AWS and a reply in the response works.
//!
//! Execution environments behave as AWS runs them: one invocation at a time each; a
//! request with no idle environment starts one (a cold start, measured from spawn to the
//! runtime's first `/next`, limited to 10 s); at most `concurrency` environments, beyond
//! that 429; frozen between invocations; shut down after `keep_warm` idle; killed past
//! `timeout` or above `memory_mb`, the invocation failing with AWS's error. Memory and CPU
//! (1,769 MB = one vCPU) are enforced by control groups where the machine allows it, else
//! approximated with signals and `/proc` sampling, and [`Enforcement`] records which.
//! Billing follows AWS's rules, in usage ([`billing`]): billed ms and GB-seconds, never
//! money (tgbench prices usage from its price file, `reports/prices.toml`).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use mock_lambda::{FunctionConfig, LambdaServer, Platform};
//! let mut config = FunctionConfig::new("target/release/bootstrap");
//! config.memory_mb = 512;
//! config.env.push(("TGBENCH_API_URL".into(), "http://127.0.0.1:8081".into()));
//! let platform = Platform::start(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = LambdaServer::start(platform.clone(), listener);
//! // Telegram POSTs to {server.url()}/webhook/{bot_id} ...
//! println!("{:?}", platform.stats().cold_starts);
//! let final_stats = server.shutdown().await; // every environment ended, groups removed
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`FunctionConfig`] and AWS's limits; [`billing`]: [`Bill`] (usage).
//! - [`platform`]: [`Platform`]: scheduling (warm, cold, throttled), freezing, reaping,
//!   [`Platform::invoke`], [`Platform::stats`], [`Platform::shutdown`].
//! - [`environment`]: one environment's state machine; [`driver`]: its process from spawn
//!   to cleanup (init limit, timeout, memory, exit, kill).
//! - [`runtime_api`]: the Runtime API 2018-06-01, one server per environment.
//! - [`front_door`]: the function URL; [`event`]: payload format 2.0 in and out.
//! - [`invocation`]: an invocation, its [`Outcome`], AWS's error shapes.
//! - [`resources`]: cgroups or signals, and the [`Enforcement`] record; [`procfs`]: `/proc`
//!   figures.
//! - [`stats`]: the recorder and the [`Stats`] snapshot; [`control`]: `/_lambda/stats`.
//! - [`server`]: serving, the router, [`run`], [`LambdaServer`]; [`cli`]: the binary.

pub mod billing;
pub mod cli;
pub mod config;
pub mod control;
pub mod driver;
pub mod environment;
pub mod event;
pub mod front_door;
pub mod invocation;
pub mod platform;
pub mod procfs;
pub mod resources;
pub mod runtime_api;
pub mod server;
pub mod stats;

pub use billing::Bill;
pub use config::{Arch, FrontDoor, FunctionConfig, Logs, ResourceMode};
pub use invocation::{FunctionError, Outcome};
pub use platform::{Invoked, Platform, PlatformError};
pub use resources::Enforcement;
pub use server::{LambdaServer, router, run};
pub use stats::Stats;
