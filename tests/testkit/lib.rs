//! The in-process test-server toolkit shared by Courier's tests, examples and benchmarks.
//!
//! - [`TestServer`]: a hyper server on `127.0.0.1:0` (HTTP/1.1, HTTP/2 or both; plain or TLS with an
//!   `rcgen` certificate) that runs a handler and records every request it saw.
//! - [`RawServer`]: a TCP listener that hands each connection to a closure, for hand-written bytes.
//! - [`tls`]: generated CA + server certificates (valid, expired, wrong host).
//! - [`ProxyServer`]: an HTTP proxy (plain or TLS) forwarding everything to one upstream, optionally
//!   asking `CONNECT`s for Digest credentials; [`socks::SocksServer`]: a SOCKS4/4a/5 proxy.
//! - [`digest::DigestServer`]: the server side of HTTP Digest (RFC 7616), for origins and proxies.
//! - [`client`]: client-side helpers for tests of the `Client` facade (hang guard, trusting client,
//!   one-line GETs).

pub mod client;
pub mod digest;
pub mod socks;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::BoxBody;

use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

/// A boxed error, for server bodies that fail on purpose.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type handlers answer with.
pub type ServerBody = BoxBody<Bytes, BoxError>;

/// A request as the server saw it, body collected.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Request method.
    pub method: Method,
    /// Request target (path and query for HTTP/1.1; may be absolute for HTTP/2).
    pub uri: Uri,
    /// Protocol version.
    pub version: Version,
    /// All request headers.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
    /// The client's address: two requests with the same peer came over one connection.
    pub peer: SocketAddr,
}

impl Recorded {
    /// The path of the request target.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query of the request target, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// One header value as a string (the first, if several).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
}

type Handler = Arc<
    dyn Fn(Recorded) -> Pin<Box<dyn Future<Output = Response<ServerBody>> + Send>> + Send + Sync,
>;

/// Which protocols a [`TestServer`] speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only (prior knowledge on plain TCP, ALPN `h2` on TLS).
    Http2,
    /// Both: HTTP/1.1, or HTTP/2 by prior knowledge or ALPN.
    Auto,
}

/// A running in-process server. Dropping it stops accepting new connections.
pub struct TestServer {
    addr: SocketAddr,
    tls: Option<tls::TestCerts>,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    connections: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
}

/// Configures a [`TestServer`].
pub struct TestServerBuilder {
    protocol: Protocol,
    tls: Option<tls::TestCerts>,
    tls_options: tls::ServerTls,
    max_concurrent_streams: Option<u32>,
}

impl TestServer {
    /// A builder: HTTP/1.1 and HTTP/2 on plain TCP unless told otherwise.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            protocol: Protocol::Auto,
            tls: None,
            tls_options: tls::ServerTls::default(),
            max_concurrent_streams: None,
        }
    }

    /// Starts a plain-TCP server (HTTP/1.1 and h2c) running `handler`.
    pub async fn start<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(Recorded) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<ServerBody>> + Send + 'static,
    {
        TestServer::builder().start(handler).await
    }

    /// Starts a server that answers everything with `200` and an echo of the request as JSON
    /// (see [`echo`]).
    pub async fn echo() -> TestServer {
        TestServer::start(|req| async move { echo(&req) }).await
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path` (or `https://localhost:PORT` for TLS servers, whose
    /// certificate names `localhost`).
    pub fn url(&self, path: &str) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}{}", self.addr.port(), path),
            None => format!("http://127.0.0.1:{}{}", self.addr.port(), path),
        }
    }

    /// The certificates, for TLS servers.
    pub fn certs(&self) -> Option<&tls::TestCerts> {
        self.tls.as_ref()
    }

    /// The CA certificate that signed this TLS server's certificate, as PEM.
    pub fn ca_pem(&self) -> String {
        self.tls.as_ref().expect("not a TLS server").ca_pem.clone()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Recorded {
        self.requests().pop().expect("no request received")
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    pub fn max_open_connections(&self) -> usize {
        self.state.max_open.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServerBuilder {
    /// Which protocols to speak.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Serve TLS with a certificate for `localhost` and `127.0.0.1` signed by a fresh CA.
    pub fn tls(self) -> Self {
        self.tls_certs(tls::TestCerts::generate(&["localhost", "127.0.0.1"]))
    }

    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces (hyper's default: 200).
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.max_concurrent_streams = Some(max);
        self
    }

    /// Serve TLS with the given certificates.
    pub fn tls_certs(mut self, certs: tls::TestCerts) -> Self {
        self.tls = Some(certs);
        self
    }

    /// Serve TLS as `options` say (TLS 1.2 only, client certificate required).
    pub fn tls_options(mut self, options: tls::ServerTls) -> Self {
        self.tls_options = options;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving `handler`.
    pub async fn start<F, Fut>(self, handler: F) -> TestServer
    where
        F: Fn(Recorded) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<ServerBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let handler: Handler = Arc::new(move |req| Box::pin(handler(req)));
        let acceptor = self
            .tls
            .as_ref()
            .map(|certs| certs.acceptor_with(self.protocol, self.tls_options));
        let protocol = self.protocol;
        let max_streams = self.max_concurrent_streams;
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let state = task_state.clone();
                let handler = handler.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    state.connections.fetch_add(1, Ordering::SeqCst);
                    let open = state.open.fetch_add(1, Ordering::SeqCst) + 1;
                    state.max_open.fetch_max(open, Ordering::SeqCst);
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_connection(
                                    TokioIo::new(tls),
                                    peer,
                                    (protocol, max_streams),
                                    state.clone(),
                                    handler,
                                )
                                .await;
                            }
                        }
                        None => {
                            serve_connection(
                                TokioIo::new(stream),
                                peer,
                                (protocol, max_streams),
                                state.clone(),
                                handler,
                            )
                            .await
                        }
                    }
                    state.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        TestServer {
            addr,
            tls: self.tls,
            state,
            task,
        }
    }
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    (protocol, max_streams): (Protocol, Option<u32>),
    state: Arc<State>,
    handler: Handler,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        let handler = handler.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let recorded = Recorded {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body,
                peer,
            };
            state.requests.lock().unwrap().push(recorded.clone());
            Ok::<_, Infallible>(handler(recorded).await)
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder = match protocol {
        Protocol::Http1 => builder.http1_only(),
        Protocol::Http2 => builder.http2_only(),
        Protocol::Auto => builder,
    };
    if let Some(max) = max_streams {
        builder.http2().max_concurrent_streams(max);
    }
    let _ = builder.serve_connection(io, service).await;
}

