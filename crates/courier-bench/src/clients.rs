//! The measured clients behind one small interface, each used the way an application would use it.
//!
//! Every request starts from a URL string (so URL parsing is part of what is measured, for all clients
//! alike) and checks the status. Small bodies are read whole (`bytes()`, or `collect()` for the raw
//! services); large bodies are streamed chunk by chunk and only counted, never copied.

use std::future::poll_fn;
use std::io::Write;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_service::Service;

use crate::scenarios::ScenarioId;

/// Errors of any client.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum ClientKind {
    /// `courier::Client` with its default stack.
    Courier,
    /// `courier_core::transport::Transport` alone: Courier's own pool and connections, no layers.
    #[value(name = "courier-transport")]
    Transport,
    /// `reqwest::Client` (rustls, gzip).
    Reqwest,
    /// hyper-util's `client::legacy::Client` over a plain `HttpConnector`, used directly.
    #[value(name = "hyper-util")]
    HyperUtil,
    /// `courier::Client` with an in-memory `Cache` (cache scenarios only).
    #[value(name = "courier-mem-cache")]
    CourierMemCache,
    /// `courier::Client` with an on-disk `Cache` in a temporary directory (cache scenarios only).
    #[value(name = "courier-disk-cache")]
    CourierDiskCache,
}

impl ClientKind {
    /// Every in-process client, in table order.
    pub const ALL: [ClientKind; 4] = [
        ClientKind::Courier,
        ClientKind::Transport,
        ClientKind::Reqwest,
        ClientKind::HyperUtil,
    ];

    /// The clients of the cache scenarios: Courier without a cache (the reference: the same cacheable
    /// responses, fetched every time over a kept-alive connection), then with each cache.
    pub const CACHE: [ClientKind; 3] = [
        ClientKind::Courier,
        ClientKind::CourierMemCache,
        ClientKind::CourierDiskCache,
    ];

    /// The name used in the table, the JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::CourierMemCache => "courier-mem-cache",
            ClientKind::CourierDiskCache => "courier-disk-cache",
            ClientKind::Courier => "courier",
            ClientKind::Transport => "courier-transport",
            ClientKind::Reqwest => "reqwest",
            ClientKind::HyperUtil => "hyper-util",
        }
    }
}

/// The directory of the `courier-disk-cache` client's cache: one per process, emptied whenever such a
/// client is built, removed at the end of the run.
pub fn disk_cache_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("courier-bench-cache-{}", std::process::id()))
}

/// One client instance. Clones share the connection pool.
// Built once per client and never moved on the hot path; boxing hyper-util's client would add an
// indirection to the anchor's every request.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum Client {
    Courier(courier::Client),
    Transport(courier_core::transport::Transport<courier_core::Body>),
    Reqwest(reqwest::Client),
    HyperUtil(hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>),
}

impl Client {
    /// Builds a client with its defaults (plus, for hyper-util, `TCP_NODELAY` as the others set it).
    pub fn new(kind: ClientKind) -> Result<Client, BoxError> {
        Ok(match kind {
            ClientKind::Courier => Client::Courier(courier::Client::builder().build()?),
            ClientKind::CourierMemCache => Client::Courier(
                courier::Client::builder()
                    .cache(courier::cache::Cache::in_memory())
                    .build()?,
            ),
            ClientKind::CourierDiskCache => {
                let dir = disk_cache_dir();
                let _ = std::fs::remove_dir_all(&dir);
                Client::Courier(
                    courier::Client::builder()
                        .cache(courier::cache::Cache::on_disk(&dir)?)
                        .build()?,
                )
            }
            ClientKind::Transport => {
                Client::Transport(courier_core::transport::Transport::builder().build()?)
            }
            // No proxy: the environment must not route one client differently from the others.
            ClientKind::Reqwest => Client::Reqwest(reqwest::Client::builder().no_proxy().build()?),
            ClientKind::HyperUtil => {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                Client::HyperUtil(
                    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                        .build(connector),
                )
            }
        })
    }

