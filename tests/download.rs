//! End-to-end tests of `courier::download` against in-process servers: flat memory, `.part` hygiene,
//! resume (cut bodies, earlier runs, If-Range mismatch, 416), segments, retries and Retry-After,
//! per-host limits, verification, failures and cancellation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use courier::download::{DownloadError, Downloader, DownloaderBuilder, Event, EventKind, Job};
use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{
    failing, full, read_request_head, respond, serve_ranges, slow, RawServer, Recorded, ServerBody,
    TestServer,
};
use http::Response;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "courier-download-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// File names in the directory, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` bytes that differ from one position (and one `seed`) to the next, so a misplaced range shows.
fn data(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

fn builder() -> DownloaderBuilder {
    Downloader::builder(Client::new()).backoff(Duration::from_millis(5), Duration::from_millis(20))
}

/// A downloader whose events are collected for inspection.
fn recording(builder: DownloaderBuilder) -> (Downloader, Arc<Mutex<Vec<Event>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let downloader = builder
        .on_event(move |event| sink.lock().unwrap().push(event.clone()))
        .build();
    (downloader, events)
}

fn kinds(events: &Mutex<Vec<Event>>) -> Vec<EventKind> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.kind.clone())
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The whole of `data` as `200`, with an ETag and `Accept-Ranges`, whose body is cut after `cut`
/// bytes.
fn cut_response(data: &Bytes, etag: &str, cut: usize) -> Response<ServerBody> {
    Response::builder()
        .header("content-length", data.len())
        .header("accept-ranges", "bytes")
        .header("etag", etag)
        .body(failing(vec![
            data.slice(..cut / 2),
            data.slice(cut / 2..cut),
        ]))
        .unwrap()
}

/// A server that answers the first request with the whole of `body` cut after `cut` bytes
/// ([`cut_response`], ETag `"v1"`), and every later one with ranges of it ([`serve_ranges`]).
async fn cut_once_server(body: &Bytes, cut: usize) -> TestServer {
    let body = body.clone();
    let attempts = AtomicUsize::new(0);
    TestServer::start(move |req| {
        let body = body.clone();
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        async move {
            match attempt {
                0 => cut_response(&body, "\"v1\"", cut),
                _ => serve_ranges(&req, &body, Some("\"v1\"")),
            }
        }
    })
    .await
}

/// A server that answers every request with ranges of `body` ([`serve_ranges`]) under `etag`.
async fn ranges_server(body: &Bytes, etag: &'static str) -> TestServer {
    let body = body.clone();
    TestServer::start(move |req| {
        let body = body.clone();
        async move { serve_ranges(&req, &body, Some(etag)) }
    })
    .await
}

/// A server that answers every request with `200` and the whole of `body`, without ranges.
async fn whole_file_server(body: &Bytes) -> TestServer {
    let body = body.clone();
    TestServer::start(move |_| {
        let body = body.clone();
        async move { respond(200, body) }
    })
    .await
}

/// The `Range` header of every request the server saw, in order.
fn ranges(server: &TestServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|r| r.header("range").map(str::to_owned))
        .collect()
}

