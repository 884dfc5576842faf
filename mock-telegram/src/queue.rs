//! A bot's queue of unconfirmed updates, in update_id order, each kept as its JSON bytes so
//! a getUpdates answer or a webhook POST is a concatenation, not a serialization.
//!
//! Public for the criterion bench of the hot paths (`benches/hot_paths.rs`).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

/// What an update holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateKind {
    Message,
    CallbackQuery,
}

impl UpdateKind {
    /// The name allowed_updates uses for it.
    pub fn name(self) -> &'static str {
        match self {
            UpdateKind::Message => "message",
            UpdateKind::CallbackQuery => "callback_query",
        }
    }
}

/// One unconfirmed update.
#[derive(Clone, Debug)]
pub struct Pending {
    pub update_id: i64,
    pub chat_id: i64,
    pub kind: UpdateKind,
    /// The Update object, serialized once.
    pub json: Bytes,
    /// How many times it was handed to the bot (getUpdates answers, 2xx webhook POSTs).
    pub handed: u32,
    /// A webhook POST of it is under way.
    pub in_flight: bool,
    /// Failed webhook POSTs of it.
    pub failures: u32,
    /// When Telegram drops it unhanded (its date + [`MockConfig::update_expiry`]).
    ///
    /// [`MockConfig::update_expiry`]: crate::MockConfig::update_expiry
    pub expires_at: Instant,
}

/// How a batch was handed over: first-time deliveries and repeats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handed {
    pub first: u64,
    pub again: u64,
}

/// The queue.
#[derive(Clone, Debug, Default)]
pub struct UpdateQueue {
    items: VecDeque<Pending>,
}

impl UpdateQueue {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends an update (ids must grow); drops the oldest beyond `max`. Returns how many
    /// were dropped.
    pub fn push(&mut self, p: Pending, max: usize) -> usize {
        self.items.push_back(p);
        let mut dropped = 0;
        while self.items.len() > max.max(1) {
            self.items.pop_front();
            dropped += 1;
        }
        dropped
    }

    /// Confirms (forgets) every update with an id lower than `offset`. Returns how many.
    pub fn confirm(&mut self, offset: i64) -> usize {
        let n = self.items.partition_point(|p| p.update_id < offset);
        self.items.drain(..n);
        n
    }

    /// A negative offset: keeps only the last `n` updates. Returns how many were forgotten.
    pub fn keep_last(&mut self, n: usize) -> usize {
        let forget = self.items.len().saturating_sub(n);
        self.items.drain(..forget);
        forget
    }

    /// Forgets the updates at the head that expired by `now` (every update lives equally
    /// long, so expired ones are the oldest). Returns how many.
    pub fn drop_expired(&mut self, now: Instant) -> usize {
        let n = self.items.partition_point(|p| p.expires_at <= now);
        self.items.drain(..n);
        n
    }

    /// Forgets everything. Returns how many.
    pub fn clear(&mut self) -> usize {
        let n = self.items.len();
        self.items.clear();
        n
    }

    /// The first `limit` updates as a JSON array's items, marking them handed.
    pub fn take_batch(&mut self, limit: usize, out: &mut Vec<u8>) -> (usize, Handed) {
        let mut handed = Handed::default();
        let mut n = 0;
        for p in self.items.iter_mut().take(limit) {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&p.json);
            if p.handed == 0 {
                handed.first += 1;
            } else {
                handed.again += 1;
            }
            p.handed += 1;
            n += 1;
        }
        (n, handed)
    }

    /// Iterates in order (for the webhook worker).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pending> {
        self.items.iter_mut()
    }

    /// The update with this id.
    pub fn get_mut(&mut self, update_id: i64) -> Option<&mut Pending> {
        let i = self
            .items
            .binary_search_by_key(&update_id, |p| p.update_id)
            .ok()?;
        self.items.get_mut(i)
    }

    /// Removes the update with this id (a 2xx webhook POST confirms it).
    pub fn remove(&mut self, update_id: i64) -> Option<Pending> {
        let i = self
            .items
            .binary_search_by_key(&update_id, |p| p.update_id)
            .ok()?;
        self.items.remove(i)
    }
}

/// `{"ok":true,"result":[` + items + `]}`: wraps a batch in Telegram's envelope.
pub fn envelope_batch(items: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() + 24);
    out.extend_from_slice(b"{\"ok\":true,\"result\":[");
    out.extend_from_slice(items);
    out.extend_from_slice(b"]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: i64) -> Pending {
        Pending {
            update_id: id,
            chat_id: 1,
            kind: UpdateKind::Message,
            json: Bytes::from(format!("{{\"update_id\":{id}}}")),
            handed: 0,
            in_flight: false,
            failures: 0,
            expires_at: Instant::now() + std::time::Duration::from_secs(id as u64),
        }
    }

    fn queue(ids: impl IntoIterator<Item = i64>) -> UpdateQueue {
        let mut q = UpdateQueue::default();
        for id in ids {
            q.push(pending(id), 100);
        }
        q
    }

    #[test]
    fn offset_confirms_lower_ids_and_negative_offset_keeps_the_tail() {
        let mut q = queue(1..=10);
        assert_eq!(q.confirm(4), 3);
        assert_eq!(q.confirm(4), 0);
        assert_eq!(q.keep_last(2), 5);
        let mut out = Vec::new();
        q.take_batch(100, &mut out);
        assert_eq!(
            envelope_batch(&out),
            br#"{"ok":true,"result":[{"update_id":9},{"update_id":10}]}"#
        );
    }

    #[test]
    fn expired_updates_leave_from_the_head() {
        let mut q = queue(1..=5);
        let t = q.items[2].expires_at;
        assert_eq!(q.drop_expired(t), 3);
        assert_eq!(q.drop_expired(t), 0);
        assert_eq!(q.items.front().map(|p| p.update_id), Some(4));
    }

    #[test]
    fn batches_count_first_and_repeated_handovers() {
        let mut q = queue(1..=5);
        let mut out = Vec::new();
        assert_eq!(
            q.take_batch(2, &mut out),
            (2, Handed { first: 2, again: 0 })
        );
        out.clear();
        assert_eq!(
            q.take_batch(3, &mut out),
            (3, Handed { first: 1, again: 2 })
        );
    }

    #[test]
    fn bound_drops_the_oldest_and_remove_finds_by_id() {
        let mut q = UpdateQueue::default();
        let dropped: usize = (1..=5).map(|i| q.push(pending(i), 3)).sum();
        assert_eq!(dropped, 2);
        assert!(q.get_mut(2).is_none());
        assert_eq!(q.remove(4).map(|p| p.update_id), Some(4));
        assert_eq!(q.len(), 2);
    }
}
