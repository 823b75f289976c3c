//! HTTP Digest (RFC 7616) end to end: a client against an in-process server that implements the RFC's
//! server side (its own hashing, nonces, nonce counts, stale nonces, userhash, auth-int) and a proxy
//! answering 407.

use bytes::Bytes;
use courier::{Client, Proxy};
use courier_testkit::client::{trusting, within};
use courier_testkit::digest::{params, DigestServer};
use courier_testkit::{echo, redirect, ProxyServer, TestServer};
use http::StatusCode;

async fn get(client: &Client, url: &str, user: &str, password: &str) -> (StatusCode, String) {
    let response = within(10, client.get(url).digest_auth(user, password).send())
        .await
        .unwrap();
    let status = response.status();
    (status, within(10, response.text()).await.unwrap())
}

#[tokio::test]
async fn every_algorithm_with_and_without_qop() {
    for algorithm in [
        "MD5",
        "MD5-sess",
        "SHA-256",
        "SHA-256-sess",
        "SHA-512-256",
        "SHA-512-256-sess",
    ] {
        for qop in [Some("auth"), Some("auth, auth-int"), None] {
            if qop.is_none() && algorithm.ends_with("-sess") {
                // `-sess` needs a cnonce, which only goes with a qop: not answered (unit-tested).
                continue;
            }
            let digest = DigestServer::new(algorithm, qop);
            let server = digest.clone().start().await;
            let got = get(
                &Client::new(),
                &server.url("/dir/index.html?x=1"),
                "Mufasa",
                "Circle of Life",
            )
            .await;
            assert_eq!(
                got,
                (StatusCode::OK, "hello Mufasa".to_owned()),
                "{algorithm} {qop:?}"
            );
            let requests = server.requests();
            assert_eq!(requests.len(), 2, "{algorithm} {qop:?}");
            assert_eq!(requests[0].header("authorization"), None);
            let answer = requests[1].header("authorization").unwrap();
            assert!(answer.starts_with("Digest username=\"Mufasa\""), "{answer}");
            assert!(
                answer.contains(&format!("algorithm={algorithm},")),
                "{answer}"
            );
            if qop.is_some() {
                assert!(answer.contains("qop=auth,"), "auth is preferred: {answer}");
            }
            assert!(!answer.contains("Circle of Life"));
        }
    }
}

#[tokio::test]
async fn auth_int_covers_a_buffered_body_and_a_stream_gets_the_401_back() {
    let digest = DigestServer::new("SHA-256", Some("auth-int"));
    let server = digest.clone().start().await;
    let client = Client::new();
    let response = within(
        10,
        client
            .post(server.url("/upload"))
            .body("the payload")
            .digest_auth("Mufasa", "Circle of Life")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body, "the payload");
    assert!(requests[1]
        .header("authorization")
        .unwrap()
        .contains("qop=auth-int"));

    // A stream cannot be hashed nor sent twice: the challenge comes back as the response.
    let fresh = DigestServer::new("SHA-256", Some("auth-int")).start().await;
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from("streamed"))]);
    let response = within(
        10,
        client
            .post(fresh.url("/upload"))
            .body(courier::Body::wrap_stream(stream))
            .digest_auth("Mufasa", "Circle of Life")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fresh.requests().len(), 1);
}

/// A stream cannot be sent twice, so a request streaming its body gets the challenge back; the
/// client keeps it, and its next request answers at once (as curl's second round does) instead of
/// every streamed upload failing however often it is tried.
#[tokio::test]
async fn a_streamed_upload_gets_the_challenge_and_the_next_one_answers_it() {
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let server = digest.clone().start().await;
    let client = Client::new();
    let upload = |text: &'static str| {
        let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(text))]);
        client
            .post(server.url("/upload"))
            .body(courier::Body::wrap_stream(stream))
            .digest_auth("Mufasa", "Circle of Life")
            .send()
    };
    let first = within(10, upload("first")).await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let second = within(10, upload("second")).await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(within(10, second.text()).await.unwrap(), "hello Mufasa");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].header("authorization").is_none());
    assert_eq!(requests[1].body, "second");
    assert_eq!(digest.accepted_ncs(), ["00000001"]);
}

