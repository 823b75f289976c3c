//! Parsing `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    let date = parse_http_date(value)?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses the three HTTP-date formats RFC 9110 §5.6.7 requires recipients to accept:
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`
/// - asctime: `Sun Nov  6 08:49:37 1994`
///
/// The weekday is not checked against the date (recipients may ignore it). Dates before 1970 read as the
/// epoch.
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    let (year, month, day, time) = if let Some((_weekday, rest)) = value.split_once(',') {
        let fields: Vec<&str> = rest.split_whitespace().collect();
        match fields.as_slice() {
            // IMF-fixdate
            [day, month, year, time, "GMT"] if year.len() == 4 => {
                (number(year)?, month_number(month)?, number(day)?, *time)
            }
            // RFC 850: a two-digit year; RFC 9110 says one more than 50 years in the future is in the
            // past century, which for any date a server sends today means 19xx for 70..=99.
            [date, time, "GMT"] => {
                let mut parts = date.split('-');
                let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() || year.len() != 2 {
                    return None;
                }
                let year = number(year)?;
                let year = if year >= 70 { 1900 + year } else { 2000 + year };
                (year, month_number(month)?, number(day)?, *time)
            }
            _ => return None,
        }
    } else {
        // asctime: the day of month may be padded with a space, hence split_whitespace.
        let fields: Vec<&str> = value.split_whitespace().collect();
        match fields.as_slice() {
            [_weekday, month, day, time, year] if year.len() == 4 => {
                (number(year)?, month_number(month)?, number(day)?, *time)
            }
            _ => return None,
        }
    };
    let mut hms = time.split(':');
    let (hour, minute, second) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next()?)?,
    );
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A leap second (:60) reads as the next second.
    let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    Some(match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => UNIX_EPOCH,
    })
}

/// A short all-digit field (at most 4 digits, so no overflow).
fn number(field: &str) -> Option<u32> {
    if field.is_empty() || field.len() > 4 || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|m| *m == name)
        .map(|index| index as u32 + 1)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        // Gregorian leap years (written without `is_multiple_of`, which is newer than the MSRV).
        _ if matches!((year % 4, year % 100, year % 400), (0, 1.., _) | (_, _, 0)) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06T08:49:37Z, the example date of RFC 9110.
    fn rfc_example() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn parses_the_three_date_formats() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(rfc_example())
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(rfc_example())
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(rfc_example())
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(951_868_799))
        );
        assert_eq!(
            parse_http_date("Mon, 01 Jan 1900 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "",
            "GMT",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:01 GMT",
            "Sun, 06 Nov 1994 -8:49:37 GMT",
            "Sun, 06 Nov 99999 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
            "soon",
            "1.5",
            "-1",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
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
        assert_eq!(parse("-5", now), None);
        assert_eq!(parse("1.5", now), None);
        assert_eq!(parse("", now), None);
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
