//! Segment workers: one file fetched as N byte ranges over N connections at once, written at their
//! offsets into one `.part`, each segment's progress kept in the sidecar for resuming.
//!
//! [`start`] sizes the `.part` and splits the file; [`run`] (also for a sidecar's unfinished
//! segments) hands the segments to workers, one per host connection slot it gets, and ends when
//! every segment is done or a [`Decision`] stops them. A worker fetches its segment with one range
//! request, checked by [`range::check`], or, for the first segment of a fresh file, reads it from the
//! `200` that asked whether the file can be segmented (the probe).
//!
//! The workers share a queue, the probe and the one decision of the attempt under one lock, and the
//! sidecar under another, held while it is written so that an older snapshot never overwrites a
//! newer one. A decision about the whole file ([`WholeFile`](Decision::WholeFile),
//! [`Restart`](Decision::Restart)) outranks a segment's failure; otherwise the first decision stays.
//! A failure a retry may cure leaves the other segments running (the retry resumes the failed one);
//! any other decision stops them at once, without waiting for their requests or bodies.
//!
//! What it does not do: choose to segment, or act on the decision ([`fetch`](super::fetch)).

use std::collections::VecDeque;
use std::sync::Mutex;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::fs::File;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, OwnedSemaphorePermit};

use super::downloader::{AttemptError, JobCtx};
use super::fetch::Decision;
use super::part::{split, write_chunk, Meta, Segment};
use super::range::{self, ByteRange};
use super::retry::Retry;
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
) -> Result<(), Decision> {
    let total = meta.total.unwrap_or(0);
    meta.segments = split(total, count);
    let file = ctx.paths.create().await.map_err(|e| ctx.fail_io(e))?;
    // Sized up front so every segment can write at its offset (sparse where the file system allows).
    file.set_len(total).await.map_err(|e| ctx.fail_io(e))?;
    drop(file);
    ctx.paths
        .save_meta(&meta)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    run(ctx, meta, Some(probe)).await
}

/// Fetches the segments `meta` says are incomplete (with `probe`, the first one from it), and
/// returns the workers' decision, if any, once none of them runs.
pub(super) async fn run(ctx: &JobCtx, meta: Meta, probe: Option<Response>) -> Result<(), Decision> {
    let total = meta.total.unwrap_or(0);
    ctx.started(Some(total), meta.segments_done(), meta.segments.len())
        .await;
    let workers = Workers::new(meta, probe);
    workers.run(ctx).await;

    let decision = workers
        .queue
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .decision;
    if let Some(decision @ (Decision::WholeFile(_) | Decision::Restart(_))) = decision {
        // The `.part` is about to be replaced or dropped: its progress is not worth saving.
        return Err(decision);
    }
    let meta = workers.sidecar.into_inner();
    ctx.paths
        .save_meta(&meta)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    if let Some(decision) = decision {
        return Err(decision);
    }
    if meta.segments.iter().any(|s| s.remaining() > 0) {
        let missing = total - meta.segments_done();
        let err = Error::body(format!(
            "{missing} of {total} bytes missing after all segments"
        ));
        return Err(ctx.fail_http(err.with_url(ctx.job.url().clone())).into());
    }
    Ok(())
}

/// The workers of one attempt and what they share.
struct Workers {
    /// Which segments are left, and what the workers decided.
    queue: Mutex<Queue>,
    /// The sidecar's contents, held while it is written.
    sidecar: tokio::sync::Mutex<Meta>,
    /// Raised with a decision that stops the attempt, for the workers waiting on a request or a body.
    stop: watch::Sender<bool>,
    total: u64,
    validator: Option<String>,
}

struct Queue {
    /// The segments no worker has taken yet, in order, with their indexes in the sidecar.
    pending: VecDeque<(usize, Segment)>,
    /// The `200` that serves the first segment of a fresh file.
    probe: Option<Response>,
    /// The attempt's one decision, as [`Workers::decide`] ranks them.
    decision: Option<Decision>,
}

/// One segment for a worker: the bytes left of it, and the probe when it is the first segment.
struct Task {
    index: usize,
    segment: Segment,
    probe: Option<Response>,
}

