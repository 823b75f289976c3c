//! `Response::history()`: every redirect response followed, with its status, reason, headers and URL.

use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{redirect, respond, TestServer};

#[tokio::test]
async fn history_holds_each_redirect_response_in_order() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/a" => {
                let mut res = redirect(301, "/b?x=1");
                res.headers_mut().insert("x-hop", "a".parse().unwrap());
                res
            }
            "/b" => {
                let mut res = redirect(
                    302,
                    "http://localhost:PORT/c"
                        .replace("PORT", &port(&req))
                        .as_str(),
                );
                res.extensions_mut()
                    .insert(hyper::ext::ReasonPhrase::from_static(b"Gone Fishing"));
                res.headers_mut().insert("x-hop", "b".parse().unwrap());
                res
            }
            "/c" => redirect(307, "/done"),
            _ => respond(200, "done"),
        }
    })
    .await;
    let response = within(10, Client::new().get(server.url("/a")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let history = response.history();
    let seen: Vec<(u16, &str, String, Option<&str>)> = history
        .iter()
        .map(|hop| {
            (
                hop.status().as_u16(),
                hop.reason(),
                hop.url().to_string(),
                hop.headers().get("x-hop").map(|v| v.to_str().unwrap()),
            )
        })
        .collect();
    let port = server.addr().port();
    assert_eq!(
        seen,
        [
            (301, "Moved Permanently", server.url("/a"), Some("a")),
            (302, "Gone Fishing", server.url("/b?x=1"), Some("b")),
            (
                307,
                "Temporary Redirect",
                format!("http://localhost:{port}/c"),
                None
            ),
        ]
    );
    assert_eq!(history[2].headers()["location"], "/done");
    assert_eq!(history[0].version(), http::Version::HTTP_11);
    // The URL-only view agrees.
    assert_eq!(
        response
            .redirects()
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>(),
        history.iter().map(|h| h.url().as_str()).collect::<Vec<_>>()
    );
    assert_eq!(
        response.url().as_str(),
        format!("http://localhost:{port}/done")
    );
}

#[tokio::test]
async fn no_redirect_no_history() {
    let server = TestServer::start(|_| async { respond(200, "here") }).await;
    let response = within(10, Client::new().get(server.url("/")).send())
        .await
        .unwrap();
    assert!(response.history().is_empty());
}

fn port(req: &courier_testkit::Recorded) -> String {
    req.header("host")
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned()
}
