//! The RFC 6265 §5.2 `Set-Cookie` parser and the §5.1.1 cookie-date parser.
//!
//! Hand-written rather than borrowed from the `cookie` crate: that parser follows RFC 6265's *server*
//! grammar (§4.1) and browsers' habits, not the user-agent algorithm of §5.2 — it strips quotes around
//! values, reads `Expires` with three fixed date formats instead of the lenient token algorithm of §5.1.1,
//! accepts a `Max-Age` the RFC ignores, and rejects lines the RFC stores. The algorithms are short; these
//! follow them step by step, on bytes (header values may hold non-UTF-8 bytes).

/// Longest `name=value` (name plus value, in bytes) we store; longer lines are ignored whole.
/// RFC 6265 §6.1 asks for at least 4096 bytes per cookie; browsers reject larger ones.
pub(crate) const MAX_NAME_VALUE_BYTES: usize = 4096;

/// Longest attribute value we read; longer values are ignored (the attribute, not the cookie), as in
/// RFC 6265bis §5.6.
const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// Seconds since the Unix epoch of the latest time this jar represents (year 9999, the last year the
/// cookie-date grammar can express).
pub(crate) const MAX_TIME: i64 = 253_402_300_799;

/// Seconds since the Unix epoch of the earliest time this jar represents (1601-01-01, the earliest
/// cookie-date); a `Max-Age` of zero or less expires the cookie at this time.
pub(crate) const MIN_TIME: i64 = -11_644_473_600;

/// A `Set-Cookie` header parsed by RFC 6265 §5.2, before the storage model (§5.3) is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetCookie {
    pub(crate) name: String,
    pub(crate) value: String,
    /// When the cookie expires (seconds since the Unix epoch) if it has a valid `Max-Age` or `Expires`;
    /// `Max-Age` wins over `Expires` whatever their order (§5.3 step 3). `None`: a session cookie.
    pub(crate) expires: Option<i64>,
    /// The last valid `Domain` attribute: leading `.` removed, lowercased. Not yet checked.
    pub(crate) domain: Option<Vec<u8>>,
    /// The last valid `Path` attribute (starts with `/`); `None` means the default path.
    pub(crate) path: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
}

/// RFC 6265 §5.2: parses one `Set-Cookie` header value. `now` (seconds since the epoch) turns `Max-Age`
/// into an expiry time. Returns `None` when the algorithm says to ignore the line, or when the name or
/// value is not UTF-8 or too long.
pub(crate) fn parse_set_cookie(line: &[u8], now: i64) -> Option<SetCookie> {
    // RFC 6265bis §5.6: a control character other than tab anywhere makes the whole line invalid. A
    // header parser already refuses most of them; `Jar::add_cookie_str` has no such guard, and such a
    // cookie could neither be sent (its header value would be invalid) nor saved and loaded.
    let is_control = |b: &u8| (*b < 0x20 && *b != b'\t') || *b == 0x7f;
    if line.iter().any(is_control) {
        return None;
    }
    let (name_value, mut attributes) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, &b""[..]),
    };
    let eq = name_value.iter().position(|&b| b == b'=')?;
    let name = trim_wsp(&name_value[..eq]);
    let value = trim_wsp(&name_value[eq + 1..]);
    if name.is_empty() || name.len() + value.len() > MAX_NAME_VALUE_BYTES {
        return None;
    }
    let mut cookie = SetCookie {
        name: String::from_utf8(name.to_vec()).ok()?,
        value: String::from_utf8(value.to_vec()).ok()?,
        expires: None,
        domain: None,
        path: None,
        secure: false,
        http_only: false,
    };

    let mut max_age = None;
    let mut expires = None;
    while let Some(rest) = attributes.strip_prefix(b";") {
        let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
        let av = &rest[..end];
        attributes = &rest[end..];
        let (name, value) = match av.iter().position(|&b| b == b'=') {
            Some(i) => (trim_wsp(&av[..i]), trim_wsp(&av[i + 1..])),
            None => (trim_wsp(av), &b""[..]),
        };
        if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
            continue;
        }
        if name.eq_ignore_ascii_case(b"expires") {
            if let Some(t) = parse_cookie_date(value) {
                expires = Some(t);
            }
        } else if name.eq_ignore_ascii_case(b"max-age") {
            if let Some(t) = parse_max_age(value, now) {
                max_age = Some(t);
            }
        } else if name.eq_ignore_ascii_case(b"domain") {
            // §5.2.3: an empty value is ignored (RFC 6265bis instead makes it clear an earlier Domain).
            if !value.is_empty() {
                let domain = value.strip_prefix(b".").unwrap_or(value);
                cookie.domain = Some(domain.to_ascii_lowercase());
            }
        } else if name.eq_ignore_ascii_case(b"path") {
            // §5.2.4: a value that is empty or doesn't start with '/' means the default path.
            cookie.path = match value.first() {
                Some(b'/') => Some(String::from_utf8(value.to_vec()).ok()?),
                _ => None,
            };
        } else if name.eq_ignore_ascii_case(b"secure") {
            cookie.secure = true;
        } else if name.eq_ignore_ascii_case(b"httponly") {
            cookie.http_only = true;
        }
    }
    cookie.expires = max_age.or(expires);
    Some(cookie)
}

