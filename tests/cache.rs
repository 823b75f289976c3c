//! The HTTP cache end to end: a `Client` with a `Cache` against in-process origins that count their
//! requests, with a clock the test moves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use courier::cache::{Cache, CacheMode, CacheStatus};
use courier::{Client, StatusCode};
use courier_testkit::client::within;
use courier_testkit::{full, slow, Recorded, ServerBody, TestServer};
use http::Response;

/// A clock the test moves, starting on a whole second so `Date` headers are exact.
#[derive(Clone)]
struct Clock(Arc<Mutex<SystemTime>>);

impl Clock {
    fn new() -> Clock {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        Clock(Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(secs))))
    }

    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }

    fn advance(&self, secs: u64) {
        *self.0.lock().unwrap() += Duration::from_secs(secs);
    }

    fn date(&self) -> String {
        httpdate::fmt_http_date(self.now())
    }

    fn cache(&self) -> Cache {
        let clock = self.clone();
        Cache::in_memory().clock(move || clock.now())
    }
}

fn client(cache: &Cache) -> Client {
    Client::builder().cache(cache.clone()).build().unwrap()
}

/// `200` with `body`, `Date` from the test clock, and the headers given.
fn ok(clock: &Clock, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<ServerBody> {
    let mut builder = Response::builder().header("date", clock.date());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(full(body)).unwrap()
}

async fn get(client: &Client, url: &str) -> (CacheStatus, StatusCode, String, http::HeaderMap) {
    within(10, async {
        let response = client.get(url).send().await.unwrap();
        let status = response.cache_status();
        let code = response.status();
        let headers = response.headers().clone();
        (status, code, response.text().await.unwrap(), headers)
    })
    .await
}

fn cache_status(headers: &http::HeaderMap) -> &str {
    headers["cache-status"].to_str().unwrap()
}

#[tokio::test]
async fn fresh_hit_sends_no_request() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move { ok(&c, &[("cache-control", "max-age=60")], "hello") }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/hello");

    let (status, code, body, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Miss { stored: true });
    assert_eq!((code, body.as_str()), (StatusCode::OK, "hello"));
    assert_eq!(
        cache_status(&headers),
        "courier; fwd=uri-miss; fwd-status=200; stored"
    );

    clock.advance(20);
    let (status, code, body, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!((code, body.as_str()), (StatusCode::OK, "hello"));
    assert_eq!(headers["age"], "20");
    assert_eq!(headers["content-length"], "5");
    assert_eq!(cache_status(&headers), "courier; hit; ttl=40");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn stale_entry_is_revalidated_by_etag_then_hit() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            if req.header("if-none-match") == Some("W/\"v1\"") {
                Response::builder()
                    .status(304)
                    .header("date", c.date())
                    .header("etag", "W/\"v1\"")
                    .header("cache-control", "max-age=100")
                    .header("x-revalidated", "yes")
                    .body(courier_testkit::empty())
                    .unwrap()
            } else {
                ok(
                    &c,
                    &[("cache-control", "max-age=10"), ("etag", "W/\"v1\"")],
                    "body v1",
                )
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/doc");
    assert_eq!(
        get(&client, &url).await.0,
        CacheStatus::Miss { stored: true }
    );

    clock.advance(30);
    let (status, code, body, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Revalidated);
    assert_eq!((code, body.as_str()), (StatusCode::OK, "body v1"));
    assert_eq!(headers["x-revalidated"], "yes");
    assert_eq!(headers["content-length"], "7");
    assert_eq!(
        cache_status(&headers),
        "courier; fwd=stale; fwd-status=304; ttl=100"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("if-none-match"), Some("W/\"v1\""));

    // The 304's max-age=100 now applies.
    clock.advance(50);
    let (status, _, body, _) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "body v1"));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_304_that_forbids_storing_takes_the_entry_out() {
    // The 304 says no-store or Vary: *, or the request said no-store (`request` = true).
    for (forbidding, request) in [
        (("cache-control", "no-store"), false),
        (("vary", "*"), false),
        (("x-nothing", "1"), true),
    ] {
        let clock = Clock::new();
        let c = clock.clone();
        let server = TestServer::start(move |req: Recorded| {
            let c = c.clone();
            async move {
                if req.header("if-none-match") == Some("\"v1\"") {
                    Response::builder()
                        .status(304)
                        .header("date", c.date())
                        .header("etag", "\"v1\"")
                        .header(forbidding.0, forbidding.1)
                        .body(courier_testkit::empty())
                        .unwrap()
                } else {
                    // Last-Modified long ago: heuristically fresh for days once max-age is gone.
                    ok(
                        &c,
                        &[
                            ("cache-control", "max-age=10"),
                            ("etag", "\"v1\""),
                            ("last-modified", "Mon, 01 Jan 2001 00:00:00 GMT"),
                        ],
                        "body v1",
                    )
                }
            }
        })
        .await;
        let client = client(&clock.cache());
        let url = server.url("/doc");
        get(&client, &url).await;
        clock.advance(30);

        let (status, body) = if request {
            let response = within(
                10,
                client.get(&url).header("cache-control", "no-store").send(),
            )
            .await
            .unwrap();
            (response.cache_status(), response.text().await.unwrap())
        } else {
            let (status, _, body, _) = get(&client, &url).await;
            (status, body)
        };
        assert_eq!(
            (status, body.as_str()),
            (CacheStatus::Revalidated, "body v1"),
            "{forbidding:?}"
        );

        // Served that once: the next request goes to the origin, with nothing to revalidate.
        let (status, _, _, _) = get(&client, &url).await;
        assert_eq!(status, CacheStatus::Miss { stored: true }, "{forbidding:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 3, "{forbidding:?}");
        assert_eq!(requests[2].header("if-none-match"), None, "{forbidding:?}");
    }
}

#[tokio::test]
async fn clients_sharing_a_cache_get_the_variant_for_their_own_language_and_user_agent() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        let body = format!(
            "{} {}",
            req.header("accept-language").unwrap_or("-"),
            req.header("user-agent").unwrap_or("-")
        );
        async move {
            ok(
                &c,
                &[
                    ("cache-control", "max-age=600"),
                    ("vary", "Accept-Language, User-Agent"),
                ],
                body,
            )
        }
    })
    .await;
    let cache = clock.cache();
    let client_with = |lang: &str, agent: &str| {
        Client::builder()
            .cache(cache.clone())
            .accept_language(courier::AcceptLanguage::new().lang(lang))
            .user_agent(agent)
            .build()
            .unwrap()
    };
    let url = server.url("/page");

    let (status, _, body, _) = get(&client_with("fr", "a/1"), &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "fr a/1")
    );
    let (status, _, body, _) = get(&client_with("fr", "a/1"), &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "fr a/1"));
    // Another language, then another user agent: misses, never the other client's variant.
    let (status, _, body, _) = get(&client_with("de", "a/1"), &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "de a/1")
    );
    let (status, _, body, _) = get(&client_with("de", "b/2"), &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "de b/2")
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn only_if_cached_never_reaches_the_network() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=10, stale-while-revalidate=60")],
                "v1",
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/offline");
    get(&client, &url).await;
    clock.advance(30);
    let offline = |request: courier::RequestBuilder| async move {
        let response = within(10, request.header("cache-control", "only-if-cached").send())
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };

    // Within stale-while-revalidate: the stale response, and no background request.
    assert_eq!(
        offline(client.get(&url)).await,
        (StatusCode::OK, "v1".to_owned())
    );
    // A range or the caller's own validators would pass the cache by: a 504 instead.
    let (status, _) = offline(client.get(&url).header("range", "bytes=0-0")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let (status, _) = offline(client.get(&url).header("if-none-match", "\"x\"")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    // Nor does any other method.
    let (status, _) = offline(client.post(&url).body("x")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let (status, _) = offline(client.request(http::Method::OPTIONS, &url)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn no_cache_response_is_validated_by_last_modified_every_time() {
    let clock = Clock::new();
    let c = clock.clone();
    let modified = httpdate::fmt_http_date(clock.now() - Duration::from_secs(3600));
    let m = modified.clone();
    let server = TestServer::start(move |req: Recorded| {
        let (c, m) = (c.clone(), m.clone());
        async move {
            if req.header("if-modified-since") == Some(m.as_str()) {
                Response::builder()
                    .status(304)
                    .header("date", c.date())
                    .body(courier_testkit::empty())
                    .unwrap()
            } else {
                ok(
                    &c,
                    &[("cache-control", "no-cache"), ("last-modified", &m)],
                    "v",
                )
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/nc");
    assert_eq!(
        get(&client, &url).await.0,
        CacheStatus::Miss { stored: true }
    );
    for _ in 0..2 {
        let (status, _, body, _) = get(&client, &url).await;
        assert_eq!((status, body.as_str()), (CacheStatus::Revalidated, "v"));
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[2].header("if-modified-since"),
        Some(modified.as_str())
    );
    assert_eq!(requests[2].header("if-none-match"), None);
}

#[tokio::test]
async fn vary_mismatch_goes_to_the_origin() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        let lang = req.header("accept-language").unwrap_or("none").to_owned();
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=60"), ("vary", "Accept-Language")],
                lang,
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/v");
    let send = |lang: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = within(10, client.get(&url).header("accept-language", lang).send())
                .await
                .unwrap();
            let status = response.cache_status();
            let headers = response.headers().clone();
            (status, response.text().await.unwrap(), headers)
        }
    };
    assert_eq!(send("en ,  fr").await.0, CacheStatus::Miss { stored: true });
    // Whitespace around list elements is normalised.
    let (status, body, _) = send("en, fr").await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "en ,  fr"));
    let (status, body, headers) = send("fr").await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "fr")
    );
    assert!(cache_status(&headers).contains("fwd=vary-miss"));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn unsafe_requests_invalidate_target_and_same_origin_locations() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            match req.method.as_str() {
                "POST" => Response::builder()
                    .status(201)
                    .header("location", "/b")
                    .header("content-location", "http://127.0.0.2:1/c")
                    .body(courier_testkit::empty())
                    .unwrap(),
                "DELETE" => Response::builder()
                    .status(404)
                    .body(courier_testkit::empty())
                    .unwrap(),
                _ => ok(
                    &c,
                    &[("cache-control", "max-age=60")],
                    req.path().to_owned(),
                ),
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    for path in ["/a", "/b", "/c"] {
        get(&client, &server.url(path)).await;
    }
    // A failed unsafe request invalidates nothing.
    let response = within(10, client.delete(server.url("/a")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.cache_status(), CacheStatus::Bypass);
    assert_eq!(get(&client, &server.url("/a")).await.0, CacheStatus::Hit);

    let response = within(10, client.post(server.url("/a")).body("x").send())
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        get(&client, &server.url("/a")).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(
        get(&client, &server.url("/b")).await.0,
        CacheStatus::Miss { stored: true }
    );
    // Another origin's URI in Content-Location is not touched; /c was not named.
    assert_eq!(get(&client, &server.url("/c")).await.0, CacheStatus::Hit);
    assert_eq!(server.requests().len(), 3 + 2 + 2);
}

#[tokio::test]
async fn heuristic_freshness_is_a_tenth_of_the_age_of_last_modified() {
    let clock = Clock::new();
    let c = clock.clone();
    let modified = httpdate::fmt_http_date(clock.now() - Duration::from_secs(1000));
    let server = TestServer::start(move |req: Recorded| {
        let (c, m) = (c.clone(), modified.clone());
        async move {
            if req.path() == "/found" {
                // 302 is not heuristically cacheable.
                return Response::builder()
                    .status(302)
                    .header("location", "/h")
                    .header("last-modified", m)
                    .body(courier_testkit::empty())
                    .unwrap();
            }
            ok(&c, &[("last-modified", &m)], "h")
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/h");
    assert_eq!(
        get(&client, &url).await.0,
        CacheStatus::Miss { stored: true }
    );
    clock.advance(99);
    let (status, _, _, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!(cache_status(&headers), "courier; hit; ttl=1");
    clock.advance(2);
    let (status, _, _, _) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Miss { stored: true });
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].header("if-modified-since").is_some());

    let no_redirects = Client::builder()
        .cache(clock.cache())
        .redirect(courier::redirect::Policy::none())
        .build()
        .unwrap();
    let (status, code, _, _) = get(&no_redirects, &server.url("/found")).await;
    assert_eq!(
        (status, code),
        (CacheStatus::Miss { stored: false }, StatusCode::FOUND)
    );
}

#[tokio::test]
async fn stale_while_revalidate_serves_stale_and_updates_once() {
    let clock = Clock::new();
    let c = clock.clone();
    let version = Arc::new(AtomicUsize::new(0));
    let v = version.clone();
    let release = Arc::new(tokio::sync::Notify::new());
    let r = release.clone();
    let server = TestServer::start(move |_| {
        let (c, r) = (c.clone(), r.clone());
        let n = v.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n > 1 {
                // The revalidation waits until the stale requests below have all been answered.
                r.notified().await;
            }
            ok(
                &c,
                &[("cache-control", "max-age=10, stale-while-revalidate=60")],
                format!("v{n}"),
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/swr");
    assert_eq!(get(&client, &url).await.2, "v1");
    clock.advance(30);
    for _ in 0..3 {
        let (status, _, body, headers) = get(&client, &url).await;
        assert_eq!((status, body.as_str()), (CacheStatus::Stale, "v1"));
        assert_eq!(
            cache_status(&headers),
            "courier; hit; ttl=-20; detail=stale-while-revalidate"
        );
    }
    release.notify_one();
    within(10, async {
        loop {
            let (status, _, body, _) = get(&client, &url).await;
            if status == CacheStatus::Hit {
                assert_eq!(body, "v2");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(server.requests().len(), 2, "one background revalidation");
}

/// A body that sends 16 KiB chunks until dropped, then raises `dropped`.
fn endless(dropped: Arc<tokio::sync::Notify>) -> ServerBody {
    use http_body_util::BodyExt;

    struct OnDrop(Arc<tokio::sync::Notify>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }
    let guard = OnDrop(dropped);
    let stream = futures_util::stream::unfold(guard, |guard| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
        Some((Ok(http_body::Frame::data(chunk)), guard))
    });
    http_body_util::StreamBody::new(stream).boxed()
}

#[tokio::test]
async fn a_background_revalidation_stops_reading_a_body_it_cannot_store() {
    for directives in [
        // Not storable at all: nothing of it is read.
        "no-store",
        // Storable, but it never ends: read up to the entry limit, then dropped.
        "max-age=10, stale-while-revalidate=60",
    ] {
        let clock = Clock::new();
        let c = clock.clone();
        let dropped = Arc::new(tokio::sync::Notify::new());
        let d = dropped.clone();
        let requests = Arc::new(AtomicUsize::new(0));
        let r = requests.clone();
        let server = TestServer::start(move |_| {
            let first = r.fetch_add(1, Ordering::SeqCst) == 0;
            let (c, d) = (c.clone(), d.clone());
            async move {
                if first {
                    return ok(
                        &c,
                        &[("cache-control", "max-age=10, stale-while-revalidate=60")],
                        "v1",
                    );
                }
                Response::builder()
                    .header("date", c.date())
                    .header("cache-control", directives)
                    .body(endless(d))
                    .unwrap()
            }
        })
        .await;
        let cache = clock.cache().max_entry_size(256 * 1024);
        let client = client(&cache);
        let url = server.url("/endless");
        assert_eq!(get(&client, &url).await.2, "v1");
        clock.advance(30);

        let (status, _, body, _) = get(&client, &url).await;

        assert_eq!(
            (status, body.as_str()),
            (CacheStatus::Stale, "v1"),
            "{directives}"
        );
        // The background request's body is let go of well before the 60 s limit, never read forever.
        tokio::time::timeout(Duration::from_secs(10), dropped.notified())
            .await
            .unwrap_or_else(|_| panic!("{directives}: the endless body is still being read"));
        assert_eq!(requests.load(Ordering::SeqCst), 2, "{directives}");
        // Nothing was stored in its place.
        assert_eq!(get(&client, &url).await.2, "v1", "{directives}");
    }
}

#[tokio::test]
async fn stale_if_error_covers_a_503() {
    let clock = Clock::new();
    let c = clock.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        let first = n.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if first {
                ok(
                    &c,
                    &[("cache-control", "max-age=10, stale-if-error=60")],
                    "good",
                )
            } else {
                courier_testkit::respond(503, "down")
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/sie");
    get(&client, &url).await;
    clock.advance(30);
    let (status, code, body, headers) = get(&client, &url).await;
    assert_eq!(
        (status, code, body.as_str()),
        (CacheStatus::Stale, StatusCode::OK, "good")
    );
    // Not a hit: the cache went to the origin, which failed (RFC 9211 §2.2, §2.3).
    assert_eq!(
        cache_status(&headers),
        "courier; fwd=stale; fwd-status=503; ttl=-20; detail=stale-if-error"
    );
    // Past the window, the error comes through.
    clock.advance(60);
    let (status, code, body, _) = get(&client, &url).await;
    assert_eq!(
        (status, code, body.as_str()),
        (
            CacheStatus::Miss { stored: false },
            StatusCode::SERVICE_UNAVAILABLE,
            "down"
        )
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn stale_if_error_covers_a_refused_connection_for_a_second_client() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=10, stale-if-error=60")],
                "kept",
            )
        }
    })
    .await;
    // One URL, by a name each client resolves itself: the first to the origin, the second to an
    // address with nothing listening on the URL's port (bound, then dropped).
    let port = server.addr().port();
    let url = format!("http://origin.test:{port}/gone");
    let closed = std::net::TcpListener::bind(("127.0.0.2", port))
        .unwrap()
        .local_addr()
        .unwrap();
    let cache = clock.cache();
    let first = Client::builder()
        .cache(cache.clone())
        .resolve("origin.test", server.addr())
        .build()
        .unwrap();
    assert_eq!(get(&first, &url).await.2, "kept");
    clock.advance(30);
    let other = Client::builder()
        .cache(cache.clone())
        .resolve("origin.test", closed)
        .build()
        .unwrap();
    let (status, _, body, headers) = get(&other, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Stale, "kept"));
    assert_eq!(
        cache_status(&headers),
        "courier; fwd=stale; ttl=-20; detail=stale-if-error"
    );
    clock.advance(100);
    let err = within(10, other.get(&url).send()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn disk_cache_survives_reopen() {
    let dir = std::env::temp_dir().join(format!("courier-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[
                    ("cache-control", "max-age=60"),
                    ("set-cookie", "a=1"),
                    ("set-cookie", "b=2"),
                ],
                vec![7u8; 100_000],
            )
        }
    })
    .await;
    let url = server.url("/disk");
    {
        let cl = clock.clone();
        let cache = Cache::on_disk(&dir).unwrap().clock(move || cl.now());
        let (status, _, _, headers) = get(&client(&cache), &url).await;
        assert_eq!(status, CacheStatus::Miss { stored: true });
        assert_eq!(headers.get_all("set-cookie").iter().count(), 2);
    }
    let cl = clock.clone();
    let cache = Cache::on_disk(&dir).unwrap().clock(move || cl.now());
    let response = within(10, client(&cache).get(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Hit);
    // Cookies are stored but never served from the cache.
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(response.bytes().await.unwrap(), vec![7u8; 100_000]);
    assert_eq!(server.requests().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn size_bound_evicts_least_recently_used() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=60")],
                vec![b'x'; 1000 + req.path().len()],
            )
        }
    })
    .await;
    // Room for two entries of a 1 KiB body (about 1.5 KiB each with their heads and vary keys), not
    // three.
    let cache = clock.cache().max_size(3500);
    let client = client(&cache);
    get(&client, &server.url("/1")).await;
    get(&client, &server.url("/2")).await;
    assert_eq!(get(&client, &server.url("/1")).await.0, CacheStatus::Hit);
    get(&client, &server.url("/3")).await; // evicts /2
    assert!(cache.size() <= 3500);
    assert_eq!(get(&client, &server.url("/1")).await.0, CacheStatus::Hit);
    assert_eq!(
        get(&client, &server.url("/2")).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn a_half_read_body_is_not_stored_and_large_bodies_pass_unstored() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            if req.path() == "/big" {
                return ok(&c, &[("cache-control", "max-age=60")], vec![1u8; 5000]);
            }
            Response::builder()
                .header("date", c.date())
                .header("cache-control", "max-age=60")
                .body(slow(
                    vec![Bytes::from_static(b"first "), Bytes::from_static(b"second")],
                    Duration::from_millis(20),
                ))
                .unwrap()
        }
    })
    .await;
    let cache = clock.cache().max_entry_size(4096);
    let client = client(&cache);
    let url = server.url("/slow");
    let mut response = within(10, client.get(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Miss { stored: true });
    assert_eq!(response.chunk().await.unwrap().unwrap(), "first ");
    drop(response);
    assert_eq!(cache.size(), 0);
    let (status, _, body, _) = get(&client, &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "first second")
    );
    let (status, _, body, _) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "first second"));
    assert_eq!(server.requests().len(), 2);

    let big = server.url("/big");
    for _ in 0..2 {
        let response = within(10, client.get(&big).send()).await.unwrap();
        assert_eq!(response.cache_status(), CacheStatus::Miss { stored: false });
        assert_eq!(response.bytes().await.unwrap().len(), 5000);
    }
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn concurrent_readers_of_one_entry() {
    let clock = Clock::new();
    let c = clock.clone();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let expected = body.clone();
    let server = TestServer::start(move |_| {
        let (c, body) = (c.clone(), body.clone());
        async move { ok(&c, &[("cache-control", "max-age=60")], body) }
    })
    .await;
    let cache = clock.cache();
    let url = server.url("/shared");
    let first = within(10, client(&cache).get(&url).send()).await.unwrap();
    assert_eq!(first.bytes().await.unwrap(), expected);
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let client = client(&cache);
            let url = url.clone();
            tokio::spawn(async move {
                let response = client.get(&url).send().await.unwrap();
                (response.cache_status(), response.bytes().await.unwrap())
            })
        })
        .collect();
    for reader in readers {
        let (status, bytes) = within(10, reader).await.unwrap();
        assert_eq!(status, CacheStatus::Hit);
        assert_eq!(bytes, expected);
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn head_is_answered_from_a_stored_get() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=60"), ("etag", "\"e\"")],
                "twelve bytes",
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/h");
    get(&client, &url).await;
    let response = within(10, client.head(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Hit);
    assert_eq!(response.headers()["content-length"], "12");
    assert_eq!(response.headers()["etag"], "\"e\"");
    assert_eq!(response.bytes().await.unwrap().len(), 0);
    assert_eq!(server.requests().len(), 1);
}

