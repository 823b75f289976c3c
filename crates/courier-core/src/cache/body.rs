//! The body of a response through the cache ([`CacheBody`]): a stored body, the network's passed
//! through, or the network's copied into the cache as the caller reads it (the `Writer` commits it
//! once read to the end within the entry limit).

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::handle::Cache;
use super::store::Entry;
use crate::error::{BoxError, Error};

pin_project! {
    /// The body of a response that passed through a [`Caching`](super::Caching) service: a stored body,
    /// the network's body passed through, or the network's body copied into the cache as the caller
    /// reads it.
    ///
    /// A body being stored is stored only once it has been read to the end without error and within
    /// the cache's entry size limit; one dropped halfway, failed, or too large is not stored.
    pub struct CacheBody<B> {
        #[pin]
        state: State<B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<B> {
        Stored { bytes: Option<Bytes> },
        Pass { #[pin] inner: B },
        Tee { #[pin] inner: B, writer: Option<Writer> },
    }
}

impl<B> CacheBody<B> {
    /// A stored body.
    pub(crate) fn stored(bytes: Bytes) -> CacheBody<B> {
        CacheBody {
            state: State::Stored {
                bytes: (!bytes.is_empty()).then_some(bytes),
            },
        }
    }

    /// The network's body, passed through.
    pub(crate) fn pass(inner: B) -> CacheBody<B> {
        CacheBody {
            state: State::Pass { inner },
        }
    }
}

impl<B: Body> CacheBody<B> {
    /// The network's body, stored by `writer` once read to the end.
    pub(crate) fn tee(inner: B, writer: Writer) -> CacheBody<B> {
        if inner.is_end_stream() {
            writer.commit();
            return CacheBody::pass(inner);
        }
        CacheBody {
            state: State::Tee {
                inner,
                writer: Some(writer),
            },
        }
    }
}

impl<B> CacheBody<B> {
    /// Whether the body is being copied into the cache, and may still be stored once read to the end.
    pub(crate) fn is_storing(&self) -> bool {
        matches!(
            &self.state,
            State::Tee {
                writer: Some(_),
                ..
            }
        )
    }
}

impl<B> std::fmt::Debug for CacheBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Stored { .. } => "stored",
            State::Pass { .. } => "pass",
            State::Tee { .. } => "storing",
        };
        f.debug_tuple("CacheBody").field(&state).finish()
    }
}

impl<B> Body for CacheBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self.project().state.project() {
            StateProj::Stored { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            StateProj::Pass { inner } => inner.poll_frame(cx).map_err(Error::from_body),
            StateProj::Tee { mut inner, writer } => match ready!(inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let (Some(data), Some(w)) = (frame.data_ref(), writer.as_mut()) {
                        if !w.push(data) {
                            *writer = None;
                        }
                    }
                    if inner.is_end_stream() {
                        if let Some(w) = writer.take() {
                            w.commit();
                        }
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
                Some(Err(err)) => {
                    *writer = None;
                    Poll::Ready(Some(Err(Error::from_body(err))))
                }
                None => {
                    if let Some(w) = writer.take() {
                        w.commit();
                    }
                    Poll::Ready(None)
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            State::Stored { bytes } => bytes.is_none(),
            State::Pass { inner } | State::Tee { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            State::Stored { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            State::Pass { inner } | State::Tee { inner, .. } => inner.size_hint(),
        }
    }
}

/// Collects a body for the cache as the caller reads it, and stores it when it ends.
pub(crate) struct Writer {
    cache: Cache,
    key: String,
    /// The head, with an empty body until the commit.
    entry: Entry,
    chunks: Vec<Bytes>,
    len: u64,
    limit: u64,
}

impl Writer {
    pub(crate) fn new(cache: Cache, key: String, entry: Entry) -> Writer {
        let limit = cache.entry_limit();
        Writer {
            cache,
            key,
            entry,
            chunks: Vec::new(),
            len: 0,
            limit,
        }
    }

    /// Keeps a chunk (a reference count until the commit); `false` once the body is over the limit.
    fn push(&mut self, chunk: &Bytes) -> bool {
        self.len += chunk.len() as u64;
        if self.len > self.limit {
            return false;
        }
        if !chunk.is_empty() {
            self.chunks.push(chunk.clone());
        }
        true
    }

    /// Stores the entry with the whole body, always copied into a buffer of its own: a chunk may be a
    /// slice of a much larger buffer (a read of many responses, a decoder's window) that the entry must
    /// not keep alive, or the store's size accounting would be wrong. The copy is bounded by the
    /// entry size limit.
    fn commit(mut self) {
        let mut body = BytesMut::with_capacity(self.len as usize);
        for chunk in &self.chunks {
            body.extend_from_slice(chunk);
        }
        self.entry.body = body.freeze();
        self.cache.put(&self.key, self.entry);
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::tests::entry;
    use super::*;

    #[test]
    fn a_stored_body_never_pins_the_buffer_it_was_read_from() {
        let cache = Cache::in_memory();
        let buffer = Bytes::from(vec![b'x'; 64 * 1024]);
        let chunk = buffer.slice(10..20);
        let mut writer = Writer::new(cache.clone(), "k".to_owned(), entry(""));
        assert!(writer.push(&chunk));
        writer.commit();
        let stored = cache.get("k").unwrap();
        assert_eq!(&stored.body[..], &chunk[..]);
        let range = buffer.as_ptr_range();
        assert!(
            !range.contains(&stored.body.as_ptr()),
            "the stored body is a slice of the network buffer"
        );
    }
}
