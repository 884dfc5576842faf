//! The one Bot API client every transport uses.
//!
//! - One `reqwest::Client` for all bots: HTTP/1.1 keep-alive, a pool that keeps up to
//!   [`ApiConfig::pool_idle_per_host`] idle connections (size it to the number of bots, so a
//!   long-polling bot finds its connection again instead of opening a new one), no proxy.
//! - Timeouts sized to the call: an ordinary call gets [`ApiConfig::request_timeout`]; a
//!   long poll gets its own `timeout` plus [`ApiConfig::long_poll_margin`].
//! - Retries in one place, [`Api::call`]: `429` waits exactly the `retry_after` Telegram
//!   asks for; `5xx`, `409` and network errors (timeouts included) back off exponentially with
//!   jitter ([`Backoff`]); other `4xx` are final. [`Attempts`] bounds the count, and every
//!   retry waits at least `base / 2`, so the client never spins.
//! - Tokens never reach a log: errors drop the URL, logs show [`BotToken`]'s redacted form.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    backoff::Backoff,
    token::BotToken,
    types::{Envelope, Reply, Update},
};

/// Client settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Timeout of an ordinary call (not getUpdates).
    pub request_timeout: Duration,
    /// Added to a getUpdates `timeout` to make its request timeout.
    pub long_poll_margin: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Back-off for 5xx, 409 and network errors.
    pub backoff: Backoff,
    /// Attempts of an ordinary call (the first one included) before it gives up.
    pub max_attempts: u32,
    /// Idle keep-alive connections kept to the API host (one per bot is right for polling).
    pub pool_idle_per_host: usize,
    /// CA certificates (PEM) trusted beside the built-in roots (tgbench's test CA).
    pub ca_pem: Option<Vec<u8>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            long_poll_margin: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            max_attempts: 8,
            pool_idle_per_host: 64,
            ca_pem: None,
        }
    }
}

/// How many times [`Api::call`] may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    /// At most this many requests (the first included).
    AtMost(u32),
    /// Until success or a final error; the caller cancels by dropping the future.
    Forever,
}

/// A failed Bot API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Telegram answered `ok: false` (or a 5xx without a JSON body).
    #[error("{method}: {code} {description}")]
    Telegram {
        method: String,
        code: u16,
        description: String,
        retry_after: Option<u64>,
    },
    /// No answer: connect error, reset, timeout. The URL (with its token) is stripped.
    /// (The cause is in the message, not a `source`, so one log line says it all.)
    #[error("{method}: network error: {}", chain(error))]
    Network {
        method: String,
        error: reqwest::Error,
    },
    /// An answer that is not a Bot API envelope.
    #[error("{method}: unreadable answer (HTTP {status}): {reason}")]
    Decode {
        method: String,
        status: u16,
        reason: String,
    },
}

/// An error and its causes on one line (reqwest's own message is only "error sending request").
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// What to do after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// 429: wait exactly this long.
    After(Duration),
    /// 5xx, 409, network: back off.
    Backoff,
    /// Anything else: retrying cannot help.
    Final,
}

impl ApiError {
    /// The Bot API error code, if Telegram gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            ApiError::Telegram { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn retry_class(&self) -> RetryClass {
        match self {
            ApiError::Telegram {
                code: 429,
                retry_after,
                ..
            } => RetryClass::After(Duration::from_secs(retry_after.unwrap_or(1))),
            ApiError::Telegram { code, .. } if *code >= 500 || *code == 409 => RetryClass::Backoff,
            ApiError::Telegram { .. } | ApiError::Decode { .. } => RetryClass::Final,
            ApiError::Network { .. } => RetryClass::Backoff,
        }
    }
}

/// Counters of the client, for `/health` and reports.
#[derive(Debug, Default)]
pub struct ApiCounters {
    /// HTTP requests sent (every attempt).
    pub requests: AtomicU64,
    /// Attempts after a failed one.
    pub retries: AtomicU64,
    /// 429 answers.
    pub rate_limited: AtomicU64,
    /// Calls that ended in an error (after their retries).
    pub failed: AtomicU64,
}

/// getUpdates parameters.
#[derive(Debug, Clone, Serialize)]
pub struct GetUpdates<'a> {
    pub offset: i64,
    pub limit: u32,
    /// Seconds the server may hold the request (0 = short poll).
    pub timeout: u64,
    pub allowed_updates: &'a [String],
}

/// setWebhook parameters.
#[derive(Debug, Clone, Serialize)]
pub struct SetWebhook<'a> {
    pub url: String,
    pub secret_token: &'a str,
    pub allowed_updates: &'a [String],
    pub max_connections: u32,
    pub drop_pending_updates: bool,
    /// A PEM certificate to upload (self-signed TLS); sent as multipart when present.
    #[serde(skip)]
    pub certificate: Option<&'a str>,
}

/// The Bot API client: one per process, shared by every bot.
#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    config: ApiConfig,
    counters: ApiCounters,
}

