//! Proxies from the environment (`HTTP_PROXY`, `NO_PROXY`), alone in its binary: it sets environment
//! variables, which no other test may read at the same time (`set_var` racing a read is undefined
//! behaviour, and every client built without explicit proxies reads them). Also: over a Unix socket,
//! the environment's proxy and its credentials are not used.

use std::sync::{Arc, Mutex};

use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{ProxyServer, TestServer};

#[tokio::test]
async fn environment_proxies_by_default_and_no_proxy_turns_them_off() {
    let origin = TestServer::echo().await;
    let proxy = ProxyServer::start(origin.addr()).await;
    // Credentials in the variable: they must never reach a Unix socket's server.
    std::env::set_var(
        "HTTP_PROXY",
        proxy.url().replace("http://", "http://user:pw@"),
    );
    std::env::set_var("NO_PROXY", "bypass.test");
    let from_env = Client::new();
    let (socket, heads) = unix_server();
    let over_socket = Client::builder().unix_socket(&socket).build().unwrap();
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

    // With unix_socket, the environment's proxy is not used, and its credentials not sent.
    let response = within(10, over_socket.get("http://via-socket.test/u").send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "ok");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    assert!(heads[0].starts_with("GET /u HTTP/1.1\r\n"), "{}", heads[0]);
    assert!(
        !heads[0]
            .to_ascii_lowercase()
            .contains("proxy-authorization"),
        "{}",
        heads[0]
    );
    assert_eq!(proxy.seen().len(), 1);
    let _ = std::fs::remove_dir_all(socket.parent().unwrap());
}

/// A Unix socket server answering `ok` to each request and recording its head.
fn unix_server() -> (std::path::PathBuf, Arc<Mutex<Vec<String>>>) {
    let dir = std::env::temp_dir().join(format!("courier-proxy-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                while let Ok(head) = courier_testkit::read_request_head(&mut stream).await {
                    if !head.ends_with("\r\n\r\n") {
                        break; // the client closed the connection
                    }
                    log.lock().unwrap().push(head);
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (path, heads)
}
