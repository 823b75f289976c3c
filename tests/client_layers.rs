//! The default stack through `Client`: decompression, redirects, user agent, cookies and
//! accept-language, end to end against in-process servers.

use std::io::Write;

use bytes::Bytes;
use courier::redirect::Policy;
use courier::{Client, StatusCode};
use courier_testkit::{echo, redirect, respond, TestServer};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
    enc.write_all(data).unwrap();
    drop(enc);
    out
}

fn encoded(coding: &'static str, body: Vec<u8>) -> http::Response<courier_testkit::ServerBody> {
    http::Response::builder()
        .header("content-encoding", coding)
        .header("content-length", body.len())
        .body(courier_testkit::full(body))
        .unwrap()
}

fn sample() -> Vec<u8> {
    (0..200_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect()
}

async fn coding_server() -> TestServer {
    TestServer::start(|req| async move {
        let data = sample();
        match req.path() {
            "/gzip" => encoded("gzip", gzip(&data)),
            "/br" => encoded("br", brotli(&data)),
            "/zstd" => encoded("zstd", zstd::encode_all(&data[..], 3).unwrap()),
            "/deflate" => {
                let mut enc =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&data).unwrap();
                encoded("deflate", enc.finish().unwrap())
            }
            "/stacked" => encoded("gzip, br", brotli(&gzip(&data))),
            "/bomb" => encoded("gzip", gzip(&vec![0u8; 8 * 1024 * 1024])),
            _ => echo(&req),
        }
    })
    .await
}

#[tokio::test]
async fn client_decodes_every_coding_and_advertises_them() {
    let server = coding_server().await;
    let client = Client::new();
    for path in ["/gzip", "/br", "/zstd", "/deflate", "/stacked"] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{path}"
        );
        assert!(response.headers().get("content-length").is_none(), "{path}");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), sample().len(), "{path}");
        assert!(body == sample(), "{path}: decoded bytes differ");
        assert_eq!(
            server.last_request().header("accept-encoding"),
            Some("gzip, deflate, br, zstd")
        );
    }
}

#[tokio::test]
async fn client_decompression_options() {
    let server = coding_server().await;

    let client = Client::builder().gzip(false).build().unwrap();
    client.get(server.url("/echo")).send().await.unwrap();
    assert_eq!(
        server.last_request().header("accept-encoding"),
        Some("deflate, br, zstd")
    );
    // gzip turned off: a gzip body arrives as sent, header and all.
    let response = client.get(server.url("/gzip")).send().await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(
        response.bytes().await.unwrap(),
        Bytes::from(gzip(&sample()))
    );

    let client = Client::builder().no_decompression().build().unwrap();
    client.get(server.url("/echo")).send().await.unwrap();
    assert_eq!(server.last_request().header("accept-encoding"), None);

    // An explicit Accept-Encoding is the caller's: sent as is, and the answer decoded all the same
    // (as reqwest, whose tower-http layer decodes what it can whoever asked).
    let response = Client::new()
        .get(server.url("/gzip"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.last_request().header("accept-encoding"),
        Some("gzip")
    );
    assert_eq!(response.bytes().await.unwrap(), Bytes::from(sample()));
}

#[tokio::test]
async fn client_stops_decompression_bombs() {
    let server = coding_server().await;
    let client = Client::builder()
        .max_decompressed_size(1024 * 1024)
        .build()
        .unwrap();
    let err = client
        .get(server.url("/bomb"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), server.url("/bomb"));
    assert!(format!("{err:#}").contains("1048576"), "{err}");
    // The same client keeps working.
    let body = client
        .get(server.url("/gzip"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), sample().len());
}

async fn redirect_server() -> TestServer {
    TestServer::start(|req| async move {
        match req.path() {
            "/start" => redirect(302, "/middle"),
            "/middle" => redirect(301, "/end"),
            "/see-other" => redirect(303, "/end"),
            "/temporary" => redirect(307, "/end"),
            "/loop-a" => redirect(302, "/loop-b"),
            "/loop-b" => redirect(302, "/loop-a"),
            "/deep" => {
                let n: u32 = req.query().and_then(|q| q.parse().ok()).unwrap_or(0);
                redirect(302, &format!("/deep?{}", n + 1))
            }
            "/end" => echo(&req),
            _ => respond(404, "no"),
        }
    })
    .await
}

#[tokio::test]
async fn client_follows_redirects_and_reports_history() {
    let server = redirect_server().await;
    let client = Client::new();
    let response = client.get(server.url("/start#top")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), server.url("/end#top"));
    let hops: Vec<&str> = response.redirects().iter().map(|u| u.as_str()).collect();
    assert_eq!(hops, vec![server.url("/start"), server.url("/middle")]);

    // 303 turns a POST into a GET without the body; 307 keeps both.
    let response = client
        .post(server.url("/see-other"))
        .body("payload")
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["method"], "GET");
    assert_eq!(json["body"], "");
    let response = client
        .post(server.url("/temporary"))
        .body("payload")
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["method"], "POST");
    assert_eq!(json["body"], "payload");
}

#[tokio::test]
async fn client_redirect_policies_and_errors() {
    let server = redirect_server().await;

    let response = Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(server.url("/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/middle");
    assert!(response.redirects().is_empty());
    assert_eq!(response.url().as_str(), server.url("/start"));

    let client = Client::builder()
        .redirect(Policy::limited(1))
        .build()
        .unwrap();
    let err = client.get(server.url("/start")).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(format!("{err:#}").contains("too many redirects"), "{err}");

    let client = Client::new();
    let err = client.get(server.url("/loop-a")).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(format!("{err:#}").contains("redirect loop"), "{err:#}");

    // The default limit is 10 hops.
    let err = client.get(server.url("/deep?0")).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(format!("{err:#}").contains("limit 10"), "{err:#}");
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.path() == "/deep")
            .count(),
        11
    );
}

