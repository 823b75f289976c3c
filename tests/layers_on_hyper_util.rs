//! All five courier-core layers around hyper-util's own legacy client (not Courier's transport): the
//! layers work on any `Service<http::Request<B>>`.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguageLayer};
use courier_core::cookie::{CookieManagerLayer, Jar};
use courier_core::decompression::DecompressionLayer;
use courier_core::redirect::{FollowRedirectLayer, Policy, RedirectHistory};
use courier_core::user_agent::UserAgentLayer;
use courier_testkit::{echo, redirect, TestServer};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};

#[tokio::test]
async fn the_default_stack_over_a_raw_hyper_util_client() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/start" => http::Response::builder()
                .status(302)
                .header("location", "/gz")
                .header("set-cookie", "visited=yes")
                .body(courier_testkit::empty())
                .unwrap(),
            "/gz" => {
                let json = serde_json::to_vec(&serde_json::json!({
                    "cookie": req.header("cookie"),
                    "ua": req.header("user-agent"),
                    "lang": req.header("accept-language"),
                    "ae": req.header("accept-encoding"),
                }))
                .unwrap();
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(&json).unwrap();
                http::Response::builder()
                    .header("content-encoding", "gzip")
                    .body(courier_testkit::full(enc.finish().unwrap()))
                    .unwrap()
            }
            "/loop" => redirect(302, "/loop"),
            _ => echo(&req),
        }
    })
    .await;

    let raw: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let jar = Arc::new(Jar::new());
    let stack = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new(Policy::limited(5)))
        .layer(CookieManagerLayer::new(jar.clone()))
        .layer(UserAgentLayer::new("raw/1"))
        .layer(
            SetAcceptLanguageLayer::new(AcceptLanguage::new().lang("de").lang_q("en", 0.5))
                .unwrap(),
        )
        .layer(DecompressionLayer::new())
        .service(raw);

    let request = http::Request::get(server.url("/start"))
        .body(Full::default())
        .unwrap();
    let response = stack.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let history = response
        .extensions()
        .get::<RedirectHistory>()
        .unwrap()
        .clone();
    assert_eq!(history.final_url().as_str(), server.url("/gz"));
    assert_eq!(history.previous().len(), 1);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({
            "cookie": "visited=yes",
            "ua": "raw/1",
            "lang": "de, en;q=0.5",
            "ae": "gzip, deflate, br, zstd",
        })
    );
    assert_eq!(jar.len(), 1);

    // Errors of the raw client come out as Courier errors too.
    let request = http::Request::get(server.url("/loop"))
        .body(Full::default())
        .unwrap();
    let err = stack.clone().oneshot(request).await.unwrap_err();
    assert!(err.is_redirect(), "{err:?}");
    let request = http::Request::get("http://127.0.0.1:1/")
        .body(Full::default())
        .unwrap();
    let err = stack.oneshot(request).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}
