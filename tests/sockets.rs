//! Socket options end to end: every request over a Unix socket, `interface` (Linux
//! `SO_BINDTODEVICE`), TCP keepalive knobs and `tcp_user_timeout`, and `connection_verbose` traces.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
#[cfg(target_os = "linux")]
use courier::connect::{BoxedConnector, Connected, Stream};
use courier::Client;
use courier_testkit::client::{get_text, within};
use courier_testkit::{respond, TestServer};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A hyper server on a Unix socket in a fresh directory, answering with the Host header it got
/// (over TLS with `tls`); returns the socket's path and how many connections it accepted.
async fn unix_server(
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (std::path::PathBuf, Arc<Mutex<usize>>) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "courier-unix-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: http::Request<_>| async move {
                    // HTTP/1.1's Host header, or HTTP/2's :authority.
                    let host = match req.headers().get("host") {
                        Some(host) => host.to_str().unwrap().to_owned(),
                        None => req
                            .uri()
                            .authority()
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                    };
                    let mut body = format!("unix {} {host}", req.uri().path());
                    // Any header meant for a proxy is named in the answer.
                    for name in ["proxy-authorization", "x-for-proxy"] {
                        if req.headers().contains_key(name) {
                            body.push_str(&format!(" LEAKED {name}"));
                        }
                    }
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(
                        body,
                    ))))
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    Some(tls) => {
                        if let Ok(stream) = tls.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                }
            });
        }
    });
    (path, accepted)
}

