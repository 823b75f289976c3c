//! Proxies (absolute-form for http, CONNECT tunnels for https, HTTPS proxies, basic and custom auth,
//! headers for the proxy, custom proxies, no_proxy) and credentials in URLs, against a
//! recording test proxy. SOCKS proxies are in `socks.rs`; the environment in `proxy_env.rs` and
//! `no_proxy_env.rs` (each alone in its binary: they set environment variables).

use courier::{Client, NoProxy, Proxy};
use courier_testkit::client::{get_text, within};
use courier_testkit::tls::TestCerts;
use courier_testkit::{echo, redirect, respond, ProxyServer, RawServer, TestServer, Then};
use http::header::{HeaderMap, HeaderValue};

fn header_line<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn http_requests_go_to_the_proxy_in_absolute_form_with_auth() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let client = Client::builder()
        .proxy(
            Proxy::http(proxy.url())
                .unwrap()
                .basic_auth("Aladdin", "open sesame"),
        )
        .build()
        .unwrap();
    let response = within(10, client.get("http://origin.test:8080/path?q=1").send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("GET http://origin.test:8080/path?q=1 HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert_eq!(
        header_line(&seen[0], "proxy-authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    // The origin got the request (forwarded) with the right Host.
    assert_eq!(
        origin.last_request().header("host"),
        Some("origin.test:8080")
    );
    assert_eq!(origin.last_request().path(), "/path");
}

#[tokio::test]
async fn https_requests_tunnel_through_connect() {
    let origin = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let ca = courier::Certificate::from_pem(origin.ca_pem().as_bytes()).unwrap();
    let client = Client::builder()
        .add_root_certificate(ca)
        .proxy(
            Proxy::https(format!(
                "http://user:pa%20ss@127.0.0.1:{}",
                proxy.url().rsplit(':').next().unwrap()
            ))
            .unwrap(),
        )
        .build()
        .unwrap();
    let response = within(10, client.get(origin.url("/secure")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.version(),
        http::Version::HTTP_2,
        "ALPN runs inside the tunnel"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    let port = origin.addr().port();
    assert!(
        seen[0].starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")),
        "{}",
        seen[0]
    );
    assert_eq!(
        header_line(&seen[0], "proxy-authorization"),
        Some("Basic dXNlcjpwYSBzcw==")
    );
    // The client's User-Agent goes on the CONNECT too, as reqwest sends it (proxies filter on it).
    assert_eq!(
        header_line(&seen[0], "user-agent"),
        Some(concat!("courier/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(origin.last_request().path(), "/secure");
}

#[tokio::test]
async fn no_proxy_hosts_bypass_the_proxy() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let client = Client::builder()
        .proxy(
            Proxy::all(proxy.url())
                .unwrap()
                .no_proxy(NoProxy::from_string("localhost, 127.0.0.1")),
        )
        .build()
        .unwrap();
    within(10, client.get(origin.url("/direct")).send())
        .await
        .unwrap();
    assert!(proxy.seen().is_empty());
    assert_eq!(origin.last_request().path(), "/direct");
}

#[tokio::test]
async fn proxies_are_validated() {
    for bad in ["ftp://127.0.0.1:21", "::nope", "http://"] {
        assert!(Proxy::all(bad).unwrap_err().is_builder(), "{bad}");
    }
    // &str, String and Url; no scheme means http.
    let url = url::Url::parse("https://127.0.0.1:3129").unwrap();
    Proxy::https(url.clone()).unwrap();
    Proxy::https(&url).unwrap();
    Proxy::http(String::from("127.0.0.1:3128")).unwrap();
    // The credentials are never shown, not even of a URL that does not parse.
    let err = Proxy::all("http://user:hunter2@[nope").unwrap_err();
    assert!(!format!("{err:#}").contains("hunter2"), "{err:#}");
    let proxy = Proxy::all("http://user:hunter2@127.0.0.1:3128").unwrap();
    assert!(!format!("{proxy:?}").contains("hunter2"));
}

#[tokio::test]
async fn url_credentials_become_basic_auth_and_stay_on_their_origin() {
    let other = TestServer::echo().await;
    let other_url = format!("http://localhost:{}/landing", other.addr().port());
    let origin = TestServer::start(move |req| {
        let other_url = other_url.clone();
        async move {
            match req.path() {
                "/away" => redirect(302, &other_url),
                "/here" => redirect(302, "/final"),
                _ => echo(&req),
            }
        }
    })
    .await;
    let client = Client::builder().no_proxy().build().unwrap();
    let port = origin.addr().port();

    let here = format!("http://user:p%40ss@127.0.0.1:{port}/here");
    let response = within(10, client.get(here).send()).await.unwrap();
    assert_eq!(
        response.url().as_str(),
        format!("http://127.0.0.1:{port}/final"),
        "no credentials in the URL"
    );
    assert_eq!(
        origin.last_request().header("authorization"),
        Some("Basic dXNlcjpwQHNz")
    );

    let away = format!("http://user:p%40ss@127.0.0.1:{port}/away");
    within(10, client.get(away).send()).await.unwrap();
    assert_eq!(
        origin
            .requests()
            .iter()
            .filter(|r| r.path() == "/away")
            .count(),
        1
    );
    assert_eq!(
        origin
            .requests()
            .iter()
            .find(|r| r.path() == "/away")
            .unwrap()
            .header("authorization"),
        Some("Basic dXNlcjpwQHNz")
    );
    assert_eq!(other.last_request().path(), "/landing");
    assert_eq!(
        other.last_request().header("authorization"),
        None,
        "credentials leaked to another origin"
    );
}

/// A TLS origin that answers `secret`, recording whether any proxy header reached it.
async fn tls_origin() -> TestServer {
    TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await
}

#[tokio::test]
async fn an_https_proxy_with_its_own_certificate() {
    let origin = tls_origin().await;
    let plain_origin = TestServer::echo().await;
    let proxy_certs = TestCerts::generate(&["localhost"]);
    let proxy = ProxyServer::start_tls(origin.addr(), &proxy_certs).await;
    let origin_ca = courier::Certificate::from_pem(origin.ca_pem().as_bytes()).unwrap();
    let proxy_ca = courier::Certificate::from_pem(proxy_certs.ca_pem.as_bytes()).unwrap();
    let client = Client::builder()
        .tls_certs_only([origin_ca.clone(), proxy_ca])
        .proxy(Proxy::https(proxy.url()).unwrap().basic_auth("u", "p"))
        .build()
        .unwrap();
    let response = within(10, client.get(origin.url("/inside")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.version(),
        http::Version::HTTP_2,
        "ALPN with the origin runs inside the TLS tunnel"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    let port = origin.addr().port();
    assert!(seen[0].starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")));
    assert_eq!(
        header_line(&seen[0], "proxy-authorization"),
        Some("Basic dTpw")
    );
    assert_eq!(origin.last_request().header("proxy-authorization"), None);

    // http through an https proxy: forwarded in absolute form, inside TLS to the proxy.
    let forward = ProxyServer::start_tls(plain_origin.addr(), &proxy_certs).await;
    let client = Client::builder()
        .tls_certs_only([courier::Certificate::from_pem(proxy_certs.ca_pem.as_bytes()).unwrap()])
        .proxy(Proxy::http(forward.url()).unwrap())
        .build()
        .unwrap();
    within(10, client.get("http://plain.test:8080/fwd").send())
        .await
        .unwrap();
    assert!(forward.seen()[0].starts_with("GET http://plain.test:8080/fwd HTTP/1.1\r\n"));
    assert_eq!(plain_origin.last_request().path(), "/fwd");

    // A proxy whose certificate is not trusted is refused before anything is sent.
    let client = Client::builder()
        .tls_certs_only([origin_ca])
        .proxy(Proxy::all(proxy.url()).unwrap())
        .build()
        .unwrap();
    let err = within(10, client.get(origin.url("/x")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(
        format!("{err:#}").contains("TLS handshake with the proxy failed: "),
        "{err:#}"
    );
    // The rustls error is reachable as a cause, as for the origin's handshake.
    let mut cause = std::error::Error::source(&err);
    let mut certificate = false;
    while let Some(current) = cause {
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        certificate |= current.downcast_ref::<rustls::Error>().is_some()
            || inner.is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some());
        cause = current.source();
    }
    assert!(certificate, "{err:?}");
    assert_eq!(proxy.seen().len(), 1);
}

#[tokio::test]
async fn proxy_headers_and_custom_auth_reach_the_proxy_only() {
    let origin = tls_origin().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let mut headers = HeaderMap::new();
    headers.insert("x-proxy-tenant", HeaderValue::from_static("blue"));
    let client = courier_testkit::client::trusting(&origin)
        .proxy(
            Proxy::all(proxy.url())
                .unwrap()
                .headers(headers)
                .custom_http_auth(HeaderValue::from_static("Bearer proxy-token")),
        )
        .build()
        .unwrap();
    within(10, client.get(origin.url("/h")).send())
        .await
        .unwrap();
    let seen = &proxy.seen()[0];
    assert_eq!(header_line(seen, "x-proxy-tenant"), Some("blue"));
    assert_eq!(
        header_line(seen, "proxy-authorization"),
        Some("Bearer proxy-token")
    );
    let request = origin.last_request();
    assert_eq!(request.path(), "/h");
    assert_eq!(request.header("x-proxy-tenant"), None);
    assert_eq!(request.header("proxy-authorization"), None);
}

#[tokio::test]
async fn a_custom_proxy_choosing_by_path_is_decided_once_per_request() {
    custom_proxy_by_path(Client::builder()).await;
}

#[tokio::test]
async fn the_proxy_decision_reaches_the_connector_through_connector_layers() {
    custom_proxy_by_path(
        Client::builder().connector_layer(tower::limit::ConcurrencyLimitLayer::new(4)),
    )
    .await;
}

/// A `Proxy::custom` that proxies `/via…` paths only: requests through the proxy do go through it, and
/// the origin never sees what is meant for the proxy on the direct ones.
async fn custom_proxy_by_path(builder: courier::ClientBuilder) {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let proxy_url = proxy.url();
    let client = builder
        .proxy(
            Proxy::custom(move |url| url.path().starts_with("/via").then(|| proxy_url.clone()))
                .basic_auth("user", "pw"),
        )
        .build()
        .unwrap();
    let via = origin.url("/via/1");
    let direct = origin.url("/direct/2");
    within(10, async {
        for url in [&via, &direct, &via, &direct] {
            assert_eq!(client.get(url).send().await.unwrap().status(), 200);
        }
    })
    .await;
    // The proxied requests went through the proxy (a connection each: it forwards one request per
    // connection), with its credentials.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for head in &seen {
        assert!(
            head.starts_with(&format!("GET {via} HTTP/1.1\r\n")),
            "{head}"
        );
        assert_eq!(
            header_line(head, "proxy-authorization"),
            Some("Basic dXNlcjpwdw==")
        );
    }
    // The direct ones came straight to the origin, with nothing meant for the proxy.
    let direct_seen: Vec<_> = origin
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/direct/2")
        .collect();
    assert_eq!(direct_seen.len(), 2);
    for request in direct_seen {
        assert_eq!(request.header("proxy-authorization"), None);
    }
}

#[tokio::test]
async fn a_custom_proxy_decides_per_url() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let proxy_url = proxy.url();
    let client = Client::builder()
        .proxy(Proxy::custom(move |url| match url.host_str() {
            Some(host) if host.ends_with(".corp.test") => Some(proxy_url.clone()),
            Some("broken.test") => Some("ftp://nope".to_owned()),
            _ => None,
        }))
        .resolve("direct.test", origin.addr())
        .build()
        .unwrap();
    within(10, client.get("http://app.corp.test/via").send())
        .await
        .unwrap();
    assert_eq!(proxy.seen().len(), 1);
    assert!(proxy.seen()[0].starts_with("GET http://app.corp.test/via HTTP/1.1"));

    let port = origin.addr().port();
    within(
        10,
        client
            .get(format!("http://direct.test:{port}/direct"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(proxy.seen().len(), 1, "None goes direct");
    assert_eq!(origin.last_request().path(), "/direct");

    let err = within(10, client.get("http://broken.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");

    // NoProxy applies to custom proxies too; no_proxy(None) names nothing.
    let proxy_url = proxy.url();
    let client = Client::builder()
        .proxy(
            Proxy::custom(move |_| Some(proxy_url.clone()))
                .no_proxy(NoProxy::from_string("direct.test")),
        )
        .resolve("direct.test", origin.addr())
        .build()
        .unwrap();
    within(
        10,
        client
            .get(format!("http://direct.test:{port}/bypass"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(proxy.seen().len(), 1);
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url()).unwrap().no_proxy(None))
        .build()
        .unwrap();
    within(10, client.get("http://direct.test/proxied").send())
        .await
        .unwrap();
    assert_eq!(proxy.seen().len(), 2);
}

#[tokio::test]
async fn a_refusing_proxy_is_a_connect_error_without_credentials() {
    let proxy = RawServer::reply(
        "HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n",
        Then::Close,
    )
    .await;
    let client = Client::builder()
        .proxy(
            Proxy::all(format!("http://127.0.0.1:{}", proxy.addr().port()))
                .unwrap()
                .basic_auth("alice", "hunter2"),
        )
        .build()
        .unwrap();
    let err = within(10, client.get("https://origin.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let shown = format!("{err:#} {err:?}");
    assert!(shown.contains("407"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("YWxpY2U6aHVudGVyMg"),
        "{shown}"
    );

    // A forwarding proxy's 407 is the response.
    let client = Client::builder()
        .proxy(Proxy::http(format!("http://127.0.0.1:{}", proxy.addr().port())).unwrap())
        .build()
        .unwrap();
    let response = within(10, client.get("http://origin.test/").send())
        .await
        .unwrap();
    assert_eq!(response.status(), 407);
}

#[tokio::test]
async fn no_proxy_from_string_bypasses_the_proxy() {
    // NoProxy::from_env sets environment variables: it is tested alone, in no_proxy_env.rs.
    assert!(NoProxy::from_string("").is_none());
    let no = NoProxy::from_string("a.test").unwrap();
    assert!(format!("{no:?}").contains("a.test"));
    let origin = TestServer::start(|_| async { respond(200, "direct") }).await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url()).unwrap().no_proxy(Some(no)))
        .resolve("sub.a.test", origin.addr())
        .build()
        .unwrap();
    let port = origin.addr().port();
    // b.test goes through the proxy (which forwards to the origin), sub.a.test goes direct (resolved
    // by the override: subdomains match too).
    assert_eq!(
        get_text(&client, &format!("http://b.test:{port}/")).await,
        "direct"
    );
    assert_eq!(proxy.seen().len(), 1);
    assert_eq!(
        get_text(&client, &format!("http://sub.a.test:{port}/")).await,
        "direct"
    );
    assert_eq!(proxy.seen().len(), 1, "sub.a.test bypasses the proxy");
}

/// The proxy at `proxy`, with credentials, for every request.
fn client_via(proxy: &RawServer) -> Client {
    Client::builder()
        .proxy(
            Proxy::all(format!("http://127.0.0.1:{}", proxy.addr().port()))
                .unwrap()
                .basic_auth("alice", "hunter2"),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_407_with_a_body_is_reported_as_407() {
    // Squid's way: the refusal and its HTML page in one write, then the connection held open.
    let page = "<html><body><h1>Cache Access Denied</h1></body></html>";
    let proxy = RawServer::reply(
        format!(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"squid\"\r\n\
             Content-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
            page.len()
        ),
        Then::Hold,
    )
    .await;
    let err = within(10, client_via(&proxy).get("https://origin.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let shown = format!("{err:#}");
    assert!(
        shown.contains("proxy authentication required (407)"),
        "{shown}"
    );
    assert!(!shown.contains("after its CONNECT"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

/// A client that sends `https` through the proxy at `proxy` (with a 1 s connect timeout) and `http`
/// direct, and the URL of a plain origin to check that it still works after the proxy misbehaved.
async fn hostile_proxy_client(proxy: &RawServer) -> (Client, TestServer) {
    let origin = TestServer::start(|_| async { respond(200, "still fine") }).await;
    let client = Client::builder()
        .proxy(Proxy::https(format!("http://127.0.0.1:{}", proxy.addr().port())).unwrap())
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    (client, origin)
}

/// The `https` request through the hostile proxy fails with a connect error (returned), and the
/// client then still serves a direct request.
async fn fails_through_hostile_proxy(proxy: &RawServer) -> courier::Error {
    let (client, origin) = hostile_proxy_client(proxy).await;
    let err = within(10, client.get("https://origin.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(
        within(10, get_text(&client, &origin.url("/"))).await,
        "still fine"
    );
    err
}

#[tokio::test]
async fn an_oversized_connect_reply_head_is_a_connect_error() {
    // A status line and then header lines without end: past the 16 KiB cap the client gives up.
    let mut head = String::from("HTTP/1.1 200 Connection Established\r\n");
    while head.len() < 64 * 1024 {
        head.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let proxy = RawServer::reply(head, Then::Hold).await;
    let err = fails_through_hostile_proxy(&proxy).await;
    assert!(!err.is_timeout(), "{err:?}");
    assert!(format!("{err:#}").contains("head too large"), "{err:#}");
}

#[tokio::test]
async fn bytes_after_a_connect_200_are_a_connect_error() {
    let proxy = RawServer::reply(
        "HTTP/1.1 200 Connection Established\r\n\r\nnot a TLS record",
        Then::Hold,
    )
    .await;
    let err = fails_through_hostile_proxy(&proxy).await;
    assert!(
        format!("{err:#}").contains("proxy sent data after its CONNECT response"),
        "{err:#}"
    );
}

#[tokio::test]
async fn a_silent_proxy_is_a_connect_timeout() {
    // Accepts, reads the CONNECT, never answers.
    let proxy = RawServer::start(|mut stream, _| async move {
        let _ = courier_testkit::read_request_head(&mut stream).await;
        Then::Hold.finish(stream).await;
    })
    .await;
    let err = fails_through_hostile_proxy(&proxy).await;
    assert!(err.is_timeout(), "{err:?}");
}
