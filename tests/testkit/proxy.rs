//! [`ProxyServer`]: an HTTP forward proxy (plain or TLS) that sends everything to one upstream. The
//! SOCKS proxy is [`socks::SocksServer`](crate::socks::SocksServer).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use crate::{read_request_head, tls, Protocol, RawServer};

/// A forward proxy for tests: answers `CONNECT host:port` by tunnelling to `upstream`, and forwards
/// absolute-form requests to `upstream` as they are; records every request head it saw. Plain TCP, or
/// TLS with its own certificate ([`ProxyServer::start_tls`]).
pub struct ProxyServer {
    addr: SocketAddr,
    tls: bool,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ProxyServer {
    /// Starts a proxy on `127.0.0.1:0` that sends everything to `upstream`, whatever the request names.
    pub async fn start(upstream: SocketAddr) -> ProxyServer {
        ProxyServer::serve(upstream, None).await
    }

    /// The same, speaking TLS (HTTP/1.1) with `certs` to its clients: an `https://` proxy.
    pub async fn start_tls(upstream: SocketAddr, certs: &tls::TestCerts) -> ProxyServer {
        ProxyServer::serve(upstream, Some(certs.acceptor(Protocol::Http1))).await
    }

    async fn serve(
        upstream: SocketAddr,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> ProxyServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let tls = acceptor.is_some();
        let raw = RawServer::start(move |client, _| {
            let log = log.clone();
            let acceptor = acceptor.clone();
            async move {
                match acceptor {
                    None => proxy_connection(client, upstream, log).await,
                    Some(acceptor) => {
                        if let Ok(client) = acceptor.accept(client).await {
                            proxy_connection(client, upstream, log).await;
                        }
                    }
                }
            }
        })
        .await;
        // Keep the raw server's task alive by moving its parts into ours.
        let addr = raw.addr;
        let task = tokio::spawn(async move {
            let _raw = raw;
            std::future::pending::<()>().await;
        });
        ProxyServer {
            addr,
            tls,
            seen,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` for a TLS proxy.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://127.0.0.1:{}", self.addr.port())
        }
    }

    /// Every request head the proxy received (the first of each connection), as text.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// One proxied connection: reads the first request head, then tunnels (`CONNECT`) or forwards it.
async fn proxy_connection<S>(mut client: S, upstream: SocketAddr, log: Arc<Mutex<Vec<String>>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let Ok(head) = read_request_head(&mut client).await else {
        return;
    };
    log.lock().unwrap().push(head.clone());
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

impl Drop for ProxyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
