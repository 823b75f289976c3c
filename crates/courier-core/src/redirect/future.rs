//! [`ResponseFuture`]: sends each hop and asks the [`Chain`] what comes next.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::chain::{Chain, Step};
use crate::body::TryCloneBody;
use crate::error::{BoxError, Error};
use crate::resend::Attempt;

pin_project! {
    /// The future returned by [`FollowRedirect`](super::FollowRedirect): the final response, or a
    /// Courier [`Error`].
    pub struct ResponseFuture<S: Service<Request<B>>, B> {
        #[pin]
        hop: Attempt<S, B>,
        // `None` for `Policy::none()`: the first response is the answer.
        chain: Option<Chain<S, B>>,
    }
}

impl<S: Service<Request<B>>, B> ResponseFuture<S, B> {
    pub(super) fn new(future: S::Future, chain: Option<Chain<S, B>>) -> Self {
        ResponseFuture {
            hop: Attempt::first(future),
            chain,
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
                Step::Follow(request) => {
                    this.hop.set(Attempt::again(chain.service.clone(), request))
                }
            }
        }
    }
}

impl<S: Service<Request<B>>, B> fmt::Debug for ResponseFuture<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("follows_redirects", &self.chain.is_some())
            .finish_non_exhaustive()
    }
}
