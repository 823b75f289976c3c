//! [`TimeoutLayer`].

use std::time::Duration;

use tower_layer::Layer;

use super::{Deadlines, MinSpeed, Timeout};

/// A [`Layer`] that puts requests under a total timeout, a read timeout and a minimum transfer
/// speed: each optional, each usable alone (see the [module docs](super)).
///
/// ```
/// use std::time::Duration;
/// use courier_core::timeout::TimeoutLayer;
///
/// // A total timeout alone, as tower-http's `TimeoutLayer::new`:
/// let total = TimeoutLayer::new(Duration::from_secs(30));
/// // A read timeout alone:
/// let read = TimeoutLayer::default().read_timeout(Duration::from_secs(5));
/// // A minimum speed alone (curl's `--speed-limit 1024 --speed-time 10`):
/// let speed = TimeoutLayer::default().min_speed(1024, Duration::from_secs(10));
/// # drop((total, read, speed));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct TimeoutLayer {
    config: Config,
}

/// What a [`TimeoutLayer`] and its [`Timeout`] services enforce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Config {
    pub(super) total: Option<Duration>,
    pub(super) read: Option<Duration>,
    pub(super) min_speed: Option<MinSpeed>,
}

impl Config {
    /// The deadlines of a request sent now, with `total` (the request's own) instead of the layer's.
    pub(super) fn deadlines(&self, total: Option<Duration>) -> Deadlines {
        Deadlines {
            total: total
                .or(self.total)
                .map(|t| super::after(tokio::time::Instant::now(), t)),
            read: self.read,
            min_speed: self.min_speed,
        }
    }
}

impl TimeoutLayer {
    /// A total timeout: from the call until the response body has been read.
    pub fn new(total: Duration) -> TimeoutLayer {
        TimeoutLayer::default().total_timeout(total)
    }

    /// The total timeout: from the call until the response body has been read. A request carrying a
    /// [`TotalTimeout`](super::TotalTimeout) extension gets that one instead.
    pub fn total_timeout(mut self, total: Duration) -> TimeoutLayer {
        self.config.total = Some(total);
        self
    }

    /// The read timeout: the longest wait for the response head (counted from when a streaming
    /// request body has been sent; see [`WatchUpload`](super::WatchUpload)), and then between two
    /// chunks of the body.
    pub fn read_timeout(mut self, read: Duration) -> TimeoutLayer {
        self.config.read = Some(read);
        self
    }

    /// Ends a response body with a timeout error when fewer than `bytes_per_sec * window` bytes
    /// arrived in any `window` (curl's `--speed-limit` and `--speed-time`). A limit under one byte per
    /// window (a zero rate or window) checks nothing, and sets no timer.
    pub fn min_speed(mut self, bytes_per_sec: u64, window: Duration) -> TimeoutLayer {
        let min_speed = MinSpeed {
            bytes_per_sec,
            window,
        };
        // A zero minimum would pass every check and re-arm its timer at once, forever.
        self.config.min_speed = (min_speed.minimum_bytes() > 0).then_some(min_speed);
        self
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout::from_config(inner, self.config)
    }
}
