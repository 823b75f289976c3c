//! [`Body`] of the blocking API: bytes, or a `std::io::Read` streamed while the request is sent.

use std::fmt;
use std::io::Read;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// A request body for the blocking client: buffered bytes (replayable on redirects), or a reader
/// (a file, a pipe) read on a thread of its own, 64 KiB at a time, while the request is sent.
///
/// ```
/// use courier::blocking::Body;
///
/// let buffered = Body::from("hello");
/// assert_eq!(buffered.as_bytes(), Some(&b"hello"[..]));
/// let streamed = Body::new(std::io::Cursor::new(vec![0u8; 1024]));
/// assert!(streamed.as_bytes().is_none());
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Buffered(crate::Body),
    /// A reader, and its length when known.
    Reader(Box<dyn Read + Send>, Option<u64>),
}

impl Body {
    /// A body read from `reader` while the request is sent (chunked: its length is not known).
    pub fn new<R: Read + Send + 'static>(reader: R) -> Body {
        Body {
            kind: Kind::Reader(Box::new(reader), None),
        }
    }

    /// A body read from `reader`, which holds exactly `len` bytes: sent with `Content-Length` (as
    /// reqwest's `Body::sized`). A reader that gives more or fewer bytes fails the request.
    ///
    /// ```
    /// use courier::blocking::Body;
    ///
    /// let body = Body::sized(std::io::Cursor::new(vec![0u8; 1024]), 1024);
    /// assert!(body.as_bytes().is_none());
    /// ```
    pub fn sized<R: Read + Send + 'static>(reader: R, len: u64) -> Body {
        Body {
            kind: Kind::Reader(Box::new(reader), Some(len)),
        }
    }

    /// The bytes of a buffered body; `None` for a reader.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Buffered(body) => body.as_bytes(),
            Kind::Reader(..) => None,
        }
    }

    /// Reads a reader body to its end and keeps the bytes, so the body can be replayed (on a redirect)
    /// and looked at; returns them. A buffered body is returned as it is. A read error is a builder
    /// error (as reqwest's).
    ///
    /// ```
    /// use courier::blocking::Body;
    ///
    /// let mut body = Body::new(std::io::Cursor::new(b"streamed".to_vec()));
    /// assert_eq!(body.buffer().unwrap(), b"streamed");
    /// assert!(body.try_clone().is_some());
    /// ```
    pub fn buffer(&mut self) -> Result<&[u8], crate::Error> {
        if let Kind::Reader(reader, len) = &mut self.kind {
            // The declared length is the caller's word: trust it only so far for the allocation.
            const MAX_PREALLOCATION: u64 = 4 * 1024 * 1024;
            let mut bytes = Vec::with_capacity(len.unwrap_or(0).min(MAX_PREALLOCATION) as usize);
            reader
                .read_to_end(&mut bytes)
                .map_err(crate::Error::builder)?;
            self.kind = Kind::Buffered(bytes.into());
        }
        Ok(self.as_bytes().unwrap_or_default())
    }

    /// A copy of a buffered body; `None` for a reader.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Buffered(body) => Some(Body {
                kind: Kind::Buffered(body.try_clone()?),
            }),
            Kind::Reader(..) => None,
        }
    }

    /// The async body: a reader is read on its own thread and handed over through a small channel,
    /// so a slow reader never blocks the client's runtime and a slow upload never buffers the file.
    pub(super) fn into_async(self) -> crate::Body {
        let (mut reader, len) = match self.kind {
            Kind::Buffered(body) => return body,
            Kind::Reader(reader, len) => (reader, len),
        };
        // The thread starts when the body is first polled (the request is being sent), not when the
        // builder is made: a request never sent reads nothing from the reader.
        let start = futures_util::stream::once(async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
            std::thread::spawn(move || loop {
                let mut buf = vec![0; 64 * 1024];
                // A reader that panics fails the request: its thread's end alone would close the
                // channel, which reads as the body's end, and send what was read as the whole body.
                let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    reader.read(&mut buf)
                }))
                .unwrap_or_else(|_| {
                    Err(std::io::Error::other("the request body's reader panicked"))
                });
                let item = match read {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(Bytes::from(buf))
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(err) => Err(err),
                };
                let failed = item.is_err();
                // The receiver is gone when the request ended: stop reading.
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            });
            futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
        });
        let streamed = crate::Body::wrap_stream(futures_util::StreamExt::flatten(start));
        match len {
            Some(remaining) => crate::Body::new(KnownLength {
                inner: streamed,
                remaining,
                len: remaining,
            }),
            None => streamed,
        }
    }
}

/// A streamed body of a known length: its size hint says so (hyper then sends `Content-Length`),
/// and a reader that gives more or fewer bytes is an error, not a request with a wrong length.
struct KnownLength {
    inner: crate::Body,
    remaining: u64,
    len: u64,
}

impl KnownLength {
    fn mismatch(&self, what: &str) -> courier_core::BoxError {
        format!(
            "the request body's reader gave {what} bytes than its declared length of {}",
            self.len
        )
        .into()
    }
}

impl http_body::Body for KnownLength {
    type Data = Bytes;
    type Error = courier_core::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, courier_core::BoxError>>> {
        match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                let n = frame.data_ref().map_or(0, |data| data.len() as u64);
                if n > self.remaining {
                    return Poll::Ready(Some(Err(self.mismatch("more"))));
                }
                self.remaining -= n;
                Poll::Ready(Some(Ok(frame)))
            }
            None if self.remaining > 0 => Poll::Ready(Some(Err(self.mismatch("fewer")))),
            other => Poll::Ready(other),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

macro_rules! buffered_from {
    ($($ty:ty),*) => {
        $(
            impl From<$ty> for Body {
                fn from(bytes: $ty) -> Body {
                    Body {
                        kind: Kind::Buffered(bytes.into()),
                    }
                }
            }
        )*
    };
}

buffered_from!(Vec<u8>, String, &'static str, &'static [u8], Bytes);

/// A file, read while the request is sent; sent with `Content-Length` when it is a regular file (its
/// length from its metadata, as reqwest does), chunked when it is a pipe, a device or a file whose
/// size says nothing (`/proc`'s, of size 0; reqwest would send `Content-Length: 0`).
impl From<std::fs::File> for Body {
    fn from(file: std::fs::File) -> Body {
        let len = file
            .metadata()
            .ok()
            .and_then(|meta| crate::multipart::file_length(&meta));
        Body {
            kind: Kind::Reader(Box::new(file), len),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Buffered(body) => body.fmt(f),
            Kind::Reader(..) => f.write_str("Body(reader)"),
        }
    }
}
