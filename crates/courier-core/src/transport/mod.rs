//! The transport: Courier's own connection pool over hyper's HTTP/1.1 and HTTP/2 connections.
//!
//! [`Transport`] is a `tower::Service<http::Request<B>>`. It sends exactly the request it is given
//! (absolute-form URI; it adds only `Host` for HTTP/1.1, the body-framing header (see `frame`), and
//! a forwarding proxy's credentials and headers) and returns the response with a streaming
//! [`ResponseBody`] and a [`ConnectionInfo`] (and, with `tls_info`, a [`TlsInfo`]) in its
//! extensions. Everything else (user agent, decompression, cookies, redirects, retries with backoff)
//! is done by the layers stacked on top of it. Clones share one pool.
//!
//! How a request goes, one module per step:
//!
//! | step | module |
//! | --- | --- |
//! | wait for a connection, or the right to open one, first come first served | `pool` |
//! | open it: resolve, TCP with Happy Eyeballs, proxy tunnel, TLS with ALPN | `connect` (`dns`, `tcp`, `proxy`, `tls`) |
//! | handshake and drive it | `http1`, `http2` |
//! | send, and hold the connection until the body ends | `checkout`, `body` |
//! | on failure, decide whether sending again is safe | `classify` |
//!
//! The transport replays a request itself at most once, and only when [`classify`](Fate) says the
//! server cannot have acted on it: it was never written (any method), HTTP/2 refused it (any method),
//! or a reused connection closed before any response byte (idempotent methods; the usual race with a
//! server closing an idle connection). Anything else is returned, with its [`Fate`] as data, for a
//! `RetryLayer` to decide.
//!
//! Upgrades: a `101 Switching Protocols`, or a `2xx` to a `CONNECT`, hands its connection over
//! through hyper's `OnUpgrade` in the response's extensions; that connection never goes back to the
//! pool. An HTTP/2 `CONNECT` tunnel is one stream of a shared connection: it counts against the
//! server's stream limit for as long as the response's extensions live, so keep them while the
//! tunnel is in use (`hyper::upgrade::on(&mut response)`, not on the response by value; the facade's
//! `Response::upgrade` keeps them with the upgraded connection).

mod body;
mod checkout;
mod classify;
mod connect;
pub mod dns;
mod http1;
mod http2;
mod info;
mod observe;
mod pool;
mod proxy;
mod tcp;
pub mod tls;
mod verbose;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderValue, CONTENT_LENGTH, HOST};
use http::{Method, Request, Response, Uri, Version};
use hyper_util::rt::TokioTimer;
use tokio::time::Instant;

use crate::body::{Body, TryCloneBody};
use crate::error::{BoxError, Error};
use crate::resend::SavedRequest;

pub use body::ResponseBody;
pub use classify::Fate;
use connect::ConnectorConfig;
pub use connect::{Connected, Connector, Io, Stream};
pub use info::{ConnectionInfo, Timings};
pub use observe::Exchange;
pub use pool::{HostStats, PoolStats};
pub use proxy::{IntoProxy, NoProxy, Proxy, ProxyRoutes};
pub use tls::{Certificate, CertificateRevocationList, Identity, TlsInfo};

use checkout::{Checkout, ConnectSlot};
use dns::Resolver;
use pool::{Acquired, Key, Pool, PoolConfig};
use proxy::ProxyConfig;
use tcp::TcpOptions;
use tls::TlsOptions;

/// The default time an idle pooled connection is kept: below the keep-alive of common servers
/// (nginx 75 s, cloud load balancers 60 s) so the client drops a connection before the server does.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The connector as the transport calls it once `connector_layer`s wrap it: a cloneable, boxed
/// `tower::Service<Uri>` answering a [`Connected`] stream (the origin `scheme://host:port` in, and any
/// error boxed).
pub type BoxedConnector = tower::util::BoxCloneSyncService<Uri, Connected, BoxError>;

/// One `connector_layer`, applied to the connector (or the layers under it) when the transport is
/// built.
#[derive(Clone)]
struct ConnectorLayer(Arc<dyn Fn(BoxedConnector) -> BoxedConnector + Send + Sync>);

impl std::fmt::Debug for ConnectorLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectorLayer")
    }
}

/// How many times a request hyper never wrote is moved to another connection before giving up.
const MAX_UNSENT_RETRIES: usize = 3;

/// A pooled HTTP client service: the bottom of every Courier stack.
///
/// ```no_run
/// use courier_core::transport::Transport;
/// use courier_core::Body;
/// use tower_service::Service;
///
/// # async fn run() -> Result<(), courier_core::Error> {
/// let mut transport: Transport = Transport::builder().build()?;
/// let request = http::Request::get("http://127.0.0.1:8080/").body(Body::empty()).unwrap();
/// let response = transport.call(request).await?;
/// assert!(response.status().is_success());
/// # Ok(())
/// # }
/// ```
pub struct Transport<B: Send + 'static = Body> {
    shared: Arc<Shared<B>>,
}

struct Shared<B: Send + 'static> {
    pool: Pool<B>,
    connector: Connector,
    /// The connector inside its `connector_layer`s, when there are any.
    layered: Option<BoxedConnector>,
    proxy: Option<Arc<proxy::Proxies>>,
    retry_stale: bool,
    may_be_h2: MayBeH2,
    observer: Option<observe::Observer>,
    http1: hyper::client::conn::http1::Builder,
    http2: hyper::client::conn::http2::Builder<http2::BoxingExecutor>,
}

impl<B: Send + 'static> Clone for Transport<B> {
    fn clone(&self) -> Self {
        Transport {
            shared: self.shared.clone(),
        }
    }
}

/// Which requests may end up on an HTTP/2 connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MayBeH2 {
    Never,
    /// `https` only, when ALPN says so.
    Https,
    Always,
}

impl MayBeH2 {
    fn check(self, uri: &Uri) -> bool {
        match self {
            MayBeH2::Never => false,
            MayBeH2::Https => uri.scheme() == Some(&http::uri::Scheme::HTTPS),
            MayBeH2::Always => true,
        }
    }
}

impl<B: Send + 'static> Transport<B> {
    /// What the connection pool is doing now: open, idle and waiting connections per host, and counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// Which requests this transport forwards to an HTTP proxy in absolute form (for an
    /// authentication layer answering the proxy's `407`: see [`ProxyRoutes`]).
    pub fn proxy_routes(&self) -> ProxyRoutes {
        ProxyRoutes::new(self.shared.proxy.clone())
    }
}

impl<B: Send + 'static> std::fmt::Debug for Transport<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport<Body> {
    /// A builder for a transport.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }
}

