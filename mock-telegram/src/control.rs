//! The control API, for harnesses (never for bots): list bots, inject updates (the latency
//! clock starts), read stats and sent messages, reset. Guarded by `control_token` when set.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::mock::{Mock, NewUpdate};
use crate::token::secrets_equal;

/// Refuses `/_mock/*` without the control token, when one is configured.
pub async fn require_token(
    State(mock): State<Arc<Mock>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = mock.config().control_token.as_deref() else {
        return next.run(request).await;
    };
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let query = request.uri().query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v)
    });
    let given = bearer.or(query).unwrap_or_default();
    if secrets_equal(&given, expected) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// `GET /_mock/bots` → `{"bots":[{"id":…,"username":"…","token":"…"}]}` (serialized
/// straight from the bots: no JSON tree of 10,000 objects on the way).
pub async fn bots(State(mock): State<Arc<Mock>>) -> Json<BotList> {
    Json(BotList { bots: mock.bots() })
}

/// The answer of `GET /_mock/bots`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BotList {
    pub bots: Vec<crate::BotInfo>,
}

/// One update in `POST /_mock/updates`.
#[derive(Debug, Deserialize)]
struct UpdateSpec {
    bot_id: i64,
    chat_id: i64,
    /// Who writes in a group chat.
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    callback_data: Option<String>,
}

impl From<UpdateSpec> for NewUpdate {
    fn from(s: UpdateSpec) -> Self {
        NewUpdate {
            bot_id: s.bot_id,
            chat_id: s.chat_id,
            user_id: s.user_id,
            text: s.text,
            callback_data: s.callback_data,
            due: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UpdatesBody {
    Batch { updates: Vec<UpdateSpec> },
    One(UpdateSpec),
}

/// `POST /_mock/updates` with one update or `{"updates":[…]}` → `{"update_ids":[…]}`. All
/// are checked before any is injected; the clock of each starts now.
pub async fn updates(State(mock): State<Arc<Mock>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body: UpdatesBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("invalid update: {e}")))?;
    let updates: Vec<NewUpdate> = match body {
        UpdatesBody::Batch { updates } => updates.into_iter().map(NewUpdate::from).collect(),
        UpdatesBody::One(one) => vec![one.into()],
    };
    for u in &updates {
        mock.validate(u).map_err(|e| ApiError::bad(e.to_string()))?;
    }
    let ids = updates
        .into_iter()
        .map(|u| mock.inject(u).map_err(|e| ApiError::bad(e.to_string())))
        .collect::<Result<Vec<i64>, ApiError>>()?;
    Ok(Json(json!({ "update_ids": ids })))
}

/// `GET /_mock/stats`
pub async fn stats(State(mock): State<Arc<Mock>>) -> Json<crate::Stats> {
    Json(mock.stats())
}

#[derive(Debug, Deserialize)]
pub struct SentQuery {
    bot_id: Option<i64>,
}

/// `GET /_mock/sent?bot_id=ID` → `{"messages":[…]}` in the order sent.
pub async fn sent(
    State(mock): State<Arc<Mock>>,
    Query(q): Query<SentQuery>,
) -> Result<Json<Value>, ApiError> {
    let bot_id = q
        .bot_id
        .ok_or_else(|| ApiError::bad("bot_id is required"))?;
    if mock.bot_index(bot_id).is_none() {
        return Err(ApiError::bad(format!("no bot with id {bot_id}")));
    }
    Ok(Json(json!({ "messages": mock.sent(bot_id) })))
}

/// `POST /_mock/reset`
pub async fn reset(State(mock): State<Arc<Mock>>) -> Json<Value> {
    mock.reset();
    Json(json!({ "ok": true }))
}
