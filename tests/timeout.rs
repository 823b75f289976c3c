//! The timeouts against real loopback servers: `courier_core::timeout` alone around hyper-util's own
//! client (the layer works around any service), and through `Client`'s `read_timeout` and `min_speed`.
//!
//! These run on the real clock: with tokio's paused clock the runtime jumps to the next timer whenever it
//! would wait for a socket, so a deadline (or the hang guard) would pass before the loopback bytes it
//! waits for are read. The deadlines' arithmetic is tested on the paused clock, with services and bodies
//! in memory, in `courier_core::timeout`'s unit tests.

use std::time::{Duration, Instant};

use bytes::Bytes;
use courier::{Body, Client};
use courier_core::timeout::TimeoutLayer;
use courier_testkit::client::within;
use courier_testkit::{respond, RawServer, ServerBody, TestServer, Then};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::Layer;
use tower::ServiceExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// hyper-util's legacy client: a plain service with no Courier code in it.
fn hyper_util_client<B>() -> hyper_util::client::legacy::Client<HttpConnector, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

fn get(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(url).body(Full::default()).unwrap()
}

/// A body that sends `chunks` (each after `pause`) and then nothing, without ending.
fn stalling(chunks: &'static [&'static str], pause: Duration) -> ServerBody {
    let sent = futures_util::stream::unfold(chunks.iter(), move |mut chunks| async move {
        let chunk = chunks.next()?;
        tokio::time::sleep(pause).await;
        Some((
            Ok(Frame::data(Bytes::from_static(chunk.as_bytes()))),
            chunks,
        ))
    });
    let stall = futures_util::stream::pending();
    StreamBody::new(futures_util::StreamExt::chain(sent, stall)).boxed()
}

#[tokio::test]
async fn the_total_timeout_alone_ends_the_wait_for_a_silent_server() {
    let server = RawServer::reply(Bytes::new(), Then::Hold).await;
    let client = TimeoutLayer::new(Duration::from_millis(300)).layer(hyper_util_client());
    let start = Instant::now();
    let err = within(10, client.oneshot(get(&server.url("/silent"))))
        .await
        .unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/silent"));
    assert!(
        format!("{err:#}")
            .contains("total request timeout elapsed waiting for the response headers"),
        "{err:#}"
    );
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn the_read_timeout_alone_ends_a_body_that_stalls() {
    let server = TestServer::start(|_| async {
        http::Response::new(stalling(&["ab", "cd"], Duration::from_millis(50)))
    })
    .await;
    let client = TimeoutLayer::default()
        .read_timeout(Duration::from_millis(300))
        .layer(hyper_util_client());
    let response = within(10, client.oneshot(get(&server.url("/stall"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received = Vec::new();
    let err = within(10, async {
        loop {
            match body.frame().await {
                Some(Ok(frame)) => received.extend_from_slice(&frame.into_data().unwrap()),
                Some(Err(err)) => return err,
                None => panic!("the body ended"),
            }
        }
    })
    .await;
    assert_eq!(received, b"abcd");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/stall"));
    assert!(
        format!("{err:#}").contains("read timeout elapsed waiting for the next body chunk"),
        "{err:#}"
    );
}

#[tokio::test]
async fn the_client_read_timeout_times_each_hop_not_the_chain() {
    // Four hops, each answered after 200 ms: 800 ms in all, never 500 ms of silence.
    let server = TestServer::start(|req| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        match req.path().trim_start_matches('/').parse::<u32>() {
            Ok(n) if n < 3 => courier_testkit::redirect(302, &format!("/{}", n + 1)),
            _ => respond(200, "arrived"),
        }
    })
    .await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let response = within(10, client.get(server.url("/0")).send())
        .await
        .unwrap();

    assert_eq!(response.url().as_str(), server.url("/3"));
    assert_eq!(response.text().await.unwrap(), "arrived");
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn the_client_read_timeout_does_not_run_while_a_retry_waits() {
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |_| {
        let first = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        async move {
            if first {
                courier_testkit::status_with_retry_after(503, "1", "busy")
            } else {
                respond(200, "ready")
            }
        }
    })
    .await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(400))
        .retry(courier::retry::RetryPolicy::new())
        .build()
        .unwrap();

    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ready");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn the_read_timeout_alone_waits_out_a_slow_upload() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("{} bytes", req.body.len())) })
            .await;
    // Six chunks 150 ms apart: the upload takes twice the read timeout.
    let chunks = futures_util::stream::unfold(0, |i| async move {
        if i == 6 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        Some((
            Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"0123456789"))),
            i + 1,
        ))
    });
    let request = http::Request::post(server.url("/upload"))
        .body(BoxBody::new(StreamBody::new(chunks)))
        .unwrap();
    let client = TimeoutLayer::default()
        .read_timeout(Duration::from_millis(400))
        .layer(hyper_util_client());
    let response = within(10, client.oneshot(request)).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "60 bytes");
}

#[tokio::test]
async fn the_minimum_speed_alone_ends_a_crawling_body() {
    let server = TestServer::start(|_| async {
        http::Response::new(courier_testkit::slow(
            (0..40).map(|_| Bytes::from_static(b"x")).collect(),
            Duration::from_millis(50),
        ))
    })
    .await;
    // 20 B/s against a minimum of 1 KiB/s over 400 ms.
    let client = TimeoutLayer::default()
        .min_speed(1024, Duration::from_millis(400))
        .layer(hyper_util_client());
    let response = within(10, client.oneshot(get(&server.url("/crawl"))))
        .await
        .unwrap();
    let err = within(10, response.into_body().collect())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/crawl"));
    assert!(
        format!("{err:#}").contains("below the minimum speed of 1024 bytes/s"),
        "{err:#}"
    );
}

