//! Sets `User-Agent` on requests that have none.
//!
//! [`UserAgentLayer`] wraps a service in [`UserAgent`], which never overrides a `User-Agent` the request
//! already carries, and changes nothing else: not the response, not other headers. Errors of the inner
//! service become Courier [`Error`]s, as every layer's do.

use std::task::{Context, Poll};

use http::header::{HeaderValue, USER_AGENT};
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error};
use crate::headers::insert_if_absent;
pub use crate::request_only::ResponseFuture;

/// The default `User-Agent`: `courier/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("courier/", env!("CARGO_PKG_VERSION"));

/// A [`Layer`] that sets `User-Agent` when the request has none.
///
/// ```
/// use courier_core::user_agent::UserAgentLayer;
/// use tower_layer::Layer;
///
/// let layer = UserAgentLayer::new("my-app/1.0");
/// let service = layer.layer(tower::service_fn(|req: http::Request<()>| async move {
///     Ok::<_, std::convert::Infallible>(req.headers()["user-agent"].clone())
/// }));
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
pub struct UserAgentLayer {
    value: HeaderValue,
}

impl UserAgentLayer {
    /// Sets the given user agent.
    ///
    /// # Panics
    /// If `value` is not a valid header value (use [`UserAgentLayer::from_header_value`] to avoid it).
    pub fn new(value: &str) -> Self {
        UserAgentLayer {
            value: HeaderValue::from_str(value).expect("invalid User-Agent value"),
        }
    }

    /// Sets the given, already validated, user agent.
    pub fn from_header_value(value: HeaderValue) -> Self {
        UserAgentLayer { value }
    }
}

impl Default for UserAgentLayer {
    fn default() -> Self {
        UserAgentLayer {
            value: HeaderValue::from_static(DEFAULT_USER_AGENT),
        }
    }
}

impl<S> Layer<S> for UserAgentLayer {
    type Service = UserAgent<S>;

    fn layer(&self, inner: S) -> UserAgent<S> {
        UserAgent {
            inner,
            value: self.value.clone(),
        }
    }
}

/// The service made by [`UserAgentLayer`].
#[derive(Clone, Debug)]
pub struct UserAgent<S> {
    inner: S,
    value: HeaderValue,
}

impl<S> UserAgent<S> {
    /// Wraps `inner`, setting `value` as the user agent.
    pub fn new(inner: S, value: HeaderValue) -> Self {
        UserAgent { inner, value }
    }

    inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for UserAgent<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        insert_if_absent(req.headers_mut(), USER_AGENT, &self.value);
        ResponseFuture::new(self.inner.call(req))
    }
}
