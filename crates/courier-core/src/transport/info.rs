//! Connection facts and timings, attached to every response the transport returns.
//!
//! [`ConnectionInfo`] is in the response's extensions: whether the connection was reused, its local
//! and remote addresses, the protocol, TLS version and cipher suite, and [`Timings`] in the manner of
//! curl's `-w` variables (each phase measured from the moment the request reached the transport).
//! The same facts are logged as `tracing` debug events (`connection opened`, `response head`).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use super::connect::ConnMeta;

/// How a response's connection was made and used.
///
/// ```no_run
/// use courier_core::transport::{ConnectionInfo, Transport};
/// use courier_core::Body;
/// use tower_service::Service;
///
/// # async fn run() -> Result<(), courier_core::Error> {
/// let mut transport: Transport = Transport::builder().build()?;
/// let request = http::Request::get("http://127.0.0.1:8080/").body(Body::empty()).unwrap();
/// let response = transport.call(request).await?;
/// let info = response.extensions().get::<ConnectionInfo>().unwrap();
/// println!("reused: {}, remote: {:?}", info.reused(), info.remote_addr());
/// println!("first byte after {:?}", info.timings().first_byte());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Arc<ConnMeta>,
    reused: bool,
    timings: Timings,
}

impl ConnectionInfo {
    pub(crate) fn new(conn: Arc<ConnMeta>, reused: bool, timings: Timings) -> ConnectionInfo {
        ConnectionInfo {
            inner: Arc::new(Inner {
                conn,
                reused,
                timings,
            }),
        }
    }

    /// True when the connection had carried a request before this one.
    pub fn reused(&self) -> bool {
        self.inner.reused
    }

    /// The server's address (or the proxy's, through a proxy); `None` over a Unix socket.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.conn.remote_addr
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.conn.local_addr
    }

    /// The protocol spoken on the connection: `HTTP/1.1` or `HTTP/2`.
    pub fn version(&self) -> http::Version {
        if self.inner.conn.h2 {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        }
    }

    /// The TLS version (`"TLSv1.3"`, `"TLSv1.2"`), or `None` over plain TCP.
    pub fn tls_version(&self) -> Option<&'static str> {
        self.inner.conn.tls_version
    }

    /// The TLS cipher suite's IANA name, or `None` over plain TCP.
    pub fn cipher_suite(&self) -> Option<&'static str> {
        self.inner.conn.cipher_suite
    }

    /// When each phase of the request ended.
    pub fn timings(&self) -> &Timings {
        &self.inner.timings
    }

    /// A number identifying the connection within this process: equal for responses over the same
    /// connection.
    pub fn connection_id(&self) -> u64 {
        self.inner.conn.id
    }
}

/// When each phase of a request ended, measured from when the request reached the transport (as
/// curl's `time_*` variables are). The connection phases are `None` on a reused connection.
///
/// `dns ≤ connect ≤ tls ≤ first_byte ≤ total` whenever they are present.
#[derive(Debug)]
pub struct Timings {
    start: Instant,
    dns: Option<Duration>,
    connect: Option<Duration>,
    tls: Option<Duration>,
    first_byte: Duration,
    end: OnceLock<Duration>,
}

impl Timings {
    /// Timings for a response whose head arrived now; `fresh` is the connection opened for it.
    pub(crate) fn new(start: Instant, fresh: Option<&ConnMeta>) -> Timings {
        let now = Instant::now();
        let (mut dns, mut connect, mut tls) = (None, None, None);
        if let Some(conn) = fresh {
            // The connection may have been started by another request and handed to this one: its
            // phases are counted from whichever started later.
            let base = conn.started.saturating_duration_since(start);
            let d = base + conn.dns;
            let c = d + conn.tcp;
            dns = Some(d);
            connect = Some(c);
            tls = conn.tls.map(|t| c + t);
        }
        Timings {
            start,
            dns,
            connect,
            tls,
            first_byte: now - start,
            end: OnceLock::new(),
        }
    }

    /// Name resolution done (curl's `time_namelookup`).
    pub fn dns(&self) -> Option<Duration> {
        self.dns
    }

    /// TCP connected, and a proxy tunnel made if there is one (curl's `time_connect`).
    pub fn connect(&self) -> Option<Duration> {
        self.connect
    }

    /// TLS handshake done (curl's `time_appconnect`); `None` over plain TCP.
    pub fn tls(&self) -> Option<Duration> {
        self.tls
    }

    /// The response head arrived (curl's `time_starttransfer`).
    pub fn first_byte(&self) -> Duration {
        self.first_byte
    }

    /// The response body ended (curl's `time_total`); `None` until it has been read to the end.
    pub fn total(&self) -> Option<Duration> {
        self.end.get().copied()
    }

    pub(crate) fn body_ended(&self) {
        let _ = self.end.set(self.start.elapsed());
    }
}
