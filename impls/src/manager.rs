//! The multi-tenant bot manager, as a platform has it: every bot of the tokens file is known
//! from the start, but a bot *instance* ([`BotInstance`]: its settings, what a platform loads
//! from its database) is created on the bot's first update and kept in an LRU of at most
//! `max_loaded` instances. Loading costs `load_cost` (awaited); a bot whose instance was
//! evicted pays it again on its next update. Loads and evictions are counted.
//!
//! Concurrent updates to a bot that is being loaded wait for that one load (a `OnceCell` per
//! slot), so a burst never loads a bot twice.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use lru::LruCache;
use tokio::sync::OnceCell;

use crate::{logic::BotInstance, token::BotToken};

/// LRU size and load cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagerConfig {
    /// Most instances kept loaded (`--max-loaded`).
    pub max_loaded: NonZeroUsize,
    /// Time one load takes (`--load-ms`).
    pub load_cost: Duration,
}

type Slot = Arc<OnceCell<Arc<BotInstance>>>;

/// Known bots and the LRU of loaded instances.
#[derive(Debug)]
pub struct Manager {
    tokens: Vec<BotToken>,
    index: HashMap<i64, usize>,
    loaded: Mutex<LruCache<i64, Slot>>,
    load_cost: Duration,
    loads: AtomicU64,
    evictions: AtomicU64,
}

impl Manager {
    /// A manager of `tokens` (ids unique, as [`crate::sut_env::read_tokens`] guarantees;
    /// a repeated id keeps its first token).
    pub fn new(tokens: Vec<BotToken>, config: ManagerConfig) -> Self {
        let mut index = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            index.entry(t.id()).or_insert(i);
        }
        Self {
            tokens,
            index,
            loaded: Mutex::new(LruCache::new(config.max_loaded)),
            load_cost: config.load_cost,
            loads: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// Every known bot, in tokens-file order.
    pub fn tokens(&self) -> &[BotToken] {
        &self.tokens
    }

    /// The token of bot `bot_id`, if the bot is known.
    pub fn token(&self, bot_id: i64) -> Option<&BotToken> {
        self.index.get(&bot_id).map(|&i| &self.tokens[i])
    }

    /// The loaded instance of `bot_id`, loading it (and maybe evicting the least recently
    /// used one) if needed; `None` for an unknown bot.
    pub async fn instance(&self, bot_id: i64) -> Option<Arc<BotInstance>> {
        self.token(bot_id)?;
        let slot = {
            let mut lru = self.loaded.lock().expect("manager lock poisoned");
            match lru.get(&bot_id) {
                Some(slot) => slot.clone(),
                None => {
                    let slot = Slot::default();
                    if lru.push(bot_id, slot.clone()).is_some() {
                        self.evictions.fetch_add(1, Ordering::Relaxed);
                    }
                    slot
                }
            }
        };
        let instance = slot
            .get_or_init(|| async {
                if !self.load_cost.is_zero() {
                    tokio::time::sleep(self.load_cost).await;
                }
                self.loads.fetch_add(1, Ordering::Relaxed);
                Arc::new(BotInstance::new(bot_id))
            })
            .await;
        Some(instance.clone())
    }

    /// Instances loaded now.
    pub fn loaded(&self) -> usize {
        self.loaded.lock().expect("manager lock poisoned").len()
    }

    /// Loads so far.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Evictions so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(bots: i64, max_loaded: usize, load_ms: u64) -> Manager {
        let tokens = (1..=bots)
            .map(|i| BotToken::parse(&format!("{i}:secret{i}")).unwrap())
            .collect();
        Manager::new(
            tokens,
            ManagerConfig {
                max_loaded: NonZeroUsize::new(max_loaded).unwrap(),
                load_cost: Duration::from_millis(load_ms),
            },
        )
    }

    #[tokio::test]
    async fn loads_on_first_use_and_keeps_the_instance() {
        let m = manager(3, 10, 0);
        assert_eq!(m.loaded(), 0);
        let a = m.instance(2).await.unwrap();
        let b = m.instance(2).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((m.loads(), m.loaded(), m.evictions()), (1, 1, 0));
        assert!(m.instance(99).await.is_none(), "unknown bot");
        assert_eq!(m.token(3).unwrap().id(), 3);
    }

    #[tokio::test]
    async fn evicts_the_least_recently_used_and_reloads_it() {
        let m = manager(3, 2, 0);
        m.instance(1).await;
        m.instance(2).await;
        m.instance(1).await; // 2 is now least recently used
        m.instance(3).await; // evicts 2
        assert_eq!((m.loads(), m.evictions(), m.loaded()), (3, 1, 2));
        m.instance(1).await; // still loaded
        assert_eq!(m.loads(), 3);
        m.instance(2).await; // reloaded, evicts 3
        assert_eq!((m.loads(), m.evictions()), (4, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_waits_for_one_load_that_costs_load_ms() {
        let m = Arc::new(manager(1, 4, 200));
        let t = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move { m.instance(1).await.unwrap() })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(m.loads(), 1);
        assert_eq!(t.elapsed(), Duration::from_millis(200));
    }
}