/// Configures a [`Transport`].
///
/// ```
/// use std::time::Duration;
/// use courier_core::transport::Transport;
///
/// let transport: Transport = Transport::builder()
///     .connect_timeout(Duration::from_secs(5))
///     .pool_max_idle_per_host(8)
///     .build()
///     .unwrap();
/// # drop(transport);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct TransportBuilder {
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    http1_only: bool,
    http2_prior_knowledge: bool,
    tcp: TcpOptions,
    resolve: HashMap<String, Vec<SocketAddr>>,
    dns_resolver: Option<dns::DynResolve>,
    hickory_dns: bool,
    unix_socket: Option<std::path::PathBuf>,
    connection_verbose: bool,
    tunnel_user_agent: Option<http::HeaderValue>,
    connector_layers: Vec<ConnectorLayer>,
    observer: Option<observe::Observer>,
    per_host: Option<usize>,
    total: Option<usize>,
    retry_stale: bool,
    proxy: ProxyConfig,
    tls: TlsOptions,
    http1: Http1Options,
    http2: Http2Options,
}

#[derive(Clone, Debug, Default)]
struct Http1Options {
    title_case_headers: bool,
    allow_obsolete_multiline_headers: bool,
    ignore_invalid_headers: bool,
    allow_spaces_after_header_name: bool,
    http09_responses: bool,
}

#[derive(Clone, Debug, Default)]
struct Http2Options {
    keep_alive_interval: Option<Duration>,
    keep_alive_timeout: Option<Duration>,
    keep_alive_while_idle: bool,
    initial_stream_window_size: Option<u32>,
    initial_connection_window_size: Option<u32>,
    adaptive_window: bool,
    max_frame_size: Option<u32>,
    max_header_list_size: Option<u32>,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder {
            connect_timeout: None,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            http1_only: false,
            http2_prior_knowledge: false,
            tcp: TcpOptions::default(),
            resolve: HashMap::new(),
            dns_resolver: None,
            // As reqwest: the feature turns the resolver on, `hickory_dns(false)` off again.
            hickory_dns: cfg!(feature = "hickory-dns"),
            unix_socket: None,
            connection_verbose: false,
            tunnel_user_agent: None,
            connector_layers: Vec::new(),
            observer: None,
            per_host: None,
            total: None,
            retry_stale: true,
            proxy: ProxyConfig::default(),
            tls: TlsOptions::default(),
            http1: Http1Options::default(),
            http2: Http2Options::default(),
        }
    }
}

impl TransportBuilder {
    /// Deadline for making a connection: name resolution, TCP (every address tried), the proxy
    /// tunnel and the TLS handshake together. Default: none (the request's own timeout applies).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long an idle connection stays in the pool; `None` keeps it until the server closes it.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The most idle connections kept per host; `0` disables reuse.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The most connections (in use and idle) to one `scheme://host:port`; further requests wait, first
    /// come first served, for a connection to free up or close. It also bounds the HTTP/2 connections
    /// opened when the server's concurrent-stream limit is reached. Default: unlimited.
    pub fn pool_max_connections_per_host(mut self, max: usize) -> Self {
        self.per_host = Some(max.max(1));
        self
    }

    /// The most connections open in total. When it is reached, a request for a host with no usable
    /// connection closes the connection idle the longest (of another host), or waits for one to
    /// close. Default: unlimited.
    pub fn pool_max_connections(mut self, max: usize) -> Self {
        self.total = Some(max.max(1));
        self
    }

    /// Resolve `host` to `addr` instead of asking DNS, replacing earlier addresses for that host.
    /// A port in the URL wins over `addr`'s; port `0` means the scheme's.
    pub fn resolve(self, host: &str, addr: SocketAddr) -> Self {
        self.resolve_to_addrs(host, &[addr])
    }

    /// Resolve `host` to `addrs` (tried in order, Happy Eyeballs) instead of asking DNS, replacing
    /// earlier addresses for that host.
    pub fn resolve_to_addrs(mut self, host: &str, addrs: &[SocketAddr]) -> Self {
        self.resolve
            .insert(host.to_ascii_lowercase(), addrs.to_vec());
        self
    }

    /// Resolve names with `resolver` instead of the system's (`resolve` overrides still come
    /// first). See [`dns`].
    pub fn dns_resolver(mut self, resolver: impl dns::IntoResolve) -> Self {
        self.dns_resolver = Some(dns::DynResolve(resolver.into_resolve()));
        self
    }

    /// Resolve names with hickory-resolver (configured from the system) instead of `getaddrinfo`:
    /// the default with the `hickory-dns` feature. Without the feature, `true` makes `build` fail. A
    /// `dns_resolver` wins.
    pub fn hickory_dns(mut self, enabled: bool) -> Self {
        self.hickory_dns = enabled;
        self
    }

    /// The local address to bind outgoing connections to; only a server's addresses of its family
    /// (IPv4 or IPv6) are connected to, as hyper-util's connector does.
    pub fn local_address(mut self, addr: Option<IpAddr>) -> Self {
        self.tcp.local_address = addr;
        self
    }

    /// Send a request once more when the server cannot have acted on it (see the
    /// [module docs](self)). Default on.
    pub fn retry_stale_connections(mut self, enabled: bool) -> Self {
        self.retry_stale = enabled;
        self
    }