impl Api {
    /// A client for the Bot API at `base_url` (`http://host:port`, no trailing `/bot…`).
    pub fn new(base_url: &str, config: ApiConfig) -> Result<Self, reqwest::Error> {
        let mut http = reqwest::Client::builder();
        for cert in config
            .ca_pem
            .as_deref()
            .map(reqwest::Certificate::from_pem_bundle)
            .transpose()?
            .unwrap_or_default()
        {
            http = http.add_root_certificate(cert);
        }
        let http = http
            .http1_only()
            .no_proxy()
            .tcp_nodelay(true)
            .tcp_keepalive(Duration::from_secs(60))
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.pool_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            config,
            counters: ApiCounters::default(),
        })
    }

    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    pub fn counters(&self) -> &ApiCounters {
        &self.counters
    }

    /// Calls `method` with JSON `params`, retrying as the module doc says.
    pub async fn call<P, T>(
        &self,
        token: &BotToken,
        method: &str,
        params: &P,
        attempts: Attempts,
    ) -> Result<T, ApiError>
    where
        P: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let timeout = self.config.request_timeout;
        self.call_with(token, method, attempts, || {
            self.request(token, method, timeout).json(params)
        })
        .await
    }

    /// Long-polls getUpdates; the request timeout is `params.timeout` plus the margin.
    pub async fn get_updates(
        &self,
        token: &BotToken,
        params: &GetUpdates<'_>,
        attempts: Attempts,
    ) -> Result<Vec<Update>, ApiError> {
        let timeout = Duration::from_secs(params.timeout) + self.config.long_poll_margin;
        self.call_with(token, "getUpdates", attempts, || {
            self.request(token, "getUpdates", timeout).json(params)
        })
        .await
    }

    /// Makes the call a handler asked for, with the ordinary attempt budget.
    pub async fn send(&self, token: &BotToken, reply: &Reply) -> Result<(), ApiError> {
        let attempts = Attempts::AtMost(self.config.max_attempts);
        let _: serde::de::IgnoredAny = match reply {
            Reply::SendMessage(p) => self.call(token, reply.method(), p, attempts).await?,
            Reply::AnswerCallbackQuery(p) => self.call(token, reply.method(), p, attempts).await?,
        };
        Ok(())
    }

    /// deleteWebhook, as frameworks do before they start polling.
    pub async fn delete_webhook(
        &self,
        token: &BotToken,
        drop_pending_updates: bool,
    ) -> Result<(), ApiError> {
        let params = serde_json::json!({ "drop_pending_updates": drop_pending_updates });
        let attempts = Attempts::AtMost(self.config.max_attempts);
        let _: serde::de::IgnoredAny = self.call(token, "deleteWebhook", &params, attempts).await?;
        Ok(())
    }

    /// setWebhook; multipart with the certificate when one is given, JSON otherwise.
    pub async fn set_webhook(
        &self,
        token: &BotToken,
        params: &SetWebhook<'_>,
        attempts: Attempts,
    ) -> Result<(), ApiError> {
        let timeout = self.config.request_timeout;
        let _: serde::de::IgnoredAny = match params.certificate {
            None => self.call(token, "setWebhook", params, attempts).await?,
            Some(pem) => {
                let allowed = serde_json::to_string(params.allowed_updates)
                    .expect("a list of strings serializes");
                self.call_with(token, "setWebhook", attempts, || {
                    let form = reqwest::multipart::Form::new()
                        .text("url", params.url.clone())
                        .text("secret_token", params.secret_token.to_owned())
                        .text("allowed_updates", allowed.clone())
                        .text("max_connections", params.max_connections.to_string())
                        .text(
                            "drop_pending_updates",
                            params.drop_pending_updates.to_string(),
                        )
                        .part(
                            "certificate",
                            reqwest::multipart::Part::bytes(pem.as_bytes().to_vec())
                                .file_name("cert.pem"),
                        );
                    self.request(token, "setWebhook", timeout).multipart(form)
                })
                .await?
            }
        };
        Ok(())
    }

    fn request(
        &self,
        token: &BotToken,
        method: &str,
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}/bot{}/{}", self.base, token.expose(), method);
        self.http.post(url).timeout(timeout)
    }

    /// The retry loop: `build` makes a fresh request for every attempt.
    async fn call_with<T, F>(
        &self,
        token: &BotToken,
        method: &str,
        attempts: Attempts,
        build: F,
    ) -> Result<T, ApiError>
    where
        T: DeserializeOwned,
        F: Fn() -> reqwest::RequestBuilder,
    {
        let mut made = 0u32;
        let mut backoffs = 0u32;
        loop {
            made += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let err = match self.attempt(method, build()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let class = err.retry_class();
            if class == RetryClass::Final || matches!(attempts, Attempts::AtMost(n) if made >= n) {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(bot = %token, attempts = made, "giving up: {err}");
                return Err(err);
            }
            let wait = match class {
                RetryClass::After(d) => {
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    d
                }
                _ => {
                    let d = self.config.backoff.delay(backoffs, &mut rand::thread_rng());
                    backoffs = backoffs.saturating_add(1);
                    d
                }
            };
            tracing::debug!(bot = %token, ?wait, "retrying: {err}");
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP request and the decoding of its envelope.
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let network = |error: reqwest::Error| ApiError::Network {
            method: method.to_owned(),
            error: error.without_url(),
        };
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(network)?;
        match serde_json::from_slice::<Envelope<T>>(&body) {
            Ok(Envelope {
                ok: true,
                result: Some(result),
                ..
            }) => Ok(result),
            Ok(env) if !env.ok => Err(ApiError::Telegram {
                method: method.to_owned(),
                code: env.error_code.unwrap_or(status),
                description: env.description.unwrap_or_default(),
                retry_after: env.parameters.and_then(|p| p.retry_after),
            }),
            _ if status >= 500 || status == 429 || status == 409 => Err(ApiError::Telegram {
                method: method.to_owned(),
                code: status,
                description: format!("HTTP {status} without a Bot API envelope"),
                retry_after: None,
            }),
            Ok(_) => Err(ApiError::Decode {
                method: method.to_owned(),
                status,
                reason: "ok:true without a result".into(),
            }),
            Err(e) => Err(ApiError::Decode {
                method: method.to_owned(),
                status,
                reason: e.to_string(),
            }),
        }
    }
}
