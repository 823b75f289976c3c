//! [`CachingLayer`]: the tower layer that wraps a service in [`Caching`](super::Caching) with a
//! [`Cache`].

use tower_layer::Layer;

use super::handle::Cache;
use super::service::Caching;

/// A [`Layer`] that answers requests from a [`Cache`] where RFC 9111 allows, and stores what it may.
///
/// ```
/// use courier_core::cache::{Cache, CachingLayer};
///
/// let cache = Cache::in_memory();
/// let layer = CachingLayer::new(cache.clone());
/// # drop(layer);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CachingLayer {
    cache: Cache,
}

impl CachingLayer {
    /// A layer over `cache` (clones share its entries).
    pub fn new(cache: Cache) -> Self {
        CachingLayer { cache }
    }
}

/// `CacheLayer` was renamed [`CachingLayer`], after the service it makes.
#[deprecated(note = "renamed CachingLayer, after the service it makes")]
pub type CacheLayer = CachingLayer;

impl<S> Layer<S> for CachingLayer {
    type Service = Caching<S>;

    fn layer(&self, inner: S) -> Caching<S> {
        Caching::new(inner, self.cache.clone())
    }
}
