//! Concurrent bulk downloads to disk: many files, bounded memory, visible progress, nothing corrupted.
//!
//! A [`Downloader`] runs [`Job`]s (a URL, a destination, optionally the expected size and SHA-256)
//! over one [`Client`](crate::Client)'s connection pool:
//!
//! - **Limits**: at most [`concurrency`](DownloaderBuilder::concurrency) jobs at once, and at most
//!   [`per_host`](DownloaderBuilder::per_host) requests to one host.
//! - **Flat memory**: bodies stream to disk chunk by chunk; no body is ever held whole.
//!   [`Summary::max_buffered`] reports the most body bytes held at once.
//! - **No half files**: bytes go to `<path>.part`, which is renamed to `<path>` only once complete and
//!   verified (size, SHA-256). A failed job leaves at most the `.part` and its `.part.meta` sidecar.
//! - **Resume**: a `.part` left by an earlier run (or attempt) continues with `Range` and `If-Range`
//!   (a strong `ETag`, else `Last-Modified`, saved in the sidecar). A `206` must be exactly the rest
//!   of the file (`Content-Range` from the `.part`'s length to the sidecar's total), else the `.part`
//!   is started over; bytes a body sends past its announced end are dropped. A `200` means the file
//!   changed (or ranges are not supported) and is taken whole from the start; a `416` whose
//!   `Content-Range` shows the `.part` is already complete finishes it.
//! - **Segments**: with [`segments`](DownloaderBuilder::segments) above 1, a file whose server sends
//!   `Accept-Ranges: bytes` and a `Content-Length` is fetched as that many ranges at once, written at
//!   their offsets into the `.part`; otherwise it is one stream.
//! - **Retries**: connect errors, resets and cut bodies, timeouts, `408`, `429` and `5xx` are retried
//!   with exponential backoff and jitter, or after the server's `Retry-After` (seconds or an HTTP
//!   date), up to [`retries`](DownloaderBuilder::retries) times; other `4xx` fail at once.
//! - **Bandwidth**: with [`limit_rate`](DownloaderBuilder::limit_rate), all jobs together read no
//!   faster than a total rate, paced chunk by chunk.
//! - **Progress**: [`Event`]s (queued, started, progress, retried, finished, failed) to a channel or a
//!   callback, and a [`Summary`] at the end.
//! - **Update**: with [`update`](DownloaderBuilder::update), a file already in place is fetched
//!   conditionally (`If-None-Match` / `If-Modified-Since` from its `<path>.validators` sidecar, else its
//!   modification time) and left untouched on `304` ([`EventKind::Unchanged`], counted in
//!   [`Summary::unchanged`]).
//! - **Cancellation**: dropping the [`run`](Downloader::run) future or calling
//!   [`CancelHandle::cancel`] stops every job at once, keeping the `.part` files for resuming.
//!
//! ## What it does not do
//!
//! - It does not negotiate compression: every request sends `Accept-Encoding: identity` (as curl, wget
//!   and aria2 do by default) and a body is saved as the server sent it, never decoded, so files resume
//!   and split by range and no decompression limit applies. A body a server content-codes anyway (a
//!   `.tar.gz` with `Content-Encoding: gzip`) is saved coded, and not resumed: a retry starts it over.
//! - A body sent without `Content-Length`, or with neither a validator nor `Accept-Ranges: bytes`, is
//!   not resumed: a retry (or a later run) starts it over.
//! - Two jobs of one run whose files overlap are not both run: the later one fails. Each job holds
//!   `<path>`, `<path>.part` and `<path>.part.meta`, so a job saving to `x.part` conflicts with one
//!   saving to `x`. Paths are compared as written: two spellings of one file (`..`, links, case on a
//!   case-insensitive file system) are not detected.
//! - A file is saved exactly as received; nothing is unpacked.
//! - The `.part` is synced to disk before a segment's progress is recorded in the sidecar and before
//!   the rename, not after every chunk: after a power loss, a single-stream `.part` (whose length is
//!   its progress) may end in bytes that never reached the disk. A SHA-256 in the job catches that.
//! - Redirects, proxies, TLS and timeouts are the [`Client`](crate::Client)'s: configure them there
//!   (a `read_timeout` suits large downloads better than a total `timeout`).
//!
//! ## Example
//!
//! ```no_run
//! use courier::download::{Downloader, EventKind, Job};
//!
//! # async fn run() -> Result<(), courier::Error> {
//! let (events, mut receiver) = tokio::sync::mpsc::channel(1024);
//! let downloader = Downloader::builder(courier::Client::new())
//!     .concurrency(8)
//!     .per_host(4)
//!     .segments(4)
//!     .progress(events)
//!     .build();
//!
//! tokio::spawn(async move {
//!     while let Some(event) = receiver.recv().await {
//!         match event.kind {
//!             EventKind::Finished { bytes } => println!("{} done: {bytes} bytes", event.job),
//!             EventKind::Failed { error } => eprintln!("{error}"),
//!             _ => {}
//!         }
//!     }
//! });
//!
//! let jobs = ["a.bin", "b.bin", "c.bin"].map(|name| {
//!     Job::new(format!("https://example.com/{name}"), format!("downloads/{name}"))
//! });
//! let summary = downloader.run(jobs.into_iter().collect::<Result<Vec<_>, _>>()?).await;
//! println!("{summary}");
//! # Ok(())
//! # }
//! ```

// The files, top to bottom. `downloader` runs the jobs: limits, retries, verification, the rename.
// `fetch` is one attempt at a job: it resumes or fetches afresh, hands large files to `segmented`,
// and is the only place that acts on what a step decides. `segmented` runs the segment workers.
// `range` builds a range request and checks its answer, for a resumed stream and a segment alike.
// `part` keeps the `.part` and its sidecar on disk. `retry` says which failures are retried, `rate`
// paces the run's bandwidth, `update` makes a request conditional on the file in place. The public
// types: `builder`, `job`, `event`, `summary`, `error`, `cancel`.
mod builder;
mod cancel;
mod downloader;
mod error;
mod event;
mod fetch;
mod job;
mod part;
mod range;
mod rate;
mod retry;
mod schedule;
mod segmented;
mod summary;
mod update;

pub use builder::DownloaderBuilder;
pub use cancel::CancelHandle;
pub use downloader::Downloader;
pub use error::{DownloadError, DownloadErrorKind};
pub use event::{Event, EventKind};
pub use job::{Job, JobId};
pub use summary::{Failure, Summary};
