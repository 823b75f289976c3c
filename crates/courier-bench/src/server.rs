//! The benchmark server: hyper 1 (HTTP/1.1, keep-alive) on its own thread(s) and its own tokio runtime,
//! serving bodies prepared in memory at start-up so the server does as little work per request as it can.
//!
//! | path | body |
//! | --- | --- |
//! | `/small` | [`SMALL_BODY`] (`text/plain`) |
//! | `/64k` | 64 KiB of pseudo-random bytes |
//! | `/1m` | 1 MiB of pseudo-random bytes |
//! | `/1m.gz` | 1 MiB of word-like text, sent `Content-Encoding: gzip` whatever the request asks |
//! | `/bulk/{i}` | file `i` of the bulk set: a prefix of one shared pseudo-random buffer |

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
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
    bulk: Bytes,
    bulk_sizes: Vec<u64>,
}

impl Corpus {
    /// Prepares every body; `bulk_files` files totalling `bulk_total` bytes.
    pub fn new(bulk_files: usize, bulk_total: u64) -> Corpus {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let bulk_sizes = bulk_sizes(bulk_files, bulk_total);
        let bulk_max = bulk_sizes.iter().copied().max().unwrap_or(0) as usize;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&word_text(&mut rng, LARGE_LEN))
            .expect("gzip into a Vec");
        Corpus {
            small: Bytes::from_static(SMALL_BODY),
            medium: rng.bytes(MEDIUM_LEN).into(),
            large: rng.bytes(LARGE_LEN).into(),
            gzip: gz.finish().expect("gzip into a Vec").into(),
            bulk: rng.bytes(bulk_max).into(),
            bulk_sizes,
        }
    }

    /// Length of the gzip-encoded `/1m.gz` as sent.
    pub fn gzip_wire_len(&self) -> usize {
        self.gzip.len()
    }

    fn respond(&self, path: &str) -> Response<Full<Bytes>> {
        let (body, content_type, gzip) = match path {
            "/small" => (self.small.clone(), "text/plain", false),
            "/64k" => (self.medium.clone(), "application/octet-stream", false),
            "/1m" => (self.large.clone(), "application/octet-stream", false),
            "/1m.gz" => (self.gzip.clone(), "text/plain", true),
            _ => match path
                .strip_prefix("/bulk/")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| self.bulk_sizes.get(i))
            {
                Some(&size) => (
                    self.bulk.slice(..size as usize),
                    "application/octet-stream",
                    false,
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
        if gzip {
            headers.insert(
                header::CONTENT_ENCODING,
                header::HeaderValue::from_static("gzip"),
            );
        }
        response
    }
}

/// A running server. It lives until the process exits.
pub struct Server {
    addr: SocketAddr,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves `corpus` from `threads` runtime threads
    /// (`1`: a `current_thread` runtime on one dedicated thread).
    pub fn start(corpus: Corpus, threads: usize) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = if threads <= 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("bench-server")
                .enable_all()
                .build()?
        };
        let corpus = Arc::new(corpus);
        std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || runtime.block_on(serve(listener, corpus)))?;
        Ok(Server { addr })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn serve(listener: std::net::TcpListener, corpus: Arc<Corpus>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("register listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let corpus = corpus.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let response = corpus.respond(req.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            // Clients closing their connections is how every run ends: not an error worth reporting.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
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
}
