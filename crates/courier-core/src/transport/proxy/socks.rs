//! The SOCKS handshake (feature `socks`, with tokio-socks): SOCKS4 and SOCKS5 with the destination
//! resolved here (by the client's own resolver, overrides included), SOCKS4a and SOCKS5h with the
//! destination's name sent to the proxy; SOCKS5 with username and password when given.

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_socks::tcp::{Socks4Stream, Socks5Stream};

use super::{Kind, Target};
use crate::error::Error;
use crate::transport::dns::Resolver;

/// Asks the SOCKS proxy at the other end of `stream` to connect to `host` at the URL's port
/// (`url_port`, else `default_port`, or, resolved here, an override's own port as for a direct
/// connection); on success the stream leads to the destination. The error never names the
/// credentials.
pub(crate) async fn handshake(
    stream: TcpStream,
    proxy: &Target,
    host: &str,
    (url_port, default_port): (Option<u16>, u16),
    resolver: &Resolver,
) -> Result<TcpStream, Error> {
    let port = url_port.unwrap_or(default_port);
    let local = |v4_only: bool| async move {
        let addrs = resolver.resolve(host, url_port, default_port).await?;
        addrs
            .into_iter()
            .find(|addr: &SocketAddr| addr.is_ipv4() || !v4_only)
            .ok_or_else(|| Error::dns(format!("SOCKS4 needs an IPv4 address for {host:?}")))
    };
    let result = match proxy.kind {
        Kind::Socks4 => {
            let addr = local(true).await?;
            Socks4Stream::connect_with_socket(stream, addr)
                .await
                .map(Socks4Stream::into_inner)
        }
        Kind::Socks4a => Socks4Stream::connect_with_socket(stream, (host, port))
            .await
            .map(Socks4Stream::into_inner),
        Kind::Socks5 | Kind::Socks5h => {
            let result = match (proxy.kind, &proxy.socks_auth) {
                (Kind::Socks5, Some((user, pass))) => {
                    let addr = local(false).await?;
                    Socks5Stream::connect_with_password_and_socket(stream, addr, user, pass).await
                }
                (Kind::Socks5, None) => {
                    let addr = local(false).await?;
                    Socks5Stream::connect_with_socket(stream, addr).await
                }
                (_, Some((user, pass))) => {
                    Socks5Stream::connect_with_password_and_socket(stream, (host, port), user, pass)
                        .await
                }
                (_, None) => Socks5Stream::connect_with_socket(stream, (host, port)).await,
            };
            result.map(Socks5Stream::into_inner)
        }
        Kind::Http | Kind::Https => unreachable!("only SOCKS proxies come here"),
    };
    result.map_err(|e| Error::connect(SocksError(e)))
}

/// A SOCKS failure, saying so.
#[derive(Debug)]
struct SocksError(tokio_socks::Error);

impl std::fmt::Display for SocksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SOCKS proxy handshake failed: {}", self.0)
    }
}

impl std::error::Error for SocksError {}
