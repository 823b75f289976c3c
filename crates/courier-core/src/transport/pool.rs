//! Connection limits, keep-alive awareness and statistics, on top of hyper-util's legacy pool.
//!
//! hyper-util's pool (what reqwest uses) keeps idle connections and hands them out, but it never limits
//! how many connections it opens and cannot tell what it is doing. Rather than replace it, Courier wraps
//! the connector it calls:
//!
//! - **Limits.** Opening a connection first takes a permit from the host's semaphore and from the
//!   total one. The permits live inside the connection's I/O object, so they are held for as long as
//!   the connection exists, in use or idle, and come back when it closes. Tokio's semaphores are fair,
//!   so waiting requests are served first come, first served; a waiting request is bounded by its own
//!   timeout. While a request waits for a permit, the pool may also hand it an idle connection that
//!   another request released, whichever comes first. Idle connections keep their permits until they
//!   expire (`pool_idle_timeout`): under the total limit, a request for a host with no connection waits
//!   for a connection of another host to close or expire.
//! - **Keep-alive awareness.** When an HTTP/1.1 response says `Keep-Alive: timeout=N`, the connection
//!   closes itself after it has been idle (no request written since its last response body ended) for a
//!   little less than `N` seconds, before the server would, so it is never handed out just as the server
//!   hangs up. A connection the server closed while idle is seen by hyper (it keeps reading idle
//!   connections) and dropped before reuse.
//! - **Statistics.** Every connection counts itself in its host's entry: [`PoolStats`].
//!
//! - **HTTP/2 stream limits.** Each connection reports whether it speaks HTTP/2, and an HTTP/2
//!   connection reads the server's SETTINGS as they pass, so the transport can open another connection
//!   when the server's stream limit is reached (the `http2` module).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower_service::Service;

use super::http2::{Http2Host, SettingsScanner};
use crate::error::BoxError;

/// How long before the server's keep-alive timeout Courier gives up an idle connection.
const KEEP_ALIVE_MARGIN: Duration = Duration::from_millis(500);

/// The limits a pool enforces.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PoolLimits {
    pub(crate) per_host: Option<usize>,
    pub(crate) total: Option<usize>,
}

/// Shared state of one transport's pool: limits, per-host entries, counters.
#[derive(Clone)]
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    limits: PoolLimits,
    /// Every connection speaks HTTP/2 (prior knowledge), whatever ALPN said.
    http2_only: bool,
    total: Option<Arc<Semaphore>>,
    hosts: Mutex<Hosts>,
    /// The origin of the millisecond clocks connections keep.
    epoch: Instant,
}

/// The host table. Entries nobody uses any more (no connection, no request) are dropped when the table
/// has doubled since the last sweep, so a client that talks to many hosts over its life does not grow
/// without bound; their counters move to `retired`, so totals stay whole.
struct Hosts {
    map: HashMap<String, Arc<HostEntry>>,
    sweep_at: usize,
    retired: Counters,
}

/// The smallest table size at which unused entries are swept.
const SWEEP_MIN: usize = 256;

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

impl Hosts {
    fn sweep(&mut self) {
        let retired = &mut self.retired;
        self.map.retain(|_, entry| {
            // The table's own reference is the only one: no connection, request or waiting attempt.
            let used = Arc::strong_count(entry) > 1;
            if !used {
                retired.add(entry.counters());
            }
            used
        });
        self.sweep_at = (self.map.len() * 2).max(SWEEP_MIN);
    }
}

#[derive(Default)]
struct HostEntry {
    permits: Option<Arc<Semaphore>>,
    open: AtomicUsize,
    /// Open connections with no request on them.
    idle: AtomicUsize,
    in_flight: AtomicUsize,
    /// Requests in flight that have not been given a connection yet (counted only under limits).
    unassigned: AtomicUsize,
    /// Woken whenever a request gets its connection or goes away, so connection attempts waiting for a
    /// permit can check whether a request still needs them.
    assignment_changed: tokio::sync::Notify,
    waiting: AtomicUsize,
    connects: AtomicU64,
    reuses: AtomicU64,
    expired: AtomicU64,
    closed_by_peer: AtomicU64,
    http2: Arc<Http2Host>,
}

