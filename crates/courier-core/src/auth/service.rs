//! [`Auth`]: the service made by [`AuthLayer`](super::AuthLayer).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::handshake::Handshake;
use super::layer::Config;
use crate::body::TryCloneBody;
use crate::error::{BoxError, Error};

/// Answers `401` and `407` challenges of the inner service with credentials; see the
/// [module docs](super).
///
/// A request with no credentials to answer with (none carried, none in the store, no proxy
/// credentials) goes through untouched, at no cost.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Auth<S> {
    pub(super) fn from_config(inner: S, config: Arc<Config>) -> Self {
        Auth { inner, config }
    }

    inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Auth<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: http_body::Body + Default + TryCloneBody,
{
    type Response = Response<ResB>;
    type Error = Error;
    type Future = ResponseFuture<S, ReqB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let handshake = Handshake::start(|| self.inner.clone(), &self.config, &mut req);
        ResponseFuture::new(self.inner.call(req), handshake.map(Box::new))
    }
}

impl<S> fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.config.store.len())
            .field("proxy", &self.config.proxy.is_some())
            .finish_non_exhaustive()
    }
}
