//! Code written for reqwest 0.12 compiles against Courier after `use courier as reqwest;` and behaves
//! as it did: the builder methods, future and stream shapes, conversions and encodings such code
//! relies on, each used as reqwest's documentation uses it, against loopback servers.

use courier as reqwest;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use courier_testkit::client::within;
use courier_testkit::{echo, full, redirect, respond, RawServer, TestServer, Then};
use futures_util::StreamExt;
use reqwest::redirect::Policy;
use reqwest::{Client, IntoUrl, ResponseBuilderExt, StatusCode};

fn assert_send_sync_unpin<T: Send + Sync + Unpin>(value: T) -> T {
    value
}

/// The `Accept-Encoding` a client sends.
async fn accept_encoding(builder: reqwest::ClientBuilder) -> Option<String> {
    let server = TestServer::echo().await;
    let client = builder.build().unwrap();
    within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    server
        .last_request()
        .header("accept-encoding")
        .map(str::to_owned)
}

#[tokio::test]
async fn no_gzip_and_friends_take_their_coding_out_of_accept_encoding() {
    assert_eq!(
        accept_encoding(Client::builder()).await.as_deref(),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(
        accept_encoding(Client::builder().no_gzip())
            .await
            .as_deref(),
        Some("deflate, br, zstd")
    );
    assert_eq!(
        accept_encoding(Client::builder().no_brotli().no_zstd())
            .await
            .as_deref(),
        Some("gzip, deflate")
    );
    assert_eq!(
        accept_encoding(
            Client::builder()
                .no_gzip()
                .no_deflate()
                .no_brotli()
                .no_zstd()
        )
        .await,
        None
    );
}

#[tokio::test]
async fn spaces_after_a_header_name_are_refused_unless_allowed() {
    let server = RawServer::reply(
        "HTTP/1.1 200 OK\r\nFoo : bar\r\nContent-Length: 2\r\n\r\nok",
        Then::Close,
    )
    .await;

    let strict = Client::new();
    let err = within(10, strict.get(server.url("/")).send())
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");

    let lenient = Client::builder()
        .http1_allow_spaces_after_header_name_in_responses(true)
        .build()
        .unwrap();
    let response = within(10, lenient.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.headers()["foo"], "bar");
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[cfg(not(feature = "hickory-dns"))]
#[test]
fn trust_dns_is_hickory_dns_by_its_old_name() {
    let err = Client::builder().trust_dns(true).build().unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(format!("{err:#}").contains("hickory-dns"), "{err:#}");
    Client::builder().no_trust_dns().build().unwrap();
}

/// With the feature, hickory-resolver is the default resolver, as in reqwest.
#[cfg(feature = "hickory-dns")]
#[tokio::test]
async fn hickory_dns_is_the_default_with_its_feature() {
    let debug = format!("{:?}", reqwest::Client::builder());
    assert!(debug.contains("hickory_dns: true"), "{debug}");
    let debug = format!("{:?}", reqwest::Client::builder().no_trust_dns());
    assert!(debug.contains("hickory_dns: false"), "{debug}");
    // hickory-resolver answers `localhost` itself, asking no DNS server.
    let server = TestServer::start(|_| async { respond(200, "hickory") }).await;
    let url = format!("http://localhost:{}/", server.addr().port());
    let response = within(10, Client::new().get(url).send()).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "hickory");
}

#[tokio::test]
async fn the_webpki_and_native_root_switches_choose_the_roots() {
    let server = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "tls") })
        .await;
    let ca = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
    let url = server.url("/");

    // The Mozilla and system roots know nothing of the test CA...
    let roots_only = Client::builder()
        .tls_built_in_webpki_certs(true)
        .tls_built_in_native_certs(true)
        .build()
        .unwrap();
    let err = within(10, roots_only.get(&url).send()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(
        format!("{err:#}").to_lowercase().contains("certificate"),
        "{err:#}"
    );

    // ... and trust it once it is added to them.
    for client in [
        Client::builder()
            .tls_built_in_webpki_certs(true)
            .add_root_certificate(ca.clone()),
        Client::builder()
            .tls_built_in_native_certs(true)
            .add_root_certificate(ca.clone()),
    ] {
        let client = client.build().unwrap();
        let response = within(10, client.get(&url).send()).await.unwrap();
        assert_eq!(response.text().await.unwrap(), "tls");
    }
}

