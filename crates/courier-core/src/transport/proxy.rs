//! HTTP proxies: `http://` requests go to the proxy in absolute form, `https://` requests through a
//! `CONNECT` tunnel, with optional basic auth. Configured explicitly ([`Proxy`]) or from the
//! environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, lowercase too), using hyper-util's
//! proxy matcher (the same rules as curl).
//!
//! Only `http://` proxy URLs are supported (TLS to the proxy itself and SOCKS are not).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;
use url::Url;

use crate::error::{BoxError, Error};

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

/// The TCP connector with proxies: direct, to an HTTP proxy (for `http://`), or through a `CONNECT`
/// tunnel (for `https://`, TLS then runs inside the tunnel).
#[derive(Clone)]
pub(crate) struct ProxyConnector<R> {
    http: HttpConnector<R>,
    matcher: Option<Arc<Matcher>>,
}

impl<R> ProxyConnector<R> {
    pub(crate) fn new(http: HttpConnector<R>, matcher: Option<Arc<Matcher>>) -> Self {
        ProxyConnector { http, matcher }
    }
}

impl<R> Service<Uri> for ProxyConnector<R>
where
    HttpConnector<R>: Service<Uri, Response = TokioIo<TcpStream>> + Clone + Send + 'static,
    <HttpConnector<R> as Service<Uri>>::Future: Send + 'static,
    <HttpConnector<R> as Service<Uri>>::Error: Into<BoxError>,
{
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        match intercept(&self.matcher, &dst) {
            None => Box::pin(async move {
                let io = http.call(dst).await.map_err(Into::into)?;
                Ok(ProxyStream { io, proxied: false })
            }),
            Some(proxy) if dst.scheme_str() == Some("https") => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move {
                    let io = tunnel.call(dst).await?;
                    Ok(ProxyStream { io, proxied: false })
                })
            }
            Some(proxy) => {
                let proxy_uri = proxy.uri().clone();
                Box::pin(async move {
                    let io = http.call(proxy_uri).await.map_err(Into::into)?;
                    Ok(ProxyStream { io, proxied: true })
                })
            }
        }
    }
}

/// A TCP connection, direct or to a proxy; a proxied one makes hyper send absolute-form requests.
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
