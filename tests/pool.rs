//! The connection pool: limits counted server-side, waiting, keep-alive awareness, stale-connection
//! retries, statistics, and name overrides.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use courier::Client;
use courier_testkit::client::{get_text, trusting, within};
use courier_testkit::{read_request, read_request_head, respond, RawServer, TestServer};
use tokio::io::AsyncWriteExt;

/// A handler that holds each request for `delay` while counting how many are in the handler at once.
fn concurrency_probe(
    delay: Duration,
) -> (
    Arc<AtomicUsize>,
    impl Fn(
            courier_testkit::Recorded,
        )
            -> futures_util::future::BoxFuture<'static, http::Response<courier_testkit::ServerBody>>
        + Send
        + Sync
        + 'static,
) {
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let handler_max = max.clone();
    let handler = move |_req| {
        let current = current.clone();
        let max = handler_max.clone();
        let fut: futures_util::future::BoxFuture<'static, _> = Box::pin(async move {
            let now = current.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            current.fetch_sub(1, Ordering::SeqCst);
            respond(200, "ok")
        });
        fut
    };
    (max, handler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_cap_holds_under_200_concurrent_requests() {
    let (max_in_handler, handler) = concurrency_probe(Duration::from_millis(5));
    let server = TestServer::start(handler).await;
    let client = Client::builder()
        .http1_only()
        .pool_max_connections_per_host(8)
        .build()
        .unwrap();
    burst(&client, &server.url("/"), 200).await;
    assert_eq!(server.requests().len(), 200);
    assert!(
        server.max_open_connections() <= 8,
        "server saw {} connections open",
        server.max_open_connections()
    );
    assert!(
        server.connections() >= 2,
        "the cap should still allow parallel connections"
    );
    assert!(max_in_handler.load(Ordering::SeqCst) <= 8);
    let stats = client.pool_stats();
    assert!(stats.open <= 8, "{stats:?}");
    assert_eq!(stats.waiting, 0);
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.hosts.len(), 1);
    assert_eq!(
        stats.hosts[0].host,
        format!("http://127.0.0.1:{}", server.addr().port())
    );
    assert_eq!(stats.connects as usize, server.connections());
    assert_eq!(stats.reuses as usize, 200 - server.connections());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_cap_spans_hosts() {
    // One probe shared by both servers: how many requests are being handled at once, across hosts. Over
    // HTTP/1.1 each needs its own connection, so this never exceeds the connections open at once.
    let (max_in_handlers, handler) = concurrency_probe(Duration::from_millis(5));
    let handler = Arc::new(handler);
    let a = TestServer::start({
        let handler = handler.clone();
        move |req| handler(req)
    })
    .await;
    let b = TestServer::start({
        let handler = handler.clone();
        move |req| handler(req)
    })
    .await;
    let client = Client::builder()
        .http1_only()
        .pool_max_connections(3)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let client = client.clone();
            let url = if i % 2 == 0 { a.url("/") } else { b.url("/") };
            tokio::spawn(async move { client.get(url).send().await?.bytes().await })
        })
        .collect();
    for task in tasks {
        within(30, task).await.unwrap().unwrap();
    }
    assert_eq!(a.requests().len() + b.requests().len(), 60);
    let max = max_in_handlers.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&max),
        "{max} requests were handled at once across both hosts"
    );
    let stats = client.pool_stats();
    assert!(stats.open <= 3, "{stats:?}");
    assert_eq!(stats.waiting, 0, "{stats:?}");
}

/// Under the total cap, a request waiting for room for host B gets it the moment host A's connection
/// goes idle (it closes that connection), not when the idle connection expires.
#[tokio::test]
async fn total_cap_waiter_is_served_when_another_host_goes_idle() {
    let client = Client::builder()
        .http1_only()
        .pool_max_connections(1)
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    total_cap_waiter_case(courier_testkit::Protocol::Http1, &client).await;
    let stats = client.pool_stats();
    assert_eq!((stats.open, stats.connects), (1, 2), "{stats:?}");
}

