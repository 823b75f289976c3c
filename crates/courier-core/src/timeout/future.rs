//! [`ResponseFuture`] of [`Timeout`](super::Timeout).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Response, Uri};
use pin_project_lite::pin_project;

use super::{Deadlines, TimeoutBody, UploadDone};
use crate::error::{BoxError, Error};

/// Resolves to what a deadline says when it passes before the response head arrived.
type HeadDeadline = Pin<Box<dyn Future<Output = &'static str> + Send>>;

pin_project! {
    /// The response future of [`Timeout`](super::Timeout): the inner future under the total and read
    /// timeouts, and then the response with its body under all the deadlines.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // `None` when no deadline applies. Boxed: a request with no deadline pays one word for it.
        limits: Option<Box<Limits>>,
    }
}

/// The deadlines of a request, and what they need.
struct Limits {
    deadlines: Deadlines,
    /// `None` when neither the total nor the read timeout applies.
    head_deadline: Option<HeadDeadline>,
    /// Named in timeout errors.
    uri: Uri,
    /// The request's streaming body, for the response body's read timeout (see `TimeoutBody`).
    upload: Option<UploadDone>,
}

impl<F> ResponseFuture<F> {
    /// No deadline: the inner future, its errors converted.
    pub(super) fn unlimited(inner: F) -> ResponseFuture<F> {
        ResponseFuture {
            inner,
            limits: None,
        }
    }

    pub(super) fn new(
        inner: F,
        deadlines: Deadlines,
        upload: Option<UploadDone>,
        uri: Uri,
    ) -> ResponseFuture<F> {
        let head_deadline = deadlines
            .applies_to_head()
            .then(|| Box::pin(head_deadline(deadlines, upload.clone())) as HeadDeadline);
        ResponseFuture {
            inner,
            limits: Some(Box::new(Limits {
                deadlines,
                head_deadline,
                uri,
                upload,
            })),
        }
    }
}

/// Which silence the read timeout ran out on.
enum Stalled {
    /// The response head's, after the request was sent.
    Head,
    /// The connection's, taking none of the request body.
    Upload,
}

/// Waits for the total deadline or the read timeout, which starts once a streaming upload has been
/// sent, whichever passes first. While the upload goes on, the read timeout also passes when the
/// connection has not taken the upload's next chunk for that long: the server stopped reading it
/// (a full TCP window, an HTTP/2 flow-control window it never opens), which would otherwise hang
/// the request with every timeout but the total one set.
async fn head_deadline(deadlines: Deadlines, upload: Option<UploadDone>) -> &'static str {
    let total = async {
        match deadlines.total {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let read = async {
        match deadlines.read {
            Some(read) => {
                if let Some(upload) = upload {
                    loop {
                        let deadline = match upload.held_up_since() {
                            Some(since) => super::after(since, read),
                            None => super::after(tokio::time::Instant::now(), read),
                        };
                        tokio::select! {
                            _ = upload.wait() => break,
                            _ = tokio::time::sleep_until(deadline) => {
                                let held_up = upload.held_up_since().is_some_and(|since| {
                                    tokio::time::Instant::now() >= super::after(since, read)
                                });
                                if held_up && upload.sent_at().is_none() {
                                    return Stalled::Upload;
                                }
                            }
                        }
                    }
                }
                tokio::time::sleep(read).await;
                Stalled::Head
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = total => "total request timeout elapsed waiting for the response headers",
        stalled = read => match stalled {
            Stalled::Head => "read timeout elapsed waiting for the response headers",
            Stalled::Upload => "read timeout elapsed: the server stopped taking the request body",
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<TimeoutBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            let response = result.map_err(Error::from_service)?;
            return Poll::Ready(Ok(match this.limits.take() {
                Some(limits) => {
                    let Limits {
                        deadlines,
                        uri,
                        upload,
                        ..
                    } = *limits;
                    response.map(|body| TimeoutBody::new(body, deadlines, uri, upload))
                }
                None => response.map(TimeoutBody::unlimited),
            }));
        }
        let Some(limits) = this.limits.as_deref_mut() else {
            return Poll::Pending;
        };
        let Some(deadline) = limits.head_deadline.as_mut() else {
            return Poll::Pending;
        };
        let what = ready!(deadline.as_mut().poll(cx));
        Poll::Ready(Err(Error::timeout(what).with_uri(&limits.uri)))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("deadlines", &self.limits.as_ref().map(|l| l.deadlines))
            .finish_non_exhaustive()
    }
}
