//! The HTTP client of webhook deliveries, shared by every bot: plain-http endpoints through
//! pooled hyper HTTP/1.1 connections (a POST costs a pool pop, one request, a pool push),
//! https endpoints through reqwest with rustls (self-signed certificates accepted).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::webhook::SECRET_HEADER;

/// The largest webhook response body read (a method call fits easily).
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Idle connections kept per endpoint.
const MAX_IDLE_PER_ENDPOINT: usize = 1024;

/// Where a webhook points, parsed once at setWebhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: reqwest::Url,
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
            authority,
            path_and_query,
        })
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
#[derive(Debug, Default)]
pub struct WebhookClient {
    idle: Mutex<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>,
    tls: OnceLock<reqwest::Client>,
}

fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl WebhookClient {
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
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(target.path_and_query.as_str())
            .header(HOST, target.authority.as_str())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(secret) = secret {
            builder = builder.header(SECRET_HEADER, secret);
        }
        let mut request = builder
            .body(Full::new(body))
            .map_err(|_| PostError::Broken)?;
        // Reuse an idle connection; one the peer closed meanwhile hands the request back.
        while let Some(mut sender) = self.checkout(&target.authority) {
            match sender.try_send_request(request).await {
                Ok(response) => return self.read(&target.authority, sender, response).await,
                Err(mut e) => match e.take_message() {
                    Some(r) => request = r,
                    None => return Err(PostError::Broken),
                },
            }
        }
        let mut sender = connect(&target.authority).await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| PostError::Broken)?;
        self.read(&target.authority, sender, response).await
    }

    fn checkout(&self, authority: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(authority)?;
        while let Some(sender) = list.pop() {
            if !sender.is_closed() && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    async fn read(
        &self,
        authority: &str,
        sender: SendRequest<Full<Bytes>>,
        response: hyper::Response<hyper::body::Incoming>,
    ) -> Result<Reply, PostError> {
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .ok()
            .map(|b| b.to_bytes());
        if body.is_some() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let list = idle.entry(authority.to_string()).or_default();
            if list.len() < MAX_IDLE_PER_ENDPOINT {
                list.push(sender);
            }
        }
        Ok(Reply {
            status: parts.status,
            retry_after: retry_after(&parts.headers),
            body,
        })
    }

    async fn post_tls(
        &self,
        target: &Target,
        secret: Option<&str>,
        body: Bytes,
    ) -> Result<Reply, PostError> {
        let client = self.tls.get_or_init(|| {
            reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .no_proxy()
                .http1_only()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(MAX_IDLE_PER_ENDPOINT)
                .build()
                .expect("webhook TLS client")
        });
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

async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>, PostError> {
    let stream = TcpStream::connect(authority)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => PostError::Refused,
            _ => PostError::Broken,
        })?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| PostError::Broken)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
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
