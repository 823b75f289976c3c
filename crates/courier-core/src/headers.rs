//! Defaults for a header map: what a layer or client sets only where the caller set nothing.
//!
//! Not part of the stable API: shared by Courier's own crates so the rule is written once.
//!
//! ```
//! use http::header::{HeaderMap, HeaderValue, ACCEPT, USER_AGENT};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(ACCEPT, HeaderValue::from_static("text/html"));
//! let mut defaults = HeaderMap::new();
//! defaults.insert(ACCEPT, HeaderValue::from_static("*/*"));
//! defaults.append(USER_AGENT, HeaderValue::from_static("a"));
//! defaults.append(USER_AGENT, HeaderValue::from_static("b"));
//! courier_core::headers::append_missing(&mut headers, &defaults);
//! assert_eq!(headers[ACCEPT], "text/html");
//! assert_eq!(headers.get_all(USER_AGENT).iter().count(), 2);
//! ```

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Sets `name` to `value` when `headers` has no `name`; a value the caller set is left alone.
pub fn insert_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &HeaderValue) {
    // Not `entry()`: it hashes the name and reserves room even when the map is empty or already has
    // the header; `contains_key` on an empty map (most requests) costs nothing. This runs for several
    // headers on every request.
    if !headers.contains_key(&name) {
        headers.insert(name, value.clone());
    }
}

/// Appends every value of each header of `defaults` that `headers` does not have at all.
pub fn append_missing(headers: &mut HeaderMap, defaults: &HeaderMap) {
    for name in defaults.keys() {
        if !headers.contains_key(name) {
            for value in defaults.get_all(name) {
                headers.append(name, value.clone());
            }
        }
    }
}

/// Writes `headers` as HTTP/1.1 header lines (`name: value` and CRLF each), as a `CONNECT` request, a
/// multipart part's head and `courier get -i` write them.
///
/// ```
/// use http::header::{HeaderMap, HeaderValue, HOST};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(HOST, HeaderValue::from_static("example.com"));
/// let mut out = Vec::new();
/// courier_core::headers::write_lines(&mut out, &headers);
/// assert_eq!(out, b"host: example.com\r\n");
/// ```
pub fn write_lines<'a>(
    out: &mut Vec<u8>,
    headers: impl IntoIterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}
