//! The redirect layer around the real transport, against in-process servers.

use std::error::Error as _;
use std::sync::{Arc, Mutex};

use courier_core::redirect::{
    Attempt, FollowRedirectLayer, InsecureRedirect, InvalidLocation, Policy, RedirectHistory,
    RedirectLoop, TooManyRedirects, UnsupportedScheme,
};
use courier_core::transport::ResponseBody;
use courier_core::transport::{Certificate, Transport};
use courier_core::{Body, Error};
use courier_testkit::client::within;
use courier_testkit::{echo, redirect, respond, Recorded, ServerBody, TestServer};
use http::{Method, Request, Response, StatusCode};
use tower::{Layer, ServiceExt};
use url::Url;

/// The routes every plain test server here answers.
fn routes(req: &Recorded) -> Response<ServerBody> {
    let host = req.header("host").unwrap_or_default().to_owned();
    let port = host.rsplit(':').next().unwrap_or_default().to_owned();
    let path = req.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["status", code] => redirect(code.parse().unwrap(), "/final"),
        ["chain", n] => match n.parse::<u32>().unwrap() {
            0 => echo(req),
            n => redirect(302, &format!("/chain/{}", n - 1)),
        },
        ["loop", "a"] => redirect(302, "/loop/b"),
        ["loop", "b"] => redirect(302, "/loop/a"),
        ["loc", "relative"] => redirect(302, "final-rel"),
        ["loc", "parent"] => redirect(302, "../final?x=1"),
        ["loc", "absolute"] => redirect(302, &format!("http://{host}/final?abs")),
        ["loc", "scheme-relative"] => redirect(302, &format!("//{host}/final?sr")),
        ["loc", "userinfo"] => redirect(302, &format!("http://ada:secret@{host}/final")),
        ["cross"] => redirect(302, &format!("http://localhost:{port}/final")),
        ["same"] => redirect(302, "/final"),
        ["frag", "1"] => redirect(302, "/frag/2#top"),
        ["frag", "2"] => redirect(302, "/final"),
        ["frag", "own"] => redirect(301, "/final#own"),
        ["ftp"] => redirect(302, "ftp://example.com/file"),
        ["no-location"] => respond(302, "moved, but where?"),
        ["bad-location"] => redirect(302, "http://[::1"),
        // As nginx and Apache send them: a small page with the redirect.
        ["with-page"] => with_body(
            redirect(301, "/final"),
            courier_testkit::full("<html>Moved</html>"),
        ),
        // Its 18 bytes come 100 ms after the head: only read if the chain waits for them.
        ["late-page"] => {
            let mut res = with_body(
                redirect(301, "/final"),
                courier_testkit::stalling(
                    bytes::Bytes::new(),
                    std::time::Duration::from_millis(100),
                    bytes::Bytes::from_static(b"<html>Moved</html>"),
                ),
            );
            res.headers_mut()
                .insert("content-length", http::HeaderValue::from_static("18"));
            res
        }
        ["big-page"] => with_body(
            redirect(301, "/final"),
            courier_testkit::full(vec![b'x'; 1 << 20]),
        ),
        ["stalled-page"] => with_body(
            redirect(301, "/final"),
            courier_testkit::slow(
                vec![bytes::Bytes::from_static(b"late")],
                std::time::Duration::from_secs(30),
            ),
        ),
        _ => echo(req),
    }
}

fn with_body(res: Response<ServerBody>, body: ServerBody) -> Response<ServerBody> {
    res.map(|_| body)
}

async fn server() -> TestServer {
    TestServer::start(|req| async move { routes(&req) }).await
}

fn transport() -> Transport {
    Transport::builder().build().unwrap()
}

async fn send(policy: Policy, req: Request<Body>) -> Result<Response<ResponseBody>, Error> {
    FollowRedirectLayer::new(policy)
        .layer(transport())
        .oneshot(req)
        .await
}

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

