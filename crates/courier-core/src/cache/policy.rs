//! The rules of RFC 9111 and RFC 5861 as pure functions over headers and times: what may be stored, how
//! old a stored response is, how long it stays fresh, whether a request accepts it, and how a `304`
//! updates it. No I/O and no clock: every time is an argument, so each rule is tested on its own.

use std::time::{Duration, SystemTime};

use http::header::{
    AGE, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, DATE, ETAG, EXPIRES,
    LAST_MODIFIED, PRAGMA, PROXY_AUTHORIZATION, TRANSFER_ENCODING, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::header_text;

/// The `Cache-Control` directives the cache acts on, from a request or a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub(crate) max_age: Option<u64>,
    pub(crate) no_cache: bool,
    pub(crate) no_store: bool,
    pub(crate) must_revalidate: bool,
    pub(crate) public: bool,
    pub(crate) private: bool,
    /// `Some(None)`: `max-stale` without a value, any staleness is accepted.
    pub(crate) max_stale: Option<Option<u64>>,
    pub(crate) min_fresh: Option<u64>,
    pub(crate) only_if_cached: bool,
    pub(crate) stale_while_revalidate: Option<u64>,
    pub(crate) stale_if_error: Option<u64>,
}

impl Directives {
    /// Every `Cache-Control` line of `headers`; for a request without `Cache-Control`,
    /// `Pragma: no-cache` counts as `no-cache` (RFC 9111 §5.4).
    pub(crate) fn of(headers: &HeaderMap) -> Directives {
        let mut directives = Directives::default();
        let mut any = false;
        for value in headers.get_all(CACHE_CONTROL) {
            any = true;
            // A line this parser cannot read whole (not ASCII, a quote left open) may hide a
            // `no-store` (`private="x, no-store`): storing nothing is the safe reading.
            let Some(value) = value
                .to_str()
                .ok()
                .filter(|v| header_text::quotes_closed(v))
            else {
                directives.no_store = true;
                continue;
            };
            for (name, argument) in split_directives(value) {
                directives.apply(&name, argument.as_deref());
            }
        }
        if !any {
            let pragma_no_cache = headers.get_all(PRAGMA).iter().any(|v| {
                v.to_str().is_ok_and(|v| {
                    v.split(',')
                        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
                })
            });
            directives.no_cache = pragma_no_cache;
        }
        directives
    }

    fn apply(&mut self, name: &str, argument: Option<&str>) {
        // A duplicated or invalid `max-age` makes a response stale (RFC 9111 §4.2.1): keep the smallest,
        // and count an unparsable one as zero.
        let seconds = || argument.map_or(Some(0), delta_seconds).or(Some(0));
        match name {
            "max-age" => self.max_age = min_some(self.max_age, seconds()),
            "no-cache" => self.no_cache = true,
            "no-store" => self.no_store = true,
            "must-revalidate" => self.must_revalidate = true,
            "public" => self.public = true,
            "private" => self.private = true,
            // Without a value any staleness is accepted; an invalid value accepts none.
            "max-stale" => self.max_stale = Some(argument.map(|a| delta_seconds(a).unwrap_or(0))),
            "min-fresh" => self.min_fresh = seconds(),
            "only-if-cached" => self.only_if_cached = true,
            "stale-while-revalidate" => self.stale_while_revalidate = seconds(),
            "stale-if-error" => self.stale_if_error = seconds(),
            // `s-maxage` and `proxy-revalidate` are for shared caches; a private cache ignores them
            // (RFC 9111 §5.2.2.8, §5.2.2.10), as it ignores directives it does not know.
            _ => {}
        }
    }
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `delta-seconds` (RFC 9111 §1.2.2): digits only; too large a value saturates at 2^31.
pub(crate) fn delta_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX).min(1 << 31))
}

/// Splits a `Cache-Control` value into lower-cased names and unquoted arguments; commas inside quoted
/// strings (`no-cache="a, b"`) do not split. The quoted-string syntax is `header_text`'s.
fn split_directives(value: &str) -> Vec<(String, Option<String>)> {
    let mut directives = Vec::new();
    let mut rest = value;
    loop {
        let after = header_text::skip_until(rest, &[',']);
        directives.extend(directive(&rest[..rest.len() - after.len()]));
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return directives,
        }
    }
}

/// One `name` or `name=argument` directive; `None` for an empty list element.
fn directive(part: &str) -> Option<(String, Option<String>)> {
    let part = part.trim_matches(header_text::is_ws);
    if part.is_empty() {
        return None;
    }
    Some(match part.split_once('=') {
        Some((name, argument)) => {
            let argument = argument.trim_matches(header_text::is_ws);
            let argument = match argument.strip_prefix('"') {
                Some(quoted) => header_text::unquote(quoted).0,
                None => argument.to_owned(),
            };
            (
                name.trim_matches(header_text::is_ws).to_ascii_lowercase(),
                Some(argument),
            )
        }
        None => (part.to_ascii_lowercase(), None),
    })
}

