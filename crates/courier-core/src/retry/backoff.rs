//! Exponential backoff with full jitter, and the small non-cryptographic randomness it needs.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The wait before retry number `retry` (0 for the first retry): uniformly random in
/// `[0, min(max, base * 2^retry)]` ("full jitter"), so clients that failed together do not retry
/// together.
pub(crate) fn full_jitter(base: Duration, max: Duration, retry: u32) -> Duration {
    let ceiling = exponential(base, max, retry);
    let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    match ceiling_nanos.checked_add(1) {
        Some(range) => Duration::from_nanos(random_u64() % range),
        None => Duration::from_nanos(random_u64()),
    }
}

/// `min(max, base * 2^retry)`, without overflow.
pub(crate) fn exponential(base: Duration, max: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// 64 random-looking bits: SipHash, keyed by a fresh `RandomState` (std seeds those from the OS once
/// per thread, then varies them per instance), of a process-wide counter. Good enough to spread
/// retries; not for secrets.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let base = 100 * MS;
        let max = 1000 * MS;
        assert_eq!(exponential(base, max, 0), 100 * MS);
        assert_eq!(exponential(base, max, 1), 200 * MS);
        assert_eq!(exponential(base, max, 3), 800 * MS);
        assert_eq!(exponential(base, max, 4), max);
        assert_eq!(exponential(base, max, 200), max);
        assert_eq!(exponential(Duration::MAX, Duration::MAX, 5), Duration::MAX);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let delay = full_jitter(100 * MS, 1000 * MS, 2);
            assert!(delay <= 400 * MS, "{delay:?}");
            seen.insert(delay);
        }
        // 1000 draws from 400 million values: all but certainly distinct.
        assert!(seen.len() > 990, "{}", seen.len());
        assert_eq!(full_jitter(Duration::ZERO, 1000 * MS, 5), Duration::ZERO);
        assert!(full_jitter(Duration::MAX, Duration::MAX, 1) <= Duration::MAX);
    }

    #[test]
    fn random_bits_are_spread() {
        let draws: Vec<u64> = (0..64).map(|_| random_u64()).collect();
        let ones: u32 = draws.iter().map(|d| d.count_ones()).sum();
        // 4096 fair bits: 2048 expected, and ±300 is more than 9 standard deviations.
        assert!((1748..=2348).contains(&ones), "{ones}");
    }
}
