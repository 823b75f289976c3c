//! [`BodyReader`]: a response body read like a file, through tokio's `AsyncRead` and `AsyncBufRead`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use crate::{Error, Response};

/// The (decoded) body of a [`Response`] as a `tokio::io::AsyncRead + AsyncBufRead`, made by
/// [`Response::reader`]: `read`, `read_exact`, `read_line`, `read_until`, `read_to_end` and
/// `tokio::io::copy` all work on it, as on a file.
///
/// Chunks are handed out as they arrive: nothing is buffered beyond the chunk being read.
///
/// # Errors
///
/// A failure while reading the body surfaces as a [`std::io::Error`] whose inner error is Courier's
/// [`Error`], with its kind and URL ([`ErrorKind::TimedOut`](io::ErrorKind::TimedOut) for timeouts,
/// [`ErrorKind::Other`](io::ErrorKind::Other) otherwise). Get it back with
/// [`BodyReader::error_of`] (or `err.get_ref()` and `downcast_ref::<courier::Error>()`):
///
/// ```no_run
/// use tokio::io::AsyncReadExt;
///
/// # async fn run() -> Result<(), courier::Error> {
/// let mut reader = courier::get("http://127.0.0.1:8080/log.txt").await?.reader();
/// let mut body = Vec::new();
/// if let Err(err) = reader.read_to_end(&mut body).await {
///     match courier::BodyReader::error_of(&err) {
///         Some(err) if err.is_timeout() => eprintln!("too slow: {err}"),
///         Some(err) => eprintln!("{err} (url: {:?})", err.url()),
///         None => eprintln!("{err}"),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BodyReader {
    response: Response,
    /// The unread rest of the current chunk.
    chunk: Bytes,
}

impl BodyReader {
    pub(crate) fn new(response: Response) -> BodyReader {
        BodyReader {
            response,
            chunk: Bytes::new(),
        }
    }

    /// The response being read: its status, headers and URL are still there.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The Courier [`Error`] inside an I/O error this reader returned, if it is one.
    ///
    /// ```
    /// let io = std::io::Error::other(courier::Error::body("connection closed"));
    /// assert!(courier::BodyReader::error_of(&io).unwrap().is_body());
    /// assert!(courier::BodyReader::error_of(&std::io::Error::other("elsewhere")).is_none());
    /// ```
    pub fn error_of(err: &io::Error) -> Option<&Error> {
        err.get_ref()?.downcast_ref::<Error>()
    }
}

fn to_io(err: Error) -> io::Error {
    let kind = if err.is_timeout() {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, err)
}

impl AsyncBufRead for BodyReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.chunk.is_empty() {
            match ready!(this.response.poll_chunk(cx)) {
                Ok(Some(chunk)) => this.chunk = chunk,
                Ok(None) => break,
                Err(err) => return Poll::Ready(Err(to_io(err))),
            }
        }
        Poll::Ready(Ok(&this.chunk))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let chunk = &mut self.get_mut().chunk;
        chunk.advance(amt.min(chunk.len()));
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}
