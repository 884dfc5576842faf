//! Errors: [`ApiError`] is Telegram's `{"ok":false,...}` envelope (one type, every handler
//! returns it), [`MockError`] is what the Rust API of the mock returns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A Bot API error, answered with HTTP status == `error_code` and Telegram's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400 `Bad Request: <detail>`.
    #[error("Bad Request: {0}")]
    BadRequest(String),
    /// 401: a well-formed token no bot has.
    #[error("Unauthorized")]
    Unauthorized,
    /// 404: a malformed token, an unknown method or path.
    #[error("Not Found")]
    NotFound,
    /// 413: a request body over [`MAX_BODY_BYTES`](crate::server::MAX_BODY_BYTES).
    #[error("Request Entity Too Large")]
    RequestEntityTooLarge,
    /// 409 `Conflict: <detail>`.
    #[error("Conflict: {0}")]
    Conflict(&'static str),
    /// 429 `Too Many Requests: retry after S`, with `parameters.retry_after` and `Retry-After`.
    #[error("Too Many Requests: retry after {retry_after}")]
    TooManyRequests { retry_after: u64 },
    /// 500, from fault injection.
    #[error("Internal Server Error")]
    Internal,
    /// 502, from fault injection (an outage).
    #[error("Bad Gateway")]
    BadGateway,
}

/// The 409 a held getUpdates gets when another one arrives.
pub const CONFLICT_OTHER_GET_UPDATES: &str =
    "terminated by other getUpdates request; make sure that only one bot instance is running";
/// The 409 getUpdates gets while a webhook is set.
pub const CONFLICT_WEBHOOK_ACTIVE: &str = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
/// The 409 a held getUpdates gets when setWebhook is called.
pub const CONFLICT_SET_WEBHOOK: &str = "terminated by setWebhook request";

/// Every HTTP status a Bot API call is answered with: 200, then each [`ApiError`]'s. The
/// per-status request counters are indexed by [`ApiError::status_slot`] into this list.
pub const STATUS_CODES: [u16; 9] = [200, 400, 401, 404, 409, 413, 429, 500, 502];

/// The slot of 200 OK in [`STATUS_CODES`].
pub const OK_SLOT: usize = 0;

impl ApiError {
    /// Shorthand for a 400.
    pub fn bad(detail: impl Into<String>) -> Self {
        ApiError::BadRequest(detail.into())
    }

    /// The HTTP status, equal to `error_code`.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BadGateway => StatusCode::BAD_GATEWAY,
        }
    }

    /// The index of [`status`](Self::status) in [`STATUS_CODES`].
    pub fn status_slot(&self) -> usize {
        match self {
            ApiError::BadRequest(_) => 1,
            ApiError::Unauthorized => 2,
            ApiError::NotFound => 3,
            ApiError::Conflict(_) => 4,
            ApiError::RequestEntityTooLarge => 5,
            ApiError::TooManyRequests { .. } => 6,
            ApiError::Internal => 7,
            ApiError::BadGateway => 8,
        }
    }

    /// The envelope's JSON bytes.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Params {
            retry_after: u64,
        }
        #[derive(Serialize)]
        struct Envelope {
            ok: bool,
            error_code: u16,
            description: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            parameters: Option<Params>,
        }
        let parameters = match self {
            ApiError::TooManyRequests { retry_after } => Some(Params {
                retry_after: *retry_after,
            }),
            _ => None,
        };
        serde_json::to_vec(&Envelope {
            ok: false,
            error_code: self.status().as_u16(),
            description: self.to_string(),
            parameters,
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body(),
        )
            .into_response();
        if let ApiError::TooManyRequests { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// What the Rust API of the mock can refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MockError {
    #[error("no bot with id {0}")]
    UnknownBot(i64),
    #[error("invalid update: {0}")]
    InvalidUpdate(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_telegrams_wording() {
        let e = ApiError::TooManyRequests { retry_after: 3 };
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}})
        );
        assert_eq!(
            ApiError::bad("chat not found").to_string(),
            "Bad Request: chat not found"
        );
        assert_eq!(
            ApiError::Conflict(CONFLICT_SET_WEBHOOK).to_string(),
            "Conflict: terminated by setWebhook request"
        );
    }

    #[test]
    fn status_slots_index_the_status_codes() {
        let every = [
            ApiError::bad("x"),
            ApiError::Unauthorized,
            ApiError::NotFound,
            ApiError::Conflict(CONFLICT_SET_WEBHOOK),
            ApiError::RequestEntityTooLarge,
            ApiError::TooManyRequests { retry_after: 1 },
            ApiError::Internal,
            ApiError::BadGateway,
        ];
        assert_eq!(STATUS_CODES[OK_SLOT], 200);
        assert_eq!(every.len() + 1, STATUS_CODES.len());
        for e in every {
            assert_eq!(STATUS_CODES[e.status_slot()], e.status().as_u16(), "{e}");
        }
    }
}
