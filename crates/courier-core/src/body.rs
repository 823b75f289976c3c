//! [`Body`]: the request and response body type shared by the transport, the layers and the facade.
//!
//! A body is either a buffered chunk of bytes (cheap to clone, so redirects can replay it) or a stream
//! (sent as it is produced, never buffered, and therefore not replayable).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use sync_wrapper::SyncWrapper;

use crate::error::BoxError;

/// The most of an unread body worth reading rather than giving up its connection: 64 KiB. The
/// transport gives back a connection whose response body was dropped with at most this much left
/// (and whose request body was empty or this small); the redirect layer reads a followed
/// redirect's body up to this much.
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024;

/// A request or response body.
///
/// ```
/// use courier_core::Body;
/// use http_body::Body as _;
///
/// let body = Body::from("hello");
/// assert_eq!(body.size_hint().exact(), Some(5));
/// // Buffered bodies can be replayed (e.g. on a 307 redirect); streams cannot.
/// assert!(body.try_clone().is_some());
///
/// let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>("a"), Ok("b")]);
/// let streaming = Body::wrap_stream(chunks);
/// assert!(streaming.try_clone().is_none());
/// ```
pub struct Body {
    inner: Inner,
}

enum Inner {
    /// `None` once the bytes were yielded.
    Full(Option<Bytes>),
    Streaming(Streaming),
}

/// A wrapped body, which need not be `Sync`: it is only ever polled through `&mut`, so it sits in a
/// `SyncWrapper`, and what `&self` methods ask is answered from what it said after its last poll. This
/// makes [`Body`] `Send + Sync` (as reqwest's is) without asking every wrapped body to be `Sync`.
struct Streaming {
    body: SyncWrapper<UnsyncBoxBody<Bytes, BoxError>>,
    end: bool,
    hint: SizeHint,
}

impl Body {
    /// An empty body.
    pub const fn empty() -> Body {
        Body {
            inner: Inner::Full(None),
        }
    }

    /// Wraps any `http_body::Body` whose data is `Bytes`.
    pub fn new<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (end, hint) = (body.is_end_stream(), body.size_hint());
        Body {
            inner: Inner::Streaming(Streaming {
                body: SyncWrapper::new(body.map_err(Into::into).boxed_unsync()),
                end,
                hint,
            }),
        }
    }

    /// Wraps any `http_body::Body` whose data converts into `Bytes` (`Bytes`, `BytesMut`,
    /// `&'static [u8]`), as reqwest's `Body::wrap` does. Its size hint is kept, so an exact length is sent as
    /// `Content-Length`.
    ///
    /// ```
    /// use courier_core::Body;
    /// use http_body::Body as _;
    ///
    /// let body = Body::wrap(http_body_util::Full::new(&b"hello"[..]));
    /// assert_eq!(body.size_hint().exact(), Some(5));
    /// ```
    pub fn wrap<B>(body: B) -> Body
    where
        B: http_body::Body + Send + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        Body::new(IntoBytesBody { body })
    }

    /// Wraps a stream of byte chunks, sent as it is produced (chunked, or as HTTP/2 DATA frames).
    pub fn wrap_stream<S, T, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        T: Into<Bytes> + 'static,
        E: Into<BoxError> + 'static,
    {
        Body::new(StreamBody { stream })
    }

    /// The bytes of a buffered body; `None` for a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.inner {
            Inner::Full(Some(bytes)) => Some(bytes),
            Inner::Full(None) => Some(&[]),
            Inner::Streaming(_) => None,
        }
    }

    /// A copy of a buffered body (a reference count, not a copy of the bytes); `None` for a stream.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.inner {
            Inner::Full(bytes) => Some(Body {
                inner: Inner::Full(bytes.clone()),
            }),
            Inner::Streaming(_) => None,
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Full(bytes) => f
                .debug_struct("Body")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Inner::Streaming(_) => f.write_str("Body(streaming)"),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.inner {
            Inner::Full(bytes) => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Inner::Streaming(streaming) => {
                let body = streaming.body.get_mut();
                let frame = Pin::new(&mut *body).poll_frame(cx);
                match &frame {
                    // Ended: whatever the wrapped body says of itself now.
                    Poll::Ready(None) => {
                        streaming.end = true;
                        streaming.hint = SizeHint::with_exact(0);
                    }
                    Poll::Ready(Some(_)) => {
                        streaming.end = body.is_end_stream();
                        streaming.hint = body.size_hint();
                    }
                    Poll::Pending => {}
                }
                frame
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.as_ref().is_none_or(Bytes::is_empty),
            Inner::Streaming(streaming) => streaming.end,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Streaming(streaming) => streaming.hint,
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            inner: Inner::Full(Some(bytes)),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(vec: Vec<u8>) -> Body {
        Body::from(Bytes::from(vec))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(s))
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Body {
        Body::empty()
    }
}

/// A file's contents, streamed as they are read (64 KiB at a time), never buffered whole.
impl From<tokio::fs::File> for Body {
    fn from(file: tokio::fs::File) -> Body {
        Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024))
    }
}

