//! The connection pool: per-host state under one lock, limits, fair waiting, expiry and statistics.
//!
//! One [`Host`] per pool key (scheme, host, port, and the proxy that carries it) holds idle HTTP/1.1
//! connections (most recently used last), HTTP/2 connections with their open streams and the
//! server's stream limit, the count of connections being opened, and a FIFO queue of waiting
//! requests. Every decision — which connection a request gets, whether it may open one, whom a freed
//! connection goes to, which idle connection to close — is made by [`State::decide`] under the pool's
//! one lock, so there is exactly one place to read to know why a request went where it went.
//!
//! - **Limits.** `per_host` and `total` bound connections open or being opened. A request that finds
//!   no connection and no room waits in its host's FIFO queue; whatever frees up (a connection given
//!   back, a stream ended, a connection closed, an attempt failed) is handed to the first waiter
//!   directly, so a newcomer never overtakes it. Waiting is bounded by the request's own timeout.
//!   Under the total cap, a request for a host with no usable connection closes the longest-idle
//!   connection of another host at once rather than waiting for it to expire; one already waiting
//!   does so the moment a connection of another host goes idle, and freed room goes to the host
//!   whose waiter came first.
//! - **HTTP/1.1.** An idle connection is handed out only if hyper has not seen it closed and it is
//!   not past its idle deadline: `pool_idle_timeout`, or a little before the server's
//!   `Keep-Alive: timeout=N`. A reaper task closes expired idle connections in the background.
//! - **HTTP/2.** A connection takes requests up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS`;
//!   past it another connection is opened, up to the per-host cap, past which the least loaded one
//!   takes the request (hyper queues it until a stream frees). A new HTTP/2 connection serves only
//!   the request that opened it until the server's SETTINGS arrive; the requests waiting meanwhile
//!   count on it for as many streams as the server last allowed, so a cold burst opens one connection
//!   per stream limit, not one per request. While the very first connection to a host that may speak
//!   HTTP/2 is made, the others wait to learn the protocol (ALPN) instead of each opening one. A
//!   connection with no stream open for `pool_idle_timeout` is closed, as an idle HTTP/1.1 one is.
//!
//! What it does not do: connect (the connector), speak HTTP (`http1`, `http2`), or decide retries
//! (`classify`). The guards that give connections back live in `checkout`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use hyper::client::conn::{http1, http2};
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use super::checkout::{Checkout, ConnectSlot};
use super::connect::ConnMeta;

/// How long before the server's keep-alive timeout Courier gives up an idle connection.
const KEEP_ALIVE_MARGIN: Duration = Duration::from_millis(500);

/// The stream limit assumed for an HTTP/2 server that has not said one: RFC 9113 §6.5.2 recommends
/// at least 100.
const DEFAULT_STREAMS_HINT: usize = 100;

/// The smallest host table at which entries nobody uses are swept.
const SWEEP_MIN: usize = 256;

/// A pool key: `scheme://host:port`, and ` via <proxy>` when a proxy carries the connections.
pub(crate) type Key = Arc<str>;

/// The limits a pool enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolConfig {
    pub(crate) per_host: Option<usize>,
    pub(crate) total: Option<usize>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_idle_per_host: usize,
}

impl PoolConfig {
    /// `pool_max_idle_per_host(0)`: no connection serves a second request (hyper-util's pool
    /// disabled, as reqwest users know it), HTTP/2 included.
    fn reuse(&self) -> bool {
        self.max_idle_per_host > 0
    }
}

/// A transport's connection pool; clones share it.
pub(crate) struct Pool<B: Send + 'static> {
    pub(super) inner: Arc<Inner<B>>,
}

impl<B: Send + 'static> Clone for Pool<B> {
    fn clone(&self) -> Self {
        Pool {
            inner: self.inner.clone(),
        }
    }
}

pub(super) struct Inner<B: Send + 'static> {
    config: PoolConfig,
    state: Mutex<State<B>>,
    /// Wakes the reaper when an idle connection with a deadline is added (or the pool is dropped).
    reaper: Arc<Notify>,
    /// A reaper task exists. Outside the lock: the task may be dropped (with its runtime, or at once
    /// when spawned on one shutting down) while the lock is held.
    reaper_started: AtomicBool,
}

impl<B: Send + 'static> Drop for Inner<B> {
    fn drop(&mut self) {
        self.reaper.notify_one();
    }
}

/// The host table. Every request looks its host up a few times (checkout, in-flight count, give-back),
/// so the hasher matters: foldhash with a per-table random seed instead of SipHash.
type Hosts<B> = HashMap<Key, Host<B>, foldhash::fast::RandomState>;

pub(super) struct State<B: Send + 'static> {
    hosts: Hosts<B>,
    /// Connections open or being opened, all hosts together.
    open_total: usize,
    next_seq: u64,
    retired: Counters,
    sweep_at: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Protocol {
    #[default]
    Unknown,
    Http1,
    Http2,
}

pub(super) struct Host<B: Send + 'static> {
    pub(super) protocol: Protocol,
    /// Idle HTTP/1.1 connections, the most recently used last.
    idle: Vec<IdleConn<B>>,
    h2: Vec<H2Conn<B>>,
    /// Connections open (idle, in use, HTTP/2) and counted against the limits.
    open: usize,
    connecting: usize,
    /// The stream limit the server last announced, to plan for connections being opened.
    streams_hint: usize,
    /// How many requests may still connect without waiting on another's attempt (to learn the
    /// protocol, or to share its streams): those that waited on an attempt that failed, or against a
    /// host that does not answer they would connect one after another, the k-th failing only after k
    /// timeouts. Set when an attempt fails (not when it is given up), spent one per such connect,
    /// cleared by a connection that succeeds.
    side_by_side: usize,
    waiters: VecDeque<Waiter<B>>,
    in_flight: usize,
    counters: Counters,
}

