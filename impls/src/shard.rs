//! Sharded fleets: several processes of one server share the bots of one tokens file.
//!
//! A shard is `i/N` (`--shard i/N` or `TGBENCH_SHARD=i/N`, 0 ≤ i < N): the shard owns the
//! bots whose id satisfies `bot_id mod N == i` (Euclidean remainder, so a stable assignment
//! that needs no coordination and survives restarts; ids from the tokens file, not its
//! order, so every replica agrees whatever order it read the file in).
//!
//! - Polling: a shard polls only its own bots (two processes polling one bot would take
//!   each other's updates: Telegram answers the second getUpdates with 409).
//! - Webhook: a shard registers setWebhook only for its own bots, but **answers any bot of
//!   the tokens file**: replicas behind a load balancer (or sharing a port with
//!   `SO_REUSEPORT`) receive any bot's update, with no sticky routing. So every replica must
//!   know every bot's secret token: a sharded server derives each secret from the bot's
//!   token ([`derived_secret`], HMAC-SHA256), the same in every replica; an unsharded one
//!   keeps random secrets.

use std::{fmt, str::FromStr};

use ring::hmac;

use crate::token::BotToken;

/// The environment variable a shard may come from (the `--shard` flag wins).
pub const SHARD_ENV: &str = "TGBENCH_SHARD";

/// One shard `index/count` of a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether this shard owns `bot_id` (`bot_id mod count == index`).
    pub fn owns(&self, bot_id: i64) -> bool {
        bot_id.rem_euclid(i64::from(self.count)) == i64::from(self.index)
    }

    /// The tokens of `all` this shard owns, in their order.
    pub fn share(&self, all: &[BotToken]) -> Vec<BotToken> {
        all.iter().filter(|t| self.owns(t.id())).cloned().collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!("{s:?} is not a shard: {why} (expected i/N with 0 <= i < N, e.g. 0/2)")
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: u32 = i.trim().parse().map_err(|_| bad("i is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad("i must be below N"));
        }
        Ok(Shard { index, count })
    }
}

/// The bots a server with `shard` starts a transport for (all of them without a shard).
pub fn owned(shard: Option<Shard>, all: &[BotToken]) -> Vec<BotToken> {
    match shard {
        Some(s) => s.share(all),
        None => all.to_vec(),
    }
}

/// The webhook secret token every replica of a fleet gives `token`: HMAC-SHA256 keyed by
/// the bot token over a fixed label, as 64 hex characters (Telegram allows 1-256 of
/// `A-Za-z0-9_-`). Only someone who holds the bot token can compute it.
pub fn derived_secret(token: &BotToken) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, token.expose().as_bytes());
    let tag = hmac::sign(&key, b"tgbench webhook secret_token v1");
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_with_the_form() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        assert_eq!(" 0 / 1 ".parse(), Ok(Shard { index: 0, count: 1 }));
        for bad in ["3/3", "0/0", "1", "a/2", "1/b", "-1/2"] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("i/N"), "{bad}: {err}");
        }
        assert_eq!(Shard { index: 2, count: 4 }.to_string(), "2/4");
    }

    #[test]
    fn every_bot_has_exactly_one_owner() {
        for n in 1..=5u32 {
            for id in [-7i64, 0, 1, 2, 3, 10, 999_999_937, i64::MAX] {
                let owners = (0..n)
                    .filter(|&i| Shard { index: i, count: n }.owns(id))
                    .count();
                assert_eq!(owners, 1, "bot {id} with {n} shards");
            }
        }
    }

    #[test]
    fn derived_secrets_are_stable_per_token_and_valid_for_telegram() {
        let a = BotToken::parse("1001:AAHabcdefghijklmnopqrstuvwxyz0123456").unwrap();
        let b = BotToken::parse("1002:AAHabcdefghijklmnopqrstuvwxyz0123456").unwrap();
        let s = derived_secret(&a);
        assert_eq!(s, derived_secret(&a));
        assert_ne!(s, derived_secret(&b));
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