/// Answers every name with one address.
struct Everything(std::net::SocketAddr);

impl reqwest::dns::Resolve for Everything {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addr = self.0;
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs) })
    }
}

#[tokio::test]
async fn dns_resolver2_takes_a_resolver() {
    let server = TestServer::echo().await;
    let client = Client::builder()
        .dns_resolver2(Everything(server.addr()))
        .build()
        .unwrap();
    let url = format!("http://api.test:{}/resolved", server.addr().port());
    let response = within(10, client.get(url).send()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.last_request().path(), "/resolved");
    assert_eq!(
        server.last_request().header("host"),
        Some(&*format!("api.test:{}", server.addr().port()))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_takes_an_arc_path() {
    use tokio::io::AsyncWriteExt;

    let dir = std::env::temp_dir().join(format!("courier-reqwest-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: Arc<Path> = dir.join("uds.sock").into();
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = courier_testkit::read_request_head(&mut stream).await;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nunix")
                .await;
        }
    });
    let client = Client::builder().unix_socket(path.clone()).build().unwrap();
    let response = within(10, client.get("http://localhost/").send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "unix");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn send_and_execute_are_unpin_futures_for_select() {
    let release = Arc::new(tokio::sync::Notify::new());
    let server = {
        let release = release.clone();
        TestServer::start(move |_| {
            let release = release.clone();
            async move {
                release.notified().await;
                respond(200, "at last")
            }
        })
        .await
    };
    let client = Client::new();
    let mut pending = assert_send_sync_unpin(client.get(server.url("/")).send());
    tokio::select! {
        response = &mut pending => panic!("answered before the server was released: {response:?}"),
        () = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
    release.notify_one();
    let response = within(10, &mut pending).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "at last");

    let request = client.get(server.url("/executed")).build().unwrap();
    let mut executed = assert_send_sync_unpin(client.execute(request));
    release.notify_one();
    let response = within(10, &mut executed).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.last_request().path(), "/executed");

    // As a tower service too: the future is reqwest's `Pending`, for the client and a reference.
    let request = client.get(server.url("/service")).build().unwrap();
    let mut client_ref = &client;
    let called: reqwest::Pending =
        assert_send_sync_unpin(tower::Service::call(&mut client_ref, request));
    release.notify_one();
    let response = within(10, called).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut owned = client.clone();
    let request = client.get(server.url("/owned")).build().unwrap();
    let called: reqwest::Pending = tower::Service::call(&mut owned, request);
    release.notify_one();
    assert_eq!(within(10, called).await.unwrap().status(), StatusCode::OK);
    assert_eq!(server.last_request().path(), "/owned");
}

#[tokio::test]
async fn fetch_mode_no_cors_changes_nothing() {
    let server = TestServer::echo().await;
    let response = within(
        10,
        Client::new()
            .get(server.url("/cors"))
            .fetch_mode_no_cors()
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.last_request().path(), "/cors");
}

#[tokio::test]
async fn bytes_stream_is_read_with_next_and_no_pinning() {
    let server = TestServer::start(|_| async {
        http::Response::new(courier_testkit::slow(
            vec![
                Bytes::from("one "),
                Bytes::from("two "),
                Bytes::from("three"),
            ],
            Duration::from_millis(5),
        ))
    })
    .await;
    let response = within(10, Client::new().get(server.url("/")).send())
        .await
        .unwrap();
    let mut stream = assert_send_sync_unpin(response.bytes_stream());
    let mut chunks = Vec::new();
    while let Some(chunk) = within(10, stream.next()).await {
        chunks.push(chunk.unwrap());
    }
    assert_eq!(chunks.concat(), b"one two three");
    assert_eq!(chunks.len(), 3);
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_response_is_a_body_and_an_http_response() {
    let origin = TestServer::start(|_| async {
        http::Response::builder()
            .header("x-origin", "yes")
            .body(full("forwarded bytes"))
            .unwrap()
    })
    .await;
    let sink = TestServer::echo().await;
    let client = Client::new();

    // A response sent on as a request body: the same bytes, with their length.
    let response = within(10, client.get(origin.url("/")).send())
        .await
        .unwrap();
    within(10, client.post(sink.url("/")).body(response).send())
        .await
        .unwrap();
    assert_eq!(&sink.last_request().body[..], b"forwarded bytes");
    assert_eq!(sink.last_request().header("content-length"), Some("15"));

    // As an `http::Response`, and back, with its URL.
    let response = within(10, client.get(origin.url("/a")).send())
        .await
        .unwrap();
    let http: http::Response<reqwest::Body> = response.into();
    assert_eq!(http.status(), StatusCode::OK);
    assert_eq!(http.headers()["x-origin"], "yes");
    let back = reqwest::Response::from(http);
    assert_eq!(back.url().as_str(), origin.url("/a"));
    assert_eq!(back.text().await.unwrap(), "forwarded bytes");
}

#[tokio::test]
async fn response_builder_ext_sets_the_url_of_a_canned_response() {
    let url = reqwest::Url::parse("http://127.0.0.1:8080/canned?q=1").unwrap();
    let response = http::Response::builder()
        .status(201)
        .url(url.clone())
        .body("canned")
        .unwrap();
    let response = reqwest::Response::from(response);
    assert_eq!(response.url(), &url);
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.text().await.unwrap(), "canned");

    // Without it, reqwest's placeholder.
    let response = reqwest::Response::from(http::Response::new("x"));
    assert_eq!(response.url().as_str(), "http://no.url.provided.local/");
}

#[tokio::test]
async fn body_wrap_takes_any_data_that_becomes_bytes() {
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let body = reqwest::Body::wrap(http_body_util::Full::new(&b"static slice"[..]));
    let response = within(10, Client::new().post(server.url("/")).body(body).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&server.last_request().body[..], b"static slice");
    assert_eq!(server.last_request().header("content-length"), Some("12"));
}

#[tokio::test]
async fn a_custom_policy_can_defer_to_the_default() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/a" => redirect(302, "/b"),
            "/b" => redirect(302, "/done"),
            "/x" => redirect(302, "/stop"),
            path => match path.strip_prefix("/n/").and_then(|n| n.parse::<u32>().ok()) {
                Some(n) => redirect(302, &format!("/n/{}", n + 1)),
                None => respond(200, path.to_owned()),
            },
        }
    })
    .await;
    let policy = Policy::custom(|attempt| {
        if attempt.url().path() == "/stop" {
            attempt.stop()
        } else {
            Policy::default().redirect(attempt)
        }
    });
    let client = Client::builder().redirect(policy).build().unwrap();

    let response = within(10, client.get(server.url("/a")).send())
        .await
        .unwrap();
    assert_eq!(response.url().path(), "/done");
    assert_eq!(response.redirects().len(), 2);

    let response = within(10, client.get(server.url("/x")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/stop");

    // The default's limit of 10 redirects holds.
    let err = within(10, client.get(server.url("/n/0")).send())
        .await
        .unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    let hops = server
        .requests()
        .iter()
        .filter(|r| r.path().starts_with("/n/"))
        .count();
    assert_eq!(hops, 11);
}

#[tokio::test]
async fn a_default_no_proxy_list_lets_every_host_through_the_proxy() {
    let origin = TestServer::start(|_| async { respond(200, "via proxy") }).await;
    let proxy = courier_testkit::ProxyServer::start(origin.addr()).await;
    let client = Client::builder()
        .proxy(
            reqwest::Proxy::all(proxy.url())
                .unwrap()
                .no_proxy(Some(reqwest::NoProxy::default())),
        )
        .build()
        .unwrap();
    let response = within(10, client.get("http://127.0.0.1:9/").send())
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "via proxy");
    assert_eq!(proxy.connections(), 1);
}

