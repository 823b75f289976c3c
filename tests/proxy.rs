//! Proxies (absolute-form for http, CONNECT tunnels for https, basic auth, no_proxy, environment) and
//! credentials in URLs, against a recording test proxy.

use courier::{Client, Proxy};
use courier_testkit::{echo, redirect, ProxyServer, TestServer};

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
            Proxy::http(&proxy.url())
                .unwrap()
                .basic_auth("Aladdin", "open sesame"),
        )
        .build()
        .unwrap();
    let response = client
        .get("http://origin.test:8080/path?q=1")
        .send()
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
            Proxy::https(&format!(
                "http://user:pa%20ss@127.0.0.1:{}",
                proxy.url().rsplit(':').next().unwrap()
            ))
            .unwrap(),
        )
        .build()
        .unwrap();
    let response = client.get(origin.url("/secure")).send().await.unwrap();
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
    assert_eq!(origin.last_request().path(), "/secure");
}

#[tokio::test]
async fn no_proxy_hosts_bypass_the_proxy() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    let client = Client::builder()
        .proxy(
            Proxy::all(&proxy.url())
                .unwrap()
                .no_proxy("localhost, 127.0.0.1"),
        )
        .build()
        .unwrap();
    client.get(origin.url("/direct")).send().await.unwrap();
    assert!(proxy.seen().is_empty());
    assert_eq!(origin.last_request().path(), "/direct");
}

#[tokio::test]
async fn proxies_are_validated() {
    assert!(Proxy::all("socks5://127.0.0.1:1080")
        .unwrap_err()
        .is_builder());
    assert!(Proxy::all("::nope").unwrap_err().is_builder());
}

#[tokio::test]
async fn environment_proxies_by_default_and_no_proxy_turns_them_off() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    // The only test in this binary that touches the environment; every other one sets proxies explicitly,
    // which ignores the environment.
    std::env::set_var("HTTP_PROXY", proxy.url());
    std::env::set_var("NO_PROXY", "bypass.test");
    let from_env = Client::new();
    let disabled = Client::builder()
        .no_proxy()
        .resolve("bypass.test", origin.addr())
        .build()
        .unwrap();
    let bypass = Client::builder()
        .resolve("bypass.test", origin.addr())
        .build()
        .unwrap();
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");

    from_env.get("http://via-env.test/e").send().await.unwrap();
    assert_eq!(proxy.seen().len(), 1);
    assert!(proxy.seen()[0].starts_with("GET http://via-env.test/e HTTP/1.1"));

    let port = origin.addr().port();
    disabled
        .get(format!("http://bypass.test:{port}/d"))
        .send()
        .await
        .unwrap();
    bypass
        .get(format!("http://bypass.test:{port}/b"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        proxy.seen().len(),
        1,
        "no_proxy() and NO_PROXY both go direct"
    );
    assert_eq!(origin.last_request().path(), "/b");
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

    let response = client
        .get(format!("http://user:p%40ss@127.0.0.1:{port}/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.url().as_str(),
        format!("http://127.0.0.1:{port}/final"),
        "no credentials in the URL"
    );
    assert_eq!(
        origin.last_request().header("authorization"),
        Some("Basic dXNlcjpwQHNz")
    );

    client
        .get(format!("http://user:p%40ss@127.0.0.1:{port}/away"))
        .send()
        .await
        .unwrap();
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