/// Request bodies that a layer may need to send again (the redirect layer on 307/308, the auth layer
/// after a 401 or 407 challenge).
///
/// Implemented for Courier's [`Body`] and the common `http-body-util` bodies; implement it for your own
/// body type to let redirects replay it. Return `None` when the body cannot be replayed (a stream).
///
/// ```
/// use courier_core::body::TryCloneBody;
/// use http_body_util::Full;
///
/// let body = Full::new(bytes::Bytes::from_static(b"x"));
/// assert!(body.try_clone_body().is_some());
/// ```
pub trait TryCloneBody: Sized {
    /// A body that will yield the same bytes again, or `None`.
    fn try_clone_body(&self) -> Option<Self>;

    /// The whole body, when it is held in memory as one slice; `None` (the default) otherwise. The
    /// [`auth`](crate::auth) layer hashes it for Digest's `qop=auth-int`.
    fn buffered_bytes(&self) -> Option<&[u8]> {
        None
    }
}

impl TryCloneBody for Body {
    fn try_clone_body(&self) -> Option<Self> {
        self.try_clone()
    }

    fn buffered_bytes(&self) -> Option<&[u8]> {
        self.as_bytes()
    }
}

impl<D: Clone> TryCloneBody for http_body_util::Full<D> {
    fn try_clone_body(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> TryCloneBody for http_body_util::Empty<D> {
    fn try_clone_body(&self) -> Option<Self> {
        Some(http_body_util::Empty::new())
    }

    fn buffered_bytes(&self) -> Option<&[u8]> {
        Some(&[])
    }
}

impl TryCloneBody for String {
    fn try_clone_body(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn buffered_bytes(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl TryCloneBody for Bytes {
    fn try_clone_body(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn buffered_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// A request body kept to be sent again (by the redirect layer on the next hop, by the auth layer after a
/// challenge).
pub(crate) enum ReplayBody<B> {
    /// Empty: any hop can send `B::default()`.
    Empty,
    /// A copy (for `Bytes`-backed bodies, a reference count).
    Copy(B),
    /// A stream, consumed by the first hop.
    Unavailable,
}

impl<B> ReplayBody<B>
where
    B: http_body::Body + Default + TryCloneBody,
{
    pub(crate) fn of(body: &B) -> Self {
        if http_body::Body::size_hint(body).exact() == Some(0) {
            return ReplayBody::Empty;
        }
        match body.try_clone_body() {
            Some(copy) => ReplayBody::Copy(copy),
            None => ReplayBody::Unavailable,
        }
    }

    /// The bytes the next [`take`](Self::take) will yield, when they are in memory.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match self {
            ReplayBody::Empty => Some(&[]),
            ReplayBody::Copy(body) => body.buffered_bytes(),
            ReplayBody::Unavailable => None,
        }
    }

    /// A body for the next hop, keeping a copy for the hop after it.
    pub(crate) fn take(&mut self) -> Option<B> {
        match std::mem::replace(self, ReplayBody::Unavailable) {
            ReplayBody::Empty => {
                *self = ReplayBody::Empty;
                Some(B::default())
            }
            ReplayBody::Copy(body) => {
                *self = ReplayBody::of(&body);
                Some(body)
            }
            ReplayBody::Unavailable => None,
        }
    }
}

pin_project_lite::pin_project! {
    struct StreamBody<S> {
        #[pin]
        stream: S,
    }
}

impl<S, T, E> http_body::Body for StreamBody<S>
where
    S: Stream<Item = Result<T, E>>,
    T: Into<Bytes>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().stream.poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk.into())))),
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// A body whose data converts into `Bytes`, as `Bytes`; unlike `BodyExt::map_frame`, it keeps
    /// the inner body's size hint (so an exact length is still sent as `Content-Length`).
    struct IntoBytesBody<B> {
        #[pin]
        body: B,
    }
}

impl<B> http_body::Body for IntoBytesBody<B>
where
    B: http_body::Body,
    B::Data: Into<Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project()
            .body
            .poll_frame(cx)
            .map(|frame| frame.map(|frame| frame.map(|frame| frame.map_data(Into::into))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_body_yields_once() {
        let body = Body::from("abc");
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"abc");
    }

    #[tokio::test]
    async fn stream_body_yields_chunks() {
        use http_body::Body as _;
        let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>("a"), Ok("bc")]);
        let body = Body::wrap_stream(chunks);
        assert_eq!(body.size_hint().exact(), None);
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"abc");
    }

    #[test]
    fn empty_body_is_end_stream() {
        use http_body::Body as _;
        assert!(Body::empty().is_end_stream());
        assert!(Body::from("").is_end_stream());
        assert!(!Body::from("x").is_end_stream());
    }
}
