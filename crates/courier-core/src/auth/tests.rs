//! The layer against an in-memory service: which credentials answer which challenge.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{header, Request, Response, StatusCode};
use tower::ServiceExt;
use tower_layer::Layer;

use super::*;
use crate::Body;

type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// A server that answers 401 with `challenge` unless `Authorization` is `accept`, recording each
/// request's `Authorization`.
fn server(
    challenge: &'static str,
    accept: fn(&str) -> bool,
) -> (
    impl tower_service::Service<
            Request<Body>,
            Response = Response<()>,
            Error = Infallible,
            Future = impl Send,
        > + Clone,
    Seen,
) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let svc = tower::service_fn(move |req: Request<Body>| {
        let answer = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned());
        log.lock().unwrap().push(answer.clone());
        async move {
            let res = match answer {
                Some(answer) if accept(&answer) => Response::new(()),
                _ => Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header(header::WWW_AUTHENTICATE, challenge)
                    .body(())
                    .unwrap(),
            };
            Ok::<_, Infallible>(res)
        }
    });
    (svc, seen)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn basic_is_answered_only_by_credentials_that_allow_it() {
    let accept = |a: &str| a == "Basic YWRhOnB3"; // ada:pw
    let (svc, seen) = server(r#"Basic realm="r""#, accept);
    let digest_only = CredentialStore::new().host("a.test", Credentials::new("ada", "pw"));
    let res = AuthLayer::new(digest_only)
        .layer(svc.clone())
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen.lock().unwrap().len(), 1);

    let basic =
        CredentialStore::new().host("a.test", Credentials::new("ada", "pw").allow_basic(true));
    let res = AuthLayer::new(basic)
        .layer(svc)
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        *seen.lock().unwrap(),
        [None, None, Some("Basic YWRhOnB3".to_owned())]
    );
}

#[tokio::test]
async fn a_wrong_basic_password_is_tried_once() {
    let (svc, seen) = server(r#"Basic realm="r""#, |_| false);
    let basic =
        CredentialStore::new().default_credentials(Credentials::new("ada", "pw").allow_basic(true));
    let res = AuthLayer::new(basic)
        .layer(svc)
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn digest_is_preferred_over_basic() {
    let (svc, seen) = server(
        r#"Basic realm="r", Digest realm="r", nonce="n", qop="auth""#,
        |a| a.starts_with("Digest "),
    );
    let store =
        CredentialStore::new().host("a.test", Credentials::new("ada", "pw").allow_basic(true));
    let res = AuthLayer::new(store)
        .layer(svc)
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn request_credentials_are_bound_to_their_origin() {
    let (svc, seen) = server(r#"Digest realm="r", nonce="n""#, |_| true);
    let layer = AuthLayer::default();
    let mut req = get("http://b.test:8080/");
    let bound = RequestCredentials::for_uri(
        &"http://a.test:8080/".parse().unwrap(),
        Credentials::new("ada", "pw"),
    )
    .unwrap();
    req.extensions_mut().insert(bound.clone());
    let res = layer.layer(svc.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let mut req = get("http://A.test:8080/x");
    req.extensions_mut().insert(bound);
    let res = layer.layer(svc).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn without_credentials_nothing_happens() {
    let (svc, seen) = server(r#"Digest realm="r", nonce="n""#, |_| true);
    let res = AuthLayer::default()
        .layer(svc)
        .oneshot(get("http://a.test/"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(*seen.lock().unwrap(), [None]);
}

#[test]
fn debug_output_never_shows_a_password() {
    let credentials = Credentials::new("ada", "s3cret-pw").allow_basic(true);
    let uri: http::Uri = "http://a.test/".parse().unwrap();
    let store = CredentialStore::new()
        .host("a.test", credentials.clone())
        .origin(&uri, credentials.clone())
        .default_credentials(credentials.clone());
    let bound = RequestCredentials::for_uri(&uri, credentials.clone()).unwrap();
    let layer = AuthLayer::new(store.clone());
    let shown = format!(
        "{credentials:?} {store:?} {bound:?} {layer:?} {:?} {:?}",
        layer.layer(()),
        Origin::of(&uri)
    );
    assert!(shown.contains("ada"), "the capture works: {shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// The answers made for a party (Digest and Basic) are sensitive header values: `Debug` of the
/// headers does not show them.
#[test]
fn answers_are_sensitive_header_values() {
    let sessions = session::Sessions::default();
    let origin = Origin::of(&"http://a.test/".parse().unwrap()).unwrap();
    let credentials = Credentials::new("ada", "s3cret-pw").allow_basic(true);
    let mut values = Vec::new();
    for challenge in [
        r#"Digest realm="r", nonce="n", qop="auth""#,
        r#"Basic realm="r""#,
    ] {
        let mut party = party::Party::proxy(origin.clone(), credentials.clone(), &sessions);
        let challenges =
            challenge::Challenge::parse_all([&http::HeaderValue::from_static(challenge)]);
        assert!(party.challenged(&challenges, true, true), "{challenge}");
        values.push(party.header_value("CONNECT", "a.test:443", None).unwrap());
    }
    assert!(values[0].to_str().unwrap().contains("uri=\"a.test:443\""));
    assert_eq!(values[1], "Basic YWRhOnMzY3JldC1wdw==");
    let mut headers = http::HeaderMap::new();
    for value in values {
        assert!(value.is_sensitive());
        headers.append(header::PROXY_AUTHORIZATION, value);
    }
    let shown = format!("{headers:?}");
    assert!(
        !shown.contains("response=") && !shown.contains("YWRh"),
        "{shown}"
    );
}
