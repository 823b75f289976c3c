//! Proxies from the environment (`HTTP_PROXY`, `NO_PROXY`), alone in its binary: it sets environment
//! variables, which no other test may read at the same time (`set_var` racing a read is undefined
//! behaviour, and every client built without explicit proxies reads them).

use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{ProxyServer, TestServer};

#[tokio::test]
async fn environment_proxies_by_default_and_no_proxy_turns_them_off() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
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

    within(10, from_env.get("http://via-env.test/e").send())
        .await
        .unwrap();
    assert_eq!(proxy.seen().len(), 1);
    assert!(proxy.seen()[0].starts_with("GET http://via-env.test/e HTTP/1.1"));

    let port = origin.addr().port();
    let url = |path: &str| format!("http://bypass.test:{port}{path}");
    within(10, disabled.get(url("/d")).send()).await.unwrap();
    within(10, bypass.get(url("/b")).send()).await.unwrap();
    assert_eq!(
        proxy.seen().len(),
        1,
        "no_proxy() and NO_PROXY both go direct"
    );
    assert_eq!(origin.last_request().path(), "/b");
}
