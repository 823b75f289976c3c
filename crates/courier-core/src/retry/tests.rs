//! The policy against in-memory services: which outcomes are retried, for which requests, how often.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use tower::{service_fn, ServiceExt};
use tower_layer::Layer;

use super::*;
use crate::{Body, BoxError, Error};

/// What the fake server does on one attempt.
#[derive(Clone)]
enum Outcome {
    Status(u16, Option<&'static str>),
    Fail(fn() -> Error),
}

/// What the fake server saw.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: Method,
    uri: String,
    header: Option<String>,
    body: Option<Vec<u8>>,
    extension: Option<u32>,
}

/// A policy with negligible backoff, so tests are quick.
fn fast() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2))
}

/// Runs `req` through `policy` against a server answering `script` in turn (repeating the last
/// outcome); returns the result and what the server saw.
async fn run(
    policy: RetryPolicy,
    req: Request<Body>,
    script: Vec<Outcome>,
) -> (Result<Response<()>, Error>, Vec<Seen>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = service_fn(move |req: Request<Body>| {
        let mut log = log.lock().unwrap();
        let outcome = script[log.len().min(script.len() - 1)].clone();
        log.push(Seen {
            method: req.method().clone(),
            uri: req.uri().to_string(),
            header: req
                .headers()
                .get("x-test")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: req.body().as_bytes().map(<[u8]>::to_vec),
            extension: req.extensions().get::<u32>().copied(),
        });
        async move {
            match outcome {
                Outcome::Status(status, retry_after) => {
                    let mut res = Response::builder().status(status);
                    if let Some(value) = retry_after {
                        res = res.header("retry-after", value);
                    }
                    Ok(res.body(()).unwrap())
                }
                Outcome::Fail(make) => Err::<Response<()>, BoxError>(Box::new(make())),
            }
        }
    });
    let result = RetryLayer::new(policy).layer(server).oneshot(req).await;
    let seen = seen.lock().unwrap().clone();
    (result, seen)
}

fn request(method: Method) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri("http://example.com/path")
        .body(Body::empty())
        .unwrap()
}

fn ok() -> Outcome {
    Outcome::Status(200, None)
}

fn connect_error() -> Error {
    Error::connect(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "refused",
    ))
}

/// A reset before any response, as the transport reports it: the fate says so.
fn reset_error() -> Error {
    Error::request(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "reset by peer",
    ))
    .with_fate(crate::transport::Fate::Lost { reused: false })
}

fn other_request_error() -> Error {
    Error::request("invalid status line")
}

fn timeout_error() -> Error {
    Error::timeout("read timeout")
}

fn decode_error() -> Error {
    Error::decode("corrupt gzip")
}

#[tokio::test]
async fn connect_errors_are_retried_for_every_method() {
    for method in [Method::GET, Method::POST, Method::PATCH] {
        let (result, seen) = run(
            fast(),
            request(method.clone()),
            vec![Outcome::Fail(connect_error), ok()],
        )
        .await;
        assert_eq!(result.unwrap().status(), StatusCode::OK, "{method}");
        assert_eq!(seen.len(), 2, "{method}");
    }
}