/// A body of the given bytes.
pub fn full(bytes: impl Into<Bytes>) -> ServerBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ServerBody {
    full(Bytes::new())
}

/// A body streamed from chunks, each sent after `delay`.
pub fn slow(chunks: Vec<Bytes>, delay: std::time::Duration) -> ServerBody {
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut chunks| async move {
        let chunk = chunks.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, BoxError>(Frame::data(chunk)), chunks))
    });
    StreamBody::new(stream).boxed()
}

/// A body that yields `chunks` (each after a short pause, so hyper flushes what it has), then fails,
/// which cuts the connection mid-body.
pub fn failing(chunks: Vec<Bytes>) -> ServerBody {
    let items = chunks.into_iter().map(Some).chain(std::iter::once(None));
    let stream =
        futures_util::StreamExt::then(futures_util::stream::iter(items), |chunk| async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            match chunk {
                Some(chunk) => Ok::<_, BoxError>(Frame::data(chunk)),
                None => Err("cut on purpose".into()),
            }
        });
    StreamBody::new(stream).boxed()
}

/// A response with a status and a body.
pub fn respond(status: u16, body: impl Into<Bytes>) -> Response<ServerBody> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .body(full(body))
        .unwrap()
}

/// A redirect with a `Location`.
pub fn redirect(status: u16, location: &str) -> Response<ServerBody> {
    Response::builder()
        .status(status)
        .header("location", location)
        .body(empty())
        .unwrap()
}

/// `200` with a JSON echo of the request: method, path, query, version, headers (every value) and body.
pub fn echo(req: &Recorded) -> Response<ServerBody> {
    let mut headers = serde_json::Map::new();
    for name in req.headers.keys() {
        headers.insert(
            name.as_str().to_owned(),
            serde_json::Value::from(req.header_all(name.as_str())),
        );
    }
    let json = serde_json::json!({
        "method": req.method.as_str(),
        "path": req.uri.path(),
        "query": req.uri.query(),
        "version": format!("{:?}", req.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&req.body),
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(full(serde_json::to_vec(&json).unwrap()))
        .unwrap()
}

/// A TCP server that gives each accepted connection to a closure: for misbehaving peers written byte by byte.
pub struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    /// Binds `127.0.0.1:0`; each connection runs `handler(stream, index)` (index counts from 0).
    pub async fn start<F, Fut>(handler: F) -> RawServer
    where
        F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let index = counter.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                tokio::spawn(async move { handler(stream, index).await });
            }
        });
        RawServer {
            addr,
            connections,
            task,
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.addr.port(), path)
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a raw server does with a connection once it has written its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Close it (FIN).
    Close,
    /// Keep it open and silent for 60 s: the client must not be waiting for EOF to notice a problem, and
    /// only the client can decide not to reuse the connection.
    Hold,
    /// Reset it (RST, `SO_LINGER` 0).
    Reset,
}

