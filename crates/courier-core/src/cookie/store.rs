//! [`CookieStore`]: what the cookie layer needs of a store, with reqwest's signatures.

use http::HeaderValue;
use url::Url;

use super::Jar;

/// A store of cookies the [`CookieManager`](super::CookieManager) reads and writes: Courier's [`Jar`],
/// or your own (a database, a browser profile). The trait and its signatures are reqwest's
/// `cookie::CookieStore`, so a store written for reqwest works here unchanged.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use courier_core::cookie::CookieStore;
/// use http::HeaderValue;
/// use url::Url;
///
/// /// Keeps the last cookie set by anyone, sends it everywhere (an example, not a policy).
/// #[derive(Default)]
/// struct LastCookie(Mutex<Option<HeaderValue>>);
///
/// impl CookieStore for LastCookie {
///     fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &Url) {
///         if let Some(last) = cookie_headers.last() {
///             let pair = last.to_str().unwrap_or("").split(';').next().unwrap_or("");
///             *self.0.lock().unwrap() = HeaderValue::from_str(pair).ok();
///         }
///     }
///
///     fn cookies(&self, _url: &Url) -> Option<HeaderValue> {
///         self.0.lock().unwrap().clone()
///     }
/// }
///
/// let store = Arc::new(LastCookie::default());
/// let url = Url::parse("http://127.0.0.1/").unwrap();
/// store.set_cookies(&mut [HeaderValue::from_static("a=1; Path=/")].iter(), &url);
/// assert_eq!(store.cookies(&url).unwrap(), "a=1");
/// ```
pub trait CookieStore: Send + Sync {
    /// Stores the `Set-Cookie` header values of a response to `url`.
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url);

    /// The `Cookie` header value to send to `url`, or `None` when no cookie applies.
    fn cookies(&self, url: &Url) -> Option<HeaderValue>;

    /// `false` when the store is certainly empty, so the layer can skip working out the request's URL
    /// (Courier's addition; the default, `true`, is always correct).
    fn may_have_cookies(&self) -> bool {
        true
    }
}

/// RFC 6265 rules, as [`Jar::store_response_cookies`] and [`Jar::cookie_header`] apply them.
impl CookieStore for Jar {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        self.store_response_cookies(url, cookie_headers);
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.cookie_header(url)
    }

    fn may_have_cookies(&self) -> bool {
        Jar::may_have_cookies(self)
    }
}