/// A request carrying `KeepEncoded` (its response wanted as sent) passes the cache by, even with no
/// `Accept-Encoding` of its own: what it receives may still be content-coded, and stored, it would be
/// served undecoded to a plain request after it. (Courier's downloader also sends `identity`, which
/// the cache tells apart anyway; a stack of one's own need not.)
#[tokio::test]
async fn a_response_kept_encoded_is_neither_stored_nor_served_from_the_cache() {
    use courier_core::cache::CachingLayer;
    use courier_core::decompression::{DecompressionLayer, KeepEncoded};
    use http_body_util::BodyExt;
    use std::io::Write as _;
    use tower::{Layer, ServiceExt};
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"plain text").unwrap();
    let gzipped = Bytes::from(encoder.finish().unwrap());
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let (c, gzipped) = (c.clone(), gzipped.clone());
        async move {
            // Always gzip, as a server storing the file compressed does.
            let mut response = ok(&c, &[("cache-control", "max-age=600")], gzipped);
            response
                .headers_mut()
                .insert("content-encoding", http::HeaderValue::from_static("gzip"));
            response
        }
    })
    .await;
    let stack = CachingLayer::new(clock.cache()).layer(
        DecompressionLayer::new().layer(
            courier_core::transport::Transport::builder()
                .build()
                .unwrap(),
        ),
    );
    let request = |keep: bool| {
        let mut request = http::Request::get(server.url("/file"))
            .body(courier_core::Body::empty())
            .unwrap();
        if keep {
            request.extensions_mut().insert(KeepEncoded);
        }
        request
    };
    let kept = within(10, stack.clone().oneshot(request(true)))
        .await
        .unwrap();
    assert_eq!(kept.headers()["content-encoding"], "gzip");
    let bytes = within(10, kept.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);

    let plain = within(10, stack.clone().oneshot(request(false)))
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let text = within(10, plain.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&text[..], b"plain text");
    assert_eq!(server.requests().len(), 2);

    // Nor is it served the plain request's stored (decoded) answer: it goes to the server again.
    let kept = within(10, stack.oneshot(request(true))).await.unwrap();
    let bytes = within(10, kept.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    assert_eq!(server.requests().len(), 3);
}

