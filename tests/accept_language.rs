//! `SetAcceptLanguageLayer` around the real transport: what the server receives.

use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguageLayer};
use courier_core::transport::Transport;
use courier_core::Body;
use courier_testkit::TestServer;
use http::Request;
use tower::{Layer, ServiceExt};

fn transport() -> Transport {
    Transport::builder().build().unwrap()
}

#[tokio::test]
async fn sends_the_rendered_list() {
    let server = TestServer::echo().await;
    let languages = AcceptLanguage::new()
        .lang("sv")
        .lang_q("en-GB", 0.8)
        .lang_q("en", 0.75)
        .lang_q("*", 0.125);
    let service = SetAcceptLanguageLayer::new(languages)
        .unwrap()
        .layer(transport());

    let request = Request::get(server.url("/")).body(Body::empty()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server.last_request().header_all("accept-language"),
        vec!["sv, en-GB;q=0.8, en;q=0.75, *;q=0.125".to_owned()]
    );
}

#[tokio::test]
async fn an_explicit_header_is_left_alone() {
    let server = TestServer::echo().await;
    let service = SetAcceptLanguageLayer::new(AcceptLanguage::new().lang("sv"))
        .unwrap()
        .layer(transport());

    let request = Request::get(server.url("/"))
        .header("accept-language", "fr-CA, fr;q=0.9")
        .body(Body::empty())
        .unwrap();
    service.clone().oneshot(request).await.unwrap();
    assert_eq!(
        server.last_request().header_all("accept-language"),
        vec!["fr-CA, fr;q=0.9".to_owned()]
    );

    // The next request without one gets the layer's again: nothing leaks between requests.
    let request = Request::get(server.url("/")).body(Body::empty()).unwrap();
    service.oneshot(request).await.unwrap();
    assert_eq!(
        server.last_request().header_all("accept-language"),
        vec!["sv".to_owned()]
    );
}

#[tokio::test]
async fn a_prebuilt_header_value_is_sent_as_is() {
    let server = TestServer::echo().await;
    let value = http::HeaderValue::from_static("da, en-gb;q=0.8, en;q=0.7");
    let service = SetAcceptLanguageLayer::from_header_value(value).layer(transport());
    let request = Request::get(server.url("/")).body(Body::empty()).unwrap();
    service.oneshot(request).await.unwrap();
    assert_eq!(
        server.last_request().header("accept-language"),
        Some("da, en-gb;q=0.8, en;q=0.7")
    );
}

#[test]
fn invalid_languages_are_builder_errors() {
    let cases = [
        (
            AcceptLanguage::new().lang("en_US"),
            "invalid language range \"en_US\"",
        ),
        (
            AcceptLanguage::new().lang("en\r\nX-Injected: 1"),
            "invalid language range",
        ),
        (
            AcceptLanguage::new().lang_q("en", 1.5),
            "invalid quality 1.5 for \"en\"",
        ),
        (
            AcceptLanguage::new().lang_q("en", -0.5),
            "invalid quality -0.5 for \"en\"",
        ),
        (
            AcceptLanguage::new().lang_q("en", f32::NAN),
            "invalid quality NaN",
        ),
        (
            AcceptLanguage::new().lang("en").lang("EN"),
            "language range \"EN\" is listed twice",
        ),
        (AcceptLanguage::new(), "no language range given"),
    ];
    for (languages, message) in cases {
        let err = SetAcceptLanguageLayer::new(languages).unwrap_err();
        assert!(err.is_builder(), "{err:?}");
        assert!(
            format!("{err:#}").starts_with(&format!("builder error: {message}")),
            "{err}"
        );
    }
}
