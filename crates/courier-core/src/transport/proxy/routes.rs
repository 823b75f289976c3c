//! [`ProxyRoutes`] and [`forwards`]: which requests a proxy reads, decided in one place.

use std::sync::Arc;

use http::Uri;

use super::{intercept, Proxies, Target};

/// Whether a request to `dst` through `proxy` is forwarded in absolute form (plain `http` through an
/// HTTP(S) proxy: the proxy reads the request, so it carries `Proxy-Authorization` and the proxy's
/// headers) rather than tunnelled (`https` in a `CONNECT`, or anything through SOCKS: the request's
/// headers reach the origin and nothing meant for the proxy may be on them). The one rule the
/// transport and [`ProxyRoutes`] follow.
pub(crate) fn forwards(dst: &Uri, proxy: &Target) -> bool {
    dst.scheme() != Some(&http::uri::Scheme::HTTPS) && !proxy.kind.is_socks()
}

/// Which requests a [`Transport`](crate::transport::Transport) forwards to an HTTP proxy in absolute
/// form: the requests a proxy reads, so the only ones that may answer its `407` or carry
/// `Proxy-Authorization`.
///
/// Made by [`Transport::proxy_routes`](crate::transport::Transport::proxy_routes) from the
/// transport's own proxy rules, so the transport and whoever asks decide alike. `https` requests
/// (tunnelled), SOCKS proxies, hosts in `NO_PROXY` and transports with no proxy have none.
///
/// ```
/// use courier_core::transport::{NoProxy, Proxy, Transport};
///
/// let transport: Transport = Transport::builder()
///     .proxy(Proxy::all("http://127.0.0.1:3128").unwrap().no_proxy(NoProxy::from_string("localhost")))
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
    proxies: Option<Arc<Proxies>>,
}

impl ProxyRoutes {
    pub(crate) fn new(proxies: Option<Arc<Proxies>>) -> ProxyRoutes {
        ProxyRoutes { proxies }
    }

    /// The proxy (its `scheme://host:port`, without credentials) that a request to `dst` is forwarded
    /// to in absolute form; `None` when the request goes to its origin directly or through a tunnel.
    pub fn forwarding_proxy(&self, dst: &Uri) -> Option<Uri> {
        let proxy = intercept(&self.proxies, dst).ok()??;
        if !forwards(dst, &proxy) {
            return None;
        }
        let scheme = match proxy.kind {
            super::Kind::Https => "https",
            _ => "http",
        };
        let host = if proxy.host.contains(':') {
            format!("[{}]", proxy.host)
        } else {
            proxy.host.clone()
        };
        format!("{scheme}://{host}:{}", proxy.port).parse().ok()
    }
}

impl std::fmt::Debug for ProxyRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyRoutes")
            .field("any", &self.proxies.is_some())
            .finish()
    }
}
