//! reqwest's conversions and service impls: `http` types in and out, bodies from files, `Client` as a
//! tower service of both reqwest's and `http`'s types, each doing exactly what `send()` does.

use std::io::Write as _;

use courier::{Body, Client, Request, RequestBuilder, Response};
use courier_testkit::client::within;
use courier_testkit::{echo, TestServer};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

#[tokio::test]
async fn http_requests_convert_both_ways() {
    let http = http::Request::post("http://127.0.0.1:9/items?x=1")
        .header("x-one", "1")
        .version(http::Version::HTTP_11)
        .body("payload")
        .unwrap();
    let request = Request::try_from(http).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.url().as_str(), "http://127.0.0.1:9/items?x=1");
    assert_eq!(request.headers()["x-one"], "1");
    assert_eq!(request.body().unwrap().as_bytes(), Some(&b"payload"[..]));

    let back: http::Request<Body> = request.try_into().unwrap();
    assert_eq!(back.uri(), "http://127.0.0.1:9/items?x=1");
    assert_eq!(back.headers()["x-one"], "1");
    let bytes = back.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "payload");

    // A relative URI is not a request Courier can send.
    let relative = http::Request::get("/items").body(()).unwrap();
    assert!(Request::try_from(relative).unwrap_err().is_builder());
}

#[tokio::test]
async fn http_responses_convert_into_responses() {
    let mut response = Response::from(
        http::Response::builder()
            .status(201)
            .header("x-kind", "canned")
            .body("made")
            .unwrap(),
    );
    assert_eq!(response.status(), 201);
    assert_eq!(response.url().as_str(), "http://no.url.provided.local/");
    response.extensions_mut().insert(7u8);
    assert_eq!(response.extensions().get::<u8>(), Some(&7));
    assert_eq!(response.headers()["x-kind"], "canned");
    assert_eq!(response.text().await.unwrap(), "made");
}

#[tokio::test]
async fn a_response_keeps_its_url_through_into_http_and_back() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let response = within(10, Client::new().get(server.url("/there?x=1")).send())
        .await
        .unwrap();
    let back = Response::from(response.into_http());
    assert_eq!(back.url().as_str(), server.url("/there?x=1"));
    assert_eq!(back.status(), 200);

    // After a redirect, a URL set with ResponseBuilderExt wins over the redirect history the
    // extensions still carry.
    let hops = TestServer::start(|req| async move {
        match req.path() {
            "/from" => courier_testkit::redirect(302, "/to"),
            _ => echo(&req),
        }
    })
    .await;
    let redirected = within(10, Client::new().get(hops.url("/from")).send())
        .await
        .unwrap();
    assert_eq!(redirected.url().as_str(), hops.url("/to"));
    let (parts, body) = redirected.into_http().into_parts();
    let other: courier::Url = "http://127.0.0.1:9/elsewhere".parse().unwrap();
    let mut builder = http::Response::builder().status(parts.status);
    *builder.extensions_mut().unwrap() = parts.extensions;
    let rebuilt = courier::ResponseBuilderExt::url(builder, other.clone())
        .body(body)
        .unwrap();
    assert_eq!(Response::from(rebuilt).url(), &other);
}

