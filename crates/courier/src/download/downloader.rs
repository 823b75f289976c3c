//! [`Downloader`]: runs jobs in the order [`schedule`](super::schedule) gives, retries them,
//! verifies and renames; and [`JobCtx`], one job's state and the helpers its attempts share (events,
//! progress, errors).
//!
//! What it does not do: any one attempt's requests and writes, which are [`fetch`]'s.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use url::Url;

use super::builder::Config;
use super::event::EventSink;
use super::part::PartPaths;
use super::rate::RateLimit;
use super::retry::{self, Retry};
use super::schedule::Schedule;
use super::update::Validators;
use super::{
    fetch, CancelHandle, DownloadError, DownloaderBuilder, EventKind, Failure, Job, JobId, Summary,
};
use crate::{Client, Error, RequestBuilder, Response};

/// Downloads many files concurrently over one [`Client`]'s connection pool.
///
/// Build one with [`Downloader::builder`] (or [`Downloader::new`] for the defaults), then give
/// [`run`](Downloader::run) a list of [`Job`]s. Clones share the limits, the event sinks and the
/// cancel handle.
///
/// ```no_run
/// use courier::download::{Downloader, Job};
///
/// # async fn run() -> Result<(), courier::Error> {
/// let downloader = Downloader::builder(courier::Client::new()).concurrency(16).build();
/// let jobs = vec![
///     Job::new("https://example.com/a.iso", "downloads/a.iso")?,
///     Job::new("https://example.com/b.iso", "downloads/b.iso")?.expected_size(4_700_000_000),
/// ];
/// let summary = downloader.run(jobs).await;
/// println!("{summary}");
/// for failure in &summary.failures {
///     eprintln!("{}", failure.error);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Downloader {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    pub(super) client: Client,
    pub(super) config: Config,
    events: EventSink,
    jobs: Arc<Semaphore>,
    hosts: Mutex<HashMap<Arc<str>, Arc<Semaphore>>>,
    cancel: CancelHandle,
    rate_limit: Option<RateLimit>,
}

impl Downloader {
    /// A downloader with the default settings (see [`DownloaderBuilder`]).
    pub fn new(client: Client) -> Downloader {
        Downloader::builder(client).build()
    }

    /// A builder to configure limits, retries, segments, resume and progress.
    pub fn builder(client: Client) -> DownloaderBuilder {
        DownloaderBuilder::new(client)
    }

    pub(super) fn from_parts(client: Client, config: Config, events: EventSink) -> Downloader {
        Downloader {
            shared: Arc::new(Shared {
                client,
                jobs: Arc::new(Semaphore::new(config.concurrency)),
                rate_limit: config.rate_limit.map(RateLimit::new),
                config,
                events,
                hosts: Mutex::new(HashMap::new()),
                cancel: CancelHandle::new(),
            }),
        }
    }

