//! The SUT environment: how the harness (or a person) tells any bot server where
//! Telegram is, which bots to run, and where to listen.
//!
//! | variable | used by | meaning |
//! |---|---|---|
//! | `TGBENCH_API_URL` | all | base URL of the Bot API (`http://127.0.0.1:8081`); requests go to `<base>/bot<token>/<method>` |
//! | `TGBENCH_TOKENS_FILE` | all | a file with one bot token a line (blank lines and `#` comments skipped) |
//! | `TGBENCH_LISTEN` | webhook, hybrid | `host:port` the webhook server binds |
//! | `TGBENCH_PUBLIC_URL` | webhook, hybrid | URL base registered with setWebhook (`<base>/webhook/<bot_id>`); defaults to `http(s)://<bound address>` |
//! | `TGBENCH_CA_FILE` | all | extra CA certificates the Bot API client trusts; read as `--ca-file` ([`crate::platform::PlatformOpts`]) |
//! | `TGBENCH_TLS_CERT`, `TGBENCH_TLS_KEY` | webhook, hybrid | serve HTTPS with them; read as `--tls-cert`/`--tls-key` ([`crate::webhook::WebhookOpts`]) |
//!
//! Every error names the variable (or the file and line) it is about.

use std::{
    collections::HashSet,
    net::{SocketAddr, ToSocketAddrs},
    path::{Path, PathBuf},
};

use crate::token::{BotToken, TokenError};

pub const API_URL: &str = "TGBENCH_API_URL";
pub const TOKENS_FILE: &str = "TGBENCH_TOKENS_FILE";
pub const LISTEN: &str = "TGBENCH_LISTEN";
pub const PUBLIC_URL: &str = "TGBENCH_PUBLIC_URL";

/// What is wrong with the environment.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var}={value:?} is not valid: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot read the tokens file {path} (from {TOKENS_FILE})")]
    TokensFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line} (from {TOKENS_FILE}) is not a bot token")]
    TokenLine {
        path: PathBuf,
        line: usize,
        source: TokenError,
    },
    #[error("{path}:{line} (from {TOKENS_FILE}) repeats bot id {id}")]
    DuplicateBot { path: PathBuf, line: usize, id: i64 },
    #[error("the tokens file {path} (from {TOKENS_FILE}) has no tokens")]
    NoTokens { path: PathBuf },
}

/// The environment, read and checked.
#[derive(Debug, Clone)]
pub struct SutEnv {
    /// Bot API base URL without a trailing slash.
    pub api_url: String,
    /// Every bot this process runs, in file order.
    pub tokens: Vec<BotToken>,
    /// `TGBENCH_LISTEN`, if set (checked by [`SutEnv::listen_addr`]).
    pub listen: Option<String>,
    /// `TGBENCH_PUBLIC_URL` without a trailing slash, if set.
    pub public_url: Option<String>,
}

impl SutEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the environment through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let api_url = get(API_URL).ok_or(EnvError::Missing {
            var: API_URL,
            hint: "the Bot API base URL, e.g. http://127.0.0.1:8081",
        })?;
        let api_url = check_url(API_URL, &api_url)?;
        let tokens_file = get(TOKENS_FILE).ok_or(EnvError::Missing {
            var: TOKENS_FILE,
            hint: "a file with one bot token a line",
        })?;
        let tokens = read_tokens(Path::new(&tokens_file))?;
        let public_url = get(PUBLIC_URL)
            .map(|u| check_url(PUBLIC_URL, &u))
            .transpose()?;
        Ok(Self {
            api_url,
            tokens,
            listen: get(LISTEN),
            public_url,
        })
    }

    /// `TGBENCH_LISTEN` as an address; an error naming the variable if unset or unusable.
    pub fn listen_addr(&self) -> Result<SocketAddr, EnvError> {
        let value = self.listen.clone().ok_or(EnvError::Missing {
            var: LISTEN,
            hint: "host:port the webhook server binds, e.g. 127.0.0.1:8443",
        })?;
        let invalid = |reason: String| EnvError::Invalid {
            var: LISTEN,
            value: value.clone(),
            reason,
        };
        value
            .to_socket_addrs()
            .map_err(|e| invalid(format!("expected host:port ({e})")))?
            .next()
            .ok_or_else(|| invalid("the host resolves to no address".into()))
    }
}

