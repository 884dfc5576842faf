//! The handler: a function URL event (payload format 2.0) in, an HTTP response out,
//! with `webhook-bot`'s checks in its order: the path and the bot (unknown → 404), the
//! `X-Telegram-Bot-Api-Secret-Token` of that bot in constant time (wrong or missing →
//! 401), the body size (over 1 MiB → 413), the JSON (malformed → 400). Then the update
//! goes to the shared platform: its reply sent through the Bot API client, or returned as
//! the response body (`{"method":"sendMessage",…}`) with reply-in-response.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tgbench_impls::platform::Platform;
use tgbench_impls::types::Update;
use tgbench_impls::webhook::{MAX_BODY, SECRET_HEADER};

use crate::secrets::Secrets;

/// The part of a function URL event the handler reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlRequest {
    pub raw_path: String,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    #[serde(default)]
    pub request_context: Option<RequestContext>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestContext {
    pub http: Option<HttpContext>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpContext {
    pub method: String,
}

/// A function URL response (payload format 2.0).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UrlResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl UrlResponse {
    fn text(status_code: u16, body: &str) -> Self {
        Self {
            status_code,
            headers: HashMap::from([("content-type".into(), "text/plain".into())]),
            body: body.to_owned(),
        }
    }

    fn json(body: String) -> Self {
        Self {
            status_code: 200,
            headers: HashMap::from([("content-type".into(), "application/json".into())]),
            body,
        }
    }
}

/// What every invocation of one environment shares, made at init (outside the handler).
#[derive(Debug)]
pub struct Function {
    pub platform: Arc<Platform>,
    pub secrets: Secrets,
    pub reply_in_response: bool,
}

/// Why a request was refused, in `webhook-bot`'s words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    NotFound,
    MethodNotAllowed,
    BadSecret,
    TooLarge,
    BadJson,
}

impl Rejection {
    fn response(self) -> UrlResponse {
        let (status, text) = match self {
            Rejection::NotFound => (404, "no such bot"),
            Rejection::MethodNotAllowed => (405, "POST only"),
            Rejection::BadSecret => (401, "wrong or missing secret token"),
            Rejection::TooLarge => (413, "body over 1 MiB"),
            Rejection::BadJson => (400, "body is not an Update"),
        };
        UrlResponse::text(status, text)
    }
}

impl Function {
    /// Every check of the module doc, in order; the bot and its update.
    pub fn check(&self, request: &UrlRequest) -> Result<(i64, Update), Rejection> {
        let bot_id = request
            .raw_path
            .strip_prefix("/webhook/")
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| self.platform.manager.token(*id).is_some())
            .ok_or(Rejection::NotFound)?;
        let method = request
            .request_context
            .as_ref()
            .and_then(|c| c.http.as_ref())
            .map(|h| h.method.as_str());
        if method.is_some_and(|m| !m.eq_ignore_ascii_case("POST")) {
            return Err(Rejection::MethodNotAllowed);
        }
        let given = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(SECRET_HEADER))
            .map(|(_, v)| v.as_bytes())
            .unwrap_or_default();
        if !self.secrets.check(bot_id, given) {
            return Err(Rejection::BadSecret);
        }
        let body = request.body.as_deref().unwrap_or_default();
        let body = if request.is_base64_encoded {
            STANDARD.decode(body).map_err(|_| Rejection::BadJson)?
        } else {
            body.as_bytes().to_vec()
        };
        if body.len() > MAX_BODY {
            return Err(Rejection::TooLarge);
        }
        let update = serde_json::from_slice(&body).map_err(|_| Rejection::BadJson)?;
        Ok((bot_id, update))
    }

    /// One invocation.
    pub async fn handle(&self, request: UrlRequest) -> UrlResponse {
        let (bot_id, update) = match self.check(&request) {
            Ok(ok) => ok,
            Err(r) => return r.response(),
        };
        if self.reply_in_response {
            return match self.platform.decide(bot_id, &update).await {
                Some(reply) => {
                    UrlResponse::json(serde_json::to_string(&reply).expect("a reply serializes"))
                }
                None => UrlResponse::text(200, ""),
            };
        }
        // As webhook-bot's `--ack after`: 200 once handled (the client retried on its own).
        self.platform.process(bot_id, &update).await;
        UrlResponse::text(200, "")
    }
}