/// Status codes cacheable by default, whose responses may get heuristic freshness (RFC 9110 §15.1).
pub(crate) fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Whether a response to a request may be stored (RFC 9111 §3), by a private cache.
///
/// Only `GET` responses are stored (`HEAD` is answered from them). `206` is not stored: this cache does
/// not combine partial content. `Authorization` does not prevent storing in a private cache (§3.5 binds
/// shared caches), and `private` responses are storable.
pub(crate) fn storable(
    method: &Method,
    request: &Directives,
    status: StatusCode,
    headers: &HeaderMap,
    response: &Directives,
) -> bool {
    if method != Method::GET || request.no_store || response.no_store {
        return false;
    }
    if status.is_informational() || matches!(status.as_u16(), 206 | 304) {
        return false;
    }
    if vary_names(headers).is_none() {
        // `Vary: *` never matches a later request (§4.1): storing it would only waste room.
        return false;
    }
    response.public
        || response.private
        || response.max_age.is_some()
        || headers.contains_key(EXPIRES)
        || heuristically_cacheable(status)
}

/// Parses an HTTP date; `None` when absent or invalid.
pub(crate) fn date(headers: &HeaderMap, name: HeaderName) -> Option<SystemTime> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
}

/// How long a response stays fresh (RFC 9111 §4.2.1): `max-age`, else `Expires − Date` (an invalid
/// `Expires` means already stale), else the heuristic of §4.2.2: a tenth of the time since
/// `Last-Modified`, for heuristically cacheable status codes and responses marked `public`
/// (§5.2.2.9).
pub(crate) fn freshness_lifetime(
    status: StatusCode,
    headers: &HeaderMap,
    directives: &Directives,
    response_time: SystemTime,
) -> Duration {
    if let Some(max_age) = directives.max_age {
        return Duration::from_secs(max_age);
    }
    let date_value = date(headers, DATE).unwrap_or(response_time);
    if headers.contains_key(EXPIRES) {
        return match date(headers, EXPIRES) {
            Some(expires) => expires.duration_since(date_value).unwrap_or_default(),
            None => Duration::ZERO,
        };
    }
    if heuristically_cacheable(status) || directives.public {
        if let Some(last_modified) = date(headers, LAST_MODIFIED) {
            return date_value.duration_since(last_modified).unwrap_or_default() / 10;
        }
    }
    Duration::ZERO
}

/// The current age of a stored response (RFC 9111 §4.2.3).
pub(crate) fn current_age(
    headers: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
    now: SystemTime,
) -> Duration {
    let age_value = headers
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(delta_seconds)
        .map_or(Duration::ZERO, Duration::from_secs);
    let date_value = date(headers, DATE).unwrap_or(response_time);
    let apparent_age = response_time.duration_since(date_value).unwrap_or_default();
    let response_delay = response_time
        .duration_since(request_time)
        .unwrap_or_default();
    let corrected_age_value = age_value + response_delay;
    let corrected_initial_age = apparent_age.max(corrected_age_value);
    let resident_time = now.duration_since(response_time).unwrap_or_default();
    corrected_initial_age + resident_time
}

/// A stored response's age and freshness lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Age {
    pub(crate) current: Duration,
    pub(crate) lifetime: Duration,
}

impl Age {
    /// How long past its lifetime the response is; zero while fresh.
    pub(crate) fn staleness(&self) -> Duration {
        self.current.saturating_sub(self.lifetime)
    }

    /// Seconds of freshness left; negative once stale (the `ttl` of RFC 9211).
    pub(crate) fn ttl(&self) -> i64 {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        secs(self.lifetime) - secs(self.current)
    }
}

/// What to do with a stored response that matches a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Serve it: it is fresh enough for the request.
    Fresh,
    /// Serve it although stale: the request accepts that much staleness (`max-stale`).
    StaleAccepted,
    /// Serve it stale now and revalidate in the background (`stale-while-revalidate`).
    StaleWhileRevalidate,
    /// Validate it with the origin first.
    Revalidate,
}

