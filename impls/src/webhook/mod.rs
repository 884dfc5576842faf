//! The webhook server: axum behind a hand-rolled accept loop (plain TCP or TLS).
//!
//! - `POST /webhook/{bot_id}`: checks, in this order, the source IP (`--allow-ips`, else
//!   403), the bot (unknown → 404), the `X-Telegram-Bot-Api-Secret-Token` header against
//!   that bot's random secret in constant time (wrong or missing → 401), the body size
//!   (over 1 MiB → 413) and the JSON (malformed → 400). Then the update is handled:
//!   `--ack after` (default) inside the request, `--ack before` in the background after an
//!   immediate 200, or `--reply-in-response`: the reply goes back as the response body
//!   (`{"method":"sendMessage",…}`), one Bot API round trip less.
//! - `GET /health`: 200 with the platform's counters, loaded bots, webhooks set.
//! - [`start`] binds nothing itself: it takes a bound listener, starts serving, then
//!   registers every bot with setWebhook (url `PUBLIC_URL/webhook/{bot_id}`, a random
//!   per-bot secret, allowed_updates, max_connections, drop_pending_updates; with `--tls`
//!   the self-signed certificate too), a bounded number at a time.
//! - [`Webhook::stop`]: stop accepting, let in-flight requests and background handlers
//!   finish. Webhooks stay registered (updates wait at Telegram for the next start).

pub mod allowlist;
pub mod server;
pub mod tls;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    body::Body,
    extract::{ConnectInfo, Path, Request, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rand::{Rng, distributions::Alphanumeric};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    client::{ApiError, Attempts, SetWebhook},
    platform::{Platform, Snapshot},
    token::BotToken,
    types::Update,
};
use allowlist::AllowList;
use tls::{SelfSigned, TlsError};

/// The largest webhook body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
/// The header Telegram puts the secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// When a webhook request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ack {
    /// 200 at once, the update handled in the background (lost if the process dies).
    Before,
    /// 200 after the update was handled and its reply sent (Telegram retries otherwise).
    After,
}

/// Webhook flags.
#[derive(Debug, Clone, Args)]
pub struct WebhookOpts {
    /// Answer a webhook request before or after handling its update.
    #[arg(long, value_enum, default_value_t = Ack::After)]
    pub ack: Ack,
    /// Return the reply as the webhook response body (implies handling inside the request).
    #[arg(long)]
    pub reply_in_response: bool,
    /// setWebhook max_connections: parallel deliveries Telegram may make per bot (1-100).
    #[arg(long, default_value_t = 40, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_connections: u32,
    /// setWebhook drop_pending_updates: forget updates that waited while no webhook ran.
    #[arg(long)]
    pub drop_pending_updates: bool,
    /// Serve HTTPS with a self-signed certificate made at start, uploaded with setWebhook.
    #[arg(long)]
    pub tls: bool,
    /// Serve HTTPS with this certificate (PEM, its chain after it) instead, not uploaded:
    /// one signed by a CA Telegram trusts (tgbench's per-run test CA). Needs --tls-key.
    #[arg(
        long,
        env = "TGBENCH_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "TGBENCH_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,
    /// Accept webhook requests only from these sources: CIDRs, addresses, `telegram`
    /// (149.154.160.0/20, 91.108.4.0/22) and `loopback`. Alone: `telegram,loopback`.
    #[arg(long, value_name = "NETS", value_delimiter = ',', num_args = 0.., default_missing_values = ["telegram", "loopback"])]
    pub allow_ips: Option<Vec<String>>,
}

impl Default for WebhookOpts {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

/// Why the webhook server could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "--reply-in-response handles the update inside the request; it cannot go with --ack before"
    )]
    ReplyNeedsAckAfter,
    #[error("{0}")]
    AllowList(String),
    #[error("the public URL {0:?} has no host")]
    PublicUrl(String),
    #[error("the listener has no local address: {0}")]
    Listener(std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Webhook request counters.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    accepted: AtomicU64,
    forbidden_ip: AtomicU64,
    unknown_bot: AtomicU64,
    bad_secret: AtomicU64,
    too_large: AtomicU64,
    bad_json: AtomicU64,
    replies_in_response: AtomicU64,
}

/// Webhook request counters, as `/health` shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WebhookCounts {
    pub requests: u64,
    pub accepted: u64,
    pub forbidden_ip: u64,
    pub unknown_bot: u64,
    pub bad_secret: u64,
    pub too_large: u64,
    pub bad_json: u64,
    pub replies_in_response: u64,
}

