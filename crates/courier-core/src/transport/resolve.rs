//! Name resolution for the transport: `getaddrinfo` (on tokio's blocking pool), with per-host overrides.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use tower_service::Service;

/// Resolves host names, answering from `overrides` first (so tests and users can pin a name to an
/// address, like curl's `--resolve`).
#[derive(Clone, Debug)]
pub(crate) struct Resolver {
    overrides: Arc<HashMap<String, Vec<SocketAddr>>>,
    system: GaiResolver,
}

impl Resolver {
    pub(crate) fn new(overrides: HashMap<String, Vec<SocketAddr>>) -> Resolver {
        Resolver {
            overrides: Arc::new(overrides),
            system: GaiResolver::new(),
        }
    }
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl Service<Name> for Resolver {
    type Response = Addrs;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Addrs>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(addrs) = self.overrides.get(name.as_str()) {
            let addrs = addrs.clone();
            return Box::pin(async move { Ok(addrs.into_iter()) });
        }
        let lookup = self.system.call(name);
        Box::pin(async move {
            // The port is set by the connector from the URL; overrides keep theirs only when non-zero.
            let addrs: Vec<SocketAddr> = lookup.await?.collect();
            Ok(addrs.into_iter())
        })
    }
}
