//! The hostile-server suite: servers that lie, stall, flood, reset and redirect forever, played with
//! hand-written bytes ([`RawServer`]) or misconfigured TLS ([`TestServer`]), against the `Client` facade.
//!
//! Every case asserts the exact error kind, that the error arrives before a hang guard fires (the guards
//! are generous: they catch hangs, they do not measure speed), that the client reads a bounded amount
//! where a server tries to make it buffer without end, and that the same `Client` then completes a normal
//! request.

use std::error::Error as StdError;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use courier::redirect::Policy;
use courier::Client;
use courier_core::decompression::{DecodeError, SizeLimitExceeded};
use courier_core::redirect::{InvalidLocation, RedirectLoop, TooManyRedirects, UnsupportedScheme};
use courier_testkit::client::{assert_still_works, get_body_error, get_bytes, trusting, within};
use courier_testkit::tls::TestCerts;
use courier_testkit::{
    full, read_request, read_request_head, redirect, respond, RawServer, TestServer, Then,
};
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// The first cause of type `T` in `err`'s source chain. An `io::Error` wrapping another error is looked
/// into (its `source()` skips the wrapped error and returns that error's source).
fn cause<T: StdError + 'static>(err: &courier::Error) -> Option<&T> {
    let mut next = err.source();
    while let Some(cur) = next {
        if let Some(found) = cur.downcast_ref::<T>() {
            return Some(found);
        }
        next = match cur.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cur.source(),
        };
    }
    None
}

/// The kind of the first `io::Error` in `err`'s source chain.
fn io_kind(err: &courier::Error) -> Option<std::io::ErrorKind> {
    cause::<std::io::Error>(err).map(std::io::Error::kind)
}

/// The hyper error in `err`'s source chain; panics if there is none.
fn hyper_cause(err: &courier::Error) -> &hyper::Error {
    cause::<hyper::Error>(err).unwrap_or_else(|| panic!("no hyper::Error in {err:?}"))
}

/// A GET that must fail before the body is read (while waiting for the response head).
async fn get_head_error(client: &Client, url: &str) -> courier::Error {
    within(10, client.get(url).send()).await.unwrap_err()
}

/// A server that writes `prefix`, then `filler` over and over, for as long as the client reads (up to
/// `cap` bytes). It records how many bytes it got out and whether a write failed (the client closed the
/// connection), so a test can check that the client stopped reading instead of buffering without end.
struct Flood {
    server: RawServer,
    written: Arc<AtomicU64>,
    cut_off: Arc<AtomicBool>,
}

impl Flood {
    async fn start(prefix: &'static [u8], filler: &'static [u8], cap: u64) -> Flood {
        let written = Arc::new(AtomicU64::new(0));
        let cut_off = Arc::new(AtomicBool::new(false));
        let (w, c) = (written.clone(), cut_off.clone());
        let server = RawServer::start(move |mut stream, _| {
            let (written, cut_off) = (w.clone(), c.clone());
            async move {
                let _ = read_request_head(&mut stream).await;
                let mut total = 0u64;
                let mut result = stream.write_all(prefix).await;
                while result.is_ok() && total < cap {
                    result = stream.write_all(filler).await;
                    total += filler.len() as u64;
                    written.store(total, Ordering::SeqCst);
                }
                if result.is_err() {
                    cut_off.store(true, Ordering::SeqCst);
                }
                Then::Hold.finish(stream).await;
            }
        })
        .await;
        Flood {
            server,
            written,
            cut_off,
        }
    }