/// The same over HTTP/2: B waits while A's only stream is open, and is served when it ends.
#[tokio::test]
async fn total_cap_waiter_is_served_when_another_hosts_http2_stream_ends() {
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_max_connections(1)
        .build()
        .unwrap();
    total_cap_waiter_case(courier_testkit::Protocol::Http2, &client).await;
    assert_eq!(client.pool_stats().open, 1);
}

/// `client` (a total cap of one) holds host A's response unread while a request to host B waits for
/// room; A's body ends, and B's request must be answered within 3 s.
async fn total_cap_waiter_case(protocol: courier_testkit::Protocol, client: &Client) {
    let a = TestServer::builder()
        .protocol(protocol)
        .start(|_| async { respond(200, "a") })
        .await;
    let b = TestServer::builder()
        .protocol(protocol)
        .start(|_| async { respond(200, "b") })
        .await;
    // A's response is in hand, its body unread: the one connection is in use.
    let held = within(10, client.get(a.url("/")).send()).await.unwrap();
    let waiting = tokio::spawn({
        let (client, url) = (client.clone(), b.url("/"));
        async move { client.get(url).send().await?.text().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.pool_stats().waiting, 1, "B waits for room");
    // A's body ends: its connection is idle, and B's request closes it to connect.
    assert_eq!(within(10, held.text()).await.unwrap(), "a");
    let body = within(3, waiting).await.unwrap().unwrap();
    assert_eq!(body, "b");
}

#[tokio::test]
async fn waiting_for_a_connection_respects_the_request_timeout() {
    let server = TestServer::start(|req| async move {
        if req.path() == "/hold" {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        respond(200, "ok")
    })
    .await;
    let client = Client::builder()
        .http1_only()
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let holder = {
        let client = client.clone();
        let url = server.url("/hold");
        tokio::spawn(async move { client.get(url).send().await })
    };
    // Let the first request take the only connection.
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiter = client
        .get(server.url("/quick"))
        .timeout(Duration::from_millis(200))
        .send();
    let stats_during = {
        let client = client.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client.pool_stats()
        }
    };
    let (result, stats) = tokio::join!(waiter, stats_during);
    let err = result.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(stats.waiting, 1, "{stats:?}");
    assert_eq!(stats.open, 1, "{stats:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "the waiting request never reached the server"
    );
    holder.abort();
}

/// A raw HTTP/1.1 server that answers every request on a connection with `Keep-Alive: timeout=1` and
/// never closes idle connections itself; it records the connection index of every request and the idle
/// time that preceded it.
async fn keep_alive_server(timeout_secs: u64) -> (RawServer, Arc<Mutex<Vec<(usize, Duration)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = RawServer::start(move |mut stream, conn| {
        let log = log.clone();
        async move {
            let mut idle_since = tokio::time::Instant::now();
            while read_request(&mut stream).await.is_some() {
                log.lock().unwrap().push((conn, idle_since.elapsed()));
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout={timeout_secs}\r\n\r\nok"
                );
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                idle_since = tokio::time::Instant::now();
            }
        }
    })
    .await;
    (server, seen)
}

#[tokio::test]
async fn keep_alive_timeout_is_honoured() {
    let (server, seen) = keep_alive_server(1).await;
    let client = Client::new();
    assert_eq!(get_text(&client, &server.url("/a")).await, "ok");
    // Within the keep-alive window: reused.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get_text(&client, &server.url("/b")).await, "ok");
    // Past it (the server would have closed): a fresh connection, never the old one.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(get_text(&client, &server.url("/c")).await, "ok");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].0, seen[1].0, "second request reuses the connection");
    assert_ne!(
        seen[1].0, seen[2].0,
        "third request must not reuse a connection idle past Keep-Alive"
    );
    for (conn, idle) in &seen {
        assert!(
            *idle < Duration::from_secs(1),
            "connection {conn} reused after {idle:?} idle"
        );
    }
    let stats = client.pool_stats();
    assert_eq!(stats.expired, 1, "{stats:?}");
    assert_eq!(stats.connects, 2);
    assert_eq!(stats.reuses, 1);
}

/// A `Keep-Alive: timeout` too large for a clock, with no idle timeout of the client's own: the
/// connection is kept and reused, nothing overflows.
#[tokio::test]
async fn a_huge_keep_alive_timeout_keeps_the_connection() {
    let (server, seen) = keep_alive_server(u64::MAX).await;
    let client = Client::builder().pool_idle_timeout(None).build().unwrap();
    assert_eq!(within(10, get_text(&client, &server.url("/a"))).await, "ok");
    assert_eq!(within(10, get_text(&client, &server.url("/b"))).await, "ok");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].0, seen[1].0,
        "the second request reuses the connection"
    );
}

