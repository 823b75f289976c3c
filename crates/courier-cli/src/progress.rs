//! Live progress on stderr with indicatif: one bar per active file and a total with rate and ETA.
//! Nothing is drawn when stderr is not a terminal (see `plain_progress` for what is printed then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use courier::download::{Event, EventKind, JobId};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
    jobs: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    names: HashMap<JobId, String>,
    bars: HashMap<JobId, ProgressBar>,
    /// Each job's announced size and bytes on disk, to keep the total bar's sums.
    sizes: HashMap<JobId, u64>,
    done: HashMap<JobId, u64>,
    finished: usize,
    failed: usize,
}

impl Progress {
    pub(crate) fn new(jobs: usize, visible: bool) -> Arc<Progress> {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(0));
        total.set_style(style(
            "{spinner} [{elapsed_precise}] {wide_bar:.cyan/blue} {binary_bytes}/{binary_total_bytes} \
             {binary_bytes_per_sec} eta {eta} {msg}",
        ));
        total.enable_steady_tick(Duration::from_millis(120));
        let progress = Progress {
            multi,
            total,
            jobs,
            state: Mutex::new(State::default()),
        };
        progress.update_message(&State::default());
        Arc::new(progress)
    }

    pub(crate) fn handle(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let job = event.job;
        match &event.kind {
            EventKind::Queued { path, .. } => {
                state.names.insert(job, file_name(path));
            }
            EventKind::Started {
                total,
                offset,
                segments,
            } => {
                let size = total.unwrap_or(0);
                let previous = state.sizes.insert(job, size).unwrap_or(0);
                let length = self.total.length().unwrap_or(0).saturating_sub(previous);
                self.total.set_length(length.saturating_add(size));
                let bar = match state.bars.get(&job) {
                    Some(bar) => bar.clone(),
                    None => {
                        let bar = self.multi.insert_before(&self.total, ProgressBar::new(0));
                        state.bars.insert(job, bar.clone());
                        bar
                    }
                };
                let name = state.names.get(&job).cloned().unwrap_or_default();
                if total.is_some() {
                    bar.set_style(style(
                        "  {msg:32!} {bar:30} {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec}",
                    ));
                    bar.set_length(size);
                } else {
                    bar.set_style(style(
                        "  {msg:32!} {spinner} {binary_bytes:>10} {binary_bytes_per_sec}",
                    ));
                }
                bar.set_message(if *segments > 1 {
                    format!("{name} ×{segments}")
                } else {
                    name
                });
                bar.set_position(*offset);
                self.set_done(&mut state, job, *offset);
            }
            EventKind::Progress { downloaded } => {
                if let Some(bar) = state.bars.get(&job) {
                    bar.set_position(*downloaded);
                }
                self.set_done(&mut state, job, *downloaded);
            }
            EventKind::Retried { .. } => {
                let name = state.names.get(&job).map_or("", String::as_str);
                if let Some(line) = retry_line(name, &event.kind) {
                    let _ = self.multi.println(line);
                }
            }
            EventKind::Finished { .. } | EventKind::Unchanged { .. } => {
                state.finished += 1;
                if let Some(bar) = state.bars.remove(&job) {
                    bar.finish_and_clear();
                }
                self.update_message(&state);
            }
            EventKind::Failed { .. } => {
                // Listed after the summary; a live line here would repeat it.
                state.failed += 1;
                if let Some(bar) = state.bars.remove(&job) {
                    bar.finish_and_clear();
                }
                self.update_message(&state);
            }
            _ => {}
        }
    }

    /// Records a job's bytes on disk and moves the total by the difference.
    fn set_done(&self, state: &mut State, job: JobId, bytes: u64) {
        let previous = state.done.insert(job, bytes).unwrap_or(0);
        let position = self.total.position().saturating_add(bytes);
        self.total.set_position(position.saturating_sub(previous));
    }

    fn update_message(&self, state: &State) {
        let mut message = format!("{}/{} files", state.finished, self.jobs);
        if state.failed > 0 {
            message.push_str(&format!(", {} failed", state.failed));
        }
        self.total.set_message(message);
    }

    /// Prints a line above the bars (or plainly, when no bars are drawn).
    pub(crate) fn note(&self, line: &str) {
        if self.multi.is_hidden() {
            errln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }

    /// Clears the bars, before the summary is printed.
    pub(crate) fn finish(&self) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for bar in state.bars.values() {
            bar.finish_and_clear();
        }
        self.total.finish_and_clear();
    }
}

/// The name a file is shown under: its last path component.
pub(crate) fn file_name(path: &std::path::Path) -> String {
    let name = path.file_name().unwrap_or(path.as_os_str());
    name.to_string_lossy().into_owned()
}

/// The line announcing a retry, for an [`EventKind::Retried`].
pub(crate) fn retry_line(name: &str, kind: &EventKind) -> Option<String> {
    match kind {
        EventKind::Retried {
            attempt,
            error,
            delay,
        } => Some(format!(
            "{name}: retry {attempt} in {} ms: {error}",
            delay.as_millis()
        )),
        _ => None,
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("progress templates are valid")
        .progress_chars("=> ")
}
