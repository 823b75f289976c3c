//! [`Event`]: what a UI needs to render a download's progress, and where events are delivered.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use url::Url;

use super::{DownloadError, JobId};

/// Something that happened to one job of a run.
#[derive(Clone, Debug)]
pub struct Event {
    /// The job it happened to.
    pub job: JobId,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a job. A job goes `Queued`, then `Started` (again after each retry that had to
/// reconnect), `Progress` many times, possibly `Retried`, and ends with exactly one `Finished`,
/// `Unchanged` or `Failed`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// The job was accepted by the run; it waits for a free slot.
    Queued {
        /// The URL to fetch.
        url: Url,
        /// The destination.
        path: PathBuf,
    },
    /// The server answered and the body is streaming to disk.
    Started {
        /// The whole file's size, when the server announced it.
        total: Option<u64>,
        /// The bytes already on disk from an earlier attempt or run (0 for a fresh start).
        offset: u64,
        /// How many ranges are fetched in parallel (1 without segmentation).
        segments: usize,
    },
    /// More of the body is on disk.
    Progress {
        /// The bytes of the file on disk so far, counting those resumed from.
        downloaded: u64,
    },
    /// An attempt failed and will be retried after `delay`.
    Retried {
        /// Which retry this is: 1 for the first.
        attempt: u32,
        /// Why the attempt failed.
        error: DownloadError,
        /// How long the job waits before retrying (from `Retry-After`, or backoff with jitter).
        delay: Duration,
    },
    /// The file is complete, verified, and in place.
    Finished {
        /// Its size.
        bytes: u64,
    },
    /// With [`update`](super::DownloaderBuilder::update): the file in place is current (the server
    /// answered `304 Not Modified`) and was left untouched.
    Unchanged {
        /// Its size.
        bytes: u64,
    },
    /// The job failed for good. The final path was not created; bytes received stay in `.part`.
    Failed {
        /// Why.
        error: DownloadError,
    },
}

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

/// Where events go: any number of callbacks and channels.
#[derive(Clone, Default)]
pub(super) struct EventSink {
    callbacks: Vec<Callback>,
    channels: Vec<mpsc::Sender<Event>>,
}

impl EventSink {
    pub(super) fn add_callback(&mut self, callback: Callback) {
        self.callbacks.push(callback);
    }

    pub(super) fn add_channel(&mut self, sender: mpsc::Sender<Event>) {
        self.channels.push(sender);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.callbacks.is_empty() && self.channels.is_empty()
    }

    /// Delivers an event. `Progress` is dropped for a full channel (the next one carries the newer
    /// count) so a slow reader never stalls downloads; other events wait for room, so none is lost.
    /// A closed channel is ignored.
    pub(super) async fn emit(&self, job: JobId, kind: EventKind) {
        if self.is_empty() {
            return;
        }
        let event = Event { job, kind };
        for callback in &self.callbacks {
            callback(&event);
        }
        for channel in &self.channels {
            if matches!(event.kind, EventKind::Progress { .. }) {
                let _ = channel.try_send(event.clone());
            } else {
                let _ = channel.send(event.clone()).await;
            }
        }
    }
}
