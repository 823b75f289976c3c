//! Where entries live: the [`Store`] trait, the in-memory store, and the shared least-recently-used
//! bookkeeping both stores use to stay within their size bound. The disk store is in `disk.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};

use super::policy::VaryKey;

/// One stored response: its head, the times needed for its age, the request headers it was selected
/// with, and its whole body.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    /// Without hop-by-hop headers.
    pub(crate) headers: HeaderMap,
    pub(crate) request_time: SystemTime,
    pub(crate) response_time: SystemTime,
    pub(crate) vary: VaryKey,
    pub(crate) body: Bytes,
}

impl Entry {
    /// The bytes this entry counts against a store's bound: its body, its headers and its vary key
    /// (each with a little for what holds it).
    pub(crate) fn size(&self) -> u64 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        let vary: usize = self
            .vary
            .iter()
            .map(|(name, value)| name.len() + value.as_ref().map_or(0, String::len) + 48)
            .sum();
        (self.body.len() + headers + vary + 64) as u64
    }
}

/// A place to keep entries by key (the request URI). Implementations are internally synchronised:
/// one store is shared by every clone of a [`Cache`](super::Cache) and every client using it.
pub(crate) trait Store: Send + Sync + std::fmt::Debug {
    /// The entry stored under `key`, marking it most recently used. A damaged entry is removed and
    /// reported as absent.
    fn get(&self, key: &str) -> Option<Arc<Entry>>;
    /// Stores `entry` under `key`, replacing any entry there, then evicts least recently used entries
    /// until the store is within its bound. An entry larger than the bound is not stored.
    fn put(&self, key: &str, entry: Entry);
    /// Removes the entry under `key`, if any.
    fn remove(&self, key: &str);
    /// Changes the bound, evicting at once if needed.
    fn set_max_size(&self, bytes: u64);
    /// The bound.
    fn max_size(&self) -> u64;
    /// Bytes stored now.
    fn size(&self) -> u64;
}

/// Least-recently-used bookkeeping over sized slots; stores keep their values beside it.
#[derive(Debug)]
pub(crate) struct Lru {
    slots: HashMap<String, Slot>,
    /// The keys by last use (then by a sequence number, as entries found on disk may share a time),
    /// oldest first: eviction takes from the front, without sorting.
    by_use: BTreeMap<Use, String>,
    next_seq: u64,
    total: u64,
    max: u64,
    tick: u64,
}

/// When a slot was last used, made unique by a sequence number.
type Use = (u64, u64);

#[derive(Debug, Clone, Copy)]
struct Slot {
    size: u64,
    used: Use,
}

impl Lru {
    pub(crate) fn new(max: u64) -> Lru {
        Lru {
            slots: HashMap::new(),
            by_use: BTreeMap::new(),
            next_seq: 0,
            total: 0,
            max,
            tick: 0,
        }
    }

    /// Marks `key` used now; `false` if it is not tracked.
    pub(crate) fn touch(&mut self, key: &str) -> bool {
        self.tick += 1;
        let now = self.stamp(self.tick);
        match self.slots.get_mut(key) {
            Some(slot) => {
                let was = std::mem::replace(&mut slot.used, now);
                let key = self.by_use.remove(&was).unwrap_or_else(|| key.to_owned());
                self.by_use.insert(now, key);
                true
            }
            None => false,
        }
    }

    /// Tracks `key` with `size` bytes as the most recently used; returns the keys to evict. A `key`
    /// larger than the bound is not tracked and is the only key returned: one oversize entry never
    /// empties the store.
    pub(crate) fn insert(&mut self, key: &str, size: u64) -> Vec<String> {
        self.remove(key);
        if size > self.max {
            return vec![key.to_owned()];
        }
        self.tick += 1;
        let used = self.stamp(self.tick);
        self.track(key, size, used);
        self.evict()
    }

    /// Tracks an existing item with an explicit recency (a disk entry found at startup).
    pub(crate) fn insert_aged(&mut self, key: &str, size: u64, used: u64) {
        self.remove(key);
        let stamp = self.stamp(used);
        self.track(key, size, stamp);
        self.tick = self.tick.max(used);
    }

    fn stamp(&mut self, tick: u64) -> Use {
        self.next_seq += 1;
        (tick, self.next_seq)
    }

    fn track(&mut self, key: &str, size: u64, used: Use) {
        self.slots.insert(key.to_owned(), Slot { size, used });
        self.by_use.insert(used, key.to_owned());
        self.total += size;
    }

    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self.slots.remove(key) {
            Some(slot) => {
                self.total -= slot.size;
                self.by_use.remove(&slot.used);
                true
            }
            None => false,
        }
    }

    pub(crate) fn set_max(&mut self, max: u64) -> Vec<String> {
        self.max = max;
        self.evict()
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Removes least recently used slots until the total is within the bound.
    pub(crate) fn evict(&mut self) -> Vec<String> {
        let mut evicted = Vec::new();
        if self.total <= self.max {
            return evicted;
        }
        while self.total > self.max {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(slot) = self.slots.remove(&key) {
                self.total -= slot.size;
            }
            evicted.push(key);
        }
        evicted
    }
}