#[tokio::test]
async fn client_sets_accept_language_and_user_agent_unless_the_request_does() {
    let server = TestServer::echo().await;
    let client = Client::builder()
        .accept_language(
            courier::AcceptLanguage::new()
                .lang("sv")
                .lang_q("en-GB", 0.8)
                .lang_q("*", 0.1),
        )
        .build()
        .unwrap();
    client.get(server.url("/")).send().await.unwrap();
    let seen = server.last_request();
    assert_eq!(
        seen.header("accept-language"),
        Some("sv, en-GB;q=0.8, *;q=0.1")
    );
    assert_eq!(
        seen.header("user-agent"),
        Some(concat!("courier/", env!("CARGO_PKG_VERSION")))
    );

    client
        .get(server.url("/"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.last_request().header_all("accept-language"),
        vec!["fr"]
    );

    // Without a configured language, none is sent.
    Client::new().get(server.url("/")).send().await.unwrap();
    assert_eq!(server.last_request().header("accept-language"), None);

    let err = Client::builder()
        .accept_language(courier::AcceptLanguage::new().lang_q("en", 1.5))
        .build()
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    let err = Client::builder()
        .accept_language(courier::AcceptLanguage::new().lang("not a tag"))
        .build()
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
}

async fn cookie_server() -> TestServer {
    TestServer::start(|req| async move {
        let port = req
            .header("host")
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or("0")
            .to_owned();
        match req.path() {
            "/login" => http::Response::builder()
                .status(303)
                .header("location", "/dashboard")
                .header("set-cookie", "session=abc123; Path=/; HttpOnly")
                .header("set-cookie", "theme=dark; Path=/; Max-Age=3600")
                .body(courier_testkit::empty())
                .unwrap(),
            // Sets a cookie for 127.0.0.1, then bounces through localhost and back.
            "/bounce" => http::Response::builder()
                .status(302)
                .header("location", format!("http://localhost:{port}/other-host"))
                .header("set-cookie", "ip_only=1; Path=/")
                .body(courier_testkit::empty())
                .unwrap(),
            "/other-host" => redirect(302, &format!("http://127.0.0.1:{port}/back")),
            _ => echo(&req),
        }
    })
    .await
}

#[tokio::test]
async fn client_cookie_store_follows_a_login_flow() {
    let server = cookie_server().await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    let response = client
        .post(server.url("/login"))
        .form(&[("user", "ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.url().as_str(), server.url("/dashboard"));
    let seen = server.last_request();
    assert_eq!(seen.path(), "/dashboard");
    assert_eq!(
        seen.header_all("cookie"),
        vec!["session=abc123; theme=dark"]
    );
    // Later requests carry the cookies too.
    client.get(server.url("/profile")).send().await.unwrap();
    assert_eq!(
        server.last_request().header("cookie"),
        Some("session=abc123; theme=dark")
    );
}

#[tokio::test]
async fn client_cookies_stay_on_their_host_across_redirects() {
    let server = cookie_server().await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    let response = client.get(server.url("/bounce")).send().await.unwrap();
    assert_eq!(response.url().as_str(), server.url("/back"));
    let requests = server.requests();
    let on = |path: &str| requests.iter().find(|r| r.path() == path).unwrap().clone();
    assert_eq!(
        on("/other-host").header("host"),
        Some(format!("localhost:{}", server.addr().port()).as_str())
    );
    assert_eq!(
        on("/other-host").header("cookie"),
        None,
        "127.0.0.1's cookie went to localhost"
    );
    assert_eq!(on("/back").header("cookie"), Some("ip_only=1"));
}

#[tokio::test]
async fn client_cookies_off_by_default_and_jars_shared() {
    let server = cookie_server().await;
    let client = Client::new();
    client.post(server.url("/login")).send().await.unwrap();
    assert_eq!(server.last_request().header("cookie"), None);

    let jar = std::sync::Arc::new(courier::cookie::Jar::new());
    let first = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let second = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    first.post(server.url("/login")).send().await.unwrap();
    second.get(server.url("/shared")).send().await.unwrap();
    assert_eq!(
        server.last_request().header("cookie"),
        Some("session=abc123; theme=dark")
    );
    let url = courier::Url::parse(&server.url("/")).unwrap();
    let names: Vec<String> = jar
        .cookies_for(&url)
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(names, vec!["session", "theme"]);
}

#[tokio::test]
async fn client_retries_only_when_asked() {
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n % 2 == 0 {
                http::Response::builder()
                    .status(503)
                    .header("retry-after", "0")
                    .body(courier_testkit::empty())
                    .unwrap()
            } else {
                respond(200, "second time lucky")
            }
        }
    })
    .await;
    // Off by default: the 503 comes back.
    let response = Client::new().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);

    attempts.store(0, std::sync::atomic::Ordering::SeqCst);
    let client = Client::builder()
        .retry(courier::retry::RetryPolicy::new())
        .build()
        .unwrap();
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "second time lucky");
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A POST is not retried.
    attempts.store(0, std::sync::atomic::Ordering::SeqCst);
    let response = client.post(server.url("/")).body("x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
}
