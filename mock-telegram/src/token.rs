//! Bot identities: ids, usernames and tokens derived from a seed, and the token check.
//!
//! A token is `<bot_id>:<35 chars of [A-Za-z0-9_-]>`, like Telegram's. Tokens are compared
//! in constant time and never logged whole ([`redact`]).

use serde::Serialize;
use subtle::ConstantTimeEq;

/// The first bot's id; bot `i` has id `FIRST_BOT_ID + i`.
pub const FIRST_BOT_ID: i64 = 7_000_000_001;

const SECRET_LEN: usize = 35;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// One bot as a harness sees it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BotInfo {
    pub id: i64,
    pub username: String,
    pub token: String,
}

/// splitmix64: a small, stable mixer, so tokens do not change with a `rand` upgrade.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The identity of bot number `index` under `seed`.
pub fn bot_info(seed: u64, index: usize) -> BotInfo {
    let id = FIRST_BOT_ID + index as i64;
    let mut state = seed ^ (index as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut secret = String::with_capacity(SECRET_LEN);
    while secret.len() < SECRET_LEN {
        let mut word = splitmix64(&mut state);
        for _ in 0..10 {
            if secret.len() == SECRET_LEN {
                break;
            }
            secret.push(ALPHABET[(word & 63) as usize] as char);
            word >>= 6;
        }
    }
    BotInfo {
        id,
        username: format!("tgbench_{index}_bot"),
        token: format!("{id}:{secret}"),
    }
}

/// The bot id of a well-formed token (`<digits>:<1+ chars of [A-Za-z0-9_-]>`), or None when
/// malformed (Telegram answers those 404 Not Found, unknown well-formed ones 401).
pub fn parse_bot_id(token: &str) -> Option<i64> {
    let (id, secret) = token.split_once(':')?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The alphabet by its classes, not a search through it per byte (every call is
    // routed through here).
    let in_alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if secret.is_empty() || !secret.bytes().all(in_alphabet) {
        return None;
    }
    id.parse().ok()
}

/// Constant-time equality of two secrets (their lengths are not secret).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `123456:AbC…`: enough of a token to recognise it in a log, not enough to use it.
pub fn redact(token: &str) -> String {
    match token.split_once(':') {
        Some((id, secret)) => format!("{id}:{}…", secret.get(..3).unwrap_or("")),
        None => format!("{}…", token.get(..3).unwrap_or("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_real_and_are_deterministic() {
        let a = bot_info(42, 3);
        assert_eq!(a, bot_info(42, 3));
        assert_ne!(a.token, bot_info(43, 3).token);
        let (id, secret) = a.token.split_once(':').unwrap();
        assert_eq!(id, a.id.to_string());
        assert_eq!(secret.len(), 35);
        assert!(secret.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(parse_bot_id(&a.token), Some(a.id));
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        for bad in [
            "", "abc", "123", "123:", ":abc", "12a:abc", "123:ab/c", "123:ab c",
        ] {
            assert_eq!(parse_bot_id(bad), None, "{bad}");
        }
        assert_eq!(parse_bot_id("123:abc"), Some(123));
    }

    #[test]
    fn redaction_keeps_only_a_prefix() {
        let t = bot_info(0, 0).token;
        let r = redact(&t);
        assert!(r.len() < t.len() && r.ends_with('…'));
        assert!(secrets_equal(&t, &t.clone()) && !secrets_equal(&t, &r));
    }
}
