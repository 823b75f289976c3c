//! [`RetryPolicy`]: which failures are retried, how long to wait, and how often.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Method, Request, Response, StatusCode};

use super::backoff::full_jitter;
use super::budget::RetryBudget;
use super::future::RetryDelay;
use super::retry_after::retry_after;
use super::scoped::{Action, ClassifyFn, ReqRep, ScopeFn};
use crate::body::TryCloneBody;
use crate::error::Error;
use crate::resend::try_clone_request;
use crate::transport::Fate;

/// How many times a request is retried by default, after its first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// The ceiling of the first backoff; each further retry doubles it.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(100);
/// The most a backoff waits, however many retries came before.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);
/// The longest `Retry-After` that is honoured; a response asking for more is returned as it is.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Decides which failed attempts of a request are tried again, and when; see the
/// [module docs](super) for the rules.
///
/// Configure it with the builder methods, then give it to [`RetryLayer::new`](super::RetryLayer::new).
/// It also implements [`tower::retry::Policy`] for `http::Request<B>` / `http::Response<R>` with
/// Courier's [`Error`], for use with tower's own `Retry`.
///
/// Each request works on its own clone of the policy (tower's `Retry` clones it per request), so the
/// retry count is per request, while the [`RetryBudget`] is shared by all clones.
///
/// ```
/// use std::time::Duration;
/// use courier_core::retry::{RetryBudget, RetryPolicy};
///
/// let policy = RetryPolicy::default()
///     .max_retries(5)
///     .backoff(Duration::from_millis(50), Duration::from_secs(2))
///     .max_retry_after(Duration::from_secs(10))
///     .retry_timeouts(true)
///     .budget(RetryBudget::new(Duration::from_secs(10), 1, 0.1));
/// # drop(policy);
/// ```
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    retry_timeouts: bool,
    retry_non_idempotent: bool,
    budget: Option<RetryBudget>,
    /// No retry starts later than this after the first attempt began.
    max_elapsed: Option<Duration>,
    /// When the first attempt of the request this clone belongs to began (with `max_elapsed`).
    first_attempt: Option<tokio::time::Instant>,
    /// Set by reqwest-style builders ([`for_host`](super::for_host)): which requests the policy
    /// applies to, and what to retry, instead of the built-in rules.
    scoped: Option<Scoped>,
    /// Retries made so far for the request this clone belongs to.
    retries: u32,
    /// The statuses retried; `None`: 429 and 503.
    statuses: Option<Arc<[StatusCode]>>,
}

/// Why an attempt is retried, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    /// The request never left, or the server said it did not process it: safe whatever the method.
    Unprocessed,
    /// The connection was closed or reset before any response came.
    Reset,
    /// A deadline passed (only with `retry_timeouts`).
    Timeout,
    /// A status retried (429 or 503 by default).
    Status(StatusCode),
    /// A reqwest-style classifier said so.
    Classified,
}

