//! [`CancelHandle`]: stops a [`Downloader`](super::Downloader) from another task.

use std::sync::Arc;

use tokio::sync::watch;

/// Cancels every run of the [`Downloader`](super::Downloader) it came from, now and later: jobs in
/// flight stop at once and keep their `.part` files for resuming, queued jobs do not start, and each
/// fails with an error for which [`is_cancelled`](super::DownloadError::is_cancelled) is true.
///
/// ```
/// # async fn run(client: courier::Client) {
/// let downloader = courier::download::Downloader::new(client);
/// let cancel = downloader.cancel_handle();
/// // Give up after a minute (a Ctrl-C handler would do the same).
/// tokio::spawn(async move {
///     tokio::time::sleep(std::time::Duration::from_secs(60)).await;
///     cancel.cancel();
/// });
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CancelHandle {
    sender: Arc<watch::Sender<bool>>,
}

impl CancelHandle {
    pub(super) fn new() -> CancelHandle {
        CancelHandle {
            sender: Arc::new(watch::channel(false).0),
        }
    }

    /// Cancels. Idempotent.
    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    /// True once [`cancel`](CancelHandle::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes when cancelled.
    pub(super) async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        // Fails only if the sender is gone, and `self` holds it.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}