    /// Send requests through `proxy`. Several can be added (e.g. one for http, one for https); once any
    /// is added, the proxy environment variables are ignored.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        match &mut self.proxy {
            ProxyConfig::Explicit(proxies) => proxies.push(proxy),
            _ => self.proxy = ProxyConfig::Explicit(vec![proxy]),
        }
        self
    }

    /// Use no proxy, not even those of the environment variables (`HTTP_PROXY`, `HTTPS_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`, lowercase too), which are honoured by default.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyConfig::Disabled;
        self
    }

    /// Speak only HTTP/1.1 (ALPN offers only `http/1.1`).
    pub fn http1_only(mut self) -> Self {
        self.http1_only = true;
        self.http2_prior_knowledge = false;
        self
    }

    /// Speak only HTTP/2, without upgrade or ALPN fallback (h2c on plain TCP).
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.http2_prior_knowledge = true;
        self.http1_only = false;
        self
    }

    /// Set `TCP_NODELAY` on new connections (default on: requests are small and latency matters).
    pub fn tcp_nodelay(mut self, enabled: bool) -> Self {
        self.tcp.nodelay = enabled;
        self
    }

    /// TCP keepalive: the idle time before the first probe on new connections; `None` turns them off.
    /// Default 15 s, then a probe every 15 s and 3 unanswered drop the connection (reqwest's).
    pub fn tcp_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.tcp.keepalive = interval;
        self
    }

    /// TCP keepalive: the time between probes once they started (Linux, macOS, BSDs, Windows).
    pub fn tcp_keepalive_interval(mut self, interval: Option<Duration>) -> Self {
        self.tcp.keepalive_interval = interval;
        self
    }

    /// TCP keepalive: how many unanswered probes drop the connection (Linux, macOS, BSDs).
    pub fn tcp_keepalive_retries(mut self, retries: Option<u32>) -> Self {
        self.tcp.keepalive_retries = retries;
        self
    }

    /// `TCP_USER_TIMEOUT` (Linux): drop the connection when sent data stays unacknowledged this
    /// long. Elsewhere it is ignored.
    pub fn tcp_user_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.tcp.user_timeout = timeout;
        self
    }

    /// Send through this network interface only (`SO_BINDTODEVICE`, Linux), e.g. `"eth1"`. Elsewhere
    /// it is ignored.
    pub fn interface(mut self, interface: &str) -> Self {
        self.tcp.interface = Some(interface.to_owned());
        self
    }

    /// Send every request over the Unix socket at `path` (the URL's host still names the `Host`
    /// header and, for `https`, the TLS server name); no DNS, TCP or proxy is used, and no proxy's
    /// credentials or headers are sent (not even those of the environment's proxies).
    pub fn unix_socket(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.unix_socket = Some(path.into());
        self
    }

    /// Trace every read and write of every connection at `trace` level (after TLS: the traffic in
    /// clear). Default off.
    pub fn connection_verbose(mut self, enabled: bool) -> Self {
        self.connection_verbose = enabled;
        self
    }

    /// The `User-Agent` of the `CONNECT` requests that open tunnels through proxies, unless the
    /// proxy's own [`Proxy::headers`](proxy::Proxy::headers) set one (default none). The
    /// [`UserAgentLayer`](crate::user_agent::UserAgentLayer) above never sees those requests; a
    /// client sets its own here, as reqwest sends it.
    pub fn tunnel_user_agent(mut self, value: http::HeaderValue) -> Self {
        self.tunnel_user_agent = Some(value);
        self
    }

    /// Wrap the connector in a tower layer: a concurrency limit or a timeout on connecting, a
    /// counter, a circuit breaker. The layer's service gets the origin (`scheme://host:port`) and
    /// answers the connected stream; each call wraps the layers added before. Errors it returns are
    /// connect errors (a `tower` timeout is also `is_timeout`), and the request was not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use courier_core::transport::Transport;
    ///
    /// let transport: Transport = Transport::builder()
    ///     .connector_layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
    ///     .connector_layer(tower::limit::ConcurrencyLimitLayer::new(16))
    ///     .build()
    ///     .unwrap();
    /// # drop(transport);
    /// ```
    pub fn connector_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<BoxedConnector> + Send + Sync + 'static,
        L::Service:
            tower_service::Service<Uri, Response = Connected> + Clone + Send + Sync + 'static,
        <L::Service as tower_service::Service<Uri>>::Error: Into<BoxError>,
        <L::Service as tower_service::Service<Uri>>::Future: Send + 'static,
    {
        use tower::ServiceExt as _;
        self.connector_layers
            .push(ConnectorLayer(Arc::new(move |inner: BoxedConnector| {
                BoxedConnector::new(layer.layer(inner).map_err(Into::into))
            })));
        self
    }

    /// Calls `observer` with every [`Exchange`]: a request as it was handed to its connection (the
    /// head written, `Host` and body framing included), the response head that answered it, and the
    /// connection's [`ConnectionInfo`]; for a `curl -v` style log. Called once per response head, on
    /// the task that sent the request, before the response is returned: keep it quick. Default none
    /// (then nothing is copied). See [`Exchange`] for what it does not show.
    ///
    /// ```
    /// use courier_core::transport::Transport;
    ///
    /// let transport: Transport = Transport::builder()
    ///     .on_exchange(|exchange| {
    ///         let reused = exchange.connection().reused();
    ///         eprintln!("{} {} (reused: {reused})", exchange.request().method(), exchange.uri());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(transport);
    /// ```
    pub fn on_exchange<F>(mut self, observer: F) -> Self
    where
        F: Fn(&Exchange<'_>) + Send + Sync + 'static,
    {
        self.observer = Some(observe::Observer(Arc::new(observer)));
        self
    }

    /// Trust an additional root certificate, besides the system's (see [`tls`] for which verifier
    /// results).
    pub fn add_root_certificate(mut self, cert: Certificate) -> Self {
        self.tls.extra_roots.push(cert);
        self
    }

    /// Trust these root certificates besides the system's (or besides the Mozilla roots, with
    /// `tls_built_in_root_certs(true)`).
    pub fn tls_certs_merge(mut self, certs: impl IntoIterator<Item = Certificate>) -> Self {
        self.tls.extra_roots.extend(certs);
        self
    }

    /// Trust only these root certificates (and those of any other `tls_certs_only` or
    /// `add_root_certificate` call): neither the system's nor the Mozilla roots.
    pub fn tls_certs_only(mut self, certs: impl IntoIterator<Item = Certificate>) -> Self {
        self.tls.extra_roots.extend(certs);
        self.tls.certs_only = true;
        self
    }

    /// `true`: trust the Mozilla roots compiled into the binary (webpki-roots) instead of the
    /// operating system's verifier (default off). `false`, as reqwest's: trust no built-in roots at
    /// all, neither the Mozilla roots nor the system's store, only those added with
    /// [`add_root_certificate`](Self::add_root_certificate) (building fails if there are none).
    pub fn tls_built_in_root_certs(mut self, enabled: bool) -> Self {
        self.tls.built_in_roots = enabled;
        if !enabled {
            self.tls.system_roots = false;
        }
        self
    }

    /// Trust the Mozilla roots compiled into the binary (webpki-roots), or not, leaving the system's
    /// store as it is (reqwest's name). Default off.
    pub fn tls_built_in_webpki_certs(mut self, enabled: bool) -> Self {
        self.tls.built_in_roots = enabled;
        self
    }

    /// Trust the operating system's store as read by rustls-native-certs, checked by webpki, instead
    /// of the operating system's verifier. Default off (`false` is the default: the operating
    /// system's verifier decides; [`tls_built_in_root_certs(false)`](Self::tls_built_in_root_certs)
    /// turns the system's store off).
    pub fn tls_native_root_certs(mut self, enabled: bool) -> Self {
        self.tls.native_roots = enabled;
        if enabled {
            self.tls.system_roots = true;
        }
        self
    }

    /// Show this client certificate to servers that ask for one (mutual TLS).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.tls.identity = Some(identity);
        self
    }

    /// Check server certificates against this revocation list too (webpki verifier; use with
    /// `tls_certs_only`).
    pub fn add_crl(mut self, crl: CertificateRevocationList) -> Self {
        self.tls.crls.push(crl);
        self
    }

    /// Check server certificates against these revocation lists too.
    pub fn add_crls(mut self, crls: impl IntoIterator<Item = CertificateRevocationList>) -> Self {
        self.tls.crls.extend(crls);
        self
    }

    /// Check server certificates against these revocation lists only: they replace any added before
    /// (reqwest 0.13's `tls_crls_only`).
    pub fn tls_crls_only(
        mut self,
        crls: impl IntoIterator<Item = CertificateRevocationList>,
    ) -> Self {
        self.tls.crls.clear();
        self.add_crls(crls)
    }

    /// Accept any server certificate: expired, self-signed, for another name. Handshake signatures are
    /// still checked. For development only: anyone on the path can read and change the traffic.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.verify_certs = !accept;
        self
    }

    /// Accept a valid certificate issued for another name. Any site's certificate then passes for any
    /// other site.
    pub fn danger_accept_invalid_hostnames(mut self, accept: bool) -> Self {
        self.tls.verify_hostnames = !accept;
        self
    }

    /// The oldest TLS version to speak (rustls speaks 1.2 and 1.3).
    pub fn min_tls_version(mut self, version: tls::Version) -> Self {
        self.tls.min_version = Some(version);
        self
    }

    /// The newest TLS version to speak.
    pub fn max_tls_version(mut self, version: tls::Version) -> Self {
        self.tls.max_version = Some(version);
        self
    }

    /// Send the server name in the TLS handshake (SNI). Default on.
    pub fn tls_sni(mut self, enabled: bool) -> Self {
        self.tls.sni = enabled;
        self
    }

    /// Put a [`TlsInfo`] (the server's certificate) in the extensions of every response that came
    /// over TLS. Default off.
    pub fn tls_info(mut self, enabled: bool) -> Self {
        self.tls.info = enabled;
        self
    }

    /// Write TLS session secrets to the file named by the `SSLKEYLOGFILE` environment variable (when
    /// it is set), for Wireshark. Default off: the file decrypts every recorded connection.
    pub fn tls_sslkeylogfile(mut self, enabled: bool) -> Self {
        self.tls.keylog = enabled;
        self
    }

    /// Use this TLS configuration, a `rustls::ClientConfig` (or an `Arc` of one), instead of building
    /// one from the other TLS options. ALPN is set from the HTTP version options when the
    /// configuration has none. Anything else makes `build` fail.
    pub fn use_preconfigured_tls(mut self, tls: impl std::any::Any) -> Self {
        self.tls.set_preconfigured(tls);
        self
    }

    /// HTTP/1.1: write header names in Title-Case (`Content-Type`) rather than as given.
    pub fn http1_title_case_headers(mut self) -> Self {
        self.http1.title_case_headers = true;
        self
    }

    /// HTTP/1.1: accept response headers folded over several lines (obsolete, RFC 9112 §5.2).
    pub fn http1_allow_obsolete_multiline_headers_in_responses(mut self, enabled: bool) -> Self {
        self.http1.allow_obsolete_multiline_headers = enabled;
        self
    }

    /// HTTP/1.1: skip invalid response header lines instead of failing the response.
    pub fn http1_ignore_invalid_headers_in_responses(mut self, enabled: bool) -> Self {
        self.http1.ignore_invalid_headers = enabled;
        self
    }

    /// HTTP/1.1: accept spaces between a response header's name and its colon (`Foo : bar`, which
    /// RFC 9112 §5.1 forbids) instead of failing the response. Default off.
    pub fn http1_allow_spaces_after_header_name_in_responses(mut self, enabled: bool) -> Self {
        self.http1.allow_spaces_after_header_name = enabled;
        self
    }

    /// Accept HTTP/0.9 responses (a body with no status line or headers). Default off.
    pub fn http09_responses(mut self) -> Self {
        self.http1.http09_responses = true;
        self
    }

    /// HTTP/2: send a PING this often to keep the connection alive; `None` (default) sends none.
    pub fn http2_keep_alive_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.http2.keep_alive_interval = interval.into();
        self
    }

    /// HTTP/2: close the connection if a keep-alive PING is not answered within this time.
    pub fn http2_keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.http2.keep_alive_timeout = Some(timeout);
        self
    }

    /// HTTP/2: send keep-alive PINGs even when no stream is open.
    pub fn http2_keep_alive_while_idle(mut self, enabled: bool) -> Self {
        self.http2.keep_alive_while_idle = enabled;
        self
    }

    /// HTTP/2: the initial flow-control window of each stream.
    pub fn http2_initial_stream_window_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.http2.initial_stream_window_size = size.into();
        self
    }

    /// HTTP/2: the initial flow-control window of the connection.
    pub fn http2_initial_connection_window_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.http2.initial_connection_window_size = size.into();
        self
    }

    /// HTTP/2: size the flow-control windows from the measured bandwidth-delay product (overrides
    /// the initial window sizes).
    pub fn http2_adaptive_window(mut self, enabled: bool) -> Self {
        self.http2.adaptive_window = enabled;
        self
    }

    /// HTTP/2: the largest frame payload to accept.
    pub fn http2_max_frame_size(mut self, size: impl Into<Option<u32>>) -> Self {
        self.http2.max_frame_size = size.into();
        self
    }

    /// HTTP/2: the largest header list (decoded) to accept.
    pub fn http2_max_header_list_size(mut self, size: u32) -> Self {
        self.http2.max_header_list_size = Some(size);
        self
    }

    /// Builds the transport. Fails only on invalid TLS configuration.
    pub fn build<B>(self) -> Result<Transport<B>, Error>
    where
        B: http_body::Body + Send + 'static + Unpin,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let mut tls = self.tls.client_config()?;
        if self.tls.preconfigured.is_none() || tls.alpn_protocols.is_empty() {
            tls.alpn_protocols = alpn(self.http1_only, self.http2_prior_knowledge);
        }
        let tls_info = self.tls.info;
        let resolver = match (self.dns_resolver, self.hickory_dns) {
            (Some(resolver), _) => Some(resolver.0),
            (None, false) => None,
            #[cfg(feature = "hickory-dns")]
            (None, true) => Some(Arc::new(dns::HickoryResolver::new()) as Arc<dyn dns::Resolve>),
            #[cfg(not(feature = "hickory-dns"))]
            (None, true) => {
                return Err(Error::builder(
                    "hickory_dns(true) needs the `hickory-dns` feature",
                ))
            }
        };
        // Over a Unix socket no proxy is used, so none is configured: its credentials and headers
        // must not reach the socket's server (environment proxies included).
        let proxy = match self.unix_socket {
            Some(_) => None,
            None => self.proxy.build()?,
        };
        let connector = Connector::new(ConnectorConfig {
            resolver: Resolver::new(self.resolve, resolver),
            tcp: self.tcp,
            tls,
            proxy: proxy.clone(),
            connect_timeout: self.connect_timeout,
            http2_prior_knowledge: self.http2_prior_knowledge,
            tls_info,
            unix_socket: self.unix_socket,
            verbose: self.connection_verbose,
            user_agent: self.tunnel_user_agent,
        });

        let layered = (!self.connector_layers.is_empty()).then(|| {
            use tower::ServiceExt as _;
            let base = BoxedConnector::new(connector.clone().map_err(BoxError::from));
            self.connector_layers
                .iter()
                .fold(base, |inner, layer| (layer.0)(inner))
        });

        let mut http1 = hyper::client::conn::http1::Builder::new();
        http1
            .title_case_headers(self.http1.title_case_headers)
            .allow_obsolete_multiline_headers_in_responses(
                self.http1.allow_obsolete_multiline_headers,
            )
            .ignore_invalid_headers_in_responses(self.http1.ignore_invalid_headers)
            .allow_spaces_after_header_name_in_responses(self.http1.allow_spaces_after_header_name)
            .http09_responses(self.http1.http09_responses);
        let mut http2 = hyper::client::conn::http2::Builder::new(http2::BoxingExecutor);
        let h2 = &self.http2;
        http2
            .timer(TokioTimer::new())
            .keep_alive_interval(h2.keep_alive_interval)
            .keep_alive_while_idle(h2.keep_alive_while_idle)
            .initial_stream_window_size(h2.initial_stream_window_size)
            .initial_connection_window_size(h2.initial_connection_window_size)
            .adaptive_window(h2.adaptive_window)
            .max_frame_size(h2.max_frame_size);
        if let Some(timeout) = h2.keep_alive_timeout {
            http2.keep_alive_timeout(timeout);
        }
        if let Some(max) = h2.max_header_list_size {
            http2.max_header_list_size(max);
        }

        let may_be_h2 = if self.http1_only {
            MayBeH2::Never
        } else if self.http2_prior_knowledge {
            MayBeH2::Always
        } else {
            MayBeH2::Https
        };
        Ok(Transport {
            shared: Arc::new(Shared {
                pool: Pool::new(PoolConfig {
                    per_host: self.per_host,
                    total: self.total,
                    idle_timeout: self.pool_idle_timeout,
                    max_idle_per_host: self.pool_max_idle_per_host,
                }),
                layered,
                connector,
                proxy,
                retry_stale: self.retry_stale,
                may_be_h2,
                observer: self.observer,
                http1,
                http2,
            }),
        })
    }
}