#[derive(Clone, Copy, Default)]
struct Counters {
    connects: u64,
    reuses: u64,
    expired: u64,
    closed_by_peer: u64,
}

impl Counters {
    fn add(&mut self, other: Counters) {
        self.connects += other.connects;
        self.reuses += other.reuses;
        self.expired += other.expired;
        self.closed_by_peer += other.closed_by_peer;
    }
}

/// An HTTP/1.1 connection not carrying a request.
pub(super) struct H1Conn<B> {
    pub(super) sender: http1::SendRequest<B>,
    pub(super) meta: Arc<ConnMeta>,
    /// Responses it has carried.
    pub(super) uses: u64,
    /// The server's `Keep-Alive: timeout`, if it sent one.
    pub(super) keep_alive: Option<Duration>,
    /// The last response said `Connection: close`: the connection is not reused.
    pub(super) closing: bool,
    /// When it last went idle in the pool, and its deadline then; `None` for a connection fresh from
    /// the connector. Handed out, then back unused, it keeps these: the server's idle timer was not
    /// reset, since nothing was sent.
    pub(super) last_idle: Option<(Instant, Option<Instant>)>,
}

impl<B> H1Conn<B> {
    /// The connection has waited in the pool: it may have gone stale there (a request lost on it is
    /// the idle-close race, and it has no connect phases of its own to report).
    pub(super) fn pooled(&self) -> bool {
        self.uses > 0 || self.last_idle.is_some()
    }

    /// The connection as an idle entry from `now`: idle since now, or, if nothing was `sent` on it
    /// since it was last idle, since then and with the deadline it had.
    fn into_idle(self, config: &PoolConfig, now: Instant, sent: bool) -> IdleConn<B> {
        let (idle_since, deadline) = match self.last_idle {
            Some(last) if !sent => last,
            _ => (now, self.idle_deadline(config, now)),
        };
        IdleConn {
            conn: self,
            idle_since,
            deadline,
        }
    }

    /// When the connection, idle from `now`, must be given up: `pool_idle_timeout`, or a little before
    /// the server's `Keep-Alive: timeout`, whichever comes first (`None`: never).
    fn idle_deadline(&self, config: &PoolConfig, now: Instant) -> Option<Instant> {
        let keep_alive = self
            .keep_alive
            .map(|t| t.saturating_sub(KEEP_ALIVE_MARGIN.min(t / 2)));
        let limit = match (config.idle_timeout, keep_alive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // `checked_add`: a limit too far away to represent is no limit (`pool_idle_timeout` may be huge).
        limit.and_then(|l| now.checked_add(l))
    }
}

struct IdleConn<B> {
    conn: H1Conn<B>,
    idle_since: Instant,
    deadline: Option<Instant>,
}

struct H2Conn<B> {
    sender: http2::SendRequest<B>,
    meta: Arc<ConnMeta>,
    streams: usize,
    max_streams: usize,
    /// The server's SETTINGS arrived: until then only the opening request uses the connection.
    settled: bool,
    uses: u64,
    idle_since: Instant,
}

impl<B> H2Conn<B> {
    /// Takes the server's SETTINGS from the connection's facts, if they have arrived.
    fn settle(&mut self, streams_hint: &mut usize) {
        if !self
            .meta
            .settings_seen
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return;
        }
        self.settled = true;
        self.max_streams = self
            .meta
            .max_streams
            .load(std::sync::atomic::Ordering::Acquire);
        if self.max_streams != usize::MAX {
            *streams_hint = self.max_streams.max(1);
        }
    }

    /// When the connection, with no stream open, is to be closed (`pool_idle_timeout` after its last
    /// stream ended); `None` while streams are open or without a timeout.
    fn idle_deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        (self.streams == 0)
            .then(|| self.idle_since.checked_add(timeout?))
            .flatten()
    }

    fn has_room(&self) -> bool {
        self.usable() && self.streams < self.max_streams
    }

    /// The server's SETTINGS arrived and the connection is not closed.
    fn usable(&self) -> bool {
        self.settled && !self.sender.is_closed()
    }
}

struct Waiter<B: Send + 'static> {
    seq: u64,
    may_be_h2: bool,
    tx: oneshot::Sender<Grant<B>>,
}

/// What a waiting request is handed.
pub(super) enum Grant<B: Send + 'static> {
    Conn(Checkout<B>),
    Connect(ConnectSlot<B>),
}

/// What [`Pool::acquire`] gives: a connection, or the right to open one.
pub(crate) enum Acquired<B: Send + 'static> {
    Conn(Checkout<B>),
    Connect(ConnectSlot<B>),
}

/// What [`State::decide`] chose for one request.
enum Decision<B: Send + 'static> {
    /// A stream on the HTTP/2 connection at this index.
    Stream(usize),
    Idle(H1Conn<B>),
    Connect,
    /// Wait; a connection being opened will take this request, so later ones may still be served.
    WaitCovered,
    /// Wait, and so do all later requests of this host.
    Wait,
}

/// Connections (senders) to close once the lock is released: dropping a sender closes its
/// connection when no request uses it.
pub(super) type Doomed<B> = Vec<Closing<B>>;

#[allow(dead_code)] // held only to be dropped outside the lock
pub(super) enum Closing<B> {
    H1(H1Conn<B>),
    H2(http2::SendRequest<B>),
}