/// The body of `GET /health`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Health {
    pub status: &'static str,
    pub transport: &'static str,
    #[serde(flatten)]
    pub platform: Snapshot,
    pub webhooks_set: usize,
    pub webhooks_failed: usize,
    pub polling_bots: usize,
    pub handlers_in_background: usize,
    pub webhook: WebhookCounts,
}

/// What the router needs: the platform, the bots it serves and their secrets, the flags.
#[derive(Debug)]
pub struct WebhookState {
    platform: Arc<Platform>,
    secrets: HashMap<i64, String>,
    ack: Ack,
    reply_in_response: bool,
    allow: Option<AllowList>,
    transport: &'static str,
    background: TaskTracker,
    counters: Counters,
    webhooks_set: AtomicUsize,
    webhooks_failed: AtomicUsize,
    polling_bots: AtomicUsize,
}

impl WebhookState {
    /// State for serving `bots`, each given a fresh random secret.
    pub fn new(
        platform: Arc<Platform>,
        bots: &[BotToken],
        opts: &WebhookOpts,
    ) -> Result<Arc<Self>, WebhookError> {
        Self::build(platform, bots, opts, "webhook")
    }

    /// The same for the hybrid server (its `/health` says `"transport":"hybrid"`).
    pub fn for_hybrid(
        platform: Arc<Platform>,
        bots: &[BotToken],
        opts: &WebhookOpts,
    ) -> Result<Arc<Self>, WebhookError> {
        Self::build(platform, bots, opts, "hybrid")
    }

    fn build(
        platform: Arc<Platform>,
        bots: &[BotToken],
        opts: &WebhookOpts,
        transport: &'static str,
    ) -> Result<Arc<Self>, WebhookError> {
        if opts.reply_in_response && opts.ack == Ack::Before {
            return Err(WebhookError::ReplyNeedsAckAfter);
        }
        let allow = opts
            .allow_ips
            .as_deref()
            .map(AllowList::parse)
            .transpose()
            .map_err(WebhookError::AllowList)?;
        let secrets = bots
            .iter()
            .map(|t| {
                let secret = match platform.shard {
                    Some(_) => crate::shard::derived_secret(t),
                    None => new_secret(),
                };
                (t.id(), secret)
            })
            .collect();
        Ok(Arc::new(Self {
            platform,
            secrets,
            ack: opts.ack,
            reply_in_response: opts.reply_in_response,
            allow,
            transport,
            background: TaskTracker::new(),
            counters: Counters::default(),
            webhooks_set: AtomicUsize::new(0),
            webhooks_failed: AtomicUsize::new(0),
            polling_bots: AtomicUsize::new(0),
        }))
    }

    /// The secret token of `bot_id` (what setWebhook registered).
    pub fn secret(&self, bot_id: i64) -> Option<&str> {
        self.secrets.get(&bot_id).map(String::as_str)
    }

    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// Records how many bots poll beside this webhook server (hybrid), for `/health`.
    pub fn set_polling_bots(&self, polling_bots: usize) {
        self.polling_bots.store(polling_bots, Ordering::Relaxed);
    }

    pub fn health(&self) -> Health {
        let c = &self.counters;
        let get = |x: &AtomicU64| x.load(Ordering::Relaxed);
        Health {
            status: "ok",
            transport: self.transport,
            platform: self.platform.snapshot(),
            webhooks_set: self.webhooks_set.load(Ordering::Relaxed),
            webhooks_failed: self.webhooks_failed.load(Ordering::Relaxed),
            polling_bots: self.polling_bots.load(Ordering::Relaxed),
            handlers_in_background: self.background.len(),
            webhook: WebhookCounts {
                requests: get(&c.requests),
                accepted: get(&c.accepted),
                forbidden_ip: get(&c.forbidden_ip),
                unknown_bot: get(&c.unknown_bot),
                bad_secret: get(&c.bad_secret),
                too_large: get(&c.too_large),
                bad_json: get(&c.bad_json),
                replies_in_response: get(&c.replies_in_response),
            },
        }
    }
}

/// A random secret_token: 32 characters of [A-Za-z0-9] from the thread's CSPRNG.
fn new_secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The router: `POST /webhook/{bot_id}` and `GET /health`.
pub fn app(state: Arc<WebhookState>) -> Router {
    Router::new()
        .route("/webhook/{bot_id}", post(receive))
        .route("/health", get(health))
        .with_state(state)
}

