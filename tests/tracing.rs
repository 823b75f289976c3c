//! Tracing: one span per request (method, URL without credentials, status, redirects, bytes) and one
//! per connection, checked with a small recording subscriber.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use courier::Client;
use courier_testkit::client::within;
use courier_testkit::{redirect, respond, TestServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as text.
type SpanRecord = (String, HashMap<String, String>);

/// Every span, by id; and everything traced (span fields as they are recorded, events), as text.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    next: Arc<AtomicU64>,
    log: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.log
            .lock()
            .unwrap()
            .push(format!("span {} {fields:?}", attrs.metadata().name()));
        self.spans
            .lock()
            .unwrap()
            .insert(id, (attrs.metadata().name().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut recorded = HashMap::new();
        values.record(&mut Fields(&mut recorded));
        self.log
            .lock()
            .unwrap()
            .push(format!("record {recorded:?}"));
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            fields.extend(recorded);
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.log.lock().unwrap().push(format!(
            "event {} {} {fields:?}",
            event.metadata().level(),
            event.metadata().target()
        ));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Recorder {
    fn named(&self, name: &str) -> Vec<HashMap<String, String>> {
        let spans = self.spans.lock().unwrap();
        let mut ids: Vec<_> = spans
            .iter()
            .filter(|(_, (n, _))| n == name)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids.iter().map(|id| spans[id].1.clone()).collect()
    }

    /// Everything traced so far, one line per span, record or event.
    fn text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn requests_and_connections_have_spans() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/go" => redirect(302, "/here"),
            _ => respond(200, "twelve bytes"),
        }
    })
    .await;
    let port = server.addr().port();
    let client = Client::builder().no_proxy().build().unwrap();
    let response = client
        .get(format!("http://user:secret@127.0.0.1:{port}/go"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().len(), 12);

    let requests = recorder.named("request");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["method"], "GET");
    assert_eq!(
        request["url"],
        format!("http://127.0.0.1:{port}/go"),
        "credentials must not be traced"
    );
    assert_eq!(request["status"], "200");
    assert_eq!(request["redirects"], "1");
    assert_eq!(request["bytes"], "12");

    let connections = recorder.named("connection");
    assert_eq!(connections.len(), 1, "both hops share one connection");
    assert_eq!(connections[0]["host"], format!("127.0.0.1:{port}"));
    assert_eq!(connections[0]["scheme"], "http");
}

/// Digest and `.netrc` credentials answer challenges with tracing on at every level: neither the
/// passwords nor the `Authorization` values sent appear in anything traced.
#[tokio::test(flavor = "current_thread")]
async fn credentials_are_never_traced() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    // Two servers (two origins): one asks for Digest, the other for Basic.
    let site = |scheme: &'static str, challenge: &'static str| {
        move |req: courier_testkit::Recorded| async move {
            match req.header("authorization") {
                Some(answer) if answer.starts_with(scheme) => respond(200, "welcome"),
                _ => {
                    let mut res = respond(401, "who are you?");
                    res.headers_mut()
                        .insert("www-authenticate", challenge.parse().unwrap());
                    res
                }
            }
        }
    };
    let digest = TestServer::start(site(
        "Digest ",
        r#"Digest realm="r", nonce="n0nce", qop="auth", algorithm=SHA-256"#,
    ))
    .await;
    let basic = TestServer::start(site("Basic ", r#"Basic realm="r""#)).await;

    let dir = std::env::temp_dir().join(format!("courier-tracing-netrc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _remove = Remove(dir.clone());
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        "machine 127.0.0.1 login netrc-user password netrc-s3cret\n",
    )
    .unwrap();
    std::env::set_var("NETRC", &netrc);
    let client = Client::builder().no_proxy().netrc(true).build();
    std::env::remove_var("NETRC");
    let client = client.unwrap();

    let response = within(
        10,
        client
            .get(digest.url("/digest"))
            .digest_auth("digest-user", "digest-s3cret")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let response = within(10, client.get(basic.url("/basic")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let answers: Vec<String> = [digest.requests(), basic.requests()]
        .iter()
        .flatten()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(answers[0].starts_with("Digest username=\"digest-user\""));
    assert_eq!(answers[1], "Basic bmV0cmMtdXNlcjpuZXRyYy1zM2NyZXQ=");

    let log = recorder.text();
    // The capture works: both requests were traced.
    assert!(log.contains("/digest") && log.contains("/basic"), "{log}");
    for secret in [
        "digest-s3cret",
        "netrc-s3cret",
        "bmV0cmMtdXNlcjpuZXRyYy1zM2NyZXQ=",
    ] {
        assert!(!log.contains(secret), "{secret} traced:\n{log}");
    }
    let response_hash = answers[0]
        .split("response=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(response_hash.len(), 64);
    assert!(
        !log.contains(response_hash),
        "the Digest answer traced:\n{log}"
    );
}

/// A proxy's Digest challenge to `CONNECT` answered (and, with a wrong password, refused) with
/// tracing on at every level: neither the password, nor its Basic form, nor a Digest answer appears
/// in anything traced or in the error.
#[tokio::test(flavor = "current_thread")]
async fn proxy_credentials_on_connect_are_never_traced() {
    use courier_testkit::digest::DigestServer;
    use courier_testkit::ProxyServer;

    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let origin = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "through") })
        .await;
    let mut digest = DigestServer::new("SHA-256", Some("auth"));
    digest.users = vec![("proxy-user", "proxy-s3cret")];
    let proxy = ProxyServer::digest(origin.addr(), digest.clone(), true).await;
    let client = |password: &str| {
        courier_testkit::client::trusting(&origin)
            .proxy(
                courier::Proxy::all(proxy.url())
                    .unwrap()
                    .basic_auth("proxy-user", password),
            )
            .build()
            .unwrap()
    };
    let response = within(10, client("proxy-s3cret").get(origin.url("/ok")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let err = within(10, client("wr0ng-s3cret").get(origin.url("/no")).send())
        .await
        .unwrap_err();
    assert_eq!(err.proxy_status().map(|s| s.as_u16()), Some(407), "{err:#}");
    assert_eq!(digest.accepted_ncs().len(), 1);

    let answers: Vec<String> = proxy
        .seen()
        .iter()
        .filter_map(|head| {
            head.lines()
                .find_map(|line| line.strip_prefix("proxy-authorization: "))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(answers.len(), 4, "{answers:?}");
    let log = format!("{}\n{err} {err:#} {err:?}", recorder.text());
    assert!(log.contains("/ok"), "the capture works:\n{log}");
    // Basic's base64, and each Digest answer's response hash.
    let sent = answers
        .iter()
        .map(|answer| match answer.split_once("response=\"") {
            Some((_, rest)) => rest.split('"').next().unwrap(),
            None => answer.strip_prefix("Basic ").unwrap(),
        });
    for secret in ["proxy-s3cret", "wr0ng-s3cret"].into_iter().chain(sent) {
        assert!(secret.len() >= 12, "{secret}");
        assert!(!log.contains(secret), "{secret} traced:\n{log}");
    }
}
