//! HTTP proxies: `http://` requests go to the proxy in absolute form, `https://` requests through a
//! `CONNECT` tunnel, with optional basic auth. Configured explicitly ([`Proxy`]) or from the
//! environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, lowercase too), using hyper-util's
//! proxy matcher (the same rules as curl).
//!
//! Only `http://` proxy URLs are supported (TLS to the proxy itself and SOCKS are not). The connector
//! (`connect` module) decides per connection; this module holds the configuration and the `CONNECT`
//! handshake.

use std::io;
use std::sync::Arc;

use http::Uri;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use crate::error::Error;

/// A proxy to send requests through.
///
/// ```
/// use courier_core::transport::Proxy;
///
/// let proxy = Proxy::all("http://proxy.internal:3128")
///     .unwrap()
///     .basic_auth("user", "secret")
///     .no_proxy("localhost, .internal");
/// # drop(proxy);
/// assert!(Proxy::http("not a url").unwrap_err().is_builder());
/// ```
#[derive(Clone, Debug)]
pub struct Proxy {
    applies_to: AppliesTo,
    url: Url,
    no_proxy: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppliesTo {
    All,
    Http,
    Https,
}

impl Proxy {
    /// Send every request through the proxy at `url`.
    pub fn all(url: &str) -> Result<Proxy, Error> {
        Proxy::new(AppliesTo::All, url)
    }

    /// Send `http://` requests through the proxy at `url`.
    pub fn http(url: &str) -> Result<Proxy, Error> {
        Proxy::new(AppliesTo::Http, url)
    }

    /// Send `https://` requests through the proxy at `url` (as a `CONNECT` tunnel).
    pub fn https(url: &str) -> Result<Proxy, Error> {
        Proxy::new(AppliesTo::Https, url)
    }

    fn new(applies_to: AppliesTo, url: &str) -> Result<Proxy, Error> {
        let url = Url::parse(url)
            .map_err(|e| Error::builder(format!("invalid proxy URL {url:?}: {e}")))?;
        if url.scheme() != "http" {
            return Err(Error::builder(format!(
                "unsupported proxy scheme {:?}: only http:// proxies are supported",
                url.scheme()
            )));
        }
        Ok(Proxy {
            applies_to,
            url,
            no_proxy: None,
        })
    }

    /// Authenticate to the proxy with HTTP Basic (`Proxy-Authorization`). Credentials in the proxy URL
    /// (`http://user:pass@proxy:3128`) work too.
    pub fn basic_auth(mut self, username: &str, password: &str) -> Proxy {
        let _ = self.url.set_username(username);
        let _ = self.url.set_password(Some(password));
        self
    }

    /// Hosts that bypass the proxy, in `NO_PROXY` syntax: comma-separated names (a leading `.` or
    /// none matches subdomains too), IP addresses, CIDR ranges, or `*`.
    pub fn no_proxy(mut self, list: &str) -> Proxy {
        self.no_proxy = Some(list.to_owned());
        self
    }
}

/// Where a transport's proxy settings come from.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxyConfig {
    /// The environment variables (the default).
    #[default]
    Env,
    /// These proxies, and not the environment.
    Explicit(Vec<Proxy>),
    /// No proxy at all.
    Disabled,
}

const ENV_VARS: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
];

impl ProxyConfig {
    /// The matcher deciding which requests go through which proxy; `None` when none ever would, so
    /// the common case costs nothing per request.
    pub(crate) fn matcher(&self) -> Option<Arc<Matcher>> {
        match self {
            ProxyConfig::Disabled => None,
            ProxyConfig::Env => {
                let any = ENV_VARS
                    .iter()
                    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
                any.then(|| Arc::new(Matcher::from_env()))
            }
            ProxyConfig::Explicit(proxies) if proxies.is_empty() => None,
            ProxyConfig::Explicit(proxies) => {
                let mut builder = Matcher::builder();
                let mut no = Vec::new();
                for proxy in proxies {
                    let url = proxy.url.as_str().to_owned();
                    builder = match proxy.applies_to {
                        AppliesTo::All => builder.all(url),
                        AppliesTo::Http => builder.http(url),
                        AppliesTo::Https => builder.https(url),
                    };
                    no.extend(proxy.no_proxy.clone());
                }
                Some(Arc::new(builder.no(no.join(",")).build()))
            }
        }
    }
}

