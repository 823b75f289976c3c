//! Deadlines on waiting for a response: a total timeout, a read timeout and a minimum transfer speed.
//!
//! [`TimeoutLayer`] wraps a service in [`Timeout`], which enforces up to three deadlines, each optional
//! and each usable alone:
//!
//! - **the total timeout** ([`TimeoutLayer::new`]): from the call until the response body has been read
//!   to its end, whatever happens in between (every redirect hop and retry of the layers below, a wait
//!   for a pooled connection, the reader's own pauses). A request carrying a [`TotalTimeout`] extension
//!   gets that one instead of the layer's;
//! - **the read timeout** ([`read_timeout`](TimeoutLayer::read_timeout)): the longest silence of the
//!   server, first while waiting for the response head, then between two chunks of the body. It measures
//!   the server, not the client: it starts once a streaming request body has been sent (bodies say when
//!   through [`WatchUpload`]), so a long upload does not trip it unless the server stops taking it
//!   (a chunk the connection has not taken counts as silence from when it was handed over, so one
//!   chunk larger than the link carries within the timeout counts so too), and the time the reader takes between
//!   two chunks is not counted;
//! - **the minimum speed** ([`min_speed`](TimeoutLayer::min_speed)): a response body that brings fewer
//!   than `bytes_per_sec * window` bytes in any `window` (the reader's pauses left out) is ended, as
//!   curl's `--speed-limit` / `--speed-time` do, so a stalled download fails instead of hanging.
//!
//! With no deadline set (and no [`TotalTimeout`] on the request) the service only passes requests on:
//! no timer is armed.
//!
//! ## Errors
//!
//! A deadline that passes is a Courier [`Error`](crate::Error) for which
//! [`is_timeout`](crate::Error::is_timeout) is true, naming the request's URL and which deadline
//! passed: from the response future before the head arrived, from the body's `poll_frame` after.
//! Errors of the inner service and body are converted with
//! [`Error::from_service`](crate::Error::from_service) and [`Error::from_body`](crate::Error::from_body),
//! keeping their kinds.
//!
//! ## What it does not do
//!
//! - It does not time connecting: that is the transport's `connect_timeout` (the total timeout still
//!   covers it, as it covers everything).
//! - It puts no deadline on sending the request body: a slow upload is the total timeout's business.
//! - Where it sits decides what it covers: Courier's `Client` puts the total timeout and minimum speed
//!   outermost, so they cover every hop and retry, and the read timeout in a second instance right
//!   above the transport, so it times each attempt's wait for its own head and never a redirect
//!   chain or a retry's wait.
//! - It does not retry: a timed-out request is an error to the caller (or to a retry layer above it).
//!
//! ## Example
//!
//! ```
//! use std::time::Duration;
//! use courier_core::timeout::TimeoutLayer;
//! use tower::ServiceExt;
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A server that never answers.
//! let silent = tower::service_fn(|_req: http::Request<String>| async {
//!     std::future::pending::<Result<http::Response<String>, std::convert::Infallible>>().await
//! });
//! let client = TimeoutLayer::default()
//!     .read_timeout(Duration::from_millis(50))
//!     .layer(silent);
//! let request = http::Request::get("http://127.0.0.1:8080/").body(String::new()).unwrap();
//! let err = client.oneshot(request).await.unwrap_err();
//! assert!(err.is_timeout());
//! assert_eq!(err.url().unwrap().as_str(), "http://127.0.0.1:8080/");
//! # }
//! ```

use std::time::Duration;

use tokio::time::Instant;

mod body;
mod future;
mod layer;
mod service;
mod upload;

pub use body::TimeoutBody;
pub use future::ResponseFuture;
pub use layer::TimeoutLayer;
pub use service::Timeout;
pub use upload::{UploadDone, WatchUpload};

/// A request extension: this request's total timeout, instead of the layer's (Courier's
/// `RequestBuilder::timeout` sets it). The first timeout layer the request meets takes it off and
/// enforces it; the layers below see its [`Deadline`].
///
/// ```
/// use std::time::Duration;
/// use courier_core::timeout::TotalTimeout;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(TotalTimeout(Duration::from_secs(5)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotalTimeout(pub Duration);

/// A request extension the timeout layer adds for the layers below it: when the request's total
/// timeout passes. The retry layer reads it and does not start a retry whose wait would outlast it:
/// the caller gets the last response (a `503` and its `Retry-After`) instead of a timeout.
///
/// ```
/// use std::time::Duration;
/// use courier_core::timeout::Deadline;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Deadline(tokio::time::Instant::now() + Duration::from_secs(5)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub Instant);

/// The deadlines of one request.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deadlines {
    total: Option<Instant>,
    read: Option<Duration>,
    min_speed: Option<MinSpeed>,
}

impl Deadlines {
    fn is_none(&self) -> bool {
        !self.applies_to_head() && self.min_speed.is_none()
    }

    fn applies_to_head(&self) -> bool {
        self.total.is_some() || self.read.is_some()
    }

    fn applies_to_body(&self) -> bool {
        !self.is_none()
    }
}

/// A transfer slower than `bytes_per_sec`, averaged over `window`, is ended with a timeout error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MinSpeed {
    bytes_per_sec: u64,
    window: Duration,
}

impl MinSpeed {
    fn minimum_bytes(&self) -> u64 {
        (self.bytes_per_sec as f64 * self.window.as_secs_f64()) as u64
    }
}

/// `start + d`, or a deadline a year away when that would overflow the clock (`Duration::MAX` means
/// "no limit" to a caller, as it does to tokio's `sleep`).
pub(crate) fn after(start: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(86400 * 365);
    start.checked_add(d).unwrap_or_else(|| start + FAR)
}

#[cfg(test)]
mod tests;
