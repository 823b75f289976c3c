//! [`TimeoutBody`]: a response body under the total timeout, the read timeout and the minimum speed.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Buf;
use http::Uri;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::{Deadlines, UploadDone};
use crate::error::{BoxError, Error};

pin_project_lite::pin_project! {
    /// The response body of [`Timeout`](super::Timeout): the inner body, ended with a timeout error
    /// when a deadline passes while it waits for the next bytes.
    ///
    /// The time between handing a chunk over and being asked for the next one is the reader's own
    /// (writing to a file, say), as is the time before the first is asked for, and counts against
    /// neither the read timeout nor the speed window; the total timeout counts it, as it counts
    /// everything until the body ends. So does the time a streaming request body is still being sent
    /// (a server answering as it reads, an echo, waits for it): the read timeout and the speed window
    /// start once it has been.
    ///
    /// Errors of the inner body become Courier [`Error`]s ([`Error::from_body`]: a timeout stays a
    /// timeout, anything else is a body error).
    pub struct TimeoutBody<B> {
        #[pin]
        inner: B,
        // `None` when no deadline applies: the body then only converts errors.
        clock: Option<Box<Clock>>,
    }
}

/// The deadlines of one body, and what they are measured against.
struct Clock {
    deadlines: Deadlines,
    /// Named in the timeout errors.
    uri: Uri,
    sleep: Pin<Box<Sleep>>,
    last_bytes: Instant,
    window_start: Instant,
    window_bytes: u64,
    /// When the last frame was handed to the reader (see the type's docs).
    delivered_at: Option<Instant>,
    /// The request's streaming body, until it has been sent.
    upload: Option<UploadDone>,
}

impl<B> TimeoutBody<B> {
    /// No deadline: the body only converts errors.
    pub(super) fn unlimited(inner: B) -> TimeoutBody<B> {
        TimeoutBody { inner, clock: None }
    }

    pub(super) fn new(
        inner: B,
        deadlines: Deadlines,
        uri: Uri,
        upload: Option<UploadDone>,
    ) -> TimeoutBody<B> {
        let clock = deadlines.applies_to_body().then(|| {
            let now = Instant::now();
            let mut clock = Box::new(Clock {
                deadlines,
                uri,
                sleep: Box::pin(tokio::time::sleep_until(now)),
                last_bytes: now,
                window_start: now,
                window_bytes: 0,
                // Until the reader first asks, the time is its own.
                delivered_at: Some(now),
                upload,
            });
            clock.rearm();
            clock
        });
        TimeoutBody { inner, clock }
    }

    /// The wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The wrapped body, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Unwraps the inner body; its deadlines no longer apply.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl Clock {
    fn next_deadline(&self) -> Instant {
        let far = super::after(self.last_bytes, Duration::MAX);
        let read = self
            .deadlines
            .read
            .map(|d| super::after(self.last_bytes, d));
        let window = self
            .deadlines
            .min_speed
            .map(|s| super::after(self.window_start, s.window));
        [self.deadlines.total, read, window]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(far)
    }

    fn rearm(&mut self) {
        if self.upload.is_some() {
            self.count_from_upload(Instant::now());
        }
        let next = self.next_deadline();
        self.sleep.as_mut().reset(next);
    }

    /// While the request body is still being sent, the server's silence and slowness are not counted:
    /// the read timeout and the speed window start again from `now`, or from when the upload ended.
    /// Not while the upload is held up, though (a chunk handed over that the connection has not
    /// taken: the server stopped reading it), as the head's read timeout also has it: then they
    /// count from when that began, so a server that stops both reading and sending is timed out.
    /// Checked whenever a deadline is armed or passes, so a deadline met during the upload is
    /// re-armed rather than taken.
    fn count_from_upload(&mut self, now: Instant) {
        let Some(upload) = &self.upload else { return };
        let from = match upload.sent_at() {
            Some(sent) => {
                self.upload = None;
                sent.min(now)
            }
            None => upload.held_up_since().unwrap_or(now).min(now),
        };
        self.last_bytes = self.last_bytes.max(from);
        if from > self.window_start {
            self.window_start = from;
            self.window_bytes = 0;
        }
    }

    /// The reader asks for more: the time since the last frame was its own.
    fn resume(&mut self) {
        if let Some(delivered_at) = self.delivered_at.take() {
            let reader_time = delivered_at.elapsed();
            self.last_bytes += reader_time;
            self.window_start += reader_time;
            self.rearm();
        }
    }

    /// A frame arrived at `now`, carrying `bytes` bytes of data.
    fn received(&mut self, now: Instant, bytes: Option<usize>) {
        self.delivered_at = Some(now);
        if let Some(bytes) = bytes {
            self.window_bytes += bytes as u64;
            self.last_bytes = now;
        }
    }

    /// The error for the deadline that passed at `now`, if any; rolls the speed window over when it
    /// passed at speed.
    fn expired(&mut self, now: Instant) -> Option<Error> {
        self.count_from_upload(now);
        let what = if self.deadlines.total.is_some_and(|t| now >= t) {
            "total request timeout elapsed while reading the body".to_owned()
        } else if self
            .deadlines
            .read
            .is_some_and(|d| now >= super::after(self.last_bytes, d))
        {
            "read timeout elapsed waiting for the next body chunk".to_owned()
        } else {
            let speed = self.deadlines.min_speed?;
            if now < super::after(self.window_start, speed.window) {
                return None;
            }
            if self.window_bytes >= speed.minimum_bytes() {
                self.window_start = now;
                self.window_bytes = 0;
                return None;
            }
            format!(
                "transfer speed below the minimum speed of {} bytes/s over {:?} ({} bytes received)",
                speed.bytes_per_sec, speed.window, self.window_bytes
            )
        };
        Some(Error::timeout(what).with_uri(&self.uri))
    }
}

impl<B> Body for TimeoutBody<B>
where
    B: Body,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, Error>>> {
        let this = self.project();
        let Some(clock) = this.clock.as_deref_mut() else {
            return this
                .inner
                .poll_frame(cx)
                .map(|frame| frame.map(|f| f.map_err(Error::from_body)));
        };
        clock.resume();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            let now = Instant::now();
            let bytes = match &frame {
                Some(Ok(frame)) => frame.data_ref().map(Buf::remaining),
                _ => None,
            };
            clock.received(now, bytes);
            if let Some(err) = clock.expired(now) {
                return Poll::Ready(Some(Err(err)));
            }
            clock.rearm();
            return Poll::Ready(frame.map(|f| f.map_err(Error::from_body)));
        }
        loop {
            if clock.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(err) = clock.expired(Instant::now()) {
                return Poll::Ready(Some(Err(err)));
            }
            clock.rearm();
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for TimeoutBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeoutBody")
            .field("deadlines", &self.clock.as_ref().map(|c| c.deadlines))
            .finish_non_exhaustive()
    }
}
