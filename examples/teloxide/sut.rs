//! The tgbench SUT environment (docs/contracts.md, "The SUT contract"), read and checked;
//! raising the open-files limit; waiting for the stop signal.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use teloxide::types::UserId;

/// What is wrong with the environment; each names the variable it is about.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0} is not set (the tgbench harness sets it; see docs/bring-your-own-bot.md)")]
    Missing(&'static str),
    #[error("{var}={value:?} is not valid: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
    #[error("TGBENCH_TOKENS_FILE={path}: cannot read")]
    TokensFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TGBENCH_TOKENS_FILE={path} line {line}: not a bot token; expected <bot_id>:<secret>")]
    Token { path: PathBuf, line: usize },
    #[error("TGBENCH_TOKENS_FILE={0}: holds no token")]
    NoTokens(PathBuf),
}

/// The environment a server runs with.
#[derive(Debug, Clone)]
pub struct SutEnv {
    /// `TGBENCH_API_URL`, with a trailing slash (teloxide joins method paths onto it).
    pub api_url: reqwest::Url,
    /// Every bot, in file order.
    pub tokens: Vec<String>,
    /// `TGBENCH_LISTEN`, for a webhook server.
    pub listen: Option<SocketAddr>,
    /// `TGBENCH_PUBLIC_URL` without a trailing slash, for a webhook server.
    pub public_url: Option<String>,
}

impl SutEnv {
    /// Reads the process environment; `webhook` also requires the listen and public URLs.
    pub fn from_env(webhook: bool) -> Result<Self, EnvError> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or(EnvError::Missing(name))
        };
        let api = var("TGBENCH_API_URL")?;
        let api_url =
            reqwest::Url::parse(&format!("{}/", api.trim_end_matches('/'))).map_err(|e| {
                EnvError::Invalid {
                    var: "TGBENCH_API_URL",
                    value: api.clone(),
                    reason: e.to_string(),
                }
            })?;
        let path = PathBuf::from(var("TGBENCH_TOKENS_FILE")?);
        let text = std::fs::read_to_string(&path).map_err(|source| EnvError::TokensFile {
            path: path.clone(),
            source,
        })?;
        let mut tokens = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() {
                continue;
            }
            if bot_id_of(token).is_none() {
                return Err(EnvError::Token {
                    path: path.clone(),
                    line: i + 1,
                });
            }
            tokens.push(token.to_owned());
        }
        if tokens.is_empty() {
            return Err(EnvError::NoTokens(path));
        }
        let (mut listen, mut public_url) = (None, None);
        if webhook {
            let value = var("TGBENCH_LISTEN")?;
            let invalid = |reason: String| EnvError::Invalid {
                var: "TGBENCH_LISTEN",
                value: value.clone(),
                reason,
            };
            let addr = value
                .to_socket_addrs()
                .map_err(|e| invalid(format!("expected host:port ({e})")))?
                .next()
                .ok_or_else(|| invalid("the host resolves to no address".into()))?;
            listen = Some(addr);
            public_url = Some(var("TGBENCH_PUBLIC_URL")?.trim_end_matches('/').to_owned());
        }
        Ok(Self {
            api_url,
            tokens,
            listen,
            public_url,
        })
    }
}

/// The bot id of `token` (`<bot_id>:<secret>`), if it has that shape.
pub fn bot_id_of(token: &str) -> Option<UserId> {
    let (id, secret) = token.split_once(':')?;
    if secret.is_empty() {
        return None;
    }
    id.parse().ok().map(UserId)
}

/// Lifts the soft open-files limit to the hard one when `needed` descriptors would not fit
/// (every bot holds a connection; the usual soft limit is 1,024).
pub fn raise_open_files_limit(needed: u64) {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < needed
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
