//! Proxies: HTTP and HTTPS proxies (`http://` requests forwarded in absolute form, `https://`
//! requests through a `CONNECT` tunnel), and SOCKS4, SOCKS4a, SOCKS5 and SOCKS5h with the `socks`
//! feature. Configured explicitly ([`Proxy`]) or from the environment (`HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, lowercase too).
//!
//! | proxy URL | how the connection is made |
//! | --- | --- |
//! | `http://proxy:3128` | TCP to the proxy; `CONNECT` for https, absolute-form requests for http |
//! | `https://proxy:3129` | the same, inside TLS to the proxy (its certificate checked like any server's) |
//! | `socks4://`, `socks5://` | SOCKS to the proxy; the client resolves the destination |
//! | `socks4a://`, `socks5h://` | SOCKS to the proxy; the proxy resolves the destination |
//!
//! The proxy's credentials (from its URL, [`Proxy::basic_auth`] or [`Proxy::custom_http_auth`]) and
//! [`Proxy::headers`] go to the proxy only: in the `CONNECT` request, on each request forwarded by an
//! HTTP proxy, or in the SOCKS5 handshake. They appear in no error, log or `Debug` output. A proxy
//! that answers `CONNECT` with a Digest challenge (`407`, `Proxy-Authenticate: Digest`) gets one more
//! `CONNECT` answering it with the URL's or [`Proxy::basic_auth`]'s credentials; later tunnels to it
//! answer its nonce before being asked. If it refuses them, the request fails with a connect error
//! whose [`proxy_status`](crate::Error::proxy_status) is `407`.
//!
//! The first proxy (in the order they were added) that applies to a request and whose
//! [`NoProxy`] list does not name its host is used; with none, the request goes direct.

mod config;
mod no_proxy;
mod routes;
#[cfg(feature = "socks")]
pub(crate) mod socks;
mod target;
mod tunnel;

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderMap, HeaderValue};
use url::Url;

use crate::error::Error;

pub(crate) use config::{intercept, Proxies, ProxyConfig};
pub use no_proxy::NoProxy;
pub(crate) use routes::forwards;
pub use routes::ProxyRoutes;
pub(crate) use target::{Kind, Target};
pub(crate) use tunnel::tunnel;

/// A proxy to send requests through.
///
/// ```
/// use courier_core::transport::{NoProxy, Proxy};
///
/// let proxy = Proxy::all("http://proxy.internal:3128")
///     .unwrap()
///     .basic_auth("user", "secret")
///     .no_proxy(NoProxy::from_string("localhost, .internal"));
/// # drop(proxy);
/// assert!(Proxy::http("http://").unwrap_err().is_builder());
/// ```
#[derive(Clone)]
pub struct Proxy {
    intercept: Intercept,
    no_proxy: Option<NoProxy>,
    basic_auth: Option<(String, String)>,
    http_auth: Option<HeaderValue>,
    headers: HeaderMap,
}

#[derive(Clone)]
enum Intercept {
    All(Url),
    Http(Url),
    Https(Url),
    Custom(CustomFn),
}

/// A `Proxy::custom` closure, its answer already turned into a URL.
type CustomFn = Arc<dyn Fn(&Url) -> Option<Result<Url, Error>> + Send + Sync>;

impl Proxy {
    /// Send every request through the proxy at `url` (`http://`, `https://`, or with the `socks`
    /// feature `socks4://`, `socks4a://`, `socks5://`, `socks5h://`; no scheme means `http://`).
    pub fn all<U: IntoProxy>(url: U) -> Result<Proxy, Error> {
        Ok(Proxy::new(Intercept::All(checked(url)?)))
    }

    /// Send `http://` requests through the proxy at `url`.
    pub fn http<U: IntoProxy>(url: U) -> Result<Proxy, Error> {
        Ok(Proxy::new(Intercept::Http(checked(url)?)))
    }

    /// Send `https://` requests through the proxy at `url` (an HTTP proxy tunnels them with `CONNECT`).
    pub fn https<U: IntoProxy>(url: U) -> Result<Proxy, Error> {
        Ok(Proxy::new(Intercept::Https(checked(url)?)))
    }

    /// Decide per request: `fun` gets the request's URL and names a proxy, or `None` to let the next
    /// proxy (or none) decide. A URL `fun` returns that is not a valid proxy fails that request with a
    /// builder error. `fun` is asked once for each request; a connection opened for the request goes
    /// through the proxy it named (pooled apart from the connections of other proxies and of direct
    /// requests), so it may decide by path too.
    ///
    /// ```
    /// use courier_core::transport::Proxy;
    ///
    /// let proxy = Proxy::custom(|url| match url.host_str() {
    ///     Some(host) if host.ends_with(".corp") => Some("http://corp-proxy:3128"),
    ///     _ => None,
    /// });
    /// # drop(proxy);
    /// ```
    pub fn custom<F, U>(fun: F) -> Proxy
    where
        F: Fn(&Url) -> Option<U> + Send + Sync + 'static,
        U: IntoProxy,
    {
        Proxy::new(Intercept::Custom(Arc::new(move |url: &Url| {
            fun(url).map(checked)
        })))
    }