#[tokio::test]
async fn nonces_are_counted_across_requests_of_one_client() {
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let server = digest.clone().start().await;
    let client = Client::new();
    for _ in 0..3 {
        let got = get(&client, &server.url("/"), "Mufasa", "Circle of Life").await;
        assert_eq!(got.0, StatusCode::OK);
    }
    // One challenge, then every request answered at once with the next count.
    assert_eq!(server.requests().len(), 4);
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000002", "00000003"]);
    // Another client starts over.
    let got = get(&Client::new(), &server.url("/"), "Mufasa", "Circle of Life").await;
    assert_eq!(got.0, StatusCode::OK);
    assert_eq!(server.requests().len(), 6);
}

/// A retried request's Digest answer is made anew: the same nonce count twice is a replay (RFC 7616
/// 3.4), which a server checking counts refuses, so a 503 to an accepted answer then a retry would
/// end in a 401 despite the right password.
#[tokio::test]
async fn a_retried_request_answers_with_the_next_nonce_count() {
    use courier_testkit::digest::Verdict;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let digest = DigestServer::new("MD5", Some("auth"));
    let busy_once = Arc::new(AtomicBool::new(true));
    let server = {
        let digest = digest.clone();
        TestServer::start(move |req: courier_testkit::Recorded| {
            let (digest, busy_once) = (digest.clone(), busy_once.clone());
            async move {
                // Checked once per answer: the server records each count it accepts.
                let uri = req.uri.path_and_query().unwrap().as_str().to_owned();
                let answer = req.header("authorization");
                if answer.is_some()
                    && busy_once.load(Ordering::SeqCst)
                    && matches!(
                        digest.check(req.method.as_str(), &uri, &req.body, answer),
                        Verdict::Accepted(_)
                    )
                {
                    busy_once.store(false, Ordering::SeqCst);
                    return http::Response::builder()
                        .status(503)
                        .header("retry-after", "0")
                        .body(courier_testkit::full("busy"))
                        .unwrap();
                }
                digest.handle(&req)
            }
        })
        .await
    };
    let client = Client::builder()
        .retry(courier::retry::RetryPolicy::new().backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        ))
        .build()
        .unwrap();
    let got = get(&client, &server.url("/r"), "Mufasa", "Circle of Life").await;
    assert_eq!(got, (StatusCode::OK, "hello Mufasa".to_owned()));
    let ncs: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(|a| param(a, "nc")))
        .collect();
    assert_eq!(ncs, ["00000001", "00000002"]);
}

/// A realm in UTF-8 (RFC 7616 4; obs-text to HTTP) is answered, named back as it came.
#[tokio::test]
async fn a_challenge_with_a_utf8_realm_is_answered() {
    let server = TestServer::start(|req: courier_testkit::Recorded| async move {
        let answered = req
            .header_all("authorization")
            .first()
            .and_then(|answer| params(answer))
            .is_some_and(|p| p.iter().any(|(k, v)| k == "realm" && v == "Zo\u{eb}"));
        if answered {
            return courier_testkit::respond(200, "in");
        }
        http::Response::builder()
            .status(401)
            .header(
                "www-authenticate",
                http::HeaderValue::from_bytes(
                    "Digest realm=\"Zo\u{eb}\", nonce=\"abc\", qop=\"auth\"".as_bytes(),
                )
                .unwrap(),
            )
            .body(courier_testkit::full("who are you?"))
            .unwrap()
    })
    .await;
    let got = get(&Client::new(), &server.url("/"), "Mufasa", "Circle of Life").await;
    assert_eq!(got, (StatusCode::OK, "in".to_owned()));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stale_nonce_is_answered_again_without_asking_the_user() {
    let mut digest = DigestServer::new("MD5", Some("auth"));
    digest.nonce_uses = 2;
    let server = digest.clone().start().await;
    let client = Client::new();
    for _ in 0..4 {
        let got = get(&client, &server.url("/"), "Mufasa", "Circle of Life").await;
        assert_eq!(got.0, StatusCode::OK);
    }
    let answered: Vec<bool> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").is_some())
        .collect();
    // 401 then ok; ok; stale 401 (the third use) then ok with the new nonce; ok.
    assert_eq!(answered, [false, true, true, true, true, true]);
    assert_eq!(
        digest.accepted_ncs(),
        ["00000001", "00000002", "00000001", "00000002"]
    );
}

#[tokio::test]
async fn a_wrong_password_gives_the_401_back_without_a_loop() {
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let server = digest.clone().start().await;
    let client = Client::new();
    let (status, body) = get(&client, &server.url("/"), "Mufasa", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "who are you?");
    assert_eq!(server.requests().len(), 2);
    // The refused session is forgotten: the next request is not answered before being asked.
    let (status, _) = get(&client, &server.url("/"), "Mufasa", "Circle of Life").await;
    assert_eq!(status, StatusCode::OK);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[2].header("authorization"), None);
    assert!(digest.accepted_ncs().len() == 1);
}

