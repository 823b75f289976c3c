//! The `.part` file and its `.part.meta` sidecar on disk, and how a file splits into segments.
//!
//! The sidecar is small JSON written when a response that can be resumed starts: the URL, the
//! validator for `If-Range` (a strong `ETag`, else `Last-Modified`), the total size and, for a
//! segmented download, each segment's progress. A `.part` without a readable sidecar for the same URL
//! is never resumed: it is started over. The `.part` is created (or truncated) in one place and
//! opened for writing at an offset in one place, [`PartPaths::create`] and [`PartPaths::open_at`].
//!
//! What it does not do: decide anything. Whether a `.part` is resumed, and how, is
//! [`fetch`](super::fetch)'s; what a range answer means is [`range`](super::range)'s.

use std::path::{Path, PathBuf};

use http::header::{ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH, ETAG, LAST_MODIFIED};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use url::Url;

use super::job::with_suffix;

/// What was learned from the response that started a `.part` file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Meta {
    pub(super) url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_modified: Option<String>,
    /// `last_modified` is a strong validator, fit for `If-Range` (see [`Meta::from_response`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) date_is_strong: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) total: Option<u64>,
    /// Whether the server said `Accept-Ranges: bytes`.
    #[serde(default)]
    pub(super) ranges: bool,
    /// Empty for a single-stream download.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) segments: Vec<Segment>,
}

/// The byte range `[start, end)` of the file, of which the first `done` bytes are on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Segment {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) done: u64,
}

impl Segment {
    pub(super) fn len(&self) -> u64 {
        self.end - self.start
    }

    pub(super) fn remaining(&self) -> u64 {
        self.len() - self.done
    }

    /// The next byte to fetch.
    pub(super) fn next(&self) -> u64 {
        self.start + self.done
    }
}

impl Meta {
    /// The sidecar for a `200` response whose bytes can be resumed with a range request later, or
    /// `None` when they cannot: the body is content-coded (the server coded it though the downloader
    /// asked for `identity`), or the server offers neither a validator nor byte ranges.
    pub(super) fn from_response(url: &Url, headers: &HeaderMap) -> Option<Meta> {
        // With a `Transfer-Encoding`, `Content-Length` says nothing (RFC 9112 §6.3): hyper framed the
        // body by the former, and the file is what it yields.
        if headers.contains_key(http::header::TRANSFER_ENCODING) {
            return None;
        }
        let total = header_str(headers, CONTENT_LENGTH)?
            .trim()
            .parse::<u64>()
            .ok()?;
        let identity = headers.get_all(CONTENT_ENCODING).iter().all(|v| {
            v.to_str()
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
        });
        if !identity {
            return None;
        }
        // `If-Range` takes only a strong ETag.
        let etag = header_str(headers, ETAG)
            .map(str::trim)
            .filter(|etag| etag.starts_with('"'))
            .map(str::to_owned);
        let last_modified = header_str(headers, LAST_MODIFIED).map(|v| v.trim().to_owned());
        // A date goes in `If-Range` only when it is strong: the response was sent at least 60 s after
        // it (RFC 9110 §8.8.2.2); a file rewritten within the second it was fetched in would
        // otherwise match, and two versions be spliced.
        let date = |name| header_str(headers, name).and_then(|v| httpdate::parse_http_date(v).ok());
        let date_is_strong = match (date(LAST_MODIFIED), date(http::header::DATE)) {
            (Some(modified), Some(sent)) => sent
                .duration_since(modified)
                .is_ok_and(|d| d >= std::time::Duration::from_secs(60)),
            _ => false,
        };
        let ranges = header_str(headers, ACCEPT_RANGES).is_some_and(|v| {
            v.split(',')
                .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
        });
        if etag.is_none() && last_modified.is_none() && !ranges {
            return None;
        }
        Some(Meta {
            url: url.as_str().to_owned(),
            etag,
            last_modified,
            date_is_strong,
            total: Some(total),
            ranges,
            segments: Vec::new(),
        })
    }

    /// The `If-Range` value: the strong ETag, else the date if it is strong.
    pub(super) fn validator(&self) -> Option<&str> {
        let date = self
            .last_modified
            .as_deref()
            .filter(|_| self.date_is_strong);
        self.etag.as_deref().or(date)
    }

    pub(super) fn segments_done(&self) -> u64 {
        self.segments.iter().map(|s| s.done).sum()
    }
}

fn header_str(headers: &HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    headers.get(name)?.to_str().ok()
}

/// The two files of a job in progress.
#[derive(Clone, Debug)]
pub(super) struct PartPaths {
    pub(super) part: PathBuf,
    pub(super) meta: PathBuf,
}

impl PartPaths {
    pub(super) fn new(dest: &Path) -> PartPaths {
        PartPaths {
            part: with_suffix(dest, ".part"),
            meta: with_suffix(dest, ".part.meta"),
        }
    }

    /// The sidecar, if it exists, parses, and is for `url`.
    pub(super) async fn load_meta(&self, url: &Url) -> Option<Meta> {
        let bytes = tokio::fs::read(&self.meta).await.ok()?;
        let meta: Meta = serde_json::from_slice(&bytes).ok()?;
        (meta.url == url.as_str()).then_some(meta)
    }

    pub(super) async fn save_meta(&self, meta: &Meta) -> std::io::Result<()> {
        let json = serde_json::to_vec(meta).map_err(std::io::Error::other)?;
        write_whole(&self.meta, &json).await
    }

    pub(super) async fn remove_meta(&self) -> std::io::Result<()> {
        remove_if_exists(&self.meta).await
    }

