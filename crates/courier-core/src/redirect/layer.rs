//! [`FollowRedirectLayer`].

use tower_layer::Layer;

use super::policy::Policy;
use super::service::FollowRedirect;

/// A [`Layer`] that wraps a service in [`FollowRedirect`]; see the [module docs](super).
///
/// ```
/// use courier_core::redirect::{FollowRedirectLayer, Policy};
///
/// let default = FollowRedirectLayer::default(); // Policy::default(): up to 10 redirects
/// let strict = FollowRedirectLayer::new(Policy::limited(3));
/// # drop((default, strict));
/// ```
#[derive(Clone, Debug, Default)]
pub struct FollowRedirectLayer {
    policy: Policy,
}

impl FollowRedirectLayer {
    /// Follows redirects under `policy`.
    pub fn new(policy: Policy) -> Self {
        FollowRedirectLayer { policy }
    }

    /// The redirect policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<S> Layer<S> for FollowRedirectLayer {
    type Service = FollowRedirect<S>;

    fn layer(&self, inner: S) -> FollowRedirect<S> {
        FollowRedirect::new(inner, self.policy.clone())
    }
}