#[tokio::test]
async fn read_timeout_does_not_run_during_a_slow_upload() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("{} bytes", req.body.len())) })
            .await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    // The whole upload is much longer than the read timeout.
    let response = client
        .post(server.url("/upload"))
        .body(slow_upload())
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "120 bytes");
}

/// Twelve chunks of upload, one every 250 ms: three seconds in all, each pause shorter than the read
/// timeouts below.
fn slow_upload() -> Body {
    Body::wrap_stream(futures_util::stream::unfold(0, |i| async move {
        if i == 12 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789")),
            i + 1,
        ))
    }))
}

/// A server that answers as it reads (an echo, a transform): its response head as soon as the request
/// head is in, then, once the chunked upload has ended, `done` if `finish`, else nothing more.
async fn answering_while_reading(finish: bool) -> RawServer {
    RawServer::start(move |mut stream, _| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut head_sent = false;
        while !seen.ends_with(b"0\r\n\r\n") {
            let Ok(n) = stream.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if !head_sent && seen.windows(4).any(|w| w == b"\r\n\r\n") {
                head_sent = true;
                let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
            }
        }
        if finish {
            let _ = stream.write_all(b"4\r\ndone\r\n0\r\n\r\n").await;
        } else {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
    .await
}

/// A server that answers as it reads sends its head while the upload is still going: the body's
/// read timeout does not run until the upload has been sent either.
#[tokio::test]
async fn the_read_timeout_waits_out_an_upload_the_server_answers_while_reading() {
    let server = answering_while_reading(true).await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let response = within(
        10,
        client.post(server.url("/echo")).body(slow_upload()).send(),
    )
    .await
    .unwrap();
    assert_eq!(within(10, response.text()).await.unwrap(), "done");

    // Once the upload has been sent, the read timeout counts: a server silent after it times out.
    let silent = answering_while_reading(false).await;
    let one_chunk = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<_, std::io::Error>(Bytes::from_static(b"x"))
    });
    let started = Instant::now();
    let response = within(
        10,
        client
            .post(silent.url("/echo"))
            .body(Body::wrap_stream(one_chunk))
            .send(),
    )
    .await
    .unwrap();
    let err = within(10, response.text()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The upload took 300 ms, then 500 ms of silence.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(750), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// The time before the caller first reads the body is its own: a minimum speed does not count it
/// against the server.
#[tokio::test]
async fn the_minimum_speed_does_not_count_the_wait_before_the_first_read() {
    let server = TestServer::start(|_| async {
        http::Response::new(courier_testkit::slow(
            vec![
                Bytes::from_static(b"first"),
                Bytes::from(vec![b'x'; 65_536]),
            ],
            Duration::from_millis(10),
        ))
    })
    .await;
    let client = Client::builder()
        .min_speed(1024, Duration::from_millis(500))
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let body = within(10, response.bytes()).await.unwrap();
    assert_eq!(body.len(), 5 + 65_536);
}

#[tokio::test]
async fn min_speed_ends_a_stalled_download() {
    let server = TestServer::start(|_| async {
        http::Response::new(courier_testkit::slow(
            (0..20).map(|_| Bytes::from_static(b"x")).collect(),
            Duration::from_millis(100),
        ))
    })
    .await;
    // 1 byte every 100 ms is 10 B/s, far below 1 KiB/s.
    let client = Client::builder()
        .min_speed(1024, Duration::from_millis(500))
        .build()
        .unwrap();
    let err = client
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        format!("{err:#}").contains("below the minimum speed"),
        "{err}"
    );
}

/// A server that stops reading the request body (its TCP window fills) holds the upload up for
/// ever: the read timeout, which does not run while the client itself is slow to produce the body,
/// runs while the connection takes none of it.
#[tokio::test]
async fn the_read_timeout_ends_an_upload_the_server_stopped_reading() {
    let server = RawServer::start(|mut stream, _| async move {
        let _ = courier_testkit::read_request_head(&mut stream).await;
        // Never reads the body, never answers.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // 256 MiB, far more than the socket buffers hold, in 1 MiB chunks produced at once.
    let chunk = Bytes::from(vec![b'x'; 1 << 20]);
    let chunks =
        futures_util::stream::iter((0..256).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let started = Instant::now();
    let err = within(
        10,
        client
            .post(server.url("/upload"))
            .body(Body::wrap_stream(chunks))
            .send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        format!("{err:#}").contains("stopped taking the request body"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// The body's read timeout and minimum speed run while an upload is held up: a server that answers
/// early, then stops taking the request body and stops sending its own, is timed out (they waited
/// for the upload to end, which never came).
#[tokio::test]
async fn a_body_stalled_behind_an_upload_the_server_stopped_reading_times_out() {
    let server = RawServer::start(|mut stream, _| async move {
        use tokio::io::AsyncWriteExt;
        let _ = courier_testkit::read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst")
            .await;
        // Never reads the body, never sends the rest.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    for client in [
        Client::builder().read_timeout(Duration::from_millis(500)),
        Client::builder().min_speed(1000, Duration::from_millis(500)),
    ] {
        let client = client.build().unwrap();
        let chunk = Bytes::from(vec![b'x'; 1 << 16]);
        let chunks = futures_util::stream::iter(
            (0..4096).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        let mut response = within(
            10,
            client
                .post(server.url("/upload"))
                .body(Body::wrap_stream(chunks))
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(
            &within(10, response.chunk()).await.unwrap().unwrap()[..],
            b"first"
        );
        let started = Instant::now();
        let err = within(10, response.chunk()).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
