//! The HTTP client of webhook deliveries, shared by every bot: plain-http endpoints through
//! [`plain_http`]'s pooled keep-alive connections (a POST costs a pool pop, one write, one
//! read, a pool push), https endpoints through reqwest with rustls, its TLS handshakes
//! counted (one per connection it opens: keep-alive reuses them). Which certificates it
//! accepts: with a CA given ([`WebhookClient::new`]), those that chain to it or to the
//! built-in roots, except for a webhook set with an uploaded certificate (Telegram trusts the
//! uploaded one; the mock then checks none); without a CA, any.

pub mod plain_http;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};

/// The header that carries setWebhook's secret_token.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// The largest webhook response body read (a method call fits easily).
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Idle connections kept per endpoint: in effect all of them. Telegram keeps each bot's
/// connections open (up to its `max_connections`), and the flood control in
/// [`crate::webhook_connections`] already bounds how many are opened; a pool that closed
/// connections beyond a cap only reopened them on the next burst. With 1,000 bots on one
/// endpoint at 10,000 messages/s, a cap of 1,024 churned thousands of connects per second,
/// overflowed the server's accept queue (dropped SYNs, retried after 1 s, 3 s, 7 s...) and
/// stalled delivery for tens of seconds while the server idled. Keeping a connection costs
/// no more than it did while in use (the peak is bounded by the POSTs in flight).
const MAX_IDLE_PER_ENDPOINT: usize = 1 << 20;

/// Where a webhook points, parsed once at setWebhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: reqwest::Url,
    /// setWebhook uploaded a `certificate`: the endpoint's certificate is trusted as it is.
    pub uploaded_certificate: bool,
    /// `host:port`
    authority: String,
    path_and_query: String,
}

impl Target {
    pub fn new(url: reqwest::Url) -> Option<Target> {
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Some(Target {
            url,
            uploaded_certificate: false,
            authority,
            path_and_query,
        })
    }
}

impl Target {
    /// This target, with `uploaded` saying whether setWebhook uploaded a certificate.
    pub fn with_uploaded_certificate(mut self, uploaded: bool) -> Target {
        self.uploaded_certificate = uploaded;
        self
    }
}

/// The bot's answer to a POST.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// The body, when it was read whole (None when over 1 MB or cut short).
    pub body: Option<Bytes>,
}

/// A POST that got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostError {
    Timeout,
    Refused,
    Tls,
    Broken,
}

impl PostError {
    /// Telegram's last_error_message for it.
    pub fn telegram_message(self) -> &'static str {
        match self {
            PostError::Timeout => "Read timeout expired",
            PostError::Refused => "Connection refused",
            PostError::Tls => "SSL error",
            PostError::Broken => "Connection reset by peer",
        }
    }
}

/// The shared client.
#[derive(Debug)]
pub struct WebhookClient {
    plain: plain_http::Pool,
    /// Accepts any certificate (no CA given, or an uploaded certificate).
    tls_any: OnceLock<reqwest::Client>,
    /// Checks certificates against the built-in roots and `ca` (a CA given).
    tls_checked: OnceLock<reqwest::Client>,
    ca: Option<Vec<reqwest::Certificate>>,
    /// TLS connections opened (each one a handshake).
    tls_handshakes: Arc<AtomicU64>,
}

impl Default for WebhookClient {
    fn default() -> Self {
        WebhookClient::new(None)
    }
}

fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl WebhookClient {
    /// A client that checks https endpoints' certificates against `ca_pem` (and the built-in
    /// roots), or accepts any without it. A CA that does not parse trusts nothing beyond the
    /// built-in roots (and is logged).
    pub fn new(ca_pem: Option<&str>) -> WebhookClient {
        let ca = ca_pem.map(|pem| {
            reqwest::Certificate::from_pem_bundle(pem.as_bytes()).unwrap_or_else(|e| {
                tracing::warn!("the webhook CA does not parse, trusting the built-in roots: {e}");
                Vec::new()
            })
        });
        WebhookClient {
            plain: plain_http::Pool::new(MAX_IDLE_PER_ENDPOINT),
            tls_any: OnceLock::new(),
            tls_checked: OnceLock::new(),
            ca,
            tls_handshakes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// TLS handshakes made so far (connections opened to https endpoints).
    pub fn tls_handshakes(&self) -> u64 {
        self.tls_handshakes.load(Relaxed)
    }

    pub(crate) fn reset_tls_handshakes(&self) {
        self.tls_handshakes.store(0, Relaxed);
    }

    /// POSTs `body` as `application/json` (exactly), with the secret header when set.
    pub async fn post(
        &self,
        target: &Target,
        secret: Option<&str>,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, PostError> {
        let attempt = async {
            if target.url.scheme() == "https" {
                self.post_tls(target, secret, body).await
            } else {
                self.post_plain(target, secret, body).await
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or(Err(PostError::Timeout))
    }

    async fn post_plain(
        &self,
        target: &Target,
        secret: Option<&str>,
        body: Bytes,
    ) -> Result<Reply, PostError> {
        let mut head = Vec::with_capacity(256);
        let _ = write!(
            head,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            target.path_and_query,
            target.authority,
            body.len()
        );
        if let Some(secret) = secret {
            let _ = write!(head, "{SECRET_HEADER}: {secret}\r\n");
        }
        head.extend_from_slice(b"\r\n");
        self.plain
            .post(&target.authority, &head, &body, MAX_RESPONSE_BYTES)
            .await
    }

    async fn post_tls(
        &self,
        target: &Target,
        secret: Option<&str>,
        body: Bytes,
    ) -> Result<Reply, PostError> {
        let build = |roots: Option<&Vec<reqwest::Certificate>>| {
            let handshakes = self.tls_handshakes.clone();
            // The connector runs once per new connection, TLS handshake included.
            let count = tower::util::MapResponseLayer::new(move |conn| {
                handshakes.fetch_add(1, Relaxed);
                conn
            });
            let mut b = reqwest::Client::builder()
                .connector_layer(count)
                .no_proxy()
                .http1_only()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(MAX_IDLE_PER_ENDPOINT);
            match roots {
                Some(roots) => {
                    for root in roots {
                        b = b.add_root_certificate(root.clone());
                    }
                }
                None => b = b.danger_accept_invalid_certs(true),
            }
            b.build().expect("webhook TLS client")
        };
        let client = match &self.ca {
            Some(roots) if !target.uploaded_certificate => {
                self.tls_checked.get_or_init(|| build(Some(roots)))
            }
            _ => self.tls_any.get_or_init(|| build(None)),
        };
        let mut request = client
            .post(target.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
        if let Some(secret) = secret {
            request = request.header(SECRET_HEADER, secret);
        }
        let response = request.send().await.map_err(|e| {
            let text = format!("{e:?}");
            if text.contains("ConnectionRefused") {
                PostError::Refused
            } else if e.is_connect() {
                PostError::Tls
            } else {
                PostError::Broken
            }
        })?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let mut response = response;
        let mut body = Vec::new();
        let mut whole = true;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_RESPONSE_BYTES => {
                    body.extend_from_slice(&chunk)
                }
                Ok(None) => break,
                _ => {
                    whole = false;
                    break;
                }
            }
        }
        Ok(Reply {
            status,
            retry_after,
            body: whole.then(|| Bytes::from(body)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_know_their_authority_and_path() {
        let t = Target::new("http://127.0.0.1:8080/webhook/7?x=1".parse().unwrap()).unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path_and_query.as_str()),
            ("127.0.0.1:8080", "/webhook/7?x=1")
        );
        let t = Target::new("https://localhost/hook".parse().unwrap()).unwrap();
        assert_eq!(t.authority, "localhost:443");
        let t = Target::new("http://[::1]:9/".parse().unwrap()).unwrap();
        assert_eq!(t.authority, "[::1]:9");
    }
}