fn history(res: &Response<ResponseBody>) -> &RedirectHistory {
    res.extensions()
        .get::<RedirectHistory>()
        .expect("no RedirectHistory")
}

fn strs(urls: &[Url]) -> Vec<&str> {
    urls.iter().map(Url::as_str).collect()
}

fn cause<T: std::error::Error + 'static>(err: &Error) -> &T {
    err.source()
        .and_then(|e| e.downcast_ref::<T>())
        .unwrap_or_else(|| panic!("unexpected cause: {err}"))
}

#[tokio::test]
async fn every_status_and_method() {
    let server = server().await;
    let follow = FollowRedirectLayer::default().layer(transport());
    let methods = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
    ];
    for status in [301u16, 302, 303, 307, 308] {
        for method in methods.clone() {
            let sends_body = !matches!(method, Method::GET | Method::HEAD);
            let mut req = Request::builder()
                .method(method.clone())
                .uri(server.url(&format!("/status/{status}")))
                .header("x-keep", "kept");
            let body = if sends_body {
                req = req.header("content-type", "text/plain");
                Body::from("payload")
            } else {
                Body::empty()
            };
            let before = server.requests().len();
            let res = follow
                .clone()
                .oneshot(req.body(body).unwrap())
                .await
                .unwrap();
            let case = format!("{status} {method}");
            assert_eq!(res.status(), StatusCode::OK, "{case}");
            assert_eq!(server.requests().len(), before + 2, "{case}");

            let (expected_method, keeps_body) = match (status, &method) {
                (301 | 302, &Method::POST) => (Method::GET, false),
                (301 | 302, _) => (method.clone(), true),
                (303, &Method::HEAD) => (Method::HEAD, false),
                (303, _) => (Method::GET, false),
                _ => (method.clone(), true),
            };
            let seen = server.last_request();
            assert_eq!(seen.path(), "/final", "{case}");
            assert_eq!(seen.method, expected_method, "{case}");
            assert_eq!(seen.header("x-keep"), Some("kept"), "{case}");
            if sends_body && keeps_body {
                assert_eq!(seen.body, "payload", "{case}");
                assert_eq!(seen.header("content-type"), Some("text/plain"), "{case}");
                assert_eq!(seen.header("content-length"), Some("7"), "{case}");
            } else {
                assert_eq!(seen.body, "", "{case}");
                assert_eq!(seen.header("content-type"), None, "{case}");
                assert_eq!(seen.header("content-length"), None, "{case}");
                assert_eq!(seen.header("transfer-encoding"), None, "{case}");
            }
        }
    }
}

