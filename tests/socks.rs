//! SOCKS proxies end to end (feature `socks`), through the testkit's SOCKS server: SOCKS5 with the
//! client resolving and with the proxy resolving (socks5h), with and without a password, SOCKS4 and
//! SOCKS4a, https inside the SOCKS connection, addresses tried in order, and hostile proxies. Names
//! are resolved by overrides, the test's own resolver, or the proxy's table: never by DNS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use courier::dns::{Name, Resolve, Resolving};
use courier::{Client, Proxy};
use courier_testkit::client::{get_text, trusting, within};
use courier_testkit::socks::{SocksRequest, SocksServer, SocksTarget};
use courier_testkit::{echo, respond, TestServer};

/// A resolver that answers no name: with socks5h/socks4a, the client must not resolve.
struct NoNames;

impl Resolve for NoNames {
    fn resolve(&self, name: Name) -> Resolving {
        let message = format!("the client was asked to resolve {}", name.as_str());
        Box::pin(async move { Err(message.into()) })
    }
}

async fn origin() -> TestServer {
    TestServer::start(|req| async move {
        match req.header("proxy-authorization") {
            Some(_) => respond(500, "proxy credentials reached the origin"),
            None => respond(200, format!("origin saw {}", req.path())),
        }
    })
    .await
}

fn table(name: &str, addr: SocketAddr) -> HashMap<String, SocketAddr> {
    HashMap::from([(name.to_owned(), addr)])
}

#[tokio::test]
async fn socks5_with_the_client_resolving() {
    let origin = origin().await;
    let proxy = SocksServer::start(HashMap::new(), None).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url("socks5")).unwrap())
        .resolve("origin.test", origin.addr())
        .build()
        .unwrap();
    let text = within(10, get_text(&client, "http://origin.test/a")).await;
    assert_eq!(text, "origin saw /a");
    assert_eq!(
        proxy.seen(),
        vec![SocksRequest {
            version: 5,
            target: SocksTarget::Addr(origin.addr()),
            auth: None,
        }]
    );
    // Not a forwarding proxy: the origin gets an origin-form request with its own Host.
    assert_eq!(origin.last_request().header("host"), Some("origin.test"));
}

#[tokio::test]
async fn socks5h_and_socks4a_let_the_proxy_resolve() {
    let origin = origin().await;
    let port = origin.addr().port();
    let proxy = SocksServer::start(table("far.test", origin.addr()), None).await;
    for (scheme, version) in [("socks5h", 5), ("socks4a", 4)] {
        let client = Client::builder()
            .proxy(Proxy::all(proxy.url(scheme)).unwrap())
            .dns_resolver(Arc::new(NoNames))
            .build()
            .unwrap();
        let url = format!("http://far.test:{port}/{scheme}");
        let text = within(10, get_text(&client, &url)).await;
        assert_eq!(text, format!("origin saw /{scheme}"));
        assert_eq!(
            proxy.seen().last().unwrap(),
            &SocksRequest {
                version,
                target: SocksTarget::Domain("far.test".into(), port),
                auth: None,
            }
        );
    }
}

#[tokio::test]
async fn socks4_sends_an_ipv4_address() {
    let origin = origin().await;
    let proxy = SocksServer::start(HashMap::new(), None).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url("socks4")).unwrap())
        .resolve("v4.test", origin.addr())
        .build()
        .unwrap();
    assert_eq!(
        within(10, get_text(&client, "http://v4.test/4")).await,
        "origin saw /4"
    );
    assert_eq!(proxy.seen()[0].target, SocksTarget::Addr(origin.addr()));
    assert_eq!(proxy.seen()[0].version, 4);
    assert_eq!(proxy.seen()[0].auth, None);

    // A user name goes as SOCKS4's user id, as curl sends it.
    let port = proxy.url("x").rsplit(':').next().unwrap().to_owned();
    let client = Client::builder()
        .proxy(Proxy::all(format!("socks4://alice@127.0.0.1:{port}")).unwrap())
        .resolve("v4.test", origin.addr())
        .build()
        .unwrap();
    assert_eq!(
        within(10, get_text(&client, "http://v4.test/4")).await,
        "origin saw /4"
    );
    assert_eq!(proxy.seen()[1].auth, Some(("alice".into(), String::new())));
}

/// A user name with no password (an isolation tag, `socks5h://anon@...`): the proxy that asks for no
/// authentication is used, rather than every request failing before a byte is sent.
#[tokio::test]
async fn socks5_with_a_user_name_and_no_password_offers_no_authentication() {
    let origin = origin().await;
    let port = origin.addr().port();
    let proxy = SocksServer::start(table("far.test", origin.addr()), None).await;
    let proxy_port = proxy.url("x").rsplit(':').next().unwrap().to_owned();
    let client = Client::builder()
        .proxy(Proxy::all(format!("socks5h://anon@127.0.0.1:{proxy_port}")).unwrap())
        .build()
        .unwrap();
    assert_eq!(
        within(
            10,
            get_text(&client, &format!("http://far.test:{port}/anon"))
        )
        .await,
        "origin saw /anon"
    );
    assert_eq!(proxy.seen().len(), 1);
    assert_eq!(proxy.seen()[0].auth, None);
}