impl<B: Send + 'static> Pool<B> {
    pub(crate) fn new(config: PoolConfig) -> Pool<B> {
        Pool {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    hosts: Hosts::default(),
                    open_total: 0,
                    next_seq: 0,
                    retired: Counters::default(),
                    sweep_at: SWEEP_MIN,
                }),
                reaper: Arc::new(Notify::new()),
                reaper_started: AtomicBool::new(false),
            }),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State<B>> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Waits for a connection to `key` or for the right to open one, first come first served. Never
    /// fails: the caller's timeout bounds the wait.
    pub(crate) async fn acquire(&self, key: &Key, may_be_h2: bool) -> Acquired<B> {
        loop {
            let rx = {
                let mut doomed = Vec::new();
                let mut state = self.lock();
                // A request that gave up waiting (its timeout, a `select!`) leaves its place behind:
                // taken off the front here, or a queue of such places would send every new request
                // to wait behind nobody.
                let waiters = &mut state.host_mut(key).waiters;
                while waiters.front().is_some_and(|w| w.tx.is_closed()) {
                    waiters.pop_front();
                }
                if waiters.is_empty() {
                    let mut covered = 0;
                    match state.decide(
                        &self.inner.config,
                        key,
                        may_be_h2,
                        &mut covered,
                        &mut doomed,
                    ) {
                        Decision::Wait | Decision::WaitCovered => {}
                        decision => {
                            return match state.grant(self, key, decision) {
                                Grant::Conn(c) => Acquired::Conn(c),
                                Grant::Connect(s) => Acquired::Connect(s),
                            }
                        }
                    }
                }
                let (tx, rx) = oneshot::channel();
                let seq = state.next_seq;
                state.next_seq += 1;
                let host = state.host_mut(key);
                // And the places given up further back, now and then: at every power of two past 64
                // (linear in all, at most about twice the live waiters kept), so requests that come
                // and go while one slot stays busy (a long response) cannot grow the queue for ever.
                let len = host.waiters.len();
                if len >= 64 && len.is_power_of_two() {
                    host.waiters.retain(|w| !w.tx.is_closed());
                }
                host.waiters.push_back(Waiter { seq, may_be_h2, tx });
                drop(state);
                drop(doomed);
                rx
            };
            // A closed channel means the pool dropped the waiter without an answer: ask again.
            if let Ok(grant) = rx.await {
                return match grant {
                    Grant::Conn(c) => Acquired::Conn(c),
                    Grant::Connect(s) => Acquired::Connect(s),
                };
            }
        }
    }

    /// Counts a request in flight to `key` until the guard drops.
    pub(crate) fn in_flight(&self, key: &Key) -> InFlight<B> {
        self.lock().host_mut(key).in_flight += 1;
        InFlight {
            pool: self.clone(),
            key: key.clone(),
            counted: true,
        }
    }

    /// A connection's task ended: the connection is gone, whoever held it.
    pub(crate) fn closed(&self, key: &Key, meta: &Arc<ConnMeta>) {
        let mut doomed = Vec::new();
        let mut state = self.lock();
        let Some(host) = state.hosts.get_mut(key) else {
            return;
        };
        let before = host.idle.len() + host.h2.len();
        host.idle.retain(|c| c.conn.meta.id != meta.id);
        host.h2.retain(|c| c.meta.id != meta.id);
        if host.idle.len() + host.h2.len() < before {
            // It was idle or shared in the pool, not closed by us: the server (or the network) did.
            host.counters.closed_by_peer += 1;
        }
        tracing::debug!(id = meta.id, "connection closed");
        state.release(key, meta);
        state.serve_after_release(self, key, &mut doomed);
        drop(state);
        drop(doomed);
    }

    /// The server's SETTINGS arrived on HTTP/2 connection `id` (recorded on its `ConnMeta`).
    pub(crate) fn settings_received(&self, key: &Key, id: u64) {
        let mut doomed = Vec::new();
        let mut state = self.lock();
        let Some(host) = state.hosts.get_mut(key) else {
            return;
        };
        let Some(conn) = host.h2.iter_mut().find(|c| c.meta.id == id) else {
            // Not registered yet: `connected_h2` reads the settings from the connection.
            return;
        };
        conn.settle(&mut host.streams_hint);
        tracing::debug!(
            id,
            max_streams = conn.max_streams,
            "HTTP/2 settings received"
        );
        state.serve_waiters(self, key, &mut doomed);
        drop(state);
        drop(doomed);
    }

    /// What the pool is doing now.
    pub(crate) fn stats(&self) -> PoolStats {
        let state = self.lock();
        let mut stats = PoolStats::default();
        let mut totals = state.retired;
        for (key, host) in state.hosts.iter() {
            totals.add(host.counters);
            let h = HostStats {
                host: key.to_string(),
                open: host.open,
                in_flight: host.in_flight,
                waiting: host.waiters.iter().filter(|w| !w.tx.is_closed()).count(),
                connects: host.counters.connects,
                reuses: host.counters.reuses,
                expired: host.counters.expired,
                closed_by_peer: host.counters.closed_by_peer,
            };
            stats.open += h.open;
            stats.in_flight += h.in_flight;
            stats.waiting += h.waiting;
            stats.hosts.push(h);
        }
        stats.connects = totals.connects;
        stats.reuses = totals.reuses;
        stats.expired = totals.expired;
        stats.closed_by_peer = totals.closed_by_peer;
        stats.hosts.sort_by(|a, b| a.host.cmp(&b.host));
        stats
    }

    /// Starts the reaper once, if there is a runtime to run it.
    fn start_reaper(&self) {
        if self.inner.reaper_started.load(Ordering::Acquire) {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            if self.inner.reaper_started.swap(true, Ordering::AcqRel) {
                return;
            }
            let pool = Arc::downgrade(&self.inner);
            let stopped = ReaperStopped(pool.clone());
            let wake = self.inner.reaper.clone();
            handle.spawn(async move {
                let _stopped = stopped;
                reap(pool, wake).await
            });
        }
    }
}

/// Tells the pool that a connection is gone, however its task ends: returning, panicking (hyper
/// polls a request's body stream in it), or dropped with the runtime it ran on. Until then the
/// connection counts against the limits.
pub(super) struct ConnectionGone<B: Send + 'static> {
    // Weak: the connection's task must not keep the pool (and through it, the connection) alive.
    pub(super) pool: Weak<Inner<B>>,
    pub(super) key: Key,
    pub(super) meta: Arc<ConnMeta>,
}