    fn new(intercept: Intercept) -> Proxy {
        Proxy {
            intercept,
            no_proxy: None,
            basic_auth: None,
            http_auth: None,
            headers: HeaderMap::new(),
        }
    }

    /// Authenticate to the proxy: HTTP Basic (`Proxy-Authorization`) for an HTTP(S) proxy, username and
    /// password for SOCKS5. Credentials in the proxy URL (`http://user:pass@proxy:3128`) work too. An
    /// HTTP(S) proxy that asks the `CONNECT` of an `https` request for HTTP Digest instead gets a
    /// Digest answer made with them.
    pub fn basic_auth(mut self, username: &str, password: &str) -> Proxy {
        self.basic_auth = Some((username.to_owned(), password.to_owned()));
        self
    }

    /// Send this `Proxy-Authorization` value to an HTTP(S) proxy (e.g. a bearer token), instead of
    /// Basic credentials.
    pub fn custom_http_auth(mut self, value: HeaderValue) -> Proxy {
        self.http_auth = Some(value);
        self
    }

    /// Send these headers to an HTTP(S) proxy (in `CONNECT`, or on forwarded `http` requests that do
    /// not set them); a tunnelled destination never sees them.
    pub fn headers(mut self, headers: HeaderMap) -> Proxy {
        self.headers = headers;
        self
    }

    /// Hosts that bypass this proxy; `None` for none.
    pub fn no_proxy(mut self, no_proxy: Option<NoProxy>) -> Proxy {
        self.no_proxy = no_proxy;
        self
    }

    /// The proxies the environment names, as a transport with no proxy configured uses them:
    /// `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` (or their lowercase forms; `HTTP_PROXY` is
    /// ignored in a CGI program), each with `NO_PROXY`'s exceptions. For a tool that takes its own
    /// exceptions instead, as curl's `--noproxy` does:
    ///
    /// ```
    /// use courier_core::transport::{NoProxy, Proxy};
    ///
    /// let proxies: Vec<Proxy> = Proxy::from_env()
    ///     .into_iter()
    ///     .map(|proxy| proxy.no_proxy(NoProxy::from_string("127.0.0.1,localhost")))
    ///     .collect();
    /// # drop(proxies);
    /// ```
    pub fn from_env() -> Vec<Proxy> {
        config::from_env()
    }
}

/// Credentials and headers are never printed.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (applies, url) = match &self.intercept {
            Intercept::All(url) => ("all", Some(url)),
            Intercept::Http(url) => ("http", Some(url)),
            Intercept::Https(url) => ("https", Some(url)),
            Intercept::Custom(_) => ("custom", None),
        };
        let url = url.map(|url| {
            let mut url = url.clone();
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        });
        f.debug_struct("Proxy")
            .field("applies_to", &applies)
            .field("url", &url)
            .field("no_proxy", &self.no_proxy)
            .finish_non_exhaustive()
    }
}

/// A proxy URL, given as `&str`, `String` or `Url`.
pub trait IntoProxy {
    /// The URL; no scheme means `http://`.
    fn into_proxy(self) -> Result<Url, Error>;
}

impl IntoProxy for Url {
    fn into_proxy(self) -> Result<Url, Error> {
        Ok(self)
    }
}

impl IntoProxy for &Url {
    fn into_proxy(self) -> Result<Url, Error> {
        Ok(self.clone())
    }
}

impl IntoProxy for &str {
    fn into_proxy(self) -> Result<Url, Error> {
        let parsed = if self.contains("://") {
            Url::parse(self)
        } else {
            Url::parse(&format!("http://{self}"))
        };
        // The message names the URL without its credentials.
        parsed.map_err(|e| {
            let shown = match self.rsplit_once('@') {
                Some((_, host)) => format!("…@{host}"),
                None => self.to_owned(),
            };
            Error::builder(format!("invalid proxy URL {shown:?}: {e}"))
        })
    }
}

impl IntoProxy for String {
    fn into_proxy(self) -> Result<Url, Error> {
        self.as_str().into_proxy()
    }
}

impl IntoProxy for &String {
    fn into_proxy(self) -> Result<Url, Error> {
        self.as_str().into_proxy()
    }
}

/// The URL, checked to be a proxy Courier can reach.
fn checked<U: IntoProxy>(url: U) -> Result<Url, Error> {
    let url = url.into_proxy()?;
    Target::new(&url, None, None, &HeaderMap::new())?;
    Ok(url)
}