/// §5.2.2: `Max-Age` is an optional `-` and digits; zero or less means "expire now".
fn parse_max_age(value: &[u8], now: i64) -> Option<i64> {
    let digits = value.strip_prefix(b"-").unwrap_or(value);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if value[0] == b'-' || digits.iter().all(|&b| b == b'0') {
        return Some(MIN_TIME);
    }
    // Any number of digits is valid; saturate instead of overflowing.
    let seconds = digits.iter().try_fold(0i64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    });
    Some(match seconds {
        Some(s) => now.saturating_add(s).min(MAX_TIME),
        None => MAX_TIME,
    })
}

/// Removes leading and trailing SP and HTAB (RFC 6265's WSP).
fn trim_wsp(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 6265 §5.1.1: parses a cookie-date into seconds since the Unix epoch (UTC). Lenient by design:
/// the date is a list of tokens, and the first token that looks like a time, a day, a month or a year
/// is taken as such, in any order; everything else is ignored.
pub(crate) fn parse_cookie_date(input: &[u8]) -> Option<i64> {
    let mut time = None;
    let mut day = None;
    let mut month = None;
    let mut year = None;
    for token in input.split(|&b| is_delimiter(b)).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = parse_time(token) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = leading_digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            if let Some(m) = parse_month(token) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = leading_digits(token, 2, 4) {
                year = Some(y);
                continue;
            }
        }
    }
    let (hour, minute, second) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// `delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E`
fn is_delimiter(b: u8) -> bool {
    matches!(b, 0x09 | 0x20..=0x2F | 0x3B..=0x40 | 0x5B..=0x60 | 0x7B..=0x7E)
}

/// `1*N DIGIT ( non-digit *OCTET )`: `min..=max` leading digits, then nothing or a non-digit.
fn leading_digits(token: &[u8], min: usize, max: usize) -> Option<u32> {
    let n = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    Some(
        token[..n]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0')),
    )
}

/// `time = hms-time ( non-digit *OCTET )`, `hms-time = time-field ":" time-field ":" time-field`,
/// `time-field = 1*2DIGIT`.
fn parse_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let mut rest = token;
    let mut fields = [0u32; 3];
    for (i, field) in fields.iter_mut().enumerate() {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=2).contains(&n) {
            return None;
        }
        *field = rest[..n]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'));
        rest = &rest[n..];
        if i < 2 {
            rest = rest.strip_prefix(b":")?;
        }
    }
    // After the third field: nothing, or a non-digit (the digit case is excluded by `take_while`).
    Some((fields[0], fields[1], fields[2]))
}

