//! HTTP/2 connections: the handshake, the task that drives the connection, and learning the server's
//! stream limit.
//!
//! hyper does not say when the server's SETTINGS arrive, nor what `SETTINGS_MAX_CONCURRENT_STREAMS`
//! they set, and the pool needs both: a new connection takes more requests only once the server has
//! said how many. [`SettingsScanner`] reads the frames as they pass through the connection's I/O
//! ([`SettingsIo`]) and tells the pool (`Pool::settings_received`). Only frame headers and SETTINGS
//! payloads are looked at; every other payload is skipped without copying.
//!
//! What it does not do: choose connections (the pool), or replay refused streams (the transport,
//! from `classify`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;

use hyper::client::conn::http2;
use hyper_util::rt::TokioIo;

use super::checkout::{Checkout, ConnectSlot};
use super::connect::{Connected, ReadTap, Tapped};
use super::pool::ConnectionGone;
use crate::error::{BoxError, Error};

/// Performs the HTTP/2 handshake over `connected` and starts the connection's task; the slot becomes
/// the connection, with a stream for the request that opened it.
pub(crate) async fn handshake<B>(
    builder: &http2::Builder<BoxingExecutor>,
    connected: Connected,
    slot: ConnectSlot<B>,
) -> Result<Checkout<B>, Error>
where
    B: http_body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let meta = Arc::new(connected.meta);
    let key = slot.key().clone();
    let id = meta.id;
    let pool = Arc::downgrade(&slot.pool().inner);
    let settings_pool = pool.clone();
    let settings_key = key.clone();
    let settings_meta = meta.clone();
    let socket_open = Arc::new(std::sync::OnceLock::new());
    let tap = SettingsTap {
        _counted: socket_open.clone(),
        scanner: SettingsScanner::default(),
        on_settings: Box::new(move |max| {
            // hyper starts reading during the handshake, so this may run before the pool knows the
            // connection: the facts go on the connection first, for the pool to find either way.
            if let Some(max) = max {
                settings_meta
                    .max_streams
                    .store(max as usize, std::sync::atomic::Ordering::Release);
            }
            settings_meta
                .settings_seen
                .store(true, std::sync::atomic::Ordering::Release);
            if let Some(inner) = settings_pool.upgrade() {
                super::pool::Pool { inner }.settings_received(&settings_key, id);
            }
        }),
    };
    let io = SettingsIo {
        io: connected.stream,
        tap,
    };
    let (sender, conn) = match builder.handshake(TokioIo::new(io)).await {
        Ok(handshake) => handshake,
        Err(err) => {
            slot.failed();
            return Err(Error::connect(err));
        }
    };
    let checkout = slot.into_h2(sender, meta.clone());
    // hyper drives the socket in a task of its own, which outlives this one after a GOAWAY while
    // the streams already open finish: the connection counts until both have ended.
    let gone = Arc::new(ConnectionGone { pool, key, meta });
    let _ = socket_open.set(gone.clone() as Arc<dyn std::any::Any + Send + Sync>);
    drop(socket_open);
    let task = async move {
        if let Err(err) = conn.await {
            tracing::debug!(id, error = %err, "HTTP/2 connection failed");
        }
        drop(gone);
    };
    tokio::spawn(tracing::Instrument::in_current_span(task));
    Ok(checkout)
}

/// The executor hyper spawns its HTTP/2 futures on: one per request (waiting for the response),
/// one per streaming request body, one per connection.
///
/// hyper gives every one of them the same type, an enum as large as its biggest variant, the
/// connection's whole state (codec buffers, HPACK tables). Spawned as it is, each request's task cell
/// holds that much, copied in on spawn and again as the task moves through its stages; boxed first,
/// the cell holds a pointer and the one copy is into the box. (hyper-util's legacy client boxes too;
/// measured with `TokioExecutor` instead, Courier's transport ran ~4,000 more instructions per h2c
/// request than hyper-util's client, half of them in `memcpy`.)
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BoxingExecutor;

impl<F> hyper::rt::Executor<F> for BoxingExecutor
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        let future: Pin<Box<dyn std::future::Future<Output = ()> + Send>> = Box::pin(future);
        tokio::spawn(future);
    }
}

/// The connection's I/O, with the server's frames read as they pass.
pub(crate) type SettingsIo = Tapped<SettingsTap>;

/// Scans what an HTTP/2 connection reads for the server's SETTINGS.
pub(crate) struct SettingsTap {
    /// The connection's [`ConnectionGone`] once the handshake succeeded: held, never read, so that it
    /// is dropped with the socket.
    _counted: Arc<std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>>,
    scanner: SettingsScanner,
    on_settings: Box<dyn FnMut(Option<u32>) + Send + Sync>,
}