    /// Waits until the client has closed the connection under the server's writes; returns how many
    /// filler bytes the server got out (socket buffers included).
    async fn assert_cut_off(&self, cap: u64) -> u64 {
        within(10, async {
            while !self.cut_off.load(Ordering::SeqCst) {
                assert!(
                    self.written.load(Ordering::SeqCst) < cap,
                    "the client read all {cap} bytes instead of giving up"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        self.written.load(Ordering::SeqCst)
    }
}

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Message framing
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn truncated_body_with_content_length_is_a_body_error() {
    let server = RawServer::reply(
        &b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly 17 bytes ..."[..],
        Then::Close,
    )
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    assert_eq!(
        io_kind(&err),
        Some(std::io::ErrorKind::UnexpectedEof),
        "{err:?}"
    );
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert_still_works(&client).await;
}

/// Bytes after the declared length are not the body, and must never be taken for the next response on
/// the connection (response smuggling): here they are a complete, valid response.
#[tokio::test]
async fn bytes_past_content_length_are_not_read_as_the_next_response() {
    let server = RawServer::start(|mut stream, conn| async move {
        let _ = read_request_head(&mut stream).await;
        let reply: &[u8] = if conn == 0 {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
              HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhonest"
        };
        let _ = stream.write_all(reply).await;
        // Keep the connection open, so that only the client can decide not to reuse it.
        Then::Hold.finish(stream).await;
    })
    .await;
    let client = Client::new();
    let first = within(10, get_bytes(&client, &server.url("/1"))).await;
    assert_eq!(first, "hello");
    let second = within(10, get_bytes(&client, &server.url("/2"))).await;
    assert_eq!(second, "honest");
    assert_eq!(server.connections(), 2);
    assert_still_works(&client).await;
}

#[tokio::test]
async fn invalid_chunk_sizes_are_body_errors() {
    let client = Client::new();
    let bad_sizes: [&[u8]; 6] = [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        // 2^68: overflows u64.
        b"100000000000000000\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"5 5\r\nhello\r\n0\r\n\r\n",
        // The chunk is longer than its size says: the data does not end with CRLF.
        b"2\r\nhello\r\n0\r\n\r\n",
    ];
    for body in bad_sizes {
        let mut reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        reply.extend_from_slice(body);
        let server = RawServer::reply(reply, Then::Hold).await;
        let err = get_body_error(&client, &server.url("/")).await;
        assert!(
            err.is_body(),
            "{:?}: {err:?}",
            String::from_utf8_lossy(body)
        );
    }
    assert_still_works(&client).await;
}

#[tokio::test]
async fn missing_final_chunk_then_close_is_a_body_error() {
    let server = RawServer::reply(
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"[..],
        Then::Close,
    )
    .await;
    let client = Client::new();
    // The chunks that did arrive are delivered, then the error.
    let (first, err) = within(10, async {
        let mut response = client.get(server.url("/")).send().await.unwrap();
        let first = response.chunk().await.unwrap();
        (first, response.chunk().await.unwrap_err())
    })
    .await;
    assert_eq!(first.as_deref(), Some(&b"hello"[..]));
    assert!(err.is_body(), "{err:?}");
    assert_eq!(
        io_kind(&err),
        Some(std::io::ErrorKind::UnexpectedEof),
        "{err:?}"
    );
    assert_still_works(&client).await;
}

/// A chunk-size line whose extension never ends: hyper caps extensions (16 KiB), so the client gives up
/// instead of buffering the line.
#[tokio::test]
async fn endless_chunk_extension_is_cut_off() {
    const CAP: u64 = 64 * MIB as u64;
    let flood = Flood::start(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=",
        &[b'x'; 4096],
        CAP,
    )
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &flood.server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    flood.assert_cut_off(CAP).await;
    assert_still_works(&client).await;
}

/// Trailers that never end: capped like a header section.
#[tokio::test]
async fn endless_trailers_are_cut_off() {
    const CAP: u64 = 64 * MIB as u64;
    let flood = Flood::start(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        b"X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        CAP,
    )
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &flood.server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    flood.assert_cut_off(CAP).await;
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// The response head
// ---------------------------------------------------------------------------------------------------

/// Serves `reply` and asserts that `client` rejects its head as too large (a request error from hyper's
/// limits), then that the client still works.
async fn assert_head_too_large(client: &Client, reply: Vec<u8>) {
    let server = RawServer::reply(reply, Then::Hold).await;
    let err = get_head_error(client, &server.url("/")).await;
    assert!(err.is_request(), "{err:?}");
    assert!(hyper_cause(&err).is_parse_too_large(), "{err:?}");
    assert_still_works(client).await;
}

#[tokio::test]
async fn header_section_of_1_mib_is_rejected() {
    let mut reply = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    reply.resize(reply.len() + MIB, b'a');
    reply.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
    assert_head_too_large(&Client::new(), reply).await;
}

/// A head of 300 KiB is under hyper's limit (~400 KiB) and parses whole, though the transport reads a
/// plain TCP stream at most 96 KiB at a time: the per-read cap is not a limit on the head.
#[tokio::test]
async fn header_section_of_300_kib_is_accepted() {
    let value = "b".repeat(300 * 1024);
    let reply = format!("HTTP/1.1 200 OK\r\nX-Big: {value}\r\nContent-Length: 2\r\n\r\nok");
    let server = RawServer::reply(reply.into_bytes(), Then::Hold).await;
    let client = Client::new();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .expect("a 300 KiB head is accepted");
    assert_eq!(response.headers()["x-big"].as_bytes(), value.as_bytes());
    assert_eq!(&within(10, response.bytes()).await.unwrap()[..], b"ok");
}

/// A header section that never ends: the client stops reading at hyper's head limit (~400 KiB) and
/// closes the connection, instead of buffering what the server sends.
#[tokio::test]
async fn endless_header_section_is_not_buffered() {
    const CAP: u64 = 256 * MIB as u64;
    let flood = Flood::start(
        b"HTTP/1.1 200 OK\r\n",
        b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        CAP,
    )
    .await;
    let client = Client::new();
    let err = get_head_error(&client, &flood.server.url("/")).await;
    assert!(err.is_request(), "{err:?}");
    assert!(hyper_cause(&err).is_parse_too_large(), "{err:?}");
    let written = flood.assert_cut_off(CAP).await;
    // What the server got out is the head limit plus the socket buffers: megabytes, not the flood.
    assert!(written < 32 * MIB as u64, "{written} bytes written");
    assert_still_works(&client).await;
}

#[tokio::test]
async fn ten_thousand_headers_are_rejected() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..10_000 {
        write!(reply, "X-H{i}: v\r\n").unwrap();
    }
    reply.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    // More than hyper's 100 headers.
    assert_head_too_large(&Client::new(), reply).await;
}

/// Serves `reply` and asserts that `client` fails to parse its head; `what` names the case.
async fn assert_parse_error(client: &Client, reply: Vec<u8>, what: &[u8]) {
    let server = RawServer::reply(reply, Then::Hold).await;
    let err = get_head_error(client, &server.url("/")).await;
    let what = String::from_utf8_lossy(what);
    assert!(err.is_request(), "{what:?}: {err:?}");
    assert!(hyper_cause(&err).is_parse(), "{what:?}: {err:?}");
}

#[tokio::test]
async fn invalid_header_bytes_are_rejected() {
    let client = Client::new();
    let bad_headers: [&[u8]; 9] = [
        b"Bad Name: x\r\n",
        b"X(y): z\r\n",
        b"NoColonAtAll\r\n",
        b": empty-name\r\n",
        b"X-Nul: a\0b\r\n",
        b"X-Cr: a\rb\r\n",
        b"X-Del: a\x7fb\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: five\r\n",
    ];
    for header in bad_headers {
        let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
        reply.extend_from_slice(header);
        reply.extend_from_slice(b"\r\nhello");
        assert_parse_error(&client, reply, header).await;
    }
    assert_still_works(&client).await;
}

#[tokio::test]
async fn garbage_status_lines_are_rejected() {
    let client = Client::new();
    let bad_lines: [&[u8]; 8] = [
        b"HTTX/1.1 200 OK\r\n",
        b"HTTP/9.9 200 OK\r\n",
        b"HTTP/1.1 2000 OK\r\n",
        b"HTTP/1.1 abc OK\r\n",
        b"HTTP/1.1 -200 OK\r\n",
        b"HTTP/1.1 099 Low\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n",
        b"\r\n\r\n\r\n\r\n",
    ];
    for line in bad_lines {
        let mut reply = line.to_vec();
        reply.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        assert_parse_error(&client, reply, line).await;
    }
    assert_still_works(&client).await;
}

/// HTTP/0.9: the body with no status line and no headers, then close.
#[tokio::test]
async fn http_09_reply_is_rejected() {
    let server = RawServer::reply(
        &b"<html><body>HTTP/0.9 has no status line</body></html>\n"[..],
        Then::Close,
    )
    .await;
    let client = Client::new();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_request(), "{err:?}");
    assert!(hyper_cause(&err).is_parse(), "{err:?}");
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// Servers that stall
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_that_never_answers_hits_the_total_timeout() {
    let server = RawServer::reply(Bytes::new(), Then::Hold).await;
    let client = Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert_still_works(&client).await;
}

#[tokio::test]
async fn server_that_never_answers_hits_the_read_timeout() {
    let server = RawServer::reply(Bytes::new(), Then::Hold).await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_timeout(), "{err:?}");
    assert_still_works(&client).await;
}

/// A slowloris server writing its reply one byte per second.
async fn slowloris(reply: &'static [u8], fast_prefix: usize) -> RawServer {
    RawServer::start(move |mut stream, _| async move {
        let _ = read_request_head(&mut stream).await;
        let (fast, slow) = reply.split_at(fast_prefix);
        if stream.write_all(fast).await.is_err() {
            return;
        }
        for byte in slow {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
        Then::Hold.finish(stream).await;
    })
    .await
}

/// One byte per second of head: the read timeout bounds the wait for the whole head, so trickling
/// bytes do not keep it alive.
#[tokio::test]
async fn slowloris_head_hits_the_read_timeout() {
    let server = slowloris(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0).await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_timeout(), "{err:?}");
    assert_still_works(&client).await;
}

/// One byte per second of body defeats a per-chunk read timeout of 1.5 s, but not the total timeout.
#[tokio::test]
async fn slowloris_body_hits_the_total_timeout() {
    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n";
    let mut reply = HEAD.to_vec();
    reply.extend_from_slice(&[b'z'; 40]);
    let server = slowloris(reply.leak(), HEAD.len()).await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(1500))
        .timeout(Duration::from_millis(3500))
        .build()
        .unwrap();
    let (received, err) = within(10, async {
        let mut response = client.get(server.url("/")).send().await.unwrap();
        let mut received = 0;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => received += chunk.len(),
                Ok(None) => panic!("the body completed"),
                Err(err) => return (received, err),
            }
        }
    })
    .await;
    assert!(err.is_timeout(), "{err:?}");
    // Bytes kept arriving, each within the read timeout.
    assert!(received >= 1, "{received} bytes before the timeout");
    assert!(received < 40, "{received} bytes before the timeout");
    assert_still_works(&client).await;
}

