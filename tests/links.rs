//! `Response::links()` against an in-process paginated API, GitHub's shape.

use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{redirect, respond, TestServer};

fn page(n: u32, last: u32, host: &str) -> http::Response<courier_testkit::ServerBody> {
    let mut links = vec![
        format!("<http://{host}/repos/1/issues?per_page=2&page={last}>; rel=\"last\""),
        format!("<http://{host}/repos/1/issues?per_page=2&page=1>; rel=\"first\""),
    ];
    if n < last {
        links.insert(
            0,
            format!(
                "<http://{host}/repos/1/issues?per_page=2&page={}>; rel=\"next\"",
                n + 1
            ),
        );
    }
    if n > 1 {
        links.insert(
            0,
            format!("</repos/1/issues?per_page=2&page={}>; rel=\"prev\"", n - 1),
        );
    }
    let mut res = respond(200, format!("page {n}"));
    // GitHub sends one header; a second one is legal and must be read too.
    let (first, rest) = links.split_at(1);
    res.headers_mut()
        .append("link", first.join(", ").parse().unwrap());
    res.headers_mut()
        .append("link", rest.join(", ").parse().unwrap());
    res
}

#[tokio::test]
async fn walks_a_paginated_listing_until_there_is_no_next() {
    let server = TestServer::start(|req| async move {
        let host = req.header("host").unwrap().to_owned();
        match (req.path(), req.query()) {
            ("/start", _) => redirect(302, "/repos/1/issues?per_page=2&page=1"),
            ("/repos/1/issues", Some(q)) => {
                let n = q.rsplit("page=").next().unwrap().parse().unwrap();
                page(n, 3, &host)
            }
            _ => respond(404, ""),
        }
    })
    .await;
    let client = Client::new();
    let mut next = Some(courier::Url::parse(&server.url("/start")).unwrap());
    let mut bodies = Vec::new();
    let mut prevs = Vec::new();
    while let Some(url) = next {
        let response = within(10, client.get(url).send()).await.unwrap();
        let links = response.links();
        assert_eq!(
            links.get("first").unwrap().url().query(),
            Some("per_page=2&page=1")
        );
        assert_eq!(
            links.get("last").unwrap().url().query(),
            Some("per_page=2&page=3")
        );
        // A relative `prev` resolves against the URL the response came from (after the redirect).
        prevs.push(links.get("prev").map(|l| l.url().to_string()));
        next = links.get("next").map(|link| link.url().clone());
        bodies.push(within(10, response.text()).await.unwrap());
        assert!(bodies.len() <= 3, "the walk did not stop");
    }
    assert_eq!(bodies, ["page 1", "page 2", "page 3"]);
    assert_eq!(
        prevs,
        [
            None,
            Some(server.url("/repos/1/issues?per_page=2&page=1")),
            Some(server.url("/repos/1/issues?per_page=2&page=2")),
        ]
    );
    // /start, then one request per page.
    assert_eq!(
        server
            .requests()
            .iter()
            .map(|r| r.uri.to_string())
            .collect::<Vec<_>>(),
        [
            "/start",
            "/repos/1/issues?per_page=2&page=1",
            "/repos/1/issues?per_page=2&page=2",
            "/repos/1/issues?per_page=2&page=3",
        ]
    );
}

#[tokio::test]
async fn a_response_without_link_headers_has_no_links() {
    let server = TestServer::start(|_| async { respond(200, "alone") }).await;
    let response = within(10, Client::new().get(server.url("/")).send())
        .await
        .unwrap();
    assert!(response.links().is_empty());
    assert!(response.links().get("next").is_none());
}
