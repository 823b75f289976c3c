//! Name resolution for the transport: the system resolver (`getaddrinfo`, on tokio's blocking pool),
//! with per-host overrides like curl's `--resolve`.
//!
//! What it does not do: cache answers (the system resolver and the pool's reuse of connections do),
//! or pick among addresses (the `tcp` module's Happy Eyeballs does).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

/// Resolves host names, answering from `overrides` first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Resolver {
    overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
}

impl Resolver {
    pub(crate) fn new(overrides: HashMap<String, Vec<SocketAddr>>) -> Resolver {
        Resolver {
            overrides: Arc::new(overrides),
        }
    }

    /// The addresses of `host` (no brackets around IPv6 literals). `port` is the URL's explicit port,
    /// or `None` to use `default_port`; an override keeps its own port unless the URL names one (or
    /// it has none).
    pub(crate) async fn resolve(
        &self,
        host: &str,
        port: Option<u16>,
        default_port: u16,
    ) -> io::Result<Vec<SocketAddr>> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port.unwrap_or(default_port))]);
        }
        if let Some(addrs) = self.overrides.get(&host.to_ascii_lowercase()) {
            return Ok(addrs
                .iter()
                .map(|addr| match (port, addr.port()) {
                    (Some(port), _) => SocketAddr::new(addr.ip(), port),
                    (None, 0) => SocketAddr::new(addr.ip(), default_port),
                    (None, _) => *addr,
                })
                .collect());
        }
        let port = port.unwrap_or(default_port);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| {
                io::Error::new(err.kind(), format!("dns lookup of {host:?} failed: {err}"))
            })?
            .collect();
        Ok(addrs)
    }
}
