//! [`HickoryResolver`]: DNS in Rust with hickory-resolver (feature `hickory-dns`), configured from
//! the system (`/etc/resolv.conf`), asking for IPv6 and IPv4 addresses together for Happy Eyeballs.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use hickory_resolver::config::LookupIpStrategy;
use hickory_resolver::TokioResolver;

use super::{Addrs, Name, Resolve, Resolving};
use crate::error::BoxError;

/// An asynchronous resolver on hickory-resolver, used by default with the `hickory-dns` feature. Made on its first
/// lookup (inside the tokio runtime); when the system's DNS configuration cannot be read, every
/// lookup fails with that error rather than asking a public resolver the system did not name.
#[derive(Clone, Debug, Default)]
pub struct HickoryResolver {
    state: Arc<OnceLock<Result<TokioResolver, String>>>,
}

impl HickoryResolver {
    /// A resolver configured from the system.
    pub fn new() -> HickoryResolver {
        HickoryResolver::default()
    }

    fn resolver(&self) -> Result<&TokioResolver, BoxError> {
        let state = self.state.get_or_init(|| {
            let mut builder = TokioResolver::builder_tokio().map_err(|e| {
                format!("hickory-dns: cannot read the system DNS configuration: {e}")
            })?;
            builder.options_mut().ip_strategy = LookupIpStrategy::Ipv6AndIpv4;
            builder.build().map_err(|e| format!("hickory-dns: {e}"))
        });
        state.as_ref().map_err(|e| e.clone().into())
    }
}

impl Resolve for HickoryResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let lookup = this.resolver()?.lookup_ip(name.as_str()).await?;
            let addrs: Vec<SocketAddr> = lookup.iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
