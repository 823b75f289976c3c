//! [`ProxyServer`]: an HTTP forward proxy (plain or TLS, optionally asking `CONNECT`s for Digest
//! credentials) that sends everything to one upstream. The SOCKS proxy is
//! [`socks::SocksServer`](crate::socks::SocksServer).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use crate::{digest, read_request_head, tls, Protocol, RawServer};

/// A forward proxy for tests: answers `CONNECT host:port` by tunnelling to `upstream`, and forwards
/// absolute-form requests to `upstream` as they are (one per connection: it adds `Connection: close`);
/// records every request head it saw. Plain TCP, or
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
    } else {
        // One request per connection: the upstream is asked to close after it, and its answer says
        // so to the client, which then does not send another request down this pipe unseen.
        let head = format!(
            "{}connection: close\r\n\r\n",
            head.strip_suffix("\r\n").unwrap_or(&head)
        );
        if server.write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
