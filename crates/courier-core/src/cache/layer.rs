//! [`CacheLayer`]: the tower layer that wraps a service in [`Caching`](super::Caching) with a
//! [`Cache`].

use tower_layer::Layer;

use super::handle::Cache;
use super::service::Caching;

/// A [`Layer`] that answers requests from a [`Cache`] where RFC 9111 allows, and stores what it may.
///
/// ```
/// use courier_core::cache::{Cache, CacheLayer};
///
/// let cache = Cache::in_memory();
/// let layer = CacheLayer::new(cache.clone());
/// # drop(layer);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CacheLayer {
    cache: Cache,
}

impl CacheLayer {
    /// A layer over `cache` (clones share its entries).
    pub fn new(cache: Cache) -> Self {
        CacheLayer { cache }
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = Caching<S>;

    fn layer(&self, inner: S) -> Caching<S> {
        Caching::new(inner, self.cache.clone())
    }
}