async fn health(State(state): State<Arc<WebhookState>>) -> Json<Health> {
    Json(state.health())
}

/// Why a webhook request was refused; one place maps each to its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    ForbiddenIp,
    UnknownBot,
    BadSecret,
    TooLarge,
    BadJson,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Rejection::ForbiddenIp => (StatusCode::FORBIDDEN, "source address not allowed"),
            Rejection::UnknownBot => (StatusCode::NOT_FOUND, "no such bot"),
            Rejection::BadSecret => (StatusCode::UNAUTHORIZED, "wrong or missing secret token"),
            Rejection::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB"),
            Rejection::BadJson => (StatusCode::BAD_REQUEST, "body is not an Update"),
        };
        // The body may be left unread: close the connection, and say so, or the client may
        // send its next request on a connection the server is closing.
        (status, [(header::CONNECTION, "close")], text).into_response()
    }
}

async fn receive(
    State(state): State<Arc<WebhookState>>,
    Path(bot): Path<String>,
    request: Request,
) -> Response {
    state.counters.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    match check(&state, &bot, parts, body).await {
        Ok((bot_id, update)) => {
            state.counters.accepted.fetch_add(1, Ordering::Relaxed);
            handle(&state, bot_id, update).await
        }
        Err(r) => {
            let c = &state.counters;
            let counter = match r {
                Rejection::ForbiddenIp => &c.forbidden_ip,
                Rejection::UnknownBot => &c.unknown_bot,
                Rejection::BadSecret => &c.bad_secret,
                Rejection::TooLarge => &c.too_large,
                Rejection::BadJson => &c.bad_json,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            r.into_response()
        }
    }
}

/// Every check of the module doc, in order; the update on success.
async fn check(
    state: &WebhookState,
    bot: &str,
    parts: Parts,
    body: Body,
) -> Result<(i64, Update), Rejection> {
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Err(r) = check_head(state, bot, &parts) {
        // Read what the client is sending (up to the limit) before refusing it: closing
        // with unread data makes the kernel reset the connection, and the client then sees
        // a broken connection instead of the status.
        if declared.is_none_or(|n| n <= MAX_BODY as u64) {
            let _ = read_body(body).await;
        }
        return Err(r);
    }
    let bot_id = bot.parse::<i64>().map_err(|_| Rejection::UnknownBot)?;
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Rejection::TooLarge);
    }
    let body = read_body(body).await?;
    let update = serde_json::from_slice(&body).map_err(|_| Rejection::BadJson)?;
    Ok((bot_id, update))
}

/// The checks on the request head: source IP, bot, secret (in constant time).
fn check_head(state: &WebhookState, bot: &str, parts: &Parts) -> Result<(), Rejection> {
    if let Some(allow) = &state.allow {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if !peer.is_some_and(|ip| allow.allows(ip)) {
            return Err(Rejection::ForbiddenIp);
        }
    }
    let secret = bot
        .parse::<i64>()
        .ok()
        .and_then(|id| state.secrets.get(&id))
        .ok_or(Rejection::UnknownBot)?;
    let given = parts
        .headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !secrets_equal(given, secret.as_bytes()) {
        return Err(Rejection::BadSecret);
    }
    Ok(())
}

/// Constant-time equality of a given secret and the expected one (lengths are not secret):
/// the one place the webhook server compares secrets.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

async fn read_body(body: Body) -> Result<Bytes, Rejection> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Rejection::TooLarge),
        Err(_) => Err(Rejection::BadJson),
    }
}

async fn handle(state: &Arc<WebhookState>, bot_id: i64, update: Update) -> Response {
    if state.reply_in_response {
        return match state.platform.decide(bot_id, &update).await {
            Some(reply) => {
                state
                    .counters
                    .replies_in_response
                    .fetch_add(1, Ordering::Relaxed);
                Json(reply).into_response()
            }
            None => StatusCode::OK.into_response(),
        };
    }
    match state.ack {
        Ack::After => {
            state.platform.process(bot_id, &update).await;
        }
        Ack::Before => {
            let platform = state.platform.clone();
            state.background.spawn(async move {
                platform.process(bot_id, &update).await;
            });
        }
    }
    StatusCode::OK.into_response()
}

