//! [`Body`] of the blocking API: bytes, or a `std::io::Read` streamed while the request is sent.

use std::fmt;
use std::io::Read;

use bytes::Bytes;

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
    Reader(Box<dyn Read + Send>),
}

impl Body {
    /// A body read from `reader` while the request is sent (chunked: its length is not known).
    pub fn new<R: Read + Send + 'static>(reader: R) -> Body {
        Body {
            kind: Kind::Reader(Box::new(reader)),
        }
    }

    /// The bytes of a buffered body; `None` for a reader.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Buffered(body) => body.as_bytes(),
            Kind::Reader(_) => None,
        }
    }

    /// A copy of a buffered body; `None` for a reader.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Buffered(body) => Some(Body {
                kind: Kind::Buffered(body.try_clone()?),
            }),
            Kind::Reader(_) => None,
        }
    }

    /// The async body: a reader is read on its own thread and handed over through a small channel,
    /// so a slow reader never blocks the client's runtime and a slow upload never buffers the file.
    pub(super) fn into_async(self) -> crate::Body {
        let mut reader = match self.kind {
            Kind::Buffered(body) => return body,
            Kind::Reader(reader) => reader,
        };
        // The thread starts when the body is first polled (the request is being sent), not when the
        // builder is made: a request never sent reads nothing from the reader.
        let start = futures_util::stream::once(async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
            std::thread::spawn(move || loop {
                let mut buf = vec![0; 64 * 1024];
                let item = match reader.read(&mut buf) {
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
        crate::Body::wrap_stream(futures_util::StreamExt::flatten(start))
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

/// A file, read while the request is sent.
impl From<std::fs::File> for Body {
    fn from(file: std::fs::File) -> Body {
        Body::new(file)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Buffered(body) => body.fmt(f),
            Kind::Reader(_) => f.write_str("Body(reader)"),
        }
    }
}
