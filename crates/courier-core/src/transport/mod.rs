//! The transport: a pooled HTTP/1.1 + HTTP/2 client over plain TCP and TLS.
//!
//! [`Transport`] is a `tower::Service<http::Request<B>>` built on hyper-util's `client::legacy::Client`
//! with an `HttpConnector` wrapped in rustls (ALPN `h2` and `http/1.1`). Clones share one connection
//! pool. It sends exactly the request it is given — absolute-form URI, headers as they are — and
//! returns the response with a streaming [`ResponseBody`] (hyper's `Incoming`, which also tells the pool
//! when the response is over). Everything else (user agent,
//! decompression, cookies, redirects) is done by the layers stacked on top of it.
//!
//! The address the response came from is in the response extensions as
//! [`hyper_util::client::legacy::connect::HttpInfo`].
//!
//! Connections are pooled per `scheme://host:port` with limits, keep-alive awareness and statistics
//! (see the `pool` module's docs). HTTP/2 requests are spread over several connections when the
//! server's stream limit is reached: the transport keeps one hyper-util client per HTTP/2 connection
//! it may need to a host ("lanes", see the `http2` module's docs); HTTP/1.1 uses the first lane only,
//! whose pool opens as many connections as requests need.

mod http2;
mod pool;
mod proxy;
mod resolve;
mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{capture_connection, CaptureConnection, HttpConnector};
use hyper_util::client::legacy::{self, Client};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{Body, TryCloneBody};
use crate::error::{BoxError, Error};

pub use pool::{HostStats, PoolStats};
pub use proxy::Proxy;
pub use tls::Certificate;

use http2::{Http2Stream, Route};
use pool::{ConnInfo, InFlight, Pool, PoolConnector, PoolLimits};
use proxy::{ProxyConfig, ProxyConnector};
use resolve::Resolver;
use tls::TlsOptions;

type Connector = PoolConnector<HttpsConnector<ProxyConnector<Resolver>>>;

/// The default time an idle pooled connection is kept: below the keep-alive of common servers
/// (nginx 75 s, cloud load balancers 60 s) so the client drops a connection before the server does.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

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
pub struct Transport<B = Body> {
    lanes: Arc<Lanes<B>>,
    pool: Pool,
    proxy: Option<Arc<Matcher>>,
    retry_stale: bool,
    may_be_h2: MayBeH2,
    /// The most HTTP/2 connections (lanes) per host: the per-host connection cap.
    max_lanes: usize,
}

impl<B> Clone for Transport<B> {
    fn clone(&self) -> Self {
        Transport {
            lanes: self.lanes.clone(),
            pool: self.pool.clone(),
            proxy: self.proxy.clone(),
            retry_stale: self.retry_stale,
            may_be_h2: self.may_be_h2,
            max_lanes: self.max_lanes,
        }
    }
}

/// Which requests may end up on an HTTP/2 connection.
#[derive(Clone, Copy, Debug)]
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

/// One hyper-util client per lane; each has its own pool, so its own HTTP/2 connection per host. All
/// share one connector, so one set of limits and statistics.
struct Lanes<B> {
    first: Client<Connector, B>,
    more: RwLock<Vec<Client<Connector, B>>>,
    /// Builds the lanes past the first: HTTP/2 only.
    http2_builder: legacy::Builder,
    connector: Connector,
}

impl<B> Lanes<B>
where
    B: http_body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends `req` through `lane`'s client, which is made on first use.
    fn request(&self, lane: usize, req: Request<B>) -> legacy::ResponseFuture {
        if lane == 0 {
            return self.first.request(req);
        }
        if let Some(client) = self
            .more
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(lane - 1)
        {
            return client.request(req);
        }
        let mut more = self.more.write().unwrap_or_else(|e| e.into_inner());
        while more.len() < lane {
            more.push(self.http2_builder.build(self.connector.clone()));
        }
        more[lane - 1].request(req)
    }
}

impl<B> Transport<B> {
    /// What the connection pool is doing now: open, idle and waiting connections per host, and counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }
}

