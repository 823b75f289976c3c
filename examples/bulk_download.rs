//! Courier's main job in one command: a few hundred files downloaded concurrently, verified, summed up.
//!
//! ```text
//! cargo run --example bulk_download
//! ```
//!
//! It starts its own local server first, so it runs offline. The server holds 300 generated files of
//! mixed sizes (a quarter of them gzip-encoded for clients that ask, which the downloader does not: it
//! saves files as stored, as curl and wget do; a few failing once with `503` before they succeed) and one
//! 16 MiB file served with byte ranges, which is fetched as 4 segments at once. Every file is checked
//! byte for byte against what the server holds, then the temporary folder is removed.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use courier::download::{Downloader, Event, EventKind, Job, JobId};
use courier_testkit::{full, serve_ranges, Recorded, ServerBody, TestServer};
use http::Response;

const FILES: usize = 300;
const BIG: usize = 16 * 1024 * 1024;

/// What the server serves: the files, their gzip encodings, and which fail once.
struct Catalog {
    files: Vec<Bytes>,
    gzipped: HashMap<usize, Bytes>,
    fail_once: HashMap<usize, AtomicBool>,
    big: Bytes,
    /// Responses sent gzip-encoded, and range requests answered.
    gzip_sent: AtomicUsize,
    ranges_sent: AtomicUsize,
}

impl Catalog {
    fn generate() -> Catalog {
        let files: Vec<Bytes> = (0..FILES).map(file_content).collect();
        let gzipped = (0..FILES)
            .filter(|i| i % 4 == 1)
            .map(|i| (i, gzip(&files[i])))
            .collect();
        let fail_once = (0..FILES)
            .filter(|i| i % 41 == 7)
            .map(|i| (i, AtomicBool::new(true)))
            .collect();
        let big = random_bytes(BIG, 0xB16);
        Catalog {
            files,
            gzipped,
            fail_once,
            big,
            gzip_sent: AtomicUsize::new(0),
            ranges_sent: AtomicUsize::new(0),
        }
    }

    fn respond(&self, req: &Recorded) -> Response<ServerBody> {
        let name = req.path().trim_start_matches("/files/");
        if name == "big.bin" {
            if req.header("range").is_some() {
                self.ranges_sent.fetch_add(1, Ordering::Relaxed);
            }
            return serve_ranges(req, &self.big, Some("\"big-v1\""));
        }
        let Some(index) = name
            .strip_suffix(".dat")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < FILES)
        else {
            return status(404);
        };
        if let Some(fail) = self.fail_once.get(&index) {
            if fail.swap(false, Ordering::SeqCst) {
                return status(503);
            }
        }
        let accepts_gzip = req
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip"));
        match self.gzipped.get(&index) {
            Some(encoded) if accepts_gzip => {
                self.gzip_sent.fetch_add(1, Ordering::Relaxed);
                Response::builder()
                    .header("content-encoding", "gzip")
                    .header("content-length", encoded.len())
                    .body(full(encoded.clone()))
                    .unwrap()
            }
            _ => Response::builder()
                .header("content-length", self.files[index].len())
                .header("etag", format!("\"{index}-v1\""))
                .body(full(self.files[index].clone()))
                .unwrap(),
        }
    }
}

fn status(code: u16) -> Response<ServerBody> {
    Response::builder()
        .status(code)
        .body(full(Bytes::new()))
        .unwrap()
}

/// Mixed sizes: most files 1–97 KiB, every tenth half a MiB or more. Gzip candidates are text.
fn file_content(index: usize) -> Bytes {
    let size = match index % 10 {
        0 => 512 * 1024 + index * 101,
        _ => 1024 + (index * 7919) % (96 * 1024),
    };
    if index % 4 == 1 {
        let line = format!("file {index}: the quick brown fox jumps over the lazy dog\n");
        line.bytes().cycle().take(size).collect::<Vec<u8>>().into()
    } else {
        random_bytes(size, index as u64)
    }
}

fn random_bytes(len: usize, seed: u64) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            // xorshift64: fast, deterministic, incompressible enough.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().into()
}