/// `102 Processing` forever: interim responses are skipped, one at a time, until the timeout.
#[tokio::test]
async fn endless_interim_responses_hit_the_timeout() {
    let server = RawServer::start(|mut stream, _| async move {
        let _ = read_request_head(&mut stream).await;
        while stream
            .write_all(b"HTTP/1.1 102 Processing\r\n\r\n")
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let client = Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_timeout(), "{err:?}");
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// Resets
// ---------------------------------------------------------------------------------------------------

/// A server that writes the start of a head on every connection, then resets it.
async fn reset_mid_headers_server() -> RawServer {
    RawServer::start(|mut stream, _| async move {
        let _ = read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Then::Reset.finish(stream).await;
    })
    .await
}

#[tokio::test]
async fn reset_mid_headers_is_a_request_error() {
    let server = reset_mid_headers_server().await;
    let client = Client::new();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_request(), "{err:?}");
    assert_eq!(
        io_kind(&err),
        Some(std::io::ErrorKind::ConnectionReset),
        "{err:?}"
    );

    let before = server.connections();
    let err = within(10, client.post(server.url("/")).body("data").send())
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(
        io_kind(&err),
        Some(std::io::ErrorKind::ConnectionReset),
        "{err:?}"
    );
    assert_eq!(server.connections(), before + 1, "a POST is never retried");
    assert_still_works(&client).await;
}

/// The transport retries an idempotent request once "when a pooled connection fails before any
/// response arrived" (`TransportBuilder::retry_stale_connections`): the stale-connection race. A *fresh*
/// connection that the server resets after part of a head is not that race, and the request should not
/// be sent twice.
#[tokio::test]
async fn reset_on_a_fresh_connection_is_not_retried() {
    let server = reset_mid_headers_server().await;
    let client = Client::new();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_request(), "{err:?}");
    assert_eq!(server.connections(), 1, "the GET was sent twice");
}