impl<B> std::fmt::Debug for Transport<B> {
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
    nodelay: bool,
    tcp_keepalive: Option<Duration>,
    local_address: Option<IpAddr>,
    resolve: HashMap<String, Vec<SocketAddr>>,
    limits: PoolLimits,
    retry_stale: bool,
    proxy: ProxyConfig,
    tls: TlsOptions,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder {
            connect_timeout: None,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            http1_only: false,
            http2_prior_knowledge: false,
            nodelay: true,
            tcp_keepalive: Some(Duration::from_secs(60)),
            local_address: None,
            resolve: HashMap::new(),
            limits: PoolLimits::default(),
            retry_stale: true,
            proxy: ProxyConfig::default(),
            tls: TlsOptions::default(),
        }
    }
}

impl TransportBuilder {
    /// Deadline for establishing the TCP connection (per address tried).
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
        self.limits.per_host = Some(max.max(1));
        self
    }

    /// The most connections open in total. Default: unlimited.
    pub fn pool_max_connections(mut self, max: usize) -> Self {
        self.limits.total = Some(max.max(1));
        self
    }

    /// Resolve `host` to `addr` instead of asking DNS (the URL's port, when given, wins over `addr`'s).
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> Self {
        self.resolve
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(addr);
        self
    }

    /// The local address to bind outgoing connections to.
    pub fn local_address(mut self, addr: Option<IpAddr>) -> Self {
        self.local_address = addr;
        self
    }

    /// Retry an idempotent request once when a pooled connection fails before any response arrived
    /// (typically: the server closed it while it sat idle), and any HTTP/2 request once when the server
    /// says it never processed it (`REFUSED_STREAM`, or a stream past a graceful `GOAWAY`; RFC 9113
    /// §8.7), as happens when requests go out on a new connection before its stream limit is known.
    /// Default on. Requests whose body cannot be replayed are never retried, and non-idempotent methods
    /// such as POST only in the HTTP/2 case.
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
        self.nodelay = enabled;
        self
    }

    /// TCP keepalive probes on new connections; `None` turns them off.
    pub fn tcp_keepalive(mut self, interval: Option<Duration>) -> Self {
        self.tcp_keepalive = interval;
        self
    }

    /// Trust an additional root certificate.
    pub fn add_root_certificate(mut self, cert: Certificate) -> Self {
        self.tls.extra_roots.push(cert);
        self
    }

    /// Trust the Mozilla roots compiled into the binary (webpki-roots). Default on.
    pub fn tls_built_in_root_certs(mut self, enabled: bool) -> Self {
        self.tls.built_in_roots = enabled;
        self
    }

    /// Trust the operating system's root store too. Default off.
    pub fn tls_native_root_certs(mut self, enabled: bool) -> Self {
        self.tls.native_roots = enabled;
        self
    }

    /// Builds the transport. Fails only on invalid TLS configuration.
    pub fn build<B>(self) -> Result<Transport<B>, Error>
    where
        B: http_body::Body + Send + 'static + Unpin,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let tls = self.tls.client_config()?;

        let mut http = HttpConnector::new_with_resolver(Resolver::new(self.resolve));
        http.enforce_http(false);
        http.set_nodelay(self.nodelay);
        http.set_keepalive(self.tcp_keepalive);
        http.set_connect_timeout(self.connect_timeout);
        http.set_local_address(self.local_address);

        let matcher = self.proxy.matcher();
        let http = ProxyConnector::new(http, matcher.clone());
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let connector = if self.http1_only {
            builder.enable_http1().wrap_connector(http)
        } else if self.http2_prior_knowledge {
            builder.enable_http2().wrap_connector(http)
        } else {
            builder.enable_http1().enable_http2().wrap_connector(http)
        };

        let mut client = Client::builder(TokioExecutor::new());
        client
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .http2_only(self.http2_prior_knowledge);
        let pool = Pool::new(self.limits, self.http2_prior_knowledge);
        let connector = PoolConnector::new(connector, pool.clone());
        let may_be_h2 = if self.http1_only {
            MayBeH2::Never
        } else if self.http2_prior_knowledge {
            MayBeH2::Always
        } else {
            MayBeH2::Https
        };
        let first = client.build(connector.clone());
        client.http2_only(true);
        Ok(Transport {
            lanes: Arc::new(Lanes {
                first,
                more: RwLock::new(Vec::new()),
                http2_builder: client,
                connector,
            }),
            pool,
            proxy: matcher,
            retry_stale: self.retry_stale,
            may_be_h2,
            max_lanes: self.limits.per_host.unwrap_or(usize::MAX),
        })
    }
}

