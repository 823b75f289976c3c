//! `connector_layer`: tower layers around the connector — a layer that counts connects, a timeout on
//! connecting, a concurrency limit — stacked in the order they were added.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use courier::connect::Connected;
use courier::Client;
use courier_testkit::client::{get_text, within};
use courier_testkit::{respond, RawServer, TestServer, Then};
use tower::{Layer, Service};

/// Counts the connections asked for, and records the origins, then connects.
#[derive(Clone)]
struct Count {
    calls: Arc<AtomicUsize>,
    origins: Arc<std::sync::Mutex<Vec<String>>>,
}

impl<S> Layer<S> for Count {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            count: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Counted<S> {
    inner: S,
    count: Count,
}

impl<S: Service<http::Uri, Response = Connected>> Service<http::Uri> for Counted<S> {
    type Response = Connected;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> S::Future {
        self.count.calls.fetch_add(1, Ordering::SeqCst);
        self.count.origins.lock().unwrap().push(uri.to_string());
        self.inner.call(uri)
    }
}

#[tokio::test]
async fn a_layer_counts_every_connect() {
    let server = TestServer::builder()
        .protocol(courier_testkit::Protocol::Http1)
        .start(|_| async { respond(200, "counted") })
        .await;
    let count = Count {
        calls: Arc::default(),
        origins: Arc::default(),
    };
    let client = Client::builder()
        .connector_layer(count.clone())
        .connector_layer(tower::limit::ConcurrencyLimitLayer::new(2))
        .build()
        .unwrap();
    // Three at once: three connections (HTTP/1.1), then all three reused.
    let url = server.url("/");
    let round = || async {
        let (a, b, c) = tokio::join!(
            get_text(&client, &url),
            get_text(&client, &url),
            get_text(&client, &url)
        );
        assert_eq!([a, b, c], ["counted", "counted", "counted"]);
    };
    within(10, round()).await;
    within(10, round()).await;
    assert_eq!(count.calls.load(Ordering::SeqCst), server.connections());
    assert!(server.connections() >= 1 && server.connections() <= 3);
    let port = server.addr().port();
    for origin in count.origins.lock().unwrap().iter() {
        assert_eq!(origin, &format!("http://127.0.0.1:{port}/"));
    }
}

#[tokio::test]
async fn a_timeout_layer_bounds_connecting() {
    // Accepts TCP and never answers the TLS ClientHello.
    let server = RawServer::start(|stream, _| Then::Hold.finish(stream)).await;
    let client = Client::builder()
        .connector_layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
            200,
        )))
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/", server.addr().port());
    let err = within(10, client.get(&url).send()).await.unwrap_err();
    assert!(err.is_connect() && err.is_timeout(), "{err:?}");
    assert_eq!(err.url().unwrap().as_str(), url);

    // The connector's own errors come through the layers as they were.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = within(
        10,
        client.get(format!("http://127.0.0.1:{refused}/")).send(),
    )
    .await
    .unwrap_err();
    assert!(err.is_connect() && !err.is_timeout(), "{err:?}");
}

/// A connector layer's errors keep what they are: a DNS failure wrapped by the layer (as
/// `tower::buffer` wraps its inner errors) stays `is_dns`, and a layer's own tokio timeout is a
/// connect timeout.
#[tokio::test]
async fn a_layers_errors_keep_their_kind() {
    #[derive(Debug)]
    struct Wrapped(courier::error::BoxError);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped by a layer")
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.0)
        }
    }
    struct NoNames;
    impl courier::dns::Resolve for NoNames {
        fn resolve(&self, name: courier::dns::Name) -> courier::dns::Resolving {
            let name = name.as_str().to_owned();
            Box::pin(async move { Err(format!("no such host: {name}").into()) })
        }
    }
    let client = Client::builder()
        .dns_resolver(Arc::new(NoNames))
        .connector_layer(tower::util::MapErrLayer::new(
            |e: courier::error::BoxError| courier::error::BoxError::from(Box::new(Wrapped(e))),
        ))
        .build()
        .unwrap();
    let err = within(10, client.get("http://no-such-host.test/").send())
        .await
        .unwrap_err();
    assert!(err.is_dns() && err.is_connect(), "{err:?}");

    // A TLS handshake never answered, under a layer's own tokio timeout.
    let silent = RawServer::start(|mut stream, _| async move {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
    })
    .await;
    let client = Client::builder()
        .connector_layer(tower::layer::layer_fn(
            |inner: courier::connect::BoxedConnector| {
                tower::service_fn(move |uri: http::Uri| {
                    let mut inner = inner.clone();
                    async move {
                        tokio::time::timeout(Duration::from_millis(300), inner.call(uri))
                            .await
                            .map_err(courier::error::BoxError::from)?
                    }
                })
            },
        ))
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", silent.addr().port());
    let err = within(10, client.get(&url).send()).await.unwrap_err();
    assert!(err.is_timeout() && err.is_connect(), "{err:?}");
}
