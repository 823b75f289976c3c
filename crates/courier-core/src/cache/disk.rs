//! The disk store: one file per entry in a directory, written to a temporary file and renamed into
//! place (so an entry is never seen half-written), checked against a CRC-32 on every read (so a
//! damaged or truncated file is dropped, not served), and kept within a size bound by evicting the least recently
//! used files. Recency survives restarts as the files' modification times.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};
use serde::{Deserialize, Serialize};

use super::policy;
use super::store::{Entry, Lru, Store};

const MAGIC: &[u8; 16] = b"courier-cache-2\n";
const CHECKSUM_LEN: usize = 4;
const ENTRY_SUFFIX: &str = ".entry";
const TEMP_SUFFIX: &str = ".tmp";
/// How old a temporary file must be before [`DiskStore::open`] treats it as abandoned.
const TEMP_MAX_AGE: Duration = Duration::from_secs(60);

/// Entries as files in one directory.
#[derive(Debug)]
pub(crate) struct DiskStore {
    dir: PathBuf,
    index: Mutex<Lru>,
    temp_counter: AtomicU64,
}

/// An entry's head as written to disk.
#[derive(Serialize, Deserialize)]
struct Meta {
    key: String,
    status: u16,
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
    request_time: (u64, u32),
    response_time: (u64, u32),
    vary: Vec<(String, Option<String>)>,
}

impl DiskStore {
    /// Opens (creating if needed) the store in `dir`: indexes the entries there, oldest use first, and
    /// removes temporary files a previous process left behind (those older than [`TEMP_MAX_AGE`]: a
    /// younger one may be another process's write under way). A file that disappears while the
    /// directory is scanned is skipped.
    pub(crate) fn open(dir: &Path, max: u64) -> io::Result<DiskStore> {
        create_private_dir(dir)?;
        let now = SystemTime::now();
        let mut found = Vec::new();
        for item in fs::read_dir(dir)? {
            // Gone since the directory was listed (another process evicted or renamed it).
            let Ok(item) = item else { continue };
            let Ok(meta) = item.metadata() else { continue };
            let name = item.file_name().to_string_lossy().into_owned();
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.ends_with(TEMP_SUFFIX) {
                if now.duration_since(modified).unwrap_or_default() > TEMP_MAX_AGE {
                    let _ = fs::remove_file(item.path());
                }
            } else if name.ends_with(ENTRY_SUFFIX) {
                found.push((modified, name, meta.len()));
            }
        }
        found.sort();
        let mut index = Lru::new(max);
        for (rank, (_, name, size)) in found.into_iter().enumerate() {
            index.insert_aged(&name, size, rank as u64 + 1);
        }
        // Nothing is evicted yet: `max` is only a default until `set_max_size` (`Cache::max_size`,
        // called right after opening) says otherwise, and evicting to it here deleted what a larger
        // limit would keep. The first write or limit set brings the directory within bounds.
        Ok(DiskStore {
            dir: dir.to_owned(),
            index: Mutex::new(index),
            temp_counter: AtomicU64::new(0),
        })
    }

    /// The index. Every change to the entry files (rename into place, delete) is made while holding
    /// it, so the index and the directory agree: an eviction never deletes the file of a concurrent
    /// `put` of the same key.
    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn file_name(key: &str) -> String {
        let mut name = policy::sha256_hex(key.as_bytes());
        name.push_str(ENTRY_SUFFIX);
        name
    }

