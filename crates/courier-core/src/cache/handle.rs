//! [`Cache`]: the handle users configure and share between clients (in memory or on disk, size bounds,
//! clock), the store behind it, and the key a request is stored under.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use http::Uri;

use super::disk::DiskStore;
use super::store::{Entry, MemoryStore, Store};
use crate::error::Error;

/// The default bound of [`Cache::in_memory`]: 64 MiB.
pub const DEFAULT_MEMORY_SIZE: u64 = 64 * 1024 * 1024;

/// The default bound of [`Cache::on_disk`]: 1 GiB.
pub const DEFAULT_DISK_SIZE: u64 = 1024 * 1024 * 1024;

/// The default largest body stored: 16 MiB (and never more than the cache's bound). Larger bodies pass
/// through unstored.
pub const DEFAULT_MAX_ENTRY_SIZE: u64 = 16 * 1024 * 1024;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A private HTTP cache: where [`CachingLayer`](super::CachingLayer) keeps responses.
///
/// Cheap to clone: clones share the same entries, so one `Cache` can serve several layers and clients.
/// Open a disk directory once per process and clone the handle, rather than opening it twice.
///
/// ```
/// use courier_core::cache::Cache;
///
/// let memory = Cache::in_memory().max_size(8 * 1024 * 1024);
/// let shared = memory.clone(); // same entries
/// # drop(shared);
///
/// let dir = std::env::temp_dir().join("courier-cache-doc");
/// let disk = Cache::on_disk(&dir)?.max_size(256 * 1024 * 1024);
/// # drop(disk);
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), courier_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Cache {
    shared: Arc<Shared>,
}

struct Shared {
    store: Box<dyn Store>,
    clock: RwLock<Clock>,
    max_entry_size: AtomicU64,
    /// Keys with a background revalidation under way, so each is revalidated once at a time.
    revalidating: Mutex<HashSet<String>>,
    kind: &'static str,
    /// The key credentials are hashed with before a stored response keeps them (see
    /// `policy::request_value`): random per memory cache, kept in its directory by a disk cache.
    secret: [u8; 32],
}

impl Cache {
    fn with_store(store: Box<dyn Store>, kind: &'static str, secret: [u8; 32]) -> Cache {
        Cache {
            shared: Arc::new(Shared {
                store,
                clock: RwLock::new(Arc::new(SystemTime::now)),
                max_entry_size: AtomicU64::new(DEFAULT_MAX_ENTRY_SIZE),
                revalidating: Mutex::new(HashSet::new()),
                kind,
                secret,
            }),
        }
    }

    /// A cache in memory, bounded by [`DEFAULT_MEMORY_SIZE`] until [`max_size`](Cache::max_size) says
    /// otherwise. Entries are lost with the last clone.
    pub fn in_memory() -> Cache {
        Cache::with_store(
            Box::new(MemoryStore::new(DEFAULT_MEMORY_SIZE)),
            "memory",
            super::disk::random_secret(),
        )
    }

    /// A cache in the directory `dir` (created if missing), bounded by [`DEFAULT_DISK_SIZE`] until
    /// [`max_size`](Cache::max_size) says otherwise. Its entries survive restarts: opening the same
    /// directory again finds them. Fails with a builder error when the directory cannot be created or
    /// read.
    pub fn on_disk(dir: impl AsRef<Path>) -> Result<Cache, Error> {
        let dir = dir.as_ref();
        let opened =
            DiskStore::open(dir, DEFAULT_DISK_SIZE).and_then(|store| Ok((store.secret()?, store)));
        let (secret, store) = opened.map_err(|err| {
            Error::builder(std::io::Error::new(
                err.kind(),
                format!("cannot open the cache directory {}: {err}", dir.display()),
            ))
        })?;
        Ok(Cache::with_store(Box::new(store), "disk", secret))
    }

    /// The most bytes the cache holds (bodies, headers, and what selects them: the URL keys and the
    /// `Vary` values); past it, the least recently used entries are evicted.
    pub fn max_size(self, bytes: u64) -> Cache {
        self.shared.store.set_max_size(bytes);
        self
    }

    /// The largest body stored (default [`DEFAULT_MAX_ENTRY_SIZE`]); larger bodies pass through to the
    /// caller unstored. A body is held in memory while it is read, up to this size, before it is
    /// stored.
    pub fn max_entry_size(self, bytes: u64) -> Cache {
        self.shared.max_entry_size.store(bytes, Ordering::Relaxed);
        self
    }

    /// Replaces the clock that ages entries (default [`SystemTime::now`]); for tests of freshness.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, SystemTime};
    /// use courier_core::cache::Cache;
    ///
    /// let now = Arc::new(Mutex::new(SystemTime::now()));
    /// let clock = now.clone();
    /// let cache = Cache::in_memory().clock(move || *clock.lock().unwrap());
    /// *now.lock().unwrap() += Duration::from_secs(3600); // an hour later, for the cache
    /// # drop(cache);
    /// ```
    pub fn clock<F>(self, clock: F) -> Cache
    where
        F: Fn() -> SystemTime + Send + Sync + 'static,
    {
        *self.shared.clock.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(clock);
        self
    }

    /// The bytes stored now.
    pub fn size(&self) -> u64 {
        self.shared.store.size()
    }

    /// Removes the entry for `uri`, if any.
    pub fn remove(&self, uri: &Uri) {
        self.shared.store.remove(&key(uri));
    }

    pub(crate) fn now(&self) -> SystemTime {
        let clock = self
            .shared
            .clock
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        clock()
    }

    /// The key credentials are hashed with in stored responses' vary keys.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.shared.secret
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<Entry>> {
        self.shared.store.get(key)
    }

    pub(crate) fn put(&self, key: &str, entry: Entry) {
        self.shared.store.put(key, entry);
    }

    pub(crate) fn remove_key(&self, key: &str) {
        self.shared.store.remove(key);
    }

    /// The largest body that will be stored.
    pub(crate) fn entry_limit(&self) -> u64 {
        self.shared
            .max_entry_size
            .load(Ordering::Relaxed)
            .min(self.shared.store.max_size())
    }

    /// Claims the background revalidation of `key`; `false` if one is already under way.
    pub(crate) fn begin_revalidation(&self, key: &str) -> bool {
        self.shared
            .revalidating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned())
    }

    pub(crate) fn end_revalidation(&self, key: &str) {
        self.shared
            .revalidating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("kind", &self.shared.kind)
            .field("size", &self.shared.store.size())
            .field("max_size", &self.shared.store.max_size())
            .finish_non_exhaustive()
    }
}

/// The key of a request's entry: its absolute URI.
pub(crate) fn key(uri: &Uri) -> String {
    uri.to_string()
}
