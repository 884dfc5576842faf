//! The per-bot webhook secrets: what the deploy step registered with `setWebhook` for each
//! bot, handed to the function in a file (`WEBHOOK_SECRETS_FILE`, one `BOT_ID SECRET` a
//! line, blank lines and `#` comments skipped), and checked in constant time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The variable naming the secrets file (relative paths are relative to the working
/// directory, which on Lambda is `LAMBDA_TASK_ROOT`).
pub const SECRETS_FILE: &str = "WEBHOOK_SECRETS_FILE";

/// What is wrong with the secrets.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{SECRETS_FILE} is not set: a file with one `BOT_ID SECRET` a line")]
    Missing,
    #[error("cannot read the secrets file {path} (from {SECRETS_FILE})")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:{line} (from {SECRETS_FILE}) is not `BOT_ID SECRET` with a secret of 1-256 of [A-Za-z0-9_-]"
    )]
    Line { path: PathBuf, line: usize },
}

/// Each bot's secret token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets(HashMap<i64, String>);

impl Secrets {
    /// Reads the file `WEBHOOK_SECRETS_FILE` names.
    pub fn from_env() -> Result<Self, SecretsError> {
        let path = std::env::var_os(SECRETS_FILE).ok_or(SecretsError::Missing)?;
        Self::read(Path::new(&path))
    }

    pub fn read(path: &Path) -> Result<Self, SecretsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the file's text (`path` only names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, SecretsError> {
        let mut secrets = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || SecretsError::Line {
                path: path.to_owned(),
                line: index + 1,
            };
            let mut fields = line.split_whitespace();
            let (Some(id), Some(secret), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(bad());
            };
            let id: i64 = id.parse().map_err(|_| bad())?;
            let valid = (1..=256).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(bad());
            }
            secrets.insert(id, secret.to_owned());
        }
        Ok(Self(secrets))
    }

    /// Whether `given` is `bot_id`'s secret (constant time in the secret; false for a bot
    /// without one).
    pub fn check(&self, bot_id: i64, given: &[u8]) -> bool {
        self.0
            .get(&bot_id)
            .is_some_and(|s| tgbench_impls::webhook::secrets_equal(given, s.as_bytes()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_check() {
        let s = Secrets::parse(
            Path::new("f"),
            "# bots\n7000000001 abc_DEF-1\n\n7000000002 x\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.check(7000000001, b"abc_DEF-1"));
        assert!(!s.check(7000000001, b"abc_DEF-2"));
        assert!(!s.check(7000000001, b""));
        assert!(!s.check(7000000003, b"x"));
    }

    #[test]
    fn bad_lines_name_their_line() {
        for bad in ["1", "x secret", "1 a b", "1 bad!char"] {
            let e = Secrets::parse(Path::new("f"), &format!("\n{bad}\n")).unwrap_err();
            assert!(
                matches!(e, SecretsError::Line { line: 2, .. }),
                "{bad}: {e}"
            );
        }
    }
}
