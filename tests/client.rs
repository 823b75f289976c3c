//! End-to-end tests of the `Client` facade against in-process servers: every builder option, the
//! response API, pooling, HTTP/2, TLS, and bad input of every kind.

use std::time::Duration;

use bytes::Bytes;
use courier::{Body, Client, StatusCode, Version};
use courier_testkit::client::{assert_still_works, get_body_error, get_bytes, trusting, within};
use courier_testkit::tls::TestCerts;
use courier_testkit::{
    echo, empty, failing, full, respond, slow, Protocol, RawServer, TestServer, Then,
};
use futures_util::StreamExt;
use http::header::HeaderMap;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn get_sends_path_query_and_headers() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let response = client
        .get(server.url("/search?lang=en"))
        .query(&[("q", "rust http"), ("page", "2")])
        .header("x-multi", "one")
        .header("x-multi", "two")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.url().as_str(),
        server.url("/search?lang=en&q=rust+http&page=2")
    );
    let seen = server.last_request();
    assert_eq!(seen.method, http::Method::GET);
    assert_eq!(seen.path(), "/search");
    assert_eq!(seen.query(), Some("lang=en&q=rust+http&page=2"));
    assert_eq!(seen.header_all("x-multi"), vec!["one", "two"]);
    assert_eq!(
        seen.header("user-agent"),
        Some(concat!("courier/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(seen.body, Bytes::new());
}

#[tokio::test]
async fn every_method_reaches_the_server() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let url = server.url("/m");
    let builders = [
        ("GET", client.get(&url)),
        ("HEAD", client.head(&url)),
        ("POST", client.post(&url)),
        ("PUT", client.put(&url)),
        ("PATCH", client.patch(&url)),
        ("DELETE", client.delete(&url)),
        ("OPTIONS", client.options(&url)),
        (
            "PURGE",
            client.request(http::Method::from_bytes(b"PURGE").unwrap(), &url),
        ),
    ];
    for (method, builder) in builders {
        let response = builder.send().await.unwrap();
        assert_eq!(server.last_request().method.as_str(), method);
        let body = response.bytes().await.unwrap();
        if method == "HEAD" {
            assert!(body.is_empty(), "HEAD response must have no body");
        } else {
            let json: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["method"], method);
        }
    }
}

