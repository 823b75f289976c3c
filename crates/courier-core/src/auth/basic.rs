//! [`basic_header`]: the one place a `Basic` credential (RFC 7617) is encoded.

use base64::Engine as _;
use http::HeaderValue;

/// `Basic base64(username:password)`, marked sensitive (left out of `Debug` output and of HTTP/2
/// header compression).
///
/// The value for a request's `Authorization` (or `Proxy-Authorization`) header: Courier's
/// `RequestBuilder::basic_auth`, credentials in a URL, and the auth layer answering a `Basic`
/// challenge all make it here.
///
/// ```
/// use courier_core::auth::basic_header;
///
/// let value = basic_header("Aladdin", "open sesame");
/// assert_eq!(value, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// assert!(value.is_sensitive());
/// ```
pub fn basic_header(username: &str, password: &str) -> HeaderValue {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .expect("base64 text is a valid header value");
    value.set_sensitive(true);
    value
}
