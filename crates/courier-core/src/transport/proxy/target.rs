//! [`Target`]: one proxy as the connector reaches it — its kind, address, credentials and extra
//! headers — parsed from a proxy URL once.

use std::fmt;

use http::header::{HeaderMap, HeaderValue, PROXY_AUTHORIZATION};
use url::Url;

use crate::auth::{Credentials, Origin};
use crate::error::Error;

/// How the proxy is spoken to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// HTTP: absolute-form requests for `http`, `CONNECT` for `https`.
    Http,
    /// The same, over TLS to the proxy.
    Https,
    /// SOCKS4: the client resolves the destination (IPv4 only).
    Socks4,
    /// SOCKS4a: the proxy resolves the destination.
    Socks4a,
    /// SOCKS5: the client resolves the destination.
    Socks5,
    /// SOCKS5 with the proxy resolving the destination.
    Socks5h,
}

impl Kind {
    fn parse(scheme: &str) -> Result<Kind, Error> {
        let kind = match scheme {
            "http" => Kind::Http,
            "https" => Kind::Https,
            "socks4" => Kind::Socks4,
            "socks4a" => Kind::Socks4a,
            "socks5" => Kind::Socks5,
            "socks5h" => Kind::Socks5h,
            other => {
                return Err(Error::builder(format!(
                    "unsupported proxy scheme {other:?} (http, https, socks4, socks4a, socks5, socks5h)"
                )))
            }
        };
        if kind.is_socks() && cfg!(not(feature = "socks")) {
            return Err(Error::builder(format!(
                "{scheme}:// proxies need the `socks` feature"
            )));
        }
        Ok(kind)
    }

    pub(crate) fn is_socks(self) -> bool {
        !matches!(self, Kind::Http | Kind::Https)
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Https => "https",
            Kind::Socks4 => "socks4",
            Kind::Socks4a => "socks4a",
            Kind::Socks5 => "socks5",
            Kind::Socks5h => "socks5h",
        }
    }
}

/// A proxy to connect through, ready for the connector.
pub(crate) struct Target {
    pub(crate) kind: Kind,
    /// Without brackets around an IPv6 literal.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// For HTTP(S) proxies: `Proxy-Authorization` (if any) and `Proxy::headers`, sent to the proxy
    /// only (in `CONNECT`, or on each forwarded `http` request).
    pub(crate) headers: HeaderMap,
    /// For SOCKS5: username and password.
    #[cfg_attr(not(feature = "socks"), allow(dead_code))]
    pub(crate) socks_auth: Option<(String, String)>,
    /// For HTTP(S) proxies with credentials (in the URL, or `Proxy::basic_auth`): the proxy's origin
    /// and the credentials that answer its Digest challenge to a `CONNECT`.
    pub(crate) digest: Option<(Origin, Credentials)>,
    /// The pool key's suffix: the proxy's address, and a keyed hash of its credentials and headers
    /// so connections made as different users are never shared (and credentials never shown).
    pub(crate) key: String,
}

impl Target {
    /// Parses `url` (`scheme://[user:pass@]host[:port]`); `basic_auth` and `http_auth` override the
    /// URL's credentials.
    pub(crate) fn new(
        url: &Url,
        basic_auth: Option<&(String, String)>,
        http_auth: Option<&HeaderValue>,
        extra_headers: &HeaderMap,
    ) -> Result<Target, Error> {
        let kind = Kind::parse(url.scheme())?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::builder("proxy URL has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().unwrap_or(match kind {
            Kind::Http => 80,
            Kind::Https => 443,
            _ => 1080,
        });
        let credentials = basic_auth
            .cloned()
            .or_else(|| crate::urls::credentials(url));
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut headers = HeaderMap::new();
        let mut socks_auth = None;
        let mut digest = None;
        if kind.is_socks() {
            socks_auth = credentials;
        } else {
            let origin: Option<http::Uri> = format!("{}://{address}", kind.as_str()).parse().ok();
            digest = origin
                .as_ref()
                .and_then(Origin::of)
                .zip(credentials.as_ref())
                .map(|(origin, (user, pass))| (origin, Credentials::new(user, pass)));
            let auth = match (http_auth, &credentials) {
                (Some(value), _) => Some(value.clone()),
                (None, Some((user, pass))) => Some(crate::auth::basic_header(user, pass)),
                (None, None) => None,
            };
            if let Some(mut auth) = auth {
                auth.set_sensitive(true);
                headers.insert(PROXY_AUTHORIZATION, auth);
            }
            for (name, value) in extra_headers {
                headers.append(name, value.clone());
            }
        }
        let mut key = format!("{}://{address}", kind.as_str());
        if !headers.is_empty() || socks_auth.is_some() {
            key.push_str(&format!(" as {:016x}", secret_hash(&headers, &socks_auth)));
        }
        Ok(Target {
            kind,
            host,
            port,
            headers,
            socks_auth,
            digest,
            key,
        })
    }
}

/// A keyed hash of the credentials and headers: it tells identities apart in pool keys without
/// letting anyone who sees a key test passwords against it.
fn secret_hash(headers: &HeaderMap, socks_auth: &Option<(String, String)>) -> u64 {
    let headers: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    crate::auth::secret_hash(&(headers, socks_auth))
}

/// Credentials and headers are never printed.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<Target, Error> {
        Target::new(&Url::parse(url).unwrap(), None, None, &HeaderMap::new())
    }

    #[test]
    fn credentials_become_headers_or_socks_auth_and_never_show() {
        let t = target("http://Aladdin:open%20sesame@proxy.test:3128").unwrap();
        assert_eq!(
            t.headers[PROXY_AUTHORIZATION],
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(t.headers[PROXY_AUTHORIZATION].is_sensitive());
        assert!(t.key.starts_with("http://proxy.test:3128 as "), "{}", t.key);
        let (origin, credentials) = t.digest.as_ref().unwrap();
        assert_eq!(
            (origin.host(), credentials.username()),
            ("proxy.test", "Aladdin")
        );
        let printed = format!("{t:?} {}", t.key);
        assert!(
            !printed.contains("Aladdin") && !printed.contains("sesame"),
            "{printed}"
        );

        let t = target("https://[::1]").unwrap();
        assert_eq!((t.kind, t.host.as_str(), t.port), (Kind::Https, "::1", 443));
        assert_eq!(t.key, "https://[::1]:443");

        assert!(target("ftp://proxy.test").unwrap_err().is_builder());
    }

    #[cfg(feature = "socks")]
    #[test]
    fn socks_urls() {
        let t = target("socks5h://user:pw@127.0.0.1").unwrap();
        assert_eq!((t.kind, t.port), (Kind::Socks5h, 1080));
        assert_eq!(t.socks_auth, Some(("user".into(), "pw".into())));
        assert!(t.headers.is_empty());
    }

    #[cfg(not(feature = "socks"))]
    #[test]
    fn socks_needs_its_feature() {
        let err = target("socks5://127.0.0.1:1080").unwrap_err();
        // The cause says why: `{:#}` shows it.
        assert!(format!("{err:#}").contains("`socks` feature"), "{err:#}");
    }
}
