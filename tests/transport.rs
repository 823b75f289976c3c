//! The transport's own pool and connector against servers that misbehave in exactly one way: total-cap
//! eviction, HTTP/2 refused and cut streams, a silent HTTP/2 server, a TLS handshake never answered,
//! Happy Eyeballs, and the connection facts and timings on every response.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use courier::Client;
use courier_testkit::client::{get_text, trusting, within};
use courier_testkit::{read_request, respond, RawServer, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// A keep-alive HTTP/1.1 server answering `ok` that counts the connections the client closed.
async fn counting_close_server() -> (RawServer, Arc<AtomicUsize>) {
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = closed.clone();
    let server = RawServer::start(move |mut stream, _| {
        let closed = counter.clone();
        async move {
            while let Some(request) = read_request(&mut stream).await {
                if request.head.contains("/slow") {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if stream.write_all(reply).await.is_err() {
                    return;
                }
            }
            closed.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    (server, closed)
}

#[tokio::test]
async fn total_cap_closes_the_longest_idle_connection_of_another_host_at_once() {
    let (a, a_closed) = counting_close_server().await;
    let (b, _) = counting_close_server().await;
    let client = Client::builder()
        .pool_max_connections(2)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // Two requests at once to A: two connections, both idle afterwards.
    let slow = a.url("/slow");
    let (x, y) = tokio::join!(get_text(&client, &slow), get_text(&client, &slow));
    assert_eq!((x.as_str(), y.as_str()), ("ok", "ok"));
    assert_eq!(a.connections(), 2);
    assert_eq!(client.pool_stats().open, 2);

    // B has no connection and the cap is reached: one of A's idle connections is closed for it, at
    // once (the idle timeout is a minute away; the request's own timeout is 2 s).
    let response = client
        .get(b.url("/"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    within(5, async {
        while a_closed.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(a_closed.load(Ordering::SeqCst), 1);
    let stats = client.pool_stats();
    assert_eq!(stats.open, 2, "{stats:?}");
    assert_eq!(stats.connects, 3, "{stats:?}");
}

/// An h2c server built on the `h2` crate, so it can refuse and reset streams; `handle` answers each
/// stream and gets its index (from 0, over all connections).
async fn h2_server<F, Fut>(handle: F) -> (std::net::SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(usize, h2::server::SendResponse<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let streams = Arc::new(AtomicUsize::new(0));
    let counter = streams.clone();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let (counter, handle) = (counter.clone(), handle.clone());
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = conn.accept().await {
                    drop(request);
                    let index = counter.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(handle(index, respond));
                }
            });
        }
    });
    (addr, streams)
}

fn ok_response(respond: &mut h2::server::SendResponse<Bytes>, body: &'static [u8]) {
    let head = http::Response::builder()
        .status(200)
        .header("content-length", body.len())
        .body(())
        .unwrap();
    let mut stream = respond.send_response(head, false).unwrap();
    stream.send_data(Bytes::from_static(body), true).unwrap();
}

#[tokio::test]
async fn http2_refused_stream_is_sent_once_more_whatever_the_method() {
    let (addr, streams) = h2_server(|index, mut respond| async move {
        if index == 0 {
            respond.send_reset(h2::Reason::REFUSED_STREAM);
        } else {
            ok_response(&mut respond, b"ok");
        }
    })
    .await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let response = within(
        10,
        client.post(format!("http://{addr}/")).body("once").send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(
        streams.load(Ordering::SeqCst),
        2,
        "refused once, sent once more"
    );
}

#[tokio::test]
async fn http2_stream_refused_twice_is_an_error_with_its_fate() {
    let (addr, streams) = h2_server(|_, mut respond| async move {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
    })
    .await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let err = within(10, client.post(format!("http://{addr}/")).body("x").send())
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(err.fate(), Some(courier::Fate::NotProcessed));
    assert_eq!(
        streams.load(Ordering::SeqCst),
        2,
        "the transport replays once only"
    );
}

#[tokio::test]
async fn http2_stream_reset_with_no_error_before_its_content_length_is_a_body_error() {
    let (addr, _) = h2_server(|_, mut respond| async move {
        let head = http::Response::builder()
            .status(200)
            .header("content-length", "10")
            .body(())
            .unwrap();
        let mut stream = respond.send_response(head, false).unwrap();
        stream
            .send_data(Bytes::from_static(b"12345"), false)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.send_reset(h2::Reason::NO_ERROR);
    })
    .await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let response = within(10, client.get(format!("http://{addr}/")).send())
        .await
        .unwrap();
    let err = within(10, response.bytes()).await.unwrap_err();
    assert!(err.is_body(), "{err:?}");
    assert!(
        format!("{err:#}").contains("5 bytes short of its Content-Length"),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_http2_server_does_not_keep_its_connection_once_the_first_request_timed_out() {
    // The first connection never sends its SETTINGS (nor anything else); later ones are proper h2c.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                held.push(socket);
                continue;
            }
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = conn.accept().await {
                    ok_response(&mut respond, b"good");
                }
            });
        }
    });
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let url = format!("http://{addr}/");
    let err = within(
        10,
        client.get(&url).timeout(Duration::from_millis(300)).send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let response = within(10, client.get(&url).timeout(Duration::from_secs(5)).send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "good");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connect_timeout_covers_a_tls_handshake_never_answered() {
    // Accepts TCP, then reads the ClientHello and says nothing.
    let server = RawServer::start(|mut stream, _| async move {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
    })
    .await;
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", server.addr().port());
    let started = std::time::Instant::now();
    let err = within(3, client.get(&url).send()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.fate(), Some(courier::Fate::NotSent));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(format!("{err:#}").contains("connect timeout"), "{err}");
}

/// A loopback listener whose accept queue is full: new SYNs are dropped, so connecting hangs.
fn full_listener() -> (
    socket2::Socket,
    Vec<std::net::TcpStream>,
    std::net::SocketAddr,
) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the queue (a backlog of 0 still holds one or two) without accepting.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let filler = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        filler.set_nonblocking(true).unwrap();
        let _ = filler.connect(&addr.into());
        fillers.push(std::net::TcpStream::from(filler));
    }
    std::thread::sleep(Duration::from_millis(100));
    (socket, fillers, addr)
}

#[tokio::test]
async fn happy_eyeballs_moves_on_from_an_address_that_never_answers() {
    let (_listener, _fillers, dead) = full_listener();
    let server = TestServer::echo().await;
    let client = Client::builder()
        .resolve_to_addrs("eyeballs.test", &[dead, server.addr()])
        .build()
        .unwrap();
    // Tried one after the other, the first address would hang for minutes (SYN retries).
    let response = within(5, client.get("http://eyeballs.test/he").send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.remote_addr(), Some(server.addr()));
    assert_eq!(server.last_request().path(), "/he");

    // With only the dead address, a connect timeout is what ends the wait (how the attempts are
    // spread over a timeout shorter than their delay is `transport::tcp`'s unit test).
    let dead_only = Client::builder()
        .resolve_to_addrs("eyeballs.test", &[dead])
        .connect_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = within(5, dead_only.get("http://eyeballs.test/dead").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_fresh_tls_connection_reports_every_phase_in_order_and_a_reused_one_none() {
    let server = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "hello") })
        .await;
    let client = trusting(&server).build().unwrap();
    let url = format!("https://localhost:{}/", server.addr().port());

    let first = client.get(&url).send().await.unwrap();
    let info = first.connection_info().unwrap().clone();
    assert!(!info.reused());
    assert_eq!(info.remote_addr(), Some(server.addr()));
    assert!(info.local_addr().is_some_and(|a| a.ip().is_loopback()));
    assert_eq!(info.version(), http::Version::HTTP_2);
    assert!(
        matches!(info.tls_version(), Some("TLSv1.3" | "TLSv1.2")),
        "{:?}",
        info.tls_version()
    );
    assert!(info.cipher_suite().is_some_and(|s| s.starts_with("TLS")));
    let t = info.timings();
    assert_eq!(t.total(), None, "the body has not been read yet");
    assert_eq!(first.text().await.unwrap(), "hello");
    let (dns, connect, tls) = (t.dns().unwrap(), t.connect().unwrap(), t.tls().unwrap());
    let total = t.total().expect("recorded when the body ended");
    assert!(dns <= connect, "{t:?}");
    assert!(connect <= tls, "{t:?}");
    assert!(tls <= t.first_byte(), "{t:?}");
    assert!(t.first_byte() <= total, "{t:?}");

    let second = client.get(&url).send().await.unwrap();
    let again = second.connection_info().unwrap().clone();
    assert!(again.reused());
    assert_eq!(again.connection_id(), info.connection_id());
    let t = again.timings();
    assert_eq!((t.dns(), t.connect(), t.tls()), (None, None, None));
    assert_eq!(second.text().await.unwrap(), "hello");
    assert!(t.total().is_some());
}

#[tokio::test]
async fn http1_knobs_title_case_headers_and_lenient_responses() {
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    let server = RawServer::start(move |mut stream, _| {
        let seen = seen.clone();
        async move {
            let Some(request) = read_request(&mut stream).await else {
                return;
            };
            let reply: &[u8] = if request.head.contains("/09") {
                b"plain old body"
            } else {
                b"HTTP/1.1 200 OK\r\nX-Folded: one\r\n  two\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            };
            seen.lock().unwrap().push(request.head);
            let _ = stream.write_all(reply).await;
        }
    })
    .await;

    let strict = Client::new();
    let err = within(10, strict.get(server.url("/folded")).send())
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert!(within(10, strict.get(server.url("/09")).send())
        .await
        .is_err());

    let lenient = Client::builder()
        .http1_title_case_headers()
        .http1_allow_obsolete_multiline_headers_in_responses(true)
        .http09_responses()
        .build()
        .unwrap();
    let response = within(10, lenient.get(server.url("/folded")).send())
        .await
        .unwrap();
    assert_eq!(response.headers()["x-folded"], "one two");
    assert_eq!(response.text().await.unwrap(), "ok");
    let response = within(10, lenient.get(server.url("/09")).send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "plain old body");
    let heads = heads.lock().unwrap().clone();
    let last = heads.last().unwrap();
    assert!(last.contains("\r\nUser-Agent: "), "{last}");
    assert!(heads[0].contains("\r\nuser-agent: "), "{}", heads[0]);
}

/// A plain TCP stream is read at most 96 KiB at a time, however much the socket holds: a large body
/// comes in pieces no larger, and whole.
#[tokio::test]
async fn plain_tcp_reads_are_capped_at_96_kib() {
    const LEN: usize = 4 * 1024 * 1024;
    let body: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let mut reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n").into_bytes();
    reply.extend_from_slice(&body);
    let server = RawServer::reply(reply, courier_testkit::Then::Hold).await;
    let client = Client::new();
    let mut response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    // Let the socket fill before reading, so an uncapped read would take more than the cap.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut received, mut largest) = (Vec::with_capacity(LEN), 0);
    while let Some(chunk) = within(10, response.chunk()).await.unwrap() {
        largest = largest.max(chunk.len());
        received.extend_from_slice(&chunk);
    }
    assert!(largest <= 96 * 1024, "a chunk of {largest} bytes");
    // And reads did take what the socket held, up to the cap (else the check above proves nothing).
    assert!(largest > 64 * 1024, "the largest chunk was {largest} bytes");
    assert!(received == body, "the body arrived changed");
}

/// A refused stream says nothing about its connection: with one connection allowed per host and a
/// long response still streaming on it, the refused request is replayed on that same connection at
/// once, not held back behind the cap until the long response ends.
#[tokio::test]
async fn http2_refused_stream_keeps_its_connection() {
    let (release, released) = tokio::sync::watch::channel(false);
    let released = Arc::new(released);
    let (addr, streams) = h2_server(move |index, mut respond| {
        let mut released = (*released).clone();
        async move {
            match index {
                // A long response: the head, then the body only once the test says so.
                0 => {
                    let head = http::Response::builder().status(200).body(()).unwrap();
                    let mut stream = respond.send_response(head, false).unwrap();
                    let _ = released.wait_for(|done| *done).await;
                    let _ = stream.send_data(Bytes::from_static(b"long"), true);
                }
                1 => respond.send_reset(h2::Reason::REFUSED_STREAM),
                _ => ok_response(&mut respond, b"ok"),
            }
        }
    })
    .await;
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let url = format!("http://{addr}/");
    let long = within(10, client.get(&url).send()).await.unwrap();
    // Refused, then replayed on the connection the long response holds.
    let response = within(3, client.get(&url).send()).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(streams.load(Ordering::SeqCst), 3);
    release.send(true).unwrap();
    assert_eq!(within(10, long.text()).await.unwrap(), "long");
    let stats = client.pool_stats();
    assert_eq!(stats.connects, 1, "{stats:?}");
}

/// A server that allows no streams for now (`SETTINGS_MAX_CONCURRENT_STREAMS` 0): requests queue on
/// its connection until their timeouts, instead of each opening another connection.
#[tokio::test]
async fn http2_zero_stream_limit_opens_no_more_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::Builder::new()
                    .max_concurrent_streams(0)
                    .handshake::<_, Bytes>(socket)
                    .await
                else {
                    return;
                };
                while let Some(Ok(_)) = conn.accept().await {}
            });
        }
    });
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let url = format!("http://{addr}/");
    // The first request learns the limit; the next five find it.
    let first = client
        .get(&url)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    let first = first.unwrap_err();
    assert!(first.is_timeout(), "{first:?}");
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let request = client.get(&url).timeout(Duration::from_millis(300)).send();
            tokio::spawn(request)
        })
        .collect();
    for request in requests {
        let err = within(10, request).await.unwrap().unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "connections opened");
}