#[tokio::test]
async fn bodies_form_json_bytes_text_and_stream() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let url = server.url("/upload");

    client
        .post(&url)
        .form(&[("name", "a b"), ("x", "&=")])
        .send()
        .await
        .unwrap();
    let seen = server.last_request();
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.body, Bytes::from_static(b"name=a+b&x=%26%3D"));

    // A Content-Type set before is kept (a charset, say), as reqwest keeps it.
    client
        .post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .form(&[("k", "v")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.last_request().header("content-type"),
        Some("application/x-www-form-urlencoded; charset=UTF-8")
    );

    client
        .put(&url)
        .json(&serde_json::json!({"k": [1, 2]}))
        .send()
        .await
        .unwrap();
    let seen = server.last_request();
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.body, Bytes::from_static(br#"{"k":[1,2]}"#));

    client
        .post(&url)
        .body(vec![0u8, 1, 2, 255])
        .send()
        .await
        .unwrap();
    let seen = server.last_request();
    assert_eq!(seen.body, Bytes::from_static(&[0, 1, 2, 255]));
    assert_eq!(seen.header("content-length"), Some("4"));

    client.patch(&url).body("text body").send().await.unwrap();
    assert_eq!(server.last_request().body, Bytes::from_static(b"text body"));

    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..100)
        .map(|i| Ok(Bytes::from(format!("chunk{i};"))))
        .collect();
    let expected: String = (0..100).map(|i| format!("chunk{i};")).collect();
    client
        .post(&url)
        .body(Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let seen = server.last_request();
    assert_eq!(seen.body, Bytes::from(expected));
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    assert_eq!(seen.header("content-length"), None);
}

#[tokio::test]
async fn auth_helpers_set_exact_headers() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let url = server.url("/");
    let cases = [
        (
            client.get(&url).basic_auth("aladdin", Some("opensesame")),
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        ),
        (
            client.get(&url).basic_auth("user", None::<&str>),
            "Basic dXNlcjo=",
        ),
        (client.get(&url).bearer_auth("t0k3n"), "Bearer t0k3n"),
    ];
    for (request, expected) in cases {
        request.send().await.unwrap();
        assert_eq!(
            server.last_request().header("authorization"),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn user_agent_and_default_headers() {
    let server = TestServer::echo().await;
    let mut defaults = HeaderMap::new();
    defaults.insert("x-api-key", "secret".parse().unwrap());
    defaults.append("x-tag", "a".parse().unwrap());
    defaults.append("x-tag", "b".parse().unwrap());
    let client = Client::builder()
        .user_agent("my-app/2.0")
        .default_headers(defaults)
        .build()
        .unwrap();

    client.get(server.url("/")).send().await.unwrap();
    let seen = server.last_request();
    assert_eq!(seen.header("user-agent"), Some("my-app/2.0"));
    assert_eq!(seen.header("x-api-key"), Some("secret"));
    assert_eq!(seen.header_all("x-tag"), vec!["a", "b"]);

    // A request's own header wins over a default and over the configured user agent.
    client
        .get(server.url("/"))
        .header("x-api-key", "override")
        .header("user-agent", "explicit/1")
        .send()
        .await
        .unwrap();
    let seen = server.last_request();
    assert_eq!(seen.header_all("x-api-key"), vec!["override"]);
    assert_eq!(seen.header("user-agent"), Some("explicit/1"));

    // No User-Agent at all, as reqwest sends by default; a request's own still goes.
    let bare = Client::builder().no_user_agent().build().unwrap();
    bare.get(server.url("/")).send().await.unwrap();
    assert_eq!(server.last_request().header("user-agent"), None);
    bare.get(server.url("/"))
        .header("user-agent", "mine/1")
        .send()
        .await
        .unwrap();
    assert_eq!(server.last_request().header("user-agent"), Some("mine/1"));
}

#[tokio::test]
async fn response_accessors() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .status(201)
            .header("content-type", "text/plain; charset=iso-8859-1")
            .header("x-several", "1")
            .header("x-several", "2")
            .body(full(&b"caf\xe9"[..]))
            .unwrap()
    })
    .await;
    let response = Client::new().get(server.url("/r")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.reason(), "Created");
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(response.content_length(), Some(4));
    assert_eq!(response.remote_addr(), Some(server.addr()));
    assert_eq!(response.url().as_str(), server.url("/r"));
    let several: Vec<_> = response.headers().get_all("x-several").iter().collect();
    assert_eq!(several, vec!["1", "2"]);
    assert_eq!(response.text().await.unwrap(), "café");
}

#[tokio::test]
async fn json_chunk_and_stream_readers() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/json" => respond(200, r#"{"id": 7, "tags": ["a"]}"#),
            _ => http::Response::new(slow(
                vec![
                    Bytes::from_static(b"one"),
                    Bytes::from_static(b"two"),
                    Bytes::from_static(b"three"),
                ],
                Duration::from_millis(5),
            )),
        }
    })
    .await;
    let client = Client::new();

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Item {
        id: u32,
        tags: Vec<String>,
    }
    let item: Item = client
        .get(server.url("/json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        item,
        Item {
            id: 7,
            tags: vec!["a".into()]
        }
    );

    let err = client
        .get(server.url("/json"))
        .send()
        .await
        .unwrap()
        .json::<Vec<u8>>()
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(
        err.url().map(|u| u.as_str().to_owned()),
        Some(server.url("/json"))
    );

    let mut response = client.get(server.url("/chunks")).send().await.unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks.push(chunk);
    }
    assert_eq!(chunks, vec!["one", "two", "three"]);

    let stream = client
        .get(server.url("/chunks"))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let collected: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
    assert_eq!(collected.concat(), b"onetwothree");
}