impl Pool {
    pub(crate) fn new(limits: PoolLimits, http2_only: bool) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                limits,
                http2_only,
                total: limits.total.map(|n| Arc::new(Semaphore::new(n))),
                hosts: Mutex::new(Hosts {
                    map: HashMap::new(),
                    sweep_at: SWEEP_MIN,
                    retired: Counters::default(),
                }),
                epoch: Instant::now(),
            }),
        }
    }

    /// True when connection limits are set: only then do requests wait for permits, and only then is it
    /// worth tracking which requests have a connection.
    pub(crate) fn has_limits(&self) -> bool {
        self.shared.limits.per_host.is_some() || self.shared.limits.total.is_some()
    }

    fn host(&self, uri: &Uri) -> Arc<HostEntry> {
        thread_local! {
            // The key is built in a reused buffer: this lookup runs for every request.
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            key.clear();
            write_host_key(&mut key, uri);
            let mut hosts = self.shared.hosts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = hosts.map.get(key.as_str()) {
                return entry.clone();
            }
            if hosts.map.len() >= hosts.sweep_at {
                hosts.sweep();
            }
            let entry = Arc::new(HostEntry {
                permits: self
                    .shared
                    .limits
                    .per_host
                    .map(|n| Arc::new(Semaphore::new(n))),
                ..HostEntry::default()
            });
            hosts.map.insert(key.clone(), entry.clone());
            entry
        })
    }

    /// Counts a request in flight to `uri`'s host until the guard drops; with `track_assignment`, also
    /// as lacking a connection until [`InFlight::assigned`].
    pub(crate) fn in_flight(&self, uri: &Uri, track_assignment: bool) -> InFlight {
        let entry = self.host(uri);
        entry.in_flight.fetch_add(1, Ordering::SeqCst);
        if track_assignment {
            entry.unassigned.fetch_add(1, Ordering::SeqCst);
        }
        InFlight {
            entry,
            unassigned: track_assignment,
        }
    }

    /// A snapshot of the pool's counters.
    pub(crate) fn stats(&self) -> PoolStats {
        let hosts = self.shared.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let mut stats = PoolStats::default();
        let mut totals = hosts.retired;
        for (key, entry) in hosts.map.iter() {
            let counters = entry.counters();
            totals.add(counters);
            let host = HostStats {
                host: key.clone(),
                open: entry.open.load(Ordering::Relaxed),
                in_flight: entry.in_flight.load(Ordering::Relaxed),
                waiting: entry.waiting.load(Ordering::Relaxed),
                connects: counters.connects,
                reuses: counters.reuses,
                expired: counters.expired,
                closed_by_peer: counters.closed_by_peer,
            };
            stats.open += host.open;
            stats.in_flight += host.in_flight;
            stats.waiting += host.waiting;
            stats.hosts.push(host);
        }
        stats.connects = totals.connects;
        stats.reuses = totals.reuses;
        stats.expired = totals.expired;
        stats.closed_by_peer = totals.closed_by_peer;
        stats.hosts.sort_by(|a, b| a.host.cmp(&b.host));
        stats
    }
}

impl HostEntry {
    fn counters(&self) -> Counters {
        Counters {
            connects: self.connects.load(Ordering::Relaxed),
            reuses: self.reuses.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            closed_by_peer: self.closed_by_peer.load(Ordering::Relaxed),
        }
    }
}

