//! The connector: from a URI to a connected byte stream, TCP → proxy → TLS.
//!
//! [`Connector`] is a `tower::Service<Uri>`. In order:
//!
//! | step | module |
//! | --- | --- |
//! | resolve the host, or the proxy's (overrides, then the configured resolver) | `dns` |
//! | TCP with Happy Eyeballs and the socket options; or the Unix socket, if one is set | `tcp` |
//! | through the proxy, if one applies: TLS to an `https://` proxy, then `CONNECT` for `https`, or the SOCKS handshake | `proxy` |
//! | TLS with ALPN to the destination, for `https` | `tls` |
//! | wrap the stream to trace its bytes, with `connection_verbose` | `verbose` |
//!
//! `connect_timeout` bounds all of it together, so a server that accepts TCP and never answers the
//! ClientHello fails as a connect timeout. The result is a [`Connected`]: the [`Stream`] and what is
//! known about the connection ([`ConnMeta`]: addresses, negotiated protocol, TLS version and cipher
//! suite, and how long each phase took). `connector_layer`s, if any, wrap the whole service.
//!
//! What it does not do: pool or limit connections (the `pool` module), or speak HTTP (the `http1` and
//! `http2` modules).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::dns::Resolver;
use super::proxy::{self, Kind, Proxies, Target};
use super::tcp::{self, TcpOptions};
use super::tls::TlsInfo;
use super::verbose::Verbose;
use crate::auth::Sessions;
use crate::error::Error;

/// Opens connections; cheap to clone.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    resolver: Resolver,
    tcp: TcpOptions,
    tls: TlsConnector,
    /// The same trust with ALPN `http/1.1` only: TLS to an `https://` proxy (`CONNECT` is
    /// HTTP/1.1), and to origins for requests that must speak HTTP/1.1 (upgrades).
    http1_tls: TlsConnector,
    proxy: Option<Arc<Proxies>>,
    /// The Digest sessions of `CONNECT`s to proxies, per proxy and credentials: later tunnels
    /// answer a proxy's nonce before being asked.
    proxy_sessions: Sessions,
    connect_timeout: Option<Duration>,
    /// Every connection speaks HTTP/2 without ALPN (prior knowledge).
    http2_prior_knowledge: bool,
    /// Keep the server's certificate for a [`TlsInfo`].
    tls_info: bool,
    unix_socket: Option<PathBuf>,
    verbose: bool,
    user_agent: Option<http::HeaderValue>,
}

/// A fresh connection: the stream and what is known about it.
pub struct Connected {
    pub(crate) stream: Stream,
    pub(crate) meta: ConnMeta,
}

impl Connected {
    /// The connected stream, e.g. for a `connector_layer` to read the socket's options.
    ///
    /// ```
    /// use courier_core::transport::{Connected, Stream};
    ///
    /// fn peer(connected: &Connected) -> Option<std::net::SocketAddr> {
    ///     match connected.stream() {
    ///         Stream::Tcp(tcp) => tcp.peer_addr().ok(),
    ///         Stream::Tls(tls) => tls.get_ref().0.peer_addr().ok(),
    ///         Stream::Other(_) => None,
    ///     }
    /// }
    /// # drop(peer);
    /// ```
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// True when the connection will speak HTTP/2 (ALPN said `h2`, or prior knowledge).
    pub(crate) fn is_h2(&self) -> bool {
        self.meta.h2
    }
}

