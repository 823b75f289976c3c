//! Segmented download: one file fetched as N byte ranges over N connections at once, written at their
//! offsets into one `.part` file, each segment's progress kept in the sidecar for resuming.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures_util::stream::{FuturesUnordered, StreamExt};
use http::header::CONTENT_RANGE;
use http::StatusCode;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit};

use super::downloader::{AttemptError, JobCtx};
use super::fetch;
use super::part::{split, ContentRange, Meta};
use super::retry::Retry;
use super::EventKind;
use crate::{Error, Response};

/// How often (in bytes per segment) progress is flushed and saved to the sidecar. Bytes past the last
/// save are fetched again after a crash or a cancellation: harmless, since they are the same bytes.
const SAVE_EVERY: u64 = 4 * 1024 * 1024;

/// True when the sidecar's segments tile `[0, total)` and the `.part` has the full length.
pub(super) fn is_consistent(meta: &Meta, part_len: u64) -> bool {
    let Some(total) = meta.total else {
        return false;
    };
    let mut next = 0;
    for segment in &meta.segments {
        if segment.start != next || segment.end < segment.start || segment.done > segment.len() {
            return false;
        }
        next = segment.end;
    }
    next == total && part_len == total
}

/// Starts a segmented download from `probe`, the `200` to a plain `GET`, which serves the first
/// segment; the others are fetched with range requests.
pub(super) async fn start(
    ctx: &JobCtx,
    probe: Response,
    mut meta: Meta,
    count: u64,
) -> Result<(), AttemptError> {
    let total = meta.total.unwrap_or(0);
    meta.segments = split(total, count);
    let file = File::create(&ctx.paths.part)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    // Sized up front so every segment can write at its offset (sparse where the file system allows).
    file.set_len(total).await.map_err(|e| ctx.fail_io(e))?;
    drop(file);
    ctx.paths
        .save_meta(&meta)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    run(ctx, meta, Some(probe)).await
}

/// Continues the segments a sidecar says are incomplete.
pub(super) async fn resume(ctx: &JobCtx, meta: Meta) -> Result<(), AttemptError> {
    run(ctx, meta, None).await
}

/// The segments of one attempt, shared by its workers.
struct State {
    meta: Mutex<Meta>,
    pending: Mutex<VecDeque<usize>>,
    probe: Mutex<Option<Response>>,
    /// Set when the attempt is decided (a restart, the whole file, an error not worth retrying): the
    /// workers take no more segments and leave the requests and bodies they are waiting for.
    stop: watch::Sender<bool>,
    error: Mutex<Option<AttemptError>>,
    /// A `200` to a range request: the whole file, to be taken as a single stream.
    whole: Mutex<Option<Response>>,
    /// A `206` for the wrong range: the `.part` is dropped and the retry starts over.
    invalid: Mutex<Option<String>>,
    save: tokio::sync::Mutex<()>,
}

