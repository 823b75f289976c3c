//! [`CookieManagerLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::{CookieManager, CookieStore};

/// A [`Layer`] that sends cookies from a shared store (a [`Jar`](super::Jar), or any
/// [`CookieStore`]) and stores the cookies responses set.
///
/// See the [module docs](super) for what the wrapped service does.
///
/// ```
/// use std::sync::Arc;
/// use courier_core::cookie::{CookieManagerLayer, Jar};
/// use tower_layer::Layer;
///
/// let jar = Arc::new(Jar::new());
/// let layer = CookieManagerLayer::new(jar.clone());
/// let service = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # drop(service);
/// ```
#[derive(Clone)]
pub struct CookieManagerLayer {
    store: Arc<dyn CookieStore>,
}

impl CookieManagerLayer {
    /// Uses `store` (shared: every service this layer makes, and anyone else holding the `Arc`, see
    /// the same cookies).
    pub fn new<C: CookieStore + 'static>(store: Arc<C>) -> CookieManagerLayer {
        CookieManagerLayer { store }
    }

    /// The cookie store.
    pub fn store(&self) -> &Arc<dyn CookieStore> {
        &self.store
    }
}

impl std::fmt::Debug for CookieManagerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieManagerLayer").finish_non_exhaustive()
    }
}

/// `CookieLayer` was renamed [`CookieManagerLayer`], after the service it makes.
#[deprecated(note = "renamed CookieManagerLayer, after the service it makes")]
pub type CookieLayer = CookieManagerLayer;

impl<S> Layer<S> for CookieManagerLayer {
    type Service = CookieManager<S>;

    fn layer(&self, inner: S) -> CookieManager<S> {
        CookieManager::optional(inner, Some(self.store.clone()))
    }
}
