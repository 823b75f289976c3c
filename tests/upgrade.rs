//! `Response::upgrade`: a real WebSocket handshake and echo (tokio-tungstenite on both sides) over a
//! connection Courier's transport opened, against an in-process hyper server that upgrades.

use std::convert::Infallible;

use bytes::Bytes;
use courier::Client;
use courier_testkit::client::within;
use courier_testkit::tls::TestCerts;
use courier_testkit::Protocol;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A WebSocket echo server on `/ws`; any other path is a plain 200.
async fn websocket_server() -> std::net::SocketAddr {
    websocket_server_on(None).await
}

/// [`websocket_server`], over TLS with `tls`: offering HTTP/2 and HTTP/1.1 in ALPN as most servers
/// do, each path answered over both (a request seen over HTTP/2 is a plain 200 naming its version).
async fn websocket_server_on(tls: Option<TestCerts>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(|certs| certs.acceptor(Protocol::Auto));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = service_fn(
                    |mut req: hyper::Request<hyper::body::Incoming>| async move {
                        if req.uri().path() != "/ws" || req.version() == hyper::Version::HTTP_2 {
                            let mut plain = hyper::Response::new(Empty::<Bytes>::new());
                            let version = format!("{:?}", req.version());
                            plain
                                .headers_mut()
                                .insert("x-version", version.parse().unwrap());
                            return Ok::<_, Infallible>(plain);
                        }
                        let key = req.headers()["sec-websocket-key"].clone();
                        let on_upgrade = hyper::upgrade::on(&mut req);
                        tokio::spawn(async move {
                            let upgraded = TokioIo::new(on_upgrade.await.unwrap());
                            let mut ws =
                                WebSocketStream::from_raw_socket(upgraded, Role::Server, None)
                                    .await;
                            while let Some(Ok(message)) = ws.next().await {
                                if message.is_close() {
                                    break;
                                }
                                ws.send(message).await.unwrap();
                            }
                        });
                        let response = hyper::Response::builder()
                            .status(101)
                            .header("connection", "Upgrade")
                            .header("upgrade", "websocket")
                            .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
                            .body(Empty::<Bytes>::new())
                            .unwrap();
                        Ok(response)
                    },
                );
                let server = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = match acceptor {
                    None => {
                        server
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        server
                            .serve_connection_with_upgrades(TokioIo::new(tls), service)
                            .await
                    }
                };
            });
        }
    });
    addr
}

/// Sends a WebSocket handshake to `url`, checks the answer, and echoes two messages through it; the
/// stream is the caller's after that.
async fn handshake_and_echo(client: &Client, url: &str) -> WebSocketStream<courier::Upgraded> {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let response = within(
        10,
        client
            .get(url)
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", key)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 101, "{:?}", response.headers());
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        derive_accept_key(key.as_bytes())
    );
    let upgraded = within(10, response.upgrade()).await.unwrap();
    let mut ws = WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await;
    for text in ["hello", "through courier"] {
        within(10, ws.send(Message::text(text))).await.unwrap();
        let echoed = within(10, ws.next()).await.unwrap().unwrap();
        assert_eq!(echoed, Message::text(text));
    }
    ws
}

#[tokio::test]
async fn a_websocket_handshake_and_echo_through_an_upgraded_connection() {
    let addr = websocket_server().await;
    let client = Client::new();
    let mut ws = handshake_and_echo(&client, &format!("http://{addr}/ws")).await;
    within(10, ws.send(Message::binary(vec![0u8, 1, 2, 255])))
        .await
        .unwrap();
    let echoed = within(10, ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed.into_data().as_ref(), &[0u8, 1, 2, 255]);

    // The upgraded connection left the pool: the client still works, on a new connection.
    let plain = within(10, client.get(format!("http://{addr}/plain")).send())
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert!(!plain.connection_info().unwrap().reused());
}

