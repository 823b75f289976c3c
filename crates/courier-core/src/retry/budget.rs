//! [`RetryBudget`]: caps retries at a share of recent requests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower::retry::budget::{Budget, TpsBudget};

/// A budget shared by every clone of a [`RetryPolicy`](super::RetryPolicy): each request deposits into
/// it, each retry withdraws, and a retry the budget cannot pay for is not made.
///
/// A thin wrapper over tower's [`TpsBudget`] that never panics: out-of-range arguments are clamped.
/// It bounds the *extra* load retries put on a struggling server ("retry storms"), where
/// `max_retries` alone would let every request multiply by `1 + max_retries`.
///
/// ```
/// use std::time::Duration;
/// use courier_core::retry::{RetryBudget, RetryPolicy};
///
/// // Over the last 10 s, retries may add 20% to the requests made, plus 5 retries per second.
/// let budget = RetryBudget::new(Duration::from_secs(10), 5, 0.2);
/// let policy = RetryPolicy::default().budget(budget);
/// # drop(policy);
/// ```
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<TpsBudget>,
    ttl: Duration,
    min_per_sec: u32,
    retry_ratio: f32,
}

impl RetryBudget {
    /// A budget where, over a sliding window of `ttl`, retries may add `retry_ratio` times the number of
    /// requests made (0.2: one retry per five requests), plus `min_per_sec` retries per second so a
    /// client that sends few requests can still retry.
    ///
    /// `ttl` is clamped to 1–60 s, `retry_ratio` to 0–1000 (NaN reads as 0), `min_per_sec` to
    /// `i32::MAX - 1`. A ratio of 0 with `min_per_sec` 0 allows no retries at all.
    pub fn new(ttl: Duration, min_per_sec: u32, retry_ratio: f32) -> RetryBudget {
        let ttl = ttl.clamp(Duration::from_secs(1), Duration::from_secs(60));
        let retry_ratio = if retry_ratio.is_nan() {
            0.0
        } else {
            retry_ratio.clamp(0.0, 1000.0)
        };
        let min_per_sec = min_per_sec.min(i32::MAX as u32 - 1);
        RetryBudget {
            inner: Arc::new(TpsBudget::new(ttl, min_per_sec, retry_ratio)),
            ttl,
            min_per_sec,
            retry_ratio,
        }
    }

    /// Records a request (called once per request, before its first attempt).
    pub(crate) fn deposit(&self) {
        self.inner.deposit();
    }

    /// Pays for one retry; false when the budget is spent.
    pub(crate) fn withdraw(&self) -> bool {
        self.inner.withdraw()
    }
}

impl Default for RetryBudget {
    /// 20% of the requests of the last 10 seconds, plus 10 retries per second.
    fn default() -> RetryBudget {
        RetryBudget::new(Duration::from_secs(10), 10, 0.2)
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ttl", &self.ttl)
            .field("min_per_sec", &self.min_per_sec)
            .field("retry_ratio", &self.retry_ratio)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_arguments_do_not_panic() {
        for (ttl, min, ratio) in [
            (Duration::ZERO, 0, 0.0),
            (Duration::MAX, u32::MAX, f32::MAX),
            (Duration::from_secs(5), 1, f32::NAN),
            (Duration::from_secs(5), 1, -3.0),
            (Duration::from_secs(5), 1, f32::MIN_POSITIVE),
        ] {
            let budget = RetryBudget::new(ttl, min, ratio);
            budget.deposit();
            let _ = budget.withdraw();
        }
    }

    #[test]
    fn ratio_one_allows_one_retry_per_request() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 1.0);
        assert!(!budget.withdraw());
        budget.deposit();
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
    }

    #[test]
    fn empty_budget_allows_nothing() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.0);
        for _ in 0..100 {
            budget.deposit();
        }
        assert!(!budget.withdraw());
    }

    #[test]
    fn clones_share_the_balance() {
        let budget = RetryBudget::new(Duration::from_secs(10), 0, 1.0);
        let clone = budget.clone();
        budget.deposit();
        assert!(clone.withdraw());
        assert!(!budget.withdraw());
    }
}