#[tokio::test]
async fn every_request_goes_over_the_unix_socket() {
    let (path, accepted) = unix_server(None).await;
    let client = Client::builder().unix_socket(&path).build().unwrap();
    // The URL's host is only the Host header: nothing is resolved or dialled.
    for (url, expected) in [
        ("http://localhost/a", "unix /a localhost"),
        ("http://api.test:8080/b", "unix /b api.test:8080"),
    ] {
        let response = within(10, client.get(url).send()).await.unwrap();
        assert_eq!(response.remote_addr(), None);
        assert_eq!(response.text().await.unwrap(), expected);
    }
    // One pool key per URL origin; each its own connection over the socket.
    assert_eq!(*accepted.lock().unwrap(), 2);
    within(10, client.get("http://localhost/c").send())
        .await
        .unwrap();
    assert_eq!(*accepted.lock().unwrap(), 2, "reused");

    let missing = path.with_file_name("missing.sock");
    let client = Client::builder().unix_socket(&missing).build().unwrap();
    let err = within(10, client.get("http://localhost/").send())
        .await
        .unwrap_err();
    assert!(err.is_connect() && !err.is_dns(), "{err:?}");
    assert!(format!("{err:#}").contains("missing.sock"), "{err:#}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn no_proxy_credentials_or_headers_reach_the_unix_socket() {
    let (path, accepted) = unix_server(None).await;
    let mut headers = courier::header::HeaderMap::new();
    headers.insert("x-for-proxy", "secret-ish".parse().unwrap());
    let client = Client::builder()
        .unix_socket(&path)
        .proxy(
            courier::Proxy::all("http://user:pw@127.0.0.1:9")
                .unwrap()
                .headers(headers),
        )
        .build()
        .unwrap();
    // http would be forwarded through an HTTP proxy (its credentials on the request): over the socket
    // it goes as a plain request to the socket's server.
    let response = within(10, client.get("http://localhost/p").send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "unix /p localhost");
    assert_eq!(*accepted.lock().unwrap(), 1);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn https_over_the_unix_socket() {
    let certs = courier_testkit::tls::TestCerts::generate(&["localhost"]);
    let (path, _) = unix_server(Some(certs.acceptor(courier_testkit::Protocol::Auto))).await;
    let ca = courier::Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    let client = Client::builder()
        .unix_socket(&path)
        .tls_certs_only([ca])
        .build()
        .unwrap();
    // The URL's host is the TLS server name the certificate is checked against.
    let response = within(10, client.get("https://localhost/s").send())
        .await
        .unwrap();
    assert_eq!(response.version(), courier::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "unix /s localhost");
    let err = within(10, client.get("https://other.test/s").send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(format!("{err:#}").contains("not valid for name"), "{err:#}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn interface_binds_to_the_named_device() {
    let server = TestServer::start(|_| async { respond(200, "via lo") }).await;
    let client = Client::builder().interface("lo").build().unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "via lo");

    let client = Client::builder()
        .interface("courier-nope0")
        .build()
        .unwrap();
    let err = within(10, client.get(server.url("/")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(format!("{err:#}").contains("courier-nope0"), "{err:#}");
    assert_eq!(server.requests().len(), 1);
}

/// A `connector_layer` that reads back the TCP options of every connection it sees.
#[cfg(target_os = "linux")]
#[derive(Clone, Default)]
struct ReadOptions(Arc<Mutex<Vec<SocketOptions>>>);

#[cfg(target_os = "linux")]
#[derive(Debug, PartialEq, Eq)]
struct SocketOptions {
    keepalive: bool,
    time: Duration,
    interval: Duration,
    retries: u32,
    user_timeout: Option<Duration>,
}

#[cfg(target_os = "linux")]
impl tower::Layer<BoxedConnector> for ReadOptions {
    type Service = BoxedConnector;

    fn layer(&self, inner: BoxedConnector) -> BoxedConnector {
        let seen = self.0.clone();
        BoxedConnector::new(tower::ServiceExt::map_response(
            inner,
            move |conn: Connected| {
                if let Stream::Tcp(tcp) = conn.stream() {
                    let socket = socket2::SockRef::from(tcp);
                    seen.lock().unwrap().push(SocketOptions {
                        keepalive: socket.keepalive().unwrap(),
                        time: socket.tcp_keepalive_time().unwrap(),
                        interval: socket.tcp_keepalive_interval().unwrap(),
                        retries: socket.tcp_keepalive_retries().unwrap(),
                        user_timeout: socket.tcp_user_timeout().unwrap(),
                    });
                }
                conn
            },
        ))
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn keepalive_and_user_timeout_options_reach_the_socket() {
    let server = TestServer::start(|_| async { respond(200, "ok") }).await;
    let options = ReadOptions::default();
    let client = Client::builder()
        .tcp_keepalive(Duration::from_secs(30))
        .tcp_keepalive_interval(Duration::from_secs(5))
        .tcp_keepalive_retries(3)
        .tcp_user_timeout(Duration::from_secs(7))
        .connector_layer(options.clone())
        .build()
        .unwrap();
    assert_eq!(within(10, get_text(&client, &server.url("/"))).await, "ok");
    assert_eq!(
        *options.0.lock().unwrap(),
        [SocketOptions {
            keepalive: true,
            time: Duration::from_secs(30),
            interval: Duration::from_secs(5),
            retries: 3,
            user_timeout: Some(Duration::from_secs(7)),
        }]
    );
}

/// Records the message of every event.
#[derive(Clone, Default)]
struct Messages(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Messages {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.lock().unwrap().push(message);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn connection_verbose_traces_reads_and_writes() {
    let messages = Messages::default();
    let _guard = tracing::subscriber::set_default(messages.clone());
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http1)
        .start(|_| async { respond(200, "verbose body") })
        .await;
    let traced = |messages: &Messages| -> Vec<String> {
        messages
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.starts_with("read: ") || m.starts_with("write: "))
            .cloned()
            .collect()
    };

    let quiet = Client::builder().build().unwrap();
    assert_eq!(get_text(&quiet, &server.url("/q")).await, "verbose body");
    assert!(traced(&messages).is_empty());

    let client = Client::builder().connection_verbose(true).build().unwrap();
    assert_eq!(get_text(&client, &server.url("/v")).await, "verbose body");
    let traced = traced(&messages);
    assert!(
        traced
            .iter()
            .any(|m| m.starts_with("write: GET /v HTTP/1.1\\r\\n")),
        "{traced:?}"
    );
    assert!(
        traced
            .iter()
            .any(|m| m.starts_with("read: HTTP/1.1 200 OK\\r\\n") && m.ends_with("verbose body")),
        "{traced:?}"
    );
}
