//! The retry layer over the real transport: resets, refused connections, 429/503 with `Retry-After`,
//! methods, limits, the budget and streaming bodies, against in-process servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use courier_core::retry::{RetryBudget, RetryLayer, RetryPolicy};
use courier_core::transport::Transport;
use courier_core::Body;
use courier_testkit::{
    full, read_request_head, status_with_retry_after, RawServer, Recorded, ServerBody, TestServer,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
use tower::Layer;
use tower::ServiceExt;

/// A transport that does not retry stale connections itself, so every retry seen is the layer's.
fn transport() -> Transport<Body> {
    Transport::builder()
        .retry_stale_connections(false)
        .build()
        .unwrap()
}

/// The default policy with millisecond backoff, so tests are quick.
fn fast() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn request(method: Method, url: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(url)
        .body(body.into())
        .unwrap()
}

async fn send(
    policy: RetryPolicy,
    req: Request<Body>,
) -> Result<(StatusCode, Bytes), courier_core::Error> {
    let res = RetryLayer::new(policy)
        .layer(transport())
        .oneshot(req)
        .await?;
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Ok((status, body))
}

/// A server answering attempt `n` (from 0) with `answer(n, request)`.
async fn scripted<F>(answer: F) -> TestServer
where
    F: Fn(usize, &Recorded) -> Response<ServerBody> + Send + Sync + 'static,
{
    let attempts = Arc::new(AtomicUsize::new(0));
    let answer = Arc::new(answer);
    TestServer::start(move |req| {
        let attempt = attempts.fetch_add(1, Ordering::SeqCst);
        let answer = answer.clone();
        async move { answer(attempt, &req) }
    })
    .await
}

fn ok(body: &str) -> Response<ServerBody> {
    Response::new(full(body.to_owned()))
}

/// A raw server that cuts the first two connections after reading the request head (a reset, then a
/// plain close), and answers `200 ok` from the third on.
async fn cuts_twice_then_answers() -> RawServer {
    RawServer::start(|mut stream, index| async move {
        let _ = read_request_head(&mut stream).await;
        match index {
            0 => {
                // RST instead of FIN.
                let _ = stream.set_zero_linger();
                drop(stream);
            }
            1 => drop(stream),
            _ => {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = stream.shutdown().await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn get_is_retried_after_resets_before_any_response_byte() {
    // Without the layer, the first cut is an error sending the request.
    let server = cuts_twice_then_answers().await;
    let err = transport()
        .oneshot(request(Method::GET, &server.url("/"), ()))
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");

    let server = cuts_twice_then_answers().await;
    let (status, body) = send(fast(), request(Method::GET, &server.url("/"), ()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"ok");
    assert_eq!(server.connections(), 3);
}

#[tokio::test]
async fn post_is_not_retried_after_a_reset() {
    let server = cuts_twice_then_answers().await;
    let err = send(fast(), request(Method::POST, &server.url("/"), "order"))
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(server.connections(), 1);
}

/// A port with nothing listening, and a task that starts answering `200 late` on it after a while.
async fn listens_later() -> (String, tokio::task::JoinHandle<()>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = read_request_head(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nlate")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    (format!("http://127.0.0.1:{port}/"), task)
}

/// Enough retries, 10–50 ms apart, to outlast the 150 ms before the server listens.
fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(200)
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .no_budget()
}

#[tokio::test]
async fn refused_connections_are_retried_until_the_server_listens() {
    let (url, task) = listens_later().await;
    let (status, body) = send(patient(), request(Method::GET, &url, ()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"late");
    task.abort();
}

#[tokio::test]
async fn refused_connections_are_retried_for_post_too() {
    // The request never left, so even a POST is safe to send again.
    let (url, task) = listens_later().await;
    let (status, body) = send(patient(), request(Method::POST, &url, "order"))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"late");
    task.abort();

    // Without retries, the same refusal is a connect error.
    let (url, task) = listens_later().await;
    task.abort();
    let err = send(
        RetryPolicy::disabled(),
        request(Method::POST, &url, "order"),
    )
    .await
    .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn service_unavailable_with_retry_after_seconds_is_retried() {
    let server = scripted(|attempt, _| match attempt {
        0 => status_with_retry_after(503, "1", "busy"),
        _ => ok("done"),
    })
    .await;
    let (status, body) = send(fast(), request(Method::GET, &server.url("/"), ()))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"done");
    assert_eq!(server.requests().len(), 2);
}

/// An IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        day,
        MONTHS[month as usize - 1],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn http_date_formats_like_rfc_9110() {
    let example = UNIX_EPOCH + Duration::from_secs(784_111_777);
    assert_eq!(http_date(example), "Sun, 06 Nov 1994 08:49:37 GMT");
}

#[tokio::test]
async fn too_many_requests_with_http_date_retry_after_is_retried() {
    for retry_after in [
        // In the past: retry at once.
        "Wed, 21 Oct 2015 07:28:00 GMT".to_owned(),
        // A second or two from now.
        http_date(SystemTime::now() + Duration::from_secs(2)),
    ] {
        let date = retry_after.clone();
        let server = scripted(move |attempt, _| match attempt {
            0 => status_with_retry_after(429, &date, "slow down"),
            _ => ok("done"),
        })
        .await;
        let (status, body) = send(fast(), request(Method::GET, &server.url("/"), ()))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK, "{retry_after}");
        assert_eq!(&body[..], b"done");
        assert_eq!(server.requests().len(), 2);
    }
}

#[tokio::test]
async fn retry_after_beyond_the_cap_returns_the_response() {
    for retry_after in [
        "Fri, 01 Jan 2100 00:00:00 GMT".to_owned(),
        "31".to_owned(),
        http_date(SystemTime::now() + Duration::from_secs(3600)),
    ] {
        let date = retry_after.clone();
        let server = scripted(move |_, _| status_with_retry_after(429, &date, "slow down")).await;
        let (status, body) = send(fast(), request(Method::GET, &server.url("/"), ()))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{retry_after}");
        assert_eq!(&body[..], b"slow down");
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn a_retry_the_total_timeout_would_cut_short_returns_the_response() {
    let server = scripted(|_, _| status_with_retry_after(503, "5", "back in five seconds")).await;
    let client = courier::Client::builder()
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy::new())
        .build()
        .unwrap();

    let response = courier_testkit::client::within(10, client.get(server.url("/")).send())
        .await
        .expect("the 503, not a timeout");

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.text().await.unwrap(), "back in five seconds");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn post_is_not_retried_on_503_unless_asked() {
    let server = scripted(|attempt, _| match attempt {
        0 => status_with_retry_after(503, "0", "busy"),
        _ => ok("done"),
    })
    .await;
    let (status, body) = send(fast(), request(Method::POST, &server.url("/"), "order"))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&body[..], b"busy");
    assert_eq!(server.requests().len(), 1);

    // Opted in: the POST is sent again with the same body and headers.
    let server = scripted(|attempt, _| match attempt {
        0 => status_with_retry_after(503, "0", "busy"),
        _ => ok("done"),
    })
    .await;
    let mut req = request(Method::POST, &server.url("/orders"), "order");
    req.headers_mut()
        .insert("idempotency-key", "k-1".parse().unwrap());
    let (status, body) = send(fast().retry_non_idempotent(true), req).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"done");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for seen in &requests {
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.path(), "/orders");
        assert_eq!(&seen.body[..], b"order");
        assert_eq!(seen.header("idempotency-key"), Some("k-1"));
        assert_eq!(seen.header("content-length"), Some("5"));
    }
}

#[tokio::test]
async fn retries_stop_at_max_retries_and_return_the_last_response() {
    let server =
        scripted(|attempt, _| status_with_retry_after(503, "0", format!("busy {attempt}"))).await;
    let (status, body) = send(
        fast().max_retries(2),
        request(Method::PUT, &server.url("/item"), "v2"),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&body[..], b"busy 2");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| &r.body[..] == b"v2"));
}

#[tokio::test]
async fn a_spent_budget_stops_retries() {
    let server = scripted(|_, _| status_with_retry_after(503, "0", "busy")).await;
    // Each request may pay for one retry, and clones of the service share the budget.
    let policy = fast()
        .max_retries(5)
        .budget(RetryBudget::new(Duration::from_secs(10), 0, 1.0));
    let service = RetryLayer::new(policy).layer(transport());
    for round in 1..=3 {
        let res = service
            .clone()
            .oneshot(request(Method::GET, &server.url("/"), ()))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(server.requests().len(), 2 * round);
    }

    let server = scripted(|_, _| status_with_retry_after(503, "0", "busy")).await;
    let empty = RetryBudget::new(Duration::from_secs(10), 0, 0.0);
    let (status, _) = send(
        fast().budget(empty),
        request(Method::GET, &server.url("/"), ()),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn streaming_bodies_are_not_retried() {
    let server = scripted(|attempt, _| match attempt {
        0 => status_with_retry_after(503, "0", "busy"),
        _ => ok("done"),
    })
    .await;
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(Bytes::from_static(b"part1-")),
        Ok(Bytes::from_static(b"part2")),
    ]);
    let req = request(
        Method::PUT,
        &server.url("/upload"),
        Body::wrap_stream(chunks),
    );
    let (status, body) = send(fast(), req).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&body[..], b"busy");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(&requests[0].body[..], b"part1-part2");
}