/// Entries held in memory, bounded by their total size.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    inner: Mutex<Memory>,
}

#[derive(Debug)]
struct Memory {
    entries: HashMap<String, Arc<Entry>>,
    lru: Lru,
}

impl MemoryStore {
    pub(crate) fn new(max: u64) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Memory {
                entries: HashMap::new(),
                lru: Lru::new(max),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock cannot leave the map inconsistent with the LRU in a way that
        // matters more than losing the cache: carry on with what is there.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let mut inner = self.lock();
        let entry = inner.entries.get(key).cloned()?;
        inner.lru.touch(key);
        Some(entry)
    }

    fn put(&self, key: &str, entry: Entry) {
        let mut inner = self.lock();
        // The key is held three times (the map, and the recency list's two indexes).
        let size = entry.size() + 3 * key.len() as u64;
        if size > inner.lru.max() {
            // Not stored, and the older entry under its key is gone: it no longer answers.
            inner.entries.remove(key);
            inner.lru.remove(key);
            return;
        }
        inner.entries.insert(key.to_owned(), Arc::new(entry));
        for evicted in inner.lru.insert(key, size) {
            inner.entries.remove(&evicted);
        }
    }

    fn remove(&self, key: &str) {
        let mut inner = self.lock();
        inner.entries.remove(key);
        inner.lru.remove(key);
    }

    fn set_max_size(&self, bytes: u64) {
        let mut inner = self.lock();
        for evicted in inner.lru.set_max(bytes) {
            inner.entries.remove(&evicted);
        }
    }

    fn max_size(&self) -> u64 {
        self.lock().lru.max()
    }

    fn size(&self) -> u64 {
        self.lock().lru.total()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(body: &'static str) -> Entry {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().unwrap());
        headers.append("set-cookie", "a=1".parse().unwrap());
        headers.append("set-cookie", "b=2".parse().unwrap());
        Entry {
            status: StatusCode::OK,
            version: Version::HTTP_11,
            headers,
            request_time: SystemTime::UNIX_EPOCH,
            response_time: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1),
            vary: vec![
                ("accept".into(), Some("text/html".into())),
                ("x".into(), None),
            ],
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn lru_evicts_least_recently_used_first() {
        let mut lru = Lru::new(100);
        assert!(lru.insert("a", 40).is_empty());
        assert!(lru.insert("b", 40).is_empty());
        assert!(lru.touch("a"));
        assert_eq!(lru.insert("c", 40), vec!["b".to_owned()]);
        assert_eq!(lru.total(), 80);
        // Larger than the bound: only itself goes, the others stay.
        assert_eq!(lru.insert("big", 101), vec!["big".to_owned()]);
        assert_eq!(lru.total(), 80);
        assert!(lru.touch("a") && lru.touch("c"));
        assert_eq!(lru.by_use.len(), lru.slots.len());
    }

    #[test]
    fn lru_keeps_entries_found_on_disk_with_one_time_apart() {
        let mut lru = Lru::new(100);
        lru.insert_aged("old-1", 30, 5);
        lru.insert_aged("old-2", 30, 5);
        lru.insert_aged("newer", 30, 9);
        assert_eq!(lru.by_use.len(), 3);
        assert!(lru.touch("old-1"));
        assert_eq!(
            lru.insert("fresh", 60),
            vec!["old-2".to_owned(), "newer".to_owned()]
        );
        assert!(lru.remove("old-1") && lru.remove("fresh"));
        assert_eq!((lru.total(), lru.by_use.len(), lru.slots.len()), (0, 0, 0));
    }

    #[test]
    fn memory_store_stays_within_its_bound() {
        // The entry, and its one-byte key held three times.
        let one = entry("x").size() + 3;
        let store = MemoryStore::new(one * 2);
        store.put("a", entry("x"));
        store.put("b", entry("x"));
        assert!(store.get("a").is_some());
        store.put("c", entry("x"));
        assert!(store.get("b").is_none(), "b was least recently used");
        assert!(store.get("a").is_some());
        assert!(store.get("c").is_some());
        assert_eq!(store.size(), one * 2);
        // An entry larger than the bound is not stored, and evicts nothing but an older entry under
        // its own key.
        let mut big = entry("x");
        big.body = Bytes::from(vec![b'x'; (one * 2) as usize]);
        store.put("a", big);
        assert!(store.get("a").is_none());
        assert!(store.get("c").is_some());
        assert_eq!(store.size(), one);
        store.put("a", entry("x"));
        store.set_max_size(one);
        assert_eq!(store.size(), one);
        store.remove("c");
        store.remove("a");
        assert_eq!(store.size(), 0);
    }
}