#[tokio::test]
async fn socks5_with_a_password() {
    let origin = origin().await;
    let port = origin.addr().port();
    let proxy =
        SocksServer::start(table("far.test", origin.addr()), Some(("alice", "s3cret"))).await;
    let url = format!("http://far.test:{port}/auth");

    // In the URL, or with basic_auth.
    let with_url = Proxy::all(format!(
        "socks5h://alice:s3cret@127.0.0.1:{}",
        proxy.url("x").rsplit(':').next().unwrap()
    ))
    .unwrap();
    let with_basic = Proxy::all(proxy.url("socks5h"))
        .unwrap()
        .basic_auth("alice", "s3cret");
    for proxy_config in [with_url, with_basic] {
        assert!(!format!("{proxy_config:?}").contains("s3cret"));
        let client = Client::builder().proxy(proxy_config).build().unwrap();
        assert_eq!(
            within(10, get_text(&client, &url)).await,
            "origin saw /auth"
        );
    }
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2);
    for request in seen {
        assert_eq!(request.auth, Some(("alice".into(), "s3cret".into())));
    }

    // A wrong password, or none: a connect error that does not show the password, and that a
    // retry policy does not repeat (the proxy would refuse the login again).
    for proxy_config in [
        Proxy::all(proxy.url("socks5h"))
            .unwrap()
            .basic_auth("alice", "wrong-pw"),
        Proxy::all(proxy.url("socks5h")).unwrap(),
    ] {
        let client = Client::builder()
            .proxy(proxy_config)
            .retry(quick_retries())
            .build()
            .unwrap();
        let before = proxy.connections();
        let err = within(10, client.get(&url).send()).await.unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(err.fate(), None, "{err:?}");
        assert_eq!(proxy.connections(), before + 1);
        let shown = format!("{err:#} {err:?}");
        assert!(shown.contains("SOCKS"), "{shown}");
        assert!(
            !shown.contains("wrong-pw") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
    assert_eq!(proxy.seen().len(), 2, "no CONNECT without authentication");
}

#[tokio::test]
async fn https_inside_socks5h() {
    let origin = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    let proxy = SocksServer::start(table("localhost", origin.addr()), None).await;
    let client = trusting(&origin)
        .proxy(Proxy::all(proxy.url("socks5h")).unwrap())
        .dns_resolver(Arc::new(NoNames))
        .build()
        .unwrap();
    let response = within(10, client.get(origin.url("/tls")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), courier::Version::HTTP_2);
    assert_eq!(
        proxy.seen()[0].target,
        SocksTarget::Domain("localhost".into(), origin.addr().port())
    );
}

#[tokio::test]
async fn a_socks_proxy_that_cannot_reach_the_destination_is_a_connect_error() {
    let proxy = SocksServer::start(HashMap::new(), None).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url("socks5h")).unwrap())
        .build()
        .unwrap();
    let err = within(10, client.get("http://unknown.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err:?}");
    assert_eq!(proxy.seen().len(), 1);
}

#[tokio::test]
async fn a_host_name_too_long_for_socks_is_a_connect_error_and_nothing_is_sent() {
    let proxy = SocksServer::start(HashMap::new(), None).await;
    // Labels of 60 bytes: a valid URL host of 305 or 610 bytes.
    for labels in [5, 10] {
        let host = format!("{}test", format!("{}.", "a".repeat(60)).repeat(labels));
        for scheme in ["socks5h", "socks4a"] {
            let client = Client::builder()
                .proxy(Proxy::all(proxy.url(scheme)).unwrap())
                .dns_resolver(Arc::new(NoNames))
                .build()
                .unwrap();
            let err = within(10, client.get(format!("http://{host}/")).send())
                .await
                .unwrap_err();
            assert!(err.is_connect(), "{scheme}, {} bytes: {err:?}", host.len());
            assert!(
                format!("{err:#}").contains("longer than the 255 a SOCKS request can carry"),
                "{err:#}"
            );
        }
    }
    assert_eq!(proxy.seen(), vec![]);
}

#[tokio::test]
async fn socks5h_sends_an_address_literal_as_an_address() {
    let origin = origin().await;
    let proxy = SocksServer::start(HashMap::new(), None).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url("socks5h")).unwrap())
        .dns_resolver(Arc::new(NoNames))
        .build()
        .unwrap();
    let url = format!("http://{}/lit", origin.addr());
    assert_eq!(within(10, get_text(&client, &url)).await, "origin saw /lit");
    assert_eq!(
        proxy.seen().last().unwrap().target,
        SocksTarget::Addr(origin.addr())
    );
}