impl<B: Send + 'static> Drop for ConnectionGone<B> {
    fn drop(&mut self) {
        if let Some(inner) = self.pool.upgrade() {
            Pool { inner }.closed(&self.key, &self.meta);
        }
    }
}

/// Marks the reaper stopped when its task ends or is dropped (even unpolled) with its runtime, so that
/// a client shared between runtimes has it started again by the next one that parks a connection.
struct ReaperStopped<B: Send + 'static>(Weak<Inner<B>>);

impl<B: Send + 'static> Drop for ReaperStopped<B> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.reaper_started.store(false, Ordering::Release);
        }
    }
}

/// Closes idle connections past their deadline until the pool is dropped.
async fn reap<B: Send + 'static>(pool: Weak<Inner<B>>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(inner) = pool.upgrade() else { return };
            let pool = Pool { inner };
            let mut doomed = Vec::new();
            let mut state = pool.lock();
            let next = state.expire_idle(&pool, Instant::now(), &mut doomed);
            drop(state);
            drop(doomed);
            next
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

impl<B: Send + 'static> State<B> {
    fn host_mut(&mut self, key: &Key) -> &mut Host<B> {
        if !self.hosts.contains_key(key) {
            if self.hosts.len() >= self.sweep_at {
                self.sweep();
            }
            return self.hosts.entry(key.clone()).or_insert_with(|| Host {
                protocol: Protocol::Unknown,
                idle: Vec::new(),
                h2: Vec::new(),
                open: 0,
                connecting: 0,
                streams_hint: DEFAULT_STREAMS_HINT,
                side_by_side: 0,
                waiters: VecDeque::new(),
                in_flight: 0,
                counters: Counters::default(),
            });
        }
        self.hosts.get_mut(key).expect("checked above")
    }

    /// Drops host entries nobody uses once the table has doubled, keeping their counters in the
    /// totals, so a client that talks to many hosts over its life does not grow without bound.
    fn sweep(&mut self) {
        let retired = &mut self.retired;
        self.hosts.retain(|_, host| {
            let used = host.open > 0
                || host.connecting > 0
                || host.in_flight > 0
                || !host.waiters.is_empty();
            if !used {
                retired.add(host.counters);
            }
            used
        });
        self.sweep_at = (self.hosts.len() * 2).max(SWEEP_MIN);
    }

    /// Decides for one request to `key`. `covered` counts the requests before this one that the
    /// host's connections being opened will take.
    fn decide(
        &mut self,
        config: &PoolConfig,
        key: &Key,
        may_be_h2: bool,
        covered: &mut usize,
        doomed: &mut Doomed<B>,
    ) -> Decision<B> {
        let now = Instant::now();
        // An HTTP/2 connection past its idle deadline is closed here rather than handed a stream (the
        // reaper may not have run: it needs a runtime, and a blocking client's response may be
        // dropped on a thread without one).
        let due = |c: &H2Conn<B>| {
            c.idle_deadline(config.idle_timeout)
                .is_some_and(|d| d <= now)
        };
        while let Some(i) = self.hosts[key].h2.iter().position(due) {
            let host = self.hosts.get_mut(key).expect("host entry exists");
            host.counters.expired += 1;
            let conn = host.h2.remove(i);
            self.close_h2(key, conn, doomed);
        }
        let host = self.hosts.get_mut(key).expect("host entry exists");
        // With reuse off (`pool_max_idle_per_host(0)`) each request gets a connection of its own:
        // none is shared for a stream or waited on for one, and only one that never served a request
        // (its request gave up as it was granted) is ever idle.
        let reuse = config.reuse();
        if let Some(i) = host.h2.iter().position(H2Conn::has_room).filter(|_| reuse) {
            return Decision::Stream(i);
        }
        while let Some(idle) = host.idle.pop() {
            if idle.conn.sender.is_closed() {
                // Closed by the server while idle; its task's end does the accounting.
                doomed.push(Closing::H1(idle.conn));
            } else if idle.deadline.is_some_and(|d| d <= now) {
                host.counters.expired += 1;
                self.close_idle(key, idle.conn, doomed);
                return self.decide(config, key, may_be_h2, covered, doomed);
            } else {
                let mut conn = idle.conn;
                conn.last_idle = Some((idle.idle_since, idle.deadline));
                return Decision::Idle(conn);
            }
        }
        let side_by_side = host.side_by_side > 0;
        if reuse && may_be_h2 && host.protocol != Protocol::Http1 && !side_by_side {
            let opening = host.connecting + host.h2.iter().filter(|c| !c.settled).count();
            if opening > 0 {
                if host.protocol == Protocol::Unknown {
                    return Decision::Wait;
                }
                if *covered < opening.saturating_mul(host.streams_hint) {
                    *covered += 1;
                    return Decision::WaitCovered;
                }
            }
        }
        // A server that allows no streams for now (SETTINGS_MAX_CONCURRENT_STREAMS 0) is answered by
        // queueing on its connection (hyper opens the stream once the server allows it), not by a
        // new connection for every request.
        let mut settled = host.h2.iter().filter(|c| c.usable()).peekable();
        let closed_for_now =
            reuse && settled.peek().is_some() && settled.all(|c| c.max_streams == 0);
        let host_full = closed_for_now
            || config
                .per_host
                .is_some_and(|max| host.open + host.connecting >= max);
        if host_full && !reuse {
            return Decision::Wait;
        }
        if host_full {
            let least_loaded = host
                .h2
                .iter()
                .enumerate()
                .filter(|(_, c)| c.usable())
                // A connection that takes streams at all before one that takes none for now.
                .min_by_key(|(_, c)| (c.max_streams == 0, c.streams))
                .map(|(i, _)| i);
            return match least_loaded {
                Some(i) => Decision::Stream(i),
                None => Decision::Wait,
            };
        }
        let total_full = config.total.is_some_and(|max| self.open_total >= max);
        if !total_full || self.evict_longest_idle(key, doomed) {
            if side_by_side {
                let host = self.hosts.get_mut(key).expect("host entry exists");
                host.side_by_side -= 1;
            }
            return Decision::Connect;
        }
        Decision::Wait
    }

    /// Turns a decision into what the request is handed, counting it.
    fn grant(&mut self, pool: &Pool<B>, key: &Key, decision: Decision<B>) -> Grant<B> {
        let host = self.hosts.get_mut(key).expect("host entry exists");
        match decision {
            Decision::Stream(i) => {
                let conn = &mut host.h2[i];
                conn.streams += 1;
                let reused = conn.uses > 0;
                conn.uses += 1;
                Grant::Conn(Checkout::h2(
                    pool.clone(),
                    key.clone(),
                    conn.sender.clone(),
                    conn.meta.clone(),
                    reused,
                ))
            }
            Decision::Idle(conn) => Grant::Conn(Checkout::h1(pool.clone(), key.clone(), conn)),
            Decision::Connect => {
                host.connecting += 1;
                self.open_total += 1;
                Grant::Connect(ConnectSlot::new(pool.clone(), key.clone()))
            }
            Decision::Wait | Decision::WaitCovered => unreachable!("not a grant"),
        }
    }

    /// Takes back a grant a waiter did not receive (it gave up meanwhile).
    fn ungrant(&mut self, pool: &Pool<B>, key: &Key, grant: Grant<B>) {
        match grant {
            Grant::Conn(checkout) => match checkout.disarm() {
                // Idle again as it was: nothing was sent on it.
                super::checkout::Disarmed::H1(conn) => self.park_idle(pool, key, conn, false),
                super::checkout::Disarmed::H2(id) => {
                    let host = self.hosts.get_mut(key).expect("host entry exists");
                    if let Some(c) = host.h2.iter_mut().find(|c| c.meta.id == id) {
                        c.streams -= 1;
                        c.uses -= 1;
                    }
                }
            },
            Grant::Connect(slot) => {
                slot.disarm();
                let host = self.hosts.get_mut(key).expect("host entry exists");
                host.connecting -= 1;
                self.open_total -= 1;
            }
        }
    }

    /// Serves `key`'s waiters in order, as far as the pool allows.
    pub(super) fn serve_waiters(&mut self, pool: &Pool<B>, key: &Key, doomed: &mut Doomed<B>) {
        let config = *pool.config();
        let mut covered = 0;
        let mut i = 0;
        loop {
            let Some(host) = self.hosts.get_mut(key) else {
                return;
            };
            let Some(waiter) = host.waiters.get(i) else {
                return;
            };
            if waiter.tx.is_closed() {
                host.waiters.remove(i);
                continue;
            }
            let may_be_h2 = waiter.may_be_h2;
            match self.decide(&config, key, may_be_h2, &mut covered, doomed) {
                Decision::Wait => return,
                Decision::WaitCovered => i += 1,
                decision => {
                    let grant = self.grant(pool, key, decision);
                    let waiter = self
                        .hosts
                        .get_mut(key)
                        .and_then(|h| h.waiters.remove(i))
                        .expect("waiter still queued");
                    if let Err(grant) = waiter.tx.send(grant) {
                        self.ungrant(pool, key, grant);
                    }
                }
            }
        }
    }

    /// After a connection slot was freed: serve this host's waiters; under a total cap every host's,
    /// the host whose waiter has waited longest first (this one included: with connections that
    /// close after each response, serving the releasing host first would starve the others).
    pub(super) fn serve_after_release(
        &mut self,
        pool: &Pool<B>,
        key: &Key,
        doomed: &mut Doomed<B>,
    ) {
        if pool.config().total.is_none() {
            self.serve_waiters(pool, key, doomed);
            return;
        }
        self.serve_hosts_in_order(pool, None, doomed);
    }

    /// A connection of `key` became idle (given back, or its last HTTP/2 stream ended) after `key`'s
    /// own waiters were served: under a total cap, the other hosts' waiters may now close it to make
    /// room, and are served, longest waiting first.
    fn serve_others_after_idle(&mut self, pool: &Pool<B>, key: &Key, doomed: &mut Doomed<B>) {
        if pool.config().total.is_some() {
            self.serve_hosts_in_order(pool, Some(key), doomed);
        }
    }

    /// Serves every host with waiters (but `skip`), in the order their first waiters came.
    fn serve_hosts_in_order(&mut self, pool: &Pool<B>, skip: Option<&Key>, doomed: &mut Doomed<B>) {
        let mut waiting: Vec<(u64, Key)> = self
            .hosts
            .iter()
            .filter(|(k, _)| skip != Some(*k))
            .filter_map(|(k, h)| h.waiters.front().map(|w| (w.seq, k.clone())))
            .collect();
        waiting.sort_unstable_by_key(|(seq, _)| *seq);
        for (_, key) in waiting {
            self.serve_waiters(pool, &key, doomed);
        }
    }

    /// Closes an idle HTTP/1.1 connection the client gives up (expired, evicted, one too many idle):
    /// it stops counting now and closes once the lock is released.
    fn close_idle(&mut self, key: &Key, conn: H1Conn<B>, doomed: &mut Doomed<B>) {
        self.release(key, &conn.meta);
        doomed.push(Closing::H1(conn));
    }

    /// Closes an HTTP/2 connection taken out of `key`'s list, and stops counting it.
    fn close_h2(&mut self, key: &Key, conn: H2Conn<B>, doomed: &mut Doomed<B>) {
        self.release(key, &conn.meta);
        doomed.push(Closing::H2(conn.sender));
    }

    /// Stops counting a connection against the limits (once per connection).
    pub(super) fn release(&mut self, key: &Key, meta: &ConnMeta) {
        if meta.uncount() {
            if let Some(host) = self.hosts.get_mut(key) {
                host.open -= 1;
            }
            self.open_total -= 1;
        }
    }

    /// Closes the connection idle the longest among the other hosts' (HTTP/1.1 idle, or HTTP/2 with
    /// no stream); true if there was one.
    fn evict_longest_idle(&mut self, key: &Key, doomed: &mut Doomed<B>) -> bool {
        let mut oldest: Option<(Instant, Key, bool)> = None;
        for (k, host) in self.hosts.iter() {
            if k == key {
                continue;
            }
            let h1 = host.idle.first().map(|c| (c.idle_since, false));
            let h2 = host
                .h2
                .iter()
                .filter(|c| c.streams == 0)
                .map(|c| (c.idle_since, true))
                .min_by_key(|(t, _)| *t);
            for (since, is_h2) in h1.into_iter().chain(h2) {
                if oldest.as_ref().is_none_or(|(t, _, _)| since < *t) {
                    oldest = Some((since, k.clone(), is_h2));
                }
            }
        }
        let Some((_, victim, is_h2)) = oldest else {
            return false;
        };
        let host = self.hosts.get_mut(&victim).expect("found above");
        if !is_h2 {
            let conn = host.idle.remove(0).conn;
            tracing::debug!(host = %victim, id = conn.meta.id, "closing an idle connection to make room under the total limit");
            self.close_idle(&victim, conn, doomed);
            return true;
        }
        let i = host
            .h2
            .iter()
            .enumerate()
            .filter(|(_, c)| c.streams == 0)
            .min_by_key(|(_, c)| c.idle_since)
            .map(|(i, _)| i)
            .expect("found above");
        let conn = host.h2.remove(i);
        tracing::debug!(host = %victim, id = conn.meta.id, "closing an idle connection to make room under the total limit");
        self.close_h2(&victim, conn, doomed);
        true
    }

    /// Closes idle connections past their deadline, and serves the waiters the room freed may let
    /// in (under a total cap, another host's); returns the next deadline.
    fn expire_idle(
        &mut self,
        pool: &Pool<B>,
        now: Instant,
        doomed: &mut Doomed<B>,
    ) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut expired = Vec::new();
        let mut expired_h2 = Vec::new();
        let h2_timeout = pool.config().idle_timeout;
        for (key, host) in self.hosts.iter_mut() {
            // An HTTP/2 connection with no stream is idle as an HTTP/1.1 one is, and may be dropped
            // by a NAT or load balancer as quietly (no GOAWAY).
            let mut i = 0;
            while i < host.h2.len() {
                match host.h2[i].idle_deadline(h2_timeout) {
                    Some(d) if d <= now => {
                        host.counters.expired += 1;
                        expired_h2.push((key.clone(), host.h2.remove(i)));
                    }
                    Some(d) => {
                        next = Some(next.map_or(d, |n| n.min(d)));
                        i += 1;
                    }
                    None => i += 1,
                }
            }
            let mut i = 0;
            while i < host.idle.len() {
                match host.idle[i].deadline {
                    Some(d) if d <= now => {
                        host.counters.expired += 1;
                        expired.push((key.clone(), host.idle.remove(i).conn));
                    }
                    Some(d) => {
                        next = Some(next.map_or(d, |n| n.min(d)));
                        i += 1;
                    }
                    None => i += 1,
                }
            }
        }
        let freed = !expired.is_empty() || !expired_h2.is_empty();
        for (key, conn) in expired {
            tracing::debug!(id = conn.meta.id, "idle connection expired");
            self.close_idle(&key, conn, doomed);
        }
        for (key, conn) in expired_h2 {
            tracing::debug!(id = conn.meta.id, "idle HTTP/2 connection expired");
            self.close_h2(&key, conn, doomed);
        }
        if freed && pool.config().total.is_some() {
            self.serve_hosts_in_order(pool, None, doomed);
        }
        next
    }

    /// A connection attempt for `key` ended without a connection: it `failed`, or was given up (its
    /// request cancelled, say).
    pub(super) fn connect_failed(
        &mut self,
        pool: &Pool<B>,
        key: &Key,
        failed: bool,
        doomed: &mut Doomed<B>,
    ) {
        if let Some(host) = self.hosts.get_mut(key) {
            host.connecting -= 1;
            if failed {
                host.side_by_side = host.waiters.len();
            }
        }
        self.open_total -= 1;
        self.serve_after_release(pool, key, doomed);
    }

    /// A new HTTP/1.1 connection for `key`: counted from now on.
    pub(super) fn connected_h1(&mut self, pool: &Pool<B>, key: &Key, doomed: &mut Doomed<B>) {
        let host = self.host_mut(key);
        host.connecting -= 1;
        host.open += 1;
        host.counters.connects += 1;
        host.side_by_side = 0;
        host.protocol = Protocol::Http1;
        // Requests held back to learn the protocol may open their own connections now.
        self.serve_waiters(pool, key, doomed);
    }

    /// A new HTTP/2 connection for `key`, carrying the request that opened it.
    pub(super) fn connected_h2(
        &mut self,
        pool: &Pool<B>,
        key: &Key,
        sender: http2::SendRequest<B>,
        meta: Arc<ConnMeta>,
        doomed: &mut Doomed<B>,
    ) {
        let host = self.host_mut(key);
        host.connecting -= 1;
        host.open += 1;
        host.counters.connects += 1;
        host.side_by_side = 0;
        host.protocol = Protocol::Http2;
        let mut conn = H2Conn {
            sender,
            meta,
            streams: 1,
            max_streams: usize::MAX,
            settled: false,
            uses: 1,
            idle_since: Instant::now(),
        };
        conn.settle(&mut host.streams_hint);
        host.h2.push(conn);
        self.serve_waiters(pool, key, doomed);
    }

    /// An HTTP/1.1 connection whose response ended cleanly comes back.
    pub(super) fn give_back_h1(
        &mut self,
        pool: &Pool<B>,
        key: &Key,
        conn: H1Conn<B>,
        sent: bool,
    ) -> Doomed<B> {
        let mut doomed = Vec::new();
        if conn.sender.is_closed() {
            doomed.push(Closing::H1(conn));
            return doomed;
        }
        let config = *pool.config();
        if !config.reuse() && sent {
            self.close_idle(key, conn, &mut doomed);
            self.serve_after_release(pool, key, &mut doomed);
            return doomed;
        }
        self.park_idle(pool, key, conn, sent);
        self.serve_waiters(pool, key, &mut doomed);
        self.serve_others_after_idle(pool, key, &mut doomed);
        let host = self.host_mut(key);
        if host.idle.len() > config.max_idle_per_host {
            let conn = host.idle.remove(0).conn;
            self.close_idle(key, conn, &mut doomed);
            self.serve_after_release(pool, key, &mut doomed);
        }
        doomed
    }

    /// Puts an HTTP/1.1 connection in `key`'s idle list (see [`H1Conn::into_idle`]), waking the
    /// reaper for its deadline.
    fn park_idle(&mut self, pool: &Pool<B>, key: &Key, conn: H1Conn<B>, sent: bool) {
        let idle = conn.into_idle(pool.config(), Instant::now(), sent);
        let expires = idle.deadline.is_some();
        self.host_mut(key).idle.push(idle);
        if expires {
            pool.start_reaper();
            pool.inner.reaper.notify_one();
        }
    }

    /// A stream on HTTP/2 connection `id` ended. `answered`: its response head had arrived.
    pub(super) fn stream_ended(
        &mut self,
        pool: &Pool<B>,
        key: &Key,
        id: u64,
        answered: bool,
        doomed: &mut Doomed<B>,
    ) {
        let Some(host) = self.hosts.get_mut(key) else {
            return;
        };
        let Some(i) = host.h2.iter().position(|c| c.meta.id == id) else {
            return;
        };
        let conn = &mut host.h2[i];
        conn.streams -= 1;
        if conn.streams == 0 {
            conn.idle_since = Instant::now();
            if pool.config().idle_timeout.is_some() {
                pool.start_reaper();
                pool.inner.reaper.notify_one();
            }
        }
        if !conn.settled && !answered {
            // The opening request gave up before the server even sent its SETTINGS: a silent server.
            // Nobody else may wait on this connection.
            let conn = host.h2.remove(i);
            tracing::debug!(
                id,
                "closing an HTTP/2 connection whose server never sent SETTINGS"
            );
            self.close_h2(key, conn, doomed);
            self.serve_after_release(pool, key, doomed);
            return;
        }
        conn.settled = true;
        let idle = conn.streams == 0;
        if idle && !pool.config().reuse() {
            let conn = host.h2.remove(i);
            self.close_h2(key, conn, doomed);
            self.serve_after_release(pool, key, doomed);
            return;
        }
        self.serve_waiters(pool, key, doomed);
        if idle {
            self.serve_others_after_idle(pool, key, doomed);
        }
    }

    /// HTTP/2 connection `id` takes no new streams (the server said GOAWAY).
    pub(super) fn retire_h2(&mut self, key: &Key, id: u64, doomed: &mut Doomed<B>) {
        if let Some(host) = self.hosts.get_mut(key) {
            if let Some(i) = host.h2.iter().position(|c| c.meta.id == id) {
                doomed.push(Closing::H2(host.h2.remove(i).sender));
            }
        }
    }
}