/// What is known about one connection, shared by every response that comes over it.
#[derive(Debug)]
pub(crate) struct ConnMeta {
    pub(crate) id: u64,
    pub(crate) local_addr: Option<SocketAddr>,
    /// `None` over a Unix socket.
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) h2: bool,
    /// Connected to an HTTP proxy that forwards absolute-form requests (not a tunnel).
    pub(crate) proxied: bool,
    pub(crate) tls_version: Option<&'static str>,
    pub(crate) cipher_suite: Option<&'static str>,
    /// The server's certificate, when `tls_info` was asked for.
    pub(crate) tls_info: Option<TlsInfo>,
    /// When connecting started, and how long each phase took.
    pub(crate) started: Instant,
    pub(crate) dns: Duration,
    pub(crate) tcp: Duration,
    pub(crate) tls: Option<Duration>,
    /// The connection still counts against the pool's limits. Cleared exactly once, by whoever closes
    /// it first (eviction, expiry, or its connection task ending).
    pub(crate) counted: AtomicBool,
    /// HTTP/2: the server's SETTINGS arrived, and the stream limit they set (`usize::MAX` if none).
    /// Kept here because hyper may read them before the pool has registered the connection.
    pub(crate) settings_seen: AtomicBool,
    pub(crate) max_streams: std::sync::atomic::AtomicUsize,
}

impl ConnMeta {
    /// Clears `counted`; true if this call did.
    pub(crate) fn uncount(&self) -> bool {
        self.counted.swap(false, Ordering::AcqRel)
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Everything a [`Connector`] is made of, from the transport's builder.
pub(crate) struct ConnectorConfig {
    pub(crate) resolver: Resolver,
    pub(crate) tcp: TcpOptions,
    pub(crate) tls: rustls::ClientConfig,
    pub(crate) proxy: Option<Arc<Proxies>>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) http2_prior_knowledge: bool,
    pub(crate) tls_info: bool,
    /// Every connection goes to this Unix socket instead (no DNS, TCP or proxy).
    pub(crate) unix_socket: Option<PathBuf>,
    /// Trace every read and write.
    pub(crate) verbose: bool,
    /// The `User-Agent` of `CONNECT` requests (see `TransportBuilder::tunnel_user_agent`).
    pub(crate) user_agent: Option<http::HeaderValue>,
}

impl Connector {
    pub(crate) fn new(config: ConnectorConfig) -> Connector {
        let mut http1_tls = config.tls.clone();
        http1_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Connector {
            inner: Arc::new(ConnectorInner {
                resolver: config.resolver,
                tcp: TcpOptions {
                    connect_timeout: config.connect_timeout,
                    ..config.tcp
                },
                tls: TlsConnector::from(Arc::new(config.tls)),
                http1_tls: TlsConnector::from(Arc::new(http1_tls)),
                proxy: config.proxy,
                proxy_sessions: Sessions::default(),
                connect_timeout: config.connect_timeout,
                http2_prior_knowledge: config.http2_prior_knowledge,
                tls_info: config.tls_info,
                unix_socket: config.unix_socket,
                verbose: config.verbose,
                user_agent: config.user_agent,
            }),
        }
    }

    /// Opens a connection for requests to `dst` (`scheme://host:port`), through the proxy the
    /// transport chose for the request that asked for it (see `Connector::connect_via`).
    ///
    /// Behind `connector_layer`s the choice travels with the task that connects; a layer that moves
    /// the call to another task (tower's `Buffer`) loses it, and the proxy is then chosen here from
    /// `dst` alone — the same choice for every proxy but a `Proxy::custom` that looks past the origin
    /// — and ALPN offers HTTP/2, which an upgrade request cannot use (the transport then fails it
    /// with a connect error rather than send it over HTTP/2).
    pub async fn connect(&self, dst: Uri) -> Result<Connected, Error> {
        let chosen = match CHOSEN.try_with(Clone::clone) {
            Ok(chosen) => chosen,
            Err(_) => Chosen {
                proxy: proxy::intercept(&self.inner.proxy, &dst)?,
                http1_only: false,
            },
        };
        self.connect_via(dst, chosen).await
    }

