//! Deadlines while a response is awaited and read: the request's total timeout (which started when the
//! request was sent), the read timeout (the longest wait for the next bytes), and the minimum speed.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::error::BoxError;
use crate::Error;

/// The deadlines that apply to one request.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deadlines {
    pub(crate) total: Option<Instant>,
    pub(crate) read: Option<Duration>,
    pub(crate) min_speed: Option<MinSpeed>,
}

/// A transfer slower than `bytes_per_sec`, averaged over `window`, is ended with a timeout error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MinSpeed {
    pub(crate) bytes_per_sec: u64,
    pub(crate) window: Duration,
}

impl MinSpeed {
    fn minimum_bytes(&self) -> u64 {
        (self.bytes_per_sec as f64 * self.window.as_secs_f64()) as u64
    }
}

impl Deadlines {
    pub(crate) fn is_none(&self) -> bool {
        self.total.is_none() && self.read.is_none() && self.min_speed.is_none()
    }
}

/// Tells the wait for response headers when a streaming request body has been sent, so the read timeout
/// measures the server's silence and not a slow upload.
#[derive(Clone, Default)]
pub(crate) struct UploadDone {
    done: Arc<(AtomicBool, Notify)>,
}

impl UploadDone {
    fn finish(&self) {
        self.done.0.store(true, Ordering::Release);
        self.done.1.notify_waiters();
    }

    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.done.1.notified();
            if self.done.0.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

pin_project_lite::pin_project! {
    /// A request body that signals [`UploadDone`] when it has been sent (or failed, or was dropped).
    pub(crate) struct ObservedUpload<B> {
        #[pin]
        inner: B,
        done: UploadDone,
    }

    impl<B> PinnedDrop for ObservedUpload<B> {
        fn drop(this: Pin<&mut Self>) {
            this.done.finish();
        }
    }
}

impl<B> ObservedUpload<B> {
    pub(crate) fn new(inner: B, done: UploadDone) -> Self {
        ObservedUpload { inner, done }
    }
}

impl<B: HttpBody> HttpBody for ObservedUpload<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.done.finish();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The response body wrapper that enforces [`Deadlines`]. Only created when a deadline is set.
pub(crate) struct TimeoutBody<B> {
    inner: B,
    deadlines: Deadlines,
    sleep: Pin<Box<Sleep>>,
    last_bytes: Instant,
    window_start: Instant,
    window_bytes: u64,
    /// When the last frame was handed to the caller: the time until it asks again is the caller's own
    /// and counts against neither the read timeout nor the speed window.
    delivered_at: Option<Instant>,
}

impl<B> TimeoutBody<B> {
    pub(crate) fn new(inner: B, deadlines: Deadlines) -> TimeoutBody<B> {
        let now = Instant::now();
        let mut body = TimeoutBody {
            inner,
            deadlines,
            sleep: Box::pin(tokio::time::sleep_until(now)),
            last_bytes: now,
            window_start: now,
            window_bytes: 0,
            delivered_at: None,
        };
        let next = body.next_deadline();
        body.sleep.as_mut().reset(next);
        body
    }

    fn next_deadline(&self) -> Instant {
        let far = self.last_bytes + Duration::from_secs(86400 * 365);
        let read = self.deadlines.read.map(|d| self.last_bytes + d);
        let window = self
            .deadlines
            .min_speed
            .map(|s| self.window_start + s.window);
        [self.deadlines.total, read, window]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(far)
    }

    /// Which deadline passed at `now`, if any; rolls the speed window over when it passed at speed.
    fn expired(&mut self, now: Instant) -> Option<String> {
        if self.deadlines.total.is_some_and(|t| now >= t) {
            return Some("total request timeout elapsed while reading the body".into());
        }
        if self
            .deadlines
            .read
            .is_some_and(|d| now >= self.last_bytes + d)
        {
            return Some("read timeout elapsed waiting for the next body chunk".into());
        }
        if let Some(speed) = self.deadlines.min_speed {
            if now >= self.window_start + speed.window {
                if self.window_bytes < speed.minimum_bytes() {
                    return Some(format!(
                        "transfer speed below the minimum speed of {} bytes/s over {:?} ({} bytes received)",
                        speed.bytes_per_sec, speed.window, self.window_bytes
                    ));
                }
                self.window_start = now;
                self.window_bytes = 0;
            }
        }
        None
    }
}

impl<B> HttpBody for TimeoutBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(delivered_at) = this.delivered_at.take() {
            let caller_time = delivered_at.elapsed();
            this.last_bytes += caller_time;
            this.window_start += caller_time;
            let next = this.next_deadline();
            this.sleep.as_mut().reset(next);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            let now = Instant::now();
            this.delivered_at = Some(now);
            if let Some(Ok(frame)) = &frame {
                if let Some(data) = frame.data_ref() {
                    this.window_bytes += data.remaining() as u64;
                    this.last_bytes = now;
                }
            }
            if let Some(what) = this.expired(now) {
                return Poll::Ready(Some(Err(Box::new(Error::timeout(what)))));
            }
            let next = this.next_deadline();
            this.sleep.as_mut().reset(next);
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        loop {
            if this.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(what) = this.expired(Instant::now()) {
                return Poll::Ready(Some(Err(Box::new(Error::timeout(what)))));
            }
            let next = this.next_deadline();
            this.sleep.as_mut().reset(next);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