#[tokio::test]
async fn error_for_status_carries_code_reason_and_url() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/missing" => respond(404, "nope"),
            "/boom" => respond(503, "down"),
            _ => respond(200, "fine"),
        }
    })
    .await;
    let client = Client::new();
    let url = server.url("/missing");
    let response = client.get(&url).send().await.unwrap();
    let err = response.error_for_status_ref().unwrap_err();
    assert!(err.is_status());
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.url().unwrap().as_str(), url);
    assert_eq!(
        err.to_string(),
        format!("HTTP status client error (404 Not Found) for url ({url})")
    );
    // The response is still readable after error_for_status_ref.
    assert_eq!(response.text().await.unwrap(), "nope");

    let err = client
        .get(server.url("/boom"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(err
        .to_string()
        .starts_with("HTTP status server error (503 Service Unavailable)"));

    let ok = client
        .get(server.url("/fine"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    // The server's own reason phrase is the one shown, as reqwest shows it; with none at all, the
    // canonical one, not `(404 )`.
    for (status_line, shown) in [
        (
            &b"HTTP/1.1 418 I'm not a teapot"[..],
            "418 I'm not a teapot",
        ),
        (&b"HTTP/1.1 404 "[..], "404 Not Found"),
    ] {
        let reply = [status_line, b"\r\ncontent-length: 0\r\n\r\n"].concat();
        let server = RawServer::reply(Bytes::from(reply), Then::Close).await;
        let url = server.url("/status");
        let err = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("HTTP status client error ({shown}) for url ({url})")
        );
    }
}

#[tokio::test]
async fn pool_reuses_one_connection_across_clones() {
    let server = TestServer::echo().await;
    let client = Client::new();
    let clone = client.clone();
    get_bytes(&client, &server.url("/1")).await;
    get_bytes(&clone, &server.url("/2")).await;
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].peer, requests[1].peer,
        "second request must reuse the connection"
    );
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn pool_max_idle_zero_disables_reuse() {
    let server = TestServer::echo().await;
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    get_bytes(&client, &server.url("/1")).await;
    get_bytes(&client, &server.url("/2")).await;
    let requests = server.requests();
    assert_ne!(requests[0].peer, requests[1].peer);
    assert_eq!(server.connections(), 2);
}

/// `0` turns reuse off altogether, as in reqwest (hyper-util's pool disabled): an HTTP/2 connection
/// takes one request, and a request queued behind the per-host cap gets a connection of its own rather
/// than the one the request before it gives back.
#[tokio::test]
async fn pool_max_idle_zero_disables_reuse_for_http2_and_queued_requests() {
    let server = TestServer::builder()
        .protocol(Protocol::Http2)
        .start(|req| async move { echo(&req) })
        .await;
    let client = Client::builder()
        .http2_prior_knowledge()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for path in ["/1", "/2", "/3"] {
        let response = courier_testkit::client::within(10, client.get(server.url(path)).send())
            .await
            .unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        assert!(!response.connection_info().unwrap().reused(), "{path}");
        courier_testkit::client::within(10, response.bytes())
            .await
            .unwrap();
    }
    assert_eq!(client.pool_stats().connects, 3);
    assert_eq!(client.pool_stats().reuses, 0);

    let server = TestServer::start(|req| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        echo(&req)
    })
    .await;
    let client = Client::builder()
        .http1_only()
        .pool_max_idle_per_host(0)
        .pool_max_connections_per_host(1)
        .build()
        .unwrap();
    let (url_a, url_b) = (server.url("/a"), server.url("/b"));
    let (a, b) = courier_testkit::client::within(10, async {
        tokio::join!(get_bytes(&client, &url_a), get_bytes(&client, &url_b))
    })
    .await;
    assert!(!a.is_empty() && !b.is_empty());
    assert_eq!(server.connections(), 2);
    assert_eq!(client.pool_stats().reuses, 0);
}

