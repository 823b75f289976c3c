//! Sets `User-Agent` on requests that have none.
//!
//! [`UserAgentLayer`] wraps a service in [`UserAgent`], which never overrides a `User-Agent` the request
//! already carries, and changes nothing else: not the response, not other headers. Errors of the inner
//! service become Courier [`Error`](crate::Error)s, as every layer's do.

use http::header::{HeaderValue, USER_AGENT};
use tower_layer::Layer;

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
        UserAgent::new(inner, self.value.clone())
    }
}

/// The service made by [`UserAgentLayer`].
#[derive(Clone, Debug)]
pub struct UserAgent<S> {
    inner: S,
    /// `None`: sets nothing (see [`UserAgent::optional`]).
    value: Option<HeaderValue>,
}

impl<S> UserAgent<S> {
    /// Wraps `inner`, setting `value` as the user agent.
    pub fn new(inner: S, value: HeaderValue) -> Self {
        UserAgent {
            inner,
            value: Some(value),
        }
    }

    /// Wraps `inner`, setting `value` when there is one: a stack whose user agent is optional (a
    /// client sending none, as reqwest's by default) keeps one type either way.
    pub fn optional(inner: S, value: Option<HeaderValue>) -> Self {
        UserAgent { inner, value }
    }

    inner_service_accessors!();
}

set_header_if_absent_service!(UserAgent, USER_AGENT);
