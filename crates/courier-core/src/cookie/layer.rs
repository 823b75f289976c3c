//! [`CookieLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::{CookieManager, Jar};

/// A [`Layer`] that sends cookies from a shared [`Jar`] and stores the cookies responses set.
///
/// See the [module docs](super) for what the wrapped service does.
///
/// ```
/// use std::sync::Arc;
/// use courier_core::cookie::{CookieLayer, Jar};
/// use tower_layer::Layer;
///
/// let jar = Arc::new(Jar::new());
/// let layer = CookieLayer::new(jar.clone());
/// let service = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
pub struct CookieLayer {
    jar: Arc<Jar>,
}

impl CookieLayer {
    /// Uses `jar` (shared: every service this layer makes, and anyone else holding the `Arc`, see the
    /// same cookies).
    pub fn new(jar: Arc<Jar>) -> CookieLayer {
        CookieLayer { jar }
    }

    /// The jar.
    pub fn jar(&self) -> &Arc<Jar> {
        &self.jar
    }
}

impl<S> Layer<S> for CookieLayer {
    type Service = CookieManager<S>;

    fn layer(&self, inner: S) -> CookieManager<S> {
        CookieManager::new(inner, self.jar.clone())
    }
}
