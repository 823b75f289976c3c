//! [`RateLimit`]: the run's total bandwidth cap
//! ([`limit_rate`](super::DownloaderBuilder::limit_rate)), shared by every job and segment.
//!
//! Each chunk written takes its bytes from the limit, which answers when the run may go on: no sooner
//! than all bytes taken so far, at the rate, would have needed. The wait comes after the chunk is on
//! disk and before the next one is read, so a limited run reads its bodies no faster than the rate,
//! and TCP slows the servers down. Chunks are paced in the order they are taken, whatever the job.
//!
//! A wake-up that comes late (tokio's timer rounds every sleep up to its next millisecond, which is
//! most of a small chunk's cost at tens of MiB/s) is made up on the following chunks, up to
//! [`CATCH_UP`]: without that the run would go at a fraction of the rate.
//!
//! What it does not do: it saves no credit while the run is idle (no burst after a pause past
//! [`CATCH_UP`]), and the first chunk of each job and segment comes before any wait, so a run receives
//! up to one chunk per body above the rate.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How far behind its schedule the run may be and still catch up (see the module docs).
const CATCH_UP: Duration = Duration::from_millis(50);

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
            let from = match *paid_until {
                // On schedule, or a little behind it (late wake-ups): the schedule goes on.
                Some(paid) if now <= paid + CATCH_UP => paid,
                // Idle for longer: no credit saved up.
                _ => now,
            };
            let until = from + cost;
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

    /// Small chunks at a high rate: each wait is rounded up to the timer's next millisecond, which the
    /// following chunks make up for; the run goes at the rate, not at one chunk per millisecond.
    #[tokio::test(start_paused = true)]
    async fn late_wake_ups_are_made_up() {
        let limit = RateLimit::new(40 << 20);
        let started = Instant::now();
        // 10 MiB in 16 KiB chunks (HTTP/2's DATA frames) at 40 MiB/s: 250 ms.
        for _ in 0..640 {
            limit.take(16 * 1024).await;
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250), "{took:?}");
        assert!(took <= Duration::from_millis(252), "{took:?}");
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