impl Workers {
    fn new(meta: Meta, probe: Option<Response>) -> Workers {
        let pending = meta
            .segments
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, segment)| segment.remaining() > 0)
            .collect();
        Workers {
            queue: Mutex::new(Queue {
                pending,
                probe,
                decision: None,
            }),
            total: meta.total.unwrap_or(0),
            validator: meta.validator().map(str::to_owned),
            sidecar: tokio::sync::Mutex::new(meta),
            stop: watch::Sender::new(false),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the first worker on the attempt's own connection slot, and one more per slot of the
    /// host that frees up (in turn with other jobs waiting for the host) while segments are
    /// waiting: a segmented job never blocks on slots it does not have, and uses those others give
    /// back.
    async fn run(&self, ctx: &JobCtx) {
        // More workers than segments would have nothing to do.
        let most = self.queue().pending.len();
        let mut workers = FuturesUnordered::new();
        workers.push(self.worker(ctx, None));
        loop {
            let waiting = !self.stopped() && !self.queue().pending.is_empty();
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
                    workers.push(self.worker(ctx, permit));
                }
            }
        }
    }

    /// Takes segments until none is left or the attempt stops; a segment that decides something
    /// ends the worker. `_slot` is the host connection slot it uses, released when it ends.
    async fn worker(&self, ctx: &JobCtx, _slot: Option<OwnedSemaphorePermit>) {
        while let Some(task) = self.next_task() {
            if let Err(decision) = self.fetch(ctx, task).await {
                self.decide(decision);
                return;
            }
        }
    }

    fn next_task(&self) -> Option<Task> {
        if self.stopped() {
            return None;
        }
        let mut queue = self.queue();
        let (index, segment) = queue.pending.pop_front()?;
        let probe = if index == 0 { queue.probe.take() } else { None };
        Some(Task {
            index,
            segment,
            probe,
        })
    }

    /// Keeps `decision` unless one that outranks it is kept already, and stops the other workers
    /// unless it is a failure a retry may cure.
    fn decide(&self, decision: Decision) {
        let stops = !matches!(&decision, Decision::Fail(err) if err.retry != Retry::Never);
        {
            let mut queue = self.queue();
            let replaces = match &queue.decision {
                None => true,
                // What happens to the whole file makes a segment's failure moot; a failure no retry
                // cures (a 404, a full disk) outranks one a retry might (another segment's 503).
                Some(Decision::Fail(kept)) => match &decision {
                    Decision::WholeFile(_) | Decision::Restart(_) => true,
                    Decision::Fail(new) => kept.retry != Retry::Never && new.retry == Retry::Never,
                    _ => false,
                },
                Some(_) => false,
            };
            if replaces {
                queue.decision = Some(decision);
            }
        }
        if stops {
            self.stop.send_replace(true);
        }
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

    /// Fetches the rest of one segment into the `.part`, saving its progress as it goes.
    async fn fetch(&self, ctx: &JobCtx, task: Task) -> Result<(), Decision> {
        let Task {
            index,
            segment,
            probe,
        } = task;
        let (from, end) = (segment.next(), segment.end);
        let mut response = match probe {
            // The probe is a `200` for the whole file: its first bytes are this segment.
            Some(response) => response,
            None => {
                let asked = ByteRange {
                    first: from,
                    end: Some(end),
                };
                let request = range::request(ctx, asked, self.validator.as_deref());
                // A stalled server must not hold up a decision another segment made.
                let response = tokio::select! {
                    biased;
                    () = self.until_stopped() => return Ok(()),
                    response = ctx.send(request) => response?,
                };
                range::check(
                    ctx,
                    response,
                    asked,
                    Some(self.total),
                    self.validator.as_deref(),
                )?
                .0
            }
        };

        let mut file = ctx.paths.open_at(from).await.map_err(|e| ctx.fail_io(e))?;
        let mut position = from;
        let mut saved = from;
        let outcome = loop {
            if position == end || self.stopped() {
                break Ok(());
            }
            let chunk = tokio::select! {
                biased;
                // What is on disk so far is saved below; the rest of the body is not waited for.
                () = self.until_stopped() => break Ok(()),
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
            if let Err(err) = write_chunk(&mut file, &chunk[..take]).await {
                break Err(ctx.fail_io(err));
            }
            position += take as u64;
            // Under a rate limit this waits for the run's bandwidth: a stop must not sit it out.
            // Counted on the first poll (so a stop never undercounts bytes already written), then the
            // wait for the run's bandwidth under a rate limit, which a stop must not sit out.
            tokio::select! {
                biased;
                () = ctx.add_downloaded(take as u64) => {}
                () = self.until_stopped() => break Ok(()),
            }
            if position - saved >= SAVE_EVERY {
                if let Err(err) = self.save_progress(ctx, &mut file, index, position).await {
                    break Err(err);
                }
                saved = position;
            }
        };
        // Only what is flushed counts as done.
        let saved = self.save_progress(ctx, &mut file, index, position).await;
        Ok(outcome.and(saved)?)
    }

    /// Flushes the segment's file and syncs it to disk, then records `position` as its progress in
    /// the sidecar.
    async fn save_progress(
        &self,
        ctx: &JobCtx,
        file: &mut File,
        index: usize,
        position: u64,
    ) -> Result<(), AttemptError> {
        file.flush().await.map_err(|e| ctx.fail_io(e))?;
        // The sidecar's `done` is trusted on resume: it must never count bytes that are only in the
        // page cache, or a power loss would leave a hole (zeros, in a file sized up front) that a
        // resume skips. Once per `SAVE_EVERY` bytes and segment end, the sync costs little.
        file.sync_data().await.map_err(|e| ctx.fail_io(e))?;
        let mut meta = self.sidecar.lock().await;
        let segment = &mut meta.segments[index];
        segment.done = position - segment.start;
        ctx.paths.save_meta(&meta).await.map_err(|e| ctx.fail_io(e))
    }
}
