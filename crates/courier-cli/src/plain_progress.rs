//! Progress as plain lines on stderr, for when it is not a terminal (a log file, a CI job): a line per
//! file as it finishes (name, size, time and rate), a line per retry, and, every [`TICK`], a line for
//! the run (files done, bytes received, the rate over the last tick). No escape codes, no carriage
//! returns: every line is whole. Failures are listed after the summary, not here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use courier::download::{Event, EventKind, JobId};
use indicatif::BinaryBytes;

/// How often the run's line is printed.
pub(crate) const TICK: Duration = Duration::from_secs(1);

pub(crate) struct PlainProgress {
    jobs: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    names: HashMap<JobId, String>,
    /// When each job first started, and the bytes it had on disk then (resumed ones).
    started: HashMap<JobId, (Instant, u64)>,
    /// Each job's bytes on disk, as last reported.
    on_disk: HashMap<JobId, u64>,
    /// Bytes received in the run, and at the last tick.
    received: u64,
    received_at_tick: u64,
    last_tick: Option<Instant>,
    done: usize,
}

impl PlainProgress {
    pub(crate) fn new(jobs: usize) -> Arc<PlainProgress> {
        Arc::new(PlainProgress {
            jobs,
            state: Mutex::new(State {
                last_tick: Some(Instant::now()),
                ..State::default()
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn handle(&self, event: &Event) {
        let mut state = self.state();
        let job = event.job;
        match &event.kind {
            EventKind::Queued { path, .. } => {
                state.names.insert(job, crate::progress::file_name(path));
            }
            EventKind::Started { offset, .. } => {
                state
                    .started
                    .entry(job)
                    .or_insert((Instant::now(), *offset));
                state.on_disk.insert(job, *offset);
            }
            EventKind::Progress { downloaded } => {
                // A restarted attempt counts down to its offset: only growth is bytes received.
                let before = state.on_disk.insert(job, *downloaded).unwrap_or(0);
                state.received += downloaded.saturating_sub(before);
            }
            EventKind::Retried { .. } => {
                let name = state.names.get(&job).map_or("", String::as_str);
                if let Some(line) = crate::progress::retry_line(name, &event.kind) {
                    errln!("{line}");
                }
            }
            EventKind::Finished { bytes } => {
                state.done += 1;
                let name = state.names.get(&job).cloned().unwrap_or_default();
                let (since, offset) = state
                    .started
                    .get(&job)
                    .copied()
                    .unwrap_or((Instant::now(), 0));
                let secs = since.elapsed().as_secs_f64();
                let rate = bytes.saturating_sub(offset) as f64 / secs.max(1e-3);
                errln!(
                    "finished: {name}, {} in {secs:.2} s ({}/s)",
                    BinaryBytes(*bytes),
                    BinaryBytes(rate as u64)
                );
            }
            EventKind::Unchanged { .. } => {
                state.done += 1;
                let name = state.names.get(&job).cloned().unwrap_or_default();
                errln!("unchanged: {name}");
            }
            EventKind::Failed { .. } => state.done += 1,
            _ => {}
        }
    }

    /// Prints the run's line: files done, bytes received, and the rate since the last tick.
    pub(crate) fn tick(&self) {
        let mut state = self.state();
        let now = Instant::now();
        let since = state.last_tick.replace(now).unwrap_or(now);
        let recent = state.received - state.received_at_tick;
        state.received_at_tick = state.received;
        let rate = recent as f64 / now.duration_since(since).as_secs_f64().max(1e-3);
        errln!(
            "progress: {}/{} files done, {} received, {}/s",
            state.done,
            self.jobs,
            BinaryBytes(state.received),
            BinaryBytes(rate as u64)
        );
    }
}
