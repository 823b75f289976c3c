//! The cookie layer alone around the real transport, against in-process servers.
//!
//! The servers answer `/set` with one `Set-Cookie` per `x-set-cookie` request header, and every other
//! path with the request's `Cookie` header as the body (`<none>` without one).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use courier_core::cookie::{
    CookieManager, CookieManagerLayer, Jar, MAX_COOKIES, MAX_COOKIES_PER_DOMAIN,
};
use courier_core::transport::{Certificate, Transport};
use courier_core::Body;
use courier_testkit::{full, Recorded, ServerBody, TestServer};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};
use url::Url;

fn routes(req: &Recorded) -> Response<ServerBody> {
    let mut res = Response::builder();
    let body = if req.path() == "/set" {
        for cookie in req.headers.get_all("x-set-cookie") {
            res = res.header(SET_COOKIE, cookie);
        }
        Bytes::from_static(b"set")
    } else {
        match req.headers.get_all(COOKIE).iter().count() {
            0 => Bytes::from_static(b"<none>"),
            1 => Bytes::copy_from_slice(req.headers[COOKIE].as_bytes()),
            n => panic!("{n} Cookie headers"),
        }
    };
    res.body(full(body)).unwrap()
}

async fn server() -> TestServer {
    TestServer::start(|req| async move { routes(&req) }).await
}

type Client = CookieManager<Transport>;

fn client(jar: &Arc<Jar>) -> Client {
    CookieManagerLayer::new(jar.clone()).layer(Transport::builder().build().unwrap())
}

/// Sends a GET with the given `x-set-cookie` headers; returns the response's body.
async fn get(client: &Client, url: &str, set_cookies: &[&str]) -> String {
    let mut req = Request::get(url);
    for cookie in set_cookies {
        req = req.header("x-set-cookie", *cookie);
    }
    send(client, req.body(Body::empty()).unwrap()).await
}

async fn send(client: &Client, req: Request<Body>) -> String {
    let res = client.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// `server.url(path)` with `localhost` instead of `127.0.0.1`: another host, same server.
fn localhost(server: &TestServer, path: &str) -> String {
    format!("http://localhost:{}{}", server.addr().port(), path)
}

#[tokio::test]
async fn set_on_one_path_sent_on_another() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);

    assert_eq!(get(&client, &server.url("/account"), &[]).await, "<none>");
    get(
        &client,
        &server.url("/set"),
        &["session=abc123; Path=/; HttpOnly"],
    )
    .await;
    assert_eq!(
        get(&client, &server.url("/account"), &[]).await,
        "session=abc123"
    );
    assert_eq!(
        server.last_request().header("cookie"),
        Some("session=abc123")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].header("cookie"), None);
    assert_eq!(requests[1].header("cookie"), None);
}

#[tokio::test]
async fn localhost_and_127_0_0_1_are_distinct_hosts() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);

    get(&client, &server.url("/set"), &["ip=1; Path=/"]).await;
    get(&client, &localhost(&server, "/set"), &["name=1; Path=/"]).await;
    // A Domain attribute naming the other host is rejected.
    get(
        &client,
        &server.url("/set"),
        &["evil=1; Path=/; Domain=localhost"],
    )
    .await;
    get(
        &client,
        &localhost(&server, "/set"),
        &["evil=2; Path=/; Domain=127.0.0.1"],
    )
    .await;

    assert_eq!(get(&client, &server.url("/"), &[]).await, "ip=1");
    assert_eq!(get(&client, &localhost(&server, "/"), &[]).await, "name=1");
    assert_eq!(jar.len(), 2);
}

#[tokio::test]
async fn secure_cookies_are_sent_over_https_only() {
    let tls = TestServer::builder()
        .tls()
        .start(|req| async move { routes(&req) })
        .await;
    let plain = server().await;
    let ca = Certificate::from_pem(tls.ca_pem().as_bytes()).unwrap();
    let transport = Transport::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let jar = Arc::new(Jar::new());
    let client = CookieManagerLayer::new(jar.clone()).layer(transport);

    // https://localhost:TLS_PORT sets both; cookies ignore ports, so plain localhost gets them too...
    let tls_set = tls.url("/set");
    get(&client, &tls_set, &["s=1; Secure; Path=/", "p=1; Path=/"]).await;
    assert_eq!(get(&client, &tls.url("/"), &[]).await, "s=1; p=1");
    // ...except the Secure one.
    assert_eq!(get(&client, &localhost(&plain, "/"), &[]).await, "p=1");
    assert_eq!(plain.last_request().header("cookie"), Some("p=1"));
}

