//! The benchmark server: hyper 1 (HTTP/1.1, keep-alive) on its own thread(s) and its own tokio runtime,
//! serving bodies prepared in memory at start-up so the server does as little work per request as it can.
//!
//! | path | body |
//! | --- | --- |
//! | `/small` | [`SMALL_BODY`] (`text/plain`) |
//! | `/64k` | 64 KiB of pseudo-random bytes |
//! | `/1m` | 1 MiB of pseudo-random bytes |
//! | `/1m.gz` | 1 MiB of word-like text, sent `Content-Encoding: gzip` whatever the request asks |
//! | `/1m.deflate`, `/1m.br`, `/1m.zst` | the same text as zlib `deflate`, `br` and `zstd` |
//! | `/cache/1k`, `/cache/1m` | 1 KiB and 1 MiB of pseudo-random bytes, `Cache-Control: max-age=31536000` |
//! | `/bulk/{i}` | file `i` of the bulk set: a prefix of one shared pseudo-random buffer |
//!
//! The same bodies are served over HTTP/2 with prior knowledge (h2c) on two more ports, for the h2c
//! scenarios: one with hyper's default stream limit (200), one allowing 16 streams per connection.
//!
//! For the pool scenario the same server also listens on a set of extra ports (the "hosts" a client
//! spreads its requests over), counting the connections open on each: [`PoolCounters`].

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// The body of `/small`.
pub const SMALL_BODY: &[u8] = b"hello from the courier bench server\n";
/// Length of `/64k`.
pub const MEDIUM_LEN: usize = 64 * 1024;
/// Length of `/1m`, and of `/1m.gz` once decoded.
pub const LARGE_LEN: usize = 1024 * 1024;

/// The sizes of the bulk files: `total` bytes split as evenly as possible over `files` files.
pub fn bulk_sizes(files: usize, total: u64) -> Vec<u64> {
    let files = files.max(1) as u64;
    (0..files)
        .map(|i| total / files + u64::from(i < total % files))
        .collect()
}

/// The bodies the server hands out.
pub struct Corpus {
    small: Bytes,
    medium: Bytes,
    large: Bytes,
    gzip: Bytes,
    deflate: Bytes,
    brotli: Bytes,
    zstd: Bytes,
    bulk: Bytes,
    bulk_sizes: Vec<u64>,
}

impl Corpus {
    /// Prepares every body; `bulk_files` files totalling `bulk_total` bytes.
    pub fn new(bulk_files: usize, bulk_total: u64) -> Corpus {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let bulk_sizes = bulk_sizes(bulk_files, bulk_total);
        let bulk_max = bulk_sizes.iter().copied().max().unwrap_or(0) as usize;
        // One text, in each coding at its encoder's default level, as a server would send it.
        let text = word_text(&mut rng, LARGE_LEN);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).expect("gzip into a Vec");
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&text).expect("zlib into a Vec");
        let mut br = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, 6, 22);
        br.write_all(&text).expect("brotli into a Vec");
        Corpus {
            small: Bytes::from_static(SMALL_BODY),
            medium: rng.bytes(MEDIUM_LEN).into(),
            large: rng.bytes(LARGE_LEN).into(),
            gzip: gz.finish().expect("gzip into a Vec").into(),
            deflate: zlib.finish().expect("zlib into a Vec").into(),
            brotli: br.into_inner().into(),
            zstd: zstd::stream::encode_all(&text[..], 3)
                .expect("zstd into a Vec")
                .into(),
            bulk: rng.bytes(bulk_max).into(),
            bulk_sizes,
        }
    }

    /// Length of the gzip-encoded `/1m.gz` as sent.
    pub fn gzip_wire_len(&self) -> usize {
        self.gzip.len()
    }

    /// The 1 MiB text as sent with each content coding: `(coding, encoded bytes)`.
    pub fn encoded_text(&self) -> [(&'static str, Bytes); 4] {
        [
            ("gzip", self.gzip.clone()),
            ("deflate", self.deflate.clone()),
            ("br", self.brotli.clone()),
            ("zstd", self.zstd.clone()),
        ]
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let cacheable = path.starts_with("/cache/");
        let (body, content_type, coding) = match path {
            "/cache/1k" => (self.medium.slice(..1024), "application/octet-stream", None),
            "/cache/1m" => (self.large.clone(), "application/octet-stream", None),
            "/small" => (self.small.clone(), "text/plain", None),
            "/64k" => (self.medium.clone(), "application/octet-stream", None),
            "/1m" => (self.large.clone(), "application/octet-stream", None),
            "/1m.gz" => (self.gzip.clone(), "text/plain", Some("gzip")),
            "/1m.deflate" => (self.deflate.clone(), "text/plain", Some("deflate")),
            "/1m.br" => (self.brotli.clone(), "text/plain", Some("br")),
            "/1m.zst" => (self.zstd.clone(), "text/plain", Some("zstd")),
            _ => match path
                .strip_prefix("/bulk/")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| self.bulk_sizes.get(i))
            {
                Some(&size) => (
                    self.bulk.slice(..size as usize),
                    "application/octet-stream",
                    None,
                ),
                None => {
                    let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found")));
                    *not_found.status_mut() = StatusCode::NOT_FOUND;
                    return not_found;
                }
            },
        };
        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        if let Some(coding) = coding {
            headers.insert(
                header::CONTENT_ENCODING,
                header::HeaderValue::from_static(coding),
            );
        }
        if cacheable {
            headers.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("max-age=31536000"),
            );
        }
        response
    }
}

