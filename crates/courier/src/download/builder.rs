//! [`DownloaderBuilder`]: limits, retries, segmentation, resume and where progress goes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::event::EventSink;
use super::{Downloader, Event};
use crate::Client;

/// The settings a [`Downloader`] runs with.
#[derive(Clone, Debug)]
pub(super) struct Config {
    pub(super) concurrency: usize,
    pub(super) per_host: Option<usize>,
    pub(super) retries: u32,
    pub(super) backoff_initial: Duration,
    pub(super) backoff_max: Duration,
    pub(super) segments: usize,
    pub(super) min_segment_size: u64,
    pub(super) resume: bool,
    pub(super) update: bool,
    /// The total bandwidth cap, bytes per second.
    pub(super) rate_limit: Option<u64>,
    /// The longest `Retry-After` waited for; `None`: `backoff_max`.
    pub(super) max_retry_after: Option<Duration>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            concurrency: 8,
            per_host: Some(4),
            retries: 3,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            segments: 1,
            min_segment_size: 1024 * 1024,
            resume: true,
            update: false,
            rate_limit: None,
            max_retry_after: None,
        }
    }
}

/// Configures a [`Downloader`]; made by [`Downloader::builder`].
///
/// ```
/// use std::time::Duration;
/// use courier::download::Downloader;
///
/// let (events, mut receiver) = tokio::sync::mpsc::channel(256);
/// let downloader = Downloader::builder(courier::Client::new())
///     .concurrency(16)
///     .per_host(4)
///     .retries(5)
///     .backoff(Duration::from_millis(100), Duration::from_secs(10))
///     .segments(4)
///     .resume(true)
///     .progress(events)
///     .build();
/// # drop((downloader, receiver.try_recv()));
/// ```
#[must_use]
pub struct DownloaderBuilder {
    client: Client,
    config: Config,
    events: EventSink,
}

impl DownloaderBuilder {
    pub(super) fn new(client: Client) -> DownloaderBuilder {
        DownloaderBuilder {
            client,
            config: Config::default(),
            events: EventSink::default(),
        }
    }