impl<B> tower_service::Service<Request<B>> for Transport<B>
where
    B: http_body::Body + TryCloneBody + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Error;
    type Future = ResponseFuture<B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> ResponseFuture<B> {
        if self.proxy.is_some() && req.uri().scheme_str() == Some("http") {
            // hyper-util sends absolute-form to an HTTP proxy but leaves authenticating to us.
            if let Some(proxy) = proxy::intercept(&self.proxy, req.uri()) {
                if let Some(auth) = proxy.basic_auth() {
                    req.headers_mut()
                        .entry(http::header::PROXY_AUTHORIZATION)
                        .or_insert_with(|| auth.clone());
                }
            }
        }
        let track = self.pool.has_limits();
        let in_flight = self.pool.in_flight(req.uri(), track);
        let uri = req.uri().clone();
        let (state, stream) = self.route_and_send(req, &in_flight, true);
        ResponseFuture {
            state,
            uri,
            in_flight,
            stream,
        }
    }
}

impl<B> Transport<B>
where
    B: http_body::Body + TryCloneBody + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Routes the request (see the `http2` module) and hands it to its lane; with `allow_wait`, it may
    /// instead be parked until the host's first connection is made.
    fn route_and_send(
        &self,
        req: Request<B>,
        in_flight: &InFlight,
        allow_wait: bool,
    ) -> (State<B>, Option<Http2Stream>) {
        let may_be_h2 = self.may_be_h2.check(req.uri());
        match in_flight
            .http2()
            .route(may_be_h2, self.max_lanes, allow_wait)
        {
            Route::Wait => {
                let waiting = State::Waiting {
                    learned: Box::pin(in_flight.http2().clone().wait_learned()),
                    req: Some(req),
                    transport: self.clone(),
                };
                (waiting, None)
            }
            Route::Http1 => (self.send(req, 0, in_flight, false), None),
            Route::Stream(stream) => (self.send(req, stream.lane(), in_flight, true), Some(stream)),
        }
    }

    /// Hands the request to `lane`'s hyper-util client; `http2` when it may go out over HTTP/2.
    fn send(
        &self,
        mut req: Request<B>,
        lane: usize,
        in_flight: &InFlight,
        http2: bool,
    ) -> State<B> {
        // Only a reused connection can be stale: with no idle connection to this host, the request goes
        // out on a fresh one, whose failure is the server's answer and is not retried. HTTP/2 can say
        // for sure that a request was not processed, on any connection and for any method.
        let retry_on = if !self.retry_stale {
            None
        } else if req.method().is_idempotent() && in_flight.host_has_idle_connections() {
            Some(Unanswered::ConnectionLost)
        } else if http2 {
            Some(Unanswered::Unprocessed)
        } else {
            None
        };
        let retry = retry_on.and_then(|retry_on| {
            clone_request(&req).map(|clone| Replay {
                lanes: self.lanes.clone(),
                lane,
                req: clone,
                retry_on,
            })
        });
        // Under limits, learn when the request gets its connection, to tell waiting connection attempts.
        let capture = in_flight
            .is_unassigned()
            .then(|| capture_connection(&mut req));
        State::Sending {
            inner: self.lanes.request(lane, req),
            retry,
            capture,
        }
    }
}

fn clone_request<B: TryCloneBody>(req: &Request<B>) -> Option<Request<B>> {
    let mut clone = Request::new(req.body().try_clone_body()?);
    *clone.method_mut() = req.method().clone();
    *clone.uri_mut() = req.uri().clone();
    *clone.version_mut() = req.version();
    *clone.headers_mut() = req.headers().clone();
    *clone.extensions_mut() = req.extensions().clone();
    Some(clone)
}

/// A copy of a request to send once more, and which failures allow it.
struct Replay<B> {
    lanes: Arc<Lanes<B>>,
    lane: usize,
    req: Request<B>,
    /// The least certain failure that allows the replay.
    retry_on: Unanswered,
}

/// A failure before any response came, ordered from least to most certain that the server did not act
/// on the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Unanswered {
    /// The pooled connection died under it (closed or reset by the server): safe to replay only an
    /// idempotent request.
    ConnectionLost,
    /// HTTP/2 says the server never processed it: a refused stream, or one past the last stream a
    /// graceful GOAWAY accepted (RFC 9113 §8.7). Safe to replay whatever the method.
    Unprocessed,
}