/// A running webhook server.
#[derive(Debug)]
pub struct Webhook {
    state: Arc<WebhookState>,
    addr: SocketAddr,
    public_url: String,
    cancel: CancellationToken,
    server: JoinHandle<()>,
    failed: Vec<(BotToken, ApiError)>,
}

/// Starts serving `bots` on `listener` and registers with setWebhook those it owns (all, or
/// its shard's share: see [`crate::shard`]); returns when every registration has succeeded
/// or failed (see [`Webhook::failed`]). `public_url` defaults to `http(s)://<listener
/// address>`.
pub async fn start(
    platform: Arc<Platform>,
    listener: TcpListener,
    public_url: Option<String>,
    bots: Vec<BotToken>,
    opts: &WebhookOpts,
) -> Result<Webhook, WebhookError> {
    let owned = crate::shard::owned(platform.shard, &bots);
    let state = WebhookState::new(platform, &bots, opts)?;
    start_with_state(state, listener, public_url, owned, opts).await
}

/// [`start`] with a state made by the caller (the hybrid server marks its own); registers
/// `bots` (the caller has kept only the ones it owns).
pub async fn start_with_state(
    state: Arc<WebhookState>,
    listener: TcpListener,
    public_url: Option<String>,
    bots: Vec<BotToken>,
    opts: &WebhookOpts,
) -> Result<Webhook, WebhookError> {
    let addr = listener.local_addr().map_err(WebhookError::Listener)?;
    let https = opts.tls || opts.tls_cert.is_some();
    let scheme = if https { "https" } else { "http" };
    let public_url = public_url
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let tls = if let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) {
        Some(SelfSigned::from_files(cert, key)?)
    } else if opts.tls {
        let host = reqwest::Url::parse(&public_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
            .ok_or_else(|| WebhookError::PublicUrl(public_url.clone()))?;
        Some(SelfSigned::generate(&host)?)
    } else {
        None
    };
    let cancel = CancellationToken::new();
    let server = tokio::spawn(server::serve(
        listener,
        app(state.clone()),
        tls.as_ref().map(|t| t.acceptor.clone()),
        cancel.clone(),
    ));
    let failed = register(&state, &public_url, &bots, opts, tls.as_ref()).await;
    Ok(Webhook {
        state,
        addr,
        public_url,
        cancel,
        server,
        failed,
    })
}

/// setWebhook for every bot, a bounded number at a time; the failures.
async fn register(
    state: &Arc<WebhookState>,
    public_url: &str,
    bots: &[BotToken],
    opts: &WebhookOpts,
    tls: Option<&SelfSigned>,
) -> Vec<(BotToken, ApiError)> {
    let platform = &state.platform;
    let attempts = Attempts::AtMost(platform.api.config().max_attempts);
    let results: Vec<_> = futures::stream::iter(bots)
        .map(|token| async move {
            let params = SetWebhook {
                url: format!("{public_url}/webhook/{}", token.id()),
                secret_token: state.secret(token.id()).expect("a secret per bot"),
                allowed_updates: &platform.allowed_updates,
                max_connections: opts.max_connections,
                drop_pending_updates: opts.drop_pending_updates,
                certificate: tls.filter(|t| t.upload).map(|t| t.cert_pem.as_str()),
            };
            let result = platform
                .at_startup(platform.api.set_webhook(token, &params, attempts))
                .await;
            (token, result)
        })
        .buffer_unordered(bots.len().clamp(1, 1024))
        .collect()
        .await;
    let mut failed = Vec::new();
    for (token, result) in results {
        match result {
            Ok(()) => state.webhooks_set.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                failed.push((token.clone(), e));
                state.webhooks_failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
    failed
}

impl Webhook {
    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL base registered with setWebhook.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn state(&self) -> &Arc<WebhookState> {
        &self.state
    }

    /// Bots whose setWebhook failed, with the error.
    pub fn failed(&self) -> &[(BotToken, ApiError)] {
        &self.failed
    }

    /// Runs until `shutdown` resolves, then [`Webhook::stop`]s.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Health {
        shutdown.await;
        self.stop().await
    }

    /// Stops accepting, waits for in-flight requests and background handlers; the final
    /// counters.
    pub async fn stop(self) -> Health {
        self.cancel.cancel();
        if let Err(e) = self.server.await {
            tracing::error!("the webhook server task failed: {e}");
        }
        self.state.background.close();
        self.state.background.wait().await;
        self.state.health()
    }
}