#[tokio::test]
async fn max_age_zero_deletes() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);

    get(
        &client,
        &server.url("/set"),
        &["a=1; Path=/", "b=2; Path=/"],
    )
    .await;
    assert_eq!(get(&client, &server.url("/"), &[]).await, "a=1; b=2");
    get(&client, &server.url("/set"), &["a=; Path=/; Max-Age=0"]).await;
    assert_eq!(get(&client, &server.url("/"), &[]).await, "b=2");
    get(
        &client,
        &server.url("/set"),
        &["b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"],
    )
    .await;
    assert_eq!(get(&client, &server.url("/"), &[]).await, "<none>");
    assert!(jar.is_empty());
}

#[tokio::test]
async fn path_matching() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);

    // `/set` has the default path `/`; set cookies from deeper URLs to get other defaults.
    let mut req = Request::get(server.url("/set"));
    req = req.header("x-set-cookie", "docs=1; Path=/docs");
    req = req.header("x-set-cookie", "root=1; Path=/");
    send(&client, req.body(Body::empty()).unwrap()).await;
    jar.add_cookie_str(
        "dir=1",
        &Url::parse(&server.url("/docs/guide/page")).unwrap(),
    );

    let sent = |path: &'static str| {
        let client = client.clone();
        let url = server.url(path);
        async move { get(&client, &url, &[]).await }
    };
    assert_eq!(sent("/").await, "root=1");
    assert_eq!(sent("/doc").await, "root=1");
    assert_eq!(sent("/docsx").await, "root=1");
    assert_eq!(sent("/docs").await, "docs=1; root=1");
    assert_eq!(sent("/docs/guide").await, "dir=1; docs=1; root=1");
    assert_eq!(sent("/docs/guide/x?q=1").await, "dir=1; docs=1; root=1");
    assert_eq!(sent("/docs/guidebook").await, "docs=1; root=1");
}

#[tokio::test]
async fn several_set_cookie_headers_in_one_response() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);

    get(
        &client,
        &server.url("/set"),
        &["a=1", "b=2; Path=/", "a=3", "nameless", "c=4; Max-Age=3600"],
    )
    .await;
    assert_eq!(jar.len(), 3);
    assert_eq!(get(&client, &server.url("/"), &[]).await, "a=3; b=2; c=4");
}

#[tokio::test]
async fn an_explicit_cookie_header_is_left_alone() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);
    get(&client, &server.url("/set"), &["jar=1"]).await;

    let req = Request::get(server.url("/"))
        .header(COOKIE, "mine=1; other=2")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&client, req).await, "mine=1; other=2");
    assert_eq!(get(&client, &server.url("/"), &[]).await, "jar=1");
}

#[tokio::test]
async fn a_jar_shared_between_two_services() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let first = client(&jar);
    let second = client(&jar);

    get(&first, &server.url("/set"), &["from=first"]).await;
    assert_eq!(get(&second, &server.url("/"), &[]).await, "from=first");
    get(&second, &server.url("/set"), &["from=second"]).await;
    assert_eq!(get(&first, &server.url("/"), &[]).await, "from=second");
    assert_eq!(jar.len(), 1);
}

#[tokio::test]
async fn json_round_trip_keeps_persistent_cookies_only() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);
    get(
        &client,
        &server.url("/set"),
        &[
            "session=1",
            "persistent=2; Max-Age=86400",
            "dated=3; Expires=Fri, 31 Dec 2100 23:59:59 GMT",
            "gone=4; Max-Age=0",
        ],
    )
    .await;
    assert_eq!(jar.len(), 3);

    let mut saved = Vec::new();
    jar.save_json(&mut saved).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["persistent", "dated"]);

    let restored = Arc::new(Jar::new());
    assert_eq!(restored.load_json(saved.as_slice()).unwrap(), 2);
    let client = self::client(&restored);
    assert_eq!(
        get(&client, &server.url("/"), &[]).await,
        "persistent=2; dated=3"
    );
    // Not for another host.
    assert_eq!(get(&client, &localhost(&server, "/"), &[]).await, "<none>");

    let mut everything = Vec::new();
    jar.save_json_incl_session(&mut everything).unwrap();
    let restored = Arc::new(Jar::new());
    assert_eq!(restored.load_json(everything.as_slice()).unwrap(), 3);
    let client = self::client(&restored);
    assert_eq!(
        get(&client, &server.url("/"), &[]).await,
        "session=1; persistent=2; dated=3"
    );
}

