//! Parsing `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// How long a response asks to wait, from its first `Retry-After` header, measured from `now`.
///
/// `None` when there is no such header or it is neither delay-seconds nor an HTTP-date. A number too
/// large for a `u64` reads as [`Duration::MAX`] (the server asked for "a very long time"); a date in the
/// past reads as zero.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    parse(value, now)
}

fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    // The three HTTP-date formats (IMF-fixdate, RFC 850, asctime), as httpdate parses them.
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// 1994-11-06T08:49:37Z, the example date of RFC 9110.
    fn rfc_example() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn accepts_the_three_date_formats() {
        let later = rfc_example() - Duration::from_secs(30);
        for date in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse(date, later),
                Some(Duration::from_secs(30)),
                "{date:?}"
            );
        }
    }

    #[test]
    fn seconds_and_dates_become_delays() {
        let now = rfc_example();
        assert_eq!(parse("0", now), Some(Duration::ZERO));
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse("99999999999999999999999", now), Some(Duration::MAX));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            parse("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in [
            "-5",
            "1.5",
            "",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn reads_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, rfc_example()), None);
        headers.insert(http::header::RETRY_AFTER, " 7 ".parse().unwrap());
        assert_eq!(
            retry_after(&headers, rfc_example()),
            Some(Duration::from_secs(7))
        );
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(retry_after(&headers, rfc_example()), None);
    }
}