/// reqwest's `IntoUrl` bound, with the input looked at before parsing.
async fn fetch<U: IntoUrl>(client: &Client, url: U) -> (String, StatusCode) {
    let given = url.as_str().to_owned();
    let status = client.get(url).send().await.unwrap().status();
    (given, status)
}

#[tokio::test]
async fn into_url_shows_the_input_as_str() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let url = server.url("/as-str");
    assert_eq!(
        within(10, fetch(&client, url.as_str())).await,
        (url.clone(), StatusCode::OK)
    );
    assert_eq!(
        within(10, fetch(&client, reqwest::Url::parse(&url).unwrap())).await,
        (url.clone(), StatusCode::OK)
    );
    assert_eq!(
        within(10, fetch(&client, url.clone())).await,
        (url, StatusCode::OK)
    );
}

/// The `Content-Disposition` line of the form's only part.
fn disposition(body: &[u8]) -> String {
    let body = String::from_utf8(body.to_vec()).unwrap();
    body.lines()
        .find(|line| line.starts_with("Content-Disposition: "))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn multipart_percent_encodings_are_reqwests() {
    use futures_util::TryStreamExt;
    use reqwest::multipart::{Form, Part};

    let name = "ö x\"y(1)#.txt";
    let file_name = "ö x\"y\\.txt";
    let form = |encode: fn(Form) -> Form| {
        encode(Form::new()).part(name, Part::bytes(&b"1"[..]).file_name(file_name))
    };
    // What reqwest 0.12 writes for each (its `PercentEncoding::encode_headers`).
    type Encoding = fn(Form) -> Form;
    let cases: [(Encoding, &str); 4] = [
        (
            Form::percent_encode_path_segment,
            "Content-Disposition: form-data; name*=utf-8''%C3%B6%20x%22y(1)%23.txt; filename=\"ö x\\\"y\\\\.txt\"",
        ),
        (
            Form::percent_encode_attr_chars,
            "Content-Disposition: form-data; name*=utf-8''%C3%B6%20x%22y%281%29#.txt; filename=\"ö x\\\"y\\\\.txt\"",
        ),
        (
            Form::percent_encode_noop,
            "Content-Disposition: form-data; name=\"ö x\"y(1)#.txt\"; filename=\"ö x\\\"y\\\\.txt\"",
        ),
        // Courier's default: as browsers quote.
        (
            |form| form,
            "Content-Disposition: form-data; name=\"ö x%22y(1)#.txt\"; filename=\"ö x%22y\\.txt\"",
        ),
    ];
    for (encode, expected) in cases {
        let body: Vec<u8> = form(encode)
            .into_stream()
            .map_ok(|chunk| chunk.to_vec())
            .try_concat()
            .await
            .unwrap();
        assert_eq!(disposition(&body), expected);

        // What is sent is what the stream gave.
        let server = TestServer::echo().await;
        within(
            10,
            Client::new()
                .post(server.url("/"))
                .multipart(form(encode))
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(disposition(&server.last_request().body), expected);
    }
    // A name of plain characters is sent as it is.
    let body: Vec<u8> = Form::new()
        .percent_encode_path_segment()
        .text("plain-name", "v")
        .into_stream()
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .unwrap();
    assert_eq!(
        disposition(&body),
        "Content-Disposition: form-data; name=\"plain-name\""
    );
}

/// The TCP options of every connection a client makes.
#[cfg(target_os = "linux")]
#[derive(Clone, Default)]
struct SocketOptions(Arc<Mutex<Vec<Keepalive>>>);

/// Keepalive time, interval and retries, and `TCP_USER_TIMEOUT`.
#[cfg(target_os = "linux")]
type Keepalive = (Duration, Duration, u32, Option<Duration>);

#[cfg(target_os = "linux")]
impl tower::Layer<reqwest::connect::BoxedConnector> for SocketOptions {
    type Service = reqwest::connect::BoxedConnector;

    fn layer(&self, inner: reqwest::connect::BoxedConnector) -> Self::Service {
        let seen = self.0.clone();
        reqwest::connect::BoxedConnector::new(tower::ServiceExt::map_response(
            inner,
            move |conn: reqwest::connect::Connected| {
                if let reqwest::connect::Stream::Tcp(tcp) = conn.stream() {
                    let socket = socket2::SockRef::from(tcp);
                    assert!(socket.keepalive().unwrap());
                    seen.lock().unwrap().push((
                        socket.tcp_keepalive_time().unwrap(),
                        socket.tcp_keepalive_interval().unwrap(),
                        socket.tcp_keepalive_retries().unwrap(),
                        socket.tcp_user_timeout().unwrap(),
                    ));
                }
                conn
            },
        ))
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn tcp_keepalive_defaults_are_reqwests() {
    let server = TestServer::start(|_| async { respond(200, "ok") }).await;
    let options = SocketOptions::default();
    let client = Client::builder()
        .connector_layer(options.clone())
        .build()
        .unwrap();
    within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(
        *options.0.lock().unwrap(),
        [(
            Duration::from_secs(15),
            Duration::from_secs(15),
            3,
            Some(Duration::from_secs(30))
        )]
    );
}

#[test]
fn blocking_builder_takes_the_async_builders_settings() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::echo());
    let client = reqwest::blocking::Client::builder()
        .no_gzip()
        .no_brotli()
        .pool_max_idle_per_host(0)
        .pool_idle_timeout(None)
        .connect_timeout(None)
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Duration::from_secs(20))
        .http1_only()
        .http1_title_case_headers()
        .http2_max_frame_size(None)
        .tls_built_in_webpki_certs(false)
        .hickory_dns(false)
        .dns_resolver2(Everything(server.addr()))
        .connector_layer(tower::limit::ConcurrencyLimitLayer::new(4))
        .max_decompressed_size(1024)
        .build()
        .unwrap();
    let url = format!("http://blocking.test:{}/", server.addr().port());
    for _ in 0..2 {
        let response = client.get(&url).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let request = server.last_request();
    assert_eq!(request.header("accept-encoding"), Some("deflate, zstd"));
    assert_eq!(request.version, http::Version::HTTP_11);
    // No idle connection kept: each request had its own.
    assert_eq!(server.connections(), 2);
}

#[test]
fn blocking_body_buffer_reads_a_reader_once() {
    let mut body = reqwest::blocking::Body::new(std::io::Cursor::new(b"read once".to_vec()));
    assert!(body.as_bytes().is_none());
    assert_eq!(body.buffer().unwrap(), b"read once");
    assert_eq!(body.as_bytes(), Some(&b"read once"[..]));
    assert_eq!(body.try_clone().unwrap().buffer().unwrap(), b"read once");

    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let err = reqwest::blocking::Body::new(Broken).buffer().unwrap_err();
    assert!(err.is_builder(), "{err:?}");
}

#[test]
fn a_canned_blocking_response_reads_without_a_client() {
    use std::io::Read;

    let url = reqwest::Url::parse("http://127.0.0.1:8080/canned").unwrap();
    let http = http::Response::builder()
        .status(202)
        .url(url.clone())
        .body("canned body")
        .unwrap();
    let mut response = reqwest::blocking::Response::from(http);
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.url(), &url);
    response.extensions_mut().insert(7u8);
    assert_eq!(response.extensions().get::<u8>(), Some(&7));
    let mut first = [0; 7];
    response.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"canned ");
    assert_eq!(response.text().unwrap(), "body");
}

