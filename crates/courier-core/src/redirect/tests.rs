//! The layer against an in-memory service: policy decisions, loops, history, errors.

use std::convert::Infallible;
use std::error::Error as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_layer::Layer;

use super::*;
use crate::{Body, BoxError, Error};

/// What the mock server saw.
#[derive(Debug)]
struct Seen {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
    marker: Option<Marker>,
}

#[derive(Clone, Debug, PartialEq)]
struct Marker(u32);

type Log = Arc<Mutex<Vec<Seen>>>;

/// A service answering with `route(method, path, index of the request)`: `(status, Location)`.
fn server<F>(
    route: F,
) -> (
    impl tower_service::Service<
            Request<Body>,
            Response = Response<http_body_util::Empty<Bytes>>,
            Error = BoxError,
            Future = impl Send,
        > + Clone,
    Log,
)
where
    F: Fn(&Method, &str, usize) -> Result<(u16, Option<&'static str>), BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let log: Log = Arc::default();
    let seen = log.clone();
    let counter = Arc::new(AtomicUsize::new(0));
    let svc = tower::service_fn(move |req: Request<Body>| {
        let route = route.clone();
        let seen = seen.clone();
        let index = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await?.to_bytes();
            let answer = route(&parts.method, parts.uri.path(), index);
            seen.lock().unwrap().push(Seen {
                method: parts.method,
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body,
                marker: parts.extensions.get::<Marker>().cloned(),
            });
            let (status, location) = answer?;
            let mut res = Response::builder().status(status);
            if let Some(location) = location {
                res = res.header("location", location);
            }
            Ok::<_, BoxError>(res.body(http_body_util::Empty::new()).unwrap())
        }
    });
    (svc, log)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn urls(list: &[url::Url]) -> Vec<&str> {
    list.iter().map(url::Url::as_str).collect()
}

fn source<T: std::error::Error + 'static>(err: &Error) -> &T {
    err.source()
        .and_then(|e| e.downcast_ref::<T>())
        .unwrap_or_else(|| panic!("unexpected cause: {err}"))
}

