//! [`Timeout`], the service made by [`TimeoutLayer`](super::TimeoutLayer).

use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::Config;
use super::{TimeoutBody, TimeoutLayer, TotalTimeout, WatchUpload};
use crate::error::{BoxError, Error};

/// Puts each request under the deadlines of its [`TimeoutLayer`]; see the [module docs](super).
///
/// ```
/// use std::time::Duration;
/// use courier_core::timeout::Timeout;
///
/// let service = Timeout::new(
///     tower::service_fn(|_req: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     }),
///     Duration::from_secs(30),
/// );
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Timeout<S> {
    inner: S,
    config: Config,
}

impl<S> Timeout<S> {
    /// Wraps `inner` with a total timeout (see [`TimeoutLayer::new`]).
    pub fn new(inner: S, total: Duration) -> Timeout<S> {
        let config = Config {
            total: Some(total),
            ..Config::default()
        };
        Timeout::from_config(inner, config)
    }

    pub(super) fn from_config(inner: S, config: Config) -> Timeout<S> {
        Timeout { inner, config }
    }

    /// A [`TimeoutLayer`] with a total timeout.
    pub fn layer(total: Duration) -> TimeoutLayer {
        TimeoutLayer::new(total)
    }

    inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Timeout<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ReqB: WatchUpload,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<TimeoutBody<ResB>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        // Taken off: it is this layer's to enforce (a timeout layer below, e.g. the `Client`'s
        // per-attempt read timeout, must not start it again on every attempt).
        let own = req.extensions_mut().remove::<TotalTimeout>().map(|t| t.0);
        let deadlines = self.config.deadlines(own);
        if deadlines.is_none() {
            return ResponseFuture::unlimited(self.inner.call(req));
        }
        let uri = req.uri().clone();
        if let Some(total) = deadlines.total {
            req.extensions_mut().insert(super::Deadline(total));
        }
        // The read timeout and the speed limit measure the server, which may be waiting for a
        // streaming request body: they start once it has been sent.
        let (req, upload) = if deadlines.read.is_some() || deadlines.min_speed.is_some() {
            let (parts, body) = req.into_parts();
            let (body, upload) = body.watch_upload();
            (Request::from_parts(parts, body), upload)
        } else {
            (req, None)
        };
        ResponseFuture::new(self.inner.call(req), deadlines, upload, uri)
    }
}
