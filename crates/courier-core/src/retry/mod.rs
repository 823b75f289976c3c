//! Retries requests that failed in ways worth another try, under a [`RetryPolicy`].
//!
//! [`RetryLayer`] wraps any `Service<http::Request<B>>` that is `Clone`, whose request body can be
//! replayed ([`TryCloneBody`](crate::body::TryCloneBody)) and whose error converts into a
//! [`BoxError`](crate::BoxError). It is built on [`tower::retry`]; [`RetryPolicy`] also works with
//! tower's `Retry` directly.
//!
//! What is retried, by default:
//!
//! - **Connect errors** ([`Error::is_connect`](crate::Error::is_connect): DNS, TCP, TLS, connect
//!   timeouts), for *every* method: the request never reached the server.
//! - **Resets before any response**: the connection was closed or reset while the request was sent or
//!   before the response head came ([`Error::is_request`](crate::Error::is_request) caused by hyper's
//!   incomplete message, a canceled dispatch, or an io reset / abort / broken pipe / early EOF).
//! - **429 Too Many Requests and 503 Service Unavailable** responses. A `Retry-After` header (seconds or
//!   an HTTP-date) sets the wait; one longer than [`RetryPolicy::max_retry_after`] (30 s by default)
//!   means the response is returned as it is. The body of a response that is retried is dropped
//!   unread.
//! - Only for **idempotent methods** (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`), except
//!   connect errors; [`RetryPolicy::retry_non_idempotent`] opts in to the rest.
//! - Only **replayable bodies**: a request whose body cannot be cloned (a stream) is sent once.
//!
//! How often and when: at most [`RetryPolicy::max_retries`] retries (3) per request, each after an
//! exponential backoff with full jitter (retry `n` waits a random time in `[0, base * 2^n]`, capped),
//! and never more than a shared [`RetryBudget`] allows (by default 20% of recent requests plus 10 per
//! second), so a failing server does not get its load multiplied.
//!
//! When the retries are spent, the last attempt's outcome is returned as it is: a 503 *response* stays a
//! response, an error stays that error.
//!
//! What it does not do: it does not retry timeouts unless asked ([`RetryPolicy::retry_timeouts`]),
//! other statuses (500, 502, 504, ...), errors after the response head arrived (a body cut mid-way is
//! the caller's to handle: the response was already returned), or decode and redirect errors. It does
//! not buffer streaming bodies to make them replayable, and does not add an idempotency key. Place it
//! *below* a redirect layer, so each hop is retried on its own, and inside any total timeout, which
//! then bounds the retries too.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use courier_core::retry::{RetryLayer, RetryPolicy};
//! use courier_core::Body;
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), courier_core::Error> {
//! let attempts = Arc::new(AtomicUsize::new(0));
//! let counter = attempts.clone();
//! // Busy on the first attempt, fine on the second.
//! let server = service_fn(move |_req: Request<Body>| {
//!     let attempt = counter.fetch_add(1, Ordering::SeqCst);
//!     async move {
//!         let res = match attempt {
//!             0 => Response::builder().status(StatusCode::SERVICE_UNAVAILABLE).header("retry-after", "0"),
//!             _ => Response::builder(),
//!         };
//!         Ok::<_, std::convert::Infallible>(res.body(()).unwrap())
//!     }
//! });
//! let policy = RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_secs(1));
//! let client = RetryLayer::new(policy).layer(server);
//!
//! let req = Request::get("http://example.com/").body(Body::empty()).unwrap();
//! let res = client.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(attempts.load(Ordering::SeqCst), 2);
//! # Ok(())
//! # }
//! ```

mod backoff;
mod budget;
mod future;
mod layer;
mod policy;
mod retry_after;
mod scoped;
mod service;
#[cfg(test)]
mod tests;

pub use budget::RetryBudget;
pub use future::{ResponseFuture, RetryDelay};
pub use layer::RetryLayer;
pub use policy::{
    RetryPolicy, DEFAULT_BASE_DELAY, DEFAULT_MAX_DELAY, DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
};
pub use scoped::{for_host, never, Action, Builder, ReqRep};
pub use service::Retry;

use std::time::{Duration, SystemTime};

/// The wait before retry number `retry` (0 for the first): uniformly random in
/// `[0, min(max, base × 2^retry)]` ("full jitter"), so clients that failed together do not retry
/// together. The one backoff of Courier: [`RetryPolicy`] and the downloader both use it.
///
/// ```
/// use std::time::Duration;
/// let delay = courier_core::retry::backoff(Duration::from_millis(100), Duration::from_secs(1), 2);
/// assert!(delay <= Duration::from_millis(400));
/// ```
pub fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    backoff::full_jitter(base, max, retry)
}

/// How long a response's `Retry-After` header (RFC 9110 §10.2.3) asks to wait, measured from `now`:
/// delay-seconds or an HTTP-date (a date in the past reads as zero, a number too large for a `u64`
/// as [`Duration::MAX`]); `None` when absent or unreadable. The one parser of Courier:
/// [`RetryPolicy`] and the downloader both use it.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let mut headers = http::HeaderMap::new();
/// headers.insert(http::header::RETRY_AFTER, "120".parse().unwrap());
/// assert_eq!(
///     courier_core::retry::retry_after(&headers, SystemTime::now()),
///     Some(Duration::from_secs(120))
/// );
/// ```
pub fn retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    retry_after::retry_after(headers, now)
}

/// True for a status that may be different if asked again: 408 Request Timeout, 429 Too Many
/// Requests and the 5xx. The rule the downloader applies to responses, and the transport to a
/// proxy's refusal of a tunnel.
///
/// ```
/// use http::StatusCode;
/// assert!(courier_core::retry::transient_status(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(!courier_core::retry::transient_status(StatusCode::FORBIDDEN));
/// ```
pub fn transient_status(status: http::StatusCode) -> bool {
    status == http::StatusCode::REQUEST_TIMEOUT
        || status == http::StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// True when a request that failed with `err` (before any response) may be sent again with `method`:
/// what the transport recorded as the request's [`Fate`](crate::transport::Fate) allows it. The one
/// rule [`RetryPolicy`] and the downloader share (timeouts are each one's own setting).
///
/// ```
/// use courier_core::Error;
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// assert!(courier_core::retry::may_resend(&Error::connect(refused), &http::Method::POST));
/// assert!(!courier_core::retry::may_resend(&Error::body("cut"), &http::Method::GET));
/// ```
pub fn may_resend(err: &crate::Error, method: &http::Method) -> bool {
    err.fate().is_some_and(|fate| fate.allows_resend(method))
}