/// A server that closes each kept-alive connection at a random moment after answering, racing the
/// client's next request; it counts POST bodies so a replayed POST would show.
async fn flaky_idle_server() -> (RawServer, Arc<Mutex<Vec<String>>>) {
    let posts = Arc::new(Mutex::new(Vec::new()));
    let log = posts.clone();
    let server = RawServer::start(move |mut stream, conn| {
        let log = log.clone();
        async move {
            let mut served = 0u64;
            while let Some(request) = read_request(&mut stream).await {
                if request.head.starts_with("POST") {
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&request.body).into_owned());
                }
                if stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
                served += 1;
                // Pseudo-random: close after some responses, after a delay of 0-2 ms, racing the next request.
                let roll = (conn as u64 * 7919 + served * 104729) % 10;
                if roll < 3 {
                    tokio::time::sleep(Duration::from_micros(roll * 700)).await;
                    return;
                }
            }
        }
    })
    .await;
    (server, posts)
}

#[tokio::test]
async fn idle_close_races_never_fail_idempotent_requests() {
    let (server, _) = flaky_idle_server().await;
    let client = Client::builder().http1_only().build().unwrap();
    for i in 0..1000 {
        let response = client.get(server.url(&format!("/{i}"))).send().await;
        let text = response
            .unwrap_or_else(|e| panic!("GET {i} failed: {e}"))
            .text()
            .await
            .unwrap();
        assert_eq!(text, "ok");
    }
    assert!(
        server.connections() > 50,
        "the server should have closed many connections"
    );
}

#[tokio::test]
async fn idle_close_races_never_replay_a_post() {
    let (server, posts) = flaky_idle_server().await;
    let client = Client::builder().http1_only().build().unwrap();
    let mut sent = 0;
    for i in 0..300 {
        if client
            .post(server.url("/"))
            .body(format!("post-{i}"))
            .send()
            .await
            .is_ok()
        {
            sent += 1;
        }
    }
    let posts = posts.lock().unwrap().clone();
    let unique: HashSet<_> = posts.iter().collect();
    assert_eq!(unique.len(), posts.len(), "a POST was sent twice");
    assert!(
        sent >= 1 && posts.len() >= sent,
        "sent {sent}, server saw {}",
        posts.len()
    );
}

#[tokio::test]
async fn resolve_pins_a_name_to_an_address() {
    let server = TestServer::echo().await;
    let client = Client::builder()
        .resolve("courier.test", server.addr())
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "http://courier.test:{}/pinned",
            server.addr().port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = server.last_request();
    assert_eq!(
        seen.header("host"),
        Some(format!("courier.test:{}", server.addr().port()).as_str())
    );
    assert_eq!(seen.path(), "/pinned");
}

#[tokio::test]
async fn local_address_binds_outgoing_connections() {
    let server = TestServer::echo().await;
    let local = std::net::IpAddr::from([127, 0, 0, 2]);
    let client = Client::builder().local_address(local).build().unwrap();
    client.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.last_request().peer.ip(), local);
}