/// `month = ( "jan" / ... / "dec" ) *OCTET`, case-insensitive.
fn parse_month(token: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = token.get(..3)?;
    MONTHS
        .iter()
        .position(|m| prefix.eq_ignore_ascii_case(&m[..]))
        .map(|i| i as u32 + 1)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        // Leap years: divisible by 4, except centuries not divisible by 400.
        2 if matches!((year % 4, year % 100, year % 400), (0, 1.., _) | (_, _, 0)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
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

    const NOW: i64 = 1_300_000_000;

    fn parse(line: &str) -> Option<SetCookie> {
        parse_set_cookie(line.as_bytes(), NOW)
    }

    fn date(s: &str) -> Option<i64> {
        parse_cookie_date(s.as_bytes())
    }

    #[test]
    fn control_characters_reject_the_line() {
        for line in [
            "a=b\0c",
            "a\x01=b",
            "a=b\rc",
            "a=b\nSet-Cookie: x=y",
            "a=\x7f",
        ] {
            assert!(parse(line).is_none(), "{line:?}");
        }
        assert_eq!(parse("a=b\tc").unwrap().value, "b\tc");
    }

    #[test]
    fn name_and_value_are_trimmed_and_kept_verbatim() {
        let c = parse(" \tfoo bar \t=  \"quoted, value\" ; x").unwrap();
        assert_eq!(c.name, "foo bar");
        assert_eq!(c.value, "\"quoted, value\"");
        assert_eq!(c.expires, None);
        assert_eq!(c.domain, None);
        assert_eq!(c.path, None);
        assert!(!c.secure && !c.http_only);

        let c = parse("A=== BC").unwrap();
        assert_eq!((c.name.as_str(), c.value.as_str()), ("A", "== BC"));
        let c = parse("x=").unwrap();
        assert_eq!((c.name.as_str(), c.value.as_str()), ("x", ""));
    }

    #[test]
    fn lines_without_name_are_ignored() {
        for line in [
            "foo",
            "",
            "   ",
            "=",
            "=x",
            "  =x",
            "; a=b",
            "foo;bar=baz",
            "\"a;b\"=c",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn name_value_limit() {
        let ok = format!("a={}", "v".repeat(MAX_NAME_VALUE_BYTES - 1));
        assert!(parse(&ok).is_some());
        let too_long = format!("a={}", "v".repeat(MAX_NAME_VALUE_BYTES));
        assert_eq!(parse(&too_long), None);
    }

    #[test]
    fn non_utf8_name_or_value_is_ignored() {
        assert_eq!(parse_set_cookie(b"a=\xff\xfe", NOW), None);
        assert_eq!(parse_set_cookie(b"\xff=b", NOW), None);
        // Non-UTF-8 bytes in an unknown attribute are fine.
        assert!(parse_set_cookie(b"a=b; x=\xff", NOW).is_some());
    }

    #[test]
    fn attributes() {
        let c = parse("a=b; SeCuRe; HTTPONLY; Path=/x/y; Domain=.Example.ORG; unknown=1").unwrap();
        assert!(c.secure && c.http_only);
        assert_eq!(c.path.as_deref(), Some("/x/y"));
        assert_eq!(c.domain.as_deref(), Some(&b"example.org"[..]));

        // Secure with a value is still Secure; "Secure qux" is an unknown attribute.
        assert!(parse("a=b; Secure=no").unwrap().secure);
        assert!(!parse("a=b; Secure qux").unwrap().secure);
        assert!(!parse("a=b; \"Secure\"").unwrap().secure);
    }

    #[test]
    fn last_path_wins_and_invalid_path_means_default() {
        assert_eq!(
            parse("a=b; Path=/x; Path=/y").unwrap().path.as_deref(),
            Some("/y")
        );
        assert_eq!(parse("a=b; Path=/x; Path=").unwrap().path, None);
        assert_eq!(parse("a=b; Path=/x; Path=y").unwrap().path, None);
        assert_eq!(parse("a=b; Path").unwrap().path, None);
        assert_eq!(
            parse("a=b; Path= \t/x\t").unwrap().path.as_deref(),
            Some("/x")
        );
    }

    #[test]
    fn empty_domain_is_ignored() {
        assert_eq!(parse("a=b; Domain=").unwrap().domain, None);
        let c = parse("a=b; Domain=example.org; Domain=").unwrap();
        assert_eq!(c.domain.as_deref(), Some(&b"example.org"[..]));
        // Only one leading dot is removed.
        let c = parse("a=b; Domain=..example.org").unwrap();
        assert_eq!(c.domain.as_deref(), Some(&b".example.org"[..]));
    }

    #[test]
    fn max_age() {
        assert_eq!(parse("a=b; Max-Age=60").unwrap().expires, Some(NOW + 60));
        assert_eq!(parse("a=b; max-age=0").unwrap().expires, Some(MIN_TIME));
        assert_eq!(parse("a=b; max-age=000").unwrap().expires, Some(MIN_TIME));
        assert_eq!(parse("a=b; max-age=-1").unwrap().expires, Some(MIN_TIME));
        assert_eq!(parse("a=b; max-age=-0").unwrap().expires, Some(MIN_TIME));
        assert_eq!(
            parse("a=b; max-age=99999999999999999999999")
                .unwrap()
                .expires,
            Some(MAX_TIME)
        );
        for invalid in ["", "-", "+5", "5s", "50,399", "2.63", " 1 2", "0x10"] {
            assert_eq!(
                parse(&format!("a=b; Max-Age={invalid}")).unwrap().expires,
                None,
                "{invalid:?}"
            );
        }
        // An invalid Max-Age doesn't hide an earlier valid one.
        assert_eq!(
            parse("a=b; Max-Age=5; Max-Age=x").unwrap().expires,
            Some(NOW + 5)
        );
    }

    #[test]
    fn max_age_wins_over_expires_in_any_order() {
        let expires = "Expires=Wed, 09 Jun 2021 10:18:14 GMT";
        assert_eq!(
            parse(&format!("a=b; {expires}; Max-Age=10"))
                .unwrap()
                .expires,
            Some(NOW + 10)
        );
        assert_eq!(
            parse(&format!("a=b; Max-Age=10; {expires}"))
                .unwrap()
                .expires,
            Some(NOW + 10)
        );
        assert_eq!(
            parse(&format!("a=b; {expires}")).unwrap().expires,
            Some(1_623_233_894)
        );
        assert_eq!(parse("a=b; Expires=garbage").unwrap().expires, None);
    }

    #[test]
    fn long_attribute_values_are_ignored() {
        let long = "/".repeat(MAX_ATTRIBUTE_VALUE_BYTES + 1);
        let c = parse(&format!("a=b; Path=/ok; Path={long}")).unwrap();
        assert_eq!(c.path.as_deref(), Some("/ok"));
    }

    #[test]
    fn dates_in_the_usual_formats() {
        let t = Some(784_111_777); // 1994-11-06 08:49:37 UTC
        assert_eq!(date("Sun, 06 Nov 1994 08:49:37 GMT"), t); // IMF-fixdate
        assert_eq!(date("Sunday, 06-Nov-94 08:49:37 GMT"), t); // RFC 850
        assert_eq!(date("Sun Nov  6 08:49:37 1994"), t); // asctime
        assert_eq!(date("Sun, 06-Nov-1994 08:49:37 GMT"), t); // Netscape
        assert_eq!(date("06 nOV 1994 8:49:37"), t);
        assert_eq!(date("1994 Nov 6 08:49:37"), t, "any order");
        assert_eq!(
            date("Nov 06 94 08:49:37"),
            t,
            "the first 1-2 digit token is the day"
        );
        assert_eq!(date("Nov 94 06 08:49:37"), None, "day 94");
        assert_eq!(date("08:49:37 6 November 1994 trailing junk"), t);
        assert_eq!(date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn date_two_digit_years() {
        assert_eq!(date("1 Jan 70 00:00:00"), Some(0));
        assert_eq!(date("1 Jan 69 00:00:00"), Some(3_124_224_000)); // 2069
        assert_eq!(date("1 Jan 00 00:00:00"), Some(946_684_800)); // 2000
    }

    #[test]
    fn date_tokens_may_have_trailing_garbage() {
        // "07th" is a day, "Augustus" a month, "2019x" a year, "08:04:19Z" a time.
        assert_eq!(
            date("07th Augustus 2019x 08:04:19Z"),
            date("07 Aug 2019 08:04:19")
        );
        // Delimiters include most punctuation.
        assert_eq!(
            date("Fri 07 Aug 2019 08:04:19 GMT, baz=qux"),
            Some(1_565_165_059)
        );
    }

    #[test]
    fn invalid_dates() {
        for invalid in [
            "",
            "garbage",
            "Sun, 06 Nov 1994",           // no time
            "Sun, 06 Nov 08:49:37 GMT",   // no year
            "Sun, Nov 1994 08:49:37 GMT", // no day ("1994" is too long to be one)
            "Sun, 06 1994 08:49:37 GMT",  // no month
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1600 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:60 GMT",
            "Sun, 06 Nov 1994 123:49:37 GMT", // a time field has at most 2 digits
            "30 Feb 2020 00:00:00",
            "29 Feb 2021 00:00:00",
            "29 Feb 1900 00:00:00",
            "Sun, 06 Nov 12345 08:49:37 GMT", // a year has at most 4 digits
        ] {
            assert_eq!(date(invalid), None, "{invalid:?}");
        }
        assert_eq!(date("29 Feb 2020 00:00:00"), Some(1_582_934_400));
        assert_eq!(date("29 Feb 2000 00:00:00"), Some(951_782_400));
    }

    #[test]
    fn date_range_ends() {
        assert_eq!(date("1 Jan 1601 00:00:00"), Some(MIN_TIME));
        assert_eq!(date("31 Dec 9999 23:59:59"), Some(MAX_TIME));
    }

    #[test]
    fn dates_never_panic_on_odd_bytes() {
        for input in [
            &b"\xff\xfe 1:2:3 4 jan 2000"[..],
            b"\0\0\0",
            b"99:99:99:99",
            b"1:2:3x4",
            b"::",
        ] {
            let _ = parse_cookie_date(input);
        }
        assert_eq!(
            parse_cookie_date(b"\xff 1:2:3 4 jan 2000"),
            date("4 Jan 2000 01:02:03")
        );
    }
}