    /// The length of the `.part` file, 0 if there is none.
    pub(super) async fn part_len(&self) -> std::io::Result<u64> {
        match tokio::fs::metadata(&self.part).await {
            Ok(metadata) => Ok(metadata.len()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(err) => Err(err),
        }
    }

    /// Removes both files.
    pub(super) async fn discard(&self) -> std::io::Result<()> {
        remove_if_exists(&self.part).await?;
        remove_if_exists(&self.meta).await
    }

    /// An empty `.part`, replacing any earlier one.
    pub(super) async fn create(&self) -> std::io::Result<File> {
        File::create(&self.part).await
    }

    /// The existing `.part`, for writing from byte `offset` on.
    pub(super) async fn open_at(&self, offset: u64) -> std::io::Result<File> {
        let mut file = OpenOptions::new().write(true).open(&self.part).await?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        Ok(file)
    }
}

/// Writes a chunk and waits until it is in the file: progress then counts bytes on disk, and a
/// cancelled job leaves no write behind in flight.
pub(super) async fn write_chunk(file: &mut File, chunk: &[u8]) -> std::io::Result<()> {
    file.write_all(chunk).await?;
    file.flush().await
}

async fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Splits `[0, total)` into `count` contiguous segments of near-equal length.
pub(super) fn split(total: u64, count: u64) -> Vec<Segment> {
    let count = count.clamp(1, total.max(1));
    let base = total / count;
    let extra = total % count;
    let mut start = 0;
    (0..count)
        .map(|i| {
            let len = base + u64::from(i < extra);
            let segment = Segment {
                start,
                end: start + len,
                done: 0,
            };
            start += len;
            segment
        })
        .collect()
}

/// Writes `bytes` as the whole of `path`: into a file beside it, then renamed over it, so that a
/// crash, a kill or a second Ctrl-C mid-write leaves the old content or the new, never a truncated
/// sidecar (which a resume would take as no sidecar, and start the file over).
pub(super) async fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let temp = PathBuf::from(name);
    let written = async {
        tokio::fs::write(&temp, bytes).await?;
        tokio::fs::rename(&temp, path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    written
}

#[cfg(test)]
mod tests {

    /// A reader never sees a sidecar half-written: each read is the old content or the new.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_whole_write_is_never_seen_half_done() {
        let dir = std::env::temp_dir().join(format!("courier-write-whole-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.part.meta");
        let (a, b) = (vec![b'a'; 300_000], vec![b'b'; 200_000]);
        write_whole(&path, &a).await.unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reader = {
            let (path, stop, reads) = (path.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut torn = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let len = std::fs::read(&path).map(|bytes| bytes.len()).unwrap_or(0);
                    if len != 300_000 && len != 200_000 {
                        torn += 1;
                    }
                    reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                torn
            })
        };
        // Writes go on until the reader has read alongside them (a loaded machine may start it late).
        let mut i = 0;
        while i < 200 || (reads.load(std::sync::atomic::Ordering::Relaxed) < 200 && i < 20_000) {
            write_whole(&path, if i % 2 == 0 { &b } else { &a })
                .await
                .unwrap();
            i += 1;
        }
        assert!(reads.load(std::sync::atomic::Ordering::Relaxed) >= 200);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(reader.join().unwrap(), 0, "a read saw a half-written file");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.part.meta"], "no temporary file is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use super::*;
    use http::HeaderValue;

    #[test]
    fn split_covers_the_file_exactly() {
        let segments = split(10, 3);
        assert_eq!(
            segments
                .iter()
                .map(|s| (s.start, s.end))
                .collect::<Vec<_>>(),
            vec![(0, 4), (4, 7), (7, 10)]
        );
        assert_eq!(split(2, 5).len(), 2);
        assert_eq!(
            split(7, 1),
            vec![Segment {
                start: 0,
                end: 7,
                done: 0
            }]
        );
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn resumable_responses() {
        let url: Url = "http://h/f".parse().unwrap();
        let meta = Meta::from_response(
            &url,
            &headers(&[("content-length", "5"), ("etag", "\"v1\"")]),
        )
        .unwrap();
        assert_eq!(meta.validator(), Some("\"v1\""));
        assert_eq!(meta.total, Some(5));
        // A weak ETag cannot be used in If-Range; the date can, when the response was sent at
        // least 60 s after it (a strong date), and only then.
        let with_date = |date: &'static str| {
            Meta::from_response(
                &url,
                &headers(&[
                    ("content-length", "5"),
                    ("etag", "W/\"v1\""),
                    ("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT"),
                    ("date", date),
                ]),
            )
            .unwrap()
        };
        let meta = with_date("Sun, 06 Nov 1994 08:50:37 GMT");
        assert_eq!(meta.validator(), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        let meta = with_date("Sun, 06 Nov 1994 08:50:36 GMT");
        assert_eq!(meta.validator(), None);
        assert_eq!(
            meta.last_modified.as_deref(),
            Some("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        // Decoded by the client (no Content-Length), still encoded, or nothing to check against.
        assert!(Meta::from_response(&url, &headers(&[("etag", "\"v1\"")])).is_none());
        assert!(Meta::from_response(
            &url,
            &headers(&[
                ("content-length", "5"),
                ("etag", "\"v1\""),
                ("content-encoding", "gzip")
            ])
        )
        .is_none());
        assert!(Meta::from_response(&url, &headers(&[("content-length", "5")])).is_none());
        let meta = Meta::from_response(
            &url,
            &headers(&[("content-length", "5"), ("accept-ranges", "bytes")]),
        )
        .unwrap();
        assert!(meta.ranges && meta.validator().is_none());
    }
}