#[tokio::test]
async fn reset_mid_body_is_a_body_error() {
    let server = RawServer::start(|mut stream, _| async move {
        let _ = read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Then::Reset.finish(stream).await;
    })
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    assert_eq!(server.connections(), 1);
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// Pooled connections closed by the server
// ---------------------------------------------------------------------------------------------------

/// What a keep-alive server does after its first response on a connection.
#[derive(Clone, Copy)]
enum Idle {
    /// Close the connection 50 ms later, while it sits idle in the client's pool.
    CloseSoon,
    /// Read the next request, then close without answering: the server's idle close raced the request.
    CloseOnNextRequest,
}

/// A keep-alive server logging `(connection, request line, body)` for every request it read.
async fn keep_alive_server(idle: Idle) -> (RawServer, Arc<Mutex<Vec<(usize, String, String)>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server_log = log.clone();
    let server = RawServer::start(move |mut stream, conn| {
        let log = server_log.clone();
        async move {
            let mut answered = 0;
            while let Some(request) = read_request(&mut stream).await {
                let line = request.request_line().to_owned();
                let body = String::from_utf8_lossy(&request.body).into_owned();
                log.lock().unwrap().push((conn, line, body));
                if answered == 1 {
                    if let Idle::CloseOnNextRequest = idle {
                        return;
                    }
                }
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if stream.write_all(reply).await.is_err() {
                    return;
                }
                answered += 1;
                if let Idle::CloseSoon = idle {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return;
                }
            }
        }
    })
    .await;
    (server, log)
}

async fn send_ok(request: courier::RequestBuilder) {
    let text = within(10, async {
        request.send().await.unwrap().text().await.unwrap()
    })
    .await;
    assert_eq!(text, "ok");
}

/// Asserts that the keep-alive server read exactly `expected`: `(connection, request line, body)`.
fn assert_log(log: &Mutex<Vec<(usize, String, String)>>, expected: &[(usize, &str, &str)]) {
    let expected: Vec<(usize, String, String)> = expected
        .iter()
        .map(|&(conn, line, body)| (conn, line.to_owned(), body.to_owned()))
        .collect();
    assert_eq!(*log.lock().unwrap(), expected);
}

/// A connection the server closed while it was idle in the pool is not used again: the next GET and
/// POST each go out once, on a fresh connection.
#[tokio::test]
async fn pooled_connection_closed_while_idle_is_replaced() {
    let (server, log) = keep_alive_server(Idle::CloseSoon).await;
    let client = Client::new();
    send_ok(client.get(server.url("/1"))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_ok(client.get(server.url("/2"))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_ok(client.post(server.url("/3")).body("once")).await;
    assert_log(
        &log,
        &[
            (0, "GET /1 HTTP/1.1", ""),
            (1, "GET /2 HTTP/1.1", ""),
            (2, "POST /3 HTTP/1.1", "once"),
        ],
    );
    assert_still_works(&client).await;
}

/// The server closes a kept-alive connection just as the next request arrives on it. A GET is retried
/// transparently on a fresh connection.
#[tokio::test]
async fn idle_close_racing_a_get_is_retried_transparently() {
    let (server, log) = keep_alive_server(Idle::CloseOnNextRequest).await;
    let client = Client::new();
    send_ok(client.get(server.url("/1"))).await;
    send_ok(client.get(server.url("/2"))).await;
    assert_log(
        &log,
        &[
            (0, "GET /1 HTTP/1.1", ""),
            (0, "GET /2 HTTP/1.1", ""),
            (1, "GET /2 HTTP/1.1", ""),
        ],
    );
    assert_still_works(&client).await;
}

/// The same race with a POST: the server may have acted on it, so it must not be sent again. The
/// client reports the failure, and its next request works.
#[tokio::test]
async fn idle_close_racing_a_post_is_not_replayed() {
    let (server, log) = keep_alive_server(Idle::CloseOnNextRequest).await;
    let client = Client::new();
    send_ok(client.get(server.url("/1"))).await;
    let err = within(10, client.post(server.url("/2")).body("pay once").send())
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert!(hyper_cause(&err).is_incomplete_message(), "{err:?}");
    send_ok(client.get(server.url("/3"))).await;
    assert_log(
        &log,
        &[
            (0, "GET /1 HTTP/1.1", ""),
            (0, "POST /2 HTTP/1.1", "pay once"),
            (1, "GET /3 HTTP/1.1", ""),
        ],
    );
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// Content codings
// ---------------------------------------------------------------------------------------------------

/// A gzip bomb: `members` concatenated gzip members, each 1 MiB of zeros (about 1 KiB on the wire).
fn gzip_bomb(members: usize) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0; MIB]).unwrap();
    let member = encoder.finish().unwrap();
    Bytes::from(member.repeat(members))
}

async fn bomb_server(body: Bytes, coding: &'static str) -> TestServer {
    TestServer::start(move |_| {
        let body = body.clone();
        async move {
            http::Response::builder()
                .header("content-encoding", coding)
                .body(full(body))
                .unwrap()
        }
    })
    .await
}

/// Reads a body to its end or first error without keeping it, returning the bytes seen and the error.
async fn drain(response: courier::Response) -> (u64, Option<courier::Error>) {
    let mut response = response;
    let mut seen = 0u64;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => seen += chunk.len() as u64,
            Ok(None) => return (seen, None),
            Err(err) => return (seen, Some(err)),
        }
    }
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_configured_cap() {
    // 64 MiB of zeros in about 64 KiB.
    let bomb = gzip_bomb(64);
    assert!(bomb.len() < 128 * 1024, "{} bytes", bomb.len());
    let server = bomb_server(bomb, "gzip").await;
    let client = Client::builder()
        .max_decompressed_size(MIB as u64)
        .build()
        .unwrap();

    // Streamed: at most the cap comes out, then the error.
    let (seen, err) = within(10, async {
        drain(client.get(server.url("/")).send().await.unwrap()).await
    })
    .await;
    let err = err.expect("the bomb decoded in full");
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(
        cause::<SizeLimitExceeded>(&err).unwrap().limit(),
        MIB as u64
    );
    assert!(seen <= MIB as u64, "{seen} bytes decoded");

    // Collected: the same error, not a 64 MiB buffer.
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_decode(), "{err:?}");
    assert_still_works(&client).await;
}

