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

    // An explicit Accept-Encoding is the caller's: sent as is, the body left encoded.
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
    assert_eq!(
        response.bytes().await.unwrap(),
        Bytes::from(gzip(&sample()))
    );
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
    assert!(err.to_string().contains("1048576"), "{err}");
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
    assert!(err.to_string().contains("too many redirects"), "{err}");

    let client = Client::new();
    let err = client.get(server.url("/loop-a")).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(err.to_string().contains("redirect loop"), "{err}");

    // The default limit is 10 hops.
    let err = client.get(server.url("/deep?0")).send().await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    assert!(err.to_string().contains("limit 10"), "{err}");
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