/// A request in flight: counted in [`PoolStats::in_flight`] until its response head arrives
/// ([`InFlight::answered`]) or it is dropped.
pub(crate) struct InFlight<B: Send + 'static> {
    pool: Pool<B>,
    key: Key,
    counted: bool,
}

impl<B: Send + 'static> InFlight<B> {
    /// The response head arrived, over a reused connection or not: one lock for both counters.
    pub(crate) fn answered(mut self, reused: bool) {
        self.counted = false;
        if let Some(host) = self.pool.lock().hosts.get_mut(&self.key) {
            host.in_flight -= 1;
            if reused {
                host.counters.reuses += 1;
            }
        }
    }
}

impl<B: Send + 'static> Drop for InFlight<B> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        if let Some(host) = self.pool.lock().hosts.get_mut(&self.key) {
            host.in_flight -= 1;
        }
    }
}

/// What a transport's pool is doing: totals and one entry per host.
///
/// ```
/// let stats = courier_core::transport::PoolStats::default();
/// assert_eq!(stats.open, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open now (in use or idle).
    pub open: usize,
    /// Requests sent (or waiting for a connection) and waiting for their response head.
    pub in_flight: usize,
    /// Requests waiting for a connection (a limit is reached).
    pub waiting: usize,
    /// Connections opened so far.
    pub connects: u64,
    /// Responses that came over a connection used before.
    pub reuses: u64,
    /// Idle connections closed by the client: past `pool_idle_timeout`, or before the server's
    /// keep-alive timeout.
    pub expired: u64,
    /// Connections the server closed while they sat in the pool.
    pub closed_by_peer: u64,
    /// The same counters per pool key (`scheme://host:port`, with ` via <proxy>` when proxied),
    /// sorted. A host with no connection and no request may be left out once the client has talked
    /// to many hosts (its counters stay in the totals).
    pub hosts: Vec<HostStats>,
}

