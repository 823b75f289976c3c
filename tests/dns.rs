//! DNS end to end: a custom `Resolve`, `resolve` and `resolve_to_addrs` overrides, ports, and
//! `Error::is_dns`. Every name here is answered by the test's own resolver or an override: no test
//! asks a real DNS server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use courier::dns::{Addrs, Name, Resolve, Resolving};
use courier::Client;
use courier_testkit::client::{get_text, within};
use courier_testkit::{respond, TestServer};

/// Answers the names it knows, says no to the rest, and records every name it was asked.
#[derive(Default)]
struct Table {
    known: Vec<(&'static str, Vec<SocketAddr>)>,
    asked: Mutex<Vec<String>>,
}

impl Table {
    fn new(known: Vec<(&'static str, Vec<SocketAddr>)>) -> Arc<Table> {
        Arc::new(Table {
            known,
            asked: Mutex::default(),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Resolve for Table {
    fn resolve(&self, name: Name) -> Resolving {
        self.asked.lock().unwrap().push(name.as_str().to_owned());
        let answer = self
            .known
            .iter()
            .find(|(known, _)| *known == name.as_str())
            .map(|(_, addrs)| addrs.clone());
        Box::pin(async move {
            match answer {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                None => Err(format!("no such host: {}", name.as_str()).into()),
            }
        })
    }
}

async fn named_server(name: &'static str) -> TestServer {
    TestServer::start(move |_| async move { respond(200, name) }).await
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test]
async fn a_custom_resolver_sends_the_request_to_its_address() {
    let server = named_server("app").await;
    let table = Table::new(vec![("app.test", vec![loopback(0)])]);
    let client = Client::builder()
        .dns_resolver(table.clone())
        .build()
        .unwrap();

    // Port 0 from the resolver: the URL's port is used.
    let url = format!("http://APP.test:{}/x", server.addr().port());
    assert_eq!(get_text(&client, &url).await, "app");
    let seen = server.last_request();
    assert_eq!(
        seen.header("host"),
        Some(format!("app.test:{}", server.addr().port()).as_str())
    );
    assert_eq!(table.asked(), vec!["app.test"]);

    // A port from the resolver is used when the URL has none.
    let table = Table::new(vec![("app.test", vec![server.addr()])]);
    let client = Client::builder().dns_resolver(table).build().unwrap();
    assert_eq!(get_text(&client, "http://app.test/").await, "app");
    assert_eq!(server.last_request().header("host"), Some("app.test"));

    // IP literals are never resolved.
    let table = Table::new(vec![]);
    let client = Client::builder()
        .dns_resolver(table.clone())
        .build()
        .unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "app");
    assert!(table.asked().is_empty());
}

#[tokio::test]
async fn an_unknown_name_is_a_dns_error_and_a_refused_port_is_not() {
    let table = Table::new(vec![("empty.test", vec![])]);
    let client = Client::builder()
        .dns_resolver(table.clone())
        .build()
        .unwrap();
    for url in ["http://nowhere.test/", "https://empty.test:8443/"] {
        let err = within(10, client.get(url).send()).await.unwrap_err();
        assert!(err.is_dns(), "{url}: {err:?}");
        assert!(err.is_connect(), "{url}: {err:?}");
        assert!(!err.is_timeout());
        assert_eq!(err.url().unwrap().as_str(), url);
        assert!(format!("{err:#}").starts_with(&format!(
            "error resolving a host name for url ({url}): dns lookup of"
        )));
    }
    assert_eq!(table.asked(), vec!["nowhere.test", "empty.test"]);

    let url = format!("http://127.0.0.1:{}/", closed_port().port());
    let err = within(10, client.get(&url).send()).await.unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err:?}");
}

#[tokio::test]
async fn resolve_to_addrs_tries_each_address_and_overrides_come_first() {
    let server = named_server("override").await;
    // The resolver would say no: the override answers before it is asked.
    let table = Table::new(vec![]);
    let client = Client::builder()
        .dns_resolver(table.clone())
        .resolve_to_addrs("multi.test", &[closed_port(), server.addr()])
        .build()
        .unwrap();
    assert_eq!(
        within(10, get_text(&client, "http://multi.test/")).await,
        "override"
    );
    assert_eq!(server.connections(), 1);
    assert!(table.asked().is_empty());
}

#[tokio::test]
async fn resolve_replaces_the_earlier_addresses_of_a_host() {
    let live = named_server("live").await;
    let dead = closed_port();

    // The later call wins: only the dead address is left.
    let client = Client::builder()
        .resolve("swap.test", live.addr())
        .resolve("SWAP.test", dead)
        .build()
        .unwrap();
    let err = within(10, client.get("http://swap.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err:?}");
    assert_eq!(live.connections(), 0);

    let client = Client::builder()
        .resolve("swap.test", dead)
        .resolve("swap.test", live.addr())
        .build()
        .unwrap();
    assert_eq!(get_text(&client, "http://swap.test/").await, "live");

    // Port 0 in an override means the URL's port.
    let client = Client::builder()
        .resolve("swap.test", loopback(0))
        .build()
        .unwrap();
    let url = format!("http://swap.test:{}/", live.addr().port());
    assert_eq!(get_text(&client, &url).await, "live");
}

#[cfg(not(feature = "hickory-dns"))]
#[test]
fn hickory_dns_without_its_feature_is_a_builder_error() {
    let err = Client::builder().hickory_dns(true).build().unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(format!("{err:#}").contains("hickory-dns"), "{err:#}");
    Client::builder().no_hickory_dns().build().unwrap();
}

/// hickory-resolver answers `localhost` itself (RFC 6761), so this asks no DNS server.
#[cfg(feature = "hickory-dns")]
#[tokio::test]
async fn hickory_dns_resolves_localhost_itself() {
    let server = named_server("hickory").await;
    let client = Client::builder().hickory_dns(true).build().unwrap();
    let url = format!("http://localhost:{}/", server.addr().port());
    let response = within(10, client.get(&url).send()).await.unwrap();
    assert_eq!(response.remote_addr(), Some(server.addr()));
    assert_eq!(response.text().await.unwrap(), "hickory");
}
