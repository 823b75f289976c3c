//! Spreading HTTP/2 requests over as many connections as the server's stream limit asks for.
//!
//! hyper-util's pool keeps one HTTP/2 connection per host and queues every request on it, and hyper
//! does not tell how many streams the server allows at once. Courier learns that limit itself, by
//! reading the `SETTINGS` frames as they pass through the connection's I/O ([`SettingsScanner`]), and
//! keeps several hyper-util clients ("lanes"), each with its own pool, so each lane holds its own
//! HTTP/2 connection to a host. A request to an HTTP/2 host goes to the first lane with a free stream
//! ([`Http2Host::open_stream`]); when every lane is full, a new lane (so a new connection) is used, up
//! to the per-host connection cap; past the cap, the least loaded lane takes the request and hyper
//! queues it until a stream frees up.
//!
//! Lanes past the first speak HTTP/2 only, so hyper-util opens exactly one connection per lane (the
//! first lane also carries HTTP/1.1 and ALPN negotiation).
//!
//! While the first connection to a host that may speak HTTP/2 (`https` with ALPN, or prior knowledge)
//! is being made, only one request (the probe) goes out; the others wait until ALPN says HTTP/1.1 or
//! the probe has its response head (by then the stream limit is known and the connection is pooled),
//! or the probe failed. So a cold burst neither opens a TLS connection per request only to drop them
//! when ALPN says `h2`, nor piles every request on the first connection.
//!
//! What it does not do: move requests already queued on a connection to a new one, or count streams
//! the server resets; a stream counts as open from the request until its response body ends.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

const UNKNOWN: u8 = 0;
const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

/// What the pool knows about one host's HTTP/2 connections.
pub(crate) struct Http2Host {
    /// The protocol the last connection to the host negotiated.
    protocol: AtomicU8,
    /// A request is making the first connection to the host; the others wait for it.
    probing: AtomicBool,
    /// Woken when a connection to the host turns out to speak HTTP/1.1, or when the probing request
    /// ends (has its response head, failed or was dropped).
    learned: Notify,
    /// The server's `SETTINGS_MAX_CONCURRENT_STREAMS` (unlimited until it says otherwise).
    max_streams: AtomicUsize,
    /// Open streams per lane.
    lanes: Mutex<Vec<usize>>,
}

impl Default for Http2Host {
    fn default() -> Self {
        Http2Host {
            protocol: AtomicU8::new(UNKNOWN),
            probing: AtomicBool::new(false),
            learned: Notify::new(),
            max_streams: AtomicUsize::new(usize::MAX),
            lanes: Mutex::new(Vec::new()),
        }
    }
}

/// Where a request goes.
pub(crate) enum Route {
    /// Lane 0, not counted: the host speaks HTTP/1.1, whose pool opens connections as needed.
    Http1,
    /// The request holds an HTTP/2 stream on this lane (or is the probe, on lane 0).
    Stream(Http2Stream),
    /// The first connection to the host is being made: wait for [`Http2Host::wait_learned`].
    Wait,
}