/// The download folder, removed however the example ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Renders events: one status line, redrawn in place on a terminal, plus a line per notable event.
async fn show_progress(mut events: tokio::sync::mpsc::Receiver<Event>, jobs: usize) {
    let live = std::io::stderr().is_terminal();
    let mut names: HashMap<JobId, String> = HashMap::new();
    let mut downloaded: HashMap<JobId, u64> = HashMap::new();
    let (mut finished, mut failed) = (0, 0);
    let mut last_draw = std::time::Instant::now();
    while let Some(event) = events.recv().await {
        let name = || names.get(&event.job).cloned().unwrap_or_default();
        let mut note = None;
        match &event.kind {
            EventKind::Queued { path, .. } => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                names.insert(event.job, name.into_owned());
            }
            EventKind::Started { segments, .. } if *segments > 1 => {
                note = Some(format!("{}: {segments} segments in parallel", name()));
            }
            EventKind::Progress { downloaded: bytes } => {
                downloaded.insert(event.job, *bytes);
            }
            EventKind::Retried { error, delay, .. } => {
                let status = error.status().map(|s| s.to_string()).unwrap_or_default();
                let ms = delay.as_millis();
                note = Some(format!("{}: {status}, retrying in {ms} ms", name()));
            }
            EventKind::Finished { .. } => finished += 1,
            EventKind::Failed { error } => {
                failed += 1;
                note = Some(error.to_string());
            }
            _ => {}
        }
        let done = finished + failed == jobs;
        if let Some(note) = note {
            if live {
                eprint!("\r\x1b[2K");
            }
            eprintln!("  {note}");
        }
        if live && (done || last_draw.elapsed() >= Duration::from_millis(50)) {
            let bytes: u64 = downloaded.values().sum();
            eprint!(
                "\r\x1b[2K  [{finished:>3}/{jobs}] {:.1} MiB{}",
                bytes as f64 / (1024.0 * 1024.0),
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
            last_draw = std::time::Instant::now();
        }
    }
    if live {
        eprintln!();
    }
}

fn verify(dir: &Path, catalog: &Catalog) -> Result<usize, String> {
    let mut checked = 0;
    let mut expected: Vec<(String, &Bytes)> = vec![("big.bin".to_owned(), &catalog.big)];
    expected.extend((0..FILES).map(|i| (format!("{i}.dat"), &catalog.files[i])));
    for (name, content) in expected {
        let on_disk = std::fs::read(dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        if on_disk != content.as_ref() {
            return Err(format!("{name} differs from what the server holds"));
        }
        checked += 1;
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part") || n.ends_with(".meta"))
        .collect();
    if !leftovers.is_empty() {
        return Err(format!("partial files left behind: {leftovers:?}"));
    }
    Ok(checked)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let catalog = Arc::new(Catalog::generate());
    let served = catalog.clone();
    let server = TestServer::start(move |req| {
        let catalog = served.clone();
        async move { catalog.respond(&req) }
    })
    .await;
    let dir = TempDir(std::env::temp_dir().join(format!("courier-bulk-{}", std::process::id())));

    // The big file first, so its segments are under way while the small files stream past.
    let mut jobs = vec![Job::new(
        server.url("/files/big.bin"),
        dir.0.join("big.bin"),
    )?];
    for i in 0..FILES {
        let url = server.url(&format!("/files/{i}.dat"));
        jobs.push(Job::new(url, dir.0.join(format!("{i}.dat")))?);
    }
    let count = jobs.len();
    println!(
        "downloading {count} files from {} into {}",
        server.url("/files/"),
        dir.0.display()
    );

    let (events, receiver) = tokio::sync::mpsc::channel(1024);
    let progress = tokio::spawn(show_progress(receiver, count));
    let downloader = Downloader::builder(courier::Client::new())
        .concurrency(16)
        .per_host(24)
        .segments(4)
        .retries(3)
        .backoff(Duration::from_millis(20), Duration::from_secs(2))
        .progress(events)
        .build();

    let summary = downloader.run(jobs).await;
    drop(downloader);
    progress.await?;

    println!("{summary}");
    println!(
        "server: {} requests, {} bodies sent gzip-encoded (files are asked for as stored), {} range requests for big.bin",
        server.requests().len(),
        catalog.gzip_sent.load(Ordering::Relaxed),
        catalog.ranges_sent.load(Ordering::Relaxed)
    );
    println!(
        "at most {} KiB of bodies in memory at once",
        summary.max_buffered / 1024
    );
    for failure in &summary.failures {
        eprintln!("failed: {}", failure.error);
    }
    if !summary.is_success() {
        return Err("some downloads failed".into());
    }
    let checked = verify(&dir.0, &catalog)?;
    println!("verified {checked} files byte for byte");
    Ok(())
}
