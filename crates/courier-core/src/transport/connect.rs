//! The connector: from a URI to a connected byte stream, TCP → proxy tunnel → TLS.
//!
//! [`Connector`] is a `tower::Service<Uri>`: it resolves the host (or the proxy's), connects with
//! Happy Eyeballs, asks an HTTP proxy for a `CONNECT` tunnel when an `https` request goes through one,
//! and runs the TLS handshake with ALPN. `connect_timeout` bounds all of it together, so a server that
//! accepts TCP and never answers the ClientHello fails as a connect timeout. The result is a
//! [`Connected`]: the [`Stream`] and what is known about the connection ([`ConnMeta`]: addresses,
//! negotiated protocol, TLS version and cipher suite, and how long each phase took).
//!
//! What it does not do: pool or limit connections (the `pool` module), or speak HTTP (the `http1` and
//! `http2` modules).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::proxy;
use super::resolve::Resolver;
use super::tcp::{self, TcpOptions};
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
    proxy: Option<Arc<Matcher>>,
    connect_timeout: Option<Duration>,
    /// Every connection speaks HTTP/2 without ALPN (prior knowledge).
    http2_prior_knowledge: bool,
}

/// A fresh connection: the stream and what is known about it.
pub struct Connected {
    pub(crate) stream: Stream,
    pub(crate) meta: ConnMeta,
}

impl Connected {
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
    pub(crate) remote_addr: SocketAddr,
    pub(crate) h2: bool,
    /// Connected to an HTTP proxy that forwards absolute-form requests (not a tunnel).
    pub(crate) proxied: bool,
    pub(crate) tls_version: Option<&'static str>,
    pub(crate) cipher_suite: Option<&'static str>,
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

impl Connector {
    pub(crate) fn new(
        resolver: Resolver,
        tcp: TcpOptions,
        tls: rustls::ClientConfig,
        proxy: Option<Arc<Matcher>>,
        connect_timeout: Option<Duration>,
        http2_prior_knowledge: bool,
    ) -> Connector {
        Connector {
            inner: Arc::new(ConnectorInner {
                resolver,
                tcp,
                tls: TlsConnector::from(Arc::new(tls)),
                proxy,
                connect_timeout,
                http2_prior_knowledge,
            }),
        }
    }

    /// Opens a connection for requests to `dst` (`scheme://host:port`).
    pub async fn connect(&self, dst: Uri) -> Result<Connected, Error> {
        let inner = self.inner.clone();
        let setup = async move { inner.connect(&dst).await };
        match self.inner.connect_timeout {
            None => setup.await,
            Some(limit) => match tokio::time::timeout(limit, setup).await {
                Ok(result) => result,
                Err(_) => Err(Error::connect_timeout(ConnectTimedOut(limit))),
            },
        }
    }
}

impl ConnectorInner {
    async fn connect(&self, dst: &Uri) -> Result<Connected, Error> {
        let started = Instant::now();
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = dst
            .host()
            .ok_or_else(|| Error::builder("URI has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let default_port = if https { 443 } else { 80 };
        let proxy = proxy::intercept(&self.proxy, dst);

        // Where the TCP connection goes: the destination, or the proxy.
        let (tcp_host, tcp_port, tcp_default) = match &proxy {
            Some(p) => {
                let uri = p.uri();
                let host = uri.host().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                (host.to_owned(), uri.port_u16(), 80)
            }
            None => (host.to_owned(), dst.port_u16(), default_port),
        };
        let addrs = self
            .resolver
            .resolve(&tcp_host, tcp_port, tcp_default)
            .await
            .map_err(Error::connect)?;
        let resolved = Instant::now();
        let mut stream = tcp::connect(addrs, &self.tcp)
            .await
            .map_err(Error::connect)?;
        let remote_addr = stream.peer_addr().map_err(Error::connect)?;
        let local_addr = stream.local_addr().ok();
        let tunnel = proxy::tunnels(dst);
        let proxied = proxy.is_some() && !tunnel;
        if let (Some(p), true) = (&proxy, tunnel) {
            let port = dst.port_u16().unwrap_or(default_port);
            proxy::tunnel(&mut stream, host, port, p.basic_auth())
                .await
                .map_err(Error::connect)?;
        }
        let tcp_done = Instant::now();

        let mut meta = ConnMeta {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            local_addr,
            remote_addr,
            h2: self.http2_prior_knowledge,
            proxied,
            tls_version: None,
            cipher_suite: None,
            started,
            dns: resolved - started,
            tcp: tcp_done - resolved,
            tls: None,
            counted: AtomicBool::new(true),
            settings_seen: AtomicBool::new(false),
            max_streams: std::sync::atomic::AtomicUsize::new(usize::MAX),
        };
        if !https {
            return Ok(Connected {
                stream: Stream::Tcp(stream),
                meta,
            });
        }
        let name = ServerName::try_from(host.to_owned()).map_err(Error::connect)?;
        let tls = self
            .tls
            .connect(name, stream)
            .await
            .map_err(Error::connect)?;
        let (_, session) = tls.get_ref();
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
        meta.tls = Some(tcp_done.elapsed());
        Ok(Connected {
            stream: Stream::Tls(Box::new(tls)),
            meta,
        })
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

/// A connected byte stream: plain TCP or TLS over TCP.
pub enum Stream {
    /// Plain TCP (`http`, or to a forwarding proxy).
    Tcp(TcpStream),
    /// TLS over TCP (`https`, perhaps inside a proxy tunnel).
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
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
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