    /// Builds a client that speaks HTTP/2 with prior knowledge (h2c), each with its own defaults
    /// otherwise: hyper-util's legacy client shares one connection per host and queues streams past
    /// the server's limit; Courier's opens another connection there.
    pub fn h2c(kind: ClientKind) -> Result<Client, BoxError> {
        Ok(match kind {
            ClientKind::Courier => {
                Client::Courier(courier::Client::builder().http2_prior_knowledge().build()?)
            }
            ClientKind::Transport => Client::Transport(
                courier_core::transport::Transport::builder()
                    .http2_prior_knowledge()
                    .build()?,
            ),
            ClientKind::Reqwest => Client::Reqwest(
                reqwest::Client::builder()
                    .no_proxy()
                    .http2_prior_knowledge()
                    .build()?,
            ),
            ClientKind::HyperUtil => {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                Client::HyperUtil(
                    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                        .http2_only(true)
                        .build(connector),
                )
            }
            ClientKind::CourierMemCache | ClientKind::CourierDiskCache => {
                return Err("the cache clients have no part in the h2c scenarios".into())
            }
        })
    }

    /// Builds the client `kind` as `scenario` measures it: h2c for the HTTP/2 scenarios, else with its
    /// defaults.
    pub fn for_scenario(kind: ClientKind, scenario: ScenarioId) -> Result<Client, BoxError> {
        if scenario.h2c().is_some() {
            Client::h2c(kind)
        } else {
            Client::new(kind)
        }
    }

    /// Builds a client for the pool scenario: Courier's `Client` and transport with at most `cap`
    /// connections per host (`pool_max_connections_per_host`); reqwest and hyper-util have no such
    /// limit (only one on idle connections), so they are built as in [`Client::new`].
    pub fn with_per_host_cap(kind: ClientKind, cap: usize) -> Result<Client, BoxError> {
        Ok(match kind {
            ClientKind::Courier => Client::Courier(
                courier::Client::builder()
                    .pool_max_connections_per_host(cap)
                    .build()?,
            ),
            ClientKind::Transport => Client::Transport(
                courier_core::transport::Transport::builder()
                    .pool_max_connections_per_host(cap)
                    .build()?,
            ),
            _ => Client::new(kind)?,
        })
    }

    /// Whether the client enforces a per-host connection cap when built by [`Client::with_per_host_cap`].
    pub fn has_per_host_cap(kind: ClientKind) -> bool {
        matches!(kind, ClientKind::Courier | ClientKind::Transport)
    }

    /// What the client's own pool says is open now, `(total, most on one host)`, for clients that can
    /// tell (Courier's `pool_stats()`); `None` for the others.
    pub fn pool_open(&self) -> Option<(usize, usize)> {
        let stats = match self {
            Client::Courier(client) => client.pool_stats(),
            Client::Transport(transport) => transport.pool_stats(),
            Client::Reqwest(_) | Client::HyperUtil(_) => return None,
        };
        let per_host = stats.hosts.iter().map(|h| h.open).max().unwrap_or(0);
        Some((stats.open, per_host))
    }

    /// The size in bytes of the future a request starts with (created, never polled): a future is
    /// moved (copied) several times before it settles in place, so large ones cost memcpy per request.
    /// The raw services are measured at their `call`/`request` future.
    pub fn request_future_size(&mut self, url: &str) -> Result<usize, BoxError> {
        Ok(match self {
            Client::Courier(client) => std::mem::size_of_val(&client.get(url).send()),
            Client::Reqwest(client) => std::mem::size_of_val(&client.get(url).send()),
            Client::Transport(transport) => {
                let request = http::Request::get(url).body(courier_core::Body::empty())?;
                std::mem::size_of_val(&transport.call(request))
            }
            Client::HyperUtil(client) => {
                let request = http::Request::get(url).body(Empty::new())?;
                std::mem::size_of_val(&client.request(request))
            }
        })
    }

    /// GET `url` and read the whole body into memory; returns its length.
    pub async fn fetch(&mut self, url: &str) -> Result<usize, BoxError> {
        match self {
            Client::Courier(client) => {
                let response = client.get(url).send().await?;
                check_status(response.status())?;
                Ok(response.bytes().await?.len())
            }
            Client::Transport(transport) => {
                let request = http::Request::get(url).body(courier_core::Body::empty())?;
                poll_fn(|cx| transport.poll_ready(cx)).await?;
                let response = transport.call(request).await?;
                check_status(response.status())?;
                Ok(response.into_body().collect().await?.to_bytes().len())
            }
            Client::Reqwest(client) => {
                let response = client.get(url).send().await?;
                check_status(response.status())?;
                Ok(response.bytes().await?.len())
            }
            Client::HyperUtil(client) => {
                let request = http::Request::get(url).body(Empty::new())?;
                let response = client.request(request).await?;
                check_status(response.status())?;
                Ok(response.into_body().collect().await?.to_bytes().len())
            }
        }
    }

