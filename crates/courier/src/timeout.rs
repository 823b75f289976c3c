//! Deadlines for reading a response body: the request's total timeout (which started when the request
//! was sent) and the read timeout (the longest wait for the next chunk).

use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::{Body, Error};

/// The deadlines that apply while a response body is read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deadlines {
    pub(crate) total: Option<Instant>,
    pub(crate) read: Option<Duration>,
}

impl Deadlines {
    pub(crate) fn is_none(&self) -> bool {
        self.total.is_none() && self.read.is_none()
    }

    /// The earliest of the total deadline and `now + read timeout`.
    pub(crate) fn next(&self) -> Option<Instant> {
        let read = self.read.map(|d| Instant::now() + d);
        match (self.total, read) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The body wrapper that enforces [`Deadlines`]. Only created when a deadline is set.
pub(crate) struct TimeoutBody {
    inner: Body,
    deadlines: Deadlines,
    sleep: Pin<Box<Sleep>>,
}

impl TimeoutBody {
    pub(crate) fn new(inner: Body, deadlines: Deadlines) -> TimeoutBody {
        let at = deadlines
            .next()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365));
        TimeoutBody {
            inner,
            deadlines,
            sleep: Box::pin(tokio::time::sleep_until(at)),
        }
    }
}

impl HttpBody for TimeoutBody {
    type Data = Bytes;
    type Error = crate::error::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            // Data arrived: the read timeout starts again.
            if let (Some(_), Some(next)) = (this.deadlines.read, this.deadlines.next()) {
                this.sleep.as_mut().reset(next);
            }
            return Poll::Ready(frame);
        }
        ready!(this.sleep.as_mut().poll(cx));
        let what = match this.deadlines.total {
            Some(total) if total <= Instant::now() => {
                "total request timeout elapsed while reading the body"
            }
            _ => "read timeout elapsed waiting for the next body chunk",
        };
        Poll::Ready(Some(Err(Box::new(Error::timeout(what)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

use std::future::Future as _;
