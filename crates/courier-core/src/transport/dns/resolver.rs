//! The connector's resolver: IP literals as they are, then the overrides, then the [`Resolve`] in
//! use, with the port rule of the [module docs](super) applied once for all of them.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::{GaiResolver, Name, Resolve};
use crate::error::Error;

/// Resolves host names, answering from `overrides` first.
#[derive(Clone)]
pub(crate) struct Resolver {
    overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
    resolver: Arc<dyn Resolve>,
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver::new(HashMap::new(), None)
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// `overrides` keyed by lowercase host; `resolver` for the rest (the system's when `None`).
    pub(crate) fn new(
        overrides: HashMap<String, Vec<SocketAddr>>,
        resolver: Option<Arc<dyn Resolve>>,
    ) -> Resolver {
        Resolver {
            overrides: Arc::new(overrides),
            resolver: resolver.unwrap_or_else(|| Arc::new(GaiResolver::new())),
        }
    }

    /// The addresses of `host` (no brackets around IPv6 literals). `port` is the URL's explicit port,
    /// or `None` to use the resolved address's port, or `default_port` where that is `0`.
    pub(crate) async fn resolve(
        &self,
        host: &str,
        port: Option<u16>,
        default_port: u16,
    ) -> Result<Vec<SocketAddr>, Error> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port.unwrap_or(default_port))]);
        }
        let with_port = |addr: SocketAddr| match (port, addr.port()) {
            (Some(port), _) => SocketAddr::new(addr.ip(), port),
            (None, 0) => SocketAddr::new(addr.ip(), default_port),
            (None, _) => addr,
        };
        let lower = host.to_ascii_lowercase();
        let addrs: Vec<SocketAddr> = match self.overrides.get(&lower) {
            Some(addrs) => addrs.iter().copied().map(with_port).collect(),
            None => {
                let name: Name = lower
                    .parse()
                    .map_err(|e| Error::dns(DnsError::new(host, e)))?;
                self.resolver
                    .resolve(name)
                    .await
                    .map_err(|e| Error::dns(DnsError::new(host, e)))?
                    .map(with_port)
                    .collect()
            }
        };
        if addrs.is_empty() {
            return Err(Error::dns(DnsError::new(
                host,
                "the name resolved to no address",
            )));
        }
        Ok(addrs)
    }
}

/// A name that did not resolve, naming it.
#[derive(Debug)]
struct DnsError {
    host: String,
    source: crate::error::BoxError,
}

impl DnsError {
    fn new(host: &str, source: impl Into<crate::error::BoxError>) -> DnsError {
        DnsError {
            host: host.to_owned(),
            source: source.into(),
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dns lookup of {:?} failed", self.host)
    }
}

impl std::error::Error for DnsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::dns::{Addrs, Resolving};

    struct Fixed(Vec<SocketAddr>);

    impl Resolve for Fixed {
        fn resolve(&self, _: Name) -> Resolving {
            let addrs = self.0.clone();
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn the_url_port_wins_and_port_zero_takes_the_default() {
        let resolver = Resolver::new(
            HashMap::from([("over.test".to_owned(), vec![addr("127.0.0.2:0")])]),
            Some(Arc::new(Fixed(vec![
                addr("127.0.0.3:0"),
                addr("127.0.0.4:81"),
            ]))),
        );
        let cases = [
            ("OVER.test", None, vec![addr("127.0.0.2:443")]),
            ("over.test", Some(8443), vec![addr("127.0.0.2:8443")]),
            (
                "any.test",
                None,
                vec![addr("127.0.0.3:443"), addr("127.0.0.4:81")],
            ),
            (
                "any.test",
                Some(9),
                vec![addr("127.0.0.3:9"), addr("127.0.0.4:9")],
            ),
            ("127.0.0.9", None, vec![addr("127.0.0.9:443")]),
            ("::1", Some(1), vec![addr("[::1]:1")]),
        ];
        for (host, port, expected) in cases {
            assert_eq!(
                resolver.resolve(host, port, 443).await.unwrap(),
                expected,
                "{host} {port:?}"
            );
        }
    }

    #[tokio::test]
    async fn no_address_is_a_dns_error() {
        let resolver = Resolver::new(
            HashMap::from([("none.test".to_owned(), vec![])]),
            Some(Arc::new(Fixed(vec![]))),
        );
        let err = resolver.resolve("none.test", None, 80).await.unwrap_err();
        assert!(err.is_dns(), "an empty override: {err:?}");
        let err = resolver.resolve("empty.test", None, 80).await.unwrap_err();
        assert!(err.is_dns() && err.is_connect(), "{err:?}");
        assert_eq!(
            format!("{err:#}"),
            "error resolving a host name: dns lookup of \"empty.test\" failed: the name resolved to no address"
        );
    }
}
