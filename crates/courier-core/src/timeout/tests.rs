//! The deadlines' arithmetic on tokio's paused clock: services and bodies here are in memory, with no
//! socket whose readiness the clock could run ahead of, so every instant is exact. The same deadlines
//! against real loopback servers are tested in the workspace's `tests/timeout.rs`.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::time::Instant;
use tower::ServiceExt;
use tower_layer::Layer;

use super::{TimeoutLayer, TotalTimeout};
use crate::Body;

const URL: &str = "http://127.0.0.1:1/path";

fn request(body: Body) -> Request<Body> {
    Request::post(URL).body(body).unwrap()
}

/// A body of `n` chunks of `chunk` bytes, each after `pause`.
fn slow_body(n: usize, chunk: usize, pause: Duration) -> Body {
    Body::wrap_stream(futures_util::stream::unfold(0, move |i| async move {
        if i == n {
            return None;
        }
        tokio::time::sleep(pause).await;
        Some((Ok::<_, Infallible>(Bytes::from(vec![b'x'; chunk])), i + 1))
    }))
}

/// A service that answers at once with `body()`.
fn answering(
    body: impl Fn() -> Body + Clone + Send + 'static,
) -> impl tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send>
       + Clone {
    tower::service_fn(move |_req: Request<Body>| {
        let body = body.clone();
        async move { Ok::<_, Infallible>(Response::new(body())) }
    })
}

/// On the paused clock a test whose deadline never fires would park forever: this turns that into a
/// failure (a week of paused time passes at once).
trait Guarded: Future + Sized {
    fn guarded(self) -> impl Future<Output = Self::Output> {
        async move {
            tokio::time::timeout(Duration::from_secs(86_400 * 7), self)
                .await
                .expect("hung: no deadline fired")
        }
    }
}

impl<F: Future> Guarded for F {}

/// A service that never answers.
fn silent(
) -> impl tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone {
    tower::service_fn(|_req: Request<Body>| std::future::pending())
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_ends_the_wait_for_the_head_exactly_on_time() {
    let start = Instant::now();
    let err = TimeoutLayer::new(Duration::from_secs(3))
        .layer(silent())
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), URL);
    assert!(
        format!("{err:#}")
            .contains("total request timeout elapsed waiting for the response headers"),
        "{err:#}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_s_own_total_timeout_replaces_the_layer_s() {
    let start = Instant::now();
    let mut req = request(Body::empty());
    req.extensions_mut()
        .insert(TotalTimeout(Duration::from_millis(500)));
    let err = TimeoutLayer::new(Duration::from_secs(60))
        .layer(silent())
        .oneshot(req)
        .guarded()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_millis(500));

    // And with no deadline of the layer's at all.
    let start = Instant::now();
    let mut req = request(Body::empty());
    req.extensions_mut()
        .insert(TotalTimeout(Duration::from_secs(2)));
    let err = TimeoutLayer::default()
        .layer(silent())
        .oneshot(req)
        .guarded()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_covers_the_body() {
    let start = Instant::now();
    let response = TimeoutLayer::new(Duration::from_secs(5))
        .layer(answering(|| slow_body(10, 1, Duration::from_secs(1))))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let err = response.into_body().collect().guarded().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), URL);
    assert!(
        format!("{err:#}").contains("total request timeout elapsed while reading the body"),
        "{err:#}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_read_timeout_starts_once_a_streaming_upload_has_been_sent() {
    // The service reads the whole upload (10 s: five chunks, 2 s apart), then never answers.
    let reading = tower::service_fn(|req: Request<Body>| async move {
        let body = req
            .into_body()
            .collect()
            .guarded()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.len(), 5);
        std::future::pending::<Result<Response<Body>, Infallible>>().await
    });
    let start = Instant::now();
    let err = TimeoutLayer::default()
        .read_timeout(Duration::from_secs(3))
        .layer(reading)
        .oneshot(request(slow_body(5, 1, Duration::from_secs(2))))
        .guarded()
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(13));
    assert!(
        format!("{err:#}").contains("read timeout elapsed waiting for the response headers"),
        "{err:#}"
    );

    // A body held in memory is sent with the head: the read timeout starts at once.
    let start = Instant::now();
    let err = TimeoutLayer::default()
        .read_timeout(Duration::from_secs(3))
        .layer(silent())
        .oneshot(request(Body::from("in memory")))
        .guarded()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_read_timeout_is_per_chunk_and_leaves_out_the_reader_s_pauses() {
    // Three chunks 2 s apart (under the 3 s read timeout), then 4 s of silence before a fourth.
    let body = || {
        Body::wrap_stream(futures_util::stream::unfold(0, |i| async move {
            let pause = if i == 3 { 4 } else { 2 };
            (i < 4).then_some(())?;
            tokio::time::sleep(Duration::from_secs(pause)).await;
            Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), i + 1))
        }))
    };
    let response = TimeoutLayer::default()
        .read_timeout(Duration::from_secs(3))
        .layer(answering(body))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let start = Instant::now();
    let mut body = response.into_body();
    for _ in 0..3 {
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "x");
        // The reader's own pause, longer than the read timeout, is not the server's silence.
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let err = body.frame().await.unwrap().unwrap_err();
    // 3 x (2 s for the chunk + 10 s of the reader's) + 3 s of silence.
    assert_eq!(start.elapsed(), Duration::from_secs(39));
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        format!("{err:#}").contains("read timeout elapsed waiting for the next body chunk"),
        "{err:#}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_minimum_speed_ends_a_crawling_body_at_the_end_of_a_window() {
    // 10 bytes a second against a minimum of 1 KiB/s over 2 s.
    let response = TimeoutLayer::default()
        .min_speed(1024, Duration::from_secs(2))
        .layer(answering(|| slow_body(100, 1, Duration::from_millis(100))))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let start = Instant::now();
    let err = response.into_body().collect().guarded().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        format!("{err:#}")
            .contains("below the minimum speed of 1024 bytes/s over 2s (20 bytes received)"),
        "{err:#}"
    );

    // 2 KiB a second passes window after window.
    let response = TimeoutLayer::default()
        .min_speed(1024, Duration::from_secs(2))
        .layer(answering(|| slow_body(30, 2048, Duration::from_secs(1))))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let body = response
        .into_body()
        .collect()
        .guarded()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body.len(), 30 * 2048);
}