impl Then {
    /// Does this to `stream`.
    pub async fn finish(self, stream: TcpStream) {
        match self {
            Then::Close => drop(stream),
            Then::Hold => {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                drop(stream);
            }
            Then::Reset => {
                stream.set_zero_linger().unwrap();
                drop(stream);
            }
        }
    }
}

impl RawServer {
    /// A server that, on every connection, reads one request head, writes `reply` as it is, then does
    /// `then`.
    pub async fn reply(reply: impl Into<Bytes>, then: Then) -> RawServer {
        let reply: Bytes = reply.into();
        RawServer::start(move |mut stream, _| {
            let reply = reply.clone();
            async move {
                use tokio::io::AsyncWriteExt;
                let _ = read_request_head(&mut stream).await;
                let _ = stream.write_all(&reply).await;
                then.finish(stream).await;
            }
        })
        .await
    }
}

/// Reads one HTTP/1.1 request head (up to the blank line) from a raw stream; returns it as text.
pub async fn read_request_head<S>(stream: &mut S) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            break;
        }
        buf.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// One HTTP/1.1 request read from a raw stream by [`read_request`].
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// The request head (request line and headers, up to the blank line), as text.
    pub head: String,
    /// The body: as many bytes as the head's `Content-Length` says (none without one).
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The request line, e.g. `GET /path HTTP/1.1`.
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// Reads one HTTP/1.1 request from a raw stream: its head, then a `Content-Length` body. `None` when the
/// peer closed the connection (or it failed) before a whole request arrived: the end of a keep-alive loop
/// `while let Some(request) = read_request(&mut stream).await { .. }`.
pub async fn read_request(stream: &mut TcpStream) -> Option<RawRequest> {
    use tokio::io::AsyncReadExt;
    let head = read_request_head(stream).await.ok()?;
    if !head.ends_with("\r\n\r\n") {
        return None;
    }
    let mut body = vec![0; content_length(&head).unwrap_or(0)];
    stream.read_exact(&mut body).await.ok()?;
    Some(RawRequest { head, body })
}

/// Serves `data` as a file with byte ranges, as a static file server does: `Accept-Ranges: bytes`,
/// `Content-Length`, and `ETag: etag` when given. A single `Range` (`bytes=a-b`, `bytes=a-` or
/// `bytes=-n`) is answered `206` with `Content-Range`, or `416` with `Content-Range: bytes */len` when
/// it starts past the end; an `If-Range` that is not `etag` gets the whole file with `200`. Other
/// requests (and ranges it cannot parse) get the whole file.
pub fn serve_ranges(req: &Recorded, data: &Bytes, etag: Option<&str>) -> Response<ServerBody> {
    let len = data.len() as u64;
    let mut builder = Response::builder().header("accept-ranges", "bytes");
    if let Some(etag) = etag {
        builder = builder.header("etag", etag);
    }
    let if_range_ok = match req.header("if-range") {
        Some(validator) => Some(validator) == etag,
        None => true,
    };
    let range = req
        .header("range")
        .filter(|_| if_range_ok)
        .and_then(|r| r.strip_prefix("bytes="))
        .filter(|r| !r.contains(','))
        .and_then(|r| r.split_once('-'))
        .and_then(|(first, last)| match (first.trim(), last.trim()) {
            ("", n) => n
                .parse::<u64>()
                .ok()
                .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
            (a, "") => a.parse::<u64>().ok().map(|a| (a, len.saturating_sub(1))),
            (a, b) => Some((
                a.parse::<u64>().ok()?,
                b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
            )),
        });
    match range {
        None => builder
            .header("content-length", len)
            .body(full(data.clone()))
            .unwrap(),
        Some((first, _)) if first >= len => builder
            .status(416)
            .header("content-range", format!("bytes */{len}"))
            .body(empty())
            .unwrap(),
        Some((first, last)) if last < first => builder
            .header("content-length", len)
            .body(full(data.clone()))
            .unwrap(),
        Some((first, last)) => builder
            .status(206)
            .header("content-range", format!("bytes {first}-{last}/{len}"))
            .header("content-length", last - first + 1)
            .body(full(data.slice(first as usize..=last as usize)))
            .unwrap(),
    }
}

/// A forward proxy for tests: answers `CONNECT host:port` by tunnelling to `upstream`, and forwards
/// absolute-form requests to `upstream` as they are; records every request head it saw. Plain TCP, or
/// TLS with its own certificate ([`ProxyServer::start_tls`]); optionally asking each `CONNECT` for
/// Digest credentials ([`ProxyServer::digest`]).
pub struct ProxyServer {
    raw: RawServer,
    tls: bool,
    seen: Arc<Mutex<Vec<String>>>,
}