impl<B> tower_service::Service<Request<B>> for Transport<B>
where
    B: http_body::Body + TryCloneBody + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture<B> {
        ResponseFuture {
            inner: Box::pin(self.shared.clone().send(req)),
        }
    }
}

/// Where a request goes: its pool key, and how its connection is reached.
struct Route {
    key: Key,
    may_be_h2: bool,
    /// The proxy chosen for the request and the protocols to offer, decided here once: the
    /// connector follows them.
    chosen: connect::Chosen,
}

impl<B> Shared<B>
where
    B: http_body::Body + TryCloneBody + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn route(&self, req: &mut Request<B>) -> Result<Route, Error> {
        if !matches!(
            req.version(),
            Version::HTTP_10 | Version::HTTP_11 | Version::HTTP_2
        ) {
            // hyper panics writing any other version.
            return Err(Error::request(format!(
                "{:?} requests are not supported (only HTTP/1.0, HTTP/1.1 and HTTP/2)",
                req.version()
            ))
            .with_fate(Fate::NotSent));
        }
        let uri = req.uri();
        if uri.host().is_none() {
            return Err(Error::builder("the request URI is not absolute (no host)"));
        }
        thread_local! {
            // The key is built in a reused buffer, and the last key made is reused when it is the
            // same (requests come in runs to one host): this runs for every request.
            static KEY: std::cell::RefCell<(String, Option<Key>)> =
                const { std::cell::RefCell::new((String::new(), None)) };
        }
        let proxy = proxy::intercept(&self.proxy, uri)?;
        let mut may_be_h2 = self.may_be_h2.check(uri);
        // An HTTP/1.1 upgrade (WebSocket's handshake) cannot travel over HTTP/2, which has no
        // `Upgrade` or `Connection` headers (RFC 9113 8.2.2; hyper would drop them and send a plain
        // request): over TLS it gets connections of its own that offer only `http/1.1` (`connect`
        // refuses one that speaks HTTP/2 anyway). With prior knowledge there is no such connection.
        let http1_only = may_be_h2 && is_upgrade(req.method(), req.headers());
        if http1_only && self.may_be_h2 == MayBeH2::Always {
            return Err(Error::request(
                "an HTTP/1.1 upgrade (Upgrade header) cannot be sent with http2_prior_knowledge: \
                 HTTP/2 has no upgrades",
            )
            .with_fate(Fate::NotSent));
        }
        if http1_only {
            may_be_h2 = false;
        }
        let key = KEY.with(|cell| {
            let (buf, last) = &mut *cell.borrow_mut();
            buf.clear();
            pool::write_host_key(buf, uri);
            if let Some(proxy) = &proxy {
                buf.push_str(" via ");
                buf.push_str(&proxy.key);
            }
            if http1_only {
                buf.push_str(" http/1.1");
            }
            match last {
                Some(key) if **key == **buf => key.clone(),
                _ => {
                    let key: Key = buf.as_str().into();
                    *last = Some(key.clone());
                    key
                }
            }
        });
        if let Some(proxy) = &proxy {
            // A forwarding proxy (http through an HTTP(S) proxy) reads its credentials and headers
            // from each request; a tunnel gets them in its CONNECT, a SOCKS proxy in its handshake.
            if proxy::forwards(uri, proxy) {
                crate::headers::append_missing(req.headers_mut(), &proxy.headers);
            }
        }
        Ok(Route {
            key,
            may_be_h2,
            chosen: connect::Chosen { proxy, http1_only },
        })
    }

    /// Opens a connection for `uri` as `route()` chose in `slot`'s place and checks it out.
    async fn connect(
        &self,
        slot: ConnectSlot<B>,
        uri: &Uri,
        chosen: connect::Chosen,
    ) -> Result<Checkout<B>, Error> {
        let http1_only = chosen.http1_only;
        let connected = match &self.layered {
            None => self.connector.connect_via(origin_of(uri), chosen).await,
            Some(layered) => {
                use tower::ServiceExt as _;
                connect::CHOSEN
                    .scope(chosen, layered.clone().oneshot(origin_of(uri)))
                    .await
                    .map_err(Error::from_connector)
            }
        };
        let connected = match connected {
            // A connector layer that moves the connect to another task loses the choice of ALPN
            // (see `Connector::connect`): such a connection is of no use to an upgrade, and is not
            // kept under the key of the connections that are.
            Ok(connected) if http1_only && connected.is_h2() => {
                slot.failed();
                return Err(Error::connect(
                    "an HTTP/1.1 upgrade needs a connection that speaks HTTP/1.1, and the \
                     connector (behind a connector_layer that runs it on another task) \
                     negotiated HTTP/2",
                ));
            }
            Ok(connected) => connected,
            Err(err) => {
                slot.failed();
                return Err(err);
            }
        };
        log_connection(&connected.meta);
        if connected.is_h2() {
            http2::handshake(&self.http2, connected, slot).await
        } else {
            http1::handshake(&self.http1, connected, slot).await
        }
    }

    async fn send(
        self: Arc<Self>,
        mut req: Request<B>,
    ) -> Result<Response<ResponseBody<B>>, Error> {
        let start = Instant::now();
        // Credentials in the URI travel in headers, if at all (the auth layers' business): never in a
        // request line, `:authority`, a proxy's view of the target, or the connection's span.
        if let Some(stripped) = crate::urls::uri_without_userinfo(req.uri()) {
            *req.uri_mut() = stripped;
        }
        let uri = req.uri().clone();
        let route = self.route(&mut req).map_err(|e| e.with_uri(&uri))?;
        let in_flight = self.pool.in_flight(&route.key);
        let mut replayed = false;
        let mut unsent = 0;
        loop {
            let mut checkout = match self.pool.acquire(&route.key, route.may_be_h2).await {
                Acquired::Conn(checkout) => checkout,
                Acquired::Connect(slot) => {
                    // One span per connection, from connecting to closing (the connection's task
                    // runs in it); the URI carries no credentials (those travel in headers).
                    let span = tracing::debug_span!(
                        "connection",
                        host = uri.authority().map_or("", |a| a.as_str()),
                        scheme = uri.scheme_str().unwrap_or(""),
                    );
                    let checkout = tracing::Instrument::instrument(
                        self.connect(slot, &uri, route.chosen.clone()),
                        span,
                    )
                    .await
                    .map_err(|e| e.with_uri(&uri))?;
                    checkout
                }
            };
            // Only a request that may meet a stale connection or a refusing HTTP/2 server is copied.
            let replay = (self.retry_stale
                && !replayed
                && (checkout.is_h2() || (checkout.reused() && req.method().is_idempotent())))
            .then(|| SavedRequest::try_of(&req))
            .flatten();
            let head_request = req.method() == Method::HEAD;
            let connect = req.method() == Method::CONNECT;
            let idempotent = req.method().is_idempotent();
            let unprepared = prepare(&mut req, &checkout)?;
            let sent = self.observer.as_ref().map(|_| observe::head_of(&req));
            let small_upload = http_body::Body::is_end_stream(req.body())
                || req
                    .body()
                    .buffered_bytes()
                    .is_some_and(|bytes| bytes.len() as u64 <= checkout::DRAIN_LIMIT);
            match checkout.send(req, small_upload).await {
                Ok(mut res) => {
                    in_flight.answered(checkout.reused());
                    checkout.response_received(connect, res.status(), res.headers());
                    let fresh_meta = (!checkout.reused()).then(|| &**checkout.meta());
                    let info = ConnectionInfo::new(
                        checkout.meta().clone(),
                        checkout.reused(),
                        info::Timings::new(start, fresh_meta),
                    );
                    tracing::debug!(
                        reused = info.reused(),
                        connection = info.connection_id(),
                        first_byte_ms = info.timings().first_byte().as_millis() as u64,
                        status = res.status().as_u16(),
                        "response head"
                    );
                    // hyper checks an HTTP/1.1 body against its Content-Length; for HTTP/2 the body does.
                    let remaining = if checkout.is_h2() && !head_request {
                        declared_length(&res)
                    } else {
                        None
                    };
                    if let Some(tls) = &checkout.meta().tls_info {
                        res.extensions_mut().insert(tls.clone());
                    }
                    res.extensions_mut().insert(info.clone());
                    if let (Some(observer), Some(sent)) = (&self.observer, &sent) {
                        let (parts, body) = res.into_parts();
                        let head = Response::from_parts(parts, ());
                        (observer.0)(&Exchange {
                            uri: &uri,
                            request: sent,
                            response: &head,
                            connection: &info,
                        });
                        res = Response::from_parts(head.into_parts().0, body);
                    }
                    if connect && checkout.is_h2() && res.status().is_success() {
                        // An HTTP/2 tunnel is a stream that stays open after this empty body: it
                        // counts against the server's stream limit until whoever holds the
                        // response's extensions (the upgraded connection, say) lets it go.
                        res.extensions_mut()
                            .insert(TunnelStream(Arc::new(std::sync::Mutex::new(checkout))));
                        return Ok(res.map(|body| ResponseBody::new(body, None, info, remaining)));
                    }
                    return Ok(
                        res.map(|body| ResponseBody::new(body, Some(checkout), info, remaining))
                    );
                }
                Err(failure) => {
                    let error = failure.error;
                    if let Some(mut unsent_req) = failure.request {
                        // hyper never wrote it: any method may go out on another connection.
                        unsent += 1;
                        if unsent <= MAX_UNSENT_RETRIES {
                            tracing::debug!(error = %error, "request not sent; trying another connection");
                            unprepared.restore(&mut unsent_req, &uri);
                            req = unsent_req;
                            continue;
                        }
                        return Err(Error::request(error)
                            .with_fate(Fate::NotSent)
                            .with_uri(&uri));
                    }
                    let gone = checkout.h2_connection_gone();
                    let fate = classify::classify(&error, checkout.reused(), gone);
                    if classify::is_go_away(&error) {
                        // New streams go to another connection. A refused stream alone keeps its
                        // connection: retiring it would strand the replay behind the per-host cap
                        // while the connection's other streams finish.
                        checkout.retire();
                    }
                    // Lost on a fresh connection is the server's answer: not replayed here.
                    let allowed = match fate {
                        Fate::NotSent | Fate::NotProcessed => true,
                        Fate::Lost { reused: true } => idempotent,
                        _ => false,
                    };
                    if let (true, Some(again)) = (allowed, replay) {
                        tracing::debug!(error = %error, ?fate, "request not answered; sending it once more");
                        replayed = true;
                        req = again.into_request();
                        continue;
                    }
                    return Err(Error::from_exchange(classify::LostWithConnection::explain(
                        error, gone,
                    ))
                    .with_fate(fate)
                    .with_uri(&uri));
                }
            }
        }
    }
}

