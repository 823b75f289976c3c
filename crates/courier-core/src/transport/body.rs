//! [`ResponseBody`]: hyper's body, holding the connection until the body ends.
//!
//! When the body ends cleanly the checkout guard gives the connection back (HTTP/1.1) or releases the
//! stream (HTTP/2), and the response's total time is recorded. An HTTP/2 stream that ends before the
//! `Content-Length` it announced (even by `RST_STREAM(NO_ERROR)`) is a body error, as a short HTTP/1.1
//! body already is in hyper, never a short body handed over as complete.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;

use super::checkout::Checkout;
use super::info::ConnectionInfo;
use crate::error::Error;
use crate::Body;

/// The body of a [`Transport`](super::Transport) response.
pub struct ResponseBody<B: Send + 'static = Body> {
    inner: Incoming,
    checkout: Option<Checkout<B>>,
    info: ConnectionInfo,
    /// HTTP/2: bytes the `Content-Length` still promises (hyper checks HTTP/1.1 itself).
    remaining: Option<u64>,
}

impl<B: Send + 'static> ResponseBody<B> {
    /// The body of a response over `checkout` (`None`: the connection is held elsewhere).
    pub(crate) fn new(
        inner: Incoming,
        checkout: Option<Checkout<B>>,
        info: ConnectionInfo,
        remaining: Option<u64>,
    ) -> ResponseBody<B> {
        let mut body = ResponseBody {
            inner,
            checkout,
            info,
            remaining,
        };
        if http_body::Body::is_end_stream(&body.inner) && body.remaining.unwrap_or(0) == 0 {
            body.finish(true);
        }
        body
    }

    fn finish(&mut self, clean: bool) {
        if let Some(mut checkout) = self.checkout.take() {
            if clean {
                checkout.body_done();
                self.info.timings().body_ended();
            }
        }
    }
}

impl<B: Send + 'static> http_body::Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(remaining), Some(data)) = (&mut this.remaining, frame.data_ref()) {
                    *remaining = remaining.saturating_sub(data.len() as u64);
                }
                if this.inner.is_end_stream() && this.remaining.unwrap_or(0) == 0 {
                    this.finish(true);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => match this.remaining {
                Some(missing) if missing > 0 => {
                    this.finish(false);
                    this.remaining = None;
                    Poll::Ready(Some(Err(Error::body(ShortBody(missing)))))
                }
                _ => {
                    this.finish(true);
                    Poll::Ready(None)
                }
            },
            Poll::Ready(Some(Err(err))) => {
                this.finish(false);
                Poll::Ready(Some(Err(Error::from_body(err))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && self.remaining.unwrap_or(0) == 0
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Send + 'static> Drop for ResponseBody<B> {
    fn drop(&mut self) {
        // Still held: the body was dropped before its end (a clean end or an error gave it back).
        if let Some(checkout) = &mut self.checkout {
            checkout.body_dropped(http_body::Body::size_hint(&self.inner).upper());
        }
    }
}

impl<B: Send + 'static> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

/// An HTTP/2 stream ended before its `Content-Length`.
#[derive(Debug)]
struct ShortBody(u64);

impl fmt::Display for ShortBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the HTTP/2 stream ended {} bytes short of its Content-Length",
            self.0
        )
    }
}

impl std::error::Error for ShortBody {}
