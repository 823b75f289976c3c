//! [`Verbose`]: a stream that traces every read and write (`connection_verbose(true)`), at `trace`
//! level with the connection's id, the bytes escaped. What it shows is what crossed the socket before
//! any TLS, or after it for `https`: decrypted traffic, headers included, so it is off by default.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Traces reads and writes on `inner`.
pub(crate) struct Verbose<S> {
    inner: S,
    id: u64,
}

impl<S> Verbose<S> {
    pub(crate) fn new(inner: S, id: u64) -> Verbose<S> {
        Verbose { inner, id }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Verbose<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let read = &buf.filled()[before..];
            tracing::trace!(connection = self.id, "read: {}", read.escape_ascii());
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Verbose<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            tracing::trace!(connection = self.id, "write: {}", buf[..n].escape_ascii());
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
