//! [`ResponseFuture`]: sends each hop and asks the [`Chain`] what comes next.
//!
//! Before the next hop goes, the redirect's own body is read, as curl and Python's requests do, up to
//! [`DRAIN_LIMIT`] bytes and for at most [`DRAIN_WAIT`]: a body read to its end lets a cache below
//! store the redirect, and its connection go back to the pool. A larger body, or one that does not
//! end in time, is dropped unread (its connection is then closed), and the chain goes on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Buf;

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::chain::{Chain, Step};
use crate::body::{TryCloneBody, DRAIN_LIMIT};
use crate::error::{BoxError, Error};
use crate::resend::Attempt;

/// How long a redirect's body may take to end before the next hop goes without it.
pub(crate) const DRAIN_WAIT: Duration = Duration::from_millis(500);

pin_project! {
    /// The future returned by [`FollowRedirect`](super::FollowRedirect): the final response, or a
    /// Courier [`Error`].
    pub struct ResponseFuture<S: Service<Request<B>>, B, ResB> {
        #[pin]
        hop: Attempt<S, B>,
        // `None` for `Policy::none()`: the first response is the answer.
        chain: Option<Chain<S, B>>,
        // The redirect just followed, whose body is read before `next` is sent.
        drain: Option<Box<Drain<ResB, Request<B>>>>,
    }
}

impl<S: Service<Request<B>>, B, ResB> ResponseFuture<S, B, ResB> {
    pub(super) fn new(future: S::Future, chain: Option<Chain<S, B>>) -> Self {
        ResponseFuture {
            hop: Attempt::first(future),
            chain,
            drain: None,
        }
    }
}

/// A redirect's body being read (see the module docs), and the request to send after it.
pub(super) struct Drain<ResB, Next> {
    body: Pin<Box<ResB>>,
    read: u64,
    // Armed at the first wait: a body that has arrived whole needs no timer.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    next: Next,
}

impl<ResB: http_body::Body, Next> Drain<ResB, Next> {
    /// The request to send next, once the body has ended, failed, grown past the limit or run out of
    /// time.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.read > DRAIN_LIMIT || self.body.is_end_stream() {
                return Poll::Ready(());
            }
            match self.body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        self.read += data.remaining() as u64;
                    }
                }
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => {
                    let deadline = self
                        .deadline
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(DRAIN_WAIT)));
                    return deadline.as_mut().poll(cx);
                }
            }
        }
    }
}

impl<S, B, ResB> Future for ResponseFuture<S, B, ResB>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    B: http_body::Body + Default + TryCloneBody,
    ResB: http_body::Body,
{
    type Output = Result<Response<ResB>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some(drain) = this.drain.as_mut() {
                ready!(drain.poll_done(cx));
                let Drain { next, .. } = *this.drain.take().expect("draining");
                let chain = this.chain.as_mut().expect("only a chain follows");
                this.hop.set(Attempt::again(chain.service.clone(), next));
            }
            let result = ready!(this.hop.as_mut().poll_response(cx));
            let res = match result {
                Ok(res) => res,
                Err(err) => {
                    let mut err = Error::from_service(err);
                    if let Some(url) = this.chain.as_ref().and_then(Chain::current_url) {
                        err = err.with_url(url.clone());
                    }
                    return Poll::Ready(Err(err));
                }
            };
            let Some(chain) = this.chain.as_mut() else {
                return Poll::Ready(Ok(res));
            };
            match chain.next(res)? {
                Step::Done(res) => return Poll::Ready(Ok(res)),
                Step::Follow(next, body) => {
                    *this.drain = Some(Box::new(Drain {
                        body: Box::pin(body),
                        read: 0,
                        deadline: None,
                        next,
                    }));
                }
            }
        }
    }
}

impl<S: Service<Request<B>>, B, ResB> fmt::Debug for ResponseFuture<S, B, ResB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("follows_redirects", &self.chain.is_some())
            .finish_non_exhaustive()
    }
}