#[tokio::test]
async fn upgrading_a_response_that_did_not_switch_is_an_upgrade_error() {
    let addr = websocket_server().await;
    let response = within(10, Client::new().get(format!("http://{addr}/plain")).send())
        .await
        .unwrap();
    let err = response.upgrade().await.unwrap_err();
    assert!(err.is_upgrade(), "{err:?}");
    assert!(format!("{err:#}").contains("200 OK"), "{err:#}");
}

/// A `CONNECT` answered `200` opens a tunnel: `upgrade()` hands it over, and the bytes written are
/// the server's to answer (here an echo), as with reqwest.
#[tokio::test]
async fn a_connect_tunnel_is_handed_over_by_upgrade() {
    use tokio::io::AsyncWriteExt;
    let server = courier_testkit::RawServer::start(|mut stream, _| async move {
        let head = courier_testkit::read_request_head(&mut stream)
            .await
            .unwrap();
        assert!(head.starts_with("CONNECT 127.0.0.1:"), "{head}");
        stream
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .unwrap();
        echo_until_closed(stream).await;
    })
    .await;
    let client = Client::builder().no_proxy().build().unwrap();
    connect_and_ping(&client, &server.url("/")).await;
}

/// Sends a `CONNECT` to `url`, upgrades its `200` and checks the echo of a ping through the tunnel;
/// returns the tunnel.
async fn connect_and_ping(client: &Client, url: &str) -> courier::Upgraded {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let response = within(10, client.request(http::Method::CONNECT, url).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut tunnel = within(10, response.upgrade()).await.unwrap();
    within(10, tunnel.write_all(b"ping")).await.unwrap();
    let mut echoed = [0u8; 4];
    within(10, tunnel.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"ping");
    tunnel
}

/// Writes back whatever `io` reads until it ends.
async fn echo_until_closed<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut io: S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 64];
    while let Ok(n) = io.read(&mut buf).await {
        if n == 0 || io.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// An HTTP/2 `CONNECT` tunnel is a stream that stays open: while the caller holds it, it counts
/// against the server's stream limit (here one), so a plain request goes to a second connection
/// instead of queueing behind the tunnel forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_tunnel_keeps_its_stream_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn({
        let connections = connections.clone();
        async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = service_fn(
                        |mut req: hyper::Request<hyper::body::Incoming>| async move {
                            if req.method() == hyper::Method::CONNECT {
                                let on_upgrade = hyper::upgrade::on(&mut req);
                                tokio::spawn(async move {
                                    echo_until_closed(TokioIo::new(on_upgrade.await.unwrap()))
                                        .await;
                                });
                            }
                            Ok::<_, Infallible>(hyper::Response::new(Empty::<Bytes>::new()))
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .max_concurrent_streams(1)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                });
            }
        }
    });
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let tunnel = connect_and_ping(&client, &format!("http://{addr}/")).await;

    let plain = within(5, client.get(format!("http://{addr}/plain")).send())
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    drop(tunnel);
}

/// A `CONNECT`'s request target is always `host:port` (RFC 9110 §9.3.6), the scheme's default port
/// included, and never carries the URL's credentials.
#[tokio::test]
async fn a_connect_target_always_names_host_and_port() {
    let proxy = courier_testkit::RawServer::start(|mut stream, _| async move {
        let head = courier_testkit::read_request_head(&mut stream)
            .await
            .unwrap();
        let line = head.lines().next().unwrap_or_default().to_owned();
        let _ = tokio::io::AsyncWriteExt::write_all(
            &mut stream,
            format!("HTTP/1.1 200 OK\r\nx-request-line: {line}\r\n\r\n").as_bytes(),
        )
        .await;
    })
    .await;
    let client = Client::builder()
        .proxy(courier::Proxy::http(proxy.url("/")).unwrap())
        .build()
        .unwrap();
    for (url, line) in [
        ("http://dest.test/", "CONNECT dest.test:80 HTTP/1.1"),
        (
            "http://ada:pw@dest.test:8080/",
            "CONNECT dest.test:8080 HTTP/1.1",
        ),
    ] {
        let response = within(10, client.request(http::Method::CONNECT, url).send())
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-line"], line);
    }
}

