//! Serving over HTTP/1.1: [`serve`] (any router, a bound listener, a shutdown future; the
//! peer address given to handlers), the platform's [`router`] (the control API
//! `/_lambda/*`, and the function URL for every other path), [`run`] and
//! [`LambdaServer`] (the same in the background, for tests and the simulator).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::platform::Platform;
use crate::stats::Stats;
use crate::{control, front_door};

/// Serves `app` on `listener` (keep-alive, no Nagle, header names in title case) until `shutdown` resolves; each
/// request carries its peer's address as [`ConnectInfo`]. Open connections are left to
/// finish on their own.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let mut builder = http1::Builder::new();
    // `Lambda-Runtime-Aws-Request-Id`, as AWS writes header names.
    builder.keep_alive(true).title_case_headers(true);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let app = app.clone();
                    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        app.clone().oneshot(request.map(axum::body::Body::new))
                    });
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
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
}

/// The platform's HTTP surface: `GET /_lambda/stats`, and the function URL for every
/// other method and path.
pub fn router(platform: Arc<Platform>) -> Router {
    Router::new()
        .route("/_lambda/stats", get(control::stats))
        .fallback(front_door::handle)
        .with_state(platform)
}

/// Serves `platform` on `listener` until `shutdown`, then shuts the platform down (every
/// environment ended, the control groups removed); its final stats.
pub async fn run(
    platform: Arc<Platform>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Stats {
    serve(listener, router(platform.clone()), shutdown).await;
    platform.shutdown().await
}

/// A platform served in the background on a bound listener.
#[derive(Debug)]
pub struct LambdaServer {
    addr: SocketAddr,
    platform: Arc<Platform>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Stats>>,
}

impl LambdaServer {
    /// Serves `platform` on `listener` (bind `127.0.0.1:0` and pass it in).
    pub fn start(platform: Arc<Platform>, listener: TcpListener) -> Self {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(platform.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            platform,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The function URL, `http://127.0.0.1:PORT` (webhooks go to `{url}/webhook/{bot_id}`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// Stops serving, ends every environment, removes the control groups; the final stats.
    pub async fn shutdown(mut self) -> Stats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(stats) => stats,
                Err(_) => self.platform.shutdown().await,
            },
            None => self.platform.stats(),
        }
    }
}

impl Drop for LambdaServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