/// The proxy for `dst`, if any.
pub(crate) fn intercept(matcher: &Option<Arc<Matcher>>, dst: &Uri) -> Option<Intercept> {
    matcher.as_ref()?.intercept(dst)
}

/// Whether a request to `dst` that goes through a proxy goes inside a `CONNECT` tunnel (`https`: the
/// proxy sees only the tunnel, and the request's headers reach the origin) rather than being
/// forwarded in absolute form (the proxy reads the request and its `Proxy-Authorization`). The one
/// rule the connector, the transport and [`ProxyRoutes`] follow.
pub(crate) fn tunnels(dst: &Uri) -> bool {
    dst.scheme() == Some(&http::uri::Scheme::HTTPS)
}

/// Which requests a [`Transport`](super::Transport) forwards to an HTTP proxy in absolute form: the
/// requests a proxy reads, so the only ones that may answer its `407` or carry `Proxy-Authorization`.
///
/// Made by [`Transport::proxy_routes`](super::Transport::proxy_routes) from the transport's own proxy
/// matcher, so the transport and whoever asks decide alike. `https` requests (tunnelled), hosts in
/// `NO_PROXY` and transports with no proxy have none.
///
/// ```
/// use courier_core::transport::{Proxy, Transport};
///
/// let transport: Transport = Transport::builder()
///     .proxy(Proxy::all("http://127.0.0.1:3128").unwrap().no_proxy("localhost"))
///     .build()
///     .unwrap();
/// let routes = transport.proxy_routes();
/// let proxy = routes.forwarding_proxy(&"http://127.0.0.2/a".parse().unwrap());
/// assert_eq!(proxy.unwrap().authority().unwrap(), "127.0.0.1:3128");
/// assert!(routes.forwarding_proxy(&"https://127.0.0.2/a".parse().unwrap()).is_none());
/// assert!(routes.forwarding_proxy(&"http://localhost/a".parse().unwrap()).is_none());
/// ```
#[derive(Clone, Default)]
pub struct ProxyRoutes {
    matcher: Option<Arc<Matcher>>,
}

impl ProxyRoutes {
    pub(crate) fn new(matcher: Option<Arc<Matcher>>) -> ProxyRoutes {
        ProxyRoutes { matcher }
    }

    /// The proxy (its URL, without credentials) that a request to `dst` is forwarded to in absolute
    /// form; `None` when the request goes to its origin directly or through a tunnel.
    pub fn forwarding_proxy(&self, dst: &Uri) -> Option<Uri> {
        if tunnels(dst) {
            return None;
        }
        intercept(&self.matcher, dst).map(|proxy| proxy.uri().clone())
    }
}

impl std::fmt::Debug for ProxyRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRoutes")
            .field("any", &self.matcher.is_some())
            .finish()
    }
}

/// The most bytes of a `CONNECT` response head read before giving up on the proxy.
const MAX_TUNNEL_HEAD: usize = 16 * 1024;

/// Asks the proxy at the other end of `stream` for a tunnel to `host:port` (`CONNECT`, RFC 9110
/// §9.3.6) and reads its answer; a 2xx leaves `stream` connected to the destination.
pub(crate) async fn tunnel(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    auth: Option<&http::HeaderValue>,
) -> io::Result<()> {
    let mut head = Vec::with_capacity(128);
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    head.extend_from_slice(b"CONNECT ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b"\r\n");
    if let Some(auth) = auth {
        head.extend_from_slice(b"Proxy-Authorization: ");
        head.extend_from_slice(auth.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await?;

    // Read byte runs until the blank line; the proxy sends nothing after it until we speak (TLS), so
    // nothing of the tunnel is consumed here.
    let mut buf = Vec::with_capacity(256);
    loop {
        let mut chunk = [0u8; 512];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection during CONNECT",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if end + 4 != buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "proxy sent data after its CONNECT response",
                ));
            }
            break;
        }
        if buf.len() > MAX_TUNNEL_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy CONNECT response head too large",
            ));
        }
    }
    let status_line = buf.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/1.") && (200..300).contains(&code) => Ok(()),
        Some(407) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "proxy authentication required (407)",
        )),
        _ => Err(io::Error::other(format!(
            "proxy refused the tunnel: {status_line:?}"
        ))),
    }
}