    /// A handle that cancels this downloader's runs from anywhere.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.shared.cancel.clone()
    }

    /// Downloads every job and returns when all have finished or failed.
    ///
    /// Jobs start in order as the limits allow; a busy host does not hold up other hosts' jobs, and a
    /// retry whose delay has passed starts before jobs not yet tried. Each is streamed to
    /// `<path>.part`, checked against its expected size and SHA-256, and only then renamed to `<path>`
    /// (parent directories are created). Dropping the returned future stops every job at once,
    /// keeping `.part` files for resuming.
    ///
    /// Must be called within a tokio runtime: each running job's attempt runs on its own task. A job
    /// waiting for its turn or for a retry is a few hundred bytes of state, not a task, so a run of a
    /// million jobs holds tasks only for the jobs it is running: at most
    /// [`concurrency`](DownloaderBuilder::concurrency) transfers, and as many files being verified
    /// and renamed after theirs (a job gives its slots back when its transfer ends).
    pub async fn run<I>(&self, jobs: I) -> Summary
    where
        I: IntoIterator<Item = Job>,
    {
        let started = Instant::now();
        let stats = Arc::new(RunStats::default());
        let jobs: Vec<Job> = jobs.into_iter().collect();
        for (index, job) in jobs.iter().enumerate() {
            let kind = EventKind::Queued {
                url: job.url().clone(),
                path: job.path().to_owned(),
            };
            self.shared.events.emit(JobId(index), kind).await;
        }

        let config = &self.shared.config;
        // Up to `concurrency` attempts, and as many jobs again verifying and renaming their files
        // after their attempt gave its slots back.
        let mut schedule = Schedule::new(config.concurrency.saturating_mul(2));
        let mut summary = Summary::default();
        let mut reserved = HashSet::new();
        for (index, job) in jobs.into_iter().enumerate() {
            if let Some(taken) = reserve_paths(&mut reserved, job.path(), config.update) {
                // Two jobs writing one file would corrupt each other: the later one fails.
                let error = DownloadError::io(
                    job.url().clone(),
                    job.path().to_owned(),
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "an earlier job of this run already uses {} (as its destination, {})",
                            taken.display(),
                            if config.update {
                                "`.part`, `.part.meta` or `.validators`"
                            } else {
                                "`.part` or `.part.meta`"
                            }
                        ),
                    ),
                );
                self.failed(&mut summary, JobId(index), &job, error).await;
                continue;
            }
            schedule.push(host_key(job.url()), Pending::Fresh(JobId(index), job));
        }

        // Dropping the set aborts every task: that is how dropping this future cancels the run.
        let mut tasks = JoinSet::new();
        let mut slots = Slots::default();
        let cancel = self.shared.cancel.clone();
        let mut cancelled = false;
        loop {
            schedule.wake(tokio::time::Instant::now());
            while let Some((host, permits)) = self.take_slots(&mut schedule, &mut slots) {
                let Some(pending) = schedule.start(&host) else {
                    continue;
                };
                let mut ctx = match pending {
                    Pending::Fresh(id, job) => {
                        JobCtx::new(self.shared.clone(), stats.clone(), id, job)
                    }
                    Pending::Retry(ctx) => ctx,
                };
                tasks.spawn(async move {
                    let step = ctx.step(permits).await;
                    (host, ctx, step)
                });
            }
            if schedule.is_empty() {
                break;
            }
            let due = schedule.next_due();
            tokio::select! {
                biased;
                () = cancel.cancelled(), if !cancelled => {
                    cancelled = true;
                    slots = Slots::default();
                    for pending in schedule.drain() {
                        let (id, job) = match pending {
                            Pending::Fresh(id, job) => (id, job),
                            Pending::Retry(ctx) => (ctx.id, ctx.job),
                        };
                        let error = DownloadError::cancelled(job.url().clone(), job.path().to_owned());
                        self.failed(&mut summary, id, &job, error).await;
                    }
                }
                Some(joined) = tasks.join_next() => {
                    let (host, ctx, step) = match joined {
                        Ok(done) => done,
                        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                        // Only a panic ends a task early: the set aborts none while it lives.
                        Err(_) => continue,
                    };
                    schedule.stopped(&host);
                    match step {
                        Step::Ended(Ok(Outcome::Downloaded(_))) => summary.files += 1,
                        Step::Ended(Ok(Outcome::Unchanged(_))) => summary.unchanged += 1,
                        Step::Ended(Err(error)) => summary.failures.push(Failure {
                            job: ctx.id,
                            url: ctx.job.url().clone(),
                            path: ctx.job.path().to_owned(),
                            error,
                        }),
                        Step::RetryIn(_) if cancelled => {
                            let error = ctx.cancelled();
                            self.failed(&mut summary, ctx.id, &ctx.job, error).await;
                        }
                        Step::RetryIn(delay) => {
                            let at = tokio::time::Instant::now() + delay;
                            schedule.retry_at(host, at, Pending::Retry(ctx));
                        }
                    }
                }
                Some((host, permit)) = slots.hosts_waiting.next() => {
                    if let Some(permit) = permit {
                        slots.held.insert(host.clone(), permit);
                    }
                    schedule.unblock(&host);
                }
                permit = async { slots.run_waiting.as_mut()?.await.ok() }, if slots.run_waiting.is_some() => {
                    slots.run_waiting = None;
                    slots.run_held = permit;
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {}
                // Not reached: while jobs remain, one is running, delayed or waiting for a slot.
                else => break,
            }
        }
        summary.bytes = stats.received.load(Ordering::Relaxed);
        summary.max_buffered = stats.max_buffered.load(Ordering::Relaxed);
        summary.elapsed = started.elapsed();
        summary
    }

    /// The slots for the next job to start, and its host: the host's (with a per-host limit), then
    /// one of the downloader's. A host with none free is blocked in `schedule` until one frees up;
    /// `None` when no job may start now.
    fn take_slots(
        &self,
        schedule: &mut Schedule<Pending>,
        slots: &mut Slots,
    ) -> Option<(Arc<str>, Permits)> {
        loop {
            if slots.run_waiting.is_some() {
                return None;
            }
            let host = schedule.peek()?;
            let host_permit = match self.host_semaphore(&host) {
                None => None,
                Some(semaphore) => match slots
                    .held
                    .remove(&host)
                    .or_else(|| semaphore.clone().try_acquire_owned().ok())
                {
                    Some(permit) => Some(permit),
                    None => {
                        // In the semaphore's queue, in turn with segmented jobs' extra workers
                        // and other runs.
                        schedule.block(&host);
                        slots.hosts_waiting.push(Box::pin(async move {
                            (host, semaphore.acquire_owned().await.ok())
                        }));
                        continue;
                    }
                },
            };
            let run_slot = slots
                .run_held
                .take()
                .or_else(|| self.shared.jobs.clone().try_acquire_owned().ok());
            let Some(run_slot) = run_slot else {
                // Every job needs one of these: wait for it before anything else starts.
                if let Some(permit) = host_permit {
                    slots.held.insert(host, permit);
                }
                slots.run_waiting = Some(Box::pin(self.shared.jobs.clone().acquire_owned()));
                return None;
            };
            let permits = Permits {
                _host: host_permit,
                _run: run_slot,
            };
            return Some((host, permits));
        }
    }

    /// Reports a job that ends without a task of its own (a path conflict, a cancelled run).
    async fn failed(&self, summary: &mut Summary, id: JobId, job: &Job, error: DownloadError) {
        let kind = EventKind::Failed {
            error: error.clone(),
        };
        self.shared.events.emit(id, kind).await;
        summary.failures.push(Failure {
            job: id,
            url: job.url().clone(),
            path: job.path().to_owned(),
            error,
        });
    }

    /// The per-host limit's semaphore for `host`, shared by the clones of this downloader.
    fn host_semaphore(&self, host: &Arc<str>) -> Option<Arc<Semaphore>> {
        let limit = self.shared.config.per_host?;
        let mut hosts = self.shared.hosts.lock().unwrap_or_else(|e| e.into_inner());
        // A downloader that lives long meets hosts without end: a host no job holds a permit of, or
        // waits for, needs no place (held only here). Those go now and then, at every power of two
        // past 64 hosts (amortised: linear in all).
        let len = hosts.len();
        if len >= 64 && len.is_power_of_two() && !hosts.contains_key(host) {
            hosts.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        Some(
            hosts
                .entry(host.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone(),
        )
    }
}

/// The host a job's limit counts against: scheme, host and port.
fn host_key(url: &Url) -> Arc<str> {
    Arc::from(format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    ))
}