    /// GET `url` and stream the body, counting its (decoded) bytes without keeping them.
    ///
    /// With a `coding`, clients that do not decode by themselves send it as `Accept-Encoding` and decode
    /// the response here, chunk by chunk, into a counting sink (flate2, brotli or zstd's `Write`
    /// decoders).
    pub async fn stream(
        &mut self,
        url: &str,
        coding: Option<&'static str>,
    ) -> Result<u64, BoxError> {
        match self {
            Client::Courier(client) => {
                let mut response = client.get(url).send().await?;
                check_status(response.status())?;
                let mut total = 0;
                while let Some(chunk) = response.chunk().await? {
                    total += chunk.len() as u64;
                }
                Ok(total)
            }
            Client::Reqwest(client) => {
                let mut response = client.get(url).send().await?;
                check_status(response.status())?;
                let mut total = 0;
                while let Some(chunk) = response.chunk().await? {
                    total += chunk.len() as u64;
                }
                Ok(total)
            }
            Client::Transport(transport) => {
                let mut request = http::Request::get(url).body(courier_core::Body::empty())?;
                if let Some(coding) = coding {
                    accept(request.headers_mut(), coding);
                }
                poll_fn(|cx| transport.poll_ready(cx)).await?;
                let response = transport.call(request).await?;
                count_body(response).await
            }
            Client::HyperUtil(client) => {
                let mut request = http::Request::get(url).body(Empty::new())?;
                if let Some(coding) = coding {
                    accept(request.headers_mut(), coding);
                }
                let response = client.request(request).await?;
                count_body(response).await
            }
        }
    }
}

fn check_status(status: http::StatusCode) -> Result<(), BoxError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("unexpected status {status}").into())
    }
}

fn accept(headers: &mut http::HeaderMap, coding: &'static str) {
    headers.insert(
        http::header::ACCEPT_ENCODING,
        http::HeaderValue::from_static(coding),
    );
}

/// Streams a raw hyper body, decoding it by hand when the response has a `Content-Encoding`.
async fn count_body<B>(response: http::Response<B>) -> Result<u64, BoxError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    check_status(response.status())?;
    let coding = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .map(|v| v.as_bytes().to_ascii_lowercase());
    let mut sink: Box<dyn Decoder> = match coding.as_deref() {
        None => Box::new(CountingSink(0)),
        Some(b"gzip") => Box::new(flate2::write::GzDecoder::new(CountingSink(0))),
        Some(b"deflate") => Box::new(flate2::write::ZlibDecoder::new(CountingSink(0))),
        Some(b"br") => Box::new(brotli::DecompressorWriter::new(CountingSink(0), 32 * 1024)),
        Some(b"zstd") => Box::new(zstd::stream::write::Decoder::new(CountingSink(0))?),
        Some(other) => {
            return Err(format!("unexpected coding {}", String::from_utf8_lossy(other)).into())
        }
    };
    let mut body = response.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(Into::into)?.into_data() {
            sink.write_all(&data)?;
        }
    }
    sink.finish()
}

/// A `Write` decoder that can say how many decoded bytes came out once its input has ended.
trait Decoder: Write + Send {
    fn finish(self: Box<Self>) -> Result<u64, BoxError>;
}

impl Decoder for CountingSink {
    fn finish(self: Box<Self>) -> Result<u64, BoxError> {
        Ok(self.0)
    }
}

impl Decoder for flate2::write::GzDecoder<CountingSink> {
    fn finish(self: Box<Self>) -> Result<u64, BoxError> {
        Ok((*self).finish()?.0)
    }
}

impl Decoder for flate2::write::ZlibDecoder<CountingSink> {
    fn finish(self: Box<Self>) -> Result<u64, BoxError> {
        Ok((*self).finish()?.0)
    }
}

impl Decoder for brotli::DecompressorWriter<CountingSink> {
    fn finish(self: Box<Self>) -> Result<u64, BoxError> {
        Ok((*self)
            .into_inner()
            .map_err(|_| "brotli stream is incomplete")?
            .0)
    }
}

impl Decoder for zstd::stream::write::Decoder<'static, CountingSink> {
    fn finish(mut self: Box<Self>) -> Result<u64, BoxError> {
        self.flush()?;
        Ok(self.into_inner().0)
    }
}

/// A `Write` that only counts: the decoded bytes are not kept, as with the streamed raw bodies.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
