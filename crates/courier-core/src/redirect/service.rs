//! [`FollowRedirect`]: the service made by [`FollowRedirectLayer`](super::FollowRedirectLayer).

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::chain::Chain;
use super::future::ResponseFuture;
use super::layer::FollowRedirectLayer;
use super::policy::Policy;
use crate::body::TryCloneBody;
use crate::error::{BoxError, Error};

/// Follows redirect responses of the inner service under a [`Policy`]; see the
/// [module docs](super).
///
/// The first hop calls the inner service (after `poll_ready`); each further hop waits on a fresh
/// clone of it, like `tower::ServiceExt::oneshot`.
#[derive(Clone, Debug)]
pub struct FollowRedirect<S> {
    inner: S,
    policy: Policy,
}

impl<S> FollowRedirect<S> {
    /// Wraps `inner`, following redirects under `policy`.
    pub fn new(inner: S, policy: Policy) -> Self {
        FollowRedirect { inner, policy }
    }

    /// A layer that wraps services in `FollowRedirect` with `policy`.
    pub fn layer(policy: Policy) -> FollowRedirectLayer {
        FollowRedirectLayer::new(policy)
    }

    /// The redirect policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for FollowRedirect<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: http_body::Body + Default + TryCloneBody,
    ResB: http_body::Body,
{
    type Response = Response<ResB>;
    type Error = Error;
    type Future = ResponseFuture<S, ReqB, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // `Policy::none()` is the hot path that must cost nothing: no clones, no URL parsing.
        let chain = self
            .policy
            .may_follow()
            .then(|| Chain::new(self.inner.clone(), self.policy.clone(), &req));
        ResponseFuture::new(self.inner.call(req), chain)
    }
}
