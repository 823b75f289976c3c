//! The causes of redirect errors. Each is wrapped in a [`crate::Error`] for which
//! [`is_redirect`](crate::Error::is_redirect) is true; find it with
//! `err.source().and_then(|e| e.downcast_ref::<TooManyRedirects>())`.

use std::fmt;

use url::Url;

fn write_chain(f: &mut fmt::Formatter<'_>, chain: &[Url]) -> fmt::Result {
    for (i, url) in chain.iter().enumerate() {
        if i > 0 {
            f.write_str(" -> ")?;
        }
        write!(f, "{url}")?;
    }
    Ok(())
}

/// The response after the last allowed redirect was a redirect too ([`Policy::limited`](super::Policy::limited)).
///
/// Displays as `too many redirects (limit 3): http://a/1 -> http://a/2 -> ...`.
#[derive(Clone, Debug)]
pub struct TooManyRedirects {
    limit: usize,
    chain: Vec<Url>,
}

impl TooManyRedirects {
    pub(super) fn new(limit: usize, chain: Vec<Url>) -> Self {
        TooManyRedirects { limit, chain }
    }

    /// How many redirects the policy allowed.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Every URL of the chain: those requested, then the redirect that was refused.
    pub fn chain(&self) -> &[Url] {
        &self.chain
    }
}

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many redirects (limit {}): ", self.limit)?;
        write_chain(f, &self.chain)
    }
}

impl std::error::Error for TooManyRedirects {}

/// A redirect would repeat a hop already taken in this chain: the same request (method and URL)
/// redirected to the same next request before.
///
/// Only a repeated *hop* counts, not a repeated URL, so a server that sets a cookie and redirects to
/// the same URL once is followed. Displays as `redirect loop: http://a/1 -> http://a/2 -> http://a/1 -> http://a/2`.
#[derive(Clone, Debug)]
pub struct RedirectLoop {
    chain: Vec<Url>,
}

impl RedirectLoop {
    pub(super) fn new(chain: Vec<Url>) -> Self {
        RedirectLoop { chain }
    }

    /// Every URL of the chain: those requested, then the redirect that closed the loop.
    pub fn chain(&self) -> &[Url] {
        &self.chain
    }
}

impl fmt::Display for RedirectLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redirect loop: ")?;
        write_chain(f, &self.chain)
    }
}

impl std::error::Error for RedirectLoop {}

/// A `Location` header that is not a valid URL reference (not UTF-8, unparsable), or that cannot be
/// resolved because the request URI was not absolute.
#[derive(Clone, Debug)]
pub struct InvalidLocation {
    location: String,
    reason: String,
}

impl InvalidLocation {
    /// The value as shown: credentials in it masked (see `urls::mask_userinfo`).
    pub(super) fn new(location: &[u8], reason: impl Into<String>) -> Self {
        InvalidLocation {
            location: crate::urls::mask_userinfo(&String::from_utf8_lossy(location)),
            reason: reason.into(),
        }
    }

    /// The header value (invalid UTF-8 replaced by `U+FFFD`, a user name and password as `***`).
    pub fn location(&self) -> &str {
        &self.location
    }
}

impl fmt::Display for InvalidLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid Location header {:?}: {}",
            self.location, self.reason
        )
    }
}

impl std::error::Error for InvalidLocation {}

/// A redirect to a URL whose scheme is neither `http` nor `https`.
#[derive(Clone, Debug)]
pub struct UnsupportedScheme {
    url: Url,
}

impl UnsupportedScheme {
    pub(super) fn new(url: Url) -> Self {
        UnsupportedScheme { url }
    }

    /// The URL the redirect pointed to.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for UnsupportedScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unsupported scheme {:?} in redirect to {}",
            self.url.scheme(),
            self.url
        )
    }
}

impl std::error::Error for UnsupportedScheme {}

/// A redirect from `https` to `http`, refused unless
/// [`Policy::allow_https_downgrade`](super::Policy::allow_https_downgrade) is set.
#[derive(Clone, Debug)]
pub struct InsecureRedirect {
    from: Url,
    to: Url,
}

impl InsecureRedirect {
    pub(super) fn new(from: Url, to: Url) -> Self {
        InsecureRedirect { from, to }
    }

    /// The `https` URL that answered with the redirect.
    pub fn from(&self) -> &Url {
        &self.from
    }

    /// The `http` URL it pointed to.
    pub fn to(&self) -> &Url {
        &self.to
    }
}

impl fmt::Display for InsecureRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to follow redirect from https to http: {} -> {}",
            self.from, self.to
        )
    }
}

impl std::error::Error for InsecureRedirect {}
