//! [`Schedule`]: which job of a run starts next, so that a run holds a task only for a job that is
//! running, however many jobs it was given.
//!
//! Jobs start in the order they were given, except that a retry whose delay has passed starts before
//! any job not yet tried: it has waited once already, and its `.part` is on disk. A host the run
//! cannot start a job on now (no connection slot free: its own jobs, another run's, or a segmented
//! job's extra workers hold them) is [`block`](Schedule::block)ed until told otherwise, so it never
//! holds up another host's jobs.
//!
//! What it does not do: run anything, wait, or hold the limits (the semaphores shared with clones of
//! the [`Downloader`](super::Downloader), which the run loop takes); it only keeps the order and
//! bounds how many jobs are running at once.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use tokio::time::Instant;

/// Where a host's next job ranks: retries (0) before fresh jobs (1), then in order of arrival.
type Rank = (u8, u64);

/// The jobs of one run not running now, by host, and the counts of those running.
pub(super) struct Schedule<T> {
    most_running: usize,
    running: usize,
    hosts: HashMap<Arc<str>, Host<T>>,
    /// Hosts not blocked with a job waiting, by their next job's rank.
    ready: BTreeSet<(Rank, Arc<str>)>,
    /// Retries waiting for their delay to pass, by when it does.
    delayed: BTreeMap<(Instant, u64), (Arc<str>, T)>,
    next: u64,
}

struct Host<T> {
    running: usize,
    blocked: bool,
    retries: VecDeque<(u64, T)>,
    fresh: VecDeque<(u64, T)>,
    /// This host's entry in `ready`, if it has one.
    listed: Option<Rank>,
}

impl<T> Schedule<T> {
    /// At most `most_running` jobs running at once.
    pub(super) fn new(most_running: usize) -> Schedule<T> {
        Schedule {
            most_running: most_running.max(1),
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
            let (_, (host, job)) = entry.remove_entry();
            // Ranked by when it became due, among the other retries.
            let seq = self.seq();
            self.host(&host).retries.push_back((seq, job));
            self.relist(&host);
        }
    }

    /// The host whose job would start next, or `None` if none may start now.
    pub(super) fn peek(&self) -> Option<Arc<str>> {
        if self.running >= self.most_running {
            return None;
        }
        self.ready.first().map(|(_, host)| host.clone())
    }

    /// Takes the next job of `host` (as [`peek`](Self::peek) named it), counting it as running.
    pub(super) fn start(&mut self, host: &Arc<str>) -> Option<T> {
        let entry = self.hosts.get_mut(host)?;
        let (_, job) = match entry.retries.pop_front() {
            Some(retry) => retry,
            None => entry.fresh.pop_front()?,
        };
        entry.running += 1;
        self.running += 1;
        self.relist(host);
        Some(job)
    }