/// Classifies a failure that came before any response. Connect errors are not among them (a new
/// connection was being made: its failure is the server's answer).
fn unanswered(err: &legacy::Error) -> Option<Unanswered> {
    if err.is_connect() {
        return None;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(h2_err) = cause.downcast_ref::<h2::Error>() {
            if h2_err.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h2_err.is_go_away() && h2_err.reason() == Some(h2::Reason::NO_ERROR))
            {
                return Some(Unanswered::Unprocessed);
            }
        }
        if let Some(hyper_err) = cause.downcast_ref::<hyper::Error>() {
            if hyper_err.is_incomplete_message() || hyper_err.is_canceled() {
                return Some(Unanswered::ConnectionLost);
            }
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return Some(Unanswered::ConnectionLost);
            }
        }
        source = cause.source();
    }
    None
}

/// The future returned by [`Transport`]: the response head, or a classified [`Error`] naming the URL.
pub struct ResponseFuture<B = Body> {
    state: State<B>,
    uri: Uri,
    in_flight: InFlight,
    /// The HTTP/2 stream the request holds (if it may go out over HTTP/2), handed to the body.
    stream: Option<Http2Stream>,
}

enum State<B> {
    /// The first connection to the host is being made by another request (see the `http2` module).
    Waiting {
        learned: Pin<Box<dyn Future<Output = ()> + Send>>,
        req: Option<Request<B>>,
        transport: Transport<B>,
    },
    Sending {
        inner: legacy::ResponseFuture,
        /// What to send again if the request turns out not to have been answered (see [`Unanswered`]).
        retry: Option<Replay<B>>,
        capture: Option<CaptureConnection>,
    },
}

impl<B> Future for ResponseFuture<B>
where
    B: http_body::Body + TryCloneBody + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            let (inner, retry, capture) = match &mut this.state {
                State::Waiting {
                    learned,
                    req,
                    transport,
                } => {
                    if learned.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let req = req.take().expect("polled after the request was sent");
                    let (state, stream) = transport.route_and_send(req, &this.in_flight, false);
                    this.state = state;
                    this.stream = stream;
                    continue;
                }
                State::Sending {
                    inner,
                    retry,
                    capture,
                } => (inner, retry, capture),
            };
            let polled = Pin::new(&mut *inner).poll(cx);
            if this.in_flight.is_unassigned()
                && capture
                    .as_ref()
                    .is_some_and(|c| c.connection_metadata().is_some())
            {
                this.in_flight.assigned();
            }
            match polled {
                Poll::Ready(Ok(mut res)) => {
                    let conn = res.extensions_mut().remove::<ConnInfo>();
                    if let Some(conn) = &conn {
                        conn.response_received(res.headers());
                    }
                    let mut stream = this.stream.take();
                    if let Some(stream) = &mut stream {
                        stream.end_probe();
                    }
                    return Poll::Ready(Ok(res.map(|body| ResponseBody::new(body, conn, stream))));
                }
                Poll::Ready(Err(err)) => {
                    if let Some(replay) = retry.take() {
                        if unanswered(&err).is_some_and(|why| why >= replay.retry_on) {
                            tracing::debug!(error = %err, "request not answered; retrying once");
                            *inner = replay.lanes.request(replay.lane, replay.req);
                            continue;
                        }
                    }
                    return Poll::Ready(Err(Error::from_service(err).with_uri(&this.uri)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The body of a [`Transport`] response: hyper's [`Incoming`], which also tells the pool when the
/// response is over, so the connection counts as idle only from then on.
pub struct ResponseBody {
    inner: Incoming,
    conn: Option<ConnInfo>,
    stream: Option<Http2Stream>,
}

impl ResponseBody {
    fn new(inner: Incoming, conn: Option<ConnInfo>, stream: Option<Http2Stream>) -> ResponseBody {
        let mut body = ResponseBody {
            inner,
            conn,
            stream,
        };
        if http_body::Body::is_end_stream(&body.inner) {
            body.finish();
        }
        body
    }

    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.response_done();
        }
        self.stream = None;
    }
}

impl http_body::Body for ResponseBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, hyper::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.finish(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.finish(),
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl<B> std::fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}