#[tokio::test(start_paused = true)]
async fn with_no_deadline_it_only_passes_the_exchange_on() {
    let response = TimeoutLayer::default()
        .layer(answering(|| slow_body(3, 4, Duration::from_secs(3600))))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let body = response
        .into_body()
        .collect()
        .guarded()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "xxxxxxxxxxxx");
}

#[tokio::test]
async fn errors_of_the_inner_service_and_body_keep_their_kinds() {
    let refused = tower::service_fn(|_req: Request<Body>| async {
        Err::<Response<Body>, _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    });
    let err = TimeoutLayer::new(Duration::from_secs(5))
        .layer(refused)
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    let cut = || {
        Body::wrap_stream(futures_util::stream::iter([
            Ok(Bytes::from_static(b"x")),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ]))
    };
    for layer in [
        TimeoutLayer::default(),
        TimeoutLayer::new(Duration::from_secs(5)),
    ] {
        let response = layer
            .layer(answering(cut))
            .oneshot(request(Body::empty()))
            .guarded()
            .await
            .unwrap();
        let err = response.into_body().collect().guarded().await.unwrap_err();
        assert!(err.is_body(), "{err:?}");
    }
}

/// `Duration::MAX` is "no limit" (as for tokio's `sleep`), never an overflow panic.
#[tokio::test(start_paused = true)]
async fn the_longest_durations_do_not_overflow_the_clock() {
    let response = TimeoutLayer::new(Duration::MAX)
        .read_timeout(Duration::MAX)
        .min_speed(1, Duration::MAX)
        .layer(answering(|| Body::from("fine")))
        .oneshot(request(Body::empty()))
        .guarded()
        .await
        .unwrap();
    let body = response.into_body().collect().guarded().await.unwrap();
    assert_eq!(body.to_bytes(), Bytes::from_static(b"fine"));
}

#[test]
fn a_min_speed_under_one_byte_per_window_sets_nothing() {
    let unlimited = TimeoutLayer::default();
    for (rate, window) in [
        (0, Duration::from_secs(5)),
        (100, Duration::ZERO),
        (1, Duration::from_millis(500)),
    ] {
        assert_eq!(
            TimeoutLayer::default().min_speed(rate, window),
            unlimited,
            "{rate} B/s over {window:?}"
        );
    }
    assert_ne!(
        TimeoutLayer::default().min_speed(1, Duration::from_secs(1)),
        unlimited
    );
}
