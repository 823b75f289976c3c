//! [`TestServer`]: a hyper server on `127.0.0.1:0` (HTTP/1.1, HTTP/2 or both) that runs a handler and
//! records every request it saw; plain TCP here, TLS with the builder methods of [`tls`](crate::tls).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::{echo, tls, ServerBody};

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
    pub(crate) tls: Option<tls::TestCerts>,
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
    pub(crate) tls: Option<tls::TestCerts>,
    pub(crate) tls_options: tls::ServerTls,
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

    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces (hyper's default: 200).
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.max_concurrent_streams = Some(max);
        self
    }

    /// Binds `127.0.0.1:0` and starts serving `handler`.
    pub async fn start<F, Fut>(self, handler: F) -> TestServer
    where
        F: Fn(Recorded) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<ServerBody>> + Send + 'static,
    {
        crate::arm_watchdog();
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