    /// Deletes the files of `names`, already removed from `_index` (whose guard proves the lock is held).
    fn delete(&self, _index: &MutexGuard<'_, Lru>, names: Vec<String>) {
        for name in names {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    /// The key of this cache: read from [`SECRET_FILE`], or made and written there (readable by the
    /// owner only, through a temporary file as entries are) when there is none yet or it is damaged.
    /// Two processes making one at once each rename theirs into place; the loser's stored responses
    /// then miss, which costs requests, never correctness.
    pub(crate) fn secret(&self) -> io::Result<[u8; 32]> {
        let path = self.dir.join(SECRET_FILE);
        match fs::read(&path) {
            Ok(bytes) => {
                if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                    return Ok(secret);
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let secret = random_secret();
        let temp = self.write_temp(SECRET_FILE, &secret)?;
        fs::rename(&temp, &path).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })?;
        Ok(secret)
    }

    /// Writes `bytes` to a new temporary file; the caller renames it into place under the lock.
    fn write_temp(&self, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let temp = self.dir.join(format!(
            "{name}.{}.{}{TEMP_SUFFIX}",
            std::process::id(),
            self.temp_counter.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = create_private_file(&temp)?;
            file.write_all(bytes)
        })();
        match result {
            Ok(()) => Ok(temp),
            Err(err) => {
                let _ = fs::remove_file(&temp);
                Err(err)
            }
        }
    }

    /// The entry in the file `name`, if it is whole and `key`'s.
    fn read(&self, key: &str, name: &str) -> Option<Entry> {
        fs::read(self.dir.join(name))
            .ok()
            .and_then(|bytes| decode(key, bytes))
    }
}

impl Store for DiskStore {
    fn get(&self, key: &str) -> Option<Arc<Entry>> {
        let name = Self::file_name(key);
        if !self.lock().touch(&name) {
            return None;
        }
        let entry = match self.read(key, &name) {
            Some(entry) => entry,
            None => {
                // Damaged, truncated, another key's, or replaced under us: look again under the lock
                // (no file changes then), and drop it only if it is still unreadable.
                let mut index = self.lock();
                match self.read(key, &name) {
                    Some(entry) => entry,
                    None => {
                        index.remove(&name);
                        self.delete(&index, vec![name]);
                        return None;
                    }
                }
            }
        };
        // Recency for the next process; best effort.
        if let Ok(file) = fs::File::options().write(true).open(self.dir.join(&name)) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(Arc::new(entry))
    }

    fn put(&self, key: &str, entry: Entry) {
        let name = Self::file_name(key);
        let bytes = encode(key, &entry);
        if bytes.len() as u64 > self.max_size() {
            self.remove(key);
            return;
        }
        let temp = self.write_temp(&name, &bytes);
        let mut index = self.lock();
        let placed = temp.and_then(|temp| {
            fs::rename(&temp, self.dir.join(&name)).inspect_err(|_| {
                let _ = fs::remove_file(&temp);
            })
        });
        if placed.is_err() {
            // A full disk or a removed directory loses the entry, not the response.
            index.remove(&name);
            self.delete(&index, vec![name]);
            return;
        }
        let evicted = index.insert(&name, bytes.len() as u64);
        self.delete(&index, evicted);
    }

    fn remove(&self, key: &str) {
        let name = Self::file_name(key);
        let mut index = self.lock();
        index.remove(&name);
        self.delete(&index, vec![name]);
    }

    fn set_max_size(&self, bytes: u64) {
        let mut index = self.lock();
        let evicted = index.set_max(bytes);
        self.delete(&index, evicted);
    }

    fn max_size(&self) -> u64 {
        self.lock().max()
    }

    fn size(&self) -> u64 {
        self.lock().total()
    }
}

/// The file in a cache directory holding the key its vary keys hash credentials with.
const SECRET_FILE: &str = "secret.key";

/// 32 bytes from the operating system's random source (a process-keyed hash of the time if that
/// fails, which it does not on any supported system).
pub(crate) fn random_secret() -> [u8; 32] {
    let mut secret = [0; 32];
    if getrandom::getrandom(&mut secret).is_err() {
        use std::hash::BuildHasher as _;
        let state = std::collections::hash_map::RandomState::new();
        for (i, chunk) in secret.chunks_mut(8).enumerate() {
            let word = state.hash_one((i, SystemTime::now()));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
    }
    secret
}

/// Creates `dir` (and its missing parents) readable by the owner only, on Unix: cached responses may
/// be private. An existing directory is left as it is.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a new file readable and writable by the owner only, on Unix.
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn time_parts(time: SystemTime) -> (u64, u32) {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs(), since.subsec_nanos())
}

fn time_from(parts: (u64, u32)) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(parts.0, parts.1.min(999_999_999)))
}

fn version_code(version: Version) -> u8 {
    match version {
        Version::HTTP_09 => 9,
        Version::HTTP_10 => 10,
        Version::HTTP_2 => 20,
        Version::HTTP_3 => 30,
        _ => 11,
    }
}

fn version_from(code: u8) -> Version {
    match code {
        9 => Version::HTTP_09,
        10 => Version::HTTP_10,
        20 => Version::HTTP_2,
        30 => Version::HTTP_3,
        _ => Version::HTTP_11,
    }
}