/// Decides whether a stored response can answer a request (RFC 9111 §4.2, §5.2.1; RFC 5861 §3).
pub(crate) fn verdict(request: &Directives, response: &Directives, age: Age) -> Verdict {
    if request.no_cache || response.no_cache {
        return Verdict::Revalidate;
    }
    if request
        .max_age
        .is_some_and(|max| age.current > Duration::from_secs(max))
    {
        return Verdict::Revalidate;
    }
    let min_fresh = Duration::from_secs(request.min_fresh.unwrap_or(0));
    if age.current + min_fresh < age.lifetime {
        return Verdict::Fresh;
    }
    // A request asking for freshness left (§5.2.1.3) is not served anything short of it, stale or
    // not: neither within its own `max-stale` nor while the cache revalidates in the background.
    if request.min_fresh.is_some() {
        return Verdict::Revalidate;
    }
    let staleness = age.staleness();
    // `must-revalidate` forbids serving stale, whatever the request accepts (§5.2.2.2).
    if !response.must_revalidate {
        let accepted = match request.max_stale {
            Some(None) => true,
            Some(Some(max)) => staleness <= Duration::from_secs(max),
            None => false,
        };
        if accepted {
            return Verdict::StaleAccepted;
        }
        if response
            .stale_while_revalidate
            .is_some_and(|window| staleness <= Duration::from_secs(window))
        {
            return Verdict::StaleWhileRevalidate;
        }
    }
    Verdict::Revalidate
}

/// Whether a stale response may stand in for an error (RFC 5861 §4): within the `stale-if-error` window
/// of the response or of the request, and never past `must-revalidate` or for a `no-cache` response
/// (which is never served without a successful validation, RFC 9111 §5.2.2.4).
pub(crate) fn stale_if_error(request: &Directives, response: &Directives, age: Age) -> bool {
    if response.must_revalidate || response.no_cache {
        return false;
    }
    let staleness = age.staleness();
    [request.stale_if_error, response.stale_if_error]
        .into_iter()
        .flatten()
        .any(|window| staleness <= Duration::from_secs(window))
}

/// The status codes that count as an error for `stale-if-error` (RFC 5861 §4).
pub(crate) fn is_error_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// The most distinct names a stored response's `Vary` may nominate; a response naming more is
/// treated as `Vary: *` (never stored). Real ones name a handful; each name is kept, and compared on
/// every lookup, with the entry.
const MAX_VARY_NAMES: usize = 64;

/// The distinct request header names a response's `Vary` nominates, lower-cased; `None` for
/// `Vary: *` (and for a `Vary` naming more than [`MAX_VARY_NAMES`]: a hostile `Vary: a, a, a, ...`
/// of hundreds of kilobytes would otherwise cost many times its size in memory and time per lookup).
pub(crate) fn vary_names(headers: &HeaderMap) -> Option<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for value in headers.get_all(VARY) {
        let value = value.to_str().ok()?;
        for name in value.split(',') {
            let name = name.trim();
            if name == "*" {
                return None;
            }
            if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                if names.len() == MAX_VARY_NAMES {
                    return None;
                }
                names.push(name.to_ascii_lowercase());
            }
        }
    }
    Some(names)
}

/// A request header's values as one string for `Vary` matching: the lines joined by `, ` with the
/// whitespace around each comma-separated element removed and inner runs of whitespace collapsed, as
/// RFC 9111 §4.1 allows. `None` when the request does not have the header.
pub(crate) fn normalized(headers: &HeaderMap, name: &str) -> Option<String> {
    use std::fmt::Write as _;
    let mut elements = Vec::new();
    let mut present = false;
    for value in headers.get_all(name) {
        present = true;
        let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
            // Not text: compared by its bytes, as one element no text can be (a header value never
            // holds NUL), so values a lossy decoding would make equal stay apart.
            let mut element = String::from('\0');
            for byte in value.as_bytes() {
                let _ = write!(element, "{byte:02x}");
            }
            elements.push(element);
            continue;
        };
        for element in value.split(',') {
            let element = element.split_whitespace().collect::<Vec<_>>().join(" ");
            if !element.is_empty() {
                elements.push(element);
            }
        }
    }
    present.then(|| elements.join(", "))
}

/// The nominated request headers a stored response was selected with: each name and its normalised
/// value (hashed for credentials, see [`request_value`]).
pub(crate) type VaryKey = Vec<(String, Option<String>)>;

/// Request headers every stored response is selected by, as if it varied on them: the caller's own
/// `Accept-Encoding` (a body stored as the server encoded it must not reach a caller who expects it
/// decoded), the caller's own credentials (headers, and those a request carries for the auth layer
/// below, see [`REQUEST_CREDENTIALS`]), so a cache shared by clients or users never hands one's
/// response to another, and a `Host` the caller set (the key is the URL, and the server answered the
/// virtual host the header named).
const IMPLICIT_VARY: [&str; 5] = [
    "accept-encoding",
    "authorization",
    "cookie",
    "host",
    REQUEST_CREDENTIALS,
];

/// The name under which the credentials a request carries in its extensions (a `digest_auth`
/// request's, answered by the auth layer below the cache) take part in selecting a stored response.
/// Never sent: it is only in the cache's own copy of the request headers.
pub(crate) const REQUEST_CREDENTIALS: &str = "courier-request-credentials";

