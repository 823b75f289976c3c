//! Cookies: the [`Jar`], the [`CookieStore`] trait (reqwest's), and [`Cookie`], a cookie a response
//! set, as [`Response::cookies`](crate::Response::cookies) gives them.

use std::fmt;
use std::time::{Duration, SystemTime};

pub use courier_core::cookie::{CookieStore, Jar};

/// A cookie from a response's `Set-Cookie` header, with reqwest's accessors. Parsed leniently (a
/// header that is no cookie at all is skipped, not an error); nothing here says whether a jar would
/// accept it (domain and public-suffix rules are the jar's business).
///
/// ```
/// let response = courier::Response::from(
///     http::Response::builder()
///         .header("set-cookie", "id=7; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax")
///         .body("")
///         .unwrap(),
/// );
/// let cookie = response.cookies().next().unwrap();
/// assert_eq!((cookie.name(), cookie.value()), ("id", "7"));
/// assert_eq!(cookie.path(), Some("/"));
/// assert_eq!(cookie.max_age(), Some(std::time::Duration::from_secs(60)));
/// assert!(cookie.secure() && cookie.http_only() && cookie.same_site_lax());
/// ```
pub struct Cookie<'a>(cookie::Cookie<'a>);

impl<'a> Cookie<'a> {
    pub(crate) fn parse(value: &'a http::HeaderValue) -> Option<Cookie<'a>> {
        let text = std::str::from_utf8(value.as_bytes()).ok()?;
        cookie::Cookie::parse(text).ok().map(Cookie)
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// The value.
    pub fn value(&self) -> &str {
        self.0.value()
    }

    /// `HttpOnly`: not for scripts.
    pub fn http_only(&self) -> bool {
        self.0.http_only().unwrap_or(false)
    }

    /// `Secure`: only over https.
    pub fn secure(&self) -> bool {
        self.0.secure().unwrap_or(false)
    }

    /// `SameSite=Lax`.
    pub fn same_site_lax(&self) -> bool {
        self.0.same_site() == Some(cookie::SameSite::Lax)
    }

    /// `SameSite=Strict`.
    pub fn same_site_strict(&self) -> bool {
        self.0.same_site() == Some(cookie::SameSite::Strict)
    }

    /// `Path`.
    pub fn path(&self) -> Option<&str> {
        self.0.path()
    }

    /// `Domain`.
    pub fn domain(&self) -> Option<&str> {
        self.0.domain()
    }

    /// `Max-Age`; a negative one is zero (the cookie is to be removed).
    pub fn max_age(&self) -> Option<Duration> {
        self.0
            .max_age()
            .map(|age| Duration::from_secs(age.whole_seconds().max(0) as u64))
    }

    /// `Expires`, as a point in time; `None` also when the platform's `SystemTime` cannot hold it
    /// (Windows' starts in 1601; the header may name the year 1000).
    pub fn expires(&self) -> Option<SystemTime> {
        let at = self.0.expires_datetime()?;
        let since_epoch = at - cookie::time::OffsetDateTime::UNIX_EPOCH;
        let magnitude = Duration::new(
            since_epoch.whole_seconds().unsigned_abs(),
            since_epoch.subsec_nanoseconds().unsigned_abs(),
        );
        if since_epoch.is_negative() {
            SystemTime::UNIX_EPOCH.checked_sub(magnitude)
        } else {
            SystemTime::UNIX_EPOCH.checked_add(magnitude)
        }
    }

    /// The `cookie` crate's type, with everything the header said.
    pub fn as_cookie(&self) -> &cookie::Cookie<'a> {
        &self.0
    }
}

impl fmt::Debug for Cookie<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value may be a session secret: shown only in full with `{:#?}`.
        let show_value = f.alternate();
        let mut d = f.debug_struct("Cookie");
        d.field("name", &self.name());
        if show_value {
            d.field("value", &self.value());
        }
        d.field("path", &self.path())
            .field("domain", &self.domain())
            .finish_non_exhaustive()
    }
}