/// The slots a run is waiting for or holds before its next job starts.
#[derive(Default)]
struct Slots {
    /// Hosts with none of their slots free, each waiting in its semaphore's queue for one.
    hosts_waiting: FuturesUnordered<BoxFuture<'static, (Arc<str>, Option<OwnedSemaphorePermit>)>>,
    /// Host slots taken for a host's next job, until it starts.
    held: HashMap<Arc<str>, OwnedSemaphorePermit>,
    /// The wait for one of the downloader's slots, when none was free.
    run_waiting: Option<BoxFuture<'static, Result<OwnedSemaphorePermit, AcquireError>>>,
    /// A downloader slot taken for the next job, until it starts.
    run_held: Option<OwnedSemaphorePermit>,
}

/// The slots an attempt holds, given back when its transfer ends (before verifying and renaming).
struct Permits {
    _host: Option<OwnedSemaphorePermit>,
    _run: OwnedSemaphorePermit,
}

/// A job of a run that is not running: never started, or waiting to be tried again.
enum Pending {
    Fresh(JobId, Job),
    Retry(JobCtx),
}

impl fmt::Debug for Downloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downloader")
            .field("config", &self.shared.config)
            .field("cancelled", &self.shared.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Reserves the files a job writes (`path`, `path.part`, `path.part.meta`, and with `update`
/// `path.validators`) in `reserved`, or returns the first of them an earlier job already holds
/// (reserving nothing then): a job saving to `x.part` would otherwise write into the `.part` of the
/// job saving to `x`.
///
/// Paths are compared as given, component by component: two spellings of one file (`a/../b` and `b`,
/// a symbolic link, or a different case on a case-insensitive file system such as the defaults of
/// macOS and Windows) are not recognised as the same.
fn reserve_paths(reserved: &mut HashSet<PathBuf>, path: &Path, update: bool) -> Option<PathBuf> {
    let paths = PartPaths::new(path);
    let mut all = vec![path.to_owned(), paths.part, paths.meta];
    if update {
        all.push(Validators::path(path));
    }
    if let Some(taken) = all.iter().find(|p| reserved.contains(*p)) {
        return Some(taken.clone());
    }
    reserved.extend(all);
    None
}

/// Counters of one run.
#[derive(Default)]
pub(super) struct RunStats {
    received: AtomicU64,
    buffered: AtomicUsize,
    max_buffered: AtomicUsize,
}

/// Body bytes held in memory; released on drop.
pub(super) struct Held<'a> {
    stats: &'a RunStats,
    bytes: usize,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.stats.buffered.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// What an attempt failed with, and whether retrying may help.
#[derive(Debug)]
pub(super) struct AttemptError {
    pub(super) error: DownloadError,
    pub(super) retry: Retry,
}

/// One job of a run, and everything its attempts need.
pub(super) struct JobCtx {
    pub(super) shared: Arc<Shared>,
    stats: Arc<RunStats>,
    pub(super) id: JobId,
    pub(super) job: Job,
    pub(super) paths: PartPaths,
    pub(super) host: Option<Arc<Semaphore>>,
    downloaded: AtomicU64,
    /// With `update`: the server said the file in place is current.
    unchanged: AtomicBool,
    /// With `update`: the validators of the response the `.part` came from, saved beside the file.
    validators: Mutex<Option<Validators>>,
    /// The server answered a range inconsistently: later attempts fetch the file as one stream.
    ranges_distrusted: AtomicBool,
    /// Attempts retried so far.
    retries: u32,
}

/// What one attempt of a job led to.
enum Step {
    /// The job is over: downloaded, unchanged, or failed for good.
    Ended(Result<Outcome, DownloadError>),
    /// The attempt failed in a way a retry may cure: try again after this long.
    RetryIn(Duration),
}

/// How a job ended well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Downloaded, verified and put in place: its size.
    Downloaded(u64),
    /// Left in place, unchanged on the server: its size.
    Unchanged(u64),
}

impl JobCtx {
    fn new(shared: Arc<Shared>, stats: Arc<RunStats>, id: JobId, job: Job) -> JobCtx {
        let host = Downloader {
            shared: shared.clone(),
        }
        .host_semaphore(&host_key(job.url()));
        JobCtx {
            shared,
            stats,
            id,
            paths: PartPaths::new(job.path()),
            job,
            host,
            downloaded: AtomicU64::new(0),
            unchanged: AtomicBool::new(false),
            validators: Mutex::new(None),
            ranges_distrusted: AtomicBool::new(false),
            retries: 0,
        }
    }

    /// Runs one attempt of the job. Ends the job (verified and in place, or failed; its event sent)
    /// or says how long to wait before the next attempt.
    async fn step(&mut self, permits: Permits) -> Step {
        let cancel = self.shared.cancel.clone();
        let attempted = tokio::select! {
            biased;
            () = cancel.cancelled() => Err(self.fail(self.cancelled(), Retry::Never)),
            result = self.attempt_and_verify(permits) => result,
        };
        let result = match attempted {
            // Not cancellable: the rename and the sidecar's removal go together.
            Ok(Outcome::Downloaded(bytes)) => self
                .put_in_place()
                .await
                .map(|()| Outcome::Downloaded(bytes)),
            Ok(outcome) => Ok(outcome),
            Err(AttemptError { error, retry }) => match self.retry_delay(retry) {
                Some(delay) => {
                    self.retries += 1;
                    tracing::debug!(url = %self.job.url(), attempt = self.retries, ?delay, %error, "retrying download");
                    self.emit(EventKind::Retried {
                        attempt: self.retries,
                        error,
                        delay,
                    })
                    .await;
                    return Step::RetryIn(delay);
                }
                None => Err(error),
            },
        };
        let kind = match &result {
            Ok(Outcome::Downloaded(bytes)) => EventKind::Finished { bytes: *bytes },
            Ok(Outcome::Unchanged(bytes)) => EventKind::Unchanged { bytes: *bytes },
            Err(error) => EventKind::Failed {
                error: error.clone(),
            },
        };
        self.emit(kind).await;
        Step::Ended(result)
    }

    /// One attempt: fetches the `.part` and checks it, or finds the file in place unchanged.
    async fn attempt_and_verify(&self, permits: Permits) -> Result<Outcome, AttemptError> {
        if let Some(parent) = self.job.path().parent() {
            if !parent.as_os_str().is_empty() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| self.fail_io(e))?;
            }
        }
        // A retry continues this run's own `.part` even when resuming earlier runs' is off.
        let allow_resume = self.shared.config.resume || self.retries > 0;
        fetch::attempt(self, allow_resume).await?;
        // The transfer is over: the next job may start while this one is checked and renamed.
        drop(permits);
        if self.unchanged.load(Ordering::Relaxed) {
            let len = tokio::fs::metadata(self.job.path())
                .await
                .map_err(|e| self.fail_io(e))?
                .len();
            return Ok(Outcome::Unchanged(len));
        }
        self.verify()
            .await
            .map(Outcome::Downloaded)
            .map_err(|error| self.fail(error, Retry::Never))
    }

    /// How long to wait before trying again after a failure that allows `retry`, or `None` to give up.
    fn retry_delay(&self, retry: Retry) -> Option<Duration> {
        let config = &self.shared.config;
        let delay = match retry {
            Retry::Never => None,
            _ if self.retries >= config.retries => None,
            Retry::Backoff => Some(courier_core::retry::backoff(
                config.backoff_initial,
                config.backoff_max,
                self.retries,
            )),
            // Waiting longer than the configured maximum would stall the run: give up instead.
            Retry::After(delay) if delay > config.max_retry_after.unwrap_or(config.backoff_max) => {
                None
            }
            Retry::After(delay) => Some(delay),
        };
        // A wait no clock can reach (`Retry-After: 99999999999999999999` under an unbounded
        // maximum) is given up on too, not added to an instant that would overflow.
        delay.filter(|&delay| tokio::time::Instant::now().checked_add(delay).is_some())
    }

    /// Checks the complete `.part` against the job's expected size and digest. A file that fails is
    /// removed: resuming it would only repeat the mismatch.
    async fn verify(&self) -> Result<u64, DownloadError> {
        let len = self.paths.part_len().await.map_err(|e| self.io_error(e))?;
        let mismatch = if let Some(expected) = self.job.get_expected_size().filter(|&e| e != len) {
            Some(self.size_mismatch(expected, len))
        } else if let Some(expected) = self.job.get_sha256() {
            let actual = sha256_file(&self.paths.part)
                .await
                .map_err(|e| self.io_error(e))?;
            (&actual != expected).then(|| {
                DownloadError::checksum_mismatch(
                    self.job.url().clone(),
                    self.job.path().to_owned(),
                    super::job::to_hex(expected),
                    super::job::to_hex(&actual),
                )
            })
        } else {
            None
        };
        match mismatch {
            Some(err) => {
                let _ = self.paths.discard().await;
                Err(err)
            }
            None => Ok(len),
        }
    }

    async fn put_in_place(&self) -> Result<(), DownloadError> {
        // The final name says the file is complete: its bytes reach the disk before the rename can,
        // so a power loss leaves either the `.part` (resumed or finished on a later run) or the
        // whole file, never a renamed file with a hole.
        let part = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&self.paths.part)
            .await
            .map_err(|e| self.io_error(e))?;
        part.sync_data().await.map_err(|e| self.io_error(e))?;
        drop(part);
        tokio::fs::rename(&self.paths.part, self.job.path())
            .await
            .map_err(|e| self.io_error(e))?;
        let _ = self.paths.remove_meta().await;
        if self.shared.config.update {
            // Best effort: without it, the next update compares by modification time.
            let validators = self.lock_validators().take();
            let _ = Validators::save(self.job.path(), validators.as_ref()).await;
        }
        Ok(())
    }

    fn lock_validators(&self) -> std::sync::MutexGuard<'_, Option<Validators>> {
        self.validators.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the validators of the response the `.part` comes from, for `update`.
    pub(super) fn remember_validators(&self, validators: Option<Validators>) {
        if self.shared.config.update {
            *self.lock_validators() = validators;
        }
    }

    /// With `update`: the conditional headers for the file in place, if there is one.
    pub(super) async fn conditional_headers(&self) -> Option<Vec<(http::HeaderName, String)>> {
        if !self.shared.config.update {
            return None;
        }
        super::update::conditional(self.job.path(), self.job.url()).await
    }

    /// The server answered `304` to a conditional request: the file in place stays.
    pub(super) fn mark_unchanged(&self) {
        self.unchanged.store(true, Ordering::Relaxed);
    }

    /// A range answer did not fit its request: segmenting this file again would meet the same
    /// answers, so later attempts take it as one stream.
    pub(super) fn distrust_ranges(&self) {
        self.ranges_distrusted.store(true, Ordering::Relaxed);
    }

    pub(super) fn ranges_distrusted(&self) -> bool {
        self.ranges_distrusted.load(Ordering::Relaxed)
    }

    // ---- helpers for the attempts ----

    /// A `GET` of the job's file, with the credentials its URL carried, asking for the bytes as they
    /// are stored (as curl, wget and aria2 do) and saving them as sent: nothing is decoded, so a file
    /// sent as stored can be resumed and segmented by range, a `.tar.gz` served with
    /// `Content-Encoding: gzip` stays one, and no decompression limit applies to a large, very
    /// compressible file.
    pub(super) fn get(&self) -> RequestBuilder {
        let request = self
            .shared
            .client
            .get(self.job.url().clone())
            .header(http::header::ACCEPT_ENCODING, "identity")
            .keep_encoded();
        match self.job.authorization() {
            Some(authorization) => request.header(http::header::AUTHORIZATION, authorization),
            None => request,
        }
    }

    /// Sends a request of this job; a failure is retried when transient.
    pub(super) async fn send(&self, request: RequestBuilder) -> Result<Response, AttemptError> {
        request.send().await.map_err(|err| self.fail_http(err))
    }

    /// The server answered with an error status: retried as the status allows (`Retry-After`).
    pub(super) fn status_error(&self, response: &Response) -> AttemptError {
        let status = response.status();
        let error = self.http_error(Error::from_status(status, Some(response.url().clone())));
        self.fail(error, retry::for_status(status, response.headers()))
    }

    pub(super) async fn emit(&self, kind: EventKind) {
        self.shared.events.emit(self.id, kind).await;
    }

    /// Reports that an attempt's transfer starts, with `offset` bytes already on disk: a `Started`
    /// event, then the bytes so far as `Progress`.
    pub(super) async fn started(&self, total: Option<u64>, offset: u64, segments: usize) {
        self.emit(EventKind::Started {
            total,
            offset,
            segments,
        })
        .await;
        self.downloaded.store(offset, Ordering::Relaxed);
        self.emit(EventKind::Progress { downloaded: offset }).await;
    }

    /// Counts `bytes` more on disk and reports the new total; under a
    /// [`limit_rate`](super::DownloaderBuilder::limit_rate), then waits until the run's bandwidth has
    /// paid for them, so the next chunk is read no sooner.
    pub(super) async fn add_downloaded(&self, bytes: u64) {
        let downloaded = self.downloaded.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.emit(EventKind::Progress { downloaded }).await;
        if let Some(limit) = &self.shared.rate_limit {
            limit.take(bytes).await;
        }
    }

    /// Accounts a chunk just received: counted in the run's bytes, and held until the guard drops.
    pub(super) fn hold(&self, bytes: usize) -> Held<'_> {
        let stats = &*self.stats;
        stats.received.fetch_add(bytes as u64, Ordering::Relaxed);
        let now = stats.buffered.fetch_add(bytes, Ordering::Relaxed) + bytes;
        stats.max_buffered.fetch_max(now, Ordering::Relaxed);
        Held { stats, bytes }
    }

    pub(super) fn cancelled(&self) -> DownloadError {
        DownloadError::cancelled(self.job.url().clone(), self.job.path().to_owned())
    }

    pub(super) fn io_error(&self, err: std::io::Error) -> DownloadError {
        DownloadError::io(self.job.url().clone(), self.job.path().to_owned(), err)
    }

    pub(super) fn http_error(&self, err: Error) -> DownloadError {
        DownloadError::http(self.job.url().clone(), self.job.path().to_owned(), err)
    }

    pub(super) fn size_mismatch(&self, expected: u64, actual: u64) -> DownloadError {
        DownloadError::size_mismatch(
            self.job.url().clone(),
            self.job.path().to_owned(),
            expected,
            actual,
        )
    }

    pub(super) fn invalid_response(&self, reason: impl Into<String>) -> DownloadError {
        DownloadError::invalid_response(self.job.url().clone(), self.job.path().to_owned(), reason)
    }

    /// A file-system failure: not retried.
    pub(super) fn fail_io(&self, err: std::io::Error) -> AttemptError {
        AttemptError {
            error: self.io_error(err),
            retry: Retry::Never,
        }
    }

    /// A request or body failure, retried when transient.
    pub(super) fn fail_http(&self, err: Error) -> AttemptError {
        AttemptError {
            retry: retry::for_error(&err),
            error: self.http_error(err),
        }
    }

    pub(super) fn fail(&self, error: DownloadError, retry: Retry) -> AttemptError {
        AttemptError { error, retry }
    }
}

