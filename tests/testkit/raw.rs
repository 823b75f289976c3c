//! [`RawServer`]: a TCP listener that hands each connection to a closure, for hand-written bytes, and
//! the helpers such handlers read requests with.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};

/// A TCP server that gives each accepted connection to a closure: for misbehaving peers written byte by byte.
pub struct RawServer {
    pub(crate) addr: SocketAddr,
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
        crate::arm_watchdog();
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