/// An upgrade (a WebSocket handshake) asks for a connection, not a representation: a stored page
/// for its URL does not answer it, and what answers it is not stored.
#[tokio::test]
async fn an_upgrade_request_passes_the_cache_by() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            let upgrade = req.headers.contains_key("upgrade");
            ok(
                &c,
                &[("cache-control", "max-age=600")],
                if upgrade {
                    "upgrade refused"
                } else {
                    "landing page"
                },
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/ws");
    assert_eq!(get(&client, &url).await.2, "landing page");
    let handshake = || {
        client
            .get(&url)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .send()
    };
    for _ in 0..2 {
        let response = within(10, handshake()).await.unwrap();
        assert_eq!(response.cache_status(), CacheStatus::Bypass);
        assert_eq!(response.text().await.unwrap(), "upgrade refused");
    }
    // The plain page is still the stored one.
    let (status, _, text, _) = get(&client, &url).await;
    assert_eq!((status, text.as_str()), (CacheStatus::Hit, "landing page"));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn every_redirect_hop_can_be_a_hit() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            if req.path() == "/old" {
                Response::builder()
                    .status(301)
                    .header("location", "/new")
                    .header("cache-control", "max-age=600")
                    // As real servers send them: a small page with the redirect.
                    .body(courier_testkit::full(
                        "Moved Permanently. Redirecting to /new",
                    ))
                    .unwrap()
            } else {
                ok(&c, &[("cache-control", "max-age=60")], "new")
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/old");
    assert_eq!(get(&client, &url).await.2, "new");
    let response = within(10, client.get(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Hit);
    assert_eq!(response.url().path(), "/new");
    assert_eq!(
        response.history()[0].status(),
        StatusCode::MOVED_PERMANENTLY
    );
    assert_eq!(response.text().await.unwrap(), "new");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn cache_modes_and_request_directives() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move { ok(&c, &[("cache-control", "max-age=10")], "m") }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/m");
    let send = |mode: CacheMode| {
        let request = client.get(&url).cache_mode(mode);
        async move {
            let response = within(10, request.send()).await.unwrap();
            let result = (response.cache_status(), response.status());
            // Read to the end, so a response being stored is stored.
            response.bytes().await.unwrap();
            result
        }
    };
    // Nothing stored: only-if-cached is a 504 without a request.
    assert_eq!(
        send(CacheMode::OnlyIfCached).await,
        (
            CacheStatus::Miss { stored: false },
            StatusCode::GATEWAY_TIMEOUT
        )
    );
    assert_eq!(server.requests().len(), 0);
    assert_eq!(
        send(CacheMode::NoStore).await,
        (CacheStatus::Bypass, StatusCode::OK)
    );
    assert_eq!(
        send(CacheMode::OnlyIfCached).await.1,
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(
        send(CacheMode::Default).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(send(CacheMode::Default).await.0, CacheStatus::Hit);
    assert_eq!(
        send(CacheMode::Reload).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(
        send(CacheMode::NoCache).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(server.requests().len(), 4);
    clock.advance(100);
    assert_eq!(send(CacheMode::ForceCache).await.0, CacheStatus::Stale);
    assert_eq!(send(CacheMode::OnlyIfCached).await.0, CacheStatus::Stale);
    assert_eq!(server.requests().len(), 4);
    // Request directives: max-stale accepts it, Pragma: no-cache does not.
    let response = within(
        10,
        client
            .get(&url)
            .header("cache-control", "max-stale=100")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Stale);
    let response = within(10, client.get(&url).header("pragma", "no-cache").send())
        .await
        .unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Miss { stored: true });
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test]
async fn no_store_and_uncacheable_responses_are_not_stored() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            match req.path() {
                "/no-store" => ok(&c, &[("cache-control", "no-store, max-age=60")], "n"),
                "/vary-star" => ok(&c, &[("cache-control", "max-age=60"), ("vary", "*")], "v"),
                _ => ok(&c, &[("cache-control", "private, max-age=60")], "p"),
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    for path in ["/no-store", "/vary-star"] {
        for _ in 0..2 {
            assert_eq!(
                get(&client, &server.url(path)).await.0,
                CacheStatus::Miss { stored: false }
            );
        }
    }
    // `private` is storable in a private cache, with Authorization too; a stored response is used only
    // for the same credentials.
    let url = server.url("/private");
    let bearer = |token: &'static str| {
        let request = client.get(&url).bearer_auth(token);
        async move {
            let response = within(10, request.send()).await.unwrap();
            let status = response.cache_status();
            response.bytes().await.unwrap();
            status
        }
    };
    assert_eq!(bearer("alice").await, CacheStatus::Miss { stored: true });
    assert_eq!(bearer("alice").await, CacheStatus::Hit);
    assert_eq!(bearer("bob").await, CacheStatus::Miss { stored: true });
    assert_eq!(
        get(&client, &url).await.0,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(server.requests().len(), 7);
}

#[tokio::test]
async fn without_a_cache_nothing_changes() {
    let server = TestServer::start(|_| async { courier_testkit::respond(200, "x") }).await;
    let client = Client::new();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Bypass);
    assert!(response.headers().get("cache-status").is_none());
}

#[tokio::test]
async fn a_head_response_with_matching_validators_refreshes_the_stored_get() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        async move {
            if req.method == http::Method::HEAD {
                ok(
                    &c,
                    &[
                        ("cache-control", "max-age=100"),
                        ("etag", "\"e\""),
                        ("x-from", "head"),
                    ],
                    "",
                )
            } else {
                ok(
                    &c,
                    &[("cache-control", "max-age=10"), ("etag", "\"e\"")],
                    "get body",
                )
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/h");
    get(&client, &url).await;
    clock.advance(20);
    let response = within(10, client.head(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Miss { stored: false });
    assert_eq!(response.headers()["x-from"], "head");
    // The stored GET now has the HEAD's freshness and headers, and its own body.
    let (status, _, body, headers) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "get body"));
    assert_eq!(headers["x-from"], "head");
    assert_eq!(headers["content-length"], "8");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_304_for_another_representation_is_not_served_from_the_entry() {
    let clock = Clock::new();
    let c = clock.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        let call = n.fetch_add(1, Ordering::SeqCst);
        async move {
            if req.header("if-none-match").is_some() {
                // A confused origin: a 304 naming an ETag the cache never stored.
                return Response::builder()
                    .status(304)
                    .header("etag", "\"other\"")
                    .body(courier_testkit::empty())
                    .unwrap();
            }
            ok(
                &c,
                &[("cache-control", "max-age=10"), ("etag", "\"mine\"")],
                format!("call {call}"),
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/r");
    assert_eq!(get(&client, &url).await.2, "call 0");
    clock.advance(20);
    // The entry is dropped and the request sent again unconditionally.
    let (status, code, body, _) = get(&client, &url).await;
    assert_eq!(
        (status, code, body.as_str()),
        (CacheStatus::Miss { stored: true }, StatusCode::OK, "call 2")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].header("if-none-match"), Some("\"mine\""));
    assert_eq!(requests[2].header("if-none-match"), None);
}

#[tokio::test]
async fn a_body_stored_encoded_never_reaches_a_caller_expecting_it_decoded() {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"plain text").unwrap();
    let gzipped = Bytes::from(encoder.finish().unwrap());
    let clock = Clock::new();
    let c = clock.clone();
    // No `Vary: Accept-Encoding`: the origin gzips whatever was asked.
    let server = TestServer::start(move |_| {
        let (c, gzipped) = (c.clone(), gzipped.clone());
        async move {
            ok(
                &c,
                &[
                    ("cache-control", "max-age=60"),
                    ("content-encoding", "gzip"),
                ],
                gzipped,
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/gz");
    // The caller's own Accept-Encoding: sent as is, the answer decoded (and stored) all the same.
    let own = within(
        10,
        client.get(&url).header("accept-encoding", "gzip").send(),
    )
    .await
    .unwrap();
    assert!(own.headers().get("content-encoding").is_none());
    assert_eq!(own.text().await.unwrap(), "plain text");
    // Stored under that Accept-Encoding: a default request (another one) goes to the origin.
    let (status, _, body, headers) = get(&client, &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Miss { stored: true }, "plain text")
    );
    assert!(cache_status(&headers).contains("fwd=vary-miss"));
    let (status, _, body, _) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "plain text"));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_head_during_stale_while_revalidate_revalidates_with_a_get() {
    let clock = Clock::new();
    let c = clock.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        let call = n.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            ok(
                &c,
                &[("cache-control", "max-age=10, stale-while-revalidate=60")],
                format!("v{call}"),
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/swr-head");
    assert_eq!(get(&client, &url).await.2, "v1");
    clock.advance(30);
    let response = within(10, client.head(&url).send()).await.unwrap();
    assert_eq!(response.cache_status(), CacheStatus::Stale);
    assert_eq!(response.headers()["content-length"], "2");
    // The background revalidation is a GET, and its response replaces the entry whole.
    within(10, async {
        while server.requests().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(server.requests()[1].method, http::Method::GET);
    within(10, async {
        loop {
            let (status, _, body, headers) = get(&client, &url).await;
            if status == CacheStatus::Hit {
                assert_eq!(body, "v2");
                assert_eq!(headers["content-length"], "2");
                break;
            }
            assert_eq!(body, "v1");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_head_or_304_never_labels_the_decoded_stored_body_as_encoded() {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"plain text").unwrap();
    let gzipped = Bytes::from(encoder.finish().unwrap());
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |req: Recorded| {
        let (c, gzipped) = (c.clone(), gzipped.clone());
        async move {
            let len = gzipped.len().to_string();
            let encoded = [
                ("cache-control", "max-age=10"),
                ("etag", "\"g\""),
                ("content-encoding", "gzip"),
            ];
            if req.header("if-none-match").is_some() {
                let mut builder = Response::builder().status(304).header("date", c.date());
                for (name, value) in encoded {
                    builder = builder.header(name, value);
                }
                return builder
                    .header("content-length", len)
                    .body(courier_testkit::empty())
                    .unwrap();
            }
            ok(&c, &encoded, gzipped)
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/gz-head");
    let (_, _, body, headers) = get(&client, &url).await;
    assert_eq!(body, "plain text");
    assert!(headers.get("content-encoding").is_none());

    // A HEAD with matching validators refreshes the stored GET...
    clock.advance(20);
    let response = within(10, client.head(&url).send()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _, body, headers) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Hit, "plain text"));
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    assert_eq!(headers["content-length"], "10");

    // ...and so does a 304.
    clock.advance(20);
    let (status, _, body, headers) = get(&client, &url).await;
    assert_eq!(
        (status, body.as_str()),
        (CacheStatus::Revalidated, "plain text")
    );
    assert!(headers.get("content-encoding").is_none(), "{headers:?}");
    assert_eq!(headers["content-length"], "10");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_304_restarts_the_age_of_the_entry_it_refreshes() {
    let clock = Clock::new();
    let c = clock.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    let server = TestServer::start(move |req: Recorded| {
        let c = c.clone();
        let call = n.fetch_add(1, Ordering::SeqCst);
        async move {
            if req.header("if-none-match").is_some() {
                // Without an Age: the refreshed entry's age starts again from zero.
                return Response::builder()
                    .status(304)
                    .header("date", c.date())
                    .header("etag", "\"a\"")
                    .header("cache-control", "max-age=100")
                    .header("x-call", call.to_string())
                    .body(courier_testkit::empty())
                    .unwrap();
            }
            // A shared cache upstream held this one for 5 s.
            ok(
                &c,
                &[
                    ("cache-control", "max-age=10"),
                    ("etag", "\"a\""),
                    ("age", "5"),
                ],
                "aged",
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/aged");
    let (_, _, _, headers) = get(&client, &url).await;
    assert_eq!(headers["age"], "5");

    clock.advance(30);
    let (status, _, body, headers) = get(&client, &url).await;
    assert_eq!((status, body.as_str()), (CacheStatus::Revalidated, "aged"));
    assert_eq!(headers["age"], "0");
    assert_eq!(
        cache_status(&headers),
        "courier; fwd=stale; fwd-status=304; ttl=100"
    );

    clock.advance(101);
    let (status, _, _, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Revalidated);
    assert_eq!(headers["age"], "0");
    assert_eq!(headers["x-call"], "2");
    clock.advance(20);
    let (status, _, _, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!(headers["age"], "20");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn every_upstream_cache_status_line_is_kept_before_ours() {
    let clock = Clock::new();
    let c = clock.clone();
    let server = TestServer::start(move |_| {
        let c = c.clone();
        async move {
            ok(
                &c,
                &[
                    ("cache-control", "max-age=60"),
                    ("cache-status", "origin-cache; fwd=uri-miss"),
                    ("cache-status", "edge; hit, cdn; hit"),
                ],
                "layers",
            )
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/layers");
    let (_, _, _, headers) = get(&client, &url).await;
    assert_eq!(headers.get_all("cache-status").iter().count(), 1);
    assert_eq!(
        cache_status(&headers),
        "origin-cache; fwd=uri-miss, edge; hit, cdn; hit, courier; fwd=uri-miss; fwd-status=200; stored"
    );
    let (status, _, _, headers) = get(&client, &url).await;
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!(
        cache_status(&headers),
        "origin-cache; fwd=uri-miss, edge; hit, cdn; hit, courier; hit; ttl=60"
    );
}

/// A `Host` the caller set selects the stored response as a `Vary` header would (`curl -H 'Host: …'
/// http://ip/` to test virtual hosts): one virtual host's response is never served for another.
/// Header values that are not UTF-8 are told apart by their bytes, not by a lossy decoding.
#[tokio::test]
async fn the_callers_host_and_raw_header_bytes_select_the_stored_response() {
    let clock = Clock::new();
    let server = TestServer::start({
        let clock = clock.clone();
        move |req: Recorded| {
            let clock = clock.clone();
            async move {
                let host = req.header("host").unwrap_or_default().to_owned();
                let user = req
                    .headers
                    .get("x-user")
                    .map(|v| {
                        v.as_bytes()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    })
                    .unwrap_or_default();
                ok(
                    &clock,
                    &[("cache-control", "max-age=60"), ("vary", "x-user")],
                    format!("{host} {user}"),
                )
            }
        }
    })
    .await;
    let client = client(&clock.cache());
    let url = server.url("/");
    let send = |host: &'static str, user: &'static [u8]| {
        let request = client
            .get(&url)
            .header("host", host)
            .header("x-user", http::HeaderValue::from_bytes(user).unwrap());
        within(10, async move {
            let response = request.send().await.unwrap();
            (response.cache_status(), response.text().await.unwrap())
        })
    };
    assert_eq!(send("a.test", b"J\xfcrgen").await.1, "a.test 4afc7267656e");
    assert_eq!(
        send("a.test", b"J\xfcrgen").await,
        (CacheStatus::Hit, "a.test 4afc7267656e".to_owned())
    );
    let (status, body) = send("b.test", b"J\xfcrgen").await;
    assert_ne!(status, CacheStatus::Hit);
    assert_eq!(body, "b.test 4afc7267656e");
    let (status, body) = send("b.test", b"J\xf8rgen").await;
    assert_ne!(status, CacheStatus::Hit);
    assert_eq!(body, "b.test 4af87267656e");
    assert_eq!(server.requests().len(), 3);
}

/// A request's own `digest_auth` credentials are answered below the cache: they select the stored
/// response as an `Authorization` header does, so one user's page never answers another's request.
#[tokio::test]
async fn per_request_digest_credentials_select_the_stored_response() {
    let mut digest = courier_testkit::digest::DigestServer::new("SHA-256", Some("auth"));
    digest.users = vec![("ada", "pw1"), ("bob", "pw2")];
    let server = TestServer::start(move |req: Recorded| {
        let digest = digest.clone();
        async move {
            let mut response = digest.handle(&req);
            if response.status() == StatusCode::OK {
                response.headers_mut().insert(
                    "cache-control",
                    http::HeaderValue::from_static("private, max-age=600"),
                );
            }
            response
        }
    })
    .await;
    let client = Client::builder().cache(Cache::in_memory()).build().unwrap();
    let url = server.url("/account");
    let fetch = |user: Option<(&'static str, &'static str)>| {
        let mut request = client.get(&url);
        if let Some((name, password)) = user {
            request = request.digest_auth(name, password);
        }
        async move {
            let response = within(10, request.send()).await.unwrap();
            let status = (response.status(), response.cache_status());
            (status, response.text().await.unwrap())
        }
    };

    let stored = (StatusCode::OK, CacheStatus::Miss { stored: true });
    assert_eq!(
        fetch(Some(("ada", "pw1"))).await,
        (stored, "hello ada".into())
    );
    assert_eq!(
        fetch(Some(("ada", "pw1"))).await,
        ((StatusCode::OK, CacheStatus::Hit), "hello ada".into())
    );
    assert_eq!(
        fetch(Some(("bob", "pw2"))).await,
        (stored, "hello bob".into())
    );
    // No credentials: the server's challenge, not a stored page.
    let ((status, cache_status), _) = fetch(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_ne!(cache_status, CacheStatus::Hit);
    // ada's first exchange (401, 200), bob's (401, 200) and the anonymous request.
    assert_eq!(server.requests().len(), 5);
}

/// A disk cache hashes credentials with a key of its own, kept in its directory: the stored vary
/// keys cannot be tested against guessed passwords without it, and the same directory opened again
/// still finds what it stored.
#[tokio::test]
async fn a_disk_cache_keys_the_hashes_of_credentials() {
    let server = TestServer::start(|_| async {
        Response::builder()
            .header("cache-control", "private, max-age=600")
            .body(full("secret page"))
            .unwrap()
    })
    .await;
    let dir = std::env::temp_dir().join(format!("courier-cache-secret-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fetch = |cache: Cache| {
        let url = server.url("/p");
        async move {
            let client = Client::builder().cache(cache).build().unwrap();
            let response = within(10, client.get(url).bearer_auth("hunter2").send())
                .await
                .unwrap();
            let status = response.cache_status();
            response.bytes().await.unwrap();
            status
        }
    };
    assert_eq!(
        fetch(Cache::on_disk(&dir).unwrap()).await,
        CacheStatus::Miss { stored: true }
    );
    assert_eq!(fetch(Cache::on_disk(&dir).unwrap()).await, CacheStatus::Hit);
    let key = std::fs::read(dir.join("secret.key")).unwrap();
    assert_eq!(key.len(), 32);
    let plain = {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(b"Bearer hunter2");
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&plain),
            "an unkeyed hash of the token is stored"
        );
        assert!(!text.contains("hunter2"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