/// Writes `scheme://host:port`, the unit limits apply to. This runs for every request, so it copies
/// the authority as it is rather than parsing host and port out of it and formatting them again.
fn write_host_key(out: &mut String, uri: &Uri) {
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map_or("", |a| a.as_str());
    // Credentials never reach the transport in a URI, but a hand-built request could carry them.
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

/// A request in flight to a host: decrements the counts when dropped.
pub(crate) struct InFlight {
    entry: Arc<HostEntry>,
    unassigned: bool,
}

impl InFlight {
    /// The request was given a connection.
    pub(crate) fn assigned(&mut self) {
        if std::mem::take(&mut self.unassigned) {
            self.entry.unassigned.fetch_sub(1, Ordering::SeqCst);
            self.entry.assignment_changed.notify_waiters();
        }
    }

    /// True when the host has idle connections: this request may go out on a reused one.
    pub(crate) fn host_has_idle_connections(&self) -> bool {
        self.entry.idle.load(Ordering::Relaxed) > 0
    }

    /// The host's HTTP/2 state: protocol, stream limit, streams per lane.
    pub(crate) fn http2(&self) -> &Arc<Http2Host> {
        &self.entry.http2
    }

    /// True while the request waits for a connection (and that is being tracked).
    pub(crate) fn is_unassigned(&self) -> bool {
        self.unassigned
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.entry.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.assigned();
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
    /// Requests sent and waiting for their response head.
    pub in_flight: usize,
    /// Connection attempts waiting for a permit (a limit is reached).
    pub waiting: usize,
    /// Connections opened so far.
    pub connects: u64,
    /// Responses that came over a connection used before.
    pub reuses: u64,
    /// Idle connections closed before the server's keep-alive timeout.
    pub expired: u64,
    /// Connections the server closed.
    pub closed_by_peer: u64,
    /// The same counters per `scheme://host:port`, sorted. A host with no connection and no request
    /// may be left out once the client has talked to many hosts (its counters stay in the totals).
    pub hosts: Vec<HostStats>,
}

/// [`PoolStats`] for one `scheme://host:port`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostStats {
    /// `scheme://host:port`.
    pub host: String,
    /// Connections open now.
    pub open: usize,
    /// Requests waiting for their response head.
    pub in_flight: usize,
    /// Connection attempts waiting for a permit.
    pub waiting: usize,
    /// Connections opened so far.
    pub connects: u64,
    /// Responses over a reused connection.
    pub reuses: u64,
    /// Idle connections closed before the server's keep-alive timeout.
    pub expired: u64,
    /// Connections the server closed.
    pub closed_by_peer: u64,
}

/// The connector wrapper that enforces the limits and tags each connection with its [`ConnState`].
#[derive(Clone)]
pub(crate) struct PoolConnector<C> {
    inner: C,
    pool: Pool,
}

impl<C> PoolConnector<C> {
    pub(crate) fn new(inner: C, pool: Pool) -> Self {
        PoolConnector { inner, pool }
    }
}

impl<C> Service<Uri> for PoolConnector<C>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = PooledIo<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let entry = self.pool.host(&uri);
        let shared = self.pool.shared.clone();
        // `poll_ready` was called on `self.inner`; the clone takes its place for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // One span per connection, from the wait for a permit to the close; the URI carries no
        // credentials (those travel in headers).
        let span = tracing::debug_span!("connection", host = %uri.authority().map_or("", |a| a.as_str()), scheme = uri.scheme_str().unwrap_or(""));
        let connect_span = span.clone();
        let connect = async move {
            let permits = acquire(&entry, &shared).await?;
            let io = inner.call(uri).await.map_err(|e| {
                let e: BoxError = e.into();
                tracing::debug!(error = %e, "connect failed");
                e
            })?;
            let h2 = shared.http2_only || io.connected().is_negotiated_h2();
            entry.http2.connected(h2);
            entry.connects.fetch_add(1, Ordering::Relaxed);
            entry.open.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                open = entry.open.load(Ordering::Relaxed),
                h2,
                "connection opened"
            );
            let state = ConnState {
                entry,
                keep_alive_ms: AtomicU64::new(0),
                last_activity_ms: AtomicU64::new(0),
                busy: AtomicBool::new(false),
                responses: AtomicU64::new(0),
                shared,
            };
            state.entry.idle.fetch_add(1, Ordering::Relaxed);
            state.touch();
            Ok(PooledIo {
                span,
                io,
                state: Arc::new(state),
                idle_timer: None,
                settings: h2.then(SettingsScanner::default),
                _permits: permits,
            })
        };
        Box::pin(tracing::Instrument::instrument(connect, connect_span))
    }
}

async fn acquire(
    entry: &HostEntry,
    shared: &Shared,
) -> Result<(Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>), BoxError> {
    let host = match &entry.permits {
        Some(sem) => Some(acquire_one(entry, sem.clone()).await?),
        None => None,
    };
    let total = match &shared.total {
        Some(sem) => Some(acquire_one(entry, sem.clone()).await?),
        None => None,
    };
    Ok((host, total))
}