impl RetryPolicy {
    /// The defaults: up to [`DEFAULT_MAX_RETRIES`] retries of idempotent requests, full-jitter
    /// backoff from [`DEFAULT_BASE_DELAY`] up to [`DEFAULT_MAX_DELAY`], `Retry-After` honoured up to
    /// [`DEFAULT_MAX_RETRY_AFTER`], timeouts not retried, and a [`RetryBudget::default`] (20% of
    /// recent requests plus 10 per second).
    pub fn new() -> RetryPolicy {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            retry_timeouts: false,
            retry_non_idempotent: false,
            budget: Some(RetryBudget::default()),
            max_elapsed: None,
            first_attempt: None,
            scoped: None,
            retries: 0,
            statuses: None,
        }
    }

    /// A policy that never retries: the layer passes every request through without cloning it.
    pub fn disabled() -> RetryPolicy {
        RetryPolicy::new().max_retries(0).no_budget()
    }

    /// At most `max` retries per request, after the first attempt (so `1 + max` attempts). 0 disables
    /// retrying.
    pub fn max_retries(mut self, max: u32) -> RetryPolicy {
        self.max_retries = max;
        self
    }

    /// Backoff between attempts: retry `n` (from 0) waits a random time in
    /// `[0, min(max, base * 2^n)]`.
    pub fn backoff(mut self, base: Duration, max: Duration) -> RetryPolicy {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// The longest `Retry-After` to wait for. A 429 or 503 asking for longer is returned to the caller
    /// without retrying: retrying sooner than the server asked would only earn another refusal.
    pub fn max_retry_after(mut self, max: Duration) -> RetryPolicy {
        self.max_retry_after = max;
        self
    }

    /// Also retry requests that timed out (off by default: a timeout may mean the server is working
    /// on the request, and retrying adds load). Connect timeouts are connect errors and always retried.
    pub fn retry_timeouts(mut self, enabled: bool) -> RetryPolicy {
        self.retry_timeouts = enabled;
        self
    }

    /// Also retry non-idempotent requests (`POST`, `PATCH`, `CONNECT`, extension methods) on resets,
    /// timeouts and 429/503 — only for an API where sending such a request twice is known to be safe
    /// (for example one that deduplicates on an idempotency key). Off by default.
    pub fn retry_non_idempotent(mut self, enabled: bool) -> RetryPolicy {
        self.retry_non_idempotent = enabled;
        self
    }

    /// No retry starts later than `max` after the request's first attempt began, as curl's
    /// `--retry-max-time`: a retry whose wait would end past that is not made, and the last outcome is
    /// returned. An attempt under way is not cut short (a total timeout does that). Each request has its
    /// own clock; below a redirect layer, each hop. Default: no limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use courier_core::retry::RetryPolicy;
    ///
    /// let policy = RetryPolicy::new().max_retries(10).max_elapsed(Duration::from_secs(30));
    /// # drop(policy);
    /// ```
    pub fn max_elapsed(mut self, max: Duration) -> RetryPolicy {
        self.max_elapsed = Some(max);
        self
    }

    /// The response statuses retried (default 429 and 503, the two that say "not now" without
    /// saying the request failed). curl's `--retry` also retries 408, 500, 502 and 504:
    ///
    /// ```
    /// use courier_core::retry::RetryPolicy;
    /// use http::StatusCode;
    ///
    /// let curl_like = RetryPolicy::new().retry_statuses([
    ///     StatusCode::REQUEST_TIMEOUT,
    ///     StatusCode::TOO_MANY_REQUESTS,
    ///     StatusCode::INTERNAL_SERVER_ERROR,
    ///     StatusCode::BAD_GATEWAY,
    ///     StatusCode::SERVICE_UNAVAILABLE,
    ///     StatusCode::GATEWAY_TIMEOUT,
    /// ]);
    /// # drop(curl_like);
    /// ```
    pub fn retry_statuses(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> RetryPolicy {
        self.statuses = Some(statuses.into_iter().collect());
        self
    }

    fn status_retried(&self, status: StatusCode) -> bool {
        match &self.statuses {
            Some(statuses) => statuses.contains(&status),
            None => {
                status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Limits retries with `budget`, shared by every clone of this policy.
    pub fn budget(mut self, budget: RetryBudget) -> RetryPolicy {
        self.budget = Some(budget);
        self
    }

    /// No budget: only `max_retries` limits retries.
    pub fn no_budget(mut self) -> RetryPolicy {
        self.budget = None;
        self
    }

    /// The most retries per request.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    pub(crate) fn scoped(mut self, scope: Arc<ScopeFn>, classify: Arc<ClassifyFn>) -> RetryPolicy {
        self.scoped = Some(Scoped { scope, classify });
        self
    }

    fn method_allowed(&self, method: &Method) -> bool {
        self.retry_non_idempotent || method.is_idempotent()
    }

    /// Reads the request's fate (see `transport::classify`), as the transport and the downloader do.
    fn classify_error(&self, err: &Error) -> Option<Reason> {
        match err.fate() {
            Some(Fate::NotSent | Fate::NotProcessed) => Some(Reason::Unprocessed),
            Some(Fate::Lost { .. }) => Some(Reason::Reset),
            _ if err.is_timeout() => self.retry_timeouts.then_some(Reason::Timeout),
            _ => None,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy::new()
    }
}

impl<B, ResB> tower::retry::Policy<Request<B>, Response<ResB>, Error> for RetryPolicy
where
    B: TryCloneBody,
{
    type Future = RetryDelay;

    fn retry(
        &mut self,
        req: &mut Request<B>,
        result: &mut Result<Response<ResB>, Error>,
    ) -> Option<RetryDelay> {
        if self.retries >= self.max_retries {
            return None;
        }
        if let Some(scoped) = &self.scoped {
            if !(scoped.scope)(req.method(), req.uri()) {
                return None;
            }
            let req_rep = ReqRep {
                method: req.method(),
                uri: req.uri(),
                outcome: match result {
                    Ok(res) => Ok(res.status()),
                    Err(err) => Err(err as &(dyn std::error::Error + 'static)),
                },
            };
            if (scoped.classify)(req_rep) == Action::Success {
                return None;
            }
            // The server's `Retry-After` is honoured here too, within `max_retry_after`.
            let asked = match result {
                Ok(res) => retry_after(res.headers(), SystemTime::now()),
                Err(_) => None,
            };
            if asked.is_some_and(|wait| wait > self.max_retry_after) {
                return None;
            }
            return self.next_attempt(req, Reason::Classified, asked);
        }
        let (reason, asked) = match result {
            Ok(res) => {
                let status = res.status();
                if !self.status_retried(status) {
                    return None;
                }
                let asked = retry_after(res.headers(), SystemTime::now());
                if asked.is_some_and(|wait| wait > self.max_retry_after) {
                    tracing::debug!(
                        status = status.as_u16(),
                        retry_after = ?asked,
                        "Retry-After is longer than max_retry_after; not retrying"
                    );
                    return None;
                }
                (Reason::Status(status), asked)
            }
            Err(err) => (self.classify_error(err)?, None),
        };
        // A request the server never acted on is safe to send again whatever its method.
        if reason != Reason::Unprocessed && !self.method_allowed(req.method()) {
            return None;
        }
        self.next_attempt(req, reason, asked)
    }

    fn clone_request(&mut self, req: &Request<B>) -> Option<Request<B>> {
        self.copy_for_retry(req)
    }
}

impl RetryPolicy {
    /// Spends the budget and counts the retry; the delay before it.
    fn next_attempt<B>(
        &mut self,
        req: &Request<B>,
        reason: Reason,
        asked: Option<Duration>,
    ) -> Option<RetryDelay> {
        let delay =
            asked.unwrap_or_else(|| full_jitter(self.base_delay, self.max_delay, self.retries));
        if let (Some(max), Some(first)) = (self.max_elapsed, self.first_attempt) {
            // Saturating: a `Retry-After` past any clock is `Duration::MAX`.
            if first.elapsed().saturating_add(delay) >= max {
                tracing::debug!(
                    ?reason,
                    ?max,
                    "max_elapsed would pass before the retry; not retrying"
                );
                return None;
            }
        }
        if let Some(crate::timeout::Deadline(deadline)) = req.extensions().get() {
            // The timeout layer above would end the wait: the response in hand is the better answer.
            if tokio::time::Instant::now()
                .checked_add(delay)
                .is_none_or(|at| at >= *deadline)
            {
                tracing::debug!(?reason, "the total timeout would pass before the retry");
                return None;
            }
        }
        if let Some(budget) = &self.budget {
            if !budget.withdraw() {
                tracing::debug!(?reason, "retry budget spent; not retrying");
                return None;
            }
        }
        self.retries += 1;
        tracing::debug!(
            method = %req.method(),
            ?reason,
            retry = self.retries,
            delay_ms = delay.as_millis() as u64,
            "retrying request"
        );
        Some(RetryDelay::new(delay))
    }

    fn copy_for_retry<B: TryCloneBody>(&mut self, req: &Request<B>) -> Option<Request<B>> {
        if self.max_retries == 0 {
            return None;
        }
        // A scoped policy neither counts nor copies the requests outside its scope.
        if let Some(scoped) = &self.scoped {
            if !(scoped.scope)(req.method(), req.uri()) {
                return None;
            }
        }
        // tower calls this once per request before the first attempt (on the layer's copy, whose count
        // is always 0), then before each retry: the first call is where a request is counted.
        if self.retries == 0 {
            if let Some(budget) = &self.budget {
                budget.deposit();
            }
            // The copy the request's future takes is made after this call: it starts the clock.
            if self.max_elapsed.is_some() {
                self.first_attempt = Some(tokio::time::Instant::now());
            }
        }
        // The last attempt will not be retried, so it needs no copy.
        if self.retries >= self.max_retries {
            return None;
        }
        try_clone_request(req)
    }
}

/// A reqwest-style scope and classifier (see [`for_host`](super::for_host)).
#[derive(Clone)]
struct Scoped {
    scope: Arc<ScopeFn>,
    classify: Arc<ClassifyFn>,
}

impl fmt::Debug for Scoped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scoped")
    }
}