/// The name of every thread the server runs on.
pub const THREAD_NAME: &str = "bench-server";

/// A running server. It lives until the process exits.
pub struct Server {
    addr: SocketAddr,
    /// The h2c ports, in [`H2cPort::ALL`] order.
    h2c_addrs: [SocketAddr; 3],
    pool_addrs: Vec<SocketAddr>,
    pool_counters: Arc<PoolCounters>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port, plus `pool_ports` more for the pool scenario, and serves `corpus`
    /// on all of them from `threads` runtime threads (`1`: a `current_thread` runtime on one dedicated
    /// thread), with `congestion` as every accepted socket's TCP congestion control (`None`: the
    /// machine's default).
    pub fn start(
        corpus: Corpus,
        threads: usize,
        pool_ports: usize,
        congestion: Option<String>,
    ) -> std::io::Result<Server> {
        let bind = || -> std::io::Result<std::net::TcpListener> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        };
        let listener = bind()?;
        let addr = listener.local_addr()?;
        let h2c_listeners = [bind()?, bind()?, bind()?];
        let h2c_addrs = [0, 1, 2].map(|i| h2c_listeners[i].local_addr());
        let [a, b, c] = h2c_addrs;
        let h2c_addrs = [a?, b?, c?];
        let pool_listeners = (0..pool_ports)
            .map(|_| bind())
            .collect::<std::io::Result<Vec<_>>>()?;
        let pool_addrs = pool_listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let pool_counters = Arc::new(PoolCounters::new(pool_ports));
        let runtime = if threads <= 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name(THREAD_NAME)
                .enable_all()
                .build()?
        };
        let corpus = Arc::new(corpus);
        let counters = pool_counters.clone();
        let congestion: Option<Arc<str>> = congestion.map(Arc::from);
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                runtime.block_on(async move {
                    for (port, listener) in pool_listeners.into_iter().enumerate() {
                        let counted = Some((counters.clone(), port));
                        tokio::spawn(serve(
                            listener,
                            corpus.clone(),
                            Protocol::Http1,
                            counted,
                            congestion.clone(),
                        ));
                    }
                    for (port, listener) in H2cPort::ALL.into_iter().zip(h2c_listeners) {
                        let protocol = Protocol::H2c(port);
                        let served =
                            serve(listener, corpus.clone(), protocol, None, congestion.clone());
                        tokio::spawn(served);
                    }
                    serve(listener, corpus, Protocol::Http1, None, congestion).await
                })
            })?;
        Ok(Server {
            addr,
            h2c_addrs,
            pool_addrs,
            pool_counters,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The h2c port `port` as `http://127.0.0.1:PORT`.
    pub fn h2c_url(&self, port: H2cPort) -> String {
        format!("http://{}", self.h2c_addrs[port as usize])
    }

    /// The pool scenario's ports as `http://127.0.0.1:PORT` (no trailing slash), in port-index order.
    pub fn pool_urls(&self) -> Vec<String> {
        self.pool_addrs
            .iter()
            .map(|addr| format!("http://{addr}"))
            .collect()
    }

    /// The connection counters of the pool scenario's ports.
    pub fn pool_counters(&self) -> &Arc<PoolCounters> {
        &self.pool_counters
    }
}

/// Connections open on the pool scenario's ports, counted by the server: a client cannot under-report
/// what it opened. Open counts are live; peaks and the accept count start over at [`PoolCounters::reset`].
pub struct PoolCounters {
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicU64,
    ports: Vec<PortCounters>,
}

#[derive(Default)]
struct PortCounters {
    open: AtomicUsize,
    peak: AtomicUsize,
}

/// What [`PoolCounters`] saw since the last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolSnapshot {
    /// Connections open now, over all ports.
    pub open: usize,
    /// The most connections open at once, over all ports.
    pub peak: usize,
    /// The most connections open at once on one port (the highest of the per-port peaks).
    pub peak_per_port: usize,
    /// Connections accepted.
    pub accepted: u64,
}

