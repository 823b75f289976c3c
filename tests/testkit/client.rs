//! Client-side helpers for tests of the `Client` facade: a hang guard, a client that trusts a TLS test
//! server, and one-line GETs that panic on any error.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use courier::{Client, ClientBuilder, StatusCode};

use crate::{respond, TestServer};

/// Awaits `fut`, failing the test if it takes longer than `secs`: a hang guard, not a timing assertion.
pub async fn within<F: Future>(secs: u64, fut: F) -> F::Output {
    crate::arm_watchdog();
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("no result within {secs} s: the client hung"))
}

/// A client builder that trusts only the CA of `server` (a TLS [`TestServer`]), not the system's or the
/// built-in roots.
pub fn trusting(server: &TestServer) -> ClientBuilder {
    let ca = courier::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
    Client::builder().tls_certs_only([ca])
}

/// GETs `url` and reads the whole body; panics on any error.
pub async fn get_bytes(client: &Client, url: &str) -> Bytes {
    client.get(url).send().await.unwrap().bytes().await.unwrap()
}

/// GETs `url` and reads the whole body as text; panics on any error.
pub async fn get_text(client: &Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// GETs `url`, asserts that a `200` head arrives, and returns the error of reading its body (panics if
/// the body reads in full). Guarded by [`within`] 10 s.
pub async fn get_body_error(client: &Client, url: &str) -> courier::Error {
    within(10, async {
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap_err()
    })
    .await
}

/// After a failure, asserts that the same client completes a normal request (to a fresh server),
/// within 10 s.
pub async fn assert_still_works(client: &Client) {
    let server = TestServer::start(|_| async { respond(200, "still ok") }).await;
    assert_eq!(
        within(10, get_text(client, &server.url("/"))).await,
        "still ok"
    );
}