/// True for a request asking to switch protocols with HTTP/1.1's `Upgrade` (not HTTP/2's CONNECT).
fn is_upgrade(method: &Method, headers: &http::HeaderMap) -> bool {
    method != Method::CONNECT && headers.contains_key(http::header::UPGRADE)
}

/// The ALPN protocols to offer.
fn alpn(http1_only: bool, http2_prior_knowledge: bool) -> Vec<Vec<u8>> {
    if http1_only {
        vec![b"http/1.1".to_vec()]
    } else if http2_prior_knowledge {
        vec![b"h2".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    }
}

/// `scheme://authority` of `uri`: what the connector connects to.
fn origin_of(uri: &Uri) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = uri.scheme().cloned();
    parts.authority = uri.authority().cloned();
    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// Shapes the request for its connection: HTTP/1.1 gets a `Host` header and an origin-form target
/// (absolute-form to a forwarding proxy, authority-form for `CONNECT`); HTTP/2 keeps the absolute URI
/// its pseudo-headers come from. Both get the body's framing (see [`frame`]).
fn prepare<B: http_body::Body + Send + 'static>(
    req: &mut Request<B>,
    checkout: &Checkout<B>,
) -> Result<Unprepared, Error> {
    let mut unprepared = Unprepared {
        version: req.version(),
        host: false,
        framing: frame(req, checkout.is_h2())?,
    };
    let uri = req.uri().clone();
    if checkout.is_h2() {
        *req.version_mut() = Version::HTTP_2;
        // The pseudo-headers come from the URI (without credentials, see `send`): `:authority`
        // alone for a `CONNECT`.
        if req.method() == Method::CONNECT {
            if let Some(target) = connect_target(&uri) {
                *req.uri_mut() = target;
            }
        }
        return Ok(unprepared);
    }
    if req.version() == Version::HTTP_2 {
        return Err(
            Error::request("HTTP/2 was required, but the connection speaks HTTP/1.1")
                .with_fate(Fate::NotSent),
        );
    }
    if !req.headers().contains_key(HOST) {
        if let Some(value) = host_header(&uri) {
            req.headers_mut().insert(HOST, value);
            unprepared.host = true;
        }
    }
    if req.method() == Method::CONNECT {
        if let Some(target) = connect_target(&uri) {
            *req.uri_mut() = target;
        }
    } else if !checkout.meta().proxied {
        *req.uri_mut() = match uri.path_and_query() {
            Some(path) if path.as_str() != "/" => Uri::from(path.clone()),
            _ => Uri::from_static("/"),
        };
    }
    Ok(unprepared)
}