#[tokio::test]
async fn other_3xx_statuses_are_returned_as_they_are() {
    let server = server().await;
    for status in [300u16, 304, 305] {
        let res = send(
            Policy::default(),
            get(&server.url(&format!("/status/{status}"))),
        )
        .await
        .unwrap();
        assert_eq!(res.status().as_u16(), status);
        assert_eq!(res.headers()["location"], "/final");
        assert!(res.extensions().get::<RedirectHistory>().is_none());
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn locations_resolve_against_the_current_url() {
    let server = server().await;
    let cases = [
        ("/loc/relative", "/loc/final-rel", None),
        ("/loc/parent", "/final", Some("x=1")),
        ("/loc/absolute", "/final", Some("abs")),
        ("/loc/scheme-relative", "/final", Some("sr")),
    ];
    for (start, path, query) in cases {
        let res = send(Policy::default(), get(&server.url(start)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{start}");
        let seen = server.last_request();
        assert_eq!((seen.path(), seen.query()), (path, query), "{start}");
        let expected = match query {
            Some(q) => server.url(&format!("{path}?{q}")),
            None => server.url(path),
        };
        assert_eq!(history(&res).final_url().as_str(), expected, "{start}");
        assert_eq!(strs(history(&res).previous()), [server.url(start)]);
    }
}

#[tokio::test]
async fn credentials_in_a_location_are_dropped() {
    let server = server().await;
    let res = send(Policy::default(), get(&server.url("/loc/userinfo")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let seen = server.last_request();
    assert_eq!(seen.path(), "/final");
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(history(&res).final_url().as_str(), server.url("/final"));
    assert_eq!(
        strs(history(&res).previous()),
        [server.url("/loc/userinfo")]
    );
}

#[tokio::test]
async fn fragments_are_kept_or_inherited() {
    let server = server().await;
    // /frag/1 -> /frag/2#top -> /final: the last Location has no fragment and inherits #top.
    let res = send(Policy::default(), get(&server.url("/frag/1")))
        .await
        .unwrap();
    let history = history(&res);
    assert_eq!(
        strs(history.previous()),
        [server.url("/frag/1"), server.url("/frag/2#top")]
    );
    assert_eq!(
        history.final_url().as_str(),
        server.url("/final#top").as_str()
    );
    // Fragments are never sent.
    assert_eq!(server.requests()[1].uri, "/frag/2");

    let res = send(Policy::default(), get(&server.url("/frag/own")))
        .await
        .unwrap();
    assert_eq!(
        res.extensions()
            .get::<RedirectHistory>()
            .unwrap()
            .final_url()
            .fragment(),
        Some("own")
    );
}

#[tokio::test]
async fn history_lists_every_hop_in_order() {
    let server = server().await;
    let res = send(Policy::default(), get(&server.url("/chain/3")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let history = history(&res);
    assert_eq!(
        strs(history.previous()),
        [
            server.url("/chain/3"),
            server.url("/chain/2"),
            server.url("/chain/1")
        ]
    );
    assert_eq!(history.final_url().as_str(), server.url("/chain/0"));
    assert_eq!(history.original_url().as_str(), server.url("/chain/3"));
    assert_eq!(history.redirect_count(), 3);
    assert_eq!(history.iter().count(), 4);
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(paths, ["/chain/3", "/chain/2", "/chain/1", "/chain/0"]);
}

#[tokio::test]
async fn the_limit_is_an_error_naming_the_chain() {
    let server = server().await;
    // Exactly at the limit is fine.
    let res = send(Policy::limited(3), get(&server.url("/chain/3")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let before = server.requests().len();
    let err = send(Policy::limited(3), get(&server.url("/chain/5")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    assert_eq!(server.requests().len(), before + 4);
    let too_many = cause::<TooManyRedirects>(&err);
    assert_eq!(too_many.limit(), 3);
    let chain: Vec<String> = (1..=5)
        .rev()
        .map(|n| server.url(&format!("/chain/{n}")))
        .collect();
    assert_eq!(strs(too_many.chain()), chain);
    assert_eq!(
        format!("{err:#}"),
        format!(
            "error following redirect for url ({}): too many redirects (limit 3): {}",
            server.url("/chain/2"),
            chain.join(" -> ")
        )
    );
}

#[tokio::test]
async fn a_loop_is_an_error_naming_the_chain() {
    let server = server().await;
    let err = send(Policy::default(), get(&server.url("/loop/a")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    let (a, b) = (server.url("/loop/a"), server.url("/loop/b"));
    assert_eq!(strs(cause::<RedirectLoop>(&err).chain()), [&a, &b, &a, &b]);
    assert_eq!(
        format!("{err:#}"),
        format!("error following redirect for url ({a}): redirect loop: {a} -> {b} -> {a} -> {b}")
    );
    // The loop was seen before going round a second time.
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn policy_none_returns_the_redirect() {
    let server = server().await;
    let res = send(Policy::none(), get(&server.url("/status/302")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/final");
    assert!(res.extensions().get::<RedirectHistory>().is_none());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_custom_policy_sees_status_url_and_previous() {
    let server = server().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let policy = Policy::custom(move |attempt: Attempt| {
        record.lock().unwrap().push((
            attempt.status(),
            attempt.url().to_string(),
            attempt
                .previous()
                .iter()
                .map(Url::to_string)
                .collect::<Vec<_>>(),
        ));
        if attempt.url().path() == "/chain/0" {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let res = send(policy, get(&server.url("/chain/2"))).await.unwrap();
    // Stopped before /chain/0: the redirect to it is the answer.
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/chain/0");
    assert_eq!(history(&res).final_url().as_str(), server.url("/chain/1"));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (
                StatusCode::FOUND,
                server.url("/chain/1"),
                vec![server.url("/chain/2")]
            ),
            (
                StatusCode::FOUND,
                server.url("/chain/0"),
                vec![server.url("/chain/2"), server.url("/chain/1")]
            ),
        ]
    );
    assert_eq!(server.requests().len(), 2);
}

fn with_credentials(url: &str) -> Request<Body> {
    Request::get(url)
        .header("authorization", "Bearer secret")
        .header("cookie", "session=1")
        .header("proxy-authorization", "Basic cHJveHk6cHc=")
        .header("x-other", "kept")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn credentials_do_not_cross_origins() {
    let server = server().await;
    // 127.0.0.1 -> localhost: same server and port, another origin.
    let res = send(Policy::default(), with_credentials(&server.url("/cross")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let port = server.addr().port();
    assert_eq!(
        history(&res).final_url().as_str(),
        format!("http://localhost:{port}/final")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("authorization"), Some("Bearer secret"));
    assert_eq!(requests[0].header("cookie"), Some("session=1"));
    let last = &requests[1];
    assert_eq!(
        last.header("host"),
        Some(format!("localhost:{port}").as_str())
    );
    assert_eq!(last.header("authorization"), None);
    assert_eq!(last.header("cookie"), None);
    assert_eq!(last.header("proxy-authorization"), None);
    assert_eq!(last.header("x-other"), Some("kept"));
}

#[tokio::test]
async fn credentials_stay_within_an_origin() {
    let server = server().await;
    let res = send(Policy::default(), with_credentials(&server.url("/same")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let last = server.last_request();
    assert_eq!(last.path(), "/final");
    assert_eq!(last.header("authorization"), Some("Bearer secret"));
    assert_eq!(last.header("cookie"), Some("session=1"));
    assert_eq!(
        last.header("proxy-authorization"),
        Some("Basic cHJveHk6cHc=")
    );
}

#[tokio::test]
async fn a_streamed_body_cannot_follow_307() {
    let server = server().await;
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("str"), Ok("eam")]);
    let req = Request::post(server.url("/status/307"))
        .body(Body::wrap_stream(chunks))
        .unwrap();
    let res = send(Policy::default(), req).await.unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(res.headers()["location"], "/final");
    assert!(res.extensions().get::<RedirectHistory>().is_none());
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, "stream");
}

#[tokio::test]
async fn a_streamed_body_is_not_needed_after_303() {
    let server = server().await;
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("str"), Ok("eam")]);
    let req = Request::post(server.url("/status/303"))
        .body(Body::wrap_stream(chunks))
        .unwrap();
    let res = send(Policy::default(), req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let last = server.last_request();
    assert_eq!((last.method, last.body), (Method::GET, "".into()));
}

/// A TLS server redirecting `/down` to the plain server's `/final` and `/up` to its own `/final`,
/// and a transport that trusts it.
async fn tls_pair() -> (TestServer, TestServer, Transport) {
    let plain = server().await;
    let target = plain.url("/final");
    let tls = TestServer::builder()
        .tls()
        .start(move |req| {
            let target = target.clone();
            async move {
                match req.path() {
                    "/down" => redirect(302, &target),
                    "/up" => redirect(302, "/final"),
                    _ => echo(&req),
                }
            }
        })
        .await;
    let ca = Certificate::from_pem(tls.ca_pem().as_bytes()).unwrap();
    let transport = Transport::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    (tls, plain, transport)
}

#[tokio::test]
async fn https_to_http_is_refused() {
    let (tls, plain, transport) = tls_pair().await;
    let err = FollowRedirectLayer::default()
        .layer(transport.clone())
        .oneshot(get(&tls.url("/down")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    let insecure = cause::<InsecureRedirect>(&err);
    assert_eq!(insecure.from().as_str(), tls.url("/down"));
    assert_eq!(insecure.to().as_str(), plain.url("/final"));
    assert_eq!(
        format!("{err:#}"),
        format!(
            "error following redirect for url ({}): refusing to follow redirect from https to \
             http: {} -> {}",
            tls.url("/down"),
            tls.url("/down"),
            plain.url("/final")
        )
    );
    assert_eq!(plain.requests().len(), 0);

    // https -> https is fine.
    let res = FollowRedirectLayer::default()
        .layer(transport)
        .oneshot(get(&tls.url("/up")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(tls.last_request().path(), "/final");
}

#[tokio::test]
async fn https_to_http_when_the_policy_allows_it() {
    let (tls, plain, transport) = tls_pair().await;
    let res = FollowRedirectLayer::new(Policy::default().allow_https_downgrade(true))
        .layer(transport)
        .oneshot(get(&tls.url("/down")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(history(&res).final_url().as_str(), plain.url("/final"));
    assert_eq!(plain.requests().len(), 1);
}

#[tokio::test]
async fn https_only_refuses_a_downgrade_the_policy_would_allow() {
    let (tls, plain, _) = tls_pair().await;
    let client = courier_testkit::client::trusting(&tls)
        .https_only(true)
        .redirect(courier::redirect::Policy::default().allow_https_downgrade(true))
        .build()
        .unwrap();

    let err = client.get(tls.url("/down")).send().await.unwrap_err();

    assert!(err.is_redirect(), "{err}");
    assert!(err.source().unwrap().is::<InsecureRedirect>(), "{err:?}");
    assert_eq!(plain.requests().len(), 0);
}

#[tokio::test]
async fn a_non_http_location_is_an_error() {
    let server = server().await;
    let err = send(Policy::default(), get(&server.url("/ftp")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    assert_eq!(
        cause::<UnsupportedScheme>(&err).url().as_str(),
        "ftp://example.com/file"
    );
    assert_eq!(
        format!("{err:#}"),
        format!(
            "error following redirect for url ({}): unsupported scheme \"ftp\" in redirect to \
             ftp://example.com/file",
            server.url("/ftp")
        )
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_invalid_location_is_an_error() {
    let server = server().await;
    let err = send(Policy::default(), get(&server.url("/bad-location")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err}");
    assert_eq!(cause::<InvalidLocation>(&err).location(), "http://[::1");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "error following redirect for url ({}): invalid Location header \"http://[::1\": \
             invalid IPv6 address",
            server.url("/bad-location")
        )
    );
}

#[tokio::test]
async fn a_missing_location_returns_the_redirect() {
    let server = server().await;
    let res = send(Policy::default(), get(&server.url("/no-location")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.extensions().get::<RedirectHistory>().is_none());
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, "moved, but where?");
    assert_eq!(server.requests().len(), 1);
}

/// A redirect's small body is read before the next hop goes, as curl and Python requests do: the
/// connection goes back to the pool (both hops on one connection) and a cache below sees the body end.
/// A large body, or one that stalls, is not waited for: the chain goes on, on a new connection.
#[tokio::test]
async fn a_redirects_small_body_is_read_so_its_connection_is_reused() {
    let server = server().await;
    let service = FollowRedirectLayer::new(Policy::default()).layer(transport());
    // A small body, with the head or a little after it (then waited for): the connection is kept.
    for (path, requests) in [("/with-page", 2), ("/late-page", 4)] {
        let res = service
            .clone()
            .oneshot(get(&server.url(path)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        // Read to its end, so the connection is idle for the next request.
        http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap();
        assert_eq!(server.requests().len(), requests, "{path}");
        assert_eq!(server.connections(), 1, "{path}");
    }

    for (path, connections) in [("/big-page", 2), ("/stalled-page", 3)] {
        let started = std::time::Instant::now();
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            service.clone().oneshot(get(&server.url(path))),
        )
        .await
        .expect("the chain waited for the redirect's body")
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(history(&res).previous().len(), 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
        assert_eq!(server.connections(), connections, "{path}");
        http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap();
    }
}

/// Everything an error shows, its causes included (what `anyhow` and logs print).
fn everything_shown(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{err}\n{err:?}\n");
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(&format!("{c}\n{c:?}\n"));
        cause = c.source();
    }
    text
}

/// A password is never shown by an error: not one in a `Location` the chain could not follow (an
/// unsupported scheme, a URL that does not parse), nor one in the request URI given to the redirect
/// layer (in its errors and its history), nor one in the URL given to `Error::from_status`, nor one
/// in a URL typed without `http://` (which parses with the user name as its scheme).
#[tokio::test]
async fn no_error_or_history_shows_a_password() {
    const SECRET: &str = "s3cretPW";
    let server = TestServer::start(|req: Recorded| async move {
        match req.path() {
            "/ftp" => redirect(302, "ftp://ada:s3cretPW@127.0.0.1/file"),
            "/bad" => redirect(302, "http://ada:s3cretPW@127.0.0.1:99999/"),
            "/loop" => redirect(302, "/loop"),
            "/once" => redirect(302, "/done"),
            _ => respond(200, "done"),
        }
    })
    .await;
    let client = courier::Client::new();
    for path in ["/ftp", "/bad"] {
        let err = within(10, client.get(server.url(path)).send())
            .await
            .unwrap_err();
        assert!(err.is_redirect(), "{err:?}");
        let shown = everything_shown(&err);
        assert!(!shown.contains(SECRET), "{shown}");
        // Still says where it was sent.
        assert!(
            shown.contains("@127.0.0.1") || shown.contains("//127.0.0.1/file"),
            "{shown}"
        );
    }

    let stack = FollowRedirectLayer::new(Policy::limited(3))
        .layer(Transport::<Body>::builder().build().unwrap());
    let with_password = |path: &str| {
        let url = server
            .url(path)
            .replace("http://", &format!("http://ada:{SECRET}@"));
        Request::get(url).body(Body::empty()).unwrap()
    };
    let err = within(10, stack.clone().oneshot(with_password("/loop")))
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    let shown = everything_shown(&err);
    assert!(!shown.contains(SECRET), "{shown}");
    let response = within(10, stack.oneshot(with_password("/once")))
        .await
        .unwrap();
    let history = response.extensions().get::<RedirectHistory>().unwrap();
    let shown = format!("{history:?}");
    assert!(
        !shown.contains(SECRET) && shown.contains("/once"),
        "{shown}"
    );

    let url: Url = format!("http://ada:{SECRET}@127.0.0.1/x").parse().unwrap();
    let err = Error::from_status(StatusCode::NOT_FOUND, Some(url));
    assert!(!everything_shown(&err).contains(SECRET));

    for typed in [
        format!("ada:{SECRET}@127.0.0.1:8080/x"),
        format!("ada:s3#{SECRET}@127.0.0.1:8080/x"),
        format!("ada:s3?{SECRET}@127.0.0.1:8080/x"),
        format!("https:\\\\ada:{SECRET}@exa mple/"),
        format!("http:/ada:{SECRET}@exa mple/"),
    ] {
        let err = within(10, client.get(&typed).send()).await.unwrap_err();
        let shown = everything_shown(&err);
        assert!(
            err.is_builder() && !shown.contains(SECRET),
            "{typed}: {shown}"
        );
    }
}
