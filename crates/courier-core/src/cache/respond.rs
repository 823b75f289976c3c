//! Responses made by the cache: from a stored entry, or a `504` for `only-if-cached`; and the marks
//! (extension and `Cache-Status`) every response through the cache gets.

use http::header::{HeaderValue, AGE, CONTENT_LENGTH, SET_COOKIE};
use http::{HeaderName, Response, StatusCode};

use super::body::CacheBody;
use super::policy::Age;
use super::status::{CacheStatus, Report};
use super::store::Entry;

/// RFC 9211's header.
pub(crate) const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// A response from a stored entry, with its current `Age`. `Set-Cookie` is stored but never served
/// from the cache: the jar that should see it saw it when the response came from the network, and a
/// cache shared by clients with different jars must not hand one client's cookies to another.
pub(crate) fn from_entry<B>(
    entry: &Entry,
    age: Age,
    head: bool,
    status: CacheStatus,
    report: Report,
) -> Response<CacheBody<B>> {
    let mut response = Response::new(if head {
        CacheBody::stored(bytes::Bytes::new())
    } else {
        CacheBody::stored(entry.body.clone())
    });
    *response.status_mut() = entry.status;
    *response.version_mut() = entry.version;
    let headers = response.headers_mut();
    *headers = entry.headers.clone();
    headers.remove(SET_COOKIE);
    headers.insert(AGE, HeaderValue::from(age.current.as_secs()));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(entry.body.len()));
    mark(
        &mut response,
        status,
        Report {
            ttl: Some(age.ttl()),
            ..report
        },
    );
    response
}

/// The answer to an `only-if-cached` request with nothing usable stored (RFC 9111 §5.2.1.7).
pub(crate) fn gateway_timeout<B>() -> Response<CacheBody<B>> {
    let mut response = Response::new(CacheBody::stored(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    mark(
        &mut response,
        CacheStatus::Miss { stored: false },
        Report {
            detail: Some("only-if-cached"),
            ..Report::default()
        },
    );
    response
}

/// Records `status` in the extensions and adds this cache's member last to `Cache-Status`, after every
/// member of every upstream line (the member nearest the user comes last, RFC 9211 §2).
pub(crate) fn mark<B>(response: &mut Response<B>, status: CacheStatus, report: Report) {
    response.extensions_mut().insert(status);
    let ours = report.header_value();
    let headers = response.headers_mut();
    let mut joined = Vec::new();
    for line in headers.get_all(&CACHE_STATUS) {
        joined.extend_from_slice(line.as_bytes());
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(ours.as_bytes());
    let value = HeaderValue::from_bytes(&joined).unwrap_or(ours);
    headers.insert(CACHE_STATUS, value);
}