    /// A job of `host` that [`start`](Self::start) handed out has stopped running.
    pub(super) fn stopped(&mut self, host: &Arc<str>) {
        self.running = self.running.saturating_sub(1);
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.running = entry.running.saturating_sub(1);
        }
        self.relist(host);
    }

    /// Starts no job of `host` until [`unblock`](Self::unblock).
    pub(super) fn block(&mut self, host: &Arc<str>) {
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.blocked = true;
        }
        self.relist(host);
    }

    /// Lets `host`'s jobs start again.
    pub(super) fn unblock(&mut self, host: &Arc<str>) {
        if let Some(entry) = self.hosts.get_mut(host) {
            entry.blocked = false;
        }
        self.relist(host);
    }

    /// Takes every job not running (ready, blocked or delayed), for a run being cancelled.
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

    /// Whether every job has ended: none running, waiting, blocked or delayed.
    pub(super) fn is_empty(&self) -> bool {
        self.running == 0 && self.hosts.is_empty() && self.delayed.is_empty()
    }

    fn seq(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn host(&mut self, host: &Arc<str>) -> &mut Host<T> {
        self.hosts.entry(host.clone()).or_insert_with(|| Host {
            running: 0,
            blocked: false,
            retries: VecDeque::new(),
            fresh: VecDeque::new(),
            listed: None,
        })
    }

    /// Puts `host` in `ready` at its next job's rank if it is not blocked, else takes it out; forgets
    /// a host with nothing left, so a long run's map holds only hosts with work.
    fn relist(&mut self, host: &Arc<str>) {
        let Some(entry) = self.hosts.get_mut(host) else {
            return;
        };
        let rank = match (entry.blocked, entry.retries.front(), entry.fresh.front()) {
            (true, _, _) => None,
            (false, Some(&(seq, _)), _) => Some((0, seq)),
            (false, None, Some(&(seq, _))) => Some((1, seq)),
            (false, None, None) => None,
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

    /// Starts jobs while any may start, blocking the hosts named in `busy`.
    fn start_all<T>(schedule: &mut Schedule<T>, busy: &[&str]) -> Vec<T> {
        let mut started = Vec::new();
        while let Some(next) = schedule.peek() {
            if busy.contains(&&*next) {
                schedule.block(&next);
                continue;
            }
            started.extend(schedule.start(&next));
        }
        started
    }

    #[test]
    fn jobs_start_in_order_up_to_the_most_running() {
        let mut schedule = Schedule::new(2);
        for job in 0..5 {
            schedule.push(host(if job % 2 == 0 { "a" } else { "b" }), job);
        }
        assert_eq!(start_all(&mut schedule, &[]), vec![0, 1]);
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule, &[]), vec![2]);
        schedule.stopped(&host("b"));
        schedule.stopped(&host("a"));
        assert_eq!(start_all(&mut schedule, &[]), vec![3, 4]);
        assert!(schedule.peek().is_none());
    }

    #[test]
    fn a_blocked_host_does_not_hold_up_another() {
        let mut schedule = Schedule::new(3);
        for (job, name) in ["a", "a", "b", "a", "c"].into_iter().enumerate() {
            schedule.push(host(name), job);
        }
        assert_eq!(start_all(&mut schedule, &["a"]), vec![2, 4]);
        assert!(
            schedule.peek().is_none(),
            "only host a has jobs, and it is blocked"
        );
        schedule.unblock(&host("a"));
        assert_eq!(start_all(&mut schedule, &[]), vec![0]);
        assert!(schedule.peek().is_none(), "three running");
        schedule.stopped(&host("b"));
        assert_eq!(start_all(&mut schedule, &[]), vec![1]);
    }

    #[test]
    fn due_retries_start_before_fresh_jobs_and_late_ones_wait() {
        let mut schedule = Schedule::new(1);
        schedule.push(host("a"), 1);
        schedule.push(host("a"), 2);
        assert_eq!(start_all(&mut schedule, &[]), vec![1]);
        schedule.stopped(&host("a"));
        let now = Instant::now();
        schedule.retry_at(host("b"), now + Duration::from_secs(2), 20);
        schedule.retry_at(host("c"), now + Duration::from_secs(1), 10);
        assert_eq!(schedule.next_due(), Some(now + Duration::from_secs(1)));

        schedule.wake(now + Duration::from_secs(1));
        assert_eq!(schedule.next_due(), Some(now + Duration::from_secs(2)));
        assert_eq!(start_all(&mut schedule, &[]), vec![10]);
        schedule.stopped(&host("c"));
        assert_eq!(start_all(&mut schedule, &[]), vec![2]);
        schedule.stopped(&host("a"));
        assert!(schedule.peek().is_none(), "the retry of b is not due");
        schedule.wake(now + Duration::from_secs(3));
        assert_eq!(start_all(&mut schedule, &[]), vec![20]);
    }

    #[test]
    fn retries_rank_by_when_they_became_due() {
        let mut schedule = Schedule::new(1);
        let now = Instant::now();
        // Scheduled first, due last.
        schedule.retry_at(host("a"), now + Duration::from_secs(2), 1);
        schedule.retry_at(host("b"), now + Duration::from_secs(1), 2);
        schedule.wake(now + Duration::from_secs(1));
        schedule.wake(now + Duration::from_secs(2));
        assert_eq!(start_all(&mut schedule, &[]), vec![2]);
        schedule.stopped(&host("b"));
        assert_eq!(start_all(&mut schedule, &[]), vec![1]);
    }

    #[test]
    fn drain_takes_ready_blocked_and_delayed_jobs_in_the_order_they_came() {
        let mut schedule = Schedule::new(2);
        schedule.push(host("a"), 1);
        schedule.push(host("b"), 2);
        schedule.push(host("d"), 5);
        assert_eq!(start_all(&mut schedule, &["b"]), vec![1, 5]);
        schedule.retry_at(host("c"), Instant::now(), 3);
        schedule.push(host("a"), 4);

        assert_eq!(schedule.drain(), vec![2, 3, 4]);
        assert!(schedule.next_due().is_none());
        schedule.stopped(&host("a"));
        schedule.stopped(&host("d"));
        assert!(schedule.peek().is_none());
        assert!(schedule.hosts.is_empty());
    }
}
