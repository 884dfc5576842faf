//! The AWS Lambda Runtime API, version 2018-06-01, one server per environment (its
//! `AWS_LAMBDA_RUNTIME_API`), with the status codes and error documents AWS's runtime
//! interface answers:
//!
//! | request | answer |
//! |---|---|
//! | `GET /2018-06-01/runtime/invocation/next` | 200 with the event and the `Lambda-Runtime-*` headers, when there is one; 403 `InvalidStateTransition` while an invocation is unanswered |
//! | `POST …/invocation/{id}/response` | 202 `{"status":"OK"}`; 400 `InvalidRequestID` for another id; 403 `InvalidStateTransition` when already answered or not invoking; 413 `RequestEntityTooLarge` over 6 MiB + 100 bytes (the invocation then fails `Function.ResponseSizeTooLarge`) |
//! | `POST …/invocation/{id}/error` | as `/response`; the body (or the `Lambda-Runtime-Function-Error-Type` header) is the error |
//! | `POST /2018-06-01/runtime/init/error` | 202 during init (the environment is then ended); 403 after |

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;

use crate::environment::{AnswerRefused, BadTransition, Delivery, Environment, Next};
use crate::invocation::{ErrorKind, FunctionError, MAX_PAYLOAD, Outcome};

/// How much of a runtime's body is read before it is refused outright: well past
/// [`MAX_PAYLOAD`], so an oversized response is read whole and answered 413.
const READ_LIMIT: usize = 64 << 20;
/// The header a runtime names its error type in.
pub const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// Serves `env`'s Runtime API on `listener` until the environment ends.
pub async fn serve(listener: TcpListener, env: Arc<Environment>) {
    let stop = env.stop.clone();
    crate::server::serve(listener, router(env), stop.cancelled_owned()).await;
}

/// The Runtime API routes of one environment.
pub fn router(env: Arc<Environment>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(env)
}

fn error_doc(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = json!({ "errorMessage": message, "errorType": error_type });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn forbidden(t: BadTransition) -> Response {
    let message = format!(
        "State transition from {} to {} failed for runtime. Error: State transition is not allowed",
        t.from, t.to
    );
    error_doc(StatusCode::FORBIDDEN, "InvalidStateTransition", &message)
}

fn refused(r: AnswerRefused) -> Response {
    match r {
        AnswerRefused::State(t) => forbidden(t),
        AnswerRefused::WrongId => error_doc(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        ),
    }
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

fn too_large() -> Response {
    error_doc(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."),
    )
}

fn event(d: Delivery, env: &Environment) -> Response {
    let arn = env
        .platform
        .upgrade()
        .map(|p| p.config().arn())
        .unwrap_or_default();
    let mut response = Response::new(Body::from(d.payload));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::try_from(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", d.request_id);
    set("lambda-runtime-deadline-ms", d.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", arn);
    set("lambda-runtime-trace-id", d.trace_id);
    set("content-type", "application/json".into());
    response
}

async fn next(State(env): State<Arc<Environment>>) -> Response {
    match env.next() {
        Err(t) => forbidden(t),
        Ok(Next::Deliver(d)) => event(d, &env),
        Ok(Next::Wait(rx)) => {
            if let Some(platform) = env.platform.upgrade() {
                platform.became_idle(&env);
            }
            match rx.await {
                Ok(d) => event(d, &env),
                Err(_) => error_doc(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "Internal Server Error",
                ),
            }
        }
    }
}

/// The whole body, or `None` past [`READ_LIMIT`].
async fn read(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, READ_LIMIT).await.ok()
}

async fn response(
    State(env): State<Arc<Environment>>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let Some(bytes) = read(body).await.filter(|b| b.len() <= MAX_PAYLOAD) else {
        // Read whole (or past any sane size): the invocation fails, the runtime hears 413.
        return match env.answer(
            &id,
            Outcome::Error(FunctionError::too_large(MAX_PAYLOAD + 1)),
        ) {
            Ok(()) => too_large(),
            Err(r) => refused(r),
        };
    };
    match env.answer(&id, Outcome::Response(bytes)) {
        Ok(()) => accepted(),
        Err(r) => refused(r),
    }
}

fn runtime_error(headers: &HeaderMap, body: Bytes) -> FunctionError {
    let error_type = headers.get(ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok());
    FunctionError::from_runtime(error_type, body)
}

async fn error(
    State(env): State<Arc<Environment>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(bytes) = read(body).await.filter(|b| b.len() <= MAX_PAYLOAD) else {
        return too_large();
    };
    match env.answer(&id, Outcome::Error(runtime_error(&headers, bytes))) {
        Ok(()) => accepted(),
        Err(r) => refused(r),
    }
}

async fn init_error(
    State(env): State<Arc<Environment>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(bytes) = read(body).await.filter(|b| b.len() <= MAX_PAYLOAD) else {
        return too_large();
    };
    let error = FunctionError {
        kind: ErrorKind::Init,
        ..runtime_error(&headers, bytes)
    };
    match env.init_error(error) {
        Ok(()) => accepted(),
        Err(t) => forbidden(t),
    }
}
