//! [`GaiResolver`]: the system resolver (`getaddrinfo`, which reads `/etc/hosts` and
//! `/etc/resolv.conf`, or whatever the system is configured for), run on tokio's blocking pool.

use super::{Addrs, Name, Resolve, Resolving};

/// The system resolver, used unless another is configured.
#[derive(Clone, Debug, Default)]
pub struct GaiResolver {
    _private: (),
}

impl GaiResolver {
    /// The system resolver.
    pub fn new() -> GaiResolver {
        GaiResolver::default()
    }
}

impl Resolve for GaiResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((name.as_str(), 0)).await?;
            Ok(Box::new(addrs.collect::<Vec<_>>().into_iter()) as Addrs)
        })
    }
}