/// Headers whose values are compared by hash: credentials are never kept in the clear.
fn is_credential(name: &str) -> bool {
    matches!(
        name,
        "authorization" | "proxy-authorization" | "cookie" | REQUEST_CREDENTIALS
    )
}

/// A request header's value as a vary key holds it: [`normalized`], and for credentials a SHA-256 of
/// the cache's `secret` and that (keyed: the hashes a disk cache stores cannot be tested against
/// guessed passwords without the key).
pub(crate) fn request_value(headers: &HeaderMap, name: &str, secret: &[u8]) -> Option<String> {
    let value = normalized(headers, name)?;
    if !is_credential(name) {
        return Some(value);
    }
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(secret);
    hasher.update(value.as_bytes());
    Some(format!("sha256k:{}", crate::hex::hex(&hasher.finalize())))
}

/// The SHA-256 of `bytes` as 64 lower-case hex digits (the disk store's file names, hashed vary
/// values).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    crate::hex::hex(&sha2::Sha256::digest(bytes))
}

/// The values of the request headers `response_headers` varies on, and of [`IMPLICIT_VARY`]; `None`
/// for `Vary: *`.
pub(crate) fn vary_key(
    response_headers: &HeaderMap,
    request_headers: &HeaderMap,
    secret: &[u8],
) -> Option<VaryKey> {
    let mut names = vary_names(response_headers)?;
    for implicit in IMPLICIT_VARY {
        if !names.iter().any(|n| n == implicit) {
            names.push(implicit.to_owned());
        }
    }
    Some(
        names
            .into_iter()
            .map(|name| {
                let value = request_value(request_headers, &name, secret);
                (name, value)
            })
            .collect(),
    )
}

/// Whether a request matches a stored response's `Vary` key (RFC 9111 §4.1).
pub(crate) fn vary_matches(key: &VaryKey, request_headers: &HeaderMap, secret: &[u8]) -> bool {
    key.iter()
        .all(|(name, value)| request_value(request_headers, name, secret) == *value)
}

/// Weak comparison of two entity tags (RFC 9110 §8.8.3.2): equal opaque tags, `W/` ignored.
pub(crate) fn etags_match_weakly(a: &str, b: &str) -> bool {
    let opaque = |tag: &str| {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_owned()
    };
    opaque(a) == opaque(b)
}

/// Whether a `304` (or a `HEAD` response) describes the stored response (RFC 9111 §4.3.4, §4.3.5): its
/// `ETag` matches the stored one, or it has no `ETag` and its `Last-Modified` (if any) is the stored one.
pub(crate) fn validators_match(stored: &HeaderMap, fresh: &HeaderMap) -> bool {
    let tag = |h: &HeaderMap| h.get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match (tag(stored), tag(fresh)) {
        (Some(a), Some(b)) => etags_match_weakly(&a, &b),
        (None, Some(_)) => false,
        (_, None) => match (stored.get(LAST_MODIFIED), fresh.get(LAST_MODIFIED)) {
            (Some(a), Some(b)) => a == b,
            (_, None) => true,
            (None, Some(_)) => false,
        },
    }
}

/// Whether a response header carries a credential (a cookie or authentication data), so the disk store
/// never writes it.
pub(crate) fn is_secret_response_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "set-cookie"
            | "set-cookie2"
            | "authentication-info"
            | "proxy-authentication-info"
            | "authorization"
            | "proxy-authorization"
    )
}

/// Headers that describe one connection, never stored (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
];

/// Removes hop-by-hop headers and those `Connection` names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

/// Headers a `304` or a `HEAD` response never changes in a stored entry: they describe the message they
/// came with, not the stored body (which the cache holds decoded, while the decompression layer leaves
/// bodiless responses' headers as sent), or they carry proxy credentials.
const NOT_UPDATED: [HeaderName; 6] = [
    CONTENT_ENCODING,
    CONTENT_LENGTH,
    CONTENT_RANGE,
    TRANSFER_ENCODING,
    HeaderName::from_static("proxy-authentication-info"),
    PROXY_AUTHORIZATION,
];

/// Updates stored headers from a `304` or a `HEAD` response received at `received` (RFC 9111 §3.2):
/// each header it carries replaces the stored ones of that name, except [`NOT_UPDATED`] and hop-by-hop
/// headers. The entry's age restarts with this response: the stored `Age` goes (the response's own, if
/// any, replaces it), and so does the stored `Date`, replaced by the response's or, when it has none,
/// by `received` (RFC 9110 §6.6.1).
pub(crate) fn update_headers(stored: &mut HeaderMap, fresh: &HeaderMap, received: SystemTime) {
    let mut fresh = fresh.clone();
    strip_hop_by_hop(&mut fresh);
    for name in &NOT_UPDATED {
        fresh.remove(name);
    }
    if !fresh.contains_key(DATE) {
        if let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(received)) {
            fresh.insert(DATE, value);
        }
    }
    stored.remove(AGE);
    for name in fresh.keys() {
        stored.remove(name);
    }
    for (name, value) in fresh.iter() {
        stored.append(name, value.clone());
    }
}

