//! [`Schedule`]: which job of a run starts next, so that a run holds a task only for a job that can
//! make progress now, however many jobs it was given.
//!
//! A job is ready when its host is below the per-host limit and the run below its concurrency. Ready
//! jobs start in the order they were given, except that a retry whose delay has passed starts before
//! any job not yet tried: it has waited once already, and its `.part` is on disk. A busy host never
//! holds up another host's jobs.
//!
//! What it does not do: run anything, wait, or hold the limits shared with clones of the
//! [`Downloader`](super::Downloader) (the semaphores the attempts take); it only decides the order,
//! from the counts it is told.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Where a host's next job ranks: retries (0) before fresh jobs (1), then in order of arrival.
type Rank = (u8, u64);

/// The jobs of one run not running now, by host, and the counts of those running.
pub(super) struct Schedule<T> {
    concurrency: usize,
    per_host: usize,
    running: usize,
    hosts: HashMap<Arc<str>, Host<T>>,
    /// Hosts below their limit with a job ready, by their next job's rank.
    ready: BTreeSet<(Rank, Arc<str>)>,
    /// Retries waiting for their delay to pass, by when it does.
    delayed: BTreeMap<(Instant, u64), (Arc<str>, T)>,
    next: u64,
}

struct Host<T> {
    running: usize,
    retries: VecDeque<(u64, T)>,
    fresh: VecDeque<(u64, T)>,
    /// This host's entry in `ready`, if it has one.
    listed: Option<Rank>,
}

impl<T> Schedule<T> {
    /// At most `concurrency` jobs at once, and `per_host` to one host (`None`: no such limit).
    pub(super) fn new(concurrency: usize, per_host: Option<usize>) -> Schedule<T> {
        Schedule {
            concurrency: concurrency.max(1),
            per_host: per_host.unwrap_or(usize::MAX).max(1),
            running: 0,
            hosts: HashMap::new(),
            ready: BTreeSet::new(),
            delayed: BTreeMap::new(),
            next: 0,
        }
    }

    /// Adds a job not tried yet, after those added before it.
    pub(super) fn push(&mut self, host: Arc<str>, job: T) {
        let seq = self.seq();
        self.host(&host).fresh.push_back((seq, job));
        self.relist(&host);
    }

    /// Adds a job to try again once `at` has passed.
    pub(super) fn retry_at(&mut self, host: Arc<str>, at: Instant, job: T) {
        let seq = self.seq();
        self.delayed.insert((at, seq), (host, job));
    }