/// An h2c server that says GOAWAY (gracefully) after `per_connection` requests on each connection.
async fn goaway_server(
    per_connection: usize,
) -> (std::net::SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let (conns, total) = (connections.clone(), served.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            conns.fetch_add(1, Ordering::SeqCst);
            let total = total.clone();
            tokio::spawn(async move {
                let count = Arc::new(AtomicUsize::new(0));
                let notify = Arc::new(tokio::sync::Notify::new());
                let (count2, notify2) = (count.clone(), notify.clone());
                let service = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    let (count, notify, total) = (count2.clone(), notify2.clone(), total.clone());
                    async move {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        total.fetch_add(1, Ordering::SeqCst);
                        if count.fetch_add(1, Ordering::SeqCst) + 1 == per_connection {
                            notify.notify_one();
                        }
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(Bytes::from_static(b"ok")),
                        ))
                    }
                });
                let conn =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = notify.notified() => conn.as_mut().graceful_shutdown(),
                }
                let _ = conn.await;
            });
        }
    });
    (addr, connections, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_goaway_mid_traffic_drains_to_a_new_connection() {
    let (addr, connections, served) = goaway_server(10).await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let mut ok = 0;
    for round in 0..5 {
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move {
                    client
                        .get(format!("http://{addr}/{round}/{i}"))
                        .send()
                        .await?
                        .text()
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(within(30, task).await.unwrap().unwrap(), "ok");
            ok += 1;
        }
    }
    assert_eq!(ok, 50);
    assert_eq!(
        served.load(Ordering::SeqCst),
        50,
        "every request was served exactly once"
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "GOAWAY must move traffic to a new connection"
    );
}

#[tokio::test]
async fn keep_alive_expiry_never_cuts_a_response_being_read() {
    // Keep-Alive: timeout=1, and a body with a 1.5 s pause in the middle: the connection is busy, not idle.
    let server = RawServer::start(|mut stream, _| async move {
        let _ = read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let _ = stream.write_all(b"5\r\nworld\r\n0\r\n\r\n").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let client = Client::new();
    let body = get_text(&client, &server.url("/")).await;
    assert_eq!(body, "helloworld");
    assert_eq!(client.pool_stats().expired, 0);
}

#[tokio::test]
async fn a_waiting_request_keeps_waiting_when_another_gives_up() {
    let server = TestServer::start(|req| async move {
        if req.path() == "/hold" {
            tokio::time::sleep(Duration::from_millis(800)).await;
        }
        respond(200, req.path().to_owned())
    })
    .await;
    let client = Client::builder()
        .http1_only()
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let holder = tokio::spawn({
        let (client, url) = (client.clone(), server.url("/hold"));
        async move { client.get(url).send().await?.text().await }
    });
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiter = tokio::spawn({
        let (client, url) = (client.clone(), server.url("/waiter"));
        async move {
            client
                .get(url)
                .timeout(Duration::from_secs(10))
                .send()
                .await?
                .text()
                .await
        }
    });
    // A third request gives up while the second still waits.
    let err = client
        .get(server.url("/impatient"))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(holder.await.unwrap().unwrap(), "/hold");
    assert_eq!(waiter.await.unwrap().unwrap(), "/waiter");
    assert_eq!(client.pool_stats().waiting, 0);
}

#[tokio::test]
async fn a_name_with_several_addresses_falls_back_to_the_next() {
    let server = TestServer::echo().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    // The URL carries no port, so each resolved address keeps its own.
    let client = Client::builder()
        .resolve_to_addrs("multi.test", &[dead, server.addr()])
        .build()
        .unwrap();
    let response = client
        .get("http://multi.test/fallback")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.remote_addr(), Some(server.addr()));
    assert_eq!(server.last_request().path(), "/fallback");
}

/// Sends `n` GETs to `url` at once and checks that each answers `ok`.
async fn burst(client: &Client, url: &str, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let client = client.clone();
            let url = format!("{url}?{i}");
            tokio::spawn(async move { client.get(url).send().await?.text().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(within(30, task).await.unwrap().unwrap(), "ok");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_opens_another_connection_when_the_stream_limit_is_reached() {
    // Each request is held until all 50 are in the server at once (or 5 s pass): only possible when
    // the client spreads them over five connections of ten streams.
    let arrived = Arc::new(AtomicUsize::new(0));
    let max_in_handler = Arc::new(AtomicUsize::new(0));
    let all_in = Arc::new(tokio::sync::Notify::new());
    let (arrived2, max2, all_in2) = (arrived.clone(), max_in_handler.clone(), all_in.clone());
    let server = TestServer::builder()
        .tls()
        .max_concurrent_streams(10)
        .start(move |req| {
            let (arrived, max, all_in) = (arrived2.clone(), max2.clone(), all_in2.clone());
            async move {
                if req.uri.path() == "/burst" {
                    let notified = all_in.notified();
                    let now = arrived.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    if now == 50 {
                        all_in.notify_waiters();
                    } else {
                        let _ = tokio::time::timeout(Duration::from_secs(5), notified).await;
                    }
                    arrived.fetch_sub(1, Ordering::SeqCst);
                }
                respond(200, "ok")
            }
        })
        .await;
    let client = trusting(&server).build().unwrap();
    // One request first: the client learns that the host speaks HTTP/2 and allows 10 streams.
    let warm = within(10, client.get(server.url("/warm")).send())
        .await
        .unwrap();
    assert_eq!(warm.version(), http::Version::HTTP_2);
    assert_eq!(warm.text().await.unwrap(), "ok");

    burst(&client, &server.url("/burst"), 50).await;
    assert_eq!(max_in_handler.load(Ordering::SeqCst), 50);
    assert_eq!(
        server.connections(),
        5,
        "ten streams on each of five connections"
    );
    let stats = client.pool_stats();
    assert_eq!((stats.open, stats.connects), (5, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_cold_burst_opens_one_connection_per_ten_streams() {
    // Fifty requests on a new client: the first finds out the protocol and stream limit, the others wait
    // for it rather than opening a TLS connection each.
    let (_, handler) = concurrency_probe(Duration::from_millis(100));
    let server = TestServer::builder()
        .tls()
        .max_concurrent_streams(10)
        .start(handler)
        .await;
    let client = trusting(&server).build().unwrap();
    burst(&client, &server.url("/"), 50).await;
    assert_eq!(server.connections(), 5);
    assert_eq!(client.pool_stats().connects, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_stop_at_the_per_host_cap() {
    let (max_in_handler, handler) = concurrency_probe(Duration::from_millis(50));
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http2)
        .max_concurrent_streams(10)
        .start(handler)
        .await;
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_max_connections_per_host(2)
        .build()
        .unwrap();
    // POSTs: the second connection gets its requests before the server's SETTINGS (limit 10) arrive,
    // so the server refuses the streams past ten; those were never processed and are sent again.
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            let url = server.url(&format!("/{i}"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .body(format!("{i}"))
                    .send()
                    .await?
                    .text()
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(within(30, task).await.unwrap().unwrap(), "ok");
    }
    assert_eq!(server.connections(), 2);
    assert!(max_in_handler.load(Ordering::SeqCst) <= 20);
    assert_eq!(client.pool_stats().connects, 2);
    // Each POST reached the handler exactly once.
    let mut bodies: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| std::str::from_utf8(&r.body).unwrap().parse().unwrap())
        .collect();
    bodies.sort_unstable();
    assert_eq!(bodies, (0..50).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_over_tls_cold_burst_is_not_held_back() {
    // ALPN says http/1.1: after the first handshake every request gets its own connection at once.
    let (max_in_handler, handler) = concurrency_probe(Duration::from_millis(300));
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http1)
        .tls()
        .start(handler)
        .await;
    let client = trusting(&server).build().unwrap();
    burst(&client, &server.url("/"), 20).await;
    assert_eq!(max_in_handler.load(Ordering::SeqCst), 20);
    assert_eq!(server.connections(), 20);
}

/// A server answering `/from` with a redirect whose small body comes with its head, `/big` with 4 MiB,
/// and anything else with `done`.
async fn unread_bodies_server() -> TestServer {
    TestServer::start(|req| async move {
        match req.path() {
            "/from" => http::Response::builder()
                .status(302)
                .header("location", "/to")
                .header("content-type", "text/html")
                .body(courier_testkit::full("<a href=\"/to\">moved here</a>"))
                .unwrap(),
            "/big" => respond(200, vec![b'x'; 4 << 20]),
            _ => respond(200, "done"),
        }
    })
    .await
}

/// A redirect's body is not read, but it arrived with the head: the connection carries the next hop
/// (hyper drains what it already holds) instead of being closed.
#[tokio::test]
async fn a_redirect_with_a_small_body_keeps_its_connection() {
    let server = unread_bodies_server().await;
    let client = Client::builder().http1_only().build().unwrap();
    let body = within(10, get_text(&client, &server.url("/from"))).await;
    assert_eq!(body, "done");
    let again = within(10, get_text(&client, &server.url("/from"))).await;
    assert_eq!(again, "done");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(server.connections(), 1, "every hop on one connection");
}

/// A response dropped with its small body unread leaves the connection usable; one dropped with
/// most of 4 MiB still to come closes it, and the next request goes out on a new one, unharmed.
#[tokio::test]
async fn an_unread_body_keeps_its_connection_only_when_it_had_all_arrived() {
    let server = unread_bodies_server().await;
    let client = Client::builder().http1_only().build().unwrap();
    let small = within(10, client.get(server.url("/small")).send())
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    drop(small);
    assert_eq!(
        within(10, get_text(&client, &server.url("/next"))).await,
        "done"
    );
    assert_eq!(
        server.connections(),
        1,
        "the small body's connection was reused"
    );

    let big = within(10, client.get(server.url("/big")).send())
        .await
        .unwrap();
    assert_eq!(big.status(), 200);
    drop(big);
    for _ in 0..3 {
        assert_eq!(
            within(10, get_text(&client, &server.url("/next"))).await,
            "done"
        );
    }
    assert_eq!(
        server.connections(),
        2,
        "the big body's connection was closed"
    );
    let stats = client.pool_stats();
    assert_eq!(stats.open, 1, "{stats:?}");
}

/// A request body whose stream panics takes down the task hyper polls it in; the connection's place
/// under a per-host cap of one is freed all the same, and the next request is answered.
#[tokio::test]
async fn a_connection_task_that_panics_frees_its_place() {
    let server = TestServer::echo().await;
    let client = Client::builder()
        .http1_only()
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let panicking = futures_util::stream::poll_fn(
        |_| -> std::task::Poll<Option<Result<Bytes, std::io::Error>>> {
            panic!("a request body stream that panics")
        },
    );
    let failed = within(
        10,
        client
            .post(server.url("/upload"))
            .body(courier::Body::wrap_stream(panicking))
            .send(),
    )
    .await;
    assert!(failed.is_err(), "{failed:?}");
    let next = within(
        10,
        client
            .get(server.url("/next"))
            .timeout(Duration::from_secs(3))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(next.status(), 200);
    assert_eq!(client.pool_stats().open, 1);
}

/// A client used on one runtime and then another: the first runtime's connection tasks (and the
/// reaper) die with it, their places under a per-host cap of one are freed, and idle expiry works on
/// the second runtime.
#[test]
fn connections_left_on_a_dropped_runtime_free_their_places() {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(TestServer::echo());
    let client = Client::builder()
        .http1_only()
        .pool_max_connections_per_host(1)
        .pool_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    first.block_on(async {
        let response = within(10, client.get(server.url("/a")).send())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        within(10, response.bytes()).await.unwrap();
    });
    drop(first);
    runtime().block_on(async {
        let response = within(
            10,
            client
                .get(server.url("/b"))
                .timeout(Duration::from_secs(3))
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        within(10, response.bytes()).await.unwrap();
        assert_eq!(client.pool_stats().open, 1);
        // The reaper runs on this runtime: the idle connection expires.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let stats = client.pool_stats();
        assert_eq!((stats.open, stats.expired), (0, 1), "{stats:?}");
    });
}

/// `pool_idle_timeout` applies to HTTP/2 connections too: one with no stream open for longer is
/// closed (and counted as expired), and the next request opens another.
#[tokio::test]
async fn an_idle_http2_connection_expires() {
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http2)
        .start(|_| async { respond(200, "ok") })
        .await;
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_idle_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert_eq!(within(10, get_text(&client, &server.url("/1"))).await, "ok");
    assert_eq!(within(10, get_text(&client, &server.url("/2"))).await, "ok");
    assert_eq!(server.connections(), 1, "reused while not idle for long");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stats = client.pool_stats();
    assert_eq!((stats.open, stats.expired), (0, 1), "{stats:?}");
    assert_eq!(within(10, get_text(&client, &server.url("/3"))).await, "ok");
    assert_eq!(server.connections(), 2);
}

/// Requests that waited on the first connection to a host (to learn its protocol by ALPN) connect side
/// by side once it fails, not one after another: with a TLS handshake never answered and a 500 ms
/// connect timeout, the server sees the three others' connections open at once.
#[tokio::test]
async fn requests_waiting_on_a_failed_first_connect_then_connect_side_by_side() {
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let server = RawServer::start({
        let (open, most) = (open.clone(), most.clone());
        move |mut stream, _| {
            let (open, most) = (open.clone(), most.clone());
            async move {
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Reads the ClientHello and says nothing, until the client gives up.
                let mut sink = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
                open.fetch_sub(1, Ordering::SeqCst);
            }
        }
    })
    .await;
    let client = Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", server.addr().port());
    let results = within(
        10,
        futures_util::future::join_all((0..4).map(|_| client.get(&url).send())),
    )
    .await;
    for result in results {
        let err = result.unwrap_err();
        assert!(err.is_connect() && err.is_timeout(), "{err:?}");
    }
    assert_eq!(server.connections(), 4);
    // Three side by side (four if the server sees them before the first's close).
    let most = most.load(Ordering::SeqCst);
    assert!(most >= 3, "at most {most} connections open at once");
}

/// After a graceful GOAWAY an HTTP/2 connection still counts against the per-host cap while its
/// streams finish: with a cap of one, a request made meanwhile waits for the slow response's
/// connection to close instead of opening a second one beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_draining_after_goaway_still_counts() {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    tokio::spawn({
        let (open, most) = (open.clone(), most.clone());
        async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (open, most) = (open.clone(), most.clone());
                tokio::spawn(async move {
                    most.fetch_max(open.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    let slow_started = Arc::new(tokio::sync::Notify::new());
                    let started = slow_started.clone();
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let started = started.clone();
                        async move {
                            let body: courier_testkit::ServerBody = if req.uri().path() == "/slow" {
                                started.notify_one();
                                courier_testkit::slow(
                                    vec![Bytes::from_static(b"x"); 5],
                                    Duration::from_millis(100),
                                )
                            } else {
                                courier_testkit::full("fast")
                            };
                            Ok::<_, std::convert::Infallible>(http::Response::new(body))
                        }
                    });
                    let conn = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = slow_started.notified() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        }
    });
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let slow = within(10, client.get(format!("http://{addr}/slow")).send())
        .await
        .unwrap();
    let slow = tokio::spawn(slow.bytes());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fast = within(10, get_text(&client, &format!("http://{addr}/fast"))).await;
    assert_eq!(fast, "fast");
    assert_eq!(within(10, slow).await.unwrap().unwrap().len(), 5);
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "two connections open at once"
    );
}

/// A failed connect lets only the requests that waited on it connect side by side: a burst after it,
/// once the server is up, still waits to learn the protocol and shares one HTTP/2 connection, rather
/// than opening one per request.
#[tokio::test]
async fn after_a_failed_connect_a_later_burst_shares_one_connection() {
    use hyper::service::service_fn;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let url = format!("http://{addr}/");
    let refused = within(10, client.get(&url).send()).await.unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn({
        let connections = connections.clone();
        async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                connections.fetch_add(1, Ordering::SeqCst);
                let service = service_fn(|_req: http::Request<hyper::body::Incoming>| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(Bytes::from_static(b"ok")),
                    ))
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        }
    });
    let burst = within(
        10,
        futures_util::future::join_all((0..20).map(|_| get_text(&client, &url))),
    )
    .await;
    assert!(burst.iter().all(|body| body == "ok"));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// An early answer (a 401) to a request whose body is still being sent (a stream of a declared length)
/// does not give its connection back while the upload goes on, whether the answer was dropped unread
/// or read to its end: the next request goes out on another connection at once instead of waiting
/// behind the rest of the upload.
#[tokio::test]
async fn an_early_answer_to_an_unfinished_upload_does_not_give_its_connection_back() {
    for read_answer in [false, true] {
        early_answer_to_an_unfinished_upload(read_answer).await;
    }
}

/// The other side of the test above: a large upload the server read before answering leaves its
/// connection ready, and the next request reuses it.
#[tokio::test]
async fn a_large_upload_answered_after_it_was_read_keeps_its_connection() {
    let server =
        TestServer::start(|req| async move { respond(200, req.body.len().to_string()) }).await;
    let client = Client::builder().http1_only().build().unwrap();
    for _ in 0..5 {
        let answer = within(
            10,
            client
                .post(server.url("/upload"))
                .body(vec![7u8; 1 << 20])
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(within(10, answer.text()).await.unwrap(), "1048576");
        assert_eq!(
            within(10, get_text(&client, &server.url("/next"))).await,
            "0"
        );
    }
    assert_eq!(server.connections(), 1);
}

async fn early_answer_to_an_unfinished_upload(read_answer: bool) {
    let server = RawServer::start(|mut stream, _| async move {
        let Ok(head) = read_request_head(&mut stream).await else {
            return;
        };
        if head.starts_with("GET /next") {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            return;
        }
        let _ = stream
            .write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\n\r\nnope!")
            .await;
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
    })
    .await;
    let client = Client::builder().http1_only().build().unwrap();
    let slow = futures_util::stream::unfold(0, |step| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(Bytes::from_static(b"12345")), 1)),
            1 => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Some((Ok(Bytes::from_static(b"67890")), 2))
            }
            _ => None,
        }
    });
    let form = courier::multipart::Form::new().part(
        "upload",
        courier::multipart::Part::stream_with_length(courier::Body::wrap_stream(slow), 10),
    );
    let answer = within(
        10,
        client.post(server.url("/upload")).multipart(form).send(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 401);
    if read_answer {
        assert_eq!(within(10, answer.text()).await.unwrap(), "nope!");
    } else {
        drop(answer);
    }
    let next = within(
        10,
        client
            .get(server.url("/next"))
            .timeout(Duration::from_secs(1))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(within(10, next.text()).await.unwrap(), "ok");
}

/// An HTTP/2 connection past its idle deadline is never handed a new stream, even when the reaper has
/// not run (here the runtime's only thread sleeps through the deadline) and a per-host cap of one
/// would otherwise pick the only connection there is.
#[tokio::test]
async fn an_expired_http2_connection_is_not_reused_before_the_reaper_runs() {
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http2)
        .start(|_| async { respond(200, "ok") })
        .await;
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_idle_timeout(Duration::from_millis(200))
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    assert_eq!(within(10, get_text(&client, &server.url("/1"))).await, "ok");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(within(10, get_text(&client, &server.url("/2"))).await, "ok");
    let stats = client.pool_stats();
    assert_eq!((stats.expired, stats.connects), (1, 2), "{stats:?}");
}

/// With a `local_address`, only the server's addresses of its family are connected to (a source
/// address is what the user asked for; an IPv6 connection from an unbound socket is not it). When
/// every attempt fails, the error names each address tried.
#[tokio::test]
async fn local_address_keeps_to_its_family_and_every_failed_address_is_named() {
    // An IPv6 server the client must not reach from its IPv4 local address (skipped without IPv6).
    if let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await {
        let v6 = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        tokio::spawn({
            let accepted = accepted.clone();
            async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nv6")
                        .await;
                }
            }
        });
        let client = Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 1]))
            .resolve_to_addrs("v6only.test", &[v6])
            .build()
            .unwrap();
        let err = within(10, client.get("http://v6only.test/").send())
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }

    let closed = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (a, b) = (closed(), closed());
    let client = Client::builder()
        .resolve_to_addrs("two.test", &[a, b])
        .build()
        .unwrap();
    let err = within(10, client.get("http://two.test/").send())
        .await
        .unwrap_err();
    let shown = format!("{err:#}");
    assert!(err.is_connect(), "{err:?}");
    assert!(
        shown.contains(&a.to_string()) && shown.contains(&b.to_string()),
        "{shown}"
    );
}