#[tokio::test]
async fn resets_are_retried_for_idempotent_methods_only() {
    let (result, seen) = run(
        fast(),
        request(Method::PUT),
        vec![Outcome::Fail(reset_error), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.len(), 2);

    let (result, seen) = run(
        fast(),
        request(Method::POST),
        vec![Outcome::Fail(reset_error), ok()],
    )
    .await;
    let err = result.unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(format!("{err:#}"), "error sending request: reset by peer");
    assert_eq!(seen.len(), 1);

    let (result, seen) = run(
        fast().retry_non_idempotent(true),
        request(Method::POST),
        vec![Outcome::Fail(reset_error), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    for make in [other_request_error as fn() -> Error, decode_error] {
        let (result, seen) = run(
            fast(),
            request(Method::GET),
            vec![Outcome::Fail(make), ok()],
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), make().to_string());
        assert_eq!(seen.len(), 1);
    }
}

#[tokio::test]
async fn timeouts_are_retried_only_when_asked() {
    let (result, seen) = run(
        fast(),
        request(Method::GET),
        vec![Outcome::Fail(timeout_error), ok()],
    )
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(seen.len(), 1);

    let (result, seen) = run(
        fast().retry_timeouts(true),
        request(Method::GET),
        vec![Outcome::Fail(timeout_error), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn only_429_and_503_responses_are_retried() {
    for status in [429, 503] {
        let (result, seen) = run(
            fast(),
            request(Method::GET),
            vec![Outcome::Status(status, None), ok()],
        )
        .await;
        assert_eq!(result.unwrap().status(), StatusCode::OK);
        assert_eq!(seen.len(), 2, "{status}");
    }
    for status in [200, 204, 304, 400, 404, 500, 502, 504] {
        let (result, seen) = run(
            fast(),
            request(Method::GET),
            vec![Outcome::Status(status, None), ok()],
        )
        .await;
        assert_eq!(result.unwrap().status().as_u16(), status);
        assert_eq!(seen.len(), 1, "{status}");
    }
}

#[tokio::test]
async fn retry_statuses_replace_429_and_503() {
    let policy = || fast().retry_statuses([StatusCode::BAD_GATEWAY, StatusCode::REQUEST_TIMEOUT]);
    for (status, attempts) in [(502, 2), (408, 2), (503, 1), (429, 1), (500, 1)] {
        let (result, seen) = run(
            policy(),
            request(Method::GET),
            vec![Outcome::Status(status, None), ok()],
        )
        .await;
        let expected = if attempts == 2 { 200 } else { status };
        assert_eq!(result.unwrap().status().as_u16(), expected, "{status}");
        assert_eq!(seen.len(), attempts, "{status}");
    }
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_return_the_last_response() {
    let (result, seen) = run(
        fast().max_retries(2),
        request(Method::GET),
        vec![Outcome::Status(503, None)],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.len(), 3);

    let (result, seen) = run(
        fast().max_retries(4),
        request(Method::GET),
        vec![Outcome::Fail(connect_error)],
    )
    .await;
    assert!(result.unwrap_err().is_connect());
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn disabled_policy_sends_once() {
    let (result, seen) = run(
        RetryPolicy::disabled(),
        request(Method::GET),
        vec![Outcome::Fail(connect_error), ok()],
    )
    .await;
    assert!(result.unwrap_err().is_connect());
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_returns_the_response() {
    let (result, seen) = run(
        fast(),
        request(Method::GET),
        vec![Outcome::Status(503, Some("31")), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.len(), 1);

    let (result, seen) = run(
        fast().max_retry_after(Duration::from_secs(1)),
        request(Method::GET),
        vec![Outcome::Status(429, Some("2")), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(seen.len(), 1);

    // Unparseable: the backoff applies instead.
    let (result, seen) = run(
        fast(),
        request(Method::GET),
        vec![Outcome::Status(429, Some("soon")), ok()],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn streaming_bodies_are_sent_once() {
    let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>("a")]);
    let req = Request::put("http://example.com/")
        .body(Body::wrap_stream(chunks))
        .unwrap();
    let (result, seen) = run(fast(), req, vec![Outcome::Fail(connect_error), ok()]).await;
    assert!(result.unwrap_err().is_connect());
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn retries_replay_method_uri_headers_body_and_extensions() {
    let mut req = Request::put("http://example.com/items/1?x=y")
        .header("x-test", "kept")
        .body(Body::from("payload"))
        .unwrap();
    req.extensions_mut().insert(7u32);
    let (result, seen) = run(
        fast(),
        req,
        vec![
            Outcome::Fail(reset_error),
            Outcome::Status(503, Some("0")),
            ok(),
        ],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::OK);
    let expected = Seen {
        method: Method::PUT,
        uri: "http://example.com/items/1?x=y".into(),
        header: Some("kept".into()),
        body: Some(b"payload".to_vec()),
        extension: Some(7),
    };
    assert_eq!(seen, vec![expected.clone(), expected.clone(), expected]);
}

#[tokio::test]
async fn a_spent_budget_stops_retries() {
    // One retry per request, no reserve: each request may be retried once, whatever max_retries says.
    let budget = RetryBudget::new(Duration::from_secs(10), 0, 1.0);
    let policy = fast().max_retries(5).budget(budget);
    for _ in 0..3 {
        let (result, seen) = run(
            policy.clone(),
            request(Method::GET),
            vec![Outcome::Status(503, None)],
        )
        .await;
        assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(seen.len(), 2);
    }

    let empty = RetryBudget::new(Duration::from_secs(10), 0, 0.0);
    let (result, seen) = run(
        fast().budget(empty),
        request(Method::GET),
        vec![Outcome::Fail(connect_error), ok()],
    )
    .await;
    assert!(result.unwrap_err().is_connect());
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn without_a_budget_only_max_retries_limits() {
    let empty = RetryBudget::new(Duration::from_secs(10), 0, 0.0);
    let (result, seen) = run(
        fast().budget(empty).no_budget().max_retries(6),
        request(Method::GET),
        vec![Outcome::Status(503, None)],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.len(), 7);
}

#[tokio::test]
async fn inner_errors_become_courier_errors() {
    let server = service_fn(|_req: Request<Body>| async {
        Err::<Response<()>, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ))
    });
    let svc = RetryLayer::new(fast().max_retries(1)).layer(server);
    let err = svc.oneshot(request(Method::GET)).await.unwrap_err();
    assert!(err.is_request());
    assert_eq!(format!("{err:#}"), "error sending request: reset");
}

#[tokio::test(start_paused = true)]
async fn no_retry_starts_past_max_elapsed() {
    // 503 with `Retry-After: 1`: attempts at 0 s, 1 s, 2 s; the next would start at 3 s.
    let busy = || vec![Outcome::Status(503, Some("1"))];
    let policy = || RetryPolicy::new().max_retries(10).no_budget();

    let started = tokio::time::Instant::now();
    let (result, seen) = run(
        policy().max_elapsed(Duration::from_millis(2500)),
        request(Method::GET),
        busy(),
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.len(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(2));

    // A retry that would start exactly at the limit is not made either.
    let (_, seen) = run(
        policy().max_elapsed(Duration::from_secs(3)),
        request(Method::GET),
        busy(),
    )
    .await;
    assert_eq!(seen.len(), 3);

    // Without it, max_retries alone decides.
    let (_, seen) = run(policy(), request(Method::GET), busy()).await;
    assert_eq!(seen.len(), 11);

    // A Retry-After past any clock (Duration::MAX once parsed), honoured in full: the limit
    // arithmetic saturates instead of overflowing, and no retry is made.
    let (result, seen) = run(
        policy()
            .max_retry_after(Duration::MAX)
            .max_elapsed(Duration::from_secs(30)),
        request(Method::GET),
        vec![Outcome::Status(503, Some("99999999999999999999"))],
    )
    .await;
    assert_eq!(result.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.len(), 1);
}
