//! Defaults a reqwest user relies on without knowing it: `Accept: */*` and `Referer` on redirects.

use courier::redirect::Policy;
use courier::Client;
use courier_testkit::client::{trusting, within};
use courier_testkit::{echo, redirect, TestServer};
use http::header::{ACCEPT, REFERER};

#[tokio::test]
async fn accept_is_any_unless_the_request_or_the_client_names_one() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;

    within(10, Client::new().get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(server.last_request().header_all("accept"), ["*/*"]);

    within(
        10,
        Client::new()
            .get(server.url("/"))
            .header(ACCEPT, "application/json")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(
        server.last_request().header_all("accept"),
        ["application/json"]
    );

    let client = Client::builder()
        .default_headers(http::HeaderMap::from_iter([(
            ACCEPT,
            http::HeaderValue::from_static("text/html"),
        )]))
        .build()
        .unwrap();
    within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(server.last_request().header_all("accept"), ["text/html"]);
}

#[tokio::test]
async fn redirects_carry_a_referer_without_fragment_or_credentials() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/start" => redirect(302, "/end"),
            _ => echo(&req),
        }
    })
    .await;
    let port = server.addr().port();
    let start = format!("http://user:secret@127.0.0.1:{port}/start?page=2#section");

    let response = within(10, Client::new().get(&start).send()).await.unwrap();
    assert_eq!(response.url().path(), "/end");
    assert_eq!(
        server.last_request().header_all("referer"),
        [format!("http://127.0.0.1:{port}/start?page=2")]
    );

    // A Referer the caller set for the first request is replaced on the redirected one.
    let client = Client::new();
    within(
        10,
        client
            .get(server.url("/start"))
            .header(REFERER, "http://127.0.0.1/elsewhere")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(
        server.last_request().header_all("referer"),
        [format!("http://127.0.0.1:{port}/start")]
    );

    let quiet = Client::builder().referer(false).build().unwrap();
    within(10, quiet.get(server.url("/start")).send())
        .await
        .unwrap();
    assert!(server.last_request().header("referer").is_none());
    assert_eq!(server.requests().len(), 6);

    // The policy's own `referer(false)` holds too: the builder's default does not turn it back on.
    let quiet = Client::builder()
        .redirect(Policy::limited(5).referer(false))
        .build()
        .unwrap();
    within(10, quiet.get(server.url("/start")).send())
        .await
        .unwrap();
    assert!(server.last_request().header("referer").is_none());
    assert_eq!(server.requests().len(), 8);
}

#[tokio::test]
async fn no_referer_from_https_to_http() {
    let plain = TestServer::start(|req| async move { echo(&req) }).await;
    let target = plain.url("/landing");
    let secure = TestServer::builder()
        .tls()
        .start(move |_| {
            let target = target.clone();
            async move { redirect(302, &target) }
        })
        .await;
    let client = trusting(&secure)
        .redirect(Policy::default().allow_https_downgrade(true))
        .build()
        .unwrap();
    let response = within(10, client.get(secure.url("/secret")).send())
        .await
        .unwrap();
    assert_eq!(response.url().scheme(), "http");
    assert_eq!(plain.requests().len(), 1);
    assert!(plain.last_request().header("referer").is_none());
}
