//! The SOCKS handshake (feature `socks`, with tokio-socks): SOCKS4 and SOCKS5 with the destination
//! resolved here (by the client's own resolver, overrides included), SOCKS4a and SOCKS5h with the
//! destination's name sent to the proxy; SOCKS5 with username and password when given.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio_socks::tcp::{Socks4Stream, Socks5Stream};
use tokio_socks::TargetAddr;

use super::{Kind, Target};
use crate::error::Error;
use crate::transport::dns::Resolver;

/// Asks the SOCKS proxy at the other end of `stream` to connect to `host` at the URL's port
/// (`url_port`, else `default_port`, or, resolved here, an override's own port as for a direct
/// connection); on success the stream leads to the destination. The error never names the
/// credentials.
///
/// Resolved here (SOCKS4, SOCKS5), the addresses are tried in order: when the proxy cannot reach
/// one, a new connection to the proxy (`reconnect`) asks for the next. SOCKS4 carries IPv4 only, so
/// a destination with only IPv6 addresses is a connect error (the name did resolve).
pub(crate) async fn handshake<F, Fut>(
    stream: TcpStream,
    proxy: &Target,
    host: &str,
    (url_port, default_port): (Option<u16>, u16),
    resolver: &Resolver,
    reconnect: F,
) -> Result<TcpStream, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<TcpStream, Error>>,
{
    let port = url_port.unwrap_or(default_port);
    if matches!(proxy.kind, Kind::Socks4a | Kind::Socks5h) {
        return connect(stream, proxy, remote_target(host, port)?)
            .await
            .map_err(socks_error);
    }
    let v4_only = proxy.kind == Kind::Socks4;
    let addrs: Vec<SocketAddr> = resolver
        .resolve(host, url_port, default_port)
        .await?
        .into_iter()
        .filter(|addr| addr.is_ipv4() || !v4_only)
        .collect();
    if addrs.is_empty() {
        return Err(Error::connect(format!(
            "SOCKS4 carries IPv4 only, and {host:?} has no IPv4 address (use socks4a:// or socks5://)"
        )));
    }
    let mut stream = Some(stream);
    let last = addrs.len() - 1;
    for (i, addr) in addrs.into_iter().enumerate() {
        let conn = match stream.take() {
            Some(first) => first,
            None => reconnect().await?,
        };
        match connect(conn, proxy, TargetAddr::Ip(addr)).await {
            Err(err) if i < last && unreachable(&err) => {
                tracing::debug!(%addr, "the SOCKS proxy could not reach this address; trying the next");
            }
            result => return result.map_err(socks_error),
        }
    }
    unreachable!("the last address returns")
}

/// The destination of a SOCKS4a or SOCKS5h request: an address literal as an address, a name as a
/// name. The protocol gives a name one length byte: a longer one (URLs allow it) is refused here, as
/// sent it would overrun the request buffer or be cut into another host and port.
fn remote_target(host: &str, port: u16) -> Result<TargetAddr<'_>, Error> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
        return Ok(TargetAddr::Ip(SocketAddr::new(ip, port)));
    }
    if host.len() > 255 {
        return Err(Error::connect(format!(
            "a host name of {} bytes is longer than the 255 a SOCKS request can carry",
            host.len()
        )));
    }
    Ok(TargetAddr::Domain(host.into(), port))
}

/// The proxy answered that it could not reach the address (not a protocol or credentials failure):
/// another address of the same name may do.
fn unreachable(err: &tokio_socks::Error) -> bool {
    use tokio_socks::Error as E;
    matches!(
        err,
        E::GeneralSocksServerFailure
            | E::NetworkUnreachable
            | E::HostUnreachable
            | E::ConnectionRefused
            | E::TtlExpired
    )
}

/// One `CONNECT` through the proxy at the other end of `stream`.
async fn connect(
    stream: TcpStream,
    proxy: &Target,
    target: TargetAddr<'_>,
) -> Result<TcpStream, tokio_socks::Error> {
    match (proxy.kind, &proxy.socks_auth) {
        // SOCKS4 has a user id and no password: the proxy's user name goes there, as curl sends it.
        (Kind::Socks4 | Kind::Socks4a, Some((user, _))) if !user.is_empty() => {
            Socks4Stream::connect_with_userid_and_socket(stream, target, user)
                .await
                .map(Socks4Stream::into_inner)
        }
        (Kind::Socks4 | Kind::Socks4a, _) => Socks4Stream::connect_with_socket(stream, target)
            .await
            .map(Socks4Stream::into_inner),
        // RFC 1929 allows an empty password, but tokio-socks refuses to send one: a user name alone
        // (`socks5h://anon@...`, an isolation tag) offers no authentication instead of failing every
        // request before a byte is sent.
        (_, Some((user, pass))) if !user.is_empty() && !pass.is_empty() => {
            Socks5Stream::connect_with_password_and_socket(stream, target, user, pass)
                .await
                .map(Socks5Stream::into_inner)
        }
        (_, _) => Socks5Stream::connect_with_socket(stream, target)
            .await
            .map(Socks5Stream::into_inner),
    }
}

/// The connect error for a failed SOCKS handshake. A refusal of the credentials or by the proxy's
/// rules will be given again: such an error does not say the request may be sent again, as a
/// `CONNECT` refused with 403 or 407 does not.
fn socks_error(err: tokio_socks::Error) -> Error {
    use tokio_socks::Error as E;
    let refused = matches!(
        err,
        E::NoAcceptableAuthMethods
            | E::PasswordAuthFailure(_)
            | E::AuthorizationRequired
            | E::ConnectionNotAllowedByRuleset
            | E::IdentdAuthFailure
            | E::InvalidUserIdAuthFailure
    );
    if refused {
        Error::refused_by_proxy(SocksError(err))
    } else {
        Error::connect(SocksError(err))
    }
}

/// A SOCKS failure, saying so (tokio-socks' error, its cause, says what failed).
#[derive(Debug)]
struct SocksError(tokio_socks::Error);

impl std::fmt::Display for SocksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SOCKS proxy handshake failed")
    }
}

impl std::error::Error for SocksError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