/// Two users on one client, one origin: each starts its own challenge-response and then answers its
/// own nonce before being asked; neither answers with the other's session. (A nonce belongs to the
/// user who answered it first, here: the other's answer to it is refused.)
#[tokio::test]
async fn two_users_on_one_client_never_share_a_session() {
    let mut digest = DigestServer::new("MD5-sess", Some("auth"));
    digest.users = vec![("Mufasa", "Circle of Life"), ("Scar", "Long live the king")];
    let server = digest.clone().start().await;
    let client = Client::new();
    for (user, password) in [
        ("Mufasa", "Circle of Life"),
        ("Scar", "Long live the king"),
        ("Mufasa", "Circle of Life"),
        ("Scar", "Long live the king"),
    ] {
        let got = get(&client, &server.url("/pride-rock"), user, password).await;
        assert_eq!(got, (StatusCode::OK, format!("hello {user}")));
    }
    // Each user's first request goes unanswered and is challenged; each later one is answered at once,
    // with the user's own name and nonce.
    let answers: Vec<Option<(String, String, String)>> = server
        .requests()
        .iter()
        .map(|r| {
            let answer = params(r.header("authorization")?)?;
            let get = |name: &str| answer.iter().find(|(n, _)| n == name).unwrap().1.clone();
            Some((get("username"), get("nonce"), get("nc")))
        })
        .collect();
    assert_eq!(digest.challenges(), 2);
    assert_eq!(answers.len(), 6, "{answers:?}");
    let (mufasa, scar) = (answers[1].clone().unwrap(), answers[3].clone().unwrap());
    assert_eq!((answers[0].clone(), answers[2].clone()), (None, None));
    assert_eq!(
        (mufasa.0.as_str(), mufasa.2.as_str()),
        ("Mufasa", "00000001")
    );
    assert_eq!((scar.0.as_str(), scar.2.as_str()), ("Scar", "00000001"));
    assert_ne!(mufasa.1, scar.1, "each user has a nonce of their own");
    let next = |(user, nonce, _): (String, String, String)| (user, nonce, "00000002".to_owned());
    assert_eq!(answers[4], Some(next(mufasa)));
    assert_eq!(answers[5], Some(next(scar)));

    // A wrong password for one user is that user's 401; the other's session is untouched.
    let (status, _) = get(&client, &server.url("/"), "Scar", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let before = server.requests().len();
    let got = get(&client, &server.url("/"), "Mufasa", "Circle of Life").await;
    assert_eq!(got.0, StatusCode::OK);
    assert_eq!(server.requests().len(), before + 1, "answered at once");
}

#[tokio::test]
async fn userhash_and_a_name_that_is_not_ascii() {
    let mut digest = DigestServer::new("SHA-512-256", Some("auth"));
    digest.userhash = true;
    digest.users = vec![("J\u{e4}s\u{f8}n Doe", "Secret, or not?")];
    let server = digest.clone().start().await;
    let got = get(
        &Client::new(),
        &server.url("/doe.json"),
        "J\u{e4}s\u{f8}n Doe",
        "Secret, or not?",
    )
    .await;
    assert_eq!(got.0, StatusCode::OK);
    let answer = server.requests()[1]
        .header("authorization")
        .unwrap()
        .to_owned();
    assert!(answer.contains("userhash=true"), "{answer}");
    assert!(!answer.contains("Doe"), "the name is hashed: {answer}");

    // Without userhash the name goes as an RFC 8187 ext-value.
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.users = vec![("J\u{e4}s\u{f8}n Doe", "Circle of Life")];
    let server = digest.clone().start().await;
    let got = get(
        &Client::new(),
        &server.url("/"),
        "J\u{e4}s\u{f8}n Doe",
        "Circle of Life",
    )
    .await;
    assert_eq!(got.0, StatusCode::OK);
    assert!(server.requests()[1]
        .header("authorization")
        .unwrap()
        .starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, "));
}

#[tokio::test]
async fn client_wide_credentials_are_for_one_origin() {
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let server = digest.clone().start().await;
    let other = DigestServer::new("SHA-256", Some("auth")).start().await;
    let client = Client::builder()
        .digest_auth(server.url("/"), "Mufasa", "Circle of Life")
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/a")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = within(10, client.get(other.url("/a")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(other.requests().len(), 1);
    assert_eq!(other.requests()[0].header("authorization"), None);
    // An explicit Authorization header is left alone.
    let response = within(10, client.get(server.url("/b")).bearer_auth("token").send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.requests().last().unwrap().header("authorization"),
        Some("Bearer token")
    );
}

#[tokio::test]
async fn credentials_never_cross_origins_on_redirects_nor_show_up_anywhere() {
    let target = DigestServer::new("SHA-256", Some("auth")).start().await;
    let target_port = target.addr().port();
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let digest_for_handler = digest.clone();
    let start = TestServer::start(move |req| {
        let digest = digest_for_handler.clone();
        async move {
            match req.path() {
                // Same host name, another port: another origin.
                "/elsewhere" => redirect(302, &format!("http://127.0.0.1:{target_port}/private")),
                "/elsewhere-by-name" => {
                    redirect(302, &format!("http://localhost:{target_port}/private"))
                }
                _ => digest.handle(&req),
            }
        }
    })
    .await;
    let client = Client::new();
    let start_port = start.addr().port();
    for (url, digest_auth) in [
        (start.url("/elsewhere"), true),
        (start.url("/elsewhere-by-name"), true),
        // Credentials in the URL: sent to the first origin only, and never part of a URL shown.
        (
            format!("http://Mufasa:pw@127.0.0.1:{start_port}/elsewhere"),
            false,
        ),
    ] {
        let mut request = client.get(&url);
        if digest_auth {
            request = request.digest_auth("Mufasa", "Circle of Life");
        }
        let response = within(10, request.send()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{url}");
        assert_eq!(
            response.url().as_str(),
            format!(
                "http://{}:{target_port}/private",
                response.url().host_str().unwrap()
            ),
        );
        assert_eq!(response.url().username(), "");
        assert_eq!(response.url().password(), None);
    }
    // The other origin was asked once per redirect, and never answered.
    let seen = target.requests();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.header("authorization").is_none()));
    // The URL's credentials did reach the first origin, as Basic.
    assert_eq!(
        start.requests().last().unwrap().header("authorization"),
        Some("Basic TXVmYXNhOnB3")
    );

    // Not in Debug output, nor in errors: a port just bound and released, so closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let builder = client
        .get(format!("http://127.0.0.1:{closed}/closed"))
        .digest_auth("Mufasa", "Circle of Life");
    assert!(!format!("{builder:?}").contains("Circle of Life"));
    let err = within(10, builder.send()).await.unwrap_err();
    assert!(err.is_connect(), "{err:#}");
    let shown = format!("{err} {err:#} {err:?}");
    assert!(!shown.contains("Circle of Life"), "{shown}");
    assert!(!shown.contains("Mufasa"), "{shown}");
    let err = within(
        10,
        client
            .get(format!("http://Mufasa:pw@127.0.0.1:{closed}/closed"))
            .send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_connect(), "{err:#}");
    let url = err.url().unwrap();
    assert_eq!((url.username(), url.password()), ("", None));
    let shown = format!("{err} {err:#} {err:?}");
    assert!(
        !shown.contains("Mufasa") && !shown.contains(":pw@"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_proxy_asking_for_digest_gets_proxy_authorization() {
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.proxy = true;
    let proxy = digest.clone().start().await;
    let client = Client::builder()
        .proxy(Proxy::http(proxy.url("/")).unwrap())
        .proxy_digest_auth("Mufasa", "Circle of Life")
        .build()
        .unwrap();
    // The proxy answers itself: nothing is forwarded anywhere.
    for _ in 0..2 {
        let response = within(10, client.get("http://127.0.0.1:9/through-proxy").send())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let requests = proxy.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].header("proxy-authorization"), None);
    assert_eq!(
        requests[1].uri.to_string(),
        "http://127.0.0.1:9/through-proxy"
    );
    assert_eq!(requests[1].header("authorization"), None);
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000002"]);

    // Without proxy credentials, the 407 is the response.
    let client = Client::builder()
        .proxy(Proxy::http(proxy.url("/")).unwrap())
        .build()
        .unwrap();
    let response = within(10, client.get("http://127.0.0.1:9/").send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
}

/// An origin that answers `407` (reached directly, past `NO_PROXY`, or through a `CONNECT` tunnel)
/// is not the proxy: it gets no answer computed with the proxy's password.
#[tokio::test]
async fn an_origin_answering_407_gets_nothing_meant_for_the_proxy() {
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.proxy = true;
    let plain = digest.clone().start().await;
    let tls = digest.clone().start_tls().await;
    let tunnel = ProxyServer::start(tls.addr()).await;
    let cases = [
        (
            "no proxy",
            Client::builder().no_proxy(),
            plain.url("/direct"),
        ),
        (
            "NO_PROXY",
            Client::builder().proxy(
                Proxy::all(tunnel.url())
                    .unwrap()
                    .no_proxy(courier::NoProxy::from_string("127.0.0.1, localhost")),
            ),
            plain.url("/not-proxied"),
        ),
        (
            "tunnel",
            trusting(&tls).proxy(Proxy::all(tunnel.url()).unwrap()),
            tls.url("/tunnelled"),
        ),
    ];
    for (case, builder, url) in cases {
        let client = builder
            .proxy_digest_auth("Mufasa", "Circle of Life")
            .build()
            .unwrap();
        let response = within(10, client.get(&url).send()).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            "{case}"
        );
    }
    // Each origin was asked once per request, never with Proxy-Authorization; only the https request
    // went to the proxy, as a tunnel.
    for (server, count) in [(&plain, 2), (&tls, 1)] {
        let seen = server.requests();
        assert_eq!(seen.len(), count);
        assert!(seen
            .iter()
            .all(|r| r.header("proxy-authorization").is_none()));
    }
    let tunnelled = tunnel.seen();
    assert_eq!(tunnelled.len(), 1);
    assert!(
        tunnelled[0].starts_with("CONNECT localhost:"),
        "{}",
        tunnelled[0]
    );
    assert!(digest.accepted_ncs().is_empty());
}

/// A Digest session with the proxy is answered again only on requests to that proxy: an `https`
/// request (not proxied here) carries no `Proxy-Authorization`.
#[tokio::test]
async fn a_proxy_session_stays_with_the_proxy() {
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.proxy = true;
    let proxy = digest.clone().start().await;
    let origin = TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await;
    let client = trusting(&origin)
        .proxy(Proxy::http(proxy.url("/")).unwrap())
        .proxy_digest_auth("Mufasa", "Circle of Life")
        .build()
        .unwrap();
    for url in [
        "http://127.0.0.1:9/through-proxy".to_owned(),
        origin.url("/direct"),
        "http://127.0.0.1:9/again".to_owned(),
    ] {
        let response = within(10, client.get(&url).send()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
    }
    assert_eq!(origin.requests().len(), 1);
    assert_eq!(origin.requests()[0].header("proxy-authorization"), None);
    // The proxy's nonce was answered before being asked on the third request.
    assert_eq!(proxy.requests().len(), 3);
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000002"]);
}

/// `-sess` (RFC 7616 §3.4.2): the session key is computed once, with the first answer's cnonce;
/// answers sent before being asked (nc > 1) send that cnonce again, and the server (which keeps the
/// key) accepts them.
#[tokio::test]
async fn a_sess_key_is_made_once_with_the_first_cnonce() {
    let digest = DigestServer::new("MD5-sess", Some("auth"));
    let server = digest.clone().start().await;
    let client = Client::builder()
        .digest_auth(server.url("/"), "Mufasa", "Circle of Life")
        .build()
        .unwrap();
    for path in ["/a", "/b", "/c"] {
        let response = within(10, client.get(server.url(path)).send())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000002", "00000003"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let cnonces: Vec<String> = requests[1..]
        .iter()
        .map(|r| {
            let answer = params(r.header("authorization").unwrap()).unwrap();
            answer.into_iter().find(|(n, _)| n == "cnonce").unwrap().1
        })
        .collect();
    assert_eq!(cnonces.len(), 3);
    assert!(cnonces.iter().all(|c| *c == cnonces[0]), "{cnonces:?}");
}

/// The layer on its own, around Courier's transport: a custom stack.
#[tokio::test]
async fn the_auth_layer_in_a_custom_stack() {
    use courier_core::auth::{AuthLayer, CredentialStore, Credentials};
    use courier_core::transport::Transport;
    use tower::{Layer, ServiceExt};

    let digest = DigestServer::new("SHA-256-sess", Some("auth"));
    let server = digest.clone().start().await;
    let store =
        CredentialStore::new().host("127.0.0.1", Credentials::new("Mufasa", "Circle of Life"));
    let stack = AuthLayer::new(store).layer(Transport::builder().build().unwrap());
    for _ in 0..2 {
        let req = http::Request::get(server.url("/custom"))
            .body(courier_core::Body::empty())
            .unwrap();
        let res = within(10, stack.clone().oneshot(req)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Clones share the session: one challenge for both requests.
    assert_eq!(server.requests().len(), 3);
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000002"]);
}

/// `Proxy-Authorization` of the `i`th request head a proxy saw.
fn proxy_answer(proxy: &ProxyServer, i: usize) -> Option<String> {
    proxy.seen()[i].lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    })
}

/// The parameter `name` of a Digest answer.
fn param(answer: &str, name: &str) -> String {
    let params = params(answer).unwrap_or_else(|| panic!("not a Digest answer: {answer}"));
    params.into_iter().find(|(n, _)| n == name).unwrap().1
}

/// A TLS origin that echoes requests.
async fn tls_echo() -> TestServer {
    TestServer::builder()
        .tls()
        .start(|req| async move { echo(&req) })
        .await
}

/// A client that trusts the TLS origin `origin`, speaks HTTP/1.1 and keeps no idle connection: each
/// request opens a connection (so a tunnel) of its own, through `proxy` with `user` / `password`.
async fn through_digest_proxy(
    proxy: &ProxyServer,
    origin: &TestServer,
    user: &str,
    password: &str,
) -> Client {
    let proxy = Proxy::all(proxy.url()).unwrap().basic_auth(user, password);
    trusting(origin)
        .proxy(proxy)
        .http1_only()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// An `https` request through a proxy that wants Digest on `CONNECT`: the first tunnel is asked
/// (the Basic sent first is refused) and answered with one more `CONNECT`, on the same connection
/// when the proxy keeps it open, else on a new one; the next tunnel answers the remembered nonce at
/// once, with the next count.
#[tokio::test]
async fn https_through_a_proxy_that_wants_digest_on_connect() {
    let origin = tls_echo().await;
    let port = origin.addr().port();
    for algorithm in ["MD5", "MD5-sess", "SHA-256", "SHA-512-256"] {
        for keep_alive in [true, false] {
            let case = format!("{algorithm}, keep-alive {keep_alive}");
            let digest = DigestServer::new(algorithm, Some("auth"));
            let proxy = ProxyServer::digest(origin.addr(), digest.clone(), keep_alive).await;
            let client = through_digest_proxy(&proxy, &origin, "Mufasa", "Circle of Life").await;

            // The second request opens a new connection: the remembered nonce is answered before
            // being asked.
            for (path, connects, connections) in [("/first", 2, 1), ("/second", 3, 2)] {
                let response = within(10, client.get(origin.url(path)).send())
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{case} {path}");
                assert_eq!(proxy.connects(), connects, "{case} {path}");
                // Closed after each 407: one more connection for the answer.
                let connections = if keep_alive { connections } else { connects };
                assert_eq!(proxy.connections(), connections, "{case} {path}");
            }
            let seen = proxy.seen();
            assert!(
                seen[1].starts_with(&format!("CONNECT localhost:{port} HTTP/1.1\r\n")),
                "{case}: {}",
                seen[1]
            );
            // Basic first (the proxy's credentials as before), then the Digest answer.
            assert_eq!(
                proxy_answer(&proxy, 0).as_deref(),
                Some("Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl"),
                "{case}"
            );
            let answer = proxy_answer(&proxy, 1).unwrap();
            assert_eq!(param(&answer, "username"), "Mufasa", "{case}");
            assert_eq!(param(&answer, "uri"), format!("localhost:{port}"), "{case}");
            assert_eq!(param(&answer, "algorithm"), algorithm, "{case}");
            assert_eq!(param(&answer, "nc"), "00000001", "{case}");
            let again = proxy_answer(&proxy, 2).unwrap();
            assert_eq!(param(&again, "nonce"), param(&answer, "nonce"), "{case}");
            assert_eq!(param(&again, "nc"), "00000002", "{case}");
            assert_eq!(digest.accepted_ncs(), ["00000001", "00000002"], "{case}");
            assert_eq!(digest.challenges(), 1, "{case}");
        }
    }
    // The origin saw both requests of each case, and nothing meant for the proxy.
    let requests = origin.requests();
    assert_eq!(requests.len(), 16);
    assert!(requests
        .iter()
        .all(|r| r.header("proxy-authorization").is_none()));
}

/// A wrong proxy password: the proxy's second `407` comes back as a connect error with status 407,
/// after two `CONNECT`s (no loop), naming no credentials; the refused session is forgotten.
#[tokio::test]
async fn a_wrong_proxy_password_is_a_407_connect_error() {
    let origin = tls_echo().await;
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let proxy = ProxyServer::digest(origin.addr(), digest.clone(), true).await;
    let client = through_digest_proxy(&proxy, &origin, "Mufasa", "Hakuna Matata").await;
    for attempt in 1..=2 {
        let err = within(10, client.get(origin.url("/")).send())
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        // The proxy's refusal, not the origin's answer.
        assert_eq!(err.status(), None);
        assert_eq!(
            err.proxy_status(),
            Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED)
        );
        // Nothing a retry could change: no fate that invites sending it again.
        assert_eq!(err.fate(), None);
        let shown = format!("{err} {err:#} {err:?}");
        assert!(
            shown
                .contains("proxy authentication required (407): the proxy refused the credentials"),
            "{shown}"
        );
        for secret in ["Hakuna", "Mufasa", "TXVmYXNhOkhha3VuYSBNYXRhdGE="] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(proxy.connects(), 2 * attempt);
        // Each attempt starts over: Basic, then a fresh Digest answer (the refused nonce is not
        // answered again before being asked).
        assert!(proxy_answer(&proxy, 2 * attempt - 2)
            .unwrap()
            .starts_with("Basic "));
        let answer = proxy_answer(&proxy, 2 * attempt - 1).unwrap();
        assert_eq!(param(&answer, "nc"), "00000001");
    }
    assert!(digest.accepted_ncs().is_empty());
    assert!(origin.requests().is_empty());
}

/// A proxy nonce that wore out: the remembered answer gets `407` with `stale=true`, which is
/// answered once with the new nonce. A proxy that calls every nonce stale gets its 407 back.
#[tokio::test]
async fn a_stale_proxy_nonce_is_answered_once() {
    let origin = tls_echo().await;
    let mut digest = DigestServer::new("MD5", Some("auth"));
    digest.nonce_uses = 1;
    let proxy = ProxyServer::digest(origin.addr(), digest.clone(), false).await;
    let client = through_digest_proxy(&proxy, &origin, "Mufasa", "Circle of Life").await;
    for path in ["/a", "/b"] {
        let response = within(10, client.get(origin.url(path)).send())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    // /a: Basic, then nonce 1. /b: nonce 1 again at once (nc 2): stale; then nonce 2.
    assert_eq!(proxy.connects(), 4);
    let answers: Vec<(String, String)> = (1..4)
        .map(|i| {
            let answer = proxy_answer(&proxy, i).unwrap();
            (param(&answer, "nonce"), param(&answer, "nc"))
        })
        .collect();
    assert_eq!(answers[1], (answers[0].0.clone(), "00000002".to_owned()));
    assert_ne!(answers[2].0, answers[0].0);
    assert_eq!(answers[2].1, "00000001");
    assert_eq!(digest.accepted_ncs(), ["00000001", "00000001"]);
    assert_eq!(digest.challenges(), 2);

    // Every nonce stale: Basic, an answer, one more answer to the stale nonce, then the 407.
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.nonce_uses = 0;
    let proxy = ProxyServer::digest(origin.addr(), digest.clone(), true).await;
    let client = through_digest_proxy(&proxy, &origin, "Mufasa", "Circle of Life").await;
    let err = within(10, client.get(origin.url("/c")).send())
        .await
        .unwrap_err();
    assert_eq!(
        err.proxy_status(),
        Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED),
        "{err:#}"
    );
    assert_eq!(proxy.connects(), 3);
    assert_eq!(digest.challenges(), 3);
}

/// Retries do not repeat a refused proxy login: with a retrying client, a wrong password still costs
/// exactly one Basic and one Digest attempt per request.
#[tokio::test]
async fn a_refused_proxy_login_is_not_retried() {
    let origin = tls_echo().await;
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let proxy = ProxyServer::digest(origin.addr(), digest.clone(), true).await;
    let client = trusting(&origin)
        .proxy(
            Proxy::all(proxy.url())
                .unwrap()
                .basic_auth("Mufasa", "Hakuna Matata"),
        )
        .retry(courier::retry::RetryPolicy::new().max_retries(3).backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(1),
        ))
        .http1_only()
        .build()
        .unwrap();
    let err = within(10, client.get(origin.url("/")).send())
        .await
        .unwrap_err();
    assert_eq!(
        err.proxy_status(),
        Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED)
    );
    assert_eq!(proxy.connects(), 2);
}

/// A proxy whose 407 says nothing of closing (HTTP/1.1, a `Content-Length`) and closes anyway: the
/// answer that went out on the dead connection is sent again on a new one, and the tunnel opens.
#[tokio::test]
async fn a_proxy_that_closes_after_a_keep_alive_407_gets_the_answer_on_a_new_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let origin = tls_echo().await;
    let origin_addr = origin.addr();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let challenge = DigestServer::new("SHA-256", Some("auth")).challenge_value(false);
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        for connection in 0.. {
            let (mut client, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if client.read(&mut byte).await.unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            if connection == 0 {
                // Keep-alive by every sign, then gone without reading the answer.
                let reply = format!(
                    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: {challenge}\r\nContent-Length: 5\r\n\r\nnope!"
                );
                client.write_all(reply.as_bytes()).await.unwrap();
                drop(client);
                continue;
            }
            let mut upstream = tokio::net::TcpStream::connect(origin_addr).await.unwrap();
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\nProxy-agent : lenient\r\n\r\n")
                .await
                .unwrap();
            tokio::spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    let client = trusting(&origin)
        .proxy(
            Proxy::all(&proxy_url)
                .unwrap()
                .basic_auth("Mufasa", "Circle of Life"),
        )
        .http1_only()
        .build()
        .unwrap();
    let response = within(10, client.get(origin.url("/tunnelled")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[0].contains("Basic "), "{}", heads[0]);
    let answer = heads[1]
        .lines()
        .find_map(|l| l.strip_prefix("proxy-authorization: "))
        .unwrap_or_else(|| panic!("no answer in {}", heads[1]));
    // The answer made for the dead connection counted nc 1; the one the proxy reads is the next.
    assert_eq!(param(answer, "nc"), "00000002");
}

/// `digest_auth` is the latest word: a `Basic` made of the URL's `user:password@`, a `basic_auth`
/// before it, or the client's default `Authorization` would otherwise go out (the password in the
/// clear) and stop the Digest answer.
#[tokio::test]
async fn digest_auth_wins_over_earlier_and_default_authorization() {
    let digest = DigestServer::new("SHA-256", Some("auth"));
    let server = digest.clone().start().await;
    let url = server.url("/private");
    let in_url = url.replace("http://", "http://Mufasa:Circle%20of%20Life@");
    let bearer = Client::builder()
        .default_headers(http::HeaderMap::from_iter([(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer client-wide"),
        )]))
        .build()
        .unwrap();
    let plain = Client::new();
    let requests = [
        plain.get(&in_url),
        plain.get(&url).basic_auth("Mufasa", Some("Circle of Life")),
        bearer.get(&url),
    ];
    for (i, request) in requests.into_iter().enumerate() {
        let before = server.requests().len();
        let response = within(10, request.digest_auth("Mufasa", "Circle of Life").send())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
        // Nothing but Digest answers (a client that answered before sends one at once).
        let sent: Vec<_> = server.requests()[before..]
            .iter()
            .map(|r| {
                r.header("authorization")
                    .map(|v| v.split(' ').next().unwrap().to_owned())
            })
            .collect();
        assert!(
            sent == [None, Some("Digest".into())] || sent == [Some("Digest".into())],
            "request {i}: {sent:?}"
        );
    }
    // A header set after digest_auth is a later word still: sent, and the Digest credentials rest.
    let response = within(
        10,
        plain
            .get(&url)
            .digest_auth("Mufasa", "Circle of Life")
            .bearer_auth("later")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.last_request().header("authorization"),
        Some("Bearer later")
    );
}
