//! A multi-tenant teloxide webhook server: one axum server on `TGBENCH_LISTEN` with
//! `POST /webhook/<bot_id>` for every bot in `TGBENCH_TOKENS_FILE` and `GET /health`.
//!
//! Each bot's route is teloxide's own (`webhooks::axum_to_router`, which calls setWebhook with
//! the bot's secret token and feeds the bot's `Dispatcher`); the routers are merged into one.
//! teloxide compares the secret header with `==` (its source says "FIXME: use constant time
//! comparison"), so a middleware in front checks it in constant time first: an unknown bot is
//! 404, a wrong secret 401. teloxide answers a delivery 200 at once and handles the update in
//! the background.
//!
//! Usage (the tgbench harness sets the environment; see README.md):
//!   teloxide webhook [--register-concurrency N]
//! Stops cleanly on SIGTERM or SIGINT.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use rand::Rng;
use rand::distributions::Alphanumeric;
use subtle::ConstantTimeEq;
use teloxide::update_listeners::webhooks;
use tokio::task::JoinSet;

use crate::{logic, sut};

const NAME: &str = "teloxide-webhook";
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

fn parse_args(argv: Vec<String>) -> anyhow::Result<usize> {
    let mut concurrency = 32;
    let mut it = argv.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--register-concurrency" => {
                concurrency = value.parse().context("--register-concurrency")?
            }
            _ => {
                bail!("unknown argument {flag}; usage: teloxide webhook [--register-concurrency N]")
            }
        }
    }
    if concurrency == 0 {
        bail!("--register-concurrency must be at least 1");
    }
    Ok(concurrency)
}

/// Each bot's secret token by its `/webhook/<bot_id>` path.
type Secrets = Arc<HashMap<String, String>>;

/// The constant-time gate in front of teloxide's routes.
async fn check_secret(State(secrets): State<Secrets>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/health" {
        return next.run(request).await;
    }
    let Some(expected) = secrets.get(path) else {
        return (StatusCode::NOT_FOUND, "unknown bot").into_response();
    };
    let given = request
        .headers()
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(expected.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, "bad secret token").into_response();
    }
    next.run(request).await
}

/// Runs the server with `argv` (the arguments after `webhook`) until SIGTERM or SIGINT.
pub async fn run(argv: Vec<String>) -> ExitCode {
    match serve(argv).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e:#}");
            ExitCode::from(if e.is::<sut::EnvError>() { 2 } else { 1 })
        }
    }
}

async fn serve(argv: Vec<String>) -> anyhow::Result<()> {
    let concurrency = parse_args(argv)?;
    let env = sut::SutEnv::from_env(true)?;
    let (Some(addr), Some(public)) = (env.listen, env.public_url.clone()) else {
        unreachable!("from_env(true) requires both");
    };
    sut::raise_open_files_limit(2 * env.tokens.len() as u64 + 256);
    // Bound first: deliveries that arrive while the other bots register wait in the backlog.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot bind TGBENCH_LISTEN={addr}"))?;
    let client = logic::shared_client();

    // setWebhook for every bot (inside axum_to_router), `concurrency` at a time.
    let registered: Vec<_> = futures::stream::iter(env.tokens.iter().cloned())
        .map(|token| {
            let (client, api_url, public) = (client.clone(), env.api_url.clone(), public.clone());
            async move {
                let bot = logic::bot(&token, &client, &api_url);
                let id = sut::bot_id_of(&token).expect("checked by SutEnv");
                let path = format!("/webhook/{id}");
                let url = reqwest::Url::parse(&format!("{public}{path}"))
                    .context("TGBENCH_PUBLIC_URL")?;
                let secret: String = rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(48)
                    .map(char::from)
                    .collect();
                let options = webhooks::Options::new(addr, url).secret_token(secret.clone());
                let (updates, _stop, router) = webhooks::axum_to_router(bot.clone(), options)
                    .await
                    .with_context(|| format!("setWebhook for bot {id}"))?;
                anyhow::Ok((bot, path, secret, updates, router))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut app = Router::new();
    let mut secrets = HashMap::new();
    let mut running = JoinSet::new();
    let mut shutdown = Vec::new();
    for result in registered {
        let (bot, path, secret, updates, router) = result?;
        app = app.merge(router);
        secrets.insert(path, secret);
        let mut dispatcher = logic::dispatcher(bot, NAME);
        shutdown.push(dispatcher.shutdown_token());
        running.spawn(async move {
            dispatcher
                .dispatch_with_listener(updates, logic::stderr_errors(NAME))
                .await;
        });
    }
    let bots = secrets.len();
    let health = format!(r#"{{"status":"ok","bots":{bots},"webhooks_set":{bots}}}"#);
    let app = app
        .route(
            "/health",
            get(move || async move { ([("content-type", "application/json")], health) }),
        )
        .layer(middleware::from_fn_with_state(
            Arc::new(secrets),
            check_secret,
        ));

    println!("{NAME} ready: listening on {addr}, {bots} of {bots} webhooks set");
    axum::serve(listener, app)
        .with_graceful_shutdown(sut::stop_signal())
        .await
        .context("the webhook server failed")?;
    // The server is gone, and with it every bot's update channel: the dispatchers finish the
    // updates in hand and end.
    logic::stop_dispatchers(&shutdown, &mut running, Duration::from_secs(5)).await;
    println!("{NAME} stopped");
    Ok(())
}