#[test]
fn blocking_forms_encode_and_read_as_the_async_ones() {
    use std::io::Read;

    let dir = std::env::temp_dir().join(format!("courier-reqwest-form-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("data.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();

    let form = reqwest::blocking::multipart::Form::new()
        .percent_encode_attr_chars()
        .text("naïve", "1")
        .file("upload", &file)
        .unwrap();
    let boundary = form.boundary().to_owned();
    let mut body = String::new();
    form.into_reader().read_to_string(&mut body).unwrap();
    assert_eq!(
        body,
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name*=utf-8''na%C3%AFve\r\n\r\n1\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"data.csv\"\r\n\
             Content-Type: text/csv\r\n\r\na,b\n1,2\n\r\n--{boundary}--\r\n"
        )
    );

    let form = reqwest::blocking::multipart::Form::new()
        .percent_encode_noop()
        .text("naïve", "1");
    let mut body = String::new();
    form.into_reader().read_to_string(&mut body).unwrap();
    assert!(
        body.contains("Content-Disposition: form-data; name=\"naïve\"\r\n"),
        "{body}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_blocking_request_is_built_split_and_rebuilt_from_parts() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::echo());
    let client = reqwest::blocking::Client::new();
    let (client, request) = client.get(server.url("/split")).build_split();
    let request: reqwest::blocking::Request = request.unwrap();
    let response = reqwest::blocking::RequestBuilder::from_parts(client.clone(), request)
        .header("x-added", "later")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = server.last_request();
    assert_eq!(seen.path(), "/split");
    assert_eq!(seen.header("x-added"), Some("later"));

    let request = client
        .post(server.url("/executed"))
        .body("sent")
        .build()
        .unwrap();
    let response = client.execute(request).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&server.last_request().body[..], b"sent");
}
