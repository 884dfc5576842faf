//! A multi-tenant teloxide long-polling server: every bot in `TGBENCH_TOKENS_FILE` polls from
//! this one process, each with its own `Dispatcher` and teloxide's `Polling` listener
//! (deleteWebhook first, then getUpdates with a 10 s timeout, `polling_default`'s), all sharing
//! one HTTP client.
//!
//! Usage (the tgbench harness sets the environment; see README.md):
//!   teloxide polling [--timeout SECONDS] [--start-concurrency N]
//! Stops cleanly on SIGTERM or SIGINT: every dispatcher is shut down (teloxide then confirms
//! the last offset with one more getUpdates).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use teloxide::update_listeners::Polling;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::{logic, sut};

const NAME: &str = "teloxide-polling";

struct Args {
    timeout: u64,
    start_concurrency: usize,
}

fn parse_args(argv: Vec<String>) -> anyhow::Result<Args> {
    let mut args = Args {
        timeout: 10,
        start_concurrency: 100,
    };
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--timeout" => args.timeout = value.parse().context("--timeout: seconds")?,
            "--start-concurrency" => {
                args.start_concurrency = value.parse().context("--start-concurrency")?;
            }
            _ => bail!(
                "unknown argument {flag}; usage: teloxide polling [--timeout S] [--start-concurrency N]"
            ),
        }
    }
    if args.start_concurrency == 0 {
        bail!("--start-concurrency must be at least 1");
    }
    Ok(args)
}

/// Runs the server with `argv` (the arguments after `polling`) until SIGTERM or SIGINT.
pub async fn run(argv: Vec<String>) -> ExitCode {
    let (args, env) = match parse_args(argv).and_then(|a| Ok((a, sut::SutEnv::from_env(false)?))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{NAME}: {e:#}");
            return ExitCode::from(2);
        }
    };
    sut::raise_open_files_limit(env.tokens.len() as u64 + 256);
    let client = logic::shared_client();
    let gate = Arc::new(Semaphore::new(args.start_concurrency));
    let mut running = JoinSet::new();
    let mut shutdown = Vec::new();
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    for token in &env.tokens {
        let bot = logic::bot(token, &client, &env.api_url);
        let mut dispatcher = logic::dispatcher(bot.clone(), NAME);
        shutdown.push(dispatcher.shutdown_token());
        let (gate, started) = (gate.clone(), started_tx.clone());
        let timeout = Duration::from_secs(args.timeout);
        running.spawn(async move {
            let permit = gate.acquire_owned().await;
            let listener = Polling::builder(bot)
                .timeout(timeout)
                .delete_webhook()
                .await
                .build();
            drop(permit);
            let _ = started.send(());
            dispatcher
                .dispatch_with_listener(listener, logic::stderr_errors(NAME))
                .await;
        });
    }
    drop(started_tx);
    let bots = env.tokens.len();
    let all_started = async {
        for _ in 0..bots {
            started_rx.recv().await;
        }
    };
    tokio::select! {
        () = all_started => {
            println!(
                "{NAME} ready: {bots} bots polling {} (timeout={} s)",
                env.api_url, args.timeout
            );
            sut::stop_signal().await;
        }
        () = sut::stop_signal() => {}
    }
    // Each dispatcher confirms its last offset with one more getUpdates, which Telegram (and
    // the mock) may hold for up to 3 s.
    logic::stop_dispatchers(&shutdown, &mut running, Duration::from_secs(10)).await;
    println!("{NAME} stopped");
    ExitCode::SUCCESS
}