    /// Opens a connection to `dst` as the transport's `route()` decided (through which proxy, in
    /// which protocol): one place decides, so the pool key, the proxy headers and the connection
    /// agree.
    pub(crate) async fn connect_via(&self, dst: Uri, chosen: Chosen) -> Result<Connected, Error> {
        let inner = self.inner.clone();
        let setup = async move { inner.connect(&dst, chosen).await };
        match self.inner.connect_timeout {
            None => setup.await,
            Some(limit) => match tokio::time::timeout(limit, setup).await {
                Ok(result) => result,
                Err(_) => Err(Error::connect_timeout(ConnectTimedOut(limit))),
            },
        }
    }
}

/// What the transport's `route()` chose for a connection besides its origin.
#[derive(Clone, Default)]
pub(crate) struct Chosen {
    /// The proxy (`None`: direct).
    pub(crate) proxy: Option<Arc<Target>>,
    /// Offer only `http/1.1` in ALPN: the connection is for a request HTTP/2 cannot carry.
    pub(crate) http1_only: bool,
}

tokio::task_local! {
    /// What `route()` chose for the connection being opened, handed to [`Connector::connect`]
    /// through the `connector_layer`s (whose requests are plain `Uri`s).
    pub(crate) static CHOSEN: Chosen;
}

impl ConnectorInner {
    async fn connect(&self, dst: &Uri, chosen: Chosen) -> Result<Connected, Error> {
        let Chosen { proxy, http1_only } = chosen;
        let started = Instant::now();
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = dst
            .host()
            .ok_or_else(|| Error::builder("URI has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let default_port = if https { 443 } else { 80 };
        let (conn, facts) = match &self.unix_socket {
            Some(path) => (self.unix(path).await?, Facts::default()),
            None => self.tcp_and_proxy(dst, host, default_port, proxy).await?,
        };
        let Facts {
            remote_addr,
            local_addr,
            proxied,
            resolved,
        } = facts;
        let resolved = resolved.unwrap_or(started);
        let tcp_done = Instant::now();

        let mut meta = ConnMeta {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            local_addr,
            remote_addr,
            h2: self.http2_prior_knowledge,
            proxied,
            tls_version: None,
            cipher_suite: None,
            tls_info: None,
            started,
            dns: resolved - started,
            tcp: tcp_done - resolved,
            tls: None,
            counted: AtomicBool::new(true),
            settings_seen: AtomicBool::new(false),
            max_streams: std::sync::atomic::AtomicUsize::new(usize::MAX),
        };
        if !https {
            let stream = self.maybe_verbose(conn, meta.id);
            return Ok(Connected { stream, meta });
        }
        let name = ServerName::try_from(host.to_owned()).map_err(Error::connect)?;
        let tls = if http1_only {
            &self.http1_tls
        } else {
            &self.tls
        };
        let stream = match conn {
            Stream::Tcp(tcp) => {
                let tls = tls.connect(name, tcp).await.map_err(Error::connect)?;
                self.record_session(&mut meta, tls.get_ref().1);
                Stream::Tls(Box::new(tls))
            }
            // TLS inside a tunnel through an `https://` proxy.
            other => {
                let tls = tls.connect(name, other).await.map_err(Error::connect)?;
                self.record_session(&mut meta, tls.get_ref().1);
                Stream::Other(Box::new(tls))
            }
        };
        meta.tls = Some(tcp_done.elapsed());
        let stream = self.maybe_verbose(stream, meta.id);
        Ok(Connected { stream, meta })
    }

    /// Resolves, connects over TCP (Happy Eyeballs) to the destination or its proxy, and goes
    /// through `proxy`, if any: TLS to an `https://` proxy, `CONNECT` for `https`, or the SOCKS handshake.
    async fn tcp_and_proxy(
        &self,
        dst: &Uri,
        host: &str,
        default_port: u16,
        proxy: Option<Arc<Target>>,
    ) -> Result<(Stream, Facts), Error> {
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = dst.port_u16().unwrap_or(default_port);
        let addrs = match &proxy {
            Some(p) => self.resolver.resolve(&p.host, Some(p.port), p.port).await?,
            None => {
                self.resolver
                    .resolve(host, dst.port_u16(), default_port)
                    .await?
            }
        };
        let resolved = Instant::now();
        let tcp = tcp::connect(addrs.clone(), &self.tcp)
            .await
            .map_err(Error::connect)?;
        let mut facts = Facts {
            remote_addr: Some(tcp.peer_addr().map_err(Error::connect)?),
            local_addr: tcp.local_addr().ok(),
            proxied: false,
            resolved: Some(resolved),
        };
        let conn = match proxy.as_deref() {
            None => Stream::Tcp(tcp),
            #[cfg(feature = "socks")]
            Some(p) if p.kind.is_socks() => Stream::Tcp(
                proxy::socks::handshake(
                    tcp,
                    p,
                    host,
                    (dst.port_u16(), default_port),
                    &self.resolver,
                    || async {
                        tcp::connect(addrs.clone(), &self.tcp)
                            .await
                            .map_err(Error::connect)
                    },
                )
                .await?,
            ),
            Some(p) => {
                let conn = self.to_proxy(tcp, p).await?;
                if https {
                    // A proxy that closes the connection after its Digest challenge gets the answer on
                    // a new one.
                    let reconnect = || async {
                        let tcp = tcp::connect(addrs.clone(), &self.tcp)
                            .await
                            .map_err(Error::connect)?;
                        self.to_proxy(tcp, p).await
                    };
                    let conn = proxy::tunnel(
                        conn,
                        p,
                        host,
                        port,
                        self.user_agent.as_ref(),
                        &self.proxy_sessions,
                        reconnect,
                    )
                    .await?;
                    if let Some(tcp) = conn.tcp() {
                        facts.remote_addr = tcp.peer_addr().ok();
                        facts.local_addr = tcp.local_addr().ok();
                    }
                    conn
                } else {
                    facts.proxied = true;
                    conn
                }
            }
        };
        Ok((conn, facts))
    }

    /// `tcp` to the HTTP(S) proxy `p`: as it is, or inside TLS to an `https://` proxy.
    async fn to_proxy(&self, tcp: TcpStream, p: &Target) -> Result<Stream, Error> {
        if p.kind != Kind::Https {
            return Ok(Stream::Tcp(tcp));
        }
        let name = ServerName::try_from(p.host.clone()).map_err(Error::connect)?;
        let tls = self
            .http1_tls
            .connect(name, tcp)
            .await
            .map_err(|e| Error::connect(ProxyTlsError(e)))?;
        Ok(Stream::Tls(Box::new(tls)))
    }

    /// Connects to the Unix socket at `path`.
    #[cfg(unix)]
    async fn unix(&self, path: &std::path::Path) -> Result<Stream, Error> {
        let stream = tokio::net::UnixStream::connect(path).await.map_err(|err| {
            Error::connect(io::Error::new(
                err.kind(),
                format!(
                    "cannot connect to the Unix socket {}: {err}",
                    path.display()
                ),
            ))
        })?;
        Ok(Stream::Other(Box::new(stream)))
    }

    #[cfg(not(unix))]
    async fn unix(&self, _path: &std::path::Path) -> Result<Stream, Error> {
        Err(Error::builder("Unix sockets exist only on Unix"))
    }

    /// `stream`, wrapped to trace its reads and writes when `connection_verbose` is on.
    fn maybe_verbose(&self, stream: Stream, id: u64) -> Stream {
        if self.verbose {
            Stream::Other(Box::new(Verbose::new(stream, id)))
        } else {
            stream
        }
    }

    /// Records what the TLS handshake settled: protocol (ALPN), version, cipher suite, and the
    /// server's certificate when `tls_info` is on.
    fn record_session(&self, meta: &mut ConnMeta, session: &rustls::ClientConnection) {
        meta.h2 = match session.alpn_protocol() {
            Some(b"h2") => true,
            Some(_) => false,
            None => self.http2_prior_knowledge,
        };
        meta.tls_version = session.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            other => other.as_str().unwrap_or("TLS"),
        });
        meta.cipher_suite = session
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str());
        if self.tls_info {
            meta.tls_info = Some(TlsInfo {
                peer_certificate: session
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .map(|cert| Arc::from(cert.as_ref())),
            });
        }
    }
}