/// Waits for a permit.
///
/// hyper-util starts a connection attempt for a request and, when an idle connection frees up first,
/// hands the request that one and lets the attempt finish in the background. Such an attempt, still
/// waiting for a permit, would later open a connection nobody needs; so whenever a request of this host
/// gets its connection (or goes away), a waiting attempt checks whether any request still lacks one, and
/// gives up if none does.
async fn acquire_one(
    entry: &HostEntry,
    sem: Arc<Semaphore>,
) -> Result<OwnedSemaphorePermit, BoxError> {
    if let Ok(permit) = sem.clone().try_acquire_owned() {
        return Ok(permit);
    }
    entry.waiting.fetch_add(1, Ordering::Relaxed);
    let _waiting = scopeguard(|| {
        entry.waiting.fetch_sub(1, Ordering::Relaxed);
    });
    let acquire = sem.acquire_owned();
    tokio::pin!(acquire);
    loop {
        let changed = entry.assignment_changed.notified();
        tokio::pin!(changed);
        // Register for the notification before checking, so a change in between is not missed.
        changed.as_mut().enable();
        if entry.unassigned.load(Ordering::SeqCst) == 0 {
            return Err(
                "connection attempt no longer needed: every request has a connection".into(),
            );
        }
        tokio::select! {
            permit = &mut acquire => {
                // The permit may come long after the request that started this attempt was served by
                // another connection: then it goes straight back to whoever waits next.
                if entry.unassigned.load(Ordering::SeqCst) == 0 {
                    return Err("connection attempt no longer needed: every request has a connection".into());
                }
                return Ok(permit?);
            }
            _ = changed => {}
        }
    }
}

fn scopeguard<F: FnMut()>(f: F) -> impl Drop {
    struct Guard<F: FnMut()>(F);
    impl<F: FnMut()> Drop for Guard<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    Guard(f)
}

/// Per-connection state, shared between the connection's I/O and the responses it carried (through the
/// `Connected` extras that hyper-util copies into each response's extensions).
pub(crate) struct ConnState {
    shared: Arc<Shared>,
    entry: Arc<HostEntry>,
    keep_alive_ms: AtomicU64,
    /// Milliseconds since `shared.epoch` of when the connection last became idle (opened, or a response
    /// ended). Only idle time counts against the keep-alive timeout, so the clock is read only then.
    last_activity_ms: AtomicU64,
    /// A request was written and its response body has not ended yet.
    busy: AtomicBool,
    responses: AtomicU64,
}

impl ConnState {
    /// A request is being written on this connection.
    fn mark_busy(&self) {
        if !self.busy.swap(true, Ordering::Relaxed) {
            self.entry.idle.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn touch(&self) {
        let now = self.shared.epoch.elapsed().as_millis() as u64;
        self.last_activity_ms.store(now, Ordering::Relaxed);
    }

    /// When an idle connection must be given up, if the server announced a keep-alive timeout.
    fn idle_deadline(&self) -> Option<Instant> {
        let ms = self.keep_alive_ms.load(Ordering::Relaxed);
        if ms == 0 || self.busy.load(Ordering::Relaxed) {
            return None;
        }
        let timeout = Duration::from_millis(ms);
        let timeout = timeout.saturating_sub(KEEP_ALIVE_MARGIN.min(timeout / 2));
        let last = Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        Some(self.shared.epoch + last + timeout)
    }
}

/// The handle to a connection's state found in response extensions.
#[derive(Clone)]
pub(crate) struct ConnInfo(pub(crate) Arc<ConnState>);

impl ConnInfo {
    /// Called when a response head arrived over this connection.
    pub(crate) fn response_received(&self, headers: &http::HeaderMap) {
        let state = &self.0;
        if state.responses.fetch_add(1, Ordering::Relaxed) > 0 {
            state.entry.reuses.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(timeout) = keep_alive_timeout(headers) {
            state
                .keep_alive_ms
                .store(timeout.as_millis() as u64, Ordering::Relaxed);
        }
    }

    /// Called when a response body ended or was dropped: the connection is idle from now on (until a
    /// request is written on it again).
    pub(crate) fn response_done(&self) {
        if self.0.busy.swap(false, Ordering::Relaxed) {
            self.0.entry.idle.fetch_add(1, Ordering::Relaxed);
        }
        self.0.touch();
    }
}

/// The `timeout=N` parameter of a `Keep-Alive` header.
fn keep_alive_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    // A constant name: looking up by `&str` would parse and validate the name on every response.
    const KEEP_ALIVE: http::HeaderName = http::HeaderName::from_static("keep-alive");
    let value = headers.get(KEEP_ALIVE)?.to_str().ok()?;
    value.split(',').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("timeout") {
            return None;
        }
        let secs: u64 = value.trim().trim_matches('"').parse().ok()?;
        (secs > 0).then(|| Duration::from_secs(secs))
    })
}

