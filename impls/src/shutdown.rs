//! SIGTERM / SIGINT handling shared by the three binaries.
//!
//! The library's servers take any `Future<Output = ()>` as their shutdown signal (tests pass
//! a oneshot or a timer); the binaries pass [`signal`]. On the first signal a server stops
//! taking new updates, lets in-flight ones finish, confirms offsets, and returns; the
//! binaries bound that with `--shutdown-grace-s`, and a second signal exits at once.

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C) received after it is first polled.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