#[tokio::test]
async fn pool_idle_timeout_drops_idle_connections() {
    let server = TestServer::echo().await;
    let client = Client::builder()
        .pool_idle_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    get_bytes(&client, &server.url("/1")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    get_bytes(&client, &server.url("/2")).await;
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn https_negotiates_http2_through_alpn() {
    let server = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    let client = trusting(&server).build().unwrap();
    let response = client.get(server.url("/h2")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(server.last_request().version, Version::HTTP_2);
    // Several requests multiplex over the one connection.
    let (a, b) = tokio::join!(
        client.get(server.url("/a")).send(),
        client.get(server.url("/b")).send()
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn https_http1_only_offers_only_http11() {
    let server = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    let client = trusting(&server).http1_only().build().unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(server.last_request().version, Version::HTTP_11);
}

#[tokio::test]
async fn http2_prior_knowledge_over_plain_tcp() {
    let server = TestServer::builder()
        .protocol(Protocol::Http2)
        .start(|req| async move { echo(&req) })
        .await;
    let client = Client::builder().http2_prior_knowledge().build().unwrap();
    let response = client
        .post(server.url("/h2c"))
        .body("over h2c")
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let seen = server.last_request();
    assert_eq!(seen.version, Version::HTTP_2);
    assert_eq!(seen.body, Bytes::from_static(b"over h2c"));
}

#[tokio::test]
async fn https_only_refuses_http() {
    let server = TestServer::echo().await;
    let client = Client::builder().https_only(true).build().unwrap();
    let err = client.get(server.url("/")).send().await.unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn tls_unknown_ca_and_wrong_host_are_connect_errors() {
    let server = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    // Only the built-in roots: the test CA is unknown.
    let client = Client::new();
    let err = client.get(server.url("/")).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(format!("{err:#}").contains("UnknownIssuer"), "{err}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert!(server.requests().is_empty());

    // Trusted CA, but the certificate names another host, or has expired.
    let cases = [
        (
            TestCerts::generate(&["example.com"]),
            "not valid for name \"localhost\"",
        ),
        (TestCerts::expired(&["localhost"]), "certificate expired"),
    ];
    for (certs, message) in cases {
        let server = TestServer::builder()
            .tls_certs(certs)
            .start(|req| async move { echo(&req) })
            .await;
        let client = trusting(&server).build().unwrap();
        let err = client.get(server.url("/")).send().await.unwrap_err();
        assert!(err.is_connect(), "{message}: {err:?}");
        assert!(format!("{err:#}").contains(message), "{err:#}");
        assert!(server.requests().is_empty(), "{message}");
        assert_still_works(&client).await;
    }
}

#[tokio::test]
async fn invalid_urls_schemes_and_headers_are_builder_errors() {
    let client = Client::new();
    let err = client.get("not a url").send().await.unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(format!("{err:#}").contains("not a url"), "{err}");

    let err = client.get("ftp://127.0.0.1/file").send().await.unwrap_err();
    assert!(err.is_builder());
    assert_eq!(err.url().unwrap().as_str(), "ftp://127.0.0.1/file");

    for (name, value) in [("x-evil", "a\r\nInjected: yes"), ("bad name", "v")] {
        let err = client
            .get("http://127.0.0.1/")
            .header(name, value)
            .send()
            .await
            .unwrap_err();
        assert!(err.is_builder(), "{name:?}: {value:?}: {err:?}");
    }

    let err = Client::builder().user_agent("a\nb").build().unwrap_err();
    assert!(err.is_builder());
    assert_still_works(&client).await;
}

#[tokio::test]
async fn connection_refused_and_dns_failure_are_connect_errors() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let err = client.get(&url).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), url);
    assert!(
        err.to_string()
            .starts_with(&format!("error connecting for url ({url})")),
        "{err}"
    );

    assert!(!err.is_dns());

    // A name the client's resolver says no to (never a real DNS server).
    struct Refuse;
    impl courier::dns::Resolve for Refuse {
        fn resolve(&self, name: courier::dns::Name) -> courier::dns::Resolving {
            let message = format!("no such host: {}", name.as_str());
            Box::pin(async move { Err(message.into()) })
        }
    }
    let client = Client::builder()
        .dns_resolver(std::sync::Arc::new(Refuse))
        .build()
        .unwrap();
    let err = client
        .get("http://courier-test.invalid/")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() && err.is_dns(), "{err:?}");
    assert!(
        format!("{err:#}").ends_with("no such host: courier-test.invalid"),
        "{err:#}"
    );
    assert_still_works(&client).await;
}

#[tokio::test]
async fn server_cut_mid_body_is_a_body_error() {
    let server = TestServer::start(|_| async {
        http::Response::new(failing(vec![Bytes::from_static(b"partial")]))
    })
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
    assert_still_works(&client).await;
}

#[tokio::test]
async fn body_shorter_than_content_length_is_a_body_error() {
    // Closes without the other 5 bytes.
    let server = RawServer::reply(
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"[..],
        Then::Close,
    )
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    assert_still_works(&client).await;
}

#[tokio::test]
async fn body_longer_than_content_length_is_cut_at_the_length() {
    let server = RawServer::reply(
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA-BYTES-THAT-ARE-NOT-HTTP"[..],
        Then::Hold,
    )
    .await;
    let client = Client::new();
    let body = get_bytes(&client, &server.url("/")).await;
    assert_eq!(body, Bytes::from_static(b"hello"));
    // The garbage after the body must not be read as the next response: a new connection is used.
    let body = get_bytes(&client, &server.url("/")).await;
    assert_eq!(body, Bytes::from_static(b"hello"));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn total_timeout_waiting_for_headers() {
    let server = RawServer::reply(Bytes::new(), Then::Hold).await;
    let client = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.get(server.url("/")).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));

    // A per-request timeout overrides the client's.
    let client = Client::new();
    let err = client
        .get(server.url("/"))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_still_works(&client).await;
}

#[tokio::test]
async fn total_timeout_covers_the_body() {
    let server = TestServer::start(|_| async {
        http::Response::new(slow(
            vec![
                Bytes::from_static(b"a"),
                Bytes::from_static(b"b"),
                Bytes::from_static(b"c"),
            ],
            Duration::from_millis(150),
        ))
    })
    .await;
    let client = Client::builder()
        .timeout(Duration::from_millis(250))
        .build()
        .unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    let err = response.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/"));
}

#[tokio::test]
async fn read_timeout_is_per_chunk() {
    let server = TestServer::start(|req| async move {
        let delay = if req.path() == "/stall" { 600 } else { 50 };
        http::Response::new(slow(
            (0..6).map(|i| Bytes::from(vec![b'0' + i; 3])).collect(),
            Duration::from_millis(delay),
        ))
    })
    .await;
    let client = Client::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Six chunks 50 ms apart take longer than nothing but never stall 300 ms: no timeout.
    let body = get_bytes(&client, &server.url("/steady")).await;
    assert_eq!(body, Bytes::from_static(b"000111222333444555"));
    let err = get_body_error(&client, &server.url("/stall")).await;
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn connect_timeout_when_the_server_never_accepts() {
    // A listener with a tiny backlog that never accepts: once its queue is full, the kernel drops SYNs
    // and connect() hangs until our deadline.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    let client = Client::builder()
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .get(format!("http://{addr}/"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout() && err.is_connect(), "{err:?}");
    drop(listener);
    assert_still_works(&client).await;
}

#[tokio::test]
async fn client_is_a_tower_service() {
    use tower::{Service, ServiceBuilder, ServiceExt};
    let server = TestServer::echo().await;
    let mut service = ServiceBuilder::new()
        .concurrency_limit(4)
        .timeout(Duration::from_secs(10))
        .service(Client::builder().user_agent("tower/1").build().unwrap());
    let request = http::Request::post(server.url("/svc"))
        .body(Body::from("payload"))
        .unwrap();
    // The client serves both `http::Request<Body>` and `courier::Request`: name which one.
    let response = ServiceExt::<http::Request<Body>>::ready(&mut service)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["body"], "payload");
    assert_eq!(json["headers"]["user-agent"][0], "tower/1");
}

#[tokio::test]
async fn one_line_get() {
    let server = TestServer::start(|_| async { respond(200, "hi") }).await;
    let text = courier::get(server.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "hi");
}

#[tokio::test]
async fn empty_response_and_no_content() {
    let server = TestServer::start(|_| async {
        http::Response::builder().status(204).body(empty()).unwrap()
    })
    .await;
    let response = Client::new().delete(server.url("/x")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.bytes().await.unwrap(), Bytes::new());
}

#[test]
fn client_is_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<Client>();
}

#[tokio::test]
async fn a_lying_huge_content_length_does_not_preallocate() {
    let server = RawServer::start(|mut stream, _| async move {
        let _ = courier_testkit::read_request_head(&mut stream).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\nhello")
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = stream.write_all(b"world").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    })
    .await;
    let client = Client::new();
    let err = get_body_error(&client, &server.url("/")).await;
    assert!(err.is_body(), "{err:?}");
    assert_still_works(&client).await;
}

#[tokio::test]
async fn timeouts_do_not_count_the_callers_own_pauses() {
    let server = TestServer::start(|_| async {
        http::Response::new(slow(
            (0..4).map(|_| Bytes::from(vec![b'x'; 1024])).collect(),
            Duration::from_millis(1),
        ))
    })
    .await;
    // The server sends everything at once; the caller then takes its time between chunks.
    let client = Client::builder()
        .read_timeout(Duration::from_millis(300))
        .min_speed(64 * 1024, Duration::from_millis(300))
        .build()
        .unwrap();
    let mut response = client.get(server.url("/")).send().await.unwrap();
    let mut total = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        total += chunk.len();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(total, 4096);
}

#[test]
fn the_send_future_stays_small() {
    // The stack's future is boxed once; a future of several KB moved by value on every poll and await
    // costs measurable time (BENCHMARKS.md, finding 1).
    let client = Client::new();
    let send = client.get("http://127.0.0.1:1/").send();
    assert!(
        std::mem::size_of_val(&send) <= 4096,
        "{} bytes",
        std::mem::size_of_val(&send)
    );
}

/// A request body is framed so that it is sent, and said to be empty where it is: a stream on a GET
/// goes chunked (hyper alone sent such a GET with no body, silently), an empty POST says
/// `Content-Length: 0` on HTTP/1.1 as on HTTP/2 (RFC 9110 8.6; servers answer 411 without it), and a
/// stream over HTTP/1.0, which cannot frame it, is an error before anything is sent.
#[tokio::test]
async fn request_bodies_are_framed_never_dropped() {
    let server = TestServer::echo().await;
    let stream = || {
        Body::wrap_stream(futures_util::stream::iter(vec![
            Ok::<_, std::io::Error>(Bytes::from("str")),
            Ok(Bytes::from("eamed")),
        ]))
    };
    let client = Client::new();
    let get = within(10, client.get(server.url("/get")).body(stream()).send())
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let seen = &server.requests()[0];
    assert_eq!(seen.body, "streamed");
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));

    for (i, protocol) in [Protocol::Http1, Protocol::Http2].into_iter().enumerate() {
        let server = TestServer::builder()
            .protocol(protocol)
            .start(|req| async move { echo(&req) })
            .await;
        let client = match protocol {
            Protocol::Http2 => Client::builder().http2_prior_knowledge().build().unwrap(),
            _ => Client::new(),
        };
        within(10, client.post(server.url("/empty")).send())
            .await
            .unwrap();
        within(10, client.get(server.url("/empty")).send())
            .await
            .unwrap();
        let seen = server.requests();
        assert_eq!(seen[0].header("content-length"), Some("0"), "case {i}");
        assert_eq!(seen[1].header("content-length"), None, "case {i}");
    }

    let err = within(
        10,
        client
            .post(server.url("/old"))
            .version(Version::HTTP_10)
            .body(stream())
            .send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert_eq!(err.fate(), Some(courier::Fate::NotSent));
    // A version hyper cannot write is an error, not a panic in the connection's task.
    for version in [Version::HTTP_09, Version::HTTP_3] {
        let err = within(10, client.get(server.url("/v")).version(version).send())
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("not supported"), "{err:#}");
    }
    assert_eq!(server.requests().len(), 1);
}