#[tokio::test]
async fn socks4_with_only_an_ipv6_address_is_a_connect_error() {
    let proxy = SocksServer::start(HashMap::new(), None).await;
    let client = Client::builder()
        .proxy(Proxy::all(proxy.url("socks4")).unwrap())
        .resolve("v6only.test", "[::1]:8080".parse().unwrap())
        .build()
        .unwrap();
    let err = within(10, client.get("http://v6only.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err:?}");
    assert!(format!("{err:#}").contains("IPv4 only"), "{err:#}");
    assert!(proxy.seen().is_empty(), "nothing to ask the proxy for");
}

#[tokio::test]
async fn resolved_here_every_address_is_tried_in_order() {
    let origin = origin().await;
    // Nothing listens here: the proxy fails to reach it and says so.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let proxy = SocksServer::start(HashMap::new(), None).await;
    for scheme in ["socks4", "socks5"] {
        let client = Client::builder()
            .proxy(Proxy::all(proxy.url(scheme)).unwrap())
            .resolve_to_addrs("two.test", &[closed, origin.addr()])
            .build()
            .unwrap();
        assert_eq!(
            within(10, get_text(&client, "http://two.test/both")).await,
            "origin saw /both"
        );
    }
    let targets: Vec<_> = proxy.seen().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [closed, origin.addr(), closed, origin.addr()].map(SocksTarget::Addr)
    );
}

/// A SOCKS5 proxy that accepts "no authentication", reads the CONNECT request, then answers `reply`
/// and holds the connection (or closes it, with `close`).
async fn hostile_socks5(reply: &'static [u8], close: bool) -> courier_testkit::RawServer {
    courier_testkit::RawServer::start(move |mut stream, _| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut greeting = [0u8; 3];
        if stream.read_exact(&mut greeting).await.is_err() {
            return;
        }
        let _ = stream.write_all(&[0x05, 0x00]).await;
        let mut request = [0u8; 512];
        let _ = stream.read(&mut request).await;
        let _ = stream.write_all(reply).await;
        let then = if close {
            courier_testkit::Then::Close
        } else {
            courier_testkit::Then::Hold
        };
        then.finish(stream).await;
    })
    .await
}

/// `https` through the hostile SOCKS proxy fails with a connect error (returned, no hang); the client
/// then still serves a direct `http` request.
async fn fails_through_hostile_socks(proxy: &courier_testkit::RawServer) -> courier::Error {
    let origin = origin().await;
    let client = Client::builder()
        .proxy(Proxy::https(format!("socks5h://127.0.0.1:{}", proxy.addr().port())).unwrap())
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let err = within(10, client.get("https://dest.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        within(10, get_text(&client, &origin.url("/after"))).await,
        "origin saw /after"
    );
    err
}

#[tokio::test]
async fn a_socks5_reply_with_the_wrong_version_is_a_connect_error() {
    let proxy = hostile_socks5(&[0x04, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 80], false).await;
    let err = fails_through_hostile_socks(&proxy).await;
    let shown = format!("{err:#}");
    assert!(
        shown.contains("SOCKS proxy handshake failed")
            && shown.contains("Invalid response version"),
        "{shown}"
    );
}

/// Retries with no waiting to speak of.
fn quick_retries() -> courier::retry::RetryPolicy {
    courier::retry::RetryPolicy::new().backoff(
        std::time::Duration::from_millis(1),
        std::time::Duration::from_millis(5),
    )
}

/// A proxy's rules refusing the destination (SOCKS5 reply 0x02) will refuse it again: not retried.
/// A proxy failing to reach it (0x01, a general failure) may do better next time: retried.
#[tokio::test]
async fn a_socks_refusal_by_rule_is_not_retried_and_a_failure_is() {
    for (reply, tries) in [
        (&[0x05, 0x02, 0x00, 0x01, 127, 0, 0, 1, 0, 80], 1),
        (&[0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80], 4),
    ] {
        let proxy = hostile_socks5(reply, true).await;
        let client = Client::builder()
            .proxy(Proxy::all(format!("socks5h://127.0.0.1:{}", proxy.addr().port())).unwrap())
            .retry(quick_retries().max_retries(3))
            .build()
            .unwrap();
        let err = within(10, client.get("http://dest.test/").send())
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(proxy.connections(), tries, "{err:#}");
    }
}

#[tokio::test]
async fn a_socks_reply_cut_short_is_a_connect_error() {
    // Version, success, reserved, IPv4 … and then the proxy hangs up.
    let proxy = hostile_socks5(&[0x05, 0x00, 0x00, 0x01, 127], true).await;
    let err = fails_through_hostile_socks(&proxy).await;
    let shown = format!("{err:#}");
    assert!(shown.contains("SOCKS proxy handshake failed"), "{shown}");
    assert!(!shown.contains("Invalid response version"), "{shown}");
}