impl PoolCounters {
    fn new(ports: usize) -> PoolCounters {
        PoolCounters {
            open: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
        }
    }

    /// Connections open now, over all ports.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Starts peaks and the accept count over: peaks from the connections open now.
    pub fn reset(&self) {
        self.accepted.store(0, Ordering::SeqCst);
        self.peak
            .store(self.open.load(Ordering::SeqCst), Ordering::SeqCst);
        for port in &self.ports {
            port.peak
                .store(port.open.load(Ordering::SeqCst), Ordering::SeqCst);
        }
    }

    /// The counts since the last reset.
    pub fn snapshot(&self) -> PoolSnapshot {
        PoolSnapshot {
            open: self.open(),
            peak: self.peak.load(Ordering::SeqCst),
            peak_per_port: self
                .ports
                .iter()
                .map(|p| p.peak.load(Ordering::SeqCst))
                .max()
                .unwrap_or(0),
            accepted: self.accepted.load(Ordering::SeqCst),
        }
    }

    /// Counts a connection accepted on `port` as open until the guard drops.
    fn opened(self: &Arc<Self>, port: usize) -> OpenConnection {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(open, Ordering::SeqCst);
        let counters = &self.ports[port];
        let open = counters.open.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(open, Ordering::SeqCst);
        OpenConnection {
            counters: self.clone(),
            port,
        }
    }
}

/// One open connection on a pool port; uncounts itself when the connection ends.
struct OpenConnection {
    counters: Arc<PoolCounters>,
    port: usize,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.counters.ports[self.port]
            .open
            .fetch_sub(1, Ordering::SeqCst);
        self.counters.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server's h2c ports (HTTP/2 only, with prior knowledge); the discriminant indexes
/// [`H2cPort::ALL`] and the server's addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H2cPort {
    /// hyper's default concurrent stream limit (200).
    Default = 0,
    /// 16 concurrent streams per connection.
    Streams16 = 1,
    /// 16 concurrent streams per connection, each response after [`SLOW_THINK_TIME`].
    Streams16Slow = 2,
}

/// How long the slow h2c port waits before each response, as a server waiting on its database would.
/// tokio's timer rounds a sleep up to its next 1 ms tick, so the wait is 1 to 2 ms.
pub const SLOW_THINK_TIME: std::time::Duration = std::time::Duration::from_millis(1);

