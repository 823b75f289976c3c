//! [`Summary`]: the outcome of a run.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{DownloadError, JobId};

/// The outcome of [`Downloader::run`](super::Downloader::run).
///
/// `Display` gives one line for a log or a terminal:
///
/// ```
/// use std::time::Duration;
/// use courier::download::Summary;
///
/// let summary = Summary::default();
/// assert!(summary.is_success());
/// assert_eq!(summary.to_string(), "0 files, 0 B in 0.00 s (0 B/s), 0 failed");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Files downloaded, verified and put in place.
    pub files: usize,
    /// Files already in place that the server said were unchanged (with
    /// [`update`](super::DownloaderBuilder::update)).
    pub unchanged: usize,
    /// Body bytes received during the run (resumed bytes already on disk are not counted).
    pub bytes: u64,
    /// The jobs that failed, in the order they failed.
    pub failures: Vec<Failure>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The most body bytes the run held in memory at once, across all jobs: chunks received from the
    /// network and not yet handed to the file. It stays near `jobs × chunk size` whatever the file
    /// sizes, since bodies stream to disk chunk by chunk.
    pub max_buffered: usize,
}

/// A job that failed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// The job.
    pub job: JobId,
    /// Its URL.
    pub url: Url,
    /// Its destination (never created; bytes received are in `<path>.part`).
    pub path: PathBuf,
    /// Why it failed.
    pub error: DownloadError,
}

impl Summary {
    /// Bytes received per second of wall time.
    pub fn throughput(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.bytes as f64 / seconds
        } else {
            0.0
        }
    }

    /// True when no job failed.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} file{}{}, {} in {:.2} s ({}/s), {} failed",
            self.files,
            if self.files == 1 { "" } else { "s" },
            if self.unchanged > 0 {
                format!(", {} unchanged", self.unchanged)
            } else {
                String::new()
            },
            HumanBytes(self.bytes),
            self.elapsed.as_secs_f64(),
            HumanBytes(self.throughput() as u64),
            self.failures.len()
        )
    }
}

/// A byte count in B, KiB, MiB or GiB.
pub(super) struct HumanBytes(pub(super) u64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes() {
        assert_eq!(HumanBytes(0).to_string(), "0 B");
        assert_eq!(HumanBytes(1023).to_string(), "1023 B");
        assert_eq!(HumanBytes(1536).to_string(), "1.5 KiB");
        assert_eq!(HumanBytes(5 * 1024 * 1024).to_string(), "5.0 MiB");
    }

    #[test]
    fn summary_line() {
        let summary = Summary {
            files: 3,
            bytes: 3 * 1024 * 1024,
            elapsed: Duration::from_secs(2),
            ..Summary::default()
        };
        assert_eq!(
            summary.to_string(),
            "3 files, 3.0 MiB in 2.00 s (1.5 MiB/s), 0 failed"
        );
    }
}