/// The SHA-256 of a file, read in 64 KiB blocks on the blocking pool.
///
/// Dropping the future (a cancelled job, a dropped run) stops the reading at the next block: a
/// blocking task cannot be aborted, and one hashing a large file would otherwise go on for minutes
/// and hold up the runtime's shutdown, hence the process's exit.
async fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    use sha2::Digest;
    use std::io::Read;

    /// Tells the blocking task to give up once the future waiting for it is gone.
    struct Abandon(Arc<AtomicBool>);

    impl Drop for Abandon {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    let abandoned = Arc::new(AtomicBool::new(false));
    let _abandon = Abandon(abandoned.clone());
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if abandoned.load(Ordering::Relaxed) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "SHA-256 abandoned",
                ));
            }
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finalize().into())
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts whose jobs are all done do not keep a place each for the downloader's life.
    #[test]
    fn idle_hosts_are_forgotten() {
        let downloader = Downloader::builder(Client::new()).per_host(2).build();
        let held = downloader.host_semaphore(&Arc::from("http://held.test:80"));
        for i in 0..10_000 {
            let host: Arc<str> = Arc::from(format!("http://h{i}.test:80"));
            drop(downloader.host_semaphore(&host));
        }
        let hosts = downloader.shared.hosts.lock().unwrap();
        assert!(hosts.len() <= 128, "{} hosts kept", hosts.len());
        // One still in use keeps its place (and its permits' count).
        assert!(hosts.contains_key("http://held.test:80"));
        drop(hosts);
        drop(held);
    }
}
