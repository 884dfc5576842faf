//! Serving a [`Mock`] over HTTP/1.1 with keep-alive, plain or over TLS: the router (Bot API
//! and control API; each connection's service sends `/bot…` calls straight to the Bot API
//! handler, the hot path, and the rest through the router), [`run`] and [`run_tls`] (serve
//! until a shutdown future resolves) and [`MockServer`] (the same, started in the background,
//! for tests and the simulator).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::api;
use crate::control;
use crate::error::{ApiError, OK_SLOT};
use crate::method::Method;
use crate::metrics;
use crate::mock::Mock;
use crate::params::Params;
use crate::token::{parse_bot_id, secrets_equal};
use crate::webhook;

/// The largest request body read, 20 MiB: bigger ones are answered 413 `Request Entity Too
/// Large`, as Telegram does, after reading at most this much (with or without a
/// Content-Length), so a huge body costs no more memory than this. Telegram's own cap, for
/// multipart uploads, is 50 MB; no method the mock implements takes a file that large.
pub const MAX_BODY_BYTES: usize = 20 << 20;
/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The whole HTTP surface: `/_mock/*` (control), `/metrics` (behind the control token too)
/// and `/bot<token>/<method>` (Bot API).
pub fn router(mock: Arc<Mock>) -> Router {
    let registry = Arc::new(metrics::registry(mock.clone()));
    let control = Router::new()
        .route(
            "/metrics",
            get(move |headers: HeaderMap| async move { metrics::response(&registry, &headers) }),
        )
        .route("/_mock/bots", get(control::bots))
        .route("/_mock/updates", post(control::updates))
        .route("/_mock/stats", get(control::stats))
        .route("/_mock/sent", get(control::sent))
        .route("/_mock/reset", post(control::reset))
        .route_layer(axum::middleware::from_fn_with_state(
            mock.clone(),
            control::require_token,
        ));
    control.fallback(bot_api).with_state(mock)
}

/// The service each connection runs: Bot API calls (`/bot…`) go straight to [`bot_api`],
/// everything else through [`router`]. The Bot API is the hot path (every echoed message is
/// two calls), so it skips the router's path matching, its fallback's boxed service and the
/// per-request clone of the router; the answers are the same (the router's fallback is
/// `bot_api` too).
#[derive(Clone)]
struct Service {
    mock: Arc<Mock>,
    app: Router,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Service {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let request = request.map(Body::new);
        if request.uri().path().starts_with("/bot") {
            let mock = self.mock.clone();
            Box::pin(async move { Ok(bot_api(State(mock), request).await) })
        } else {
            Box::pin(tower::ServiceExt::oneshot(self.app.clone(), request))
        }
    }
}

/// Splits `/bot<token>/<method>`; 404 for anything else.
fn split_path(path: &str) -> Result<(&str, &str), ApiError> {
    let rest = path.strip_prefix("/bot").ok_or(ApiError::NotFound)?;
    let (token, method) = rest.split_once('/').ok_or(ApiError::NotFound)?;
    if method.is_empty() || method.contains('/') {
        return Err(ApiError::NotFound);
    }
    Ok((token, method))
}

/// Authenticates the token (404 when malformed, 401 when unknown) and names the method.
fn route(mock: &Mock, path: &str) -> Result<(usize, Method), ApiError> {
    let (token, method) = split_path(path)?;
    let bot_id = parse_bot_id(token).ok_or(ApiError::NotFound)?;
    let index = mock.bot_index(bot_id).ok_or(ApiError::Unauthorized)?;
    if !secrets_equal(token, &mock.bots[index].info.token) {
        return Err(ApiError::Unauthorized);
    }
    let method = Method::parse(method).ok_or(ApiError::NotFound)?;
    Ok((index, method))
}

/// One Bot API call, counted with its body sizes.
///
/// Memory matters here: 10,000 held long polls are 10,000 of these futures. The request's
/// head is dropped before the call waits, and body decoding (large, multipart-capable) is
/// boxed so its state is freed once the parameters are read.
async fn bot_api(State(mock): State<Arc<Mock>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let (bot, method) = match route(&mock, parts.uri.path()) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let query = parts.uri.query().map(str::to_string);
    // A HeaderValue shares the request's bytes (no copy); dropped with the decoding below.
    let content_type = parts.headers.remove(header::CONTENT_TYPE);
    drop(parts);
    let decoded = Box::pin(async move {
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|e| (0, body_error(&e)))?;
        let bytes_in = bytes.len();
        let content_type = content_type.as_ref().and_then(|v| v.to_str().ok());
        let params = Params::parse(query.as_deref(), content_type, bytes)
            .await
            .map_err(|e| (bytes_in, e))?;
        Ok::<_, (usize, ApiError)>((bytes_in, params))
    })
    .await;
    let (bytes_in, answer) = match decoded {
        Ok((bytes_in, params)) => (bytes_in, api::handle(&mock, bot, method, params).await),
        Err((bytes_in, e)) => (bytes_in, Err(e)),
    };
    match answer {
        Ok(body) => {
            mock.counters.call(method, OK_SLOT, bytes_in, body.len());
            let mut response = Response::new(Body::from(body));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => {
            let status_slot = e.status_slot();
            let response = e.into_response();
            let bytes_out = axum::body::HttpBody::size_hint(response.body())
                .exact()
                .unwrap_or(0);
            mock.counters
                .call(method, status_slot, bytes_in, bytes_out as usize);
            response
        }
    }
}