/// Every `Retried` event: `(attempt, error, delay)`.
fn retried(events: &Mutex<Vec<Event>>) -> Vec<(u32, DownloadError, Duration)> {
    kinds(events)
        .into_iter()
        .filter_map(|k| match k {
            EventKind::Retried {
                attempt,
                error,
                delay,
            } => Some((attempt, error, delay)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn many_large_files_stream_to_disk_with_flat_memory() {
    const FILES: usize = 12;
    const SIZE: usize = 8 * 1024 * 1024;
    const JOBS: usize = 4;
    let body = data(SIZE, 7);
    let server = whole_file_server(&body).await;
    let dir = TempDir::new("memory");
    let jobs: Vec<Job> = (0..FILES)
        .map(|i| {
            Job::new(
                server.url(&format!("/f{i}")),
                dir.path(&format!("f{i}.bin")),
            )
            .unwrap()
        })
        .collect();

    let summary = builder().concurrency(JOBS).build().run(jobs).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(summary.files, FILES);
    assert_eq!(summary.bytes, (FILES * SIZE) as u64);
    for i in 0..FILES {
        assert!(
            read(&dir.path(&format!("f{i}.bin"))) == body,
            "f{i} differs"
        );
    }
    // 96 MiB went through; at most one network chunk per job was ever held. hyper's chunks are bounded
    // by its read buffer (~400 KiB, its allocation under 1 MiB); one whole body alone would be 8 MiB.
    assert!(summary.max_buffered > 0);
    assert!(
        summary.max_buffered <= JOBS * 1024 * 1024,
        "held {} bytes at once",
        summary.max_buffered
    );
    let names = dir.files();
    assert_eq!(names.len(), FILES);
    assert!(names.iter().all(|n| n.ends_with(".bin")), "{names:?}");
}

#[tokio::test]
async fn a_cut_body_is_resumed_with_range_and_if_range() {
    let body = data(300_000, 1);
    let server = cut_once_server(&body, 100_000).await;
    let dir = TempDir::new("cut");
    let path = dir.path("file.bin");
    let (downloader, events) = recording(builder().retries(2));

    let summary = downloader
        .run([Job::new(server.url("/file.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(dir.files(), vec!["file.bin"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("range"), None);
    assert_eq!(requests[1].header("range"), Some("bytes=100000-"));
    assert_eq!(requests[1].header("if-range"), Some("\"v1\""));
    assert_eq!(requests[1].header("accept-encoding"), Some("identity"));
    // Nothing was fetched twice.
    assert_eq!(summary.bytes, 300_000);

    let retried = retried(&events);
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].0, 1);
    assert!(
        retried[0].1.http_error().unwrap().is_body(),
        "{:?}",
        retried[0].1
    );
    let kinds = kinds(&events);
    assert!(matches!(kinds[0], EventKind::Queued { .. }));
    assert!(matches!(
        kinds[1],
        EventKind::Started {
            total: Some(300_000),
            offset: 0,
            segments: 1
        }
    ));
    assert!(kinds.iter().any(|k| matches!(
        k,
        EventKind::Started {
            total: Some(300_000),
            offset: 100_000,
            segments: 1
        }
    )));
    assert!(matches!(
        kinds.last().unwrap(),
        EventKind::Finished { bytes: 300_000 }
    ));
}

#[tokio::test]
async fn a_failed_job_leaves_only_the_part_and_a_later_run_resumes_it() {
    let body = data(200_000, 2);
    let server = cut_once_server(&body, 50_000).await;
    let dir = TempDir::new("hygiene");
    let path = dir.path("file.bin");
    let job = Job::new(server.url("/file.bin"), &path).unwrap();

    let summary = builder().retries(0).build().run([job.clone()]).await;

    assert_eq!(summary.files, 0);
    assert_eq!(summary.failures.len(), 1);
    let error = &summary.failures[0].error;
    assert!(
        error.is_http() && error.http_error().unwrap().is_body(),
        "{error:?}"
    );
    assert!(
        !path.exists(),
        "a failed job must not create the final file"
    );
    assert_eq!(dir.files(), vec!["file.bin.part", "file.bin.part.meta"]);
    assert_eq!(read(&job.part_path()), &body[..50_000]);

    let summary = builder().build().run([job]).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(dir.files(), vec!["file.bin"]);
    assert_eq!(summary.bytes, 150_000);
    assert_eq!(server.last_request().header("range"), Some("bytes=50000-"));
}

#[tokio::test]
async fn resume_off_starts_an_earlier_part_over() {
    let body = data(100_000, 3);
    let server = cut_once_server(&body, 30_000).await;
    let dir = TempDir::new("noresume");
    let path = dir.path("file.bin");
    let job = Job::new(server.url("/file.bin"), &path).unwrap();
    let first = builder().retries(0).build().run([job.clone()]).await;
    assert_eq!(first.failures.len(), 1);

    let summary = builder().resume(false).build().run([job]).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(server.last_request().header("range"), None);
    assert_eq!(summary.bytes, 100_000);
}

#[tokio::test]
async fn an_if_range_mismatch_restarts_with_the_new_file() {
    let old = data(120_000, 4);
    let new = data(90_000, 5);
    let (served_old, served_new) = (old.clone(), new.clone());
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |req| {
        let (old, new) = (served_old.clone(), served_new.clone());
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match attempt {
                0 => cut_response(&old, "\"v1\"", 40_000),
                // The file changed: If-Range "v1" no longer matches, so the answer is a 200.
                _ => serve_ranges(&req, &new, Some("\"v2\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("ifrange");
    let path = dir.path("file.bin");

    let summary = builder()
        .retries(1)
        .build()
        .run([Job::new(server.url("/file.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == new, "the old bytes must not survive");
    let last = server.last_request();
    assert_eq!(last.header("range"), Some("bytes=40000-"));
    assert_eq!(last.header("if-range"), Some("\"v1\""));
    assert_eq!(dir.files(), vec!["file.bin"]);
}

/// A server (or cache) that ignores `If-Range` and sends the rest of a changed file of the same size:
/// the `206`'s ETag is not the one asked for, so the `.part` restarts instead of mixing the two files.
#[tokio::test]
async fn a_206_of_another_version_is_not_appended() {
    let old = data(120_000, 6);
    let new = data(120_000, 7);
    let (served_old, served_new) = (old.clone(), new.clone());
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |req| {
        let (old, new) = (served_old.clone(), served_new.clone());
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match attempt {
                0 => cut_response(&old, "\"v1\"", 40_000),
                // If-Range "v1" ignored: the rest of the new file, labelled as what it is.
                1 => {
                    let mut response = serve_ranges(&req, &new, Some("\"v1\""));
                    response
                        .headers_mut()
                        .insert("etag", http::HeaderValue::from_static("\"v2\""));
                    response
                }
                _ => serve_ranges(&req, &new, Some("\"v2\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("ifrange-ignored");
    let path = dir.path("file.bin");

    let summary = builder()
        .retries(2)
        .build()
        .run([Job::new(server.url("/file.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == new, "bytes of two versions were mixed");
    assert_eq!(ranges(&server), [None, Some("bytes=40000-".into()), None]);
}

#[tokio::test]
async fn a_complete_part_is_finished_on_416() {
    let body = data(64_000, 6);
    let server = ranges_server(&body, "\"v1\"").await;
    let dir = TempDir::new("416");
    let path = dir.path("file.bin");
    let url = server.url("/file.bin");
    // What an earlier run leaves when it stops between the last byte and the rename.
    std::fs::write(dir.path("file.bin.part"), &body).unwrap();
    let meta = serde_json::json!({"url": url, "etag": "\"v1\"", "total": 64_000, "ranges": true});
    std::fs::write(dir.path("file.bin.part.meta"), meta.to_string()).unwrap();

    let summary = builder()
        .build()
        .run([Job::new(&url, &path)
            .unwrap()
            .sha256(&hex_sha256(&body))
            .unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(dir.files(), vec!["file.bin"]);
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.last_request().header("range"), Some("bytes=64000-"));
    assert_eq!(summary.bytes, 0);
}

#[tokio::test]
async fn a_part_without_sidecar_is_started_over() {
    let body = data(10_000, 8);
    let server = ranges_server(&body, "\"v1\"").await;
    let dir = TempDir::new("nosidecar");
    let path = dir.path("file.bin");
    std::fs::write(dir.path("file.bin.part"), b"garbage from somewhere else").unwrap();

    let summary = builder()
        .build()
        .run([Job::new(server.url("/f"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(server.last_request().header("range"), None);
}

#[tokio::test]
async fn a_segmented_download_is_byte_exact() {
    const SIZE: usize = 4 * 1024 * 1024 + 3;
    let body = data(SIZE, 9);
    let server = ranges_server(&body, "\"big\"").await;
    let dir = TempDir::new("segments");
    let path = dir.path("big.bin");
    let (downloader, events) = recording(
        builder()
            .segments(4)
            .min_segment_size(1024 * 1024)
            .per_host(4),
    );

    let summary = downloader
        .run([Job::new(server.url("/big.bin"), &path)
            .unwrap()
            .sha256(&hex_sha256(&body))
            .unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(dir.files(), vec!["big.bin"]);
    let mut ranges = ranges(&server);
    ranges.sort();
    // The first request (no Range) serves the first segment; the other three are ranges.
    assert_eq!(
        ranges,
        vec![
            None,
            Some("bytes=1048577-2097153".to_owned()),
            Some("bytes=2097154-3145730".to_owned()),
            Some("bytes=3145731-4194306".to_owned()),
        ]
    );
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.header("range").is_some())
        .all(|r| r.header("if-range") == Some("\"big\"")));
    assert!(kinds(&events).iter().any(|k| matches!(
        k,
        EventKind::Started {
            total: Some(t),
            offset: 0,
            segments: 4
        } if *t == SIZE as u64
    )));
    // The first connection is dropped after its segment: at most the rest of it was read, never
    // the whole file twice.
    assert!(summary.bytes >= SIZE as u64);
}

#[tokio::test]
async fn segments_fall_back_to_one_stream_without_ranges() {
    const SIZE: usize = 3 * 1024 * 1024;
    let body = data(SIZE, 10);
    let server = whole_file_server(&body).await;
    let dir = TempDir::new("fallback");
    let path = dir.path("big.bin");
    let (downloader, events) = recording(builder().segments(4).min_segment_size(1024 * 1024));

    let summary = downloader
        .run([Job::new(server.url("/big.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(server.requests().len(), 1);
    assert!(kinds(&events)
        .iter()
        .any(|k| matches!(k, EventKind::Started { segments: 1, .. })));
}

/// The second of two 1 MiB segments of a 2 MiB `body`: `206` headers (ETag `"s"`), then 1000 bytes,
/// then the connection drops.
fn cut_second_segment(body: &Bytes) -> Response<ServerBody> {
    Response::builder()
        .status(206)
        .header(
            "content-range",
            format!("bytes 1048576-2097151/{}", body.len()),
        )
        .header("content-length", 1024 * 1024)
        .header("etag", "\"s\"")
        .body(failing(vec![body.slice(1_048_576..1_049_576)]))
        .unwrap()
}

#[tokio::test]
async fn a_cut_segment_is_resumed_from_where_it_stopped() {
    const SIZE: usize = 2 * 1024 * 1024;
    let body = data(SIZE, 11);
    let served = body.clone();
    let cut_once = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = cut_once.clone();
    let server = TestServer::start(move |req| {
        let body = served.clone();
        let cut = req.header("range") == Some("bytes=1048576-2097151")
            && flag.swap(false, Ordering::SeqCst);
        async move {
            if cut {
                cut_second_segment(&body)
            } else {
                serve_ranges(&req, &body, Some("\"s\""))
            }
        }
    })
    .await;
    let dir = TempDir::new("segcut");
    let path = dir.path("big.bin");

    let summary = builder()
        .segments(2)
        .min_segment_size(1024 * 1024)
        .retries(2)
        .build()
        .run([Job::new(server.url("/big.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(
        server.last_request().header("range"),
        Some("bytes=1049576-2097151")
    );
}

/// The file shrank below a segment's start while a segmented download was cut (the server kept its
/// ETag): the segment's range gets a `416`, and the `.part` starts over on the next attempt instead
/// of failing for good.
#[tokio::test]
async fn a_416_to_a_segment_starts_the_file_over() {
    const SIZE: usize = 2 * 1024 * 1024;
    let (body, smaller) = (data(SIZE, 12), data(SIZE / 2, 13));
    let (served, served_smaller) = (body.clone(), smaller.clone());
    let shrunk = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = shrunk.clone();
    let server = TestServer::start(move |req| {
        let (body, smaller) = (served.clone(), served_smaller.clone());
        let cut = req.header("range") == Some("bytes=1048576-2097151")
            && !flag.swap(true, Ordering::SeqCst);
        let now_smaller = flag.load(Ordering::SeqCst) && !cut;
        async move {
            if cut {
                cut_second_segment(&body)
            } else if now_smaller {
                serve_ranges(&req, &smaller, Some("\"s\""))
            } else {
                serve_ranges(&req, &body, Some("\"s\""))
            }
        }
    })
    .await;
    let dir = TempDir::new("segshrunk");
    let path = dir.path("big.bin");

    let summary = builder()
        .segments(2)
        .min_segment_size(1024 * 1024)
        .retries(3)
        .build()
        .run([Job::new(server.url("/big.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == smaller, "the file as it is now");
}

#[tokio::test]
async fn transient_statuses_are_retried_honouring_retry_after() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |_| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let builder = Response::builder();
            let response = match attempt {
                0 => builder.status(503).header("retry-after", "1"),
                1 => builder
                    .status(429)
                    .header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
                2 => builder.status(500),
                _ => builder.status(200),
            };
            let body = if attempt < 3 { "not now" } else { "finally" };
            response.body(full(body)).unwrap()
        }
    })
    .await;
    let dir = TempDir::new("retry");
    let path = dir.path("file.txt");
    let (downloader, events) = recording(
        Downloader::builder(Client::new())
            .retries(3)
            .backoff(Duration::from_millis(8), Duration::from_secs(2)),
    );

    let summary = downloader
        .run([Job::new(server.url("/file.txt"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&path), b"finally");
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    let retried: Vec<_> = retried(&events)
        .into_iter()
        .map(|(attempt, error, delay)| (attempt, error.status().map(|s| s.as_u16()), delay))
        .collect();
    assert_eq!(retried.len(), 3);
    assert_eq!(retried[0], (1, Some(503), Duration::from_secs(1)));
    // A date in the past means "now".
    assert_eq!(retried[1], (2, Some(429), Duration::ZERO));
    // No Retry-After: the third backoff step, full jitter below 8 ms × 2².
    assert_eq!((retried[2].0, retried[2].1), (3, Some(500)));
    assert!(
        retried[2].2 <= Duration::from_millis(32),
        "{:?}",
        retried[2].2
    );
}

#[tokio::test]
async fn retries_stop_at_the_limit() {
    let server = TestServer::start(|_| async { respond(502, "bad gateway") }).await;
    let dir = TempDir::new("limit");
    let path = dir.path("file.txt");

    let summary = builder()
        .retries(2)
        .build()
        .run([Job::new(server.url("/file.txt"), &path).unwrap()])
        .await;

    assert_eq!(server.requests().len(), 3);
    let error = &summary.failures[0].error;
    assert_eq!(error.status(), Some(http::StatusCode::BAD_GATEWAY));
    assert!(!path.exists());
}

#[tokio::test]
async fn a_retry_after_beyond_the_backoff_maximum_fails_instead_of_stalling() {
    let server = TestServer::start(|_| async {
        Response::builder()
            .status(503)
            .header("retry-after", "3600")
            .body(full("come back in an hour"))
            .unwrap()
    })
    .await;
    let dir = TempDir::new("longretry");

    let summary = builder()
        .retries(5)
        .build()
        .run([Job::new(server.url("/f"), dir.path("f")).unwrap()])
        .await;

    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        summary.failures[0].error.status(),
        Some(http::StatusCode::SERVICE_UNAVAILABLE)
    );

    // With no maximum at all, a wait past what the clock can hold fails the job too, rather than
    // overflowing the instant it would be added to (a panic in the caller's task).
    let server = TestServer::start(|_| async {
        Response::builder()
            .status(503)
            .header("retry-after", "99999999999999999999")
            .body(full("come back never"))
            .unwrap()
    })
    .await;
    let summary = within(
        10,
        Downloader::builder(Client::new())
            .backoff(Duration::from_millis(1), Duration::MAX)
            .retries(1)
            .build()
            .run([Job::new(server.url("/f"), dir.path("g")).unwrap()]),
    )
    .await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        summary.failures[0].error.status(),
        Some(http::StatusCode::SERVICE_UNAVAILABLE)
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let server = RawServer::start(|mut stream, index| async move {
        let _ = read_request_head(&mut stream).await;
        if index > 0 {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
                .await;
        }
        // The first connection closes without a response.
    })
    .await;
    let dir = TempDir::new("reset");
    let path = dir.path("f.txt");

    let summary = builder()
        .retries(2)
        .build()
        .run([Job::new(server.url("/f.txt"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&path), b"hello");
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn not_found_fails_at_once_without_retries() {
    let server = TestServer::start(|_| async { respond(404, "no such file") }).await;
    let dir = TempDir::new("404");
    let path = dir.path("missing.bin");
    let (downloader, events) = recording(builder().retries(5));
    let url = server.url("/missing.bin");

    let summary = downloader.run([Job::new(&url, &path).unwrap()]).await;

    assert_eq!(server.requests().len(), 1);
    assert_eq!(summary.files, 0);
    let error = &summary.failures[0].error;
    assert!(error.is_http());
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(
        error.to_string(),
        format!(
            "download of {url} to {} failed: HTTP status client error (404 Not Found)",
            path.display()
        )
    );
    assert!(dir.files().is_empty(), "{:?}", dir.files());
    let kinds = kinds(&events);
    assert!(!kinds.iter().any(|k| matches!(k, EventKind::Retried { .. })));
    assert!(matches!(kinds.last().unwrap(), EventKind::Failed { .. }));
}

/// `{:#}` gives the cause after what failed, as `courier::Error`'s own does: a log line says why.
#[tokio::test]
async fn a_failure_shown_with_alternate_names_its_cause() {
    // A port that was just free: nothing listens there, so the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("refused");
    let path = dir.path("file.bin");
    let url = format!("http://127.0.0.1:{port}/file.bin");

    let summary = builder()
        .retries(0)
        .build()
        .run([Job::new(&url, &path).unwrap()])
        .await;

    let error = &summary.failures[0].error;
    assert!(error.is_http());
    let plain = error.to_string();
    assert_eq!(
        plain,
        format!(
            "download of {url} to {} failed: error connecting",
            path.display()
        )
    );
    let detailed = format!("{error:#}");
    assert!(detailed.starts_with(&plain), "{detailed}");
    assert!(detailed.contains("Connection refused"), "{detailed}");
    assert!(!detailed.contains("for url"), "{detailed}");
}

#[tokio::test]
async fn a_sha256_mismatch_fails_and_removes_the_part() {
    let server = TestServer::start(|_| async { respond(200, "tampered") }).await;
    let dir = TempDir::new("sha");
    let path = dir.path("file.txt");
    let expected = hex_sha256(b"original");

    let summary = builder()
        .retries(3)
        .build()
        .run([Job::new(server.url("/file.txt"), &path)
            .unwrap()
            .sha256(&expected)
            .unwrap()])
        .await;

    let error = &summary.failures[0].error;
    assert!(error.is_checksum_mismatch(), "{error:?}");
    assert_eq!(
        error.kind(),
        &courier::download::DownloadErrorKind::ChecksumMismatch {
            expected,
            actual: hex_sha256(b"tampered")
        }
    );
    assert!(error.to_string().contains(&path.display().to_string()));
    assert_eq!(server.requests().len(), 1, "a mismatch is not retried");
    assert!(dir.files().is_empty(), "{:?}", dir.files());
}

#[tokio::test]
async fn a_matching_sha256_and_size_pass() {
    let server = TestServer::start(|_| async { respond(200, "original") }).await;
    let dir = TempDir::new("shaok");
    let path = dir.path("file.txt");

    let summary = builder()
        .build()
        .run([Job::new(server.url("/file.txt"), &path)
            .unwrap()
            .expected_size(8)
            .sha256(&hex_sha256(b"original"))
            .unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&path), b"original");
}

#[tokio::test]
async fn an_announced_size_other_than_expected_fails_before_the_body() {
    let server = TestServer::start(|_| async { respond(200, vec![0u8; 1000]) }).await;
    let dir = TempDir::new("size");

    let summary = builder()
        .build()
        .run([Job::new(server.url("/f"), dir.path("f"))
            .unwrap()
            .expected_size(10)])
        .await;

    let error = &summary.failures[0].error;
    assert_eq!(
        error.kind(),
        &courier::download::DownloadErrorKind::SizeMismatch {
            expected: 10,
            actual: 1000
        }
    );
    assert_eq!(summary.bytes, 0);
    assert!(!dir.path("f").exists());
}

#[tokio::test]
async fn the_per_host_and_global_limits_hold() {
    // Two hosts (ports) sharing counters of requests in flight.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }
    impl Gauge {
        async fn track(&self) {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(40)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let total = Arc::new(Gauge::default());
    let mut servers = Vec::new();
    let mut gauges = Vec::new();
    for _ in 0..2 {
        let host = Arc::new(Gauge::default());
        let (host_gauge, total_gauge) = (host.clone(), total.clone());
        let server = TestServer::start(move |_| {
            let (host, total) = (host_gauge.clone(), total_gauge.clone());
            async move {
                tokio::join!(host.track(), total.track());
                respond(200, "x")
            }
        })
        .await;
        servers.push(server);
        gauges.push(host);
    }
    let dir = TempDir::new("limits");
    let jobs: Vec<Job> = (0..16)
        .map(|i| {
            let server = &servers[i % 2];
            Job::new(server.url(&format!("/{i}")), dir.path(&i.to_string())).unwrap()
        })
        .collect();

    let summary = builder().concurrency(3).per_host(2).build().run(jobs).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(summary.files, 16);
    assert_eq!(gauges[0].max.load(Ordering::SeqCst), 2);
    assert_eq!(gauges[1].max.load(Ordering::SeqCst), 2);
    assert_eq!(total.max.load(Ordering::SeqCst), 3);
    assert!(servers.iter().all(|s| s.max_open_connections() <= 2));
}

#[tokio::test]
async fn a_run_holds_tasks_only_for_the_jobs_it_runs() {
    // Each request notes how many tasks the runtime holds: the server's, the client's connections'
    // and the run's. A run that spawned a task per job up front would hold all 300 of them.
    let most_tasks = Arc::new(AtomicUsize::new(0));
    let gauge = most_tasks.clone();
    let server = TestServer::start(move |_| {
        let alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        gauge.fetch_max(alive, Ordering::SeqCst);
        async { respond(200, "x") }
    })
    .await;
    let dir = TempDir::new("tasks");
    let jobs: Vec<Job> = (0..300)
        .map(|i| Job::new(server.url(&format!("/{i}")), dir.path(&i.to_string())).unwrap())
        .collect();

    let summary = within(60, builder().concurrency(2).build().run(jobs)).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(summary.files, 300);
    assert_eq!(server.requests().len(), 300);
    let most = most_tasks.load(Ordering::SeqCst);
    assert!(most <= 20, "{most} tasks alive at once");
}

#[tokio::test]
async fn limits_beyond_any_semaphore_are_taken_as_no_limit() {
    let server = TestServer::start(|_| async { respond(200, "x") }).await;
    let dir = TempDir::new("huge-limits");
    let job = Job::new(server.url("/f"), dir.path("f")).unwrap();

    let summary = builder()
        .concurrency(usize::MAX)
        .per_host(usize::MAX)
        .build()
        .run([job])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&dir.path("f")), b"x");
}

#[tokio::test]
async fn a_job_waiting_to_retry_leaves_its_slot_to_the_next() {
    let server = TestServer::start(|_| async { respond(200, "ok") }).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let flaky = TestServer::start(move |_| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match attempt {
                0 => courier_testkit::status_with_retry_after(503, "1", "not now"),
                _ => respond(200, "late"),
            }
        }
    })
    .await;
    let dir = TempDir::new("retry-slot");
    let (downloader, events) = recording(
        builder()
            .concurrency(1)
            .backoff(Duration::from_millis(5), Duration::from_secs(2)),
    );
    let jobs = [
        Job::new(flaky.url("/first"), dir.path("first")).unwrap(),
        Job::new(server.url("/second"), dir.path("second")).unwrap(),
        Job::new(server.url("/third"), dir.path("third")).unwrap(),
    ];

    let summary = within(10, downloader.run(jobs)).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&dir.path("first")), b"late");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    // While the first job waited out its second attempt, the others ran in its slot, in order (a
    // job's slot is free once its transfer ends, so the next may finish before it is renamed).
    let started: Vec<usize> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Started { .. }))
        .map(|e| e.job.index())
        .collect();
    assert_eq!(started, vec![1, 2, 0], "a 503 starts no transfer");
    let last = events
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::Finished { .. }))
        .map(|e| e.job.index());
    assert_eq!(last, Some(0));
}

/// A server that sends a 50,000-byte file (with `Content-Length`, and `ETag: etag` when given) in 50
/// chunks 20 ms apart.
async fn slow_file_server(etag: Option<&'static str>) -> TestServer {
    let chunks: Vec<Bytes> = (0..50).map(|_| Bytes::from(vec![b'a'; 1000])).collect();
    TestServer::start(move |_| {
        let chunks = chunks.clone();
        async move {
            let mut response = Response::builder().header("content-length", 50_000);
            if let Some(etag) = etag {
                response = response.header("etag", etag);
            }
            response
                .body(slow(chunks, Duration::from_millis(20)))
                .unwrap()
        }
    })
    .await
}

#[tokio::test]
async fn cancelling_stops_jobs_and_keeps_their_parts() {
    let server = slow_file_server(Some("\"slow\"")).await;
    let dir = TempDir::new("cancel");
    let path = dir.path("slow.bin");
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let downloader = builder().progress(sender).build();
    let cancel = downloader.cancel_handle();
    let run = tokio::spawn({
        let downloader = downloader.clone();
        let job = Job::new(server.url("/slow.bin"), &path).unwrap();
        async move { downloader.run([job]).await }
    });
    while let Some(event) = receiver.recv().await {
        if matches!(event.kind, EventKind::Progress { downloaded } if downloaded >= 3000) {
            cancel.cancel();
            break;
        }
    }
    // Drain so the run is never blocked on a full channel.
    tokio::spawn(async move { while receiver.recv().await.is_some() {} });

    let summary = run.await.unwrap();

    assert!(cancel.is_cancelled());
    assert!(summary.failures[0].error.is_cancelled());
    assert!(!path.exists());
    assert!(dir.files().contains(&"slow.bin.part".to_owned()));
    assert!(std::fs::metadata(dir.path("slow.bin.part")).unwrap().len() >= 3000);
}

#[tokio::test]
async fn cancelling_ends_queued_and_retrying_jobs_too() {
    let slow_server = slow_file_server(None).await;
    let unavailable = TestServer::start(|_| async {
        courier_testkit::status_with_retry_after(503, "30", "not now")
    })
    .await;
    let dir = TempDir::new("cancel-queued");
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let downloader = builder()
        .concurrency(1)
        .backoff(Duration::from_millis(5), Duration::from_secs(60))
        .progress(sender)
        .build();
    let cancel = downloader.cancel_handle();
    let jobs = vec![
        Job::new(unavailable.url("/retrying"), dir.path("retrying")).unwrap(),
        Job::new(slow_server.url("/slow"), dir.path("slow")).unwrap(),
        Job::new(slow_server.url("/queued"), dir.path("queued")).unwrap(),
    ];
    let run = tokio::spawn({
        let downloader = downloader.clone();
        async move { downloader.run(jobs).await }
    });
    let mut failed = Vec::new();
    while failed.len() < 3 {
        // Within a second of the cancel, not when the 30 s retry comes due.
        let event = within(1, receiver.recv()).await.expect("the run's events");
        match event.kind {
            EventKind::Progress { downloaded } if downloaded >= 2000 => cancel.cancel(),
            EventKind::Failed { error } => failed.push((event.job.index(), error.is_cancelled())),
            _ => {}
        }
    }

    let summary = within(1, run).await.unwrap();

    failed.sort();
    assert_eq!(failed, vec![(0, true), (1, true), (2, true)]);
    assert_eq!(summary.failures.len(), 3);
    assert!(summary.failures.iter().all(|f| f.error.is_cancelled()));
    assert_eq!(unavailable.requests().len(), 1, "the retry is never sent");
    assert_eq!(
        slow_server.requests().len(),
        1,
        "the queued job never starts"
    );
}

#[tokio::test]
async fn dropping_the_run_keeps_the_part() {
    let server = slow_file_server(None).await;
    let dir = TempDir::new("drop");
    let path = dir.path("slow.bin");
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let downloader = builder().progress(sender).build();
    let job = Job::new(server.url("/slow.bin"), &path).unwrap();

    tokio::select! {
        _ = downloader.run([job]) => panic!("the run should not finish"),
        _ = async {
            while let Some(event) = receiver.recv().await {
                if matches!(event.kind, EventKind::Progress { downloaded } if downloaded >= 2000) {
                    break;
                }
            }
        } => {}
    }

    assert!(!path.exists());
    assert_eq!(dir.files(), vec!["slow.bin.part"]);
}

#[tokio::test]
async fn events_arrive_on_a_channel_in_order() {
    let server = TestServer::start(|_| async { respond(200, "abc") }).await;
    let dir = TempDir::new("events");
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let downloader = builder().progress(sender).build();
    let url = server.url("/a");

    let summary = downloader
        .run([Job::new(&url, dir.path("a")).unwrap()])
        .await;
    drop(downloader);

    assert!(summary.is_success());
    let mut events = Vec::new();
    while let Some(event) = receiver.recv().await {
        assert_eq!(event.job.index(), 0);
        events.push(event.kind);
    }
    assert!(
        matches!(&events[0], EventKind::Queued { url: u, path } if u.as_str() == url && path == &dir.path("a"))
    );
    assert!(matches!(
        events[1],
        EventKind::Started {
            total: Some(3),
            offset: 0,
            segments: 1
        }
    ));
    assert!(matches!(
        events[events.len() - 2],
        EventKind::Progress { downloaded: 3 }
    ));
    assert!(matches!(
        events[events.len() - 1],
        EventKind::Finished { bytes: 3 }
    ));
}

fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().into()
}

/// Every request asks for `identity` and the body is saved as sent, as curl, wget and aria2 do: a
/// body the server content-codes anyway (a `.tar.gz` served with `Content-Encoding: gzip`) is saved
/// coded, byte for byte, and a cut one starts over (a coded body is not resumed by range).
#[tokio::test]
async fn a_content_coded_body_is_saved_as_sent_and_a_cut_one_starts_over() {
    let encoded = gzip(&data(200_000, 12));
    let served = encoded.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |req| {
        let encoded = served.clone();
        let attempt = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            assert_eq!(req.header("accept-encoding"), Some("identity"));
            let body = match attempt {
                0 => failing(vec![encoded.slice(..encoded.len() / 2)]),
                _ => full(encoded.clone()),
            };
            Response::builder()
                .header("content-encoding", "gzip")
                .header("content-length", encoded.len())
                .header("etag", "\"gz\"")
                .header("accept-ranges", "bytes")
                .body(body)
                .unwrap()
        }
    })
    .await;
    let dir = TempDir::new("gzip");
    let path = dir.path("file.tar.gz");

    let summary = builder()
        .retries(1)
        .build()
        .run([Job::new(server.url("/file.tar.gz"), &path)
            .unwrap()
            .sha256(&hex_sha256(&encoded))
            .unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == encoded);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("range"), None);
    assert_eq!(dir.files(), vec!["file.tar.gz"]);
}

/// A large, very compressible file (32 MiB of zeros) a server would compress: asked for as `identity`,
/// it is neither decoded nor held to the decompression limits (which stop bombs past 8 MiB at 100:1),
/// and it is fetched in segments like any other.
#[tokio::test]
async fn a_very_compressible_file_is_fetched_as_stored_in_segments() {
    const SIZE: usize = 32 * 1024 * 1024;
    let body = Bytes::from(vec![0u8; SIZE]);
    let compressed = gzip(&body);
    let served = body.clone();
    let server = TestServer::start(move |req| {
        let (body, compressed) = (served.clone(), compressed.clone());
        async move {
            let wants_gzip = req
                .header("accept-encoding")
                .is_some_and(|v| v.contains("gzip"));
            if wants_gzip && req.header("range").is_none() {
                return Response::builder()
                    .header("content-encoding", "gzip")
                    .header("content-length", compressed.len())
                    .body(full(compressed))
                    .unwrap();
            }
            serve_ranges(&req, &body, Some("\"zeros\""))
        }
    })
    .await;
    let dir = TempDir::new("zeros");
    let path = dir.path("zeros.bin");

    let summary = builder()
        .segments(4)
        .min_segment_size(1024 * 1024)
        .build()
        .run([Job::new(server.url("/zeros.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE as u64);
    assert!(read(&path).iter().all(|&b| b == 0));
    let ranged = ranges(&server).iter().filter(|r| r.is_some()).count();
    assert!(ranged >= 2, "{:?}", ranges(&server));
}

#[tokio::test]
async fn segments_count_against_the_per_host_limit() {
    const SIZE: usize = 4 * 1024 * 1024;
    let body = data(SIZE, 13);
    let served = body.clone();
    let in_flight = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let gauge = in_flight.clone();
    let server = TestServer::start(move |req| {
        let (body, gauge) = (served.clone(), gauge.clone());
        async move {
            let now = gauge.0.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.1.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            gauge.0.fetch_sub(1, Ordering::SeqCst);
            serve_ranges(&req, &body, Some("\"big\""))
        }
    })
    .await;
    let dir = TempDir::new("seglimit");
    let path = dir.path("big.bin");

    let summary = builder()
        .segments(4)
        .min_segment_size(1024 * 1024)
        .per_host(2)
        .build()
        .run([Job::new(server.url("/big.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    assert_eq!(server.requests().len(), 4);
    // Four segments, two slots: never more than two requests at once (without the limit, the three
    // range requests go out together as soon as the first response arrives).
    let most = in_flight.1.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} requests at once");
}

#[tokio::test]
async fn a_host_full_of_segments_does_not_hold_up_another_host() {
    use http_body_util::{BodyExt, StreamBody};

    const SIZE: usize = 2 * 1024 * 1024;
    let body = data(SIZE, 21);
    let (y_asked, y_signal) = tokio::sync::watch::channel(false);
    let served = body.clone();
    let x = TestServer::start(move |req| {
        let (body, mut y_signal) = (served.clone(), y_signal.clone());
        async move {
            if req.path() != "/big" {
                // Long enough for the big file's second segment to queue for this host's slot.
                tokio::time::sleep(Duration::from_millis(300)).await;
                return respond(200, "small");
            }
            let (head, bytes) = serve_ranges(&req, &body, Some("\"big\"")).into_parts();
            // The big file's bytes wait until host y is asked (at most 5 s, so a run that holds
            // host y up still ends, later).
            let gated = futures_util::stream::once(async move {
                let wait = y_signal.wait_for(|asked| *asked);
                let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
                bytes
                    .collect()
                    .await
                    .map(|all| http_body::Frame::data(all.to_bytes()))
            });
            Response::from_parts(head, StreamBody::new(gated).boxed())
        }
    })
    .await;
    let y = TestServer::start(move |_| {
        y_asked.send_replace(true);
        async { respond(200, "y") }
    })
    .await;
    let dir = TempDir::new("seg-hol");
    let (downloader, events) = recording(
        builder()
            .concurrency(2)
            .per_host(2)
            .segments(2)
            .min_segment_size(512 * 1024),
    );
    let jobs = [
        Job::new(x.url("/big"), dir.path("big")).unwrap(),
        Job::new(x.url("/s1"), dir.path("s1")).unwrap(),
        Job::new(x.url("/s2"), dir.path("s2")).unwrap(),
        Job::new(y.url("/y"), dir.path("y")).unwrap(),
    ];

    let summary = within(30, downloader.run(jobs)).await;

    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&dir.path("big")) == body);
    // Once `s1` is done the big file holds both of host x's slots, and `s2` waits for one; host y's
    // job takes the run's free slot meanwhile instead of waiting behind `s2`.
    let order: Vec<(usize, &str)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Started { .. } => Some((e.job.index(), "started")),
            EventKind::Finished { .. } => Some((e.job.index(), "finished")),
            _ => None,
        })
        .collect();
    let at = |event: (usize, &str)| order.iter().position(|&e| e == event).unwrap();
    assert!(
        at((3, "started")) < at((0, "finished")),
        "host y waited for host x: {order:?}"
    );
    assert!(at((2, "started")) > at((1, "finished")), "{order:?}");
}

/// A `200` for the whole of `body`, in ranges, with ETag `"v1"`, whose bytes never come: the probe
/// of a segmented download, stalled on its first segment.
fn stalled_probe(body: Bytes) -> Response<ServerBody> {
    Response::builder()
        .header("content-length", body.len())
        .header("accept-ranges", "bytes")
        .header("etag", "\"v1\"")
        .body(slow(vec![body], Duration::from_secs(3600)))
        .unwrap()
}

/// Runs `job`, failing the test after a minute: a run that waits for a stalled segment never ends.
async fn run_past_a_stall(downloader: &Downloader, job: Job) -> courier::download::Summary {
    tokio::time::timeout(Duration::from_secs(60), downloader.run([job]))
        .await
        .expect("the run waited for the stalled segment")
}

#[tokio::test]
async fn a_restart_does_not_wait_for_a_stalled_segment() {
    const SIZE: usize = 200_000;
    let body = data(SIZE, 13);
    let served = body.clone();
    let (plain, ranged) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let server = TestServer::start(move |req| {
        let body = served.clone();
        let first = match req.header("range") {
            None => plain.fetch_add(1, Ordering::SeqCst) == 0,
            Some(_) => ranged.fetch_add(1, Ordering::SeqCst) == 0,
        };
        async move {
            match (req.header("range"), first) {
                // The first segment's body (the probe's) never comes...
                (None, true) => stalled_probe(body),
                // ...while the second segment gets a range it did not ask for: restart.
                (Some(_), true) => partial("bytes 0-99999/200000", body.slice(..100_000)),
                _ => serve_ranges(&req, &body, Some("\"v1\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("stalled");
    let path = dir.path("file.bin");
    let (downloader, events) = recording(builder().segments(2).min_segment_size(1).retries(1));

    // Without the stalled body being left, the run never ends.
    let summary = run_past_a_stall(
        &downloader,
        Job::new(server.url("/file.bin"), &path).unwrap(),
    )
    .await;

    assert!(summary.is_success(), "{summary}");
    assert!(read(&path) == body);
    let retried = retried(&events);
    assert_eq!(retried.len(), 1);
    assert!(retried[0].1.is_invalid_response(), "{:?}", retried[0].1);
    // The retry fetches the file as one stream: segmenting again would meet the same answers.
    assert_eq!(
        ranges(&server),
        vec![None, Some("bytes=100000-199999".to_owned()), None]
    );
}

/// A server that answers every range with the wrong bytes: the first attempt restarts, and the
/// retry takes the file as one stream instead of segmenting into the same answers until the retries
/// run out.
#[tokio::test]
async fn after_a_bad_range_answer_the_retry_is_one_stream() {
    const SIZE: usize = 200_000;
    let body = data(SIZE, 14);
    let served = body.clone();
    let server = TestServer::start(move |req| {
        let body = served.clone();
        async move {
            match req.header("range") {
                Some(_) => partial("bytes 0-99999/200000", body.slice(..100_000)),
                None => serve_ranges(&req, &body, Some("\"v1\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("badranges");
    let path = dir.path("file.bin");

    let summary = builder()
        .segments(2)
        .min_segment_size(1)
        .retries(1)
        .build()
        .run([Job::new(server.url("/file.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{summary}");
    assert!(read(&path) == body);
    assert_eq!(
        ranges(&server),
        vec![None, Some("bytes=100000-199999".to_owned()), None]
    );
}

/// Every `Started` event: `(total, offset, segments)`.
fn starts(events: &Mutex<Vec<Event>>) -> Vec<(Option<u64>, u64, usize)> {
    kinds(events)
        .into_iter()
        .filter_map(|k| match k {
            EventKind::Started {
                total,
                offset,
                segments,
            } => Some((total, offset, segments)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_changed_file_ends_a_segmented_resume_as_one_stream() {
    let new = data(90_000, 21);
    let server = ranges_server(&new, "\"v2\"").await;
    let dir = TempDir::new("segchanged");
    let path = dir.path("file.bin");
    let url = server.url("/file.bin");
    // An earlier run's segmented `.part` of the old 64,000-byte file, 10,000 bytes in.
    std::fs::write(dir.path("file.bin.part"), data(64_000, 20)).unwrap();
    let meta = serde_json::json!({
        "url": url, "etag": "\"v1\"", "total": 64_000, "ranges": true,
        "segments": [
            {"start": 0, "end": 32_000, "done": 10_000},
            {"start": 32_000, "end": 64_000, "done": 0},
        ],
    });
    std::fs::write(dir.path("file.bin.part.meta"), meta.to_string()).unwrap();
    let (downloader, events) = recording(builder().retries(2));

    let summary = downloader.run([Job::new(&url, &path).unwrap()]).await;

    assert!(summary.is_success(), "{summary}");
    assert!(read(&path) == new, "the old bytes must not survive");
    assert_eq!(dir.files(), vec!["file.bin"]);
    // If-Range "v1" no longer matches: the first 200 to a segment's request is the new file, taken
    // whole in the same attempt (no retry, no request without Range); a second segment's request
    // may or may not have gone out before it.
    let requests = server.requests();
    assert!((1..=2).contains(&requests.len()), "{:?}", ranges(&server));
    for request in &requests {
        assert!(
            matches!(
                request.header("range"),
                Some("bytes=10000-31999" | "bytes=32000-63999")
            ),
            "{:?}",
            request.header("range")
        );
        assert_eq!(request.header("if-range"), Some("\"v1\""));
    }
    assert!(retried(&events).is_empty());
    assert_eq!(
        starts(&events),
        vec![(Some(64_000), 10_000, 2), (Some(90_000), 0, 1)]
    );
    assert_eq!(summary.bytes, 90_000);
}

#[tokio::test]
async fn a_segment_answered_404_fails_the_job_at_once() {
    const SIZE: usize = 200_000;
    let body = data(SIZE, 22);
    let server = TestServer::start(move |req| {
        let body = body.clone();
        async move {
            match req.header("range") {
                // The first segment's body (the probe's) never comes...
                None => stalled_probe(body),
                // ...and the second segment is gone.
                Some(_) => respond(404, "gone"),
            }
        }
    })
    .await;
    let dir = TempDir::new("seg404");
    let path = dir.path("file.bin");
    let (downloader, events) = recording(builder().segments(2).min_segment_size(1).retries(3));

    // The 404 stops the stalled segment too: without that, the run never ends.
    let summary = run_past_a_stall(
        &downloader,
        Job::new(server.url("/file.bin"), &path).unwrap(),
    )
    .await;

    assert_eq!(summary.failures.len(), 1, "{summary}");
    let error = &summary.failures[0].error;
    assert!(error.is_http(), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    assert!(retried(&events).is_empty());
    assert_eq!(
        ranges(&server),
        vec![None, Some("bytes=100000-199999".to_owned())]
    );
    // The `.part` and its sidecar stay for a later run.
    assert_eq!(dir.files(), vec!["file.bin.part", "file.bin.part.meta"]);
}

#[tokio::test]
async fn a_whole_file_answer_outranks_an_earlier_segment_failure() {
    const SIZE: usize = 300_000;
    let body = data(SIZE, 23);
    let served = body.clone();
    let server = TestServer::start(move |req| {
        let body = served.clone();
        async move {
            match req.header("range") {
                // The second segment fails at once, with a status a retry may cure...
                Some("bytes=100000-199999") => respond(503, "busy"),
                // ...then the third gets the whole file: the server stopped honouring ranges.
                Some(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    respond(200, body)
                }
                None => serve_ranges(&req, &body, Some("\"v1\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("segoutrank");
    let path = dir.path("file.bin");
    let (downloader, events) = recording(
        builder()
            .segments(3)
            .min_segment_size(1)
            .per_host(4)
            .retries(2),
    );

    let summary = downloader
        .run([Job::new(server.url("/file.bin"), &path).unwrap()])
        .await;

    assert!(summary.is_success(), "{summary}");
    assert!(read(&path) == body);
    assert_eq!(dir.files(), vec!["file.bin"]);
    // The 503 did not end the attempt: the 200 decided it, taken whole at once.
    assert!(retried(&events).is_empty());
    let mut ranges = ranges(&server);
    ranges.sort();
    assert_eq!(
        ranges,
        vec![
            None,
            Some("bytes=100000-199999".to_owned()),
            Some("bytes=200000-299999".to_owned()),
        ]
    );
    assert_eq!(
        starts(&events),
        vec![(Some(SIZE as u64), 0, 3), (Some(SIZE as u64), 0, 1)]
    );
}

#[tokio::test]
async fn two_jobs_with_one_destination_do_not_share_a_part() {
    let server = TestServer::start(|req| async move { respond(200, req.path().to_owned()) }).await;
    let dir = TempDir::new("duplicate");
    let path = dir.path("same.txt");

    let summary = builder()
        .build()
        .run([
            Job::new(server.url("/first"), &path).unwrap(),
            Job::new(server.url("/second"), &path).unwrap(),
        ])
        .await;

    assert_eq!(summary.files, 1);
    let failure = &summary.failures[0];
    assert_eq!(failure.job.index(), 1);
    assert!(failure.error.is_io());
    assert_eq!(
        failure.error.io_error().unwrap().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    assert_eq!(read(&path), b"/first");
    assert_eq!(server.requests().len(), 1);
}

/// Runs jobs for `names` (each fetched from `/<name>`, whose body is its path) into one directory;
/// returns the summary, the directory and the server.
async fn run_names(names: &[&str]) -> (courier::download::Summary, TempDir, TestServer) {
    run_names_with(builder(), names).await
}

async fn run_names_with(
    builder: DownloaderBuilder,
    names: &[&str],
) -> (courier::download::Summary, TempDir, TestServer) {
    let server = TestServer::start(|req| async move { respond(200, req.path().to_owned()) }).await;
    let dir = TempDir::new("overlap");
    let jobs: Vec<Job> = names
        .iter()
        .map(|name| Job::new(server.url(&format!("/{name}")), dir.path(name)).unwrap())
        .collect();
    let summary = builder.build().run(jobs).await;
    (summary, dir, server)
}

#[tokio::test]
async fn a_job_saving_to_another_jobs_part_file_fails() {
    for (names, taken) in [
        (["x", "x.part"], "x.part"),
        (["x", "x.part.meta"], "x.part.meta"),
        // The other way round: `x` would write into `x.part`, the first job's destination.
        (["x.part", "x"], "x.part"),
    ] {
        let (summary, dir, server) = run_names(&names).await;

        assert_eq!(summary.files, 1, "{names:?}: {summary}");
        assert_eq!(summary.failures.len(), 1, "{names:?}: {summary}");
        let failure = &summary.failures[0];
        assert_eq!(failure.job.index(), 1);
        let error = failure.error.io_error().expect("an I/O error");
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
        let taken = dir.path(taken);
        assert_eq!(
            error.to_string(),
            format!(
                "an earlier job of this run already uses {} (as its destination, `.part` or \
                 `.part.meta`)",
                taken.display()
            )
        );
        // Only the first job ran, and its file is whole.
        assert_eq!(server.requests().len(), 1);
        assert_eq!(server.last_request().path(), format!("/{}", names[0]));
        assert_eq!(dir.files(), vec![names[0].to_owned()]);
        assert_eq!(
            read(&dir.path(names[0])),
            format!("/{}", names[0]).as_bytes()
        );
    }
}

#[tokio::test]
async fn with_update_a_job_saving_to_another_jobs_validators_fails() {
    // Without `update` no `.validators` file is written, so both jobs run.
    let (summary, dir, _server) = run_names(&["x", "x.validators"]).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(dir.files(), vec!["x", "x.validators"]);

    let (summary, dir, _server) =
        run_names_with(builder().update(true), &["x", "x.validators"]).await;
    assert_eq!(summary.files, 1, "{summary}");
    let error = summary.failures[0].error.io_error().expect("an I/O error");
    assert_eq!(
        error.to_string(),
        format!(
            "an earlier job of this run already uses {} (as its destination, `.part`, \
             `.part.meta` or `.validators`)",
            dir.path("x.validators").display()
        )
    );
}

#[tokio::test]
async fn jobs_whose_names_only_share_a_prefix_both_run() {
    // `x.part.1` holds `x.part.1.part`, which no other job uses.
    let (summary, dir, _server) = run_names(&["x", "x.part.1", "x.partial"]).await;

    assert!(summary.is_success(), "{summary}");
    assert_eq!(dir.files(), vec!["x", "x.part.1", "x.partial"]);
    assert_eq!(read(&dir.path("x.part.1")), b"/x.part.1");
}

/// A response made from the rest of the file.
type Answer = fn(&Bytes) -> Response<ServerBody>;

/// A server that cuts the first body at 40,000 of 100,000 bytes, then answers the resuming request
/// `bytes=40000-` with `second` (given the rest of the file from byte 40,000), then serves ranges
/// properly. Returns the file, the server, the directory and the job.
async fn resumed_by(second: Answer) -> (Bytes, TestServer, TempDir, Job) {
    let body = data(100_000, 12);
    let served = body.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(move |req| {
        let body = served.clone();
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        async move {
            match attempt {
                0 => cut_response(&body, "\"v1\"", 40_000),
                1 => second(&body.slice(40_000..)),
                _ => serve_ranges(&req, &body, Some("\"v1\"")),
            }
        }
    })
    .await;
    let dir = TempDir::new("resume206");
    let job = Job::new(server.url("/file.bin"), dir.path("file.bin")).unwrap();
    (body, server, dir, job)
}

fn partial(content_range: &str, body: Bytes) -> Response<ServerBody> {
    Response::builder()
        .status(206)
        .header("accept-ranges", "bytes")
        .header("etag", "\"v1\"")
        .header("content-range", content_range)
        .body(full(body))
        .unwrap()
}

#[tokio::test]
async fn a_206_for_less_than_the_rest_of_the_file_starts_over() {
    let cases: [(&str, Answer); 2] = [
        ("bytes 40000-49999/100000", |rest| {
            partial("bytes 40000-49999/100000", rest.slice(..10_000))
        }),
        // No total: the sidecar's 100,000 says 49,999 is not the last byte.
        ("bytes 40000-49999/*", |rest| {
            partial("bytes 40000-49999/*", rest.slice(..10_000))
        }),
    ];
    for (content_range, second) in cases {
        let (body, server, dir, job) = resumed_by(second).await;
        let (downloader, events) = recording(builder().retries(2));

        let summary = downloader.run([job.clone()]).await;

        assert!(summary.is_success(), "{content_range}: {summary}");
        assert!(read(job.path()) == body, "{content_range}");
        assert_eq!(dir.files(), vec!["file.bin"]);
        // The short 206 is not taken as the rest of the file: the `.part` is dropped and the
        // retry starts over, as for any 206 that does not match what was asked.
        assert_eq!(
            ranges(&server),
            vec![None, Some("bytes=40000-".to_owned()), None],
            "{content_range}"
        );
        let retried = retried(&events);
        assert_eq!(retried.len(), 2, "{content_range}");
        assert!(retried[1].1.is_invalid_response(), "{:?}", retried[1].1);
        assert_eq!(
            retried[1].1.to_string(),
            format!(
                "download of {} to {} failed: invalid response to a range request: asked for \
                 bytes=40000- of a 100000-byte file, got Content-Range: {content_range}",
                job.url(),
                job.path().display()
            )
        );
    }
}

#[tokio::test]
async fn a_206_body_longer_than_its_content_range_does_not_grow_the_file() {
    let cases: [(&str, Answer); 2] = [
        ("bytes 40000-99999/100000", |rest| {
            let lie = [rest.as_ref(), &[0xee; 5_000]].concat();
            partial("bytes 40000-99999/100000", lie.into())
        }),
        ("bytes 40000-99999/*", |rest| {
            let lie = [rest.as_ref(), &[0xee; 5_000]].concat();
            partial("bytes 40000-99999/*", lie.into())
        }),
    ];
    for (content_range, second) in cases {
        let (body, server, dir, job) = resumed_by(second).await;

        let summary = builder().retries(1).build().run([job.clone()]).await;

        // The 5,000 bytes past byte 99,999 are dropped: the file is exactly the announced 100,000.
        assert!(summary.is_success(), "{content_range}: {summary}");
        let saved = read(job.path());
        assert_eq!(saved.len(), 100_000, "{content_range}");
        assert!(saved == body, "{content_range}");
        assert_eq!(dir.files(), vec!["file.bin"]);
        assert_eq!(server.requests().len(), 2, "{content_range}");
        assert_eq!(server.last_request().header("range"), Some("bytes=40000-"));
    }
}

#[tokio::test]
async fn a_2xx_other_than_200_is_not_saved_as_the_file() {
    let server = TestServer::start(|_| async {
        Response::builder()
            .status(202)
            .body(courier_testkit::full("your file is being generated"))
            .unwrap()
    })
    .await;
    let dir = TempDir::new("accepted");
    let job = Job::new(server.url("/report.csv"), dir.path("report.csv")).unwrap();
    let summary = Downloader::new(Client::new()).run(vec![job]).await;
    assert_eq!(summary.failures.len(), 1, "{summary}");
    assert!(
        summary.failures[0].error.to_string().contains("202"),
        "{}",
        summary.failures[0].error
    );
    assert!(
        !dir.files().contains(&"report.csv".to_owned()),
        "{:?}",
        dir.files()
    );
    assert_eq!(server.requests().len(), 1, "not retried");
}

/// A server for `update`: `/same` answers `304` to `If-None-Match: "v1"`; `/dated` answers `304` to an
/// `If-Modified-Since` not before its `Last-Modified`, else `200` with new bytes.
async fn update_server(body: &Bytes, modified: std::time::SystemTime) -> TestServer {
    let body = body.clone();
    TestServer::start(move |req: Recorded| {
        let body = body.clone();
        async move {
            let last_modified = httpdate::fmt_http_date(modified);
            let not_modified = match req.path() {
                "/same" => req.header("if-none-match") == Some("\"v1\""),
                _ => req
                    .header("if-modified-since")
                    .and_then(|d| httpdate::parse_http_date(d).ok())
                    .is_some_and(|since| since >= modified),
            };
            let builder = Response::builder()
                .header("etag", "\"v1\"")
                .header("last-modified", last_modified);
            if not_modified {
                builder.status(304).body(courier_testkit::empty()).unwrap()
            } else {
                builder.body(full(body)).unwrap()
            }
        }
    })
    .await
}

#[tokio::test]
async fn update_leaves_unchanged_files_untouched_and_replaces_changed_ones() {
    let dir = TempDir::new("update");
    let body = data(10_000, 3);
    // Whole seconds, as HTTP dates carry.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let modified = std::time::UNIX_EPOCH + Duration::from_secs(now - 3600);
    let server = update_server(&body, modified).await;
    let same = dir.path("same.bin");
    let dated = dir.path("dated.bin");

    // First run: both downloaded, each with its validators beside it.
    let (downloader, _) = recording(builder().update(true));
    let jobs = vec![
        Job::new(server.url("/same"), &same).unwrap(),
        Job::new(server.url("/dated"), &dated).unwrap(),
    ];
    let summary = within(10, downloader.run(jobs)).await;
    assert_eq!((summary.files, summary.unchanged), (2, 0), "{summary}");
    assert_eq!(
        dir.files(),
        [
            "dated.bin",
            "dated.bin.validators",
            "same.bin",
            "same.bin.validators"
        ]
    );
    let stamp = std::fs::metadata(&same).unwrap().modified().unwrap();

    // Second run: both conditional, both 304, files untouched.
    let (downloader, events) = recording(builder().update(true));
    let jobs = vec![
        Job::new(server.url("/same"), &same).unwrap(),
        Job::new(server.url("/dated"), &dated).unwrap(),
    ];
    let summary = within(10, downloader.run(jobs)).await;
    assert_eq!((summary.files, summary.unchanged), (0, 2), "{summary}");
    assert!(
        summary.to_string().starts_with("0 files, 2 unchanged, "),
        "{summary}"
    );
    assert!(kinds(&events)
        .iter()
        .any(|k| matches!(k, EventKind::Unchanged { bytes: 10_000 })));
    assert_eq!(read(&same), body);
    assert_eq!(std::fs::metadata(&same).unwrap().modified().unwrap(), stamp);
    let requests = server.requests();
    let last_two: Vec<_> = requests[2..].iter().collect();
    let same_request = last_two.iter().find(|r| r.path() == "/same").unwrap();
    assert_eq!(same_request.header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        same_request.header("if-modified-since"),
        Some(httpdate::fmt_http_date(modified).as_str())
    );

    // A file without validators is compared by its modification time: older than the server's copy,
    // it is replaced.
    std::fs::remove_file(validators_path(&dated)).unwrap();
    std::fs::write(&dated, b"old").unwrap();
    let old = std::fs::File::options().write(true).open(&dated).unwrap();
    old.set_modified(modified - Duration::from_secs(60))
        .unwrap();
    drop(old);
    let (downloader, _) = recording(builder().update(true));
    let summary = within(
        10,
        downloader.run(vec![Job::new(server.url("/dated"), &dated).unwrap()]),
    )
    .await;
    assert_eq!((summary.files, summary.unchanged), (1, 0), "{summary}");
    assert_eq!(read(&dated), body);
    let last = server.last_request();
    assert_eq!(
        last.header("if-modified-since"),
        Some(httpdate::fmt_http_date(modified - Duration::from_secs(60)).as_str())
    );
    assert_eq!(last.header("if-none-match"), None);

    // Without update, nothing is conditional.
    let (downloader, _) = recording(builder());
    let summary = within(
        10,
        downloader.run(vec![Job::new(server.url("/same"), &same).unwrap()]),
    )
    .await;
    assert_eq!(summary.files, 1);
    assert_eq!(server.last_request().header("if-none-match"), None);
}

/// With `update`, a resume that finds the file changed (`If-Range` no longer matches, so a `200`
/// with the new file) keeps the new file's validators: the next run asks with them and gets `304`.
#[tokio::test]
async fn a_resume_answered_with_a_changed_file_keeps_the_new_validators() {
    let old = data(20_000, 5);
    let new = data(30_000, 6);
    let attempts = AtomicUsize::new(0);
    let (old_body, new_body) = (old.clone(), new.clone());
    let server = TestServer::start(move |req| {
        let (old, new) = (old_body.clone(), new_body.clone());
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        async move {
            if attempt == 0 {
                return cut_response(&old, "\"v1\"", 5_000);
            }
            if req.header("if-none-match") == Some("\"v2\"") {
                return Response::builder()
                    .status(304)
                    .header("etag", "\"v2\"")
                    .body(courier_testkit::empty())
                    .unwrap();
            }
            serve_ranges(&req, &new, Some("\"v2\""))
        }
    })
    .await;
    let dir = TempDir::new("update-resume");
    let path = dir.path("file.bin");
    let job = || Job::new(server.url("/file.bin"), &path).unwrap();

    let summary = within(10, builder().update(true).retries(0).build().run([job()])).await;
    assert_eq!(summary.failures.len(), 1, "{summary}");
    let summary = within(10, builder().update(true).build().run([job()])).await;
    assert!(summary.is_success(), "{:?}", summary.failures);
    assert_eq!(read(&path), new);
    let resumed = &server.requests()[1];
    assert_eq!(resumed.header("if-range"), Some("\"v1\""));

    let summary = within(10, builder().update(true).build().run([job()])).await;
    assert_eq!((summary.files, summary.unchanged), (0, 1), "{summary}");
    assert_eq!(
        server.last_request().header("if-none-match"),
        Some("\"v2\"")
    );
}

/// The validators sidecar of a file.
fn validators_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".validators");
    PathBuf::from(name)
}

/// A 2xx that is neither the range asked for nor the file (a 202 "being generated", a 204) is not
/// saved as the finished file: the job fails and the `.part` with what was downloaded stays.
#[tokio::test]
async fn a_202_or_204_to_a_range_request_is_not_the_file() {
    let cases: [(u16, Answer); 2] = [
        (202, |_| {
            Response::builder()
                .status(202)
                .body(full("being generated"))
                .unwrap()
        }),
        (204, |_| {
            Response::builder().status(204).body(full("")).unwrap()
        }),
    ];
    for (status, second) in cases {
        let (body, _server, dir, job) = resumed_by(second).await;
        let summary = builder().retries(1).build().run([job.clone()]).await;
        assert_eq!(summary.failures.len(), 1, "{status}: {summary}");
        assert!(
            summary.failures[0].error.is_invalid_response(),
            "{status}: {:?}",
            summary.failures[0].error
        );
        assert!(!job.path().exists(), "{status}");
        assert_eq!(
            dir.files(),
            vec!["file.bin.part", "file.bin.part.meta"],
            "{status}"
        );
        assert_eq!(read(&dir.path("file.bin.part")), body[..40_000], "{status}");
    }
}

/// A 206 whose body reaches its announced end while the server holds the connection open: the file is
/// complete at that end, and the job finishes instead of waiting for a body end that never comes.
#[tokio::test]
async fn a_range_complete_at_its_announced_end_finishes_while_the_server_holds_on() {
    let (body, _server, _dir, job) = resumed_by(|rest| {
        let rest = rest.clone();
        let stream = futures_util::StreamExt::chain(
            futures_util::stream::iter([Ok::<_, courier_testkit::BoxError>(
                http_body::Frame::data(rest),
            )]),
            futures_util::stream::pending(),
        );
        Response::builder()
            .status(206)
            .header("accept-ranges", "bytes")
            .header("etag", "\"v1\"")
            .header("content-range", "bytes 40000-99999/100000")
            .body(http_body_util::BodyExt::boxed(
                http_body_util::StreamBody::new(stream),
            ))
            .unwrap()
    })
    .await;
    let summary = within(10, builder().retries(1).build().run([job.clone()])).await;
    assert!(summary.is_success(), "{summary}");
    assert!(read(job.path()) == body);
}

/// `update` with the list moved on to another URL saved under the same name: the file's sidecar names
/// the old URL, so the file is known not to be the new one's; it is fetched without conditions (its
/// modification time would make an older new version look unchanged) and replaced.
#[tokio::test]
async fn update_fetches_unconditionally_a_file_whose_validators_name_another_url() {
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let old = update_server(&Bytes::from_static(b"version 1.2"), hour_ago).await;
    let new = update_server(&Bytes::from_static(b"version 1.3"), two_hours_ago).await;
    let dir = TempDir::new("update-moved");
    let dest = dir.path("pkg.tgz");
    let job = Job::new(old.url("/pkg-1.2.tgz"), &dest).unwrap();
    let summary = within(10, builder().update(true).build().run([job])).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(read(&dest), b"version 1.2");
    let job = Job::new(new.url("/pkg-1.3.tgz"), &dest).unwrap();
    let summary = within(10, builder().update(true).build().run([job])).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(read(&dest), b"version 1.3");
    let seen = new.last_request();
    assert_eq!(seen.header("if-modified-since"), None);
    assert_eq!(seen.header("if-none-match"), None);
}

/// `Transfer-Encoding: chunked` with a `Content-Length` that disagrees: hyper frames the body by the
/// chunks (RFC 9112 §6.3), and the file is all of them, not cut at the length the server also sent.
#[tokio::test]
async fn a_chunked_body_is_saved_whole_whatever_content_length_says() {
    let server = RawServer::reply(
        &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\ntransfer-encoding: chunked\r\n\
           accept-ranges: bytes\r\netag: \"v1\"\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n"[..],
        courier_testkit::Then::Close,
    )
    .await;
    let dir = TempDir::new("te-and-cl");
    let job = Job::new(server.url("/f"), dir.path("f")).unwrap();
    let summary = within(10, builder().retries(0).build().run([job.clone()])).await;
    assert!(summary.is_success(), "{summary}");
    assert_eq!(read(job.path()), b"01234567890123456789");
}

/// A `416` naming another version (a cache ignoring `If-Range`) does not finish a complete `.part` of
/// the old one: the file starts over and is the server's current version.
#[tokio::test]
async fn a_416_of_another_version_does_not_finish_the_old_part() {
    let old = data(64_000, 6);
    let new = data(64_000, 7);
    let served = new.clone();
    let server = TestServer::start(move |req: Recorded| {
        let body = served.clone();
        async move {
            if req.header("range").is_some() {
                Response::builder()
                    .status(416)
                    .header("etag", "\"v2\"")
                    .header("content-range", "bytes */64000")
                    .body(courier_testkit::empty())
                    .unwrap()
            } else {
                Response::builder()
                    .header("etag", "\"v2\"")
                    .body(full(body))
                    .unwrap()
            }
        }
    })
    .await;
    let dir = TempDir::new("416-other");
    let path = dir.path("file.bin");
    let url = server.url("/file.bin");
    std::fs::write(dir.path("file.bin.part"), &old).unwrap();
    let meta = serde_json::json!({"url": url, "etag": "\"v1\"", "total": 64_000, "ranges": true});
    std::fs::write(dir.path("file.bin.part.meta"), meta.to_string()).unwrap();

    let summary = within(10, builder().build().run([Job::new(&url, &path).unwrap()])).await;
    assert!(summary.is_success(), "{summary}");
    assert!(read(&path) == new, "the old version was kept");
}

/// A segmented `.part` whose total is not the size the job expects fails at once, before fetching
/// any segment, as a single-stream resume does.
#[tokio::test]
async fn a_segmented_resume_of_the_wrong_size_fails_before_fetching() {
    let body = data(200_000, 30);
    let server = ranges_server(&body, "\"v1\"").await;
    let dir = TempDir::new("segsize");
    let path = dir.path("file.bin");
    let url = server.url("/file.bin");
    std::fs::write(dir.path("file.bin.part"), &body[..]).unwrap();
    let meta = serde_json::json!({
        "url": url, "etag": "\"v1\"", "total": 200_000, "ranges": true,
        "segments": [
            {"start": 0, "end": 100_000, "done": 10_000},
            {"start": 100_000, "end": 200_000, "done": 0},
        ],
    });
    std::fs::write(dir.path("file.bin.part.meta"), meta.to_string()).unwrap();
    let job = Job::new(&url, &path).unwrap().expected_size(150_000);

    let summary = within(10, builder().build().run([job])).await;
    assert_eq!(summary.failures.len(), 1, "{summary}");
    assert!(server.requests().is_empty(), "{:?}", ranges(&server));
}

/// A job's URL with `user:password@`: the credentials go to the server as `Basic`, and never into the
/// sidecar file, the job's URL or an error.
#[tokio::test]
async fn credentials_in_a_jobs_url_are_sent_and_never_written_down() {
    let body = data(100_000, 7);
    let server = cut_once_server(&body, 30_000).await;
    let dir = TempDir::new("credentials");
    let path = dir.path("file.bin");
    let url = server
        .url("/file.bin")
        .replace("http://", "http://ada:s3cret@");
    let job = Job::new(url.as_str(), &path).unwrap();
    assert_eq!(job.url().as_str(), server.url("/file.bin"));
    assert!(!format!("{job:?}").contains("s3cret"));

    // Cut once: the sidecar is written; then the rest is fetched with the same credentials.
    let summary = builder().retries(0).build().run([job.clone()]).await;
    assert_eq!(summary.failures.len(), 1);
    let error = &summary.failures[0].error;
    assert!(
        !format!("{error} {error:?}").contains("s3cret"),
        "{error:?}"
    );
    let meta = std::fs::read_to_string(dir.path("file.bin.part.meta")).unwrap();
    assert!(!meta.contains("s3cret") && !meta.contains("ada"), "{meta}");
    let summary = builder().build().run([job]).await;
    assert!(summary.is_success(), "{:?}", summary.failures);
    assert!(read(&path) == body);
    // "ada:s3cret", base64-encoded, on both requests.
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(sent, vec![Some("Basic YWRhOnMzY3JldA==".to_owned()); 2]);
}

/// Segments failing differently: a 503 on one (a retry might cure it), then a 404 on another (no
/// retry will). The 404 decides: the file fails at once, as a 404, with no retry.
#[tokio::test]
async fn a_segments_fatal_failure_outranks_another_segments_transient_one() {
    const SIZE: usize = 3 * 1024 * 1024;
    let body = data(SIZE, 12);
    let served = body.clone();
    let server = TestServer::start(move |req| {
        let body = served.clone();
        let range = req.header("range").unwrap_or("").to_owned();
        async move {
            if range.starts_with("bytes=1048576-") {
                courier_testkit::respond(503, "busy")
            } else if range.starts_with("bytes=2097152-") {
                tokio::time::sleep(Duration::from_millis(150)).await;
                courier_testkit::respond(404, "gone")
            } else {
                // The first segment: slow enough that the others decide first.
                tokio::time::sleep(Duration::from_millis(400)).await;
                serve_ranges(&req, &body, Some("\"s\""))
            }
        }
    })
    .await;
    let dir = TempDir::new("segfatal");
    let (downloader, events) = recording(
        builder()
            .segments(3)
            .min_segment_size(1024 * 1024)
            .retries(2),
    );
    let summary = within(
        20,
        downloader.run([Job::new(server.url("/big.bin"), dir.path("big.bin")).unwrap()]),
    )
    .await;
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(
        summary.failures[0].error.status(),
        Some(http::StatusCode::NOT_FOUND)
    );
    assert!(retried(&events).is_empty(), "{:?}", retried(&events));
}

/// How long a `Retry-After` is waited for is its own setting: a run whose backoff tops out at
/// 10 ms still waits the second a rate-limited server asks for, and one that will not fails at once.
#[tokio::test]
async fn the_longest_retry_after_waited_for_is_its_own_setting() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |_| {
        let first = counter.fetch_add(1, Ordering::SeqCst) % 2 == 0;
        async move {
            if first {
                Response::builder()
                    .status(429)
                    .header("retry-after", "1")
                    .body(full("slow down"))
                    .unwrap()
            } else {
                Response::new(full("finally"))
            }
        }
    })
    .await;
    let dir = TempDir::new("retryafter");
    let fast_backoff = || {
        Downloader::builder(Client::new())
            .retries(2)
            .backoff(Duration::from_millis(5), Duration::from_millis(10))
    };
    let started = std::time::Instant::now();
    let waits = fast_backoff()
        .max_retry_after(Duration::from_secs(2))
        .build()
        .run([Job::new(server.url("/a"), dir.path("a")).unwrap()])
        .await;
    assert!(waits.is_success(), "{:?}", waits.failures);
    // The server's second, not the 10 ms backoff.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(read(&dir.path("a")), b"finally");
    let gives_up = fast_backoff()
        .build()
        .run([Job::new(server.url("/b"), dir.path("b")).unwrap()])
        .await;
    assert_eq!(
        gives_up.failures[0].error.status(),
        Some(http::StatusCode::TOO_MANY_REQUESTS)
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}