/// HTTP/2 has no `Upgrade` (RFC 9113 8.2.2): over TLS to a server offering h2, a handshake goes on a
/// connection of its own that offers only HTTP/1.1, directly and through a `CONNECT` tunnel, while
/// the client's other requests still speak HTTP/2. (hyper would drop the header and send a plain GET.)
#[tokio::test]
async fn a_websocket_handshake_over_tls_speaks_http1_to_a_server_offering_h2() {
    let certs = TestCerts::generate(&["localhost"]);
    let addr = websocket_server_on(Some(certs.clone())).await;
    let url = |path: &str| format!("https://localhost:{}{path}", addr.port());
    let proxy = courier_testkit::ProxyServer::start(addr).await;
    let ca = courier::Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    let direct = Client::builder()
        .tls_certs_only([ca.clone()])
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let tunnelled = Client::builder()
        .tls_certs_only([ca])
        .proxy(courier::Proxy::all(proxy.url()).unwrap())
        .build()
        .unwrap();
    for client in [&direct, &tunnelled] {
        let plain = within(10, client.get(url("/plain")).send()).await.unwrap();
        assert_eq!(plain.version(), courier::Version::HTTP_2);
        assert_eq!(plain.headers()["x-version"], "HTTP/2.0");
        handshake_and_echo(client, &url("/ws")).await;
        // And HTTP/2 again, on the first connection.
        let plain = within(10, client.get(url("/plain")).send()).await.unwrap();
        assert_eq!(plain.version(), courier::Version::HTTP_2);
        assert!(plain.connection_info().unwrap().reused());
    }
    assert_eq!(proxy.connects(), 2);
}

/// With HTTP/2 by prior knowledge there is no HTTP/1.1 connection to send an upgrade on: an error
/// saying so, the request never sent.
#[tokio::test]
async fn an_upgrade_with_http2_prior_knowledge_is_a_request_error() {
    let addr = websocket_server().await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let err = within(
        10,
        client
            .get(format!("http://{addr}/ws"))
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert!(
        format!("{err:#}").contains("cannot be sent with http2_prior_knowledge"),
        "{err:#}"
    );
    let plain = within(10, client.get(format!("http://{addr}/plain")).send())
        .await
        .unwrap();
    assert_eq!(plain.headers()["x-version"], "HTTP/2.0");
}

/// A connector layer that runs the connect on another task loses the transport's choice of ALPN
/// (a task-local): an upgrade's connection then offers HTTP/2, which it cannot use. A connect error
/// that says so, and that connection is not kept for the next upgrade; other requests still work.
#[tokio::test]
async fn an_upgrade_through_a_connector_layer_that_spawns_fails_clearly() {
    use tower::Service as _;
    let certs = TestCerts::generate(&["localhost"]);
    let addr = websocket_server_on(Some(certs.clone())).await;
    let ca = courier::Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    let client = Client::builder()
        .tls_certs_only([ca])
        .resolve("localhost", addr)
        .connector_layer(tower::layer::layer_fn(
            |inner: courier::connect::BoxedConnector| {
                tower::service_fn(move |uri: http::Uri| {
                    let mut inner = inner.clone();
                    async move {
                        tokio::spawn(async move { inner.call(uri).await })
                            .await
                            .unwrap()
                    }
                })
            },
        ))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/ws", addr.port());
    for _ in 0..2 {
        let err = within(
            10,
            client
                .get(&url)
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .send(),
        )
        .await
        .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert!(format!("{err:#}").contains("connector_layer"), "{err:#}");
    }
    let plain = within(10, client.get(&url).send()).await.unwrap();
    assert_eq!(plain.headers()["x-version"], "HTTP/2.0");
    let stats = client.pool_stats();
    assert!(
        stats
            .hosts
            .iter()
            .all(|h| !h.host.ends_with("http/1.1") || h.open == 0),
        "{stats:?}"
    );
}