    /// When the next delayed retry is due, if one is waiting.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.delayed.keys().next().map(|&(at, _)| at)
    }

    /// Makes the retries due by `now` ready, in the order they became due.
    pub(super) fn wake(&mut self, now: Instant) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), (host, job)) = entry.remove_entry();
            self.host(&host).retries.push_back((seq, job));
            self.relist(&host);
        }
    }

    /// Takes the next job to start, counting it as running, or `None` if none may start now.
    pub(super) fn start(&mut self) -> Option<(Arc<str>, T)> {
        if self.running >= self.concurrency {
            return None;
        }
        let (_, host) = self.ready.pop_first()?;
        let entry = self.hosts.get_mut(&host)?;
        entry.listed = None;
        let (_, job) = match entry.retries.pop_front() {
            Some(retry) => retry,
            None => entry.fresh.pop_front()?,
        };
        entry.running += 1;
        self.running += 1;
        self.relist(&host);
        Some((host, job))
    }

    /// A job of `host` that [`start`](Self::start) handed out has stopped running.
    pub(super) fn stopped(&mut self, host: &Arc<str>) {
        self.running = self.running.saturating_sub(1);
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.running = entry.running.saturating_sub(1);
        }
        self.relist(host);
    }

    /// Takes every job not running (ready or delayed), for a run being cancelled.
    pub(super) fn drain(&mut self) -> Vec<T> {
        self.ready.clear();
        let mut jobs: Vec<(u64, T)> = Vec::new();
        for host in self.hosts.values_mut() {
            host.listed = None;
            jobs.extend(host.retries.drain(..));
            jobs.extend(host.fresh.drain(..));
        }
        self.hosts.retain(|_, host| host.running > 0);
        jobs.extend(
            std::mem::take(&mut self.delayed)
                .into_iter()
                .map(|((_, seq), (_, job))| (seq, job)),
        );
        jobs.sort_by_key(|&(seq, _)| seq);
        jobs.into_iter().map(|(_, job)| job).collect()
    }

    fn seq(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn host(&mut self, host: &Arc<str>) -> &mut Host<T> {
        self.hosts.entry(host.clone()).or_insert_with(|| Host {
            running: 0,
            retries: VecDeque::new(),
            fresh: VecDeque::new(),
            listed: None,
        })
    }

    /// Puts `host` in `ready` at its next job's rank if it may start one, else takes it out; forgets
    /// a host with nothing left, so a long run's map holds only hosts with work.
    fn relist(&mut self, host: &Arc<str>) {
        let Some(entry) = self.hosts.get_mut(host) else {
            return;
        };
        let rank = if entry.running < self.per_host {
            match (entry.retries.front(), entry.fresh.front()) {
                (Some(&(seq, _)), _) => Some((0, seq)),
                (None, Some(&(seq, _))) => Some((1, seq)),
                (None, None) => None,
            }
        } else {
            None
        };
        if entry.listed != rank {
            if let Some(old) = entry.listed.take() {
                self.ready.remove(&(old, host.clone()));
            }
            if let Some(rank) = rank {
                self.ready.insert((rank, host.clone()));
            }
            entry.listed = rank;
        }
        if entry.running == 0 && entry.retries.is_empty() && entry.fresh.is_empty() {
            self.hosts.remove(host);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn host(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    fn start_all<T>(schedule: &mut Schedule<T>) -> Vec<T> {
        std::iter::from_fn(|| schedule.start().map(|(_, job)| job)).collect()
    }

    #[test]
    fn jobs_start_in_order_up_to_the_concurrency() {
        let mut schedule = Schedule::new(2, None);
        for job in 0..5 {
            schedule.push(host(if job % 2 == 0 { "a" } else { "b" }), job);
        }
        assert_eq!(start_all(&mut schedule), vec![0, 1]);
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule), vec![2]);
        schedule.stopped(&host("b"));
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule), vec![3, 4]);
        assert!(schedule.start().is_none());
    }

    #[test]
    fn a_busy_host_does_not_hold_up_another() {
        let mut schedule = Schedule::new(3, Some(1));
        for (job, name) in ["a", "a", "a", "b", "a", "c"].into_iter().enumerate() {
            schedule.push(host(name), job);
        }
        assert_eq!(start_all(&mut schedule), vec![0, 3, 5]);
        schedule.stopped(&host("b"));
        assert!(
            schedule.start().is_none(),
            "only host a has jobs, and it is busy"
        );
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule), vec![1]);
    }

    #[test]
    fn due_retries_start_before_fresh_jobs_and_late_ones_wait() {
        let mut schedule = Schedule::new(1, None);
        schedule.push(host("a"), 1);
        schedule.push(host("a"), 2);
        assert_eq!(start_all(&mut schedule), vec![1]);
        schedule.stopped(&host("a"));
        let now = Instant::now();
        schedule.retry_at(host("a"), now + Duration::from_secs(1), 10);
        schedule.retry_at(host("b"), now + Duration::from_secs(2), 20);
        assert_eq!(schedule.next_due(), Some(now + Duration::from_secs(1)));

        schedule.wake(now + Duration::from_secs(1));
        assert_eq!(schedule.next_due(), Some(now + Duration::from_secs(2)));
        assert_eq!(start_all(&mut schedule), vec![10]);
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule), vec![2]);
        schedule.stopped(&host("a"));
        assert!(schedule.start().is_none(), "the retry of b is not due");
        schedule.wake(now + Duration::from_secs(3));
        assert_eq!(start_all(&mut schedule), vec![20]);
    }

    #[test]
    fn drain_takes_ready_and_delayed_jobs_in_the_order_they_came() {
        let mut schedule = Schedule::new(1, Some(1));
        schedule.push(host("a"), 1);
        schedule.push(host("b"), 2);
        assert_eq!(start_all(&mut schedule), vec![1]);
        schedule.retry_at(host("c"), Instant::now(), 3);
        schedule.push(host("a"), 4);

        assert_eq!(schedule.drain(), vec![2, 3, 4]);
        assert!(schedule.next_due().is_none());
        schedule.stopped(&host("a"));
        assert!(schedule.start().is_none());
        assert!(schedule.hosts.is_empty());
    }
}