impl Http2Host {
    /// Routes a request. `may_be_h2` says whether this request could end up on an HTTP/2 connection
    /// at all; `max_lanes` is the per-host connection cap.
    pub(crate) fn route(
        self: &Arc<Self>,
        may_be_h2: bool,
        max_lanes: usize,
        allow_wait: bool,
    ) -> Route {
        let protocol = self.protocol.load(Ordering::Acquire);
        if protocol == HTTP1 || (protocol == UNKNOWN && !may_be_h2) {
            return Route::Http1;
        }
        if allow_wait {
            if self.probing.load(Ordering::Acquire) {
                return Route::Wait;
            }
            if protocol == UNKNOWN {
                if self
                    .probing
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    return Route::Wait;
                }
                let mut stream = self.open_stream(max_lanes);
                stream.probe = true;
                return Route::Stream(stream);
            }
        }
        Route::Stream(self.open_stream(max_lanes))
    }

    /// Resolves when a request that was told to [`Route::Wait`] may be routed again (with
    /// `allow_wait` false, so it never waits twice).
    pub(crate) async fn wait_learned(self: Arc<Self>) {
        loop {
            let learned = self.learned.notified();
            tokio::pin!(learned);
            // Register before checking, so a change in between is not missed.
            learned.as_mut().enable();
            if self.protocol.load(Ordering::Acquire) == HTTP1
                || !self.probing.load(Ordering::Acquire)
            {
                return;
            }
            learned.await;
        }
    }

    /// Takes a stream on the first lane with one free, else on a new lane, else on the least loaded.
    fn open_stream(self: &Arc<Self>, max_lanes: usize) -> Http2Stream {
        let max = self.max_streams.load(Ordering::Acquire).max(1);
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let lane = match lanes.iter().position(|&open| open < max) {
            Some(lane) => lane,
            None if lanes.len() < max_lanes.max(1) => {
                lanes.push(0);
                lanes.len() - 1
            }
            None => (0..lanes.len()).min_by_key(|&i| lanes[i]).unwrap_or(0),
        };
        lanes[lane] += 1;
        Http2Stream {
            host: self.clone(),
            lane,
            probe: false,
        }
    }

    /// A connection to the host was made; `h2` says whether it speaks HTTP/2.
    pub(crate) fn connected(&self, h2: bool) {
        self.protocol
            .store(if h2 { HTTP2 } else { HTTP1 }, Ordering::Release);
        if !h2 {
            // HTTP/1.1 requests cannot share the connection anyway: waiting requests go now. On HTTP/2
            // they wait for the probe's response head: by then the connection is in hyper-util's pool
            // (so they share it instead of each opening one) and its SETTINGS have been read.
            self.learned.notify_waiters();
        }
    }

    /// The server's SETTINGS frame arrived, with its stream limit (`None`: unchanged).
    pub(crate) fn settings_received(&self, max_streams: Option<u32>) {
        if let Some(max) = max_streams {
            self.max_streams.store(max as usize, Ordering::Release);
            tracing::debug!(max_concurrent_streams = max, "HTTP/2 stream limit");
        }
    }
}

/// A request's claim on a stream of a lane's HTTP/2 connection; given back when dropped.
pub(crate) struct Http2Stream {
    host: Arc<Http2Host>,
    lane: usize,
    /// This request makes the first connection to its host; others wait until it is over.
    probe: bool,
}

impl Http2Stream {
    /// The lane (hyper-util client) the request goes out on.
    pub(crate) fn lane(&self) -> usize {
        self.lane
    }

    /// The probing request has its response head: the protocol is known by now.
    pub(crate) fn end_probe(&mut self) {
        if std::mem::take(&mut self.probe) {
            self.host.probing.store(false, Ordering::Release);
            self.host.learned.notify_waiters();
        }
    }
}

impl Drop for Http2Stream {
    fn drop(&mut self) {
        self.end_probe();
        let mut lanes = self.host.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(open) = lanes.get_mut(self.lane) {
            *open = open.saturating_sub(1);
        }
    }
}

/// Reads the frames a server sends on an HTTP/2 connection, as they pass, to learn its
/// `SETTINGS_MAX_CONCURRENT_STREAMS` (RFC 9113 §6.5). Frames may be split across reads anyhow; only
/// frame headers and SETTINGS payloads are looked at, every other payload is skipped.
#[derive(Default)]
pub(crate) struct SettingsScanner {
    header: [u8; 9],
    header_len: usize,
    /// Payload bytes of the current frame not seen yet.
    remaining: usize,
    in_settings: bool,
    param: [u8; 6],
    param_len: usize,
    max_streams: Option<u32>,
}

