//! When a failed attempt is retried, and after how long.

use std::time::{Duration, SystemTime};

use courier_core::retry::{may_resend, retry_after};
use http::{HeaderMap, Method, StatusCode};

use crate::Error;

/// What a failed attempt calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// Fail the job now: retrying cannot help (a 404, a full disk, a checksum mismatch).
    Never,
    /// Retry after the exponential backoff delay.
    Backoff,
    /// Retry after the delay the server asked for with `Retry-After`.
    After(Duration),
}

/// How a request error is retried: a cut body (resumed), a timeout, or a failure before any response
/// whose fate allows sending a GET again (`courier_core::retry::may_resend`, the rule `RetryPolicy`
/// uses too) are transient; a bad URL, a redirect loop, a malformed response or a corrupt compressed
/// body are not.
pub(super) fn for_error(err: &Error) -> Retry {
    if err.is_body() || err.is_timeout() || may_resend(err, &Method::GET) {
        Retry::Backoff
    } else {
        Retry::Never
    }
}

/// How an error status is retried: 408, 429 and 5xx are transient (honouring `Retry-After` when the
/// server sent one), other 4xx are not.
pub(super) fn for_status(status: StatusCode, headers: &HeaderMap) -> Retry {
    if !courier_core::retry::transient_status(status) {
        return Retry::Never;
    }
    match retry_after(headers, SystemTime::now()) {
        Some(delay) => Retry::After(delay),
        None => Retry::Backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::RETRY_AFTER;
    use http::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn statuses() {
        let none = HeaderMap::new();
        assert_eq!(for_status(StatusCode::NOT_FOUND, &none), Retry::Never);
        assert_eq!(for_status(StatusCode::FORBIDDEN, &none), Retry::Never);
        assert_eq!(for_status(StatusCode::BAD_GATEWAY, &none), Retry::Backoff);
        assert_eq!(
            for_status(StatusCode::TOO_MANY_REQUESTS, &none),
            Retry::Backoff
        );
        assert_eq!(
            for_status(StatusCode::SERVICE_UNAVAILABLE, &headers("2")),
            Retry::After(Duration::from_secs(2))
        );
        assert_eq!(for_status(StatusCode::GONE, &headers("2")), Retry::Never);
    }
}