fn check_url(var: &'static str, value: &str) -> Result<String, EnvError> {
    let value = value.trim();
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(EnvError::Invalid {
            var,
            value: value.to_owned(),
            reason: "expected an http:// or https:// URL".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Reads a tokens file: one token a line; blank lines and lines starting with `#` skipped;
/// each bot id at most once.
pub fn read_tokens(path: &Path) -> Result<Vec<BotToken>, EnvError> {
    let text = std::fs::read_to_string(path).map_err(|source| EnvError::TokensFile {
        path: path.to_owned(),
        source,
    })?;
    let mut seen = HashSet::new();
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let token = BotToken::parse(line).map_err(|source| EnvError::TokenLine {
            path: path.to_owned(),
            line: line_no,
            source,
        })?;
        if !seen.insert(token.id()) {
            return Err(EnvError::DuplicateBot {
                path: path.to_owned(),
                line: line_no,
                id: token.id(),
            });
        }
        tokens.push(token);
    }
    if tokens.is_empty() {
        return Err(EnvError::NoTokens {
            path: path.to_owned(),
        });
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tokens_file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.txt");
        std::fs::write(&path, text).unwrap();
        let p = path.to_string_lossy().into_owned();
        (dir, p)
    }

    fn env(pairs: &[(&str, &str)]) -> Result<SutEnv, EnvError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SutEnv::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_everything() {
        let (_d, path) = tokens_file("# bots\n1:aaa\n\n2:bbb\n");
        let e = env(&[
            (API_URL, "http://127.0.0.1:9/"),
            (TOKENS_FILE, &path),
            (LISTEN, "127.0.0.1:8443"),
            (PUBLIC_URL, "https://bots.example/"),
        ])
        .unwrap();
        assert_eq!(e.api_url, "http://127.0.0.1:9");
        assert_eq!(e.tokens.iter().map(|t| t.id()).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(e.listen_addr().unwrap(), "127.0.0.1:8443".parse().unwrap());
        assert_eq!(e.public_url.as_deref(), Some("https://bots.example"));
    }

    #[test]
    fn errors_name_the_variable() {
        let (_d, path) = tokens_file("1:aaa\n");
        let err = env(&[(TOKENS_FILE, &path)]).unwrap_err().to_string();
        assert!(err.contains(API_URL), "{err}");
        let err = env(&[(API_URL, "http://x")]).unwrap_err().to_string();
        assert!(err.contains(TOKENS_FILE), "{err}");
        let err = env(&[(API_URL, "ftp://x"), (TOKENS_FILE, &path)])
            .unwrap_err()
            .to_string();
        assert!(err.contains(API_URL) && err.contains("http"), "{err}");
        let e = env(&[(API_URL, "http://x"), (TOKENS_FILE, &path)]).unwrap();
        let err = e.listen_addr().unwrap_err().to_string();
        assert!(err.contains(LISTEN), "{err}");
        let e = env(&[
            (API_URL, "http://x"),
            (TOKENS_FILE, &path),
            (LISTEN, "nonsense"),
        ])
        .unwrap();
        assert!(e.listen_addr().unwrap_err().to_string().contains(LISTEN));
    }

    #[test]
    fn tokens_file_errors_name_file_and_line() {
        let (_d, path) = tokens_file("1:aaa\nbroken\n");
        let err = env(&[(API_URL, "http://x"), (TOKENS_FILE, &path)])
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{path}:2")), "{err}");
        let (_d, path) = tokens_file("1:aaa\n1:bbb\n");
        let err = read_tokens(Path::new(&path)).unwrap_err().to_string();
        assert!(err.contains("repeats bot id 1"), "{err}");
        let (_d, path) = tokens_file("# nothing\n");
        assert!(matches!(
            read_tokens(Path::new(&path)),
            Err(EnvError::NoTokens { .. })
        ));
        let err = read_tokens(Path::new("/nonexistent/tokens")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/tokens"));
    }
}