/// [`PoolStats`] for one pool key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostStats {
    /// `scheme://host:port` (with ` via <proxy>` when proxied, and ` http/1.1` for the connections
    /// of upgrade requests over TLS, which are kept, and counted against the per-host limit, apart:
    /// see `Response::upgrade`).
    pub host: String,
    /// Connections open now.
    pub open: usize,
    /// Requests waiting for their response head.
    pub in_flight: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
    /// Connections opened so far.
    pub connects: u64,
    /// Responses over a reused connection.
    pub reuses: u64,
    /// Idle connections closed by the client.
    pub expired: u64,
    /// Connections the server closed while pooled.
    pub closed_by_peer: u64,
}

impl<B: Send + 'static> fmt::Debug for Pool<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Writes the pool key of `uri`: `scheme://host:port`, with default ports filled in.
pub(crate) fn write_host_key(out: &mut String, uri: &http::Uri) {
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map_or("", |a| a.as_str());
    // `send` takes credentials off the URI before routing; a key made of any other URI still leaves
    // them out.
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    // A port follows the last ':' unless that ':' is inside an IPv6 literal (`[::1]`); an empty one
    // (`host:`) means the default.
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => (&host_port[..i], &host_port[i + 1..]),
        _ => (host_port, ""),
    };
    let port = match port {
        "" if scheme == "https" => "443",
        "" => "80",
        port => port,
    };
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
    out.push(':');
    out.push_str(port);
}