/// Sets the header that frames the request's body when the request has none, and returns its name
/// (for [`Unprepared::restore`]). hyper keeps a framing header it is given, and otherwise adds the
/// same ones, except in two cases it gets wrong for a client:
///
/// - an empty body of a `POST`, `PUT` or `PATCH` gets `Content-Length: 0` on HTTP/1.1 too, as RFC
///   9110 8.6 says a user agent normally sends (servers answer `411 Length Required` without it;
///   hyper sent it on HTTP/2 only);
/// - a body of unknown size on a `GET` or `HEAD` is sent chunked: hyper sent such a request with no
///   body at all, silently. On HTTP/1.0, which has no chunked coding, it is an error, unsent.
///
/// The head an observer sees is then the head written.
fn frame<B: http_body::Body>(
    req: &mut Request<B>,
    h2: bool,
) -> Result<Option<http::header::HeaderName>, Error> {
    use http::header::TRANSFER_ENCODING;
    let body = req.body();
    let size = if body.is_end_stream() {
        Some(0)
    } else {
        body.size_hint().exact()
    };
    // An empty body says so where the method expects one: on HTTP/2 by hyper's rule (any method but
    // GET, HEAD, DELETE, CONNECT); on HTTP/1.1 for POST, PUT and PATCH only (RFC 9110 8.6: not for
    // a method that expects none, and a TRACE carries none, 9.3.8), as curl sends it.
    let says_empty = if h2 {
        !matches!(
            *req.method(),
            Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
        )
    } else {
        matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
    };
    let header = match size {
        Some(0) if !says_empty => return Ok(None),
        Some(len) => (CONTENT_LENGTH, HeaderValue::from(len)),
        // HTTP/2 frames a body with its DATA frames; a tunnel's body is the tunnel.
        None if h2 || req.method() == Method::CONNECT => return Ok(None),
        None => (TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
    };
    let headers = req.headers();
    if headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING) {
        return Ok(None);
    }
    if header.0 == TRANSFER_ENCODING && req.version() == Version::HTTP_10 {
        return Err(Error::request(
            "a body of unknown size cannot be sent over HTTP/1.0 (no chunked coding): \
             give it a Content-Length",
        )
        .with_fate(Fate::NotSent));
    }
    req.headers_mut().insert(header.0.clone(), header.1);
    Ok(Some(header.0))
}

