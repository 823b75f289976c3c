//! The future of a [`Caching`](super::Caching) call: ready at once (a hit, a `504`), the inner
//! service's future finished by the cache (stored, marked), or a boxed multi-step exchange.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::CacheBody;
use super::exchange::Forwarded;
use crate::error::{BoxError, Error};

/// A boxed multi-step exchange (validation, invalidation).
pub(crate) type BoxExchange<B> =
    Pin<Box<dyn Future<Output = Result<Response<CacheBody<B>>, Error>> + Send>>;

pin_project! {
    /// The future returned by [`Caching`](super::Caching).
    ///
    /// A hit is ready at once; a miss polls the inner future in place; only validations and unsafe
    /// requests (several steps) are boxed.
    #[project = Proj]
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    pub(crate) enum State<F, B> {
        /// No cache configured.
        Pass { #[pin] inner: F },
        /// Sent to the origin; `ctx` finishes the response.
        Forward { #[pin] inner: F, ctx: Option<Box<Forwarded>> },
        /// Answered by the cache.
        Ready { response: Option<Response<CacheBody<B>>> },
        Boxed { exchange: BoxExchange<B> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn pass(inner: F) -> Self {
        ResponseFuture {
            state: State::Pass { inner },
        }
    }

    pub(crate) fn forward(inner: F, ctx: Forwarded) -> Self {
        ResponseFuture {
            state: State::Forward {
                inner,
                ctx: Some(Box::new(ctx)),
            },
        }
    }

    pub(crate) fn ready(response: Response<CacheBody<B>>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn boxed(exchange: BoxExchange<B>) -> Self {
        ResponseFuture {
            state: State::Boxed { exchange },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body,
{
    type Output = Result<Response<CacheBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Pass { inner } => {
                let response = ready!(inner.poll(cx)).map_err(Error::from_service)?;
                Poll::Ready(Ok(response.map(CacheBody::pass)))
            }
            StateProj::Forward { inner, ctx } => {
                let response = ready!(inner.poll(cx)).map_err(Error::from_service)?;
                Poll::Ready(Ok(match ctx.take() {
                    Some(ctx) => ctx.finish(response),
                    None => response.map(CacheBody::pass),
                }))
            }
            StateProj::Ready { response } => Poll::Ready(
                response
                    .take()
                    .ok_or_else(|| Error::request("cache response polled after completion")),
            ),
            StateProj::Boxed { exchange } => exchange.as_mut().poll(cx),
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
