//! Tracing: one span per request (method, URL without credentials, status, redirects, bytes) and one
//! per connection, checked with a small recording subscriber.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use courier::Client;
use courier_testkit::{redirect, respond, TestServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as text.
type SpanRecord = (String, HashMap<String, String>);

/// Every span, by id.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    next: Arc<AtomicU64>,
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
        self.spans
            .lock()
            .unwrap()
            .insert(id, (attrs.metadata().name().to_owned(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
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
