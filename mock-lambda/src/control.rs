//! The control API: `GET /_lambda/stats`, the platform's [`Stats`] as JSON (the same as
//! [`crate::Platform::stats`] in-process). It listens where the function URL does, on
//! loopback unless the binary is told otherwise.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::platform::Platform;
use crate::stats::Stats;

pub async fn stats(State(platform): State<Arc<Platform>>) -> Json<Stats> {
    let platform = platform.clone();
    // Reading every live environment's counters touches files: off the async threads.
    let stats = tokio::task::spawn_blocking(move || platform.stats())
        .await
        .expect("stats do not panic");
    Json(stats)
}