#[tokio::test]
async fn a_file_streams_as_a_body_and_from_parts_keeps_the_request() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let dir = std::env::temp_dir().join(format!("courier-conversions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("upload.bin");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&content)
        .unwrap();

    let client = Client::new();
    let mut request = client.post(server.url("/upload")).build().unwrap();
    *request.body_mut() = Some(Body::from(tokio::fs::File::open(&path).await.unwrap()));
    let response = within(
        10,
        RequestBuilder::from_parts(client.clone(), request)
            .header("x-added", "later")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let seen = server.last_request();
    assert_eq!(seen.body, content);
    assert_eq!(seen.header("x-added"), Some("later"));
    // A file is streamed: chunked, with no Content-Length.
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn both_service_impls_do_what_send_does() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let port = server.addr().port();
    let url = format!("http://user:pw@127.0.0.1:{port}/svc");
    let client = Client::new();

    // reqwest's types, on `Client` and on `&Client`.
    let request = Request::new(http::Method::GET, url.parse().unwrap());
    let response = within(10, client.clone().oneshot(request)).await.unwrap();
    assert_eq!(
        response.url().as_str(),
        format!("http://127.0.0.1:{port}/svc")
    );
    let request = Request::new(http::Method::GET, url.parse().unwrap());
    let mut by_ref = &client;
    within(10, Service::call(&mut by_ref, request))
        .await
        .unwrap();

    // `http` types.
    let http = http::Request::get(&url).body(Body::empty()).unwrap();
    let response: http::Response<Body> = within(10, client.clone().oneshot(http)).await.unwrap();
    assert_eq!(response.status(), 200);

    // Every path moved the credentials out of the URL into a Basic header, and sent Accept.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for seen in requests {
        assert_eq!(seen.header("authorization"), Some("Basic dXNlcjpwdw=="));
        assert_eq!(seen.header("accept"), Some("*/*"));
    }

    // https_only holds on the http path too.
    let strict = Client::builder().https_only(true).build().unwrap();
    let http = http::Request::get(server.url("/"))
        .body(Body::empty())
        .unwrap();
    let err = within(10, strict.oneshot(http)).await.unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert_eq!(server.requests().len(), 3);
}

/// Credentials in a URL leave it as soon as the request is made, as in reqwest: the built request's
/// URL and `Debug` do not show them, it carries them as a Basic header, and an `http::Request` made of
/// it sends them to a service of one's own.
#[tokio::test]
async fn credentials_leave_the_url_when_the_request_is_made() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let port = server.addr().port();
    let url = format!("http://ada:s3cret@127.0.0.1:{port}/x");
    let builder = Client::new().get(&url);
    assert!(!format!("{builder:?}").contains("s3cret"), "{builder:?}");
    let request = builder.build().unwrap();
    assert!(!format!("{request:?}").contains("s3cret"), "{request:?}");
    assert_eq!(request.url().as_str(), format!("http://127.0.0.1:{port}/x"));
    assert_eq!(request.headers()["authorization"], "Basic YWRhOnMzY3JldA==");
    assert!(request.headers()["authorization"].is_sensitive());
    let http: http::Request<Body> = request.try_into().unwrap();
    assert_eq!(
        http.uri().authority().unwrap().as_str(),
        format!("127.0.0.1:{port}")
    );
    assert_eq!(http.headers()["authorization"], "Basic YWRhOnMzY3JldA==");
}

/// `query()` with nothing to add leaves no bare `?` behind, as reqwest's does.
#[test]
fn an_empty_query_leaves_no_bare_question_mark() {
    let request = Client::new()
        .get("http://127.0.0.1:1/p?")
        .query(&[] as &[(&str, &str)])
        .build()
        .unwrap();
    assert_eq!(request.url().as_str(), "http://127.0.0.1:1/p");
    let request = Client::new()
        .get("http://127.0.0.1:1/p?a=1")
        .query(&[] as &[(&str, &str)])
        .build()
        .unwrap();
    assert_eq!(request.url().as_str(), "http://127.0.0.1:1/p?a=1");
}

/// One `Authorization` header, the latest word: an explicit one replaces the Basic header made from the
/// URL's credentials, and credentials put in the URL with `url_mut()` after the request was made
/// replace the ones it was made with.
#[tokio::test]
async fn a_request_sends_one_authorization_header_the_latest_one() {
    let server = TestServer::start(|req| async move {
        courier_testkit::respond(200, req.header_all("authorization").join(" | "))
    })
    .await;
    let port = server.addr().port();
    let client = Client::new();
    let text = within(10, async {
        client
            .get(format!("http://ada:s3cret@127.0.0.1:{port}/x"))
            .header("authorization", "Bearer t")
            .send()
            .await?
            .text()
            .await
    })
    .await
    .unwrap();
    assert_eq!(text, "Bearer t");

    let mut request = client
        .get(format!("http://a:1@127.0.0.1:{port}/y"))
        .build()
        .unwrap();
    request.url_mut().set_username("b").unwrap();
    request.url_mut().set_password(Some("2")).unwrap();
    let text = within(10, async { client.execute(request).await?.text().await })
        .await
        .unwrap();
    // base64("b:2")
    assert_eq!(text, "Basic Yjoy");
}

/// A request's own timeout survives its conversion to an `http::Request` (as an extension, as
/// reqwest keeps it) and back: a `Client` used as a `Service` still applies it.
#[tokio::test]
async fn a_requests_timeout_survives_the_conversion_to_http() {
    let silent = courier_testkit::RawServer::start(|mut stream, _| async move {
        let _ = courier_testkit::read_request_head(&mut stream).await;
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    })
    .await;
    let client = Client::new();
    let timeout = std::time::Duration::from_millis(200);
    let request = client
        .get(silent.url("/"))
        .timeout(timeout)
        .build()
        .unwrap();
    let http = http::Request::<Body>::try_from(request).unwrap();
    let back = Request::try_from(http).unwrap();
    assert_eq!(back.timeout(), Some(&timeout));
    let http = http::Request::<Body>::try_from(back).unwrap();
    let started = std::time::Instant::now();
    let err = within(5, client.oneshot(http)).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}