impl H2cPort {
    /// Every port, in discriminant order.
    pub const ALL: [H2cPort; 3] = [H2cPort::Default, H2cPort::Streams16, H2cPort::Streams16Slow];

    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS` (`None`: hyper's default).
    fn max_streams(self) -> Option<u32> {
        match self {
            H2cPort::Default => None,
            H2cPort::Streams16 | H2cPort::Streams16Slow => Some(16),
        }
    }

    fn think_time(self) -> Option<std::time::Duration> {
        (self == H2cPort::Streams16Slow).then_some(SLOW_THINK_TIME)
    }
}

/// What a listener speaks.
#[derive(Clone, Copy)]
enum Protocol {
    /// HTTP/1.1 with keep-alive.
    Http1,
    /// HTTP/2 only, with prior knowledge.
    H2c(H2cPort),
}

/// Serves `listener`; with `counted`, counts its connections in the pool counters under that port index;
/// with `congestion`, sets that TCP congestion control on every accepted socket.
async fn serve(
    listener: std::net::TcpListener,
    corpus: Arc<Corpus>,
    protocol: Protocol,
    counted: Option<(Arc<PoolCounters>, usize)>,
    congestion: Option<Arc<str>>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("register listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        // Counted from the accept to the end of the connection task.
        let open = counted
            .as_ref()
            .map(|(counters, port)| counters.opened(*port));
        let _ = stream.set_nodelay(true);
        if let Some(name) = &congestion {
            set_congestion(&stream, name);
        }
        let corpus = corpus.clone();
        tokio::spawn(async move {
            let think = match protocol {
                Protocol::H2c(port) => port.think_time(),
                Protocol::Http1 => None,
            };
            let service = service_fn(move |req: Request<Incoming>| {
                let response = corpus.respond(req.uri().path());
                async move {
                    if let Some(think) = think {
                        tokio::time::sleep(think).await;
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            // Clients closing their connections is how every run ends: not an error worth reporting.
            let io = TokioIo::new(stream);
            let _ = match protocol {
                Protocol::Http1 => {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                }
                Protocol::H2c(port) => {
                    let mut builder = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    if let Some(max) = port.max_streams() {
                        builder.max_concurrent_streams(max);
                    }
                    builder.serve_connection(io, service).await
                }
            };
            drop(open);
        });
    }
}

/// Sets the socket's TCP congestion control; says once on stderr if the kernel refuses it.
fn set_congestion(stream: &tokio::net::TcpStream, name: &str) {
    #[cfg(target_os = "linux")]
    let result = socket2::SockRef::from(stream).set_tcp_congestion(name.as_bytes());
    #[cfg(not(target_os = "linux"))]
    let result: std::io::Result<()> = {
        let _ = stream;
        Err(std::io::Error::other("not supported here"))
    };
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Err(err) = result {
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("courier-bench: server sockets keep the system's congestion control ({name}: {err})");
        }
    }
}

/// xorshift64*: fast, deterministic filler; the bytes only need to defeat compression.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// Text made of words from a small random vocabulary: compresses about as well as prose or JSON.
fn word_text(rng: &mut XorShift, len: usize) -> Vec<u8> {
    let vocabulary: Vec<Vec<u8>> = (0..512)
        .map(|_| {
            let word_len = 2 + (rng.next() % 9) as usize;
            (0..word_len)
                .map(|_| b'a' + (rng.next() % 26) as u8)
                .collect()
        })
        .collect();
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        let r = rng.next();
        out.extend_from_slice(&vocabulary[(r % 512) as usize]);
        out.push(if r >> 60 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_sizes_add_up() {
        let sizes = bulk_sizes(1000, 1 << 30);
        assert_eq!(sizes.len(), 1000);
        assert_eq!(sizes.iter().sum::<u64>(), 1 << 30);
        assert!(sizes.iter().all(|&s| s == 1_073_741 || s == 1_073_742));
        assert_eq!(bulk_sizes(3, 10), vec![4, 3, 3]);
    }

    #[test]
    fn gzip_body_decodes_to_large_len() {
        let corpus = Corpus::new(2, 100);
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        decoder.write_all(&corpus.gzip).unwrap();
        let text = decoder.finish().unwrap();
        assert_eq!(text.len(), LARGE_LEN);
        assert!(corpus.gzip_wire_len() < LARGE_LEN / 2);
        assert_eq!(corpus.respond("/bulk/1").headers().len(), 1);
        assert_eq!(corpus.respond("/bulk/2").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn pool_counters_track_open_peaks_per_port_and_reset() {
        let counters = Arc::new(PoolCounters::new(3));
        let a = counters.opened(0);
        let b = counters.opened(0);
        let c = counters.opened(2);
        assert_eq!(
            counters.snapshot(),
            PoolSnapshot {
                open: 3,
                peak: 3,
                peak_per_port: 2,
                accepted: 3
            }
        );
        drop(a);
        drop(c);
        assert_eq!(counters.open(), 1);
        assert_eq!(counters.snapshot().peak, 3);
        counters.reset();
        assert_eq!(
            counters.snapshot(),
            PoolSnapshot {
                open: 1,
                peak: 1,
                peak_per_port: 1,
                accepted: 0
            }
        );
        drop(b);
        assert_eq!(counters.snapshot().open, 0);
    }
}