    /// The most jobs downloading at once (default 8; 0 counts as 1).
    pub fn concurrency(mut self, jobs: usize) -> DownloaderBuilder {
        // Beyond tokio's semaphore limit (2^61 - 1) a limit means nothing, and would panic.
        self.config.concurrency = jobs.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// The most requests in flight to one host (scheme, host and port) at once, segments included
    /// (default 4; 0 removes the limit).
    pub fn per_host(mut self, requests: usize) -> DownloaderBuilder {
        self.config.per_host =
            (requests > 0).then_some(requests.min(tokio::sync::Semaphore::MAX_PERMITS));
        self
    }

    /// How many times a job is retried after a transient failure (default 3): connect errors, resets
    /// and cut bodies, timeouts, `408`, `429` and `5xx`. Other `4xx` statuses fail at once.
    pub fn retries(mut self, retries: u32) -> DownloaderBuilder {
        self.config.retries = retries;
        self
    }

    /// The backoff between retries: `initial` doubling per retry up to `max`, each delay drawn at random
    /// below it ("full jitter", `courier_core::retry::backoff`; default 250 ms to 30 s). A `Retry-After` from the server is used instead,
    /// when it sent one; one asking for more than `max` (or [`max_retry_after`]) fails the job
    /// rather than stall it.
    ///
    /// [`max_retry_after`]: DownloaderBuilder::max_retry_after
    pub fn backoff(mut self, initial: Duration, max: Duration) -> DownloaderBuilder {
        self.config.backoff_initial = initial;
        self.config.backoff_max = max.max(initial);
        self
    }

    /// The longest `Retry-After` a job waits for (default: the backoff's maximum, 30 s); a server
    /// asking for longer fails the job instead. A rate-limited server often asks for a minute or
    /// more: a bulk run that may wait for it says so here, without lengthening its own backoff.
    ///
    /// ```
    /// use std::time::Duration;
    /// use courier::download::Downloader;
    ///
    /// let downloader = Downloader::builder(courier::Client::new())
    ///     .max_retry_after(Duration::from_secs(300))
    ///     .build();
    /// # drop(downloader);
    /// ```
    pub fn max_retry_after(mut self, max: Duration) -> DownloaderBuilder {
        self.config.max_retry_after = Some(max);
        self
    }

    /// Fetch one file over up to `count` connections at once, each a byte range, when the server
    /// supports ranges (`Accept-Ranges: bytes`) and announced the size (default 1: no segmentation).
    /// Connections beyond the first count against the per-host limit: they are added as the host
    /// has slots free, so a segmented job never waits for more than the one it started with.
    pub fn segments(mut self, count: usize) -> DownloaderBuilder {
        self.config.segments = count.max(1);
        self
    }

    /// The smallest segment worth its own connection (default 1 MiB): a file is split in at most
    /// `size / min_segment_size` segments.
    pub fn min_segment_size(mut self, bytes: u64) -> DownloaderBuilder {
        self.config.min_segment_size = bytes.max(1);
        self
    }

    /// Continue `.part` files left by an earlier run (default on) with `Range` and `If-Range`; when off
    /// they are started over. Retries within a run always continue where the failed attempt stopped,
    /// when the server allows it.
    pub fn resume(mut self, enabled: bool) -> DownloaderBuilder {
        self.config.resume = enabled;
        self
    }

    /// Fetch files already at their destination conditionally and leave them untouched when the
    /// server answers `304 Not Modified` (default off), like curl's `--etag-compare` for a whole list.
    /// The validators come from the `<path>.validators` sidecar this option writes beside each file it
    /// downloads (the response's `ETag` and `Last-Modified`); a file without one is compared by its
    /// modification time (`If-Modified-Since`). An unchanged file ends its job with
    /// [`EventKind::Unchanged`](super::EventKind::Unchanged); its expected size and SHA-256 are not
    /// checked again.
    pub fn update(mut self, enabled: bool) -> DownloaderBuilder {
        self.config.update = enabled;
        self
    }

    /// Read no more than `bytes_per_second` in total, across all jobs and segments (default 0: no
    /// limit), like curl's `--limit-rate` for the whole run. The bodies are paced chunk by chunk, in
    /// the order the chunks arrive, so TCP slows the servers down; idle time is not saved up for a
    /// burst. Clones of the downloader share the limit.
    ///
    /// ```
    /// use courier::download::Downloader;
    ///
    /// // 8 files at once, 2 MiB/s between them.
    /// let downloader = Downloader::builder(courier::Client::new())
    ///     .concurrency(8)
    ///     .limit_rate(2 * 1024 * 1024)
    ///     .build();
    /// # drop(downloader);
    /// ```
    pub fn limit_rate(mut self, bytes_per_second: u64) -> DownloaderBuilder {
        self.config.rate_limit = (bytes_per_second > 0).then_some(bytes_per_second);
        self
    }

    /// Calls `callback` with every [`Event`], on the task of the job it concerns: keep it quick.
    pub fn on_event<F>(mut self, callback: F) -> DownloaderBuilder
    where
        F: Fn(&Event) + Send + Sync + 'static,
    {
        self.events.add_callback(Arc::new(callback));
        self
    }

    /// Sends every [`Event`] to `sender`. Events other than `Progress` wait for room in the channel, so
    /// keep receiving (or drop the receiver); `Progress` events are skipped while it is full.
    pub fn progress(mut self, sender: mpsc::Sender<Event>) -> DownloaderBuilder {
        self.events.add_channel(sender);
        self
    }

    /// The downloader.
    pub fn build(self) -> Downloader {
        Downloader::from_parts(self.client, self.config, self.events)
    }
}

impl fmt::Debug for DownloaderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloaderBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
