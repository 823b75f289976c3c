//! When a failed attempt is retried, and after how long.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};

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

/// How a request error is retried: connection failures, resets, timeouts and cut bodies are
/// transient; a bad URL, a redirect loop or a corrupt compressed body are not.
pub(super) fn for_error(err: &Error) -> Retry {
    if err.is_connect() || err.is_timeout() || err.is_body() || err.is_request() {
        Retry::Backoff
    } else {
        Retry::Never
    }
}

/// How an error status is retried: 408, 429 and 5xx are transient (honouring `Retry-After` when the
/// server sent one), other 4xx are not.
pub(super) fn for_status(status: StatusCode, headers: &HeaderMap) -> Retry {
    let transient = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if !transient {
        return Retry::Never;
    }
    match retry_after(headers, SystemTime::now()) {
        Some(delay) => Retry::After(delay),
        None => Retry::Backoff,
    }
}

/// `Retry-After` as a delay: delay-seconds, or an HTTP-date (a date in the past means now).
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The backoff before retry number `attempt` (1-based): `initial × 2^(attempt-1)` capped at `max`,
/// then drawn uniformly from its upper half so that many jobs failing together do not retry in step.
pub(super) fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let delay = initial.saturating_mul(1u32 << exponent).min(max);
    let half = delay / 2;
    half + half.mul_f64(unit_random())
}

/// A number in `[0, 1)`, random enough for jitter without a dependency: each `RandomState` has fresh
/// keys.
fn unit_random() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            retry_after(&headers("3"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&headers("-1"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
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

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..100 {
            let first = backoff(initial, max, 1);
            assert!(
                first >= Duration::from_millis(50) && first <= initial,
                "{first:?}"
            );
            let third = backoff(initial, max, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff(initial, max, 40);
            assert!(late >= max / 2 && late <= max);
        }
        let draws: std::collections::HashSet<_> =
            (0..20).map(|_| backoff(initial, max, 2)).collect();
        assert!(draws.len() > 1, "jitter must vary the delay");
    }
}
