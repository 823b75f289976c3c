//! reqwest 0.13's retry builders ([`for_host`], [`never`], [`Builder`], [`ReqRep`], [`Action`]),
//! mapped onto [`RetryPolicy`], which keeps its backoff, `Retry-After` handling and budget.
//!
//! A scoped policy retries only the requests its scope takes (a host), and only what its classifier
//! says is retryable: with no classifier, nothing (as in reqwest). The transport's own replay of
//! requests the server never processed is not affected.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode, Uri};

use super::budget::RetryBudget;
use super::policy::RetryPolicy;

/// Which requests a scoped policy applies to.
pub(crate) type ScopeFn = dyn Fn(&Method, &Uri) -> bool + Send + Sync;
/// What a scoped policy does with an attempt's outcome.
pub(crate) type ClassifyFn = dyn Fn(ReqRep<'_>) -> Action + Send + Sync;

/// A retry policy for the requests one host receives, as reqwest's `retry::for_host`: configure
/// what to retry with [`Builder::classify_fn`], then give it to `ClientBuilder::retry` (or convert it
/// into a [`RetryPolicy`] for a [`RetryLayer`](super::RetryLayer)).
///
/// ```
/// use courier_core::retry::{self, RetryPolicy};
///
/// let policy: RetryPolicy = retry::for_host("api.example.com")
///     .max_retries_per_request(3)
///     .classify_fn(|req_rep| match req_rep.status() {
///         Some(status) if status.is_server_error() => req_rep.retryable(),
///         _ => req_rep.success(),
///     })
///     .into();
/// assert_eq!(policy.get_max_retries(), 3);
/// ```
pub fn for_host<S>(host: S) -> Builder
where
    S: for<'a> PartialEq<&'a str> + Send + Sync + 'static,
{
    Builder::scoped(move |_method, uri| host == uri.host().unwrap_or(""))
}

/// A policy that retries nothing (reqwest's `retry::never`).
pub fn never() -> Builder {
    Builder::scoped(|_, _| false).no_budget()
}

/// Builds a scoped retry policy; see [`for_host`].
pub struct Builder {
    policy: RetryPolicy,
    scope: Arc<ScopeFn>,
    classify: Option<Arc<ClassifyFn>>,
}

impl Builder {
    /// A policy for the requests `scope` takes (by method and URI), retrying up to 2 times, within
    /// a budget of 20% extra load, what the classifier says (nothing until one is set).
    pub fn scoped<F>(scope: F) -> Builder
    where
        F: Fn(&Method, &Uri) -> bool + Send + Sync + 'static,
    {
        Builder {
            policy: RetryPolicy::new().max_retries(2).budget(RetryBudget::new(
                Duration::from_secs(10),
                10,
                0.2,
            )),
            scope: Arc::new(scope),
            classify: None,
        }
    }

    /// No budget: retries are limited per request only.
    pub fn no_budget(mut self) -> Builder {
        self.policy = self.policy.no_budget();
        self
    }

    /// The budget: retries may add `extra_percent` (0.2 = 20%) to the requests of the last 10 s.
    pub fn max_extra_load(mut self, extra_percent: f32) -> Builder {
        self.policy =
            self.policy
                .budget(RetryBudget::new(Duration::from_secs(10), 10, extra_percent));
        self
    }

    /// At most `max` retries per request (default 2).
    pub fn max_retries_per_request(mut self, max: u32) -> Builder {
        self.policy = self.policy.max_retries(max);
        self
    }

    /// Decides each attempt's outcome with `classify`.
    pub fn classify_fn<F>(mut self, classify: F) -> Builder
    where
        F: Fn(ReqRep<'_>) -> Action + Send + Sync + 'static,
    {
        self.classify = Some(Arc::new(classify));
        self
    }
}

impl From<Builder> for RetryPolicy {
    fn from(builder: Builder) -> RetryPolicy {
        // Without a classifier nothing is retryable, as in reqwest.
        let classify = builder
            .classify
            .unwrap_or_else(|| Arc::new(|req_rep: ReqRep<'_>| req_rep.success()));
        builder.policy.scoped(builder.scope, classify)
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("retry::Builder")
            .field("policy", &self.policy)
            .field("classify", &self.classify.is_some())
            .finish_non_exhaustive()
    }
}

/// A request and what came of it, for a classifier.
pub struct ReqRep<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) outcome: Result<StatusCode, &'a (dyn std::error::Error + 'static)>,
}

impl ReqRep<'_> {
    /// The request's method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The request's URI.
    pub fn uri(&self) -> &Uri {
        self.uri
    }

    /// The response's status, if a response came.
    pub fn status(&self) -> Option<StatusCode> {
        self.outcome.ok()
    }

    /// The error, if the attempt failed.
    pub fn error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.outcome.err()
    }

    /// Retry it (within the policy's limits and budget).
    pub fn retryable(self) -> Action {
        Action::Retryable
    }

    /// Keep this outcome.
    pub fn success(self) -> Action {
        Action::Success
    }
}

/// A classifier's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Keep the outcome.
    Success,
    /// Try again.
    Retryable,
}