/// A proxy's Digest check on `CONNECT`: who may pass, and whether a refused connection stays open.
#[derive(Clone)]
struct ConnectAuth {
    digest: digest::DigestServer,
    keep_alive: bool,
}

impl ProxyServer {
    /// Starts a proxy on `127.0.0.1:0` that sends everything to `upstream`, whatever the request names.
    pub async fn start(upstream: SocketAddr) -> ProxyServer {
        ProxyServer::serve(upstream, None, None).await
    }

    /// The same, speaking TLS (HTTP/1.1) with `certs` to its clients: an `https://` proxy.
    pub async fn start_tls(upstream: SocketAddr, certs: &tls::TestCerts) -> ProxyServer {
        ProxyServer::serve(upstream, Some(certs.acceptor(Protocol::Http1)), None).await
    }

    /// A plain proxy that opens a tunnel only for a `CONNECT` whose `Proxy-Authorization` `digest`
    /// accepts (method `CONNECT`, `uri="host:port"`). Others get a `407` with a Basic and a Digest
    /// challenge (`stale=true` for a right answer to a worn-out nonce) and a short body; then, with
    /// `keep_alive`, the proxy reads the next `CONNECT` on the same connection, else it closes it
    /// (`Connection: close`). Forwarded (absolute-form) requests are not checked.
    pub async fn digest(
        upstream: SocketAddr,
        digest: digest::DigestServer,
        keep_alive: bool,
    ) -> ProxyServer {
        let auth = ConnectAuth { digest, keep_alive };
        ProxyServer::serve(upstream, None, Some(auth)).await
    }

    async fn serve(
        upstream: SocketAddr,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
        auth: Option<ConnectAuth>,
    ) -> ProxyServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let tls = acceptor.is_some();
        let raw = RawServer::start(move |client, _| {
            let log = log.clone();
            let acceptor = acceptor.clone();
            let auth = auth.clone();
            async move {
                match acceptor {
                    None => proxy_connection(client, upstream, log, auth).await,
                    Some(acceptor) => {
                        if let Ok(client) = acceptor.accept(client).await {
                            proxy_connection(client, upstream, log, auth).await;
                        }
                    }
                }
            }
        })
        .await;
        ProxyServer { raw, tls, seen }
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` for a TLS proxy.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.raw.addr.port())
        } else {
            format!("http://127.0.0.1:{}", self.raw.addr.port())
        }
    }

    /// Every request head the proxy received, as text: the first of each connection, and each
    /// `CONNECT` after a `407` on a connection kept open.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// How many `CONNECT` requests the proxy received.
    pub fn connects(&self) -> usize {
        self.seen()
            .iter()
            .filter(|h| h.starts_with("CONNECT "))
            .count()
    }

    /// How many connections the proxy accepted.
    pub fn connections(&self) -> usize {
        self.raw.connections()
    }
}

/// The value of header `name` in a raw request head.
fn head_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// One proxied connection: reads a request head, then tunnels (`CONNECT`) or forwards it; with
/// `auth`, a `CONNECT` without a right answer gets a `407` instead (and, kept open, the next head is
/// read).
async fn proxy_connection<S>(
    mut client: S,
    upstream: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    auth: Option<ConnectAuth>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let head = loop {
        let Ok(head) = read_request_head(&mut client).await else {
            return;
        };
        if head.is_empty() {
            return;
        }
        log.lock().unwrap().push(head.clone());
        let (Some(auth), Some(target)) = (&auth, head.strip_prefix("CONNECT ")) else {
            break head;
        };
        let target = target.split(' ').next().unwrap_or_default();
        let answer = head_header(&head, "proxy-authorization");
        let stale = match auth.digest.check("CONNECT", target, b"", answer) {
            digest::Verdict::Accepted(_) => break head,
            digest::Verdict::Refused => false,
            digest::Verdict::Stale => true,
        };
        let body = "proxy authentication required";
        let reply = format!(
            "HTTP/1.1 407 Proxy Authentication Required\r\n\
             Proxy-Authenticate: Basic realm=\"{realm}\"\r\n\
             Proxy-Authenticate: {challenge}\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: {len}\r\n{close}\r\n{body}",
            realm = digest::REALM,
            challenge = auth.digest.challenge_value(stale),
            len = body.len(),
            close = if auth.keep_alive {
                ""
            } else {
                "Connection: close\r\n"
            },
        );
        if client.write_all(reply.as_bytes()).await.is_err() || !auth.keep_alive {
            return;
        }
    };
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    if head.starts_with("CONNECT ") {
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    } else if server.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