#[tokio::test]
async fn none_returns_the_redirect_and_records_nothing() {
    let (svc, log) = server(|_, _, _| Ok((302, Some("/next"))));
    let res = FollowRedirectLayer::new(Policy::none())
        .layer(svc)
        .oneshot(get("http://a.test/start"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.extensions().get::<RedirectHistory>().is_none());
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn no_history_without_a_redirect() {
    let (svc, _log) = server(|_, _, _| Ok((200, None)));
    let res = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.extensions().get::<RedirectHistory>().is_none());
}

#[tokio::test]
async fn limited_zero_fails_on_the_first_redirect() {
    let (svc, log) = server(|_, _, _| Ok((301, Some("/b"))));
    let err = FollowRedirectLayer::new(Policy::limited(0))
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    let cause = source::<TooManyRedirects>(&err);
    assert_eq!(cause.limit(), 0);
    assert_eq!(urls(cause.chain()), ["http://a.test/a", "http://a.test/b"]);
    assert_eq!(
        format!("{err:#}"),
        "error following redirect for url (http://a.test/a): \
         too many redirects (limit 0): http://a.test/a -> http://a.test/b"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_self_redirect_is_followed_once_then_is_a_loop() {
    // Like a server that sets a cookie and redirects to the same URL.
    let (svc, log) = server(|_, _, i| {
        Ok(if i == 0 {
            (302, Some("/a"))
        } else {
            (200, None)
        })
    });
    let res = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let history = res.extensions().get::<RedirectHistory>().unwrap();
    assert_eq!(urls(history.previous()), ["http://a.test/a"]);
    assert_eq!(history.final_url().as_str(), "http://a.test/a");
    assert_eq!(log.lock().unwrap().len(), 2);

    let (svc, log) = server(|_, _, _| Ok((302, Some("/a"))));
    let err = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    assert_eq!(
        urls(source::<RedirectLoop>(&err).chain()),
        ["http://a.test/a", "http://a.test/a", "http://a.test/a"]
    );
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_loop_needs_the_same_method() {
    // POST /a -> 303 /a -> GET /a -> 200: the URL repeats, the request does not.
    let (svc, log) = server(|m, _, _| {
        Ok(if m == Method::POST {
            (303, Some("/a"))
        } else {
            (200, None)
        })
    });
    let req = Request::post("http://a.test/a")
        .header("content-type", "text/plain")
        .body(Body::from("data"))
        .unwrap();
    let res = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let log = log.lock().unwrap();
    assert_eq!(log[1].method, Method::GET);
    assert_eq!(log[1].body, "");
    assert!(log[1].headers.get("content-type").is_none());
}

#[tokio::test]
async fn custom_policy_sees_the_attempt() {
    let (svc, _log) = server(|_, path, _| {
        Ok(match path {
            "/1" => (301, Some("/2")),
            "/2" => (308, Some("http://b.test/3?x=1")),
            _ => (200, None),
        })
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let policy = Policy::custom(move |attempt: Attempt| {
        record.lock().unwrap().push((
            attempt.status(),
            attempt.url().to_string(),
            urls(attempt.previous())
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
        ));
        if attempt.url().host_str() == Some("b.test") {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let res = FollowRedirectLayer::new(policy)
        .layer(svc)
        .oneshot(get("http://a.test/1"))
        .await
        .unwrap();
    // Stopped: the 308 is returned, with the one redirect that was followed.
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    let history = res.extensions().get::<RedirectHistory>().unwrap();
    assert_eq!(urls(history.previous()), ["http://a.test/1"]);
    assert_eq!(history.final_url().as_str(), "http://a.test/2");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (
                StatusCode::MOVED_PERMANENTLY,
                "http://a.test/2".to_owned(),
                vec!["http://a.test/1".to_owned()]
            ),
            (
                StatusCode::PERMANENT_REDIRECT,
                "http://b.test/3?x=1".to_owned(),
                vec!["http://a.test/1".to_owned(), "http://a.test/2".to_owned()]
            ),
        ]
    );
}

#[tokio::test]
async fn custom_policy_errors_are_redirect_errors() {
    let (svc, _log) = server(|_, _, _| Ok((302, Some("/b"))));
    let policy = Policy::custom(|attempt| attempt.error("not allowed here"));
    let err = FollowRedirectLayer::new(policy)
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    assert_eq!(
        format!("{err:#}"),
        "error following redirect for url (http://a.test/a): not allowed here"
    );
}

#[tokio::test]
async fn https_downgrade_is_refused_unless_allowed() {
    let route = |_: &Method, path: &str, _| {
        Ok(match path {
            "/secure" => (302, Some("http://b.test/plain")),
            _ => (200, None),
        })
    };
    let (svc, log) = server(route);
    let err = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("https://a.test/secure"))
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    let cause = source::<InsecureRedirect>(&err);
    assert_eq!(cause.from().as_str(), "https://a.test/secure");
    assert_eq!(cause.to().as_str(), "http://b.test/plain");
    assert_eq!(
        format!("{err:#}"),
        "error following redirect for url (https://a.test/secure): refusing to follow redirect \
         from https to http: https://a.test/secure -> http://b.test/plain"
    );
    assert_eq!(log.lock().unwrap().len(), 1);

    let (svc, log) = server(route);
    let res = FollowRedirectLayer::new(Policy::default().allow_https_downgrade(true))
        .layer(svc)
        .oneshot(get("https://a.test/secure"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(log.lock().unwrap()[1].uri, "http://b.test/plain");
}

#[tokio::test]
async fn extensions_reach_every_hop_and_host_does_not_leave_its_origin() {
    let (svc, log) = server(|_, path, _| {
        Ok(match path {
            "/1" => (307, Some("/2")),
            "/2" => (307, Some("http://b.test/3")),
            _ => (200, None),
        })
    });
    let mut req = get("http://a.test/1");
    req.extensions_mut().insert(Marker(7));
    req.headers_mut()
        .insert("host", http::HeaderValue::from_static("a.test"));
    FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(req)
        .await
        .unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|seen| seen.marker == Some(Marker(7))));
    assert_eq!(log[1].headers["host"], "a.test");
    assert!(log[2].headers.get("host").is_none());
}

#[tokio::test]
async fn a_relative_request_uri_cannot_be_redirected() {
    let (svc, _log) = server(|_, _, _| Ok((302, Some("/b"))));
    let err = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("/a"))
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    assert_eq!(
        format!("{err:#}"),
        "error following redirect: invalid Location header \"/b\": cannot resolve it against \
         the request URI /a: relative URL without a base"
    );
}

#[tokio::test]
async fn inner_errors_name_the_hop() {
    let (svc, _log) = server(|_, path, _| match path {
        "/a" => Ok((302, Some("/b"))),
        _ => Err("backend down".into()),
    });
    let err = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap_err();
    assert!(err.is_request());
    assert_eq!(err.url().map(url::Url::as_str), Some("http://a.test/b"));
}

#[tokio::test]
async fn a_stream_ends_the_chain_on_307_but_not_on_303() {
    fn stream() -> Body {
        Body::wrap_stream(futures_util::stream::iter([
            Ok::<_, Infallible>("ab"),
            Ok("c"),
        ]))
    }
    let (svc, log) = server(|m, path, _| {
        Ok(match (m.as_str(), path) {
            ("PUT", "/307") => (307, Some("/done")),
            ("PUT", "/303") => (303, Some("/done")),
            _ => (200, None),
        })
    });
    let follow = FollowRedirectLayer::default().layer(svc);

    let req = Request::put("http://a.test/307").body(stream()).unwrap();
    let res = follow.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    assert!(res.extensions().get::<RedirectHistory>().is_none());

    let req = Request::put("http://a.test/303").body(stream()).unwrap();
    let res = follow.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].body, "abc");
    assert_eq!(log[1].body, "abc");
    assert_eq!((&log[2].method, &*log[2].body), (&Method::GET, &b""[..]));
}

#[tokio::test]
async fn a_buffered_body_is_replayed_on_every_hop() {
    let (svc, log) = server(|_, path, _| {
        Ok(match path {
            "/1" => (307, Some("/2")),
            "/2" => (308, Some("/3")),
            "/3" => (302, Some("/4")),
            _ => (200, None),
        })
    });
    let req = Request::put("http://a.test/1")
        .body(Body::from("payload"))
        .unwrap();
    FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(req)
        .await
        .unwrap();
    let log = log.lock().unwrap();
    let bodies: Vec<_> = log
        .iter()
        .map(|s| (s.method.as_str(), &s.body[..]))
        .collect();
    assert_eq!(
        bodies,
        [
            ("PUT", &b"payload"[..]),
            ("PUT", b"payload"),
            ("PUT", b"payload"),
            ("PUT", b"payload")
        ]
    );
}

#[test]
fn policy_debug_and_defaults() {
    assert_eq!(
        format!("{:?}", Policy::default()),
        "Policy { limited: 10, allow_https_downgrade: false }"
    );
    assert_eq!(
        format!("{:?}", Policy::none().allow_https_downgrade(true)),
        "Policy { kind: \"none\", allow_https_downgrade: true }"
    );
    assert!(!Policy::default().allows_https_downgrade());
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<FollowRedirectLayer>();
}

#[tokio::test]
async fn history_keeps_each_redirect_head() {
    let (svc, _log) = server(|_, path, _| match path {
        "/a" => Ok((301, Some("/b"))),
        "/b" => Ok((303, Some("http://other.test/c"))),
        _ => Ok((200, None)),
    });
    let res = FollowRedirectLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/a"))
        .await
        .unwrap();
    let history = res.extensions().get::<RedirectHistory>().unwrap();
    let hops: Vec<_> = history
        .hops()
        .iter()
        .map(|hop| {
            (
                hop.url().as_str(),
                hop.status().as_u16(),
                hop.reason(),
                hop.headers()["location"].to_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            ("http://a.test/a", 301, "Moved Permanently", "/b"),
            ("http://a.test/b", 303, "See Other", "http://other.test/c"),
        ]
    );
    assert_eq!(history.hops().len(), history.previous().len());
}