/// Whether a method is unsafe, so a success invalidates stored responses (RFC 9111 §4.4).
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn http_date(secs: u64) -> String {
        httpdate::fmt_http_date(at(secs))
    }

    #[test]
    fn a_line_that_cannot_be_read_whole_means_no_store() {
        for line in [
            r#"max-age=600, private="x, no-store"#,
            r#"foo=a"b, no-store"#,
            r#"max-age=600, x="unterminated"#,
        ] {
            let directives = Directives::of(&headers(&[("cache-control", line)]));
            assert!(directives.no_store, "{line}");
        }
        let mut non_ascii = HeaderMap::new();
        non_ascii.append(CACHE_CONTROL, HeaderValue::from_static("max-age=600"));
        non_ascii.append(
            CACHE_CONTROL,
            HeaderValue::from_bytes(b"no-store, x=\xe9").unwrap(),
        );
        assert!(Directives::of(&non_ascii).no_store);
        // Closed quotes, escaped ones included, read as before.
        let fine = Directives::of(&headers(&[("cache-control", r#"x="a\"b, c", max-age=5"#)]));
        assert_eq!((fine.no_store, fine.max_age), (false, Some(5)));
    }

    #[test]
    fn parses_directives_across_lines_with_quotes_and_case() {
        let d = Directives::of(&headers(&[
            ("cache-control", "Max-Age=60, no-cache=\"set-cookie, x\""),
            (
                "cache-control",
                "must-revalidate, stale-if-error=30, max-stale",
            ),
        ]));
        assert_eq!(d.max_age, Some(60));
        assert!(d.no_cache);
        assert!(d.must_revalidate);
        assert_eq!(d.stale_if_error, Some(30));
        assert_eq!(d.max_stale, Some(None));
        assert!(!d.no_store);
    }

    #[test]
    fn splits_directives_outside_quoted_strings() {
        let owned =
            |name: &str, argument: Option<&str>| (name.to_owned(), argument.map(str::to_owned));
        assert_eq!(
            split_directives(" Private=\"a, \\\"b\\\"\" ,, max-age = \"60\",no-store "),
            vec![
                owned("private", Some("a, \"b\"")),
                owned("max-age", Some("60")),
                owned("no-store", None),
            ]
        );
        assert_eq!(split_directives(""), vec![]);
    }

    #[test]
    fn invalid_or_duplicate_max_age_is_conservative() {
        assert_eq!(
            Directives::of(&headers(&[("cache-control", "max-age=abc")])).max_age,
            Some(0)
        );
        assert_eq!(
            Directives::of(&headers(&[("cache-control", "max-age=60, max-age=10")])).max_age,
            Some(10)
        );
        assert_eq!(
            Directives::of(&headers(&[(
                "cache-control",
                "max-age=99999999999999999999"
            )]))
            .max_age,
            Some(1 << 31)
        );
    }

    #[test]
    fn pragma_no_cache_counts_only_without_cache_control() {
        assert!(Directives::of(&headers(&[("pragma", "no-cache")])).no_cache);
        let both = headers(&[("pragma", "no-cache"), ("cache-control", "max-age=5")]);
        assert!(!Directives::of(&both).no_cache);
    }

    #[test]
    fn storable_follows_section_3() {
        let none = Directives::default();
        let get = Method::GET;
        let plain = HeaderMap::new();
        assert!(storable(&get, &none, StatusCode::OK, &plain, &none));
        assert!(storable(&get, &none, StatusCode::NOT_FOUND, &plain, &none));
        // Not heuristically cacheable without explicit freshness.
        assert!(!storable(&get, &none, StatusCode::FOUND, &plain, &none));
        let max_age = Directives::of(&headers(&[("cache-control", "max-age=5")]));
        assert!(storable(&get, &none, StatusCode::FOUND, &plain, &max_age));
        let expires = headers(&[("expires", &http_date(10))]);
        assert!(storable(
            &get,
            &none,
            StatusCode::TEMPORARY_REDIRECT,
            &expires,
            &none
        ));
        let private = Directives::of(&headers(&[("cache-control", "private")]));
        assert!(storable(&get, &none, StatusCode::CREATED, &plain, &private));
        let no_store = Directives::of(&headers(&[("cache-control", "no-store")]));
        assert!(!storable(&get, &none, StatusCode::OK, &plain, &no_store));
        assert!(!storable(&get, &no_store, StatusCode::OK, &plain, &none));
        assert!(!storable(
            &Method::POST,
            &none,
            StatusCode::OK,
            &plain,
            &max_age
        ));
        assert!(!storable(
            &Method::HEAD,
            &none,
            StatusCode::OK,
            &plain,
            &max_age
        ));
        assert!(!storable(
            &get,
            &none,
            StatusCode::PARTIAL_CONTENT,
            &plain,
            &max_age
        ));
        assert!(!storable(
            &get,
            &none,
            StatusCode::NOT_MODIFIED,
            &plain,
            &max_age
        ));
        let vary_star = headers(&[("vary", "Accept, *")]);
        assert!(!storable(&get, &none, StatusCode::OK, &vary_star, &max_age));
    }

    #[test]
    fn lifetime_from_max_age_then_expires_then_heuristic() {
        let ok = StatusCode::OK;
        let h = headers(&[
            ("cache-control", "max-age=100, s-maxage=5"),
            ("expires", &http_date(10)),
        ]);
        let d = Directives::of(&h);
        assert_eq!(
            freshness_lifetime(ok, &h, &d, at(0)),
            Duration::from_secs(100)
        );

        let h = headers(&[("date", &http_date(0)), ("expires", &http_date(30))]);
        let d = Directives::of(&h);
        assert_eq!(
            freshness_lifetime(ok, &h, &d, at(5)),
            Duration::from_secs(30)
        );

        let h = headers(&[("date", &http_date(0)), ("expires", "0")]);
        let d = Directives::of(&h);
        assert_eq!(freshness_lifetime(ok, &h, &d, at(0)), Duration::ZERO);

        let h = headers(&[("date", &http_date(1000)), ("last-modified", &http_date(0))]);
        let d = Directives::of(&h);
        assert_eq!(
            freshness_lifetime(ok, &h, &d, at(1000)),
            Duration::from_secs(100)
        );
        // Only heuristically cacheable status codes get heuristic freshness.
        assert_eq!(
            freshness_lifetime(StatusCode::FOUND, &h, &d, at(1000)),
            Duration::ZERO
        );
        assert_eq!(
            freshness_lifetime(ok, &HeaderMap::new(), &Directives::default(), at(0)),
            Duration::ZERO
        );
    }

    #[test]
    fn public_gets_heuristic_freshness_whatever_the_status() {
        // RFC 9111 §4.2.2: `public` marks a response explicitly cacheable, so a heuristic applies.
        let h = headers(&[
            ("cache-control", "public"),
            ("date", &http_date(1000)),
            ("last-modified", &http_date(0)),
        ]);
        let d = Directives::of(&h);
        assert_eq!(
            freshness_lifetime(StatusCode::FOUND, &h, &d, at(1000)),
            Duration::from_secs(100)
        );
        // Without `Last-Modified` there is nothing to base it on.
        let h = headers(&[("cache-control", "public"), ("date", &http_date(1000))]);
        let d = Directives::of(&h);
        assert_eq!(
            freshness_lifetime(StatusCode::FOUND, &h, &d, at(1000)),
            Duration::ZERO
        );
    }

    #[test]
    fn age_calculation_of_section_4_2_3() {
        // Date says the origin sent it 2 s before we received it; Age says a cache held it 10 s; the
        // response took 3 s to arrive; it has been stored 20 s.
        let h = headers(&[("date", &http_date(98)), ("age", "10")]);
        let age = current_age(&h, at(97), at(100), at(120));
        assert_eq!(age, Duration::from_secs(10 + 3 + 20));
        // Apparent age wins when larger.
        let h = headers(&[("date", &http_date(50))]);
        assert_eq!(
            current_age(&h, at(100), at(100), at(100)),
            Duration::from_secs(50)
        );
        // A Date in the future is not a negative age.
        let h = headers(&[("date", &http_date(500))]);
        assert_eq!(
            current_age(&h, at(100), at(100), at(101)),
            Duration::from_secs(1)
        );
    }

    fn age(current: u64, lifetime: u64) -> Age {
        Age {
            current: Duration::from_secs(current),
            lifetime: Duration::from_secs(lifetime),
        }
    }

    fn dirs(value: &str) -> Directives {
        Directives::of(&headers(&[("cache-control", value)]))
    }

    #[test]
    fn verdicts_follow_request_and_response_directives() {
        let none = Directives::default();
        assert_eq!(verdict(&none, &none, age(5, 10)), Verdict::Fresh);
        assert_eq!(verdict(&none, &none, age(10, 10)), Verdict::Revalidate);
        assert_eq!(
            verdict(&dirs("no-cache"), &none, age(0, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&none, &dirs("no-cache"), age(0, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&dirs("max-age=3"), &none, age(5, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&dirs("min-fresh=6"), &none, age(5, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&dirs("min-fresh=4"), &none, age(5, 10)),
            Verdict::Fresh
        );
        assert_eq!(
            verdict(&dirs("max-stale=5"), &none, age(14, 10)),
            Verdict::StaleAccepted
        );
        assert_eq!(
            verdict(&dirs("max-stale=5"), &none, age(16, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&dirs("max-stale"), &none, age(1000, 10)),
            Verdict::StaleAccepted
        );
        // An invalid value accepts no staleness at all, not any.
        for garbage in [
            "max-stale=abc",
            "max-stale=-1",
            "max-stale=",
            "max-stale=\"\"",
        ] {
            assert_eq!(dirs(garbage).max_stale, Some(Some(0)), "{garbage}");
            assert_eq!(
                verdict(&dirs(garbage), &none, age(11, 10)),
                Verdict::Revalidate,
                "{garbage}"
            );
        }
        assert_eq!(
            verdict(&dirs("max-stale"), &dirs("must-revalidate"), age(11, 10)),
            Verdict::Revalidate
        );
        let swr = dirs("max-age=10, stale-while-revalidate=30");
        assert_eq!(
            verdict(&none, &swr, age(30, 10)),
            Verdict::StaleWhileRevalidate
        );
        assert_eq!(verdict(&none, &swr, age(41, 10)), Verdict::Revalidate);
        // A request asking for freshness left is answered by the origin, not served stale while the
        // cache revalidates: fresh but with too little left, or already stale.
        assert_eq!(
            verdict(&dirs("min-fresh=8"), &swr, age(5, 10)),
            Verdict::Revalidate
        );
        assert_eq!(
            verdict(&dirs("min-fresh=1"), &swr, age(15, 10)),
            Verdict::Revalidate
        );
    }

    #[test]
    fn stale_if_error_windows() {
        let none = Directives::default();
        let sie = dirs("max-age=10, stale-if-error=60");
        assert!(stale_if_error(&none, &sie, age(70, 10)));
        assert!(!stale_if_error(&none, &sie, age(71, 10)));
        assert!(stale_if_error(
            &dirs("stale-if-error=5"),
            &none,
            age(15, 10)
        ));
        assert!(!stale_if_error(&none, &none, age(11, 10)));
        assert!(!stale_if_error(
            &none,
            &dirs("stale-if-error=60, must-revalidate"),
            age(11, 10)
        ));
        // `no-cache` means never served without a successful validation, so not for an error either.
        assert!(!stale_if_error(
            &none,
            &dirs("max-age=10, stale-if-error=60, no-cache"),
            age(11, 10)
        ));
        assert!(!stale_if_error(
            &dirs("stale-if-error=60"),
            &dirs("no-cache=\"set-cookie\""),
            age(11, 10)
        ));
    }

    const SECRET: &[u8] = b"this cache's key";

    fn vary_key(response: &HeaderMap, request: &HeaderMap) -> Option<VaryKey> {
        super::vary_key(response, request, SECRET)
    }

    fn vary_matches(key: &VaryKey, request: &HeaderMap) -> bool {
        super::vary_matches(key, request, SECRET)
    }

    /// `Vary` names are kept once each, and a `Vary` naming more than 64 is not stored (as `*`): a
    /// hostile `Vary: a, a, a, ...` of hundreds of kilobytes costs nothing per entry and lookup.
    #[test]
    fn vary_names_are_distinct_and_few() {
        let mut headers = HeaderMap::new();
        headers.insert(VARY, "Accept, accept , Origin".parse().unwrap());
        headers.append(VARY, "ACCEPT".parse().unwrap());
        assert_eq!(vary_names(&headers).unwrap(), ["accept", "origin"]);
        let repeated = vec!["a"; 100_000].join(",");
        headers.insert(VARY, repeated.parse().unwrap());
        assert_eq!(vary_names(&headers).unwrap(), ["a"]);
        let many: Vec<String> = (0..65).map(|i| format!("x-{i}")).collect();
        headers.insert(VARY, many.join(", ").parse().unwrap());
        assert_eq!(vary_names(&headers), None);
        headers.insert(VARY, many[..64].join(", ").parse().unwrap());
        assert_eq!(vary_names(&headers).unwrap().len(), 64);
    }

    #[test]
    fn vary_matching_normalises_whitespace_and_absence() {
        let response = headers(&[("vary", "Accept-Language, accept")]);
        let request = headers(&[("accept-language", "en,  fr"), ("accept", "text/html")]);
        let key = vary_key(&response, &request).unwrap();
        assert!(vary_matches(
            &key,
            &headers(&[("accept-language", "en , fr"), ("accept", "text/html")])
        ));
        assert!(vary_matches(
            &key,
            &headers(&[
                ("accept-language", "en"),
                ("accept-language", "fr"),
                ("accept", "text/html")
            ])
        ));
        assert!(!vary_matches(
            &key,
            &headers(&[("accept-language", "de"), ("accept", "text/html")])
        ));
        // A header absent when stored must be absent now.
        assert!(!vary_matches(
            &key,
            &headers(&[("accept-language", "en, fr")])
        ));
        assert!(vary_key(&headers(&[("vary", "*")]), &request).is_none());
    }

    #[test]
    fn credentials_and_accept_encoding_always_select_and_are_hashed() {
        let response = HeaderMap::new();
        let alice = headers(&[("authorization", "Bearer alice")]);
        let key = vary_key(&response, &alice).unwrap();
        let stored = key
            .iter()
            .find(|(name, _)| name == "authorization")
            .and_then(|(_, value)| value.clone())
            .unwrap();
        assert!(stored.starts_with("sha256k:"), "{stored}");
        assert!(!stored.contains("alice"));
        // Keyed: not the plain SHA-256 of the value, and another cache's key gives another hash.
        assert!(!stored.contains(&sha256_hex(b"Bearer alice")));
        assert!(!super::vary_matches(&key, &alice, b"another cache's key"));
        assert!(vary_matches(&key, &alice));
        assert!(!vary_matches(
            &key,
            &headers(&[("authorization", "Bearer bob")])
        ));
        assert!(!vary_matches(&key, &HeaderMap::new()));
        let plain = vary_key(&response, &HeaderMap::new()).unwrap();
        assert!(vary_matches(&plain, &HeaderMap::new()));
        assert!(!vary_matches(
            &plain,
            &headers(&[("accept-encoding", "gzip")])
        ));
        assert!(!vary_matches(&plain, &headers(&[("cookie", "a=1")])));
    }

    #[test]
    fn validators_strong_weak_and_dates() {
        assert!(etags_match_weakly("W/\"a\"", "\"a\""));
        assert!(!etags_match_weakly("\"a\"", "\"b\""));
        let stored = headers(&[("etag", "\"v1\""), ("last-modified", &http_date(0))]);
        assert!(validators_match(&stored, &headers(&[("etag", "W/\"v1\"")])));
        assert!(!validators_match(&stored, &headers(&[("etag", "\"v2\"")])));
        assert!(validators_match(&stored, &HeaderMap::new()));
        let by_date = headers(&[("last-modified", &http_date(0))]);
        assert!(validators_match(
            &by_date,
            &headers(&[("last-modified", &http_date(0))])
        ));
        assert!(!validators_match(
            &by_date,
            &headers(&[("last-modified", &http_date(1))])
        ));
    }

    #[test]
    fn update_headers_replaces_named_and_keeps_the_rest() {
        let mut stored = headers(&[
            ("content-type", "text/plain"),
            ("content-length", "5"),
            ("cache-control", "max-age=1"),
            ("age", "30"),
            ("date", &http_date(0)),
            ("x-a", "1"),
            ("x-a", "2"),
        ]);
        let fresh = headers(&[
            ("cache-control", "max-age=60"),
            ("content-length", "0"),
            ("x-a", "3"),
            ("connection", "close"),
            ("content-encoding", "gzip"),
            ("content-range", "bytes 0-1/2"),
            ("transfer-encoding", "chunked"),
            ("proxy-authentication-info", "nextnonce=x"),
            ("proxy-authorization", "Basic eDp5"),
        ]);
        update_headers(&mut stored, &fresh, at(3));
        assert_eq!(stored["cache-control"], "max-age=60");
        assert_eq!(stored["content-length"], "5");
        assert_eq!(stored["content-type"], "text/plain");
        assert_eq!(stored.get_all("x-a").iter().count(), 1);
        assert!(stored.get("connection").is_none());
        for name in [
            "content-encoding",
            "content-range",
            "transfer-encoding",
            "proxy-authentication-info",
            "proxy-authorization",
        ] {
            assert!(stored.get(name).is_none(), "{name}");
        }
        // The age restarts: no stored Age, and the Date of when the 304 came, without one of its own.
        assert!(stored.get("age").is_none());
        assert_eq!(stored["date"], http_date(3).as_str());
        let mut again = stored.clone();
        update_headers(&mut again, &headers(&[("date", &http_date(7))]), at(9));
        assert_eq!(again["date"], http_date(7).as_str());
        update_headers(&mut again, &HeaderMap::new(), at(20));
        assert_eq!(again["date"], http_date(20).as_str());
    }

    #[test]
    fn unsafe_methods() {
        assert!(is_unsafe(&Method::POST));
        assert!(is_unsafe(&Method::DELETE));
        assert!(is_unsafe(&Method::PATCH));
        assert!(is_unsafe(&Method::PUT));
        assert!(!is_unsafe(&Method::GET));
        assert!(!is_unsafe(&Method::OPTIONS));
    }
}