/// What connecting showed before TLS: addresses (none for a Unix socket), whether an HTTP proxy
/// forwards the requests, and when name resolution ended.
#[derive(Default)]
struct Facts {
    remote_addr: Option<SocketAddr>,
    local_addr: Option<SocketAddr>,
    proxied: bool,
    resolved: Option<Instant>,
}

/// The TLS handshake with an `https://` proxy failed (not the destination's).
#[derive(Debug)]
struct ProxyTlsError(io::Error);

impl std::fmt::Display for ProxyTlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TLS handshake with the proxy failed")
    }
}

/// The handshake's error is the cause: a caller walking `source()` reaches the rustls error (an
/// untrusted certificate, say) as for the origin's handshake.
impl std::error::Error for ProxyTlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Connected;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Connected, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.connect(dst).await })
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

/// `connect_timeout` passed before the connection was ready.
#[derive(Debug)]
struct ConnectTimedOut(Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connection not established within the connect timeout ({:?}: DNS, TCP, proxy and TLS)",
            self.0
        )
    }
}

impl std::error::Error for ConnectTimedOut {}

/// A connected byte stream: plain TCP, TLS over TCP, or another stream (TLS inside TLS to a proxy).
pub enum Stream {
    /// Plain TCP (`http`, or to a forwarding proxy).
    Tcp(TcpStream),
    /// TLS over TCP (`https`, perhaps inside a proxy tunnel; or to an `https://` proxy).
    Tls(Box<TlsStream<TcpStream>>),
    /// Any other stream: TLS through an `https://` proxy's tunnel.
    Other(Box<dyn Io>),
}

