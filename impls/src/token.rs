//! A bot token (`<bot_id>:<secret>`), the bot id it names, and a redacted form for logs.
//!
//! `Display` and `Debug` never print the whole token: only the id and the first three
//! characters of the secret (`123456:AbC…`). [`BotToken::expose`] gives the full text for
//! the one place that needs it, the request URL.

use std::fmt;

/// A parsed bot token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BotToken {
    id: i64,
    text: String,
}

/// Why a line is not a bot token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("a token looks like <bot_id>:<secret>, this one has no ':'")]
    NoColon,
    #[error("a token's bot id is a positive integer, this one starts with {0:?}")]
    BadId(String),
    #[error("a token's secret is [A-Za-z0-9_-]+, this one's is empty or has other characters")]
    BadSecret,
}

impl BotToken {
    /// Parses `<bot_id>:<secret>`.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        let (id, secret) = text.split_once(':').ok_or(TokenError::NoColon)?;
        let id: i64 = id
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| TokenError::BadId(id.chars().take(12).collect()))?;
        let secret_ok = !secret.is_empty()
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !secret_ok {
            return Err(TokenError::BadSecret);
        }
        Ok(Self {
            id,
            text: text.to_owned(),
        })
    }

    /// The bot id (the part before the colon).
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The whole token. Only for building request URLs: never log it.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.text.split_once(':').map_or("", |(_, s)| s);
        let shown: String = secret.chars().take(3).collect();
        write!(f, "{}:{}…", self.id, shown)
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotToken({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_id_and_keeps_the_text() {
        let t = BotToken::parse(" 123456:AbCdEf_-9 \n").unwrap();
        assert_eq!(t.id(), 123456);
        assert_eq!(t.expose(), "123456:AbCdEf_-9");
    }

    #[test]
    fn display_and_debug_redact_the_secret() {
        let t = BotToken::parse("123456:AbCdEfGhIj").unwrap();
        assert_eq!(t.to_string(), "123456:AbC…");
        assert_eq!(format!("{t:?}"), "BotToken(123456:AbC…)");
        assert!(!format!("{t:?}").contains("dEf"));
    }

    #[test]
    fn rejects_malformed_tokens() {
        assert_eq!(BotToken::parse("abc"), Err(TokenError::NoColon));
        assert!(matches!(
            BotToken::parse("x1:abc"),
            Err(TokenError::BadId(_))
        ));
        assert!(matches!(
            BotToken::parse("-5:abc"),
            Err(TokenError::BadId(_))
        ));
        assert_eq!(BotToken::parse("5:"), Err(TokenError::BadSecret));
        assert_eq!(BotToken::parse("5:a b"), Err(TokenError::BadSecret));
    }
}
