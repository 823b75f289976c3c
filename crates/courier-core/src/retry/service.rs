//! [`Retry`]: the service made by [`RetryLayer`](super::RetryLayer).

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::RetryLayer;
use super::policy::RetryPolicy;
use crate::body::TryCloneBody;
use crate::error::{BoxError, Error};

/// Sends a request again when the inner service fails in a way the [`RetryPolicy`] deems retryable;
/// see the [module docs](super).
///
/// Built on [`tower::retry::Retry`]: each request works on a clone of the inner service and of the
/// policy. Errors of the inner service become Courier [`Error`]s (through
/// [`Error::from_service`]) before the policy looks at them.
///
/// With [`RetryPolicy::disabled`] it costs nothing: requests go straight to the inner service, with no
/// clone of the service, the policy or the request.
#[derive(Clone, Debug)]
pub struct Retry<S> {
    inner: tower::retry::Retry<RetryPolicy, ClassifyErrors<S>>,
    disabled: bool,
}

impl<S> Retry<S> {
    /// Wraps `inner`, retrying under `policy`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Retry {
            disabled: policy.get_max_retries() == 0,
            inner: tower::retry::Retry::new(policy, ClassifyErrors { inner }),
        }
    }

    /// A layer that wraps services in `Retry` with `policy`.
    pub fn layer(policy: RetryPolicy) -> RetryLayer {
        RetryLayer::new(policy)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner.get_ref().inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.get_mut().inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner().inner
    }
}

impl<S, B, ResB> Service<Request<B>> for Retry<S>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    B: TryCloneBody,
{
    type Response = Response<ResB>;
    type Error = Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if self.disabled {
            // tower's Retry clones itself for every request; skip it when there is nothing to retry.
            // `poll_ready` on the tower service polled this same inner service.
            return ResponseFuture::direct(self.inner.get_mut().call(req));
        }
        ResponseFuture::retrying(self.inner.call(req))
    }
}

/// The inner service with its errors turned into Courier [`Error`]s, so the policy can classify them.
#[derive(Clone, Debug)]
pub(crate) struct ClassifyErrors<S> {
    inner: S,
}

impl<S, R> Service<R> for ClassifyErrors<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = crate::request_only::ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, req: R) -> Self::Future {
        crate::request_only::ResponseFuture::new(self.inner.call(req))
    }
}
