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

pin_project! {
    /// The future returned by [`FollowRedirect`](super::FollowRedirect): the final response, or a
    /// Courier [`Error`].
    pub struct ResponseFuture<S: Service<Request<B>>, B> {
        #[pin]
        hop: Hop<S, B>,
        // `None` for `Policy::none()`: the first response is the answer.
        chain: Option<Chain<S, B>>,
    }
}

pin_project! {
    /// One request to the inner service: like `tower::util::Oneshot`, waits for a fresh clone of the
    /// service to be ready, then calls it.
    #[project = HopProj]
    enum Hop<S: Service<Request<B>>, B> {
        NotReady {
            service: S,
            request: Option<Request<B>>,
        },
        Called {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S: Service<Request<B>>, B> ResponseFuture<S, B> {
    pub(super) fn new(future: S::Future, chain: Option<Chain<S, B>>) -> Self {
        ResponseFuture {
            hop: Hop::Called { future },
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
            let result = match this.hop.as_mut().project() {
                HopProj::Called { future } => ready!(future.poll(cx)),
                HopProj::NotReady { service, request } => {
                    let called = match ready!(service.poll_ready(cx)) {
                        Ok(()) => {
                            let request = request
                                .take()
                                .expect("redirect ResponseFuture polled after completion");
                            Ok(service.call(request))
                        }
                        Err(err) => Err(err),
                    };
                    match called {
                        Ok(future) => {
                            this.hop.set(Hop::Called { future });
                            continue;
                        }
                        Err(err) => Err(err),
                    }
                }
            };
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
                Step::Follow(request) => this.hop.set(Hop::NotReady {
                    service: chain.service.clone(),
                    request: Some(request),
                }),
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
