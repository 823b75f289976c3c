//! reqwest's cookie API: the `CookieStore` trait with a store of the caller's own, `cookie_store(true)`
//! replacing it, and `Response::cookies()`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use courier::cookie::CookieStore;
use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{echo, TestServer};
use http::HeaderValue;
use url::Url;

/// Records what the layer stores and answers every request with one fixed cookie.
#[derive(Default)]
struct Recording {
    stored: Mutex<Vec<(String, String)>>,
}

impl CookieStore for Recording {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        let mut stored = self.stored.lock().unwrap();
        for header in cookie_headers {
            stored.push((url.path().to_owned(), header.to_str().unwrap().to_owned()));
        }
    }

    fn cookies(&self, _url: &Url) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("from=store"))
    }
}

async fn server() -> TestServer {
    TestServer::start(|req| async move {
        let mut response = echo(&req);
        if req.path() == "/set" {
            let headers = response.headers_mut();
            for value in [
                "session=abc; Path=/; HttpOnly; Secure; SameSite=Strict",
                "theme=dark; Max-Age=3600; Domain=127.0.0.1; SameSite=Lax",
                "gone=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "not a cookie",
            ] {
                headers.append("set-cookie", HeaderValue::from_static(value));
            }
        }
        response
    })
    .await
}

#[tokio::test]
async fn a_store_of_ones_own_sends_and_receives_the_cookies() {
    let server = server().await;
    let store = Arc::new(Recording::default());
    let client = Client::builder()
        .cookie_provider(store.clone())
        .build()
        .unwrap();
    within(10, client.get(server.url("/set")).send())
        .await
        .unwrap();
    assert_eq!(server.last_request().header("cookie"), Some("from=store"));
    let stored = store.stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 4);
    assert!(stored.iter().all(|(path, _)| path == "/set"));
    assert_eq!(
        stored[0].1,
        "session=abc; Path=/; HttpOnly; Secure; SameSite=Strict"
    );

    // `cookie_store(true)` after a provider replaces it with a fresh jar, as in reqwest.
    let replaced = Client::builder()
        .cookie_provider(store.clone())
        .cookie_store(true)
        .build()
        .unwrap();
    within(10, replaced.get(server.url("/set")).send())
        .await
        .unwrap();
    assert_eq!(server.last_request().header("cookie"), None);
    assert_eq!(store.stored.lock().unwrap().len(), 4);
    within(10, replaced.get(server.url("/again")).send())
        .await
        .unwrap();
    // The fresh jar kept the cookie valid for plain http (not the Secure one, not the expired one).
    assert_eq!(server.last_request().header("cookie"), Some("theme=dark"));
}

#[tokio::test]
async fn response_cookies_are_parsed_with_reqwests_accessors() {
    let server = server().await;
    let response = within(10, Client::new().get(server.url("/set")).send())
        .await
        .unwrap();
    let cookies: Vec<_> = response.cookies().collect();
    assert_eq!(cookies.len(), 3, "{cookies:?}");

    let session = &cookies[0];
    assert_eq!((session.name(), session.value()), ("session", "abc"));
    assert_eq!(session.path(), Some("/"));
    assert!(session.http_only() && session.secure() && session.same_site_strict());
    assert!(!session.same_site_lax());
    assert_eq!(session.max_age(), None);

    let theme = &cookies[1];
    assert_eq!(theme.max_age(), Some(Duration::from_secs(3600)));
    assert_eq!(theme.domain(), Some("127.0.0.1"));
    assert!(theme.same_site_lax() && !theme.secure() && !theme.http_only());

    let gone = &cookies[2];
    assert_eq!(gone.value(), "");
    assert_eq!(gone.expires(), Some(SystemTime::UNIX_EPOCH));
    // Debug output does not show values unless asked with {:#?}.
    assert!(!format!("{session:?}").contains("abc"));
}

/// A Netscape cookie file with a line that is not UTF-8 (curl keeps a cookie's bytes as they came)
/// loads the other lines, which the client then sends; the unusable line is skipped as any other.
#[tokio::test]
async fn a_netscape_file_with_a_line_not_utf8_loads_the_rest() {
    let jar = Arc::new(courier::cookie::Jar::default());
    let file = b"# Netscape HTTP Cookie File\r\n\
        127.0.0.1\tFALSE\t/\tFALSE\t0\tkeep\t1\r\n\
        127.0.0.1\tFALSE\t/\tFALSE\t0\tlatin\tcaf\xe9\n";
    assert_eq!(jar.load_netscape(&file[..]).unwrap(), 1);
    let server = TestServer::start(|req| async move { echo(&req) }).await;
    let client = Client::builder().cookie_provider(jar).build().unwrap();
    within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(server.last_request().header("cookie"), Some("keep=1"));
}

/// `Expires` as a point in time, before the Unix epoch too (the year 1000 is a valid cookie date;
/// where `SystemTime` cannot hold it, as on Windows, it is `None` rather than a panic).
#[tokio::test]
async fn expires_far_from_the_epoch_is_a_point_in_time() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .header(
                "set-cookie",
                "later=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT",
            )
            .header("set-cookie", "old=1; Expires=01 Jan 1000 00:00:00 GMT")
            .body(courier_testkit::full(""))
            .unwrap()
    })
    .await;
    let response = within(10, Client::new().get(server.url("/")).send())
        .await
        .unwrap();
    let expires: Vec<_> = response.cookies().map(|c| c.expires()).collect();
    assert_eq!(
        expires[0],
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(4_096_250_880))
    );
    let expected_old = SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(30_610_224_000));
    assert!(expected_old.is_some() || cfg!(windows));
    assert_eq!(expires[1], expected_old);
}