impl ReadTap for SettingsTap {
    fn read(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.scanner
            .scan(bytes, &mut self.on_settings)
            .map_err(|err| {
                let what = match err {
                    // RFC 9113 §3.4: a server's preface is a SETTINGS frame, and anything else is a
                    // connection error. h2 does not check; without this, a server that skips it (or
                    // speaks HTTP/1.1 after choosing h2) held every request queued on the
                    // connection.
                    ScanError::FirstFrame(first) if first.starts_with(b"HTTP/") => {
                        "the server answered in HTTP/1 on a connection it agreed would speak HTTP/2"
                    }
                    ScanError::FirstFrame(_) => {
                        "the server's first HTTP/2 frame was not SETTINGS (RFC 9113 §3.4)"
                    }
                    // RFC 9113 §6.5.2, which h2 does not check either (it accepts 0 and 1 from
                    // either side).
                    ScanError::EnablePush => {
                        "the server sent SETTINGS_ENABLE_PUSH = 1, which only a client may \
                         (RFC 9113 §6.5.2)"
                    }
                };
                io::Error::new(io::ErrorKind::InvalidData, what)
            })
    }
}

/// What [`SettingsScanner::scan`] refuses: connection errors h2 lets pass.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// The server's first frame, with this header, was not SETTINGS.
    FirstFrame([u8; 9]),
    /// The server's SETTINGS set `SETTINGS_ENABLE_PUSH` to 1.
    EnablePush,
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
    /// The first frame's header has been checked (see [`SettingsScanner::scan`]).
    first_seen: bool,
}

impl SettingsScanner {
    /// Feeds bytes read from the server; calls `on_settings` at the end of every SETTINGS frame (not
    /// an acknowledgement) with the stream limit it set, if it set one. Fails with the first frame's
    /// header when that frame is not a SETTINGS frame, as the server's preface must be, and when a
    /// server's SETTINGS turns push on.
    pub(crate) fn scan(
        &mut self,
        mut bytes: &[u8],
        mut on_settings: impl FnMut(Option<u32>),
    ) -> Result<(), ScanError> {
        while !bytes.is_empty() {
            if self.remaining == 0 && !self.in_settings {
                let take = (9 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len < 9 {
                    return Ok(());
                }
                self.header_len = 0;
                let h = self.header;
                let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                let (kind, flags) = (h[3], h[4]);
                let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                self.remaining = len;
                // SETTINGS is type 4; flag 1 is ACK, which carries no parameters.
                self.in_settings = kind == 4 && flags & 1 == 0 && stream == 0;
                if !self.first_seen {
                    self.first_seen = true;
                    if !self.in_settings {
                        return Err(ScanError::FirstFrame(h));
                    }
                }
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
                    let value = u32::from_be_bytes([p[2], p[3], p[4], p[5]]);
                    match u16::from_be_bytes([p[0], p[1]]) {
                        // SETTINGS_ENABLE_PUSH (any other value than 0 or 1, h2 refuses).
                        2 if value == 1 => return Err(ScanError::EnablePush),
                        // SETTINGS_MAX_CONCURRENT_STREAMS.
                        3 => self.max_streams = Some(value),
                        _ => {}
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{ScanError, SettingsScanner};

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
            scanner.scan(part, |max| seen.push(max)).unwrap();
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
        let mut bytes = frame(4, 0, 0, &[]);
        bytes.extend(frame(4, 0, 1, &[0, 3, 0, 0, 0, 1]));
        // A length that is not a multiple of 6 (also an error): the tail is ignored.
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 7, 0, 3, 0]));
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 9]));
        assert_eq!(scan_all(&bytes, 4), vec![None, Some(7), Some(9)]);
    }

    #[test]
    fn a_first_frame_other_than_settings_is_refused() {
        for first in [
            frame(1, 4, 1, &[0x88]), // HEADERS
            frame(4, 1, 0, &[]),     // a SETTINGS ACK
            frame(4, 0, 1, &[]),     // SETTINGS on a stream
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
        ] {
            for chunk in [1, 4, first.len()] {
                let mut scanner = SettingsScanner::default();
                let result = first
                    .chunks(chunk)
                    .try_for_each(|part| scanner.scan(part, |_| {}));
                let err = result.expect_err("refused");
                let header: [u8; 9] = first[..9].try_into().unwrap();
                assert_eq!(err, ScanError::FirstFrame(header), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn a_server_turning_push_on_is_refused() {
        // ENABLE_PUSH = 0 is what a server may say (RFC 9113 §6.5.2): passes.
        let bytes = frame(4, 0, 0, &[0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 5]);
        assert_eq!(scan_all(&bytes, 5), vec![Some(5)]);
        let mut bytes = frame(4, 0, 0, &[]);
        bytes.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 5, 0, 2, 0, 0, 0, 1]));
        for chunk in [1, 7, bytes.len()] {
            let mut scanner = SettingsScanner::default();
            let result = bytes
                .chunks(chunk)
                .try_for_each(|part| scanner.scan(part, |_| {}));
            assert_eq!(result, Err(ScanError::EnablePush), "chunk {chunk}");
        }
    }
}
