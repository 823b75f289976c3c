//! [`WatchUpload`]: how the read timeout learns that a streaming request body has been sent.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};
use tokio::sync::Notify;

use crate::Body;

/// Request bodies whose end the read timeout waits for: it measures the server's silence, so it starts
/// once the request body has been sent, never while a slow upload is still running.
///
/// Bodies held in memory keep the provided method: the read timeout starts with the request (for a
/// large buffer on a slow link that includes its upload). Courier's [`Body`] and the boxed
/// `http-body-util` bodies watch their streams; hyper's `Incoming`, `StreamBody`, `Limited` and
/// `Either` are not watched (box them to be). For a body type of your own, implement it with no methods
/// (the read timeout starts with the request), or return an [`UploadDone`] and
/// [`finish`](UploadDone::finish) it once the body has been sent.
///
/// ```
/// use courier_core::timeout::WatchUpload;
///
/// let (body, sent) = courier_core::Body::from("in memory").watch_upload();
/// assert!(sent.is_none(), "sent with the request head");
/// # drop(body);
/// ```
pub trait WatchUpload: Sized {
    /// This body, and a signal that it has been sent, when it is a stream (`None`: it is sent with the
    /// request head).
    fn watch_upload(self) -> (Self, Option<UploadDone>) {
        (self, None)
    }
}

/// Set once a watched request body has been sent (or failed, or was dropped unsent).
#[derive(Clone, Debug, Default)]
pub struct UploadDone {
    done: Arc<Signal>,
}

#[derive(Debug)]
struct Signal {
    notify: Notify,
    /// When it was set (the body was sent): the response body's read timeout counts from then.
    at: std::sync::OnceLock<tokio::time::Instant>,
    /// When the body last handed over a chunk that has not been asked for since, in nanoseconds
    /// after `epoch` (0: none): hyper is held up by the connection (a server that stopped reading,
    /// an HTTP/2 window never opened). 0 while the body itself is waiting for its data (a slow
    /// producer is not the server's silence). An atomic: it is written on every poll of the body.
    handed_over: AtomicU64,
    epoch: tokio::time::Instant,
}

impl Default for Signal {
    fn default() -> Signal {
        Signal {
            notify: Notify::new(),
            at: std::sync::OnceLock::new(),
            handed_over: AtomicU64::new(0),
            epoch: tokio::time::Instant::now(),
        }
    }
}

impl UploadDone {
    /// A signal not yet set: for a request body type of your own that knows when it has been sent
    /// (return a clone from [`WatchUpload::watch_upload`] and call [`UploadDone::finish`] then).
    pub fn new() -> UploadDone {
        UploadDone::default()
    }

    /// Marks the body as sent (or failed, or dropped unsent): the read timeout starts now.
    pub fn finish(&self) {
        let _ = self.done.at.set(tokio::time::Instant::now());
        self.done.notify.notify_waiters();
    }

    /// Waits until the body has been sent.
    pub(super) async fn wait(&self) {
        loop {
            let notified = self.done.notify.notified();
            if self.done.at.get().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Since when the connection has not taken the body's next chunk (see `Signal::handed_over`).
    pub(super) fn held_up_since(&self) -> Option<tokio::time::Instant> {
        match self.done.handed_over.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.done.epoch + std::time::Duration::from_nanos(nanos)),
        }
    }

    fn set_handed_over(&self, at: Option<tokio::time::Instant>) {
        // At least 1: 0 stands for none.
        let nanos = at.map_or(0, |at| {
            (at.saturating_duration_since(self.done.epoch).as_nanos() as u64).max(1)
        });
        self.done.handed_over.store(nanos, Ordering::Release);
    }

    /// When the body was sent; `None` while it is still going.
    pub(super) fn sent_at(&self) -> Option<tokio::time::Instant> {
        self.done.at.get().copied()
    }
}

/// `body` wrapped by `rewrap` (a boxing constructor) in a [`Watched`] body, and its signal.
fn watch<B>(body: B, rewrap: impl FnOnce(Watched<B>) -> B) -> (B, Option<UploadDone>) {
    let done = UploadDone::default();
    (rewrap(Watched::new(body, done.clone())), Some(done))
}

impl WatchUpload for Body {
    fn watch_upload(self) -> (Body, Option<UploadDone>) {
        match self.as_bytes() {
            Some(_) => (self, None),
            None => watch(self, Body::new),
        }
    }
}

impl<D: Buf + 'static, E: 'static> WatchUpload for BoxBody<D, E> {
    fn watch_upload(self) -> (Self, Option<UploadDone>) {
        watch(self, BoxBody::new)
    }
}

impl<D: Buf + 'static, E: 'static> WatchUpload for UnsyncBoxBody<D, E> {
    fn watch_upload(self) -> (Self, Option<UploadDone>) {
        watch(self, UnsyncBoxBody::new)
    }
}

impl<D> WatchUpload for http_body_util::Full<D> {}
impl<D> WatchUpload for http_body_util::Empty<D> {}
impl WatchUpload for String {}
impl WatchUpload for Bytes {}
impl WatchUpload for Vec<u8> {}
impl WatchUpload for &'static str {}
impl WatchUpload for () {}
// Streams that cannot be rewrapped as themselves: the read timeout starts with the request head (wrap
// them in a `BoxBody` to have their end watched).
impl WatchUpload for hyper::body::Incoming {}
impl<S> WatchUpload for http_body_util::StreamBody<S> {}
impl<B> WatchUpload for http_body_util::Limited<B> {}
impl<L, R> WatchUpload for http_body_util::Either<L, R> {}

pin_project_lite::pin_project! {
    /// A request body that signals [`UploadDone`] once it has been sent (or failed, or was dropped).
    struct Watched<B> {
        #[pin]
        inner: B,
        done: UploadDone,
    }

    impl<B> PinnedDrop for Watched<B> {
        fn drop(this: Pin<&mut Self>) {
            this.done.finish();
        }
    }
}

impl<B> Watched<B> {
    fn new(inner: B, done: UploadDone) -> Self {
        Watched { inner, done }
    }
}

impl<B: HttpBody> HttpBody for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        match &frame {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.done.finish(),
            Poll::Ready(Some(Ok(_))) => {
                this.done.set_handed_over(Some(tokio::time::Instant::now()))
            }
            Poll::Pending => this.done.set_handed_over(None),
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