/// A request that fails before anything is written (HTTP/2 required of an HTTP/1.1 connection) gives
/// its connection back untouched: the next request reuses it.
#[tokio::test]
async fn a_connection_nothing_was_sent_on_goes_back_to_the_pool() {
    let server = TestServer::start(|_| async { respond(200, "ok") }).await;
    let client = Client::builder().http1_only().build().unwrap();
    let err = within(
        10,
        client
            .get(server.url("/"))
            .version(http::Version::HTTP_2)
            .send(),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:?}").contains("HTTP/2 was required"),
        "{err:?}"
    );
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    // It waited in the pool: reused, with no connect phases of its own.
    let info = response.connection_info().expect("connection info");
    assert!(info.reused(), "{info:?}");
    assert_eq!(within(10, response.text()).await.unwrap(), "ok");
    assert_eq!(
        server.connections(),
        1,
        "the second request reused the connection"
    );
    assert_eq!(server.requests().len(), 1);
}

/// Over HTTP/2 the request's pseudo-headers never carry a URI's credentials (HTTP/1.1's `Host` does
/// not either): a `Transport` used directly, with `user:pw@` in the URI, sends `:authority` without
/// them.
#[tokio::test]
async fn http2_authority_carries_no_credentials() {
    use tower::ServiceExt;
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http2)
        .start(|req| async move { respond(200, req.uri.to_string()) })
        .await;
    let transport: courier_core::transport::Transport =
        courier_core::transport::Transport::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
    let port = server.addr().port();
    let request = http::Request::get(format!("http://u:pw@127.0.0.1:{port}/x"))
        .body(courier_core::Body::empty())
        .unwrap();
    let response = within(10, transport.oneshot(request)).await.unwrap();
    let body = within(10, http_body_util::BodyExt::collect(response.into_body()))
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, format!("http://127.0.0.1:{port}/x"));
}

/// Nor does an HTTP/1.1 request to a forwarding proxy: its absolute-form target is the URI without
/// `user:pw@`.
#[tokio::test]
async fn a_forwarding_proxy_sees_no_credentials_in_the_target() {
    use tower::ServiceExt;
    let server = TestServer::start(|req| async move { respond(200, req.uri.to_string()) }).await;
    let proxy = courier_testkit::ProxyServer::start(server.addr()).await;
    let transport: courier_core::transport::Transport =
        courier_core::transport::Transport::builder()
            .proxy(courier::Proxy::http(proxy.url()).unwrap())
            .build()
            .unwrap();
    let port = server.addr().port();
    let request = http::Request::get(format!("http://u:pw@127.0.0.1:{port}/x"))
        .body(courier_core::Body::empty())
        .unwrap();
    let response = within(10, transport.oneshot(request)).await.unwrap();
    assert_eq!(response.status(), 200);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with(&format!("GET http://127.0.0.1:{port}/x HTTP/1.1\r\n")),
        "{seen:?}"
    );
    assert!(!seen[0].contains("pw"), "{seen:?}");
}
