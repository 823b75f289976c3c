//! `Location` resolution in the redirect layer, through its public service: an inner service answers
//! the first request with a redirect whose `Location` is the fuzz input, and `200` after that.
//!
//! Must never panic. A failure must be a redirect error; a followed redirect must go to an `http(s)` URL,
//! the request sent must be for the URL the history records, and credentials must not follow a hop to
//! another origin.
//!
//! Input: byte 0 picks the status and method, byte 1 the URL redirected from, the rest is the
//! `Location` value.

#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use courier_core::redirect::{FollowRedirectLayer, Policy, RedirectHistory};
use courier_core::Body;
use http::header::{AUTHORIZATION, COOKIE, LOCATION};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt};

const STATUSES: [u16; 6] = [301, 302, 303, 307, 308, 300];
const METHODS: [Method; 3] = [Method::GET, Method::POST, Method::HEAD];
const FROM: &[&str] = &[
    "http://example.com/",
    "https://example.com/a/b/c?q=1#frag",
    "http://127.0.0.1:8080/dir/",
    "https://[::1]:8443/x?y",
    "http://user:pass@example.com/path",
    "https://xn--bcher-kva.example/",
];

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let [pick, from, location @ ..] = data else {
        return;
    };
    // hyper would not hand over a value with control characters either.
    let Ok(location) = HeaderValue::from_bytes(location) else {
        return;
    };
    let status = StatusCode::from_u16(STATUSES[usize::from(pick % 6)]).unwrap();
    let method = METHODS[usize::from(pick / 6 % 3)].clone();
    let from = FROM[usize::from(*from) % FROM.len()];

    let seen: Arc<Mutex<Vec<(http::Uri, HeaderMap)>>> = Arc::default();
    let log = seen.clone();
    let server = tower::service_fn(move |req: Request<Body>| {
        let log = log.clone();
        let location = location.clone();
        async move {
            let mut log = log.lock().unwrap();
            log.push((req.uri().clone(), req.headers().clone()));
            let mut res = Response::new(());
            if log.len() == 1 {
                *res.status_mut() = status;
                res.headers_mut().insert(LOCATION, location);
            }
            Ok::<_, Infallible>(res)
        }
    });
    let client = FollowRedirectLayer::new(Policy::limited(3)).layer(server);
    let mut req = Request::new(Body::from("payload"));
    *req.method_mut() = method;
    *req.uri_mut() = from.split('#').next().unwrap().parse().unwrap();
    req.headers_mut()
        .insert(AUTHORIZATION, HeaderValue::from_static("Basic c2VjcmV0"));
    req.headers_mut()
        .insert(COOKIE, HeaderValue::from_static("session=1"));

    let result = RUNTIME.with(|rt| rt.block_on(client.oneshot(req)));
    let seen = seen.lock().unwrap();
    match result {
        Err(err) => {
            assert!(err.is_redirect(), "{err:?}");
            assert_eq!(seen.len(), 1);
        }
        Ok(res) => match res.extensions().get::<RedirectHistory>() {
            None => assert_eq!(seen.len(), 1),
            Some(history) => {
                assert_eq!(seen.len(), 2);
                let next = history.final_url();
                assert!(matches!(next.scheme(), "http" | "https"), "{next}");
                let (uri, headers) = &seen[1];
                assert_eq!(
                    uri.to_string(),
                    &next[..url::Position::AfterQuery],
                    "{next}"
                );
                let original = history.original_url();
                let same_origin = original.scheme() == next.scheme()
                    && original.host() == next.host()
                    && original.port_or_known_default() == next.port_or_known_default();
                if !same_origin {
                    assert!(!headers.contains_key(AUTHORIZATION), "{original} -> {next}");
                    assert!(!headers.contains_key(COOKIE), "{original} -> {next}");
                }
            }
        },
    }
});
