//! The function URL: every request (but `/_lambda/*`) becomes a payload-format-2.0 event,
//! is invoked, and the function's response becomes the HTTP answer, as a Lambda function
//! URL does it:
//!
//! - a response → its `statusCode`, `headers`, `cookies` and `body` (or 200 with the JSON);
//! - a response that cannot be read as either → 502 `Internal Server Error`;
//! - a failed invocation (function error, crash, timeout, out of memory, init failure)
//!   → 502 `Internal Server Error`;
//! - no environment free at the concurrency limit → 429 `Rate Exceeded.`;
//! - a request body over 6 MB → 413.
//!
//! Every answer carries `x-amzn-requestid`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::event::{HttpRequest, request_event, response_answer};
use crate::invocation::{Invocation, MAX_PAYLOAD, Outcome};
use crate::platform::Platform;

/// The URL id in the event's `requestContext` (`<url-id>.lambda-url.<region>.on.aws`).
pub const URL_ID: &str = "tgbench0mocklambda0url0id000000";

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

fn internal_error() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"Message":"Internal Server Error"}"#,
    )
        .into_response()
}

fn throttled() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}"#,
    )
        .into_response()
}

/// One request at the function URL.
pub async fn handle(State(platform): State<Arc<Platform>>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    platform.recorder().request();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            format!(
                "Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation"
            ),
        )
            .into_response();
    };
    let (inv, outcome) = Invocation::new(Bytes::new());
    let request_id = inv.id.clone();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let event = request_event(&HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers,
        body: &body,
        source_ip: peer.map_or_else(|| "127.0.0.1".to_owned(), |p| p.ip().to_string()),
        request_id: &request_id,
        now: SystemTime::now(),
        url_id: URL_ID,
        region: &platform.config().region,
    });
    let inv = Invocation {
        payload: event.into(),
        ..inv
    };
    let invoked = platform.invoke_as(inv, outcome).await;
    if invoked.cold {
        platform.recorder().cold_request(parts.uri.path(), &body);
    }
    let response = match invoked.outcome {
        Outcome::Throttled => throttled(),
        Outcome::Error(_) => internal_error(),
        Outcome::Response(payload) => match response_answer(&payload) {
            Ok(answer) => {
                let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
                let mut response = Response::new(Body::from(answer.body));
                *response.status_mut() = status;
                let headers = response.headers_mut();
                for (name, value) in answer.headers {
                    if let (Ok(n), Ok(v)) =
                        (HeaderName::try_from(name), HeaderValue::try_from(value))
                    {
                        headers.insert(n, v);
                    }
                }
                for cookie in answer.cookies {
                    if let Ok(v) = HeaderValue::try_from(cookie) {
                        headers.append(header::SET_COOKIE, v);
                    }
                }
                response
            }
            Err(e) => {
                tracing::debug!("{e}");
                platform.recorder().invalid_response();
                internal_error()
            }
        },
    };
    with_request_id(response, &invoked.request_id)
}
