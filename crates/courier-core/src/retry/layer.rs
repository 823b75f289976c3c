//! [`RetryLayer`].

use tower_layer::Layer;

use super::policy::RetryPolicy;
use super::service::Retry;

/// A [`Layer`] that wraps a service in [`Retry`]; see the [module docs](super).
///
/// ```
/// use std::time::Duration;
/// use courier_core::retry::{RetryLayer, RetryPolicy};
///
/// let default = RetryLayer::default(); // RetryPolicy::default(): up to 3 retries
/// let patient = RetryLayer::new(RetryPolicy::default().max_retry_after(Duration::from_secs(120)));
/// # drop((default, patient));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// Retries under `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer { policy }
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Retry<S> {
        Retry::new(inner, self.policy.clone())
    }
}