impl SettingsScanner {
    /// Feeds bytes read from the server; calls `on_settings` at the end of every SETTINGS frame (not
    /// an acknowledgement) with the stream limit it set, if it set one.
    pub(crate) fn scan(&mut self, mut bytes: &[u8], mut on_settings: impl FnMut(Option<u32>)) {
        while !bytes.is_empty() {
            if self.remaining == 0 && !self.in_settings {
                let take = (9 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len < 9 {
                    return;
                }
                self.header_len = 0;
                let h = self.header;
                let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                let (kind, flags) = (h[3], h[4]);
                let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                self.remaining = len;
                // SETTINGS is type 4; flag 1 is ACK, which carries no parameters.
                self.in_settings = kind == 4 && flags & 1 == 0 && stream == 0;
                self.param_len = 0;
                self.max_streams = None;
            } else if self.in_settings {
                let take = (6 - self.param_len).min(bytes.len()).min(self.remaining);
                self.param[self.param_len..self.param_len + take].copy_from_slice(&bytes[..take]);
                self.param_len += take;
                self.remaining -= take;
                bytes = &bytes[take..];
                if self.param_len == 6 {
                    self.param_len = 0;
                    let p = self.param;
                    // SETTINGS_MAX_CONCURRENT_STREAMS is 0x3.
                    if u16::from_be_bytes([p[0], p[1]]) == 3 {
                        self.max_streams = Some(u32::from_be_bytes([p[2], p[3], p[4], p[5]]));
                    }
                }
            } else {
                let skip = self.remaining.min(bytes.len());
                self.remaining -= skip;
                bytes = &bytes[skip..];
            }
            if self.in_settings && self.remaining == 0 {
                self.in_settings = false;
                on_settings(self.max_streams.take());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    fn scan_all(bytes: &[u8], chunk: usize) -> Vec<Option<u32>> {
        let mut scanner = SettingsScanner::default();
        let mut seen = Vec::new();
        for part in bytes.chunks(chunk) {
            scanner.scan(part, |max| seen.push(max));
        }
        seen
    }

    #[test]
    fn finds_max_concurrent_streams_however_the_bytes_are_split() {
        let mut bytes = frame(4, 0, 0, &[0, 4, 0, 0, 0xff, 0xff, 0, 3, 0, 0, 0, 10]);
        bytes.extend(frame(8, 0, 0, &[0, 0, 0, 1])); // WINDOW_UPDATE
        bytes.extend(frame(4, 1, 0, &[])); // SETTINGS ACK
        bytes.extend(frame(0, 1, 1, b"hello, world")); // DATA
        bytes.extend(frame(4, 0, 0, &[])); // empty SETTINGS
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 250]));
        for chunk in [1, 2, 5, 7, 9, 13, bytes.len()] {
            assert_eq!(
                scan_all(&bytes, chunk),
                vec![Some(10), None, Some(250)],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn ignores_settings_on_a_stream_and_odd_lengths() {
        // SETTINGS on a stream is a protocol error hyper reports; the scanner must just not be misled.
        let mut bytes = frame(4, 0, 1, &[0, 3, 0, 0, 0, 1]);
        // A length that is not a multiple of 6 (also an error): the tail is ignored.
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 7, 0, 3, 0]));
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 9]));
        assert_eq!(scan_all(&bytes, 4), vec![Some(7), Some(9)]);
    }

    #[test]
    fn lanes_fill_up_to_the_limit_then_open_new_ones_up_to_the_cap() {
        let host = Arc::new(Http2Host::default());
        host.connected(true);
        host.settings_received(Some(2));
        let streams: Vec<_> = (0..5).map(|_| host.open_stream(2)).collect();
        let lanes: Vec<_> = streams.iter().map(Http2Stream::lane).collect();
        // Two lanes of two, then the cap: the least loaded lane takes the fifth.
        assert_eq!(lanes, [0, 0, 1, 1, 0]);
        drop(streams);
        assert_eq!(*host.lanes.lock().unwrap(), [0, 0]);
    }

    #[test]
    fn one_probe_at_a_time_until_the_protocol_is_known() {
        let host = Arc::new(Http2Host::default());
        let Route::Stream(mut probe) = host.route(true, 8, true) else {
            panic!("first request probes")
        };
        assert!(matches!(host.route(true, 8, true), Route::Wait));
        assert!(matches!(host.route(false, 8, true), Route::Http1));
        // HTTP/2 negotiated: still wait for the probe's response.
        host.connected(true);
        assert!(matches!(host.route(true, 8, true), Route::Wait));
        assert!(matches!(host.route(true, 8, false), Route::Stream(_)));
        probe.end_probe();
        assert!(matches!(host.route(true, 8, true), Route::Stream(_)));
        host.connected(false);
        assert!(matches!(host.route(true, 8, true), Route::Http1));
    }
}
