//! Read-path caches: what a page or a lookup read from the database (a token, a session, a
//! channel's state, a rendered page), kept with the database's generation at the time
//! ([`crate::db::Db::generation`]). Any commit to the database, by this process (a promote, a
//! revoke, a new token, a sign-out) or by another on the same data folder (`distd token
//! create`, a second distd), makes every older entry a miss, and a miss always reads the
//! database, so nothing is served staler than the last commit. Entries also age out after
//! [`MAX_AGE`]: that bounds only what depends on the clock and not on the database (a page's
//! "expires in N days"); revocation and expiry are judged again at every use.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest an entry is used without reading the database again.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// A bounded map of values read at one database generation.
pub struct GenCache<K, V> {
    map: Mutex<HashMap<K, Entry<V>>>,
    max_entries: usize,
}

struct Entry<V> {
    generation: u64,
    at: Instant,
    value: V,
}

impl<K: Hash + Eq, V: Clone> GenCache<K, V> {
    pub fn new(max_entries: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_entries,
        }
    }

    /// The value kept for `key`, if it was read at `generation` and is young enough.
    pub fn get(&self, key: &K, generation: u64) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|e| e.generation == generation && e.at.elapsed() < MAX_AGE)
            .map(|e| e.value.clone())
    }

    /// Keeps `value`, read at `generation`. A full cache starts over (the bound matters,
    /// the policy hardly: a working set larger than the bound is not what this serves).
    pub fn put(&self, key: K, generation: u64, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.max_entries {
            map.clear();
        }
        map.insert(
            key,
            Entry {
                generation,
                at: Instant::now(),
                value,
            },
        );
    }
}

/// Tokens known by the SHA-256 of their secret, sessions by the SHA-256 of their cookie (with
/// their token), channel states for the lookup JSON, and the tokens whose `last_used_at` is
/// due, written together ([`run_touch_writer`]).
pub struct ReadCaches {
    pub tokens: GenCache<[u8; 32], Arc<crate::db::TokenRow>>,
    pub sessions: GenCache<[u8; 32], Arc<crate::sessions::Found>>,
    pub channels: GenCache<(String, String), Arc<crate::services::channels::CachedChannel>>,
    touches: Mutex<Touches>,
}

struct Touches {
    due: std::collections::BTreeSet<String>,
}

/// `last_used_at` of the tokens used since is written this often, in one write (a token's
/// first use is written at once: a new token shows it was used).
pub const TOUCH_BATCH: Duration = Duration::from_secs(10);
const TOKEN_ENTRIES: usize = 10_000;
const SESSION_ENTRIES: usize = 10_000;
const CHANNEL_ENTRIES: usize = 10_000;

impl Default for ReadCaches {
    fn default() -> Self {
        Self {
            tokens: GenCache::new(TOKEN_ENTRIES),
            sessions: GenCache::new(SESSION_ENTRIES),
            channels: GenCache::new(CHANNEL_ENTRIES),
            touches: Mutex::new(Touches {
                due: Default::default(),
            }),
        }
    }
}

impl ReadCaches {
    /// Notes that token `id` was used; [`run_touch_writer`] writes its `last_used_at` with the
    /// others' within [`TOUCH_BATCH`].
    pub fn note_use(&self, id: &str) {
        let mut t = self.touches.lock().unwrap_or_else(|p| p.into_inner());
        if t.due.len() < MAX_DUE {
            t.due.insert(id.to_owned());
        }
    }

    fn take_due(&self) -> Vec<String> {
        let mut t = self.touches.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut t.due).into_iter().collect()
    }
}

/// Token ids waiting for their `last_used_at` at most (a flood of distinct tokens between two
/// writes is dropped past it; the next use notes them again).
const MAX_DUE: usize = 10_000;

/// Writes the noted tokens' `last_used_at`, one transaction every [`TOUCH_BATCH`] when any
/// was used. Runs for the life of the server.
pub async fn run_touch_writer(state: crate::services::AppState) {
    let mut tick = tokio::time::interval(TOUCH_BATCH);
    loop {
        tick.tick().await;
        write_touches(&state).await;
    }
}

/// Writes the noted tokens' `last_used_at` now.
pub async fn write_touches(state: &crate::services::AppState) {
    let due = state.read.take_due();
    if due.is_empty() {
        return;
    }
    let res = state
        .db
        .write(move |tx| {
            let now = crate::util::now();
            for id in &due {
                crate::db::touch_token(tx, id, &now)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = res {
        tracing::warn!("could not write tokens' last_used_at: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_one_generation_and_the_bound_holds() {
        let c: GenCache<u32, &str> = GenCache::new(2);
        c.put(1, 7, "a");
        assert_eq!(c.get(&1, 7), Some("a"));
        assert_eq!(c.get(&1, 8), None, "a write since: a miss");
        c.put(2, 7, "b");
        c.put(3, 7, "c");
        assert_eq!(c.get(&1, 7), None, "full: started over");
        assert_eq!(c.get(&3, 7), Some("c"));
    }

    #[test]
    fn uses_are_batched_once_per_token() {
        let c = ReadCaches::default();
        c.note_use("tok_a");
        c.note_use("tok_a");
        c.note_use("tok_b");
        assert_eq!(c.take_due(), ["tok_a", "tok_b"]);
        assert!(c.take_due().is_empty(), "written once");
    }
}