/// Why a request body could not be read: over [`MAX_BODY_BYTES`] (413) or broken (400).
fn body_error(e: &axum::Error) -> ApiError {
    let too_large =
        std::error::Error::source(e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
    if too_large {
        ApiError::RequestEntityTooLarge
    } else {
        ApiError::bad("request body is broken")
    }
}

/// Serves `mock` on `listener` (HTTP/1.1, keep-alive) until `shutdown` resolves; then ends
/// held long polls and webhook workers and lets open connections finish (up to 5 s).
pub async fn run(
    mock: Arc<Mock>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(mock, listener, None, shutdown).await
}

/// [`run`] over TLS: HTTPS with `config` ([`crate::tls::server_config`]); every handshake
/// completed is counted (`Stats::tls.bot_api_handshakes`), and a failed one closes the
/// connection.
pub async fn run_tls(
    mock: Arc<Mock>,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(mock, listener, Some(TlsAcceptor::from(config)), shutdown).await
}

async fn serve(
    mock: Arc<Mock>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    if mock.serving() {
        webhook::start_workers(&mock, api::execute);
    }
    let app = Service {
        mock: mock.clone(),
        app: router(mock.clone()),
    };
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let service = app.clone();
                    match &tls {
                        None => {
                            let connection =
                                builder.serve_connection(TokioIo::new(stream), service);
                            let connection = graceful.watch(connection);
                            tokio::spawn(async move {
                                let _ = connection.await;
                            });
                        }
                        Some(acceptor) => {
                            let (acceptor, builder, watcher) =
                                (acceptor.clone(), builder.clone(), graceful.watcher());
                            let mock = mock.clone();
                            tokio::spawn(async move {
                                let Ok(stream) = acceptor.accept(stream).await else {
                                    return;
                                };
                                mock.counters.tls_bot_api_handshakes.fetch_add(1, Relaxed);
                                let connection =
                                    builder.serve_connection(TokioIo::new(stream), service);
                                let _ = watcher.watch(connection).await;
                            });
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off a little, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    mock.stop();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

/// A mock served in the background on a bound listener, until [`shutdown`](Self::shutdown)
/// or drop.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    https: bool,
    mock: Arc<Mock>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockServer {
    /// Serves `mock` on `listener` (bind `127.0.0.1:0` in tests and pass it in).
    pub fn start(mock: Arc<Mock>, listener: TcpListener) -> MockServer {
        Self::start_with(mock, listener, None)
    }

    /// Serves `mock` over HTTPS with `config` ([`run_tls`]).
    pub fn start_tls(
        mock: Arc<Mock>,
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> MockServer {
        Self::start_with(mock, listener, Some(config))
    }

    fn start_with(
        mock: Arc<Mock>,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> MockServer {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let https = tls.is_some();
        let task = tokio::spawn(serve(
            mock.clone(),
            listener,
            tls.map(TlsAcceptor::from),
            async move {
                let _ = stopped.await;
            },
        ));
        MockServer {
            addr,
            https,
            mock,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` over TLS (the test CA's
    /// certificates name `127.0.0.1`, `localhost` and `::1`).
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn mock(&self) -> &Arc<Mock> {
        &self.mock
    }

    /// Stops serving, ends held long polls, stops webhook workers; returns when done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_token_and_method() {
        assert_eq!(split_path("/bot1:abc/getMe"), Ok(("1:abc", "getMe")));
        assert_eq!(split_path("/bot1:abc/"), Err(ApiError::NotFound));
        assert_eq!(split_path("/bot1:abc/a/b"), Err(ApiError::NotFound));
        assert_eq!(split_path("/file/bot1:abc/x"), Err(ApiError::NotFound));
        assert_eq!(split_path("/"), Err(ApiError::NotFound));
    }
}
#[cfg(test)]
mod memory {
    /// 10,000 held long polls are 10,000 of these futures: keep body decoding boxed and the
    /// request head dropped, or idle RSS grows by megabytes (see benches/idle_bench.rs).
    #[test]
    fn a_held_bot_api_call_stays_small() {
        let mock = crate::Mock::new(crate::MockConfig::default());
        let request = axum::extract::Request::new(axum::body::Body::empty());
        let call = super::bot_api(axum::extract::State(mock), request);
        assert!(
            std::mem::size_of_val(&call) < 1536,
            "{} bytes",
            std::mem::size_of_val(&call)
        );
    }
}