/// A `CONNECT`'s target: `host:port` always (RFC 9110 §9.3.6), the port even when it is the
/// scheme's default, and never the URI's credentials.
fn connect_target(uri: &Uri) -> Option<Uri> {
    let authority = uri.authority()?;
    let default = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    let port = authority.port_u16().unwrap_or(default);
    Uri::try_from(format!("{}:{port}", authority.host())).ok()
}

/// What [`prepare`] changed in a request for one connection, so a request
/// hyper hands back unsent can go to another connection, perhaps of the other protocol, as it came.
struct Unprepared {
    version: Version,
    /// `prepare` added `Host` (HTTP/1.1).
    host: bool,
    /// The framing header `frame` added, if any.
    framing: Option<http::header::HeaderName>,
}

impl Unprepared {
    fn restore<B>(&self, req: &mut Request<B>, uri: &Uri) {
        *req.uri_mut() = uri.clone();
        *req.version_mut() = self.version;
        if self.host {
            req.headers_mut().remove(HOST);
        }
        if let Some(name) = &self.framing {
            req.headers_mut().remove(name);
        }
    }
}

/// The `Host` header for `uri`: its host, and its port unless it is the scheme's default.
fn host_header(uri: &Uri) -> Option<HeaderValue> {
    thread_local! {
        // As the pool key in `route`: the last value made is handed out again (a clone shares its
        // bytes) while requests go to the same authority, which is what they mostly do.
        // Keyed by scheme too: the default port, left out of the header, depends on it.
        static LAST: std::cell::RefCell<Option<(bool, http::uri::Authority, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let authority = uri.authority()?;
    let https = uri.scheme_str() == Some("https");
    LAST.with(|cell| {
        let mut last = cell.borrow_mut();
        if let Some((seen_https, seen, value)) = &*last {
            // `Authority`'s `==` ignores ASCII case; the header keeps the request's own spelling.
            if *seen_https == https && seen.as_str() == authority.as_str() {
                return Some(value.clone());
            }
        }
        let host = authority.host();
        let value = match authority.port_u16() {
            Some(port) if !is_default_port(uri, port) => {
                HeaderValue::from_str(&format!("{host}:{port}"))
            }
            _ => HeaderValue::from_str(host),
        }
        .ok()?;
        *last = Some((https, authority.clone(), value.clone()));
        Some(value)
    })
}

fn is_default_port(uri: &Uri, port: u16) -> bool {
    match uri.scheme_str() {
        Some("https") => port == 443,
        _ => port == 80,
    }
}

/// The stream of an HTTP/2 `CONNECT` tunnel, held in the response's extensions (see `send`).
struct TunnelStream<B: Send + 'static>(Arc<std::sync::Mutex<Checkout<B>>>);

impl<B: Send + 'static> Clone for TunnelStream<B> {
    fn clone(&self) -> Self {
        TunnelStream(self.0.clone())
    }
}

/// The `Content-Length` a response with a body declared.
fn declared_length<T>(res: &Response<T>) -> Option<u64> {
    let status = res.status();
    if status.is_informational() || status == 204 || status == 304 {
        return None;
    }
    res.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn log_connection(meta: &connect::ConnMeta) {
    tracing::debug!(
        connection = meta.id,
        remote = ?meta.remote_addr,
        local = ?meta.local_addr,
        h2 = meta.h2,
        tls_version = meta.tls_version,
        cipher_suite = meta.cipher_suite,
        dns_us = meta.dns.as_micros() as u64,
        tcp_us = meta.tcp.as_micros() as u64,
        tls_us = meta.tls.map(|t| t.as_micros() as u64),
        "connection opened"
    );
}

type BoxedSend<B> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, Error>> + Send + 'static>>;

/// The future returned by [`Transport`]: the response head, or an [`Error`] naming the URL and, for
/// failures before a response, the request's [`Fate`].
pub struct ResponseFuture<B: Send + 'static = Body> {
    inner: BoxedSend<B>,
}

impl<B: Send + 'static> Future for ResponseFuture<B> {
    type Output = Result<Response<ResponseBody<B>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B: Send + 'static> std::fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(
        method: Method,
        version: Version,
        body: Body,
        h2: bool,
    ) -> Result<Option<(String, String)>, Error> {
        let mut req = Request::builder()
            .method(method)
            .version(version)
            .body(body)
            .unwrap();
        let added = frame(&mut req, h2)?;
        let headers = req.headers();
        assert_eq!(added.is_some(), !headers.is_empty());
        Ok(headers
            .iter()
            .next()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned())))
    }

    fn streaming() -> Body {
        let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"x"),
        )]);
        Body::wrap_stream(chunks)
    }

    #[test]
    fn a_body_is_framed_as_hyper_would_but_never_dropped_nor_left_without_a_length() {
        let h1 = |method, body| framing(method, Version::HTTP_11, body, false).unwrap();
        let h2 = |method, body| framing(method, Version::HTTP_2, body, true).unwrap();
        let cl = |n: &str| Some(("content-length".to_owned(), n.to_owned()));
        let chunked = Some(("transfer-encoding".to_owned(), "chunked".to_owned()));
        assert_eq!(h1(Method::POST, Body::from("abc")), cl("3"));
        assert_eq!(h2(Method::POST, Body::from("abc")), cl("3"));
        // An empty body: a 0 for a POST (RFC 9110 8.6), on both; nothing for a GET.
        assert_eq!(h1(Method::POST, Body::empty()), cl("0"));
        assert_eq!(h2(Method::POST, Body::empty()), cl("0"));
        assert_eq!(h1(Method::GET, Body::empty()), None);
        assert_eq!(h2(Method::GET, Body::empty()), None);
        // On HTTP/1.1 only where a body is expected: not for OPTIONS or TRACE (RFC 9110 8.6, 9.3.8).
        for method in [Method::OPTIONS, Method::TRACE, Method::DELETE] {
            assert_eq!(h1(method, Body::empty()), None);
        }
        assert_eq!(h1(Method::PATCH, Body::empty()), cl("0"));
        // A stream: chunked on HTTP/1.1, a GET's too (hyper would send it empty); nothing on HTTP/2.
        assert_eq!(h1(Method::PUT, streaming()), chunked);
        assert_eq!(h1(Method::GET, streaming()), chunked);
        assert_eq!(h2(Method::PUT, streaming()), None);
        // HTTP/1.0 has no chunked coding: an error, unsent; a known size is fine.
        let err = framing(Method::POST, Version::HTTP_10, streaming(), false).unwrap_err();
        assert_eq!(err.fate(), Some(Fate::NotSent));
        assert_eq!(
            framing(Method::POST, Version::HTTP_10, Body::from("abc"), false).unwrap(),
            cl("3")
        );
        // A framing header of the caller's stays alone, even on HTTP/1.0.
        let mut req = Request::post("/")
            .version(Version::HTTP_10)
            .header("content-length", "1")
            .body(streaming())
            .unwrap();
        assert_eq!(frame(&mut req, false).unwrap(), None);
        assert_eq!(req.headers().len(), 1);
    }

    /// The `Host` value leaves out the scheme's default port and credentials, keeps the URI's
    /// spelling, and is not handed to a request to the same authority under another scheme.
    #[test]
    fn userinfo_is_taken_off_the_authority_only() {
        let strip =
            |s: &str| crate::urls::uri_without_userinfo(&s.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            strip("http://u:p%40w@127.0.0.1:81/a@b?c=@").as_deref(),
            Some("http://127.0.0.1:81/a@b?c=@")
        );
        assert_eq!(strip("http://u@[::1]/").as_deref(), Some("http://[::1]/"));
        assert_eq!(strip("http://127.0.0.1/a@b"), None);
        assert_eq!(strip("/origin-form"), None);
    }

    #[test]
    fn host_header_is_the_authority_without_the_default_port() {
        let host = |s: &str| host_header(&s.parse().unwrap()).unwrap();
        assert_eq!(host("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(host("http://127.0.0.1:8080/again"), "127.0.0.1:8080");
        assert_eq!(host("http://Localhost:443/"), "Localhost:443");
        assert_eq!(host("https://Localhost:443/"), "Localhost");
        assert_eq!(host("http://Localhost:443/"), "Localhost:443");
        assert_eq!(host("http://localhost:443/"), "localhost:443");
        assert_eq!(host("http://localhost:80/"), "localhost");
        assert_eq!(host("http://user:pw@localhost:81/"), "localhost:81");
        assert_eq!(host("http://[::1]:81/"), "[::1]:81");
        assert_eq!(host("https://[::1]/"), "[::1]");
    }

    /// A request prepared for a connection and handed back unsent is as the caller sent it again: no
    /// `Host` or framing the transport added, the caller's version, the absolute URI; a `Host` the
    /// caller set stays.
    #[test]
    fn an_unsent_request_loses_what_was_prepared_for_its_connection() {
        let uri: Uri = "http://127.0.0.1:8080/a?b".parse().unwrap();
        let mut req = Request::get(uri.clone())
            .header("x-own", "kept")
            .body(())
            .unwrap();
        let unprepared = Unprepared {
            version: req.version(),
            host: true,
            framing: Some(CONTENT_LENGTH),
        };
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        req.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        *req.uri_mut() = Uri::from_static("/a?b");
        *req.version_mut() = Version::HTTP_2;
        unprepared.restore(&mut req, &uri);
        assert_eq!(req.uri(), &uri);
        assert_eq!(req.version(), Version::HTTP_11);
        assert!(!req.headers().contains_key(HOST));
        assert!(!req.headers().contains_key(CONTENT_LENGTH));
        assert_eq!(req.headers()["x-own"], "kept");

        let mut req = Request::get(uri.clone())
            .header(HOST, "chosen")
            .body(())
            .unwrap();
        let unprepared = Unprepared {
            version: req.version(),
            host: false,
            framing: None,
        };
        unprepared.restore(&mut req, &uri);
        assert_eq!(req.headers()[HOST], "chosen");
    }
}