/// A connection's I/O: holds the pool permits for the connection's lifetime and closes the connection
/// when it has idled past the server's keep-alive timeout.
pub(crate) struct PooledIo<T> {
    io: T,
    span: tracing::Span,
    state: Arc<ConnState>,
    idle_timer: Option<Pin<Box<Sleep>>>,
    /// On an HTTP/2 connection: reads the server's SETTINGS for its stream limit.
    settings: Option<SettingsScanner>,
    _permits: (Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>),
}

impl<T> Drop for PooledIo<T> {
    fn drop(&mut self) {
        if !self.state.busy.load(Ordering::Relaxed) {
            self.state.entry.idle.fetch_sub(1, Ordering::Relaxed);
        }
        self.state.entry.open.fetch_sub(1, Ordering::Relaxed);
        tracing::debug!(parent: &self.span, responses = self.state.responses.load(Ordering::Relaxed), "connection closed");
    }
}

impl<T: Read + Unpin> Read for PooledIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        // hyper reads idle connections to notice when the server closes them; that read is where an idle
        // connection past its keep-alive deadline ends itself (an EOF, as if the server had closed it).
        if !this.state.busy.load(Ordering::Relaxed) {
            if let Some(deadline) = this.state.idle_deadline() {
                let timer = this
                    .idle_timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if Instant::now() >= deadline || timer.as_mut().poll(cx).is_ready() {
                    this.state.entry.expired.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(parent: &this.span, "idle connection expired before the server's keep-alive timeout");
                    return Poll::Ready(Ok(()));
                }
            }
        }
        // Read through a `ReadBuf` of our own over the caller's unfilled bytes (as hyper-util's `TokioIo`
        // does) so we learn how many bytes came: any is activity, none with room to spare is the peer's EOF.
        // SAFETY: `ReadBuf::uninit` never de-initializes bytes, and we advance the caller's cursor by
        // exactly the number of bytes the inner read filled.
        let capacity = buf.remaining();
        let filled = unsafe {
            let mut inner_buf = hyper::rt::ReadBuf::uninit(buf.as_mut());
            match Pin::new(&mut this.io).poll_read(cx, inner_buf.unfilled()) {
                Poll::Ready(Ok(())) => {
                    if let Some(scanner) = &mut this.settings {
                        let http2 = &this.state.entry.http2;
                        scanner.scan(inner_buf.filled(), |max| http2.settings_received(max));
                    }
                    inner_buf.filled().len()
                }
                other => return other,
            }
        };
        unsafe { buf.advance(filled) };
        if filled == 0 && capacity > 0 {
            this.state
                .entry
                .closed_by_peer
                .fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: Write + Unpin> Write for PooledIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.state.mark_busy();
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.state.mark_busy();
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<T: Connection> Connection for PooledIo<T> {
    fn connected(&self) -> Connected {
        self.io.connected().extra(ConnInfo(self.state.clone()))
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("limits", &self.shared.limits)
            .finish()
    }
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
    }

    #[test]
    fn unused_host_entries_are_swept_and_their_counters_kept() {
        let pool = Pool::new(PoolLimits::default(), false);
        let kept = pool.in_flight(&"http://kept.example/".parse().unwrap(), false);
        for i in 0..1000 {
            let uri: Uri = format!("http://h{i}.example/").parse().unwrap();
            pool.host(&uri).connects.fetch_add(1, Ordering::Relaxed);
        }
        let stats = pool.stats();
        assert!(stats.hosts.len() < 2 * SWEEP_MIN, "{}", stats.hosts.len());
        assert_eq!(stats.connects, 1000);
        assert_eq!(stats.in_flight, 1);
        assert!(stats
            .hosts
            .iter()
            .any(|h| h.host == "http://kept.example:80"));
        drop(kept);
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
}