/// `MAGIC`, the head's JSON length (u32 LE) and JSON, the body's length (u64 LE) and bytes, then the
/// CRC-32 (u32 LE) of everything before it. Credential-bearing headers
/// ([`policy::is_secret_response_header`]) are left out: they never reach the disk. A checksum against
/// damage, not tampering: whoever can write the cache directory can change what is served from it
/// anyway.
fn encode(key: &str, entry: &Entry) -> Vec<u8> {
    let meta = Meta {
        key: key.to_owned(),
        status: entry.status.as_u16(),
        version: version_code(entry.version),
        headers: entry
            .headers
            .iter()
            .filter(|(name, _)| !policy::is_secret_response_header(name))
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        request_time: time_parts(entry.request_time),
        response_time: time_parts(entry.response_time),
        vary: entry.vary.clone(),
    };
    let meta = serde_json::to_vec(&meta).unwrap_or_default();
    let mut out =
        Vec::with_capacity(MAGIC.len() + 4 + meta.len() + 8 + entry.body.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.extend_from_slice(&(entry.body.len() as u64).to_le_bytes());
    out.extend_from_slice(&entry.body);
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

/// The entry in `bytes` if they are whole, undamaged and stored under `key`.
fn decode(key: &str, bytes: Vec<u8>) -> Option<Entry> {
    let content_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (content, checksum) = bytes.split_at(content_len);
    if crc32fast::hash(content).to_le_bytes() != checksum {
        return None;
    }
    let rest = content.strip_prefix(MAGIC.as_slice())?;
    let (len, rest) = rest.split_at_checked(4)?;
    let meta_len = u32::from_le_bytes(len.try_into().ok()?) as usize;
    let (meta, rest) = rest.split_at_checked(meta_len)?;
    let (len, body) = rest.split_at_checked(8)?;
    if u64::from_le_bytes(len.try_into().ok()?) != body.len() as u64 {
        return None;
    }
    let body_start = content_len - body.len();
    let meta: Meta = serde_json::from_slice(meta).ok()?;
    if meta.key != key {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(meta.headers.len());
    for (name, value) in meta.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_bytes(&value).ok()?,
        );
    }
    Some(Entry {
        status: StatusCode::from_u16(meta.status).ok()?,
        version: version_from(meta.version),
        headers,
        request_time: time_from(meta.request_time)?,
        response_time: time_from(meta.response_time)?,
        vary: meta.vary,
        // The file's bytes, not a copy of them.
        body: Bytes::from(bytes).slice(body_start..content_len),
    })
}

#[cfg(test)]
mod tests {
    use super::super::store::tests::entry;
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("courier-disk-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trips_every_field() {
        let original = entry("hello");
        let decoded = decode("k", encode("k", &original)).unwrap();
        assert_eq!(decoded.status, original.status);
        assert_eq!(decoded.version, original.version);
        let mut kept = original.headers.clone();
        kept.remove("set-cookie");
        assert_eq!(decoded.headers, kept);
        assert_eq!(decoded.request_time, original.request_time);
        assert_eq!(decoded.response_time, original.response_time);
        assert_eq!(decoded.vary, original.vary);
        assert_eq!(decoded.body, original.body);
        assert!(decode("other key", encode("k", &original)).is_none());
    }

    #[test]
    fn credentials_never_reach_the_disk() {
        let dir = temp_dir("secrets");
        let store = DiskStore::open(&dir, 1 << 20).unwrap();
        let mut secret = entry("body");
        for (name, value) in [
            ("set-cookie", "session=s3cr3t-cookie"),
            ("set-cookie2", "old=s3cr3t-cookie2"),
            ("authentication-info", "nextnonce=\"s3cr3t-nonce\""),
            ("proxy-authentication-info", "nextnonce=\"s3cr3t-proxy\""),
        ] {
            secret.headers.append(name, value.parse().unwrap());
        }
        store.put("http://127.0.0.1/s", secret);
        let path = dir.join(DiskStore::file_name("http://127.0.0.1/s"));
        let bytes = fs::read(&path).unwrap();
        // Header values are written as JSON arrays of bytes.
        let as_json = serde_json::to_string(&b"s3cr3t".to_vec()).unwrap();
        let needle = as_json.trim_end_matches(']').as_bytes();
        for needle in [b"s3cr3t".as_slice(), needle] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a credential was written"
            );
        }
        let read = store.get("http://127.0.0.1/s").unwrap();
        assert_eq!(read.headers.len(), 1, "{:?}", read.headers);
        assert_eq!(read.headers["content-type"], "text/plain");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_damage_is_detected() {
        let bytes = encode("k", &entry("hello"));
        for cut in [0, 1, 16, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode("k", bytes[..cut].to_vec()).is_none(),
                "truncated at {cut}"
            );
        }
        for at in [0, 20, bytes.len() - 10, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert!(decode("k", damaged).is_none(), "flipped byte {at}");
        }
    }

    #[test]
    fn survives_reopen_drops_damaged_files_and_temp_leftovers() {
        let dir = temp_dir("reopen");
        let store = DiskStore::open(&dir, 1 << 20).unwrap();
        store.put("http://127.0.0.1/a", entry("a"));
        store.put("http://127.0.0.1/b", entry("b"));
        drop(store);
        fs::write(dir.join("leftover.1.2.tmp"), b"partial").unwrap();
        let old = SystemTime::now() - Duration::from_secs(120);
        let leftover = fs::File::options()
            .write(true)
            .open(dir.join("leftover.1.2.tmp"))
            .unwrap();
        leftover.set_modified(old).unwrap();
        drop(leftover);
        // A young temporary file may be another process's write under way: it stays.
        fs::write(dir.join("writing.3.4.tmp"), b"partial").unwrap();
        let b_path = dir.join(DiskStore::file_name("http://127.0.0.1/b"));
        let mut damaged = fs::read(&b_path).unwrap();
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        fs::write(&b_path, damaged).unwrap();

        let store = DiskStore::open(&dir, 1 << 20).unwrap();
        assert!(!dir.join("leftover.1.2.tmp").exists());
        assert!(dir.join("writing.3.4.tmp").exists());
        assert_eq!(&store.get("http://127.0.0.1/a").unwrap().body[..], b"a");
        assert!(store.get("http://127.0.0.1/b").is_none());
        assert!(!b_path.exists(), "the damaged file is removed");
        let _ = fs::remove_dir_all(&dir);
    }

    /// The size a directory is opened with is only a default until `max_size` says otherwise: nothing
    /// is evicted on opening (`Cache::on_disk(dir)?.max_size(n)` lost what was past 1 GiB on every
    /// start), only once the store is written or its limit set.
    #[test]
    fn opening_evicts_nothing_until_the_limit_is_set_or_an_entry_written() {
        let dir = temp_dir("reopen-limit");
        let size = encode("http://127.0.0.1/a", &entry("x")).len() as u64;
        let store = DiskStore::open(&dir, size * 4).unwrap();
        for key in [
            "http://127.0.0.1/a",
            "http://127.0.0.1/b",
            "http://127.0.0.1/c",
        ] {
            store.put(key, entry("x"));
        }
        drop(store);
        let store = DiskStore::open(&dir, size).unwrap();
        store.set_max_size(size * 4);
        for key in [
            "http://127.0.0.1/a",
            "http://127.0.0.1/b",
            "http://127.0.0.1/c",
        ] {
            assert!(store.get(key).is_some(), "{key}");
        }
        store.set_max_size(size * 2);
        assert_eq!(store.size(), size * 2);
        drop(store);
        // Without a limit set, the first write brings the directory within the one it was opened with.
        let store = DiskStore::open(&dir, size).unwrap();
        store.put("http://127.0.0.1/d", entry("x"));
        assert_eq!(store.size(), size);
        assert!(store.get("http://127.0.0.1/d").is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn evicts_least_recently_used_files() {
        let dir = temp_dir("evict");
        let size = encode("http://127.0.0.1/a", &entry("x")).len() as u64;
        let store = DiskStore::open(&dir, size * 2).unwrap();
        store.put("http://127.0.0.1/a", entry("x"));
        store.put("http://127.0.0.1/b", entry("x"));
        assert!(store.get("http://127.0.0.1/a").is_some());
        store.put("http://127.0.0.1/c", entry("x"));
        assert!(store.get("http://127.0.0.1/b").is_none());
        assert!(store.get("http://127.0.0.1/a").is_some());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        assert_eq!(store.size(), size * 2);
        let _ = fs::remove_dir_all(&dir);
    }
}
