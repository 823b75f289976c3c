//! [`RateLimit`]: the run's total bandwidth cap
//! ([`limit_rate`](super::DownloaderBuilder::limit_rate)), shared by every job and segment.
//!
//! Each chunk written takes its bytes from the limit, which answers when the run may go on: no sooner
//! than all bytes taken so far, at the rate, would have needed. The wait comes after the chunk is on
//! disk and before the next one is read, so a limited run reads its bodies no faster than the rate,
//! and TCP slows the servers down. Chunks are paced in the order they are taken, whatever the job.
//!
//! What it does not do: it saves no credit while the run is idle (no burst after a pause), and the
//! first chunk of each job and segment comes before any wait, so a run receives up to one chunk per
//! body above the rate.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A bandwidth cap, in bytes per second.
#[derive(Debug)]
pub(super) struct RateLimit {
    bytes_per_second: u64,
    /// When the bytes taken so far are paid for: the earliest time the run may go on.
    paid_until: Mutex<Option<Instant>>,
}

impl RateLimit {
    pub(super) fn new(bytes_per_second: u64) -> RateLimit {
        RateLimit {
            bytes_per_second: bytes_per_second.max(1),
            paid_until: Mutex::new(None),
        }
    }

    /// Takes `bytes` from the limit and waits until they are paid for.
    pub(super) async fn take(&self, bytes: u64) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let until = {
            let mut paid_until = self.paid_until.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let until = paid_until.map_or(now, |paid| paid.max(now)) + cost;
            *paid_until = Some(until);
            until
        };
        tokio::time::sleep_until(until).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_takers_share_the_rate() {
        let limit = std::sync::Arc::new(RateLimit::new(512 * 1024));
        let started = Instant::now();
        // Four bodies of 256 KiB in 16 KiB chunks, at once: 1 MiB at 512 KiB/s.
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    for _ in 0..16 {
                        limit.take(16 * 1024).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_saved_up() {
        let limit = RateLimit::new(1000);
        limit.take(500).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let resumed = Instant::now();
        limit.take(1000).await;
        assert_eq!(resumed.elapsed(), Duration::from_secs(1));
    }
}