/// The longest `Keep-Alive: timeout` taken at its word: a day. A server's figure only ever shortens how
/// long Courier keeps the connection idle; a larger one is read as this.
const MAX_KEEP_ALIVE_SECS: u64 = 24 * 60 * 60;

/// Parses the `timeout=N` parameter of a `Keep-Alive` header.
pub(crate) fn keep_alive_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    // A constant name: looking up by `&str` would parse and validate the name on every response.
    const KEEP_ALIVE: http::HeaderName = http::HeaderName::from_static("keep-alive");
    let value = headers.get(KEEP_ALIVE)?.to_str().ok()?;
    value.split(',').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("timeout") {
            return None;
        }
        // A number too large to parse is as good as none.
        let secs: u64 = value.trim().trim_matches('"').parse().ok()?;
        (secs > 0).then(|| Duration::from_secs(secs.min(MAX_KEEP_ALIVE_SECS)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keep_alive_timeout() {
        let mut headers = http::HeaderMap::new();
        headers.insert("keep-alive", "timeout=5, max=100".parse().unwrap());
        assert_eq!(keep_alive_timeout(&headers), Some(Duration::from_secs(5)));
        headers.insert("keep-alive", "max=100, Timeout = 7".parse().unwrap());
        assert_eq!(keep_alive_timeout(&headers), Some(Duration::from_secs(7)));
        headers.insert("keep-alive", "timeout=abc".parse().unwrap());
        assert_eq!(keep_alive_timeout(&headers), None);
        headers.insert("keep-alive", "timeout=0".parse().unwrap());
        assert_eq!(keep_alive_timeout(&headers), None);
        // u64::MAX seconds would overflow an `Instant`: read as a day.
        headers.insert(
            "keep-alive",
            "timeout=18446744073709551615".parse().unwrap(),
        );
        assert_eq!(
            keep_alive_timeout(&headers),
            Some(Duration::from_secs(86_400))
        );
        headers.insert(
            "keep-alive",
            "timeout=99999999999999999999999".parse().unwrap(),
        );
        assert_eq!(keep_alive_timeout(&headers), None);
    }

    /// Requests that give up waiting for a slot (dropped after one poll) do not pile up in the
    /// queue while the slot stays taken.
    #[tokio::test]
    async fn waiters_that_gave_up_do_not_pile_up() {
        use futures_util::FutureExt as _;
        let pool: Pool<crate::Body> = Pool::new(PoolConfig {
            per_host: Some(1),
            total: None,
            idle_timeout: None,
            max_idle_per_host: 1,
        });
        let key: Key = "http://127.0.0.1:9".into();
        // The only slot, held (a connection being opened).
        let Some(Acquired::Connect(_slot)) = pool.acquire(&key, false).now_or_never() else {
            panic!("the first request gets the slot");
        };
        for _ in 0..10_000 {
            assert!(pool.acquire(&key, false).now_or_never().is_none());
        }
        let queued = pool.lock().host_mut(&key).waiters.len();
        assert!(
            queued <= 128,
            "{queued} places kept for requests that gave up"
        );
        // One that stays is still served in turn.
        let mut waiting = Box::pin(pool.acquire(&key, false));
        assert!((&mut waiting).now_or_never().is_none());
        drop(_slot);
        let granted = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        assert!(matches!(granted, Ok(Acquired::Connect(_))));
    }

    #[test]
    fn host_key_includes_default_ports() {
        let key = |uri: &str| {
            let mut out = String::new();
            write_host_key(&mut out, &uri.parse().unwrap());
            out
        };
        assert_eq!(key("http://a.example/x"), "http://a.example:80");
        assert_eq!(key("https://a.example/x"), "https://a.example:443");
        assert_eq!(key("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(key("http://[::1]/"), "http://[::1]:80");
        assert_eq!(key("https://[::1]:8443/"), "https://[::1]:8443");
        assert_eq!(key("http://a.example:/"), "http://a.example:80");
        assert_eq!(key("http://user:pw@a.example:81/"), "http://a.example:81");
    }

    #[test]
    fn unused_host_entries_are_swept_and_their_counters_kept() {
        let pool: Pool<crate::Body> = Pool::new(PoolConfig {
            per_host: None,
            total: None,
            idle_timeout: None,
            max_idle_per_host: usize::MAX,
        });
        let kept: Key = "http://kept.example:80".into();
        let guard = pool.in_flight(&kept);
        for i in 0..1000 {
            let key: Key = format!("http://h{i}.example:80").into();
            pool.lock().host_mut(&key).counters.connects += 1;
        }
        let stats = pool.stats();
        assert!(stats.hosts.len() < 2 * SWEEP_MIN, "{}", stats.hosts.len());
        assert_eq!(stats.connects, 1000);
        assert_eq!(stats.in_flight, 1);
        assert!(stats
            .hosts
            .iter()
            .any(|h| h.host == "http://kept.example:80"));
        drop(guard);
    }
}
