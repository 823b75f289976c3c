//! reqwest 0.13's retry builders through the facade: `retry::for_host(..).classify_fn(..)` retries only
//! that host's requests, only what the classifier says, at most `max_retries_per_request` times;
//! `retry::never()` retries nothing. Counted by the server.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use courier::{retry, Client};
use courier_testkit::client::within;
use courier_testkit::{respond, TestServer};

/// Answers 500 to the first `failures` requests, then 200.
async fn flaky(failures: usize) -> (TestServer, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = TestServer::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                respond(500, "try again")
            } else {
                respond(200, "done")
            }
        }
    })
    .await;
    (server, seen)
}

fn retry_5xx(host: &'static str) -> retry::Builder {
    retry::for_host(host).classify_fn(|req_rep| {
        assert_eq!(req_rep.method(), http::Method::GET);
        match req_rep.status() {
            Some(status) if status.is_server_error() => req_rep.retryable(),
            _ => req_rep.success(),
        }
    })
}

#[tokio::test]
async fn for_host_retries_what_the_classifier_says_on_that_host_only() {
    let (server, seen) = flaky(2).await;
    let client = Client::builder()
        .retry(retry_5xx("127.0.0.1"))
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // Another host: out of scope, the 500 comes back as it is.
    let (server, seen) = flaky(2).await;
    let other = Client::builder()
        .retry(retry_5xx("api.example"))
        .build()
        .unwrap();
    let response = within(10, other.get(server.url("/")).send()).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_stop_at_the_per_request_limit_and_never_means_never() {
    let (server, seen) = flaky(10).await;
    let client = Client::builder()
        .retry(
            retry_5xx("127.0.0.1")
                .max_retries_per_request(1)
                .no_budget(),
        )
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    let (server, seen) = flaky(10).await;
    let client = Client::builder().retry(retry::never()).build().unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    // A scoped builder with no classifier retries nothing either (as in reqwest).
    let (server, seen) = flaky(10).await;
    let client = Client::builder()
        .retry(retry::for_host("127.0.0.1"))
        .build()
        .unwrap();
    within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_scoped_retry_waits_as_retry_after_asks() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = TestServer::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                courier_testkit::status_with_retry_after(503, "1", "later")
            } else {
                respond(200, "now")
            }
        }
    })
    .await;
    let client = Client::builder()
        .retry(retry_5xx("127.0.0.1"))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // The default backoff's first wait is at most 100 ms: a second means Retry-After was read.
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}