#[tokio::test]
async fn cookies_over_http2() {
    let server = server().await;
    let jar = Arc::new(Jar::new());
    let transport = Transport::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let client = CookieManagerLayer::new(jar.clone()).layer(transport);
    get(&client, &server.url("/set"), &["a=1", "b=2"]).await;
    assert_eq!(get(&client, &server.url("/"), &[]).await, "a=1; b=2");
    assert_eq!(server.last_request().version, http::Version::HTTP_2);
}

#[tokio::test]
async fn an_oversized_set_cookie_is_ignored() {
    // 256 KiB fits in the transport's response head limit; the jar ignores it.
    let big = format!("big={}", "x".repeat(256 * 1024));
    let server = TestServer::start(move |req| {
        let big = big.clone();
        async move {
            if req.path() == "/set" {
                Response::builder()
                    .header(SET_COOKIE, big)
                    .header(SET_COOKIE, "small=1")
                    .body(full("set"))
                    .unwrap()
            } else {
                routes(&req)
            }
        }
    })
    .await;
    let jar = Arc::new(Jar::new());
    let client = client(&jar);
    get(&client, &server.url("/set"), &[]).await;
    assert_eq!(jar.len(), 1);
    assert_eq!(get(&client, &server.url("/"), &[]).await, "small=1");
}

/// A 1 MiB `Set-Cookie` and 10,000 `Set-Cookie` headers in one response exceed what the transport
/// accepts in a response head, so this hostile server is a service of its own under the same layer.
#[tokio::test]
async fn hostile_responses_do_not_blow_up_the_jar() {
    /// `evil.example` sends a 1 MiB cookie and 10,000 more; other hosts just over the per-domain cap.
    async fn hostile(req: Request<()>) -> Result<Response<()>, Infallible> {
        let mut res = Response::new(());
        let host = req.uri().host().unwrap().to_owned();
        let headers = res.headers_mut();
        let count = if host == "evil.example" {
            let huge = format!("huge={}", "x".repeat(1024 * 1024));
            headers.append(SET_COOKIE, HeaderValue::from_str(&huge).unwrap());
            10_000
        } else {
            MAX_COOKIES_PER_DOMAIN + 10
        };
        for i in 0..count {
            let cookie = format!("c{i}={}; Max-Age=3600; Domain={host}", "v".repeat(100));
            headers.append(SET_COOKIE, HeaderValue::from_str(&cookie).unwrap());
        }
        Ok(res)
    }
    let jar = Arc::new(Jar::new());
    let service = CookieManagerLayer::new(jar.clone()).layer(tower::service_fn(hostile));

    let get = |url: String| Request::get(url).body(()).unwrap();
    service
        .clone()
        .oneshot(get("http://evil.example/".into()))
        .await
        .unwrap();
    assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN);
    let url = Url::parse("http://evil.example/").unwrap();
    let kept: Vec<String> = jar
        .cookies_for(&url)
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let newest: Vec<String> = (10_000 - MAX_COOKIES_PER_DOMAIN..10_000)
        .map(|i| format!("c{i}"))
        .collect();
    assert_eq!(kept, newest, "the least recently used were evicted");
    assert!(jar.cookie_header(&url).unwrap().len() < 6 * 1024);

    // Many hostile hosts: the total cap holds too.
    for n in 0..(MAX_COOKIES / MAX_COOKIES_PER_DOMAIN + 5) {
        let url = format!("http://evil{n}.example/");
        service.clone().oneshot(get(url)).await.unwrap();
    }
    assert_eq!(jar.len(), MAX_COOKIES);
}
