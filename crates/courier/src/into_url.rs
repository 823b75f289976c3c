//! [`IntoUrl`]: what `client.get(..)` accepts.

use url::Url;

use crate::lazy_url::LazyUrl;
use crate::Error;

/// Something that can be turned into a `Url`: `&str`, `String`, `&String`, `Url`, `&Url`.
///
/// Parsing failures become builder errors naming the input:
///
/// ```
/// use courier::IntoUrl;
///
/// let err = "not a url".into_url().unwrap_err();
/// assert!(err.is_builder());
/// ```
///
/// As in reqwest, a function generic over `U: IntoUrl` can look at the URL as given before parsing
/// it:
///
/// ```
/// use courier::IntoUrl;
///
/// fn host_of<U: IntoUrl>(url: U) -> Result<String, courier::Error> {
///     println!("fetching {}", url.as_str());
///     Ok(url.into_url()?.host_str().unwrap_or_default().to_owned())
/// }
/// assert_eq!(host_of("http://127.0.0.1:8080/").unwrap(), "127.0.0.1");
/// ```
pub trait IntoUrl: sealed::Sealed {
    /// Parses `self` into a URL.
    fn into_url(self) -> Result<Url, Error>;

    /// The URL as given, not yet parsed.
    fn as_str(&self) -> &str;
}

impl<T: sealed::Sealed> IntoUrl for T {
    fn into_url(self) -> Result<Url, Error> {
        self.into_lazy_url().map(LazyUrl::into_url)
    }

    fn as_str(&self) -> &str {
        self.given_str()
    }
}

/// The full `Url` parse, failing with a builder error that names the input.
pub(crate) fn parse_url(input: &str) -> Result<Url, Error> {
    Url::parse(input).map_err(|source| {
        Error::builder(InvalidUrl {
            input: courier_core::urls::mask_userinfo(input),
            source,
        })
    })
}

pub(crate) mod sealed {
    use super::*;

    /// How the client takes a URL: strings go through [`LazyUrl::parse`], which skips the full `Url`
    /// parse when it can.
    pub trait Sealed {
        fn into_lazy_url(self) -> Result<LazyUrl, Error>;

        /// `IntoUrl::as_str` (named apart, or a `U: IntoUrl` would see two `as_str`).
        fn given_str(&self) -> &str;
    }

    impl Sealed for Url {
        fn into_lazy_url(self) -> Result<LazyUrl, Error> {
            Ok(LazyUrl::from_url(self))
        }

        fn given_str(&self) -> &str {
            Url::as_str(self)
        }
    }

    impl Sealed for &Url {
        fn into_lazy_url(self) -> Result<LazyUrl, Error> {
            Ok(LazyUrl::from_url(self.clone()))
        }

        fn given_str(&self) -> &str {
            Url::as_str(self)
        }
    }

    impl Sealed for &str {
        fn into_lazy_url(self) -> Result<LazyUrl, Error> {
            LazyUrl::parse(self)
        }

        fn given_str(&self) -> &str {
            self
        }
    }

    impl Sealed for &String {
        fn into_lazy_url(self) -> Result<LazyUrl, Error> {
            LazyUrl::parse(self)
        }

        fn given_str(&self) -> &str {
            String::as_str(self)
        }
    }

    impl Sealed for String {
        fn into_lazy_url(self) -> Result<LazyUrl, Error> {
            LazyUrl::parse(&self)
        }

        fn given_str(&self) -> &str {
            String::as_str(self)
        }
    }
}

/// A URL that did not parse.
#[derive(Debug)]
struct InvalidUrl {
    input: String,
    source: url::ParseError,
}

impl std::fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid URL {:?}: {}", self.input, self.source)
    }
}

impl std::error::Error for InvalidUrl {}

/// Checks that `url` can be sent: an http or https scheme and a host.
pub(crate) fn check_sendable(url: &Url, https_only: bool) -> Result<(), Error> {
    let problem = match url.scheme() {
        "http" if https_only => Some("https_only is set and the URL is http"),
        "http" | "https" => (!url.has_host()).then_some("URL has no host"),
        _ => Some("unsupported URL scheme (only http and https are)"),
    };
    let Some(problem) = problem else {
        return Ok(());
    };
    // A URL typed without `http://` (`ada:pw@host/x`) parses with the user name as its scheme and
    // the password in its path (or query, or fragment, after a `?` or `#` in it), where no authority
    // holds it: what precedes its last `@` is masked in the error.
    let shown = if url.cannot_be_a_base() && url.as_str().contains('@') {
        Url::parse(&courier_core::urls::mask_userinfo(url.as_str())).unwrap_or_else(|_| url.clone())
    } else {
        url.clone()
    };
    Err(Error::builder(problem).with_url(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_urls_error_shows_no_credentials() {
        for (input, shown) in [
            (
                "http://ada:s3cret@127.0.0.1:99999/",
                "http://***@127.0.0.1:99999/",
            ),
            (
                "http://ada:s3/cret@127.0.0.1:99999/",
                "http://***@127.0.0.1:99999/",
            ),
            (
                "http://ada:s3#cret@127.0.0.1:99999/",
                "http://***@127.0.0.1:99999/",
            ),
            (
                "http://ada:s3?cret@127.0.0.1:99999/",
                "http://***@127.0.0.1:99999/",
            ),
            // Not told apart from a password `s3/a?b=c` for host `d`: masked too.
            ("http://127.0.0.1:99999/a?b=c@d", "http://***@d"),
            (
                "http://127.0.0.1:99999/a?b=c",
                "http://127.0.0.1:99999/a?b=c",
            ),
            ("not a url", "not a url"),
        ] {
            let err = parse_url(input).unwrap_err();
            assert!(format!("{err:#}").contains(shown), "{err:#}");
            assert!(!format!("{err:?}").contains("s3"), "{err:?}");
        }
    }
}
