//! [`ResponseFuture`]: sends each attempt and asks the [`Handshake`] what comes next.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::handshake::{Handshake, Step};
use crate::body::TryCloneBody;
use crate::error::{BoxError, Error};
use crate::resend::Attempt;

pin_project! {
    /// The future returned by [`Auth`](super::Auth): the final response (a challenge
    /// that could not be answered is returned as it is), or a Courier [`Error`].
    pub struct ResponseFuture<S: Service<Request<B>>, B> {
        #[pin]
        attempt: Attempt<S, B>,
        // `None` when the request has no credentials to answer with.
        handshake: Option<Box<Handshake<S, B>>>,
    }
}

impl<S: Service<Request<B>>, B> ResponseFuture<S, B> {
    pub(super) fn new(future: S::Future, handshake: Option<Box<Handshake<S, B>>>) -> Self {
        ResponseFuture {
            attempt: Attempt::first(future),
            handshake,
        }
    }
}

impl<S, B, ResB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    B: http_body::Body + Default + TryCloneBody,
{
    type Output = Result<Response<ResB>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let res =
                ready!(this.attempt.as_mut().poll_response(cx)).map_err(Error::from_service)?;
            let Some(handshake) = this.handshake.as_mut() else {
                return Poll::Ready(Ok(res));
            };
            match handshake.next(res) {
                Step::Done(res) => return Poll::Ready(Ok(res)),
                Step::Again(req) => this
                    .attempt
                    .set(Attempt::again(handshake.service.clone(), req)),
            }
        }
    }
}

impl<S: Service<Request<B>>, B> fmt::Debug for ResponseFuture<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("has_credentials", &self.handshake.is_some())
            .finish_non_exhaustive()
    }
}