impl State {
    fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Completes once the attempt is stopped.
    async fn until_stopped(&self) {
        let mut stop = self.stop.subscribe();
        // Fails only if the sender is gone, and `self` holds it.
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

enum SegmentFailure {
    Error(AttemptError),
    Whole(Box<Response>),
    Invalid(String),
}

impl From<AttemptError> for SegmentFailure {
    fn from(err: AttemptError) -> Self {
        SegmentFailure::Error(err)
    }
}

async fn run(ctx: &JobCtx, meta: Meta, probe: Option<Response>) -> Result<(), AttemptError> {
    let total = meta.total.unwrap_or(0);
    let done = meta.segments_done();
    let pending: VecDeque<usize> = (0..meta.segments.len())
        .filter(|&i| meta.segments[i].remaining() > 0)
        .collect();
    ctx.emit(EventKind::Started {
        total: Some(total),
        offset: done,
        segments: meta.segments.len(),
    })
    .await;
    ctx.set_downloaded(done).await;

    let state = State {
        meta: Mutex::new(meta),
        pending: Mutex::new(pending),
        probe: Mutex::new(probe),
        stop: watch::Sender::new(false),
        error: Mutex::new(None),
        whole: Mutex::new(None),
        invalid: Mutex::new(None),
        save: tokio::sync::Mutex::new(()),
    };
    run_workers(ctx, &state).await;

    let whole = lock(&state.whole).take();
    if let Some(response) = whole {
        // The file changed (If-Range did not match) or the server stopped honouring ranges.
        let meta = Meta::from_response(ctx.job.url(), response.headers());
        fetch::check_total(ctx, response.content_length())?;
        return fetch::stream_whole(ctx, response, meta).await;
    }
    let invalid = lock(&state.invalid).take();
    if let Some(reason) = invalid {
        return Err(fetch::restart(ctx, reason).await);
    }
    let meta = lock(&state.meta).clone();
    ctx.paths
        .save_meta(&meta)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    let error = lock(&state.error).take();
    if let Some(err) = error {
        return Err(err);
    }
    if meta.segments.iter().any(|s| s.remaining() > 0) {
        let missing = total - meta.segments_done();
        let err = Error::body(format!(
            "{missing} of {total} bytes missing after all segments"
        ));
        return Err(ctx.fail_http(err.with_url(ctx.job.url().clone())));
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the first worker on the attempt's own connection slot, and one more per slot of the host
/// that frees up (in turn with other jobs waiting for the host) while segments are waiting: a
/// segmented job never blocks on slots it does not have, and uses those others give back.
async fn run_workers(ctx: &JobCtx, state: &State) {
    // More workers than segments would have nothing to do.
    let most = lock(&state.pending).len();
    let mut workers = FuturesUnordered::new();
    workers.push(worker(ctx, state, None));
    loop {
        let waiting = !lock(&state.pending).is_empty() && !state.stopped();
        let recruit = async {
            match &ctx.host {
                Some(host) => host.clone().acquire_owned().await.ok(),
                None => None,
            }
        };
        tokio::select! {
            finished = workers.next() => {
                if finished.is_none() {
                    return;
                }
            }
            permit = recruit, if waiting && workers.len() < most => {
                workers.push(worker(ctx, state, permit));
            }
        }
    }
}

/// Takes segments off the queue until it is empty, a segment fails, or the attempt stops. `_slot`
/// is the host connection slot it uses, released when it ends.
async fn worker(ctx: &JobCtx, state: &State, _slot: Option<OwnedSemaphorePermit>) {
    loop {
        if state.stopped() {
            return;
        }
        let Some(index) = lock(&state.pending).pop_front() else {
            return;
        };
        let failure = match fetch_segment(ctx, state, index).await {
            Ok(()) => continue,
            Err(failure) => failure,
        };
        match failure {
            SegmentFailure::Error(err) => {
                // Transient failures leave the other segments running; the retry resumes this one.
                if err.retry == Retry::Never {
                    state.stop();
                }
                lock(&state.error).get_or_insert(err);
            }
            SegmentFailure::Whole(response) => {
                state.stop();
                lock(&state.whole).get_or_insert(*response);
            }
            SegmentFailure::Invalid(reason) => {
                state.stop();
                lock(&state.invalid).get_or_insert(reason);
            }
        }
        return;
    }
}

async fn fetch_segment(ctx: &JobCtx, state: &State, index: usize) -> Result<(), SegmentFailure> {
    let (segment, meta) = {
        let meta = lock(&state.meta);
        (meta.segments[index], meta.clone())
    };
    let (from, end) = (segment.next(), segment.end);
    let probe = match (index, segment.done) {
        (0, 0) => lock(&state.probe).take(),
        _ => None,
    };
    let mut response = match probe {
        // The probe is a `200` for the whole file: its first bytes are this segment.
        Some(response) => response,
        None => {
            let range = format!("bytes={from}-{}", end - 1);
            // A stalled server must not hold up a decision another segment made.
            let response = tokio::select! {
                biased;
                () = state.until_stopped() => return Ok(()),
                response = fetch::send(ctx, fetch::ranged(ctx, &meta, &range)) => response?,
            };
            match response.status() {
                StatusCode::PARTIAL_CONTENT => {
                    let announced = ContentRange::from_headers(response.headers());
                    let matches = announced.is_some_and(|cr| {
                        cr.range == Some((from, end - 1))
                            && cr.total.is_none_or(|t| Some(t) == meta.total)
                    });
                    if !matches {
                        let got = response
                            .headers()
                            .get(CONTENT_RANGE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("none");
                        return Err(SegmentFailure::Invalid(format!(
                            "asked for {range}, got Content-Range: {got}"
                        )));
                    }
                    response
                }
                status if status.is_success() => {
                    return Err(SegmentFailure::Whole(Box::new(response)))
                }
                _ => return Err(fetch::status_error(ctx, &response).into()),
            }
        }
    };

    let mut file = OpenOptions::new()
        .write(true)
        .open(&ctx.paths.part)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    file.seek(std::io::SeekFrom::Start(from))
        .await
        .map_err(|e| ctx.fail_io(e))?;
    let mut position = from;
    let mut saved = from;
    let outcome = loop {
        if position == end || state.stopped() {
            break Ok(());
        }
        let chunk = tokio::select! {
            biased;
            // What is on disk so far is saved below; the rest of the body is not waited for.
            () = state.until_stopped() => break Ok(()),
            chunk = response.chunk() => chunk,
        };
        let chunk = match chunk {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                let err = Error::body(format!(
                    "segment body ended at byte {position} of {from}..{end}"
                ));
                break Err(ctx.fail_http(err.with_url(ctx.job.url().clone())));
            }
            Err(err) => break Err(ctx.fail_http(err)),
        };
        let _held = ctx.hold(chunk.len());
        // The probe carries the whole file: keep only this segment's share.
        let take = (chunk.len() as u64).min(end - position) as usize;
        if let Err(err) = fetch::write_chunk(&mut file, &chunk[..take]).await {
            break Err(ctx.fail_io(err));
        }
        position += take as u64;
        ctx.add_downloaded(take as u64).await;
        if position - saved >= SAVE_EVERY {
            if let Err(err) = save_progress(ctx, state, &mut file, index, position).await {
                break Err(err);
            }
            saved = position;
        }
    };
    // Only what is flushed counts as done.
    let saved = save_progress(ctx, state, &mut file, index, position).await;
    outcome.and(saved).map_err(SegmentFailure::Error)
}

/// Flushes the segment's file and syncs it to disk, then records `position` as its progress in the
/// sidecar.
async fn save_progress(
    ctx: &JobCtx,
    state: &State,
    file: &mut File,
    index: usize,
    position: u64,
) -> Result<(), AttemptError> {
    file.flush().await.map_err(|e| ctx.fail_io(e))?;
    // The sidecar's `done` is trusted on resume: it must never count bytes that are only in the page
    // cache, or a power loss would leave a hole (zeros, in a file sized up front) that a resume skips.
    // Once per `SAVE_EVERY` bytes and segment end, the sync costs little.
    file.sync_data().await.map_err(|e| ctx.fail_io(e))?;
    // Serialized so an older snapshot never overwrites a newer one.
    let _saving = state.save.lock().await;
    let meta = {
        let mut meta = lock(&state.meta);
        let segment = &mut meta.segments[index];
        segment.done = position - segment.start;
        meta.clone()
    };
    ctx.paths.save_meta(&meta).await.map_err(|e| ctx.fail_io(e))
}