/// With default settings a 2 GiB bomb (2 MiB on the wire) fails once it decodes past 8 MiB, at 100
/// times its compressed size, long before the 1 GiB cap.
#[tokio::test]
async fn gzip_bomb_stops_early_at_the_default_ratio() {
    let bomb = gzip_bomb(2048);
    let server = bomb_server(bomb, "gzip").await;
    let client = Client::new();
    let (seen, err) = within(10, async {
        drain(client.get(server.url("/")).send().await.unwrap()).await
    })
    .await;
    let err = err.expect("the bomb decoded in full");
    assert!(err.is_decode(), "{err:?}");
    let limit = cause::<courier_core::decompression::RatioLimitExceeded>(&err).unwrap();
    assert_eq!(
        limit.ratio(),
        courier_core::decompression::DEFAULT_MAX_RATIO
    );
    let exempt = courier_core::decompression::RATIO_EXEMPT_SIZE;
    assert!(seen <= exempt + 64 * 1024, "{seen} bytes decoded");
    assert!(seen >= exempt - 64 * 1024, "{seen} bytes decoded");
    assert_still_works(&client).await;
}

/// With the ratio limit off, the default cap (1 GiB) stops a 2 GiB bomb (2 MiB on the wire) after
/// 1 GiB, streamed: nothing is kept here, so memory stays flat. (About 4 s in a debug build.)
#[tokio::test]
async fn gzip_bomb_stops_at_the_default_cap() {
    let bomb = gzip_bomb(2048);
    let server = bomb_server(bomb, "gzip").await;
    let client = Client::builder()
        .max_decompression_ratio(None)
        .build()
        .unwrap();
    let (seen, err) = within(120, async {
        drain(client.get(server.url("/")).send().await.unwrap()).await
    })
    .await;
    let err = err.expect("the bomb decoded in full");
    assert!(err.is_decode(), "{err:?}");
    let limit = courier_core::decompression::DEFAULT_MAX_SIZE;
    assert_eq!(cause::<SizeLimitExceeded>(&err).unwrap().limit(), limit);
    assert!(seen <= limit, "{seen} bytes decoded");
    assert!(seen > limit - MIB as u64, "{seen} bytes decoded");
    assert_still_works(&client).await;
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        writer.write_all(data).unwrap();
    }
    out
}