impl Stream {
    /// The TCP connection under a plain or TLS stream.
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Tcp(tcp) => Some(tcp),
            Stream::Tls(tls) => Some(tls.get_ref().0),
            Stream::Other(_) => None,
        }
    }
}

/// What a connection learns from the bytes it reads, as they pass (see [`Tapped`]).
pub(crate) trait ReadTap: Unpin {
    /// Sees the bytes of one read; an error fails that read.
    fn read(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// A connection's stream handed to hyper with its reads shown to a [`ReadTap`] (an HTTP/2
/// connection scans them for the server's SETTINGS); writes pass through.
pub(crate) struct Tapped<T> {
    pub(crate) io: Stream,
    pub(crate) tap: T,
}

impl<T: ReadTap> AsyncRead for Tapped<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.tap.read(&buf.filled()[before..])?;
        }
        polled
    }
}

impl<T: Unpin> AsyncWrite for Tapped<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What a [`Stream::Other`] is: any tokio byte stream that can move between tasks.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => poll_read_capped(Pin::new(s), cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Other(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

/// The most one read of a plain TCP stream takes from the socket.
///
/// hyper reads into all of its buffer's spare capacity, which on a large body grows past 400 KiB: one
/// read then takes up to that much. With many connections in flight, megabytes sit in socket queues
/// and read buffers. Reading at most 96 KiB at a time (the curl tool reads 100 KiB) drains sockets
/// sooner. Measured in courier-bench's bulk scenario (1,000 × 1 MiB, 32 in flight; alternated runs,
/// before and after): wall time 0.27–0.29 s → 0.23–0.24 s, peak RSS 38 → 19 MiB. Response heads larger
/// than this still parse: the cap is per read, not on hyper's buffer. TLS streams are not capped:
/// rustls reads the socket a few KiB at a time anyway.
const MAX_TCP_READ: usize = 96 * 1024;

fn poll_read_capped(
    stream: Pin<&mut TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() <= MAX_TCP_READ {
        return stream.poll_read(cx, buf);
    }
    let mut part = buf.take(MAX_TCP_READ);
    let start = part.filled().as_ptr();
    let result = stream.poll_read(cx, &mut part);
    // The same check tokio's `Take` makes: the bytes read are in `buf`'s memory.
    assert_eq!(
        start,
        part.filled().as_ptr(),
        "the read replaced its buffer"
    );
    let n = part.filled().len();
    // SAFETY: `part` is a view of `buf`'s unfilled memory (checked above), and the read initialized and
    // filled its first `n` bytes: they are `buf`'s next `n` bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    result
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Other(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Other(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Other(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
            Stream::Other(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Other(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