#[tokio::test]
async fn corrupt_brotli_is_a_decode_error() {
    let text: Vec<u8> = (0..2000u32)
        .flat_map(|i| format!("line {i} of a long brotli text\n").into_bytes())
        .collect();
    let good = brotli(&text);
    let client = Client::new();

    // Sanity: the intact stream decodes.
    let server = bomb_server(Bytes::from(good.clone()), "br").await;
    let body = within(10, get_bytes(&client, &server.url("/"))).await;
    assert_eq!(body, text);

    // Garbage: corrupt from the first byte.
    let server = bomb_server(Bytes::from(vec![0xff; 64]), "br").await;
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_decode(), "{err:?}");
    let decode = cause::<DecodeError>(&err).unwrap();
    assert_eq!(decode.coding(), "br");
    assert!(!decode.is_truncated(), "{err:?}");

    // A valid stream with its middle overwritten. Whether the decoder then sees invalid bits or waits
    // for bits that never come (truncated) depends on what the damage decodes to: either way it is a
    // decode error, never a body that silently differs.
    let mut overwritten = good.clone();
    let mid = overwritten.len() / 2;
    overwritten[mid..mid + 16].fill(0xff);
    let server = bomb_server(Bytes::from(overwritten), "br").await;
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(cause::<DecodeError>(&err).unwrap().coding(), "br");

    // Cut short: truncated.
    let server = bomb_server(Bytes::copy_from_slice(&good[..good.len() / 2]), "br").await;
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_decode(), "{err:?}");
    let decode = cause::<DecodeError>(&err).unwrap();
    assert_eq!(decode.coding(), "br");
    assert!(decode.is_truncated(), "{err:?}");
    assert_still_works(&client).await;
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A gzip stream whose CRC-32 is wrong, and one cut before its 8-byte trailer (CRC-32 and size).
fn damaged_trailers(gzipped: &[u8]) -> [(&'static str, Vec<u8>); 2] {
    let n = gzipped.len();
    let mut bad_crc = gzipped.to_vec();
    bad_crc[n - 8] ^= 0xff;
    [
        ("bad CRC", bad_crc),
        ("no trailer", gzipped[..n - 8].to_vec()),
    ]
}

/// Serves `body` under `coding`, in one piece or one byte at a time, and reads the decoded body.
async fn decode_served(
    body: Vec<u8>,
    coding: &'static str,
    bytewise: bool,
) -> courier::Result<Bytes> {
    let body = Bytes::from(body);
    let server = TestServer::start(move |_| {
        let body = body.clone();
        async move {
            let body = if bytewise {
                let bytes = body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
                courier_testkit::slow(bytes, Duration::from_millis(1))
            } else {
                full(body)
            };
            http::Response::builder()
                .header("content-encoding", coding)
                .body(body)
                .unwrap()
        }
    })
    .await;
    let client = Client::new();
    within(10, async {
        client
            .get(server.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
    })
    .await
}

/// Serves each of [`damaged_trailers`] of `gzipped` under `coding`, in one piece and byte by byte, and
/// asserts a gzip decode error for each: truncated without the trailer, corrupt with a wrong CRC.
async fn assert_gzip_trailer_verified(gzipped: &[u8], coding: &'static str) {
    for bytewise in [false, true] {
        for (what, body) in damaged_trailers(gzipped) {
            let err = decode_served(body, coding, bytewise).await.expect_err(what);
            assert!(err.is_decode(), "{what}, bytewise {bytewise}: {err:?}");
            let decode = cause::<DecodeError>(&err).unwrap();
            assert_eq!(decode.coding(), "gzip");
            assert_eq!(
                decode.is_truncated(),
                what == "no trailer",
                "{what}: {err:?}"
            );
        }
    }
}

/// gzip's trailer carries a CRC-32 and the length: a wrong CRC is corrupt, a missing trailer truncated,
/// however the bytes arrive.
#[tokio::test]
async fn gzip_trailer_is_verified() {
    let text = b"the trailer guards the body. ".repeat(20);
    assert_gzip_trailer_verified(&gzip(&text), "gzip").await;
}

/// With stacked codings (`deflate, gzip`: deflated, then gzipped), the outer gzip's trailer must be
/// verified too, after the inner deflate stream has ended.
#[tokio::test]
async fn stacked_codings_verify_the_outer_gzip_trailer() {
    let text = b"stacked codings: deflate inside gzip. ".repeat(10);
    let stacked = gzip(&zlib(&text));
    // Intact, it decodes.
    let body = decode_served(stacked.clone(), "deflate, gzip", false)
        .await
        .unwrap();
    assert_eq!(body, text);
    assert_gzip_trailer_verified(&stacked, "deflate, gzip").await;
}

// ---------------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------------

/// `A` (as `127.0.0.1`) sends to `B` (as `localhost`), which sends back to `A`.
#[tokio::test]
async fn redirect_loop_across_two_hosts_is_a_redirect_error() {
    let b_port = Arc::new(AtomicU64::new(0));
    let port = b_port.clone();
    let a = TestServer::start(move |_| {
        let port = port.load(Ordering::SeqCst);
        async move { redirect(302, &format!("http://localhost:{port}/b")) }
    })
    .await;
    let a_url = a.url("/a");
    let b = TestServer::start(move |_| {
        let a_url = a_url.clone();
        async move { redirect(302, &a_url) }
    })
    .await;
    b_port.store(b.addr().port().into(), Ordering::SeqCst);

    let client = Client::new();
    let err = get_head_error(&client, &a.url("/a")).await;
    assert!(err.is_redirect(), "{err:?}");
    let chain: Vec<String> = cause::<RedirectLoop>(&err)
        .unwrap()
        .chain()
        .iter()
        .map(|u| u.to_string())
        .collect();
    // A URL may be visited twice (a server may set a cookie and redirect back); the loop is the hop
    // A -> B taken a second time, refused before it is sent.
    let b_url = format!("http://localhost:{}/b", b.addr().port());
    assert_eq!(chain, [a.url("/a"), b_url.clone(), a.url("/a"), b_url]);
    assert_eq!(a.requests().len(), 2);
    assert_eq!(b.requests().len(), 1);
    assert_still_works(&client).await;
}

/// `/n` redirects to `/n+1`, up to `/1000`.
async fn thousand_hop_server() -> TestServer {
    TestServer::start(|req| async move {
        let n: u32 = req.path()[1..].parse().unwrap();
        if n < 1000 {
            redirect(302, &format!("/{}", n + 1))
        } else {
            respond(200, "the end")
        }
    })
    .await
}

#[tokio::test]
async fn thousand_hop_redirect_chain_stops_at_ten() {
    let server = thousand_hop_server().await;
    let client = Client::new();
    let err = get_head_error(&client, &server.url("/0")).await;
    assert!(err.is_redirect(), "{err:?}");
    let too_many = cause::<TooManyRedirects>(&err).unwrap();
    assert_eq!(too_many.limit(), 10);
    assert_eq!(too_many.chain().len(), 12);
    assert_eq!(too_many.chain()[11].path(), "/11");
    // The first request and ten redirects were sent; the eleventh redirect was not followed.
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    let expected: Vec<String> = (0..=10).map(|n| format!("/{n}")).collect();
    assert_eq!(paths, expected);
    assert_still_works(&client).await;
}

/// A policy that allows them follows all 1,000 hops, without loop detection slowing to a crawl.
#[tokio::test]
async fn thousand_hop_redirect_chain_can_be_followed_when_allowed() {
    let server = thousand_hop_server().await;
    let client = Client::builder()
        .redirect(Policy::limited(1000))
        .build()
        .unwrap();
    let response = within(60, client.get(server.url("/0")).send())
        .await
        .unwrap();
    assert_eq!(response.url().as_str(), server.url("/1000"));
    assert_eq!(response.redirects().len(), 1000);
    assert_eq!(within(10, response.text()).await.unwrap(), "the end");
    assert_eq!(server.requests().len(), 1001);
}

#[tokio::test]
async fn location_with_invalid_utf8_is_a_redirect_error() {
    let server = RawServer::reply(
        &b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9/\xff\xfe\r\nContent-Length: 0\r\n\r\n"[..],
        Then::Hold,
    )
    .await;
    let client = Client::new();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_redirect(), "{err:?}");
    assert!(cause::<InvalidLocation>(&err).is_some(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert_eq!(server.connections(), 1);
    assert_still_works(&client).await;
}

#[tokio::test]
async fn location_with_a_non_http_scheme_is_a_redirect_error() {
    let client = Client::new();
    for location in [
        "ftp://127.0.0.1/file",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "mailto:root@localhost",
    ] {
        let server = TestServer::start(move |_| async move { redirect(302, location) }).await;
        let err = get_head_error(&client, &server.url("/")).await;
        assert!(err.is_redirect(), "{location}: {err:?}");
        let unsupported =
            cause::<UnsupportedScheme>(&err).unwrap_or_else(|| panic!("{location}: {err:?}"));
        assert_eq!(unsupported.url().as_str(), location);
        assert_eq!(server.requests().len(), 1);
    }
    assert_still_works(&client).await;
}

#[tokio::test]
async fn unparsable_location_is_a_redirect_error() {
    let client = Client::new();
    for location in ["http://[::1", "http://exa mple.com/", "https://:443/"] {
        let server = TestServer::start(move |_| async move { redirect(302, location) }).await;
        let err = get_head_error(&client, &server.url("/")).await;
        assert!(err.is_redirect(), "{location}: {err:?}");
        let invalid =
            cause::<InvalidLocation>(&err).unwrap_or_else(|| panic!("{location}: {err:?}"));
        assert_eq!(invalid.location(), location);
    }
    assert_still_works(&client).await;
}

// ---------------------------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------------------------

/// One `Set-Cookie` of 1 MiB does not fit in hyper's head limit: the response is rejected before any
/// cookie handling.
#[tokio::test]
async fn set_cookie_of_1_mib_is_rejected_with_the_head() {
    let mut reply = b"HTTP/1.1 200 OK\r\nSet-Cookie: big=".to_vec();
    reply.resize(reply.len() + MIB, b'c');
    reply.extend_from_slice(b"; Path=/\r\nContent-Length: 2\r\n\r\nok");
    let jar = Arc::new(courier::cookie::Jar::new());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    assert_head_too_large(&client, reply).await;
    assert!(jar.is_empty());
}

/// 10,000 `Set-Cookie` headers are more than hyper's 100 headers: rejected with the head.
#[tokio::test]
async fn ten_thousand_set_cookie_headers_are_rejected_with_the_head() {
    let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..10_000 {
        write!(reply, "Set-Cookie: c{i}=v; Path=/\r\n").unwrap();
    }
    reply.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let jar = Arc::new(courier::cookie::Jar::new());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    assert_head_too_large(&client, reply).await;
    assert!(jar.is_empty());
}

/// Within hyper's limits, through the whole client with a cookie store: a 300 KiB cookie is ignored
/// (longer than `MAX_COOKIE_BYTES`), and of 98 cookies for one host the jar keeps the last 50.
#[tokio::test]
async fn cookie_store_ignores_a_huge_cookie_and_caps_per_domain() {
    use courier::cookie::Jar;
    use courier_core::cookie::MAX_COOKIES_PER_DOMAIN;

    let server = RawServer::start(|mut stream, _| async move {
        while let Some(request) = read_request(&mut stream).await {
            let head = request.head;
            let mut reply = b"HTTP/1.1 200 OK\r\n".to_vec();
            if head.starts_with("GET /big ") {
                reply.extend_from_slice(b"Set-Cookie: big=");
                reply.resize(reply.len() + 300 * 1024, b'c');
                reply.extend_from_slice(b"; Path=/\r\n");
            } else if head.starts_with("GET /many ") {
                // 98 + Content-Length: within hyper's 100 headers.
                for i in 0..98 {
                    write!(reply, "Set-Cookie: c{i}=v; Path=/\r\n").unwrap();
                }
            }
            let cookie = head
                .lines()
                .find_map(|l| l.strip_prefix("cookie: "))
                .unwrap_or("<none>")
                .to_owned();
            write!(reply, "Content-Length: {}\r\n\r\n{cookie}", cookie.len()).unwrap();
            if stream.write_all(&reply).await.is_err() {
                return;
            }
        }
    })
    .await;
    let jar = Arc::new(Jar::new());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let get = |path: &str| {
        let request = client.get(server.url(path));
        within(10, async {
            request.send().await.unwrap().text().await.unwrap()
        })
    };

    assert_eq!(get("/big").await, "<none>");
    assert!(jar.is_empty());
    assert_eq!(get("/many").await, "<none>");
    assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN);
    let expected: Vec<String> = (98 - MAX_COOKIES_PER_DOMAIN..98)
        .map(|i| format!("c{i}=v"))
        .collect();
    assert_eq!(get("/").await, expected.join("; "));
    assert_still_works(&client).await;
}

/// Past hyper's limits, through the cookie layer alone (no HTTP parser in the way): the jar ignores
/// the 1 MiB cookie and keeps only the last 50 of 10,000 for one domain.
#[tokio::test]
async fn jar_ignores_a_1_mib_cookie_and_caps_10_000_per_domain() {
    use courier_core::cookie::{CookieManagerLayer, Jar, MAX_COOKIES_PER_DOMAIN};
    use tower::{Layer, ServiceExt};

    let server = tower::service_fn(|req: http::Request<()>| async move {
        let mut res = http::Response::builder();
        match req.uri().path() {
            "/big" => {
                let cookie = format!("big={}; Path=/", "c".repeat(MIB));
                res = res.header("set-cookie", cookie);
            }
            "/many" => {
                for i in 0..10_000 {
                    res = res.header("set-cookie", format!("c{i}=v; Path=/"));
                }
            }
            _ => {}
        }
        let cookie = req.headers().get("cookie").map(|v| v.as_bytes().to_vec());
        Ok::<_, std::convert::Infallible>(res.body(cookie.unwrap_or_default()).unwrap())
    });
    let jar = Arc::new(Jar::new());
    let client = CookieManagerLayer::new(jar.clone()).layer(server);
    let get = |path: &str| {
        let req = http::Request::get(format!("http://example.com{path}"))
            .body(())
            .unwrap();
        within(10, client.clone().oneshot(req))
    };

    get("/big").await.unwrap();
    assert!(jar.is_empty());

    get("/many").await.unwrap();
    assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN);
    let sent = get("/").await.unwrap().into_body();
    let expected: Vec<String> = (10_000 - MAX_COOKIES_PER_DOMAIN..10_000)
        .map(|i| format!("c{i}=v"))
        .collect();
    assert_eq!(String::from_utf8(sent).unwrap(), expected.join("; "));
}

// ---------------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------------

/// Serves TLS with `certs` to a client that trusts their CA; asserts that a GET is a connect error, that
/// no request reached the server and that the client still works; returns the rustls error.
async fn certificate_error(certs: TestCerts) -> rustls::Error {
    let server = TestServer::builder()
        .tls_certs(certs)
        .start(|_| async { respond(200, "must not be read") })
        .await;
    let client = trusting(&server).build().unwrap();
    let err = get_head_error(&client, &server.url("/")).await;
    assert!(err.is_connect(), "{err:?}");
    let rustls = cause::<rustls::Error>(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(server.requests().is_empty());
    let rustls = rustls.clone();
    assert_still_works(&client).await;
    rustls
}

#[tokio::test]
async fn expired_certificate_is_a_connect_error() {
    let rustls = certificate_error(TestCerts::expired(&["localhost"])).await;
    assert!(
        matches!(
            rustls,
            rustls::Error::InvalidCertificate(rustls::CertificateError::ExpiredContext { .. })
                | rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)
        ),
        "{rustls:?}"
    );
}

#[tokio::test]
async fn wrong_host_certificate_is_a_connect_error() {
    let rustls = certificate_error(TestCerts::generate(&["example.com"])).await;
    assert!(
        matches!(
            rustls,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. }
            ) | rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
        ),
        "{rustls:?}"
    );
}
