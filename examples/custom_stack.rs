//! Building your own client stack: Courier's transport and layers, tower's timeout and concurrency
//! limit, and a layer written right here that stamps every request with an id.
//!
//! ```text
//! cargo run --example custom_stack
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguageLayer};
use courier_core::decompression::DecompressionLayer;
use courier_core::transport::Transport;
use courier_core::user_agent::UserAgentLayer;
use courier_core::{Body, BoxError};
use courier_testkit::{echo, TestServer};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

/// A layer of our own: adds `x-request-id: <n>` to every request.
#[derive(Clone, Default)]
struct RequestIdLayer {
    next: Arc<AtomicU64>,
}

#[derive(Clone)]
struct RequestId<S> {
    inner: S,
    next: Arc<AtomicU64>,
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;
    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId {
            inner,
            next: self.next.clone(),
        }
    }
}

impl<S, B> Service<http::Request<B>> for RequestId<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> S::Future {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        req.headers_mut().insert("x-request-id", id.into());
        self.inner.call(req)
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = TestServer::start(|req| async move { echo(&req) }).await;

    let transport: Transport = Transport::builder()
        .pool_max_connections_per_host(4)
        .build()?;
    let stack = ServiceBuilder::new()
        .layer(RequestIdLayer::default())
        .concurrency_limit(8)
        .timeout(Duration::from_secs(10))
        .layer(UserAgentLayer::new("custom-stack/1.0"))
        .layer(SetAcceptLanguageLayer::new(
            AcceptLanguage::new().lang("sv").lang_q("en", 0.8),
        )?)
        .layer(DecompressionLayer::new())
        .service(transport);
    // tower's ConcurrencyLimit is not Clone; Buffer would make it so. Here one task owns the stack and
    // sends requests one after another.
    let task = tokio::spawn(async move {
        let mut stack = stack;
        let mut seen = Vec::new();
        for path in ["/a", "/b", "/c"] {
            let request = http::Request::get(server.url(path)).body(Body::empty())?;
            let response = stack.ready().await?.call(request).await?;
            let body = response.into_body().collect().await?.to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&body)?;
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let headers = &json["headers"];
            seen.push(format!(
                "GET {} x-request-id={} user-agent={} accept-language={}",
                text(&json["path"]),
                text(&headers["x-request-id"][0]),
                text(&headers["user-agent"][0]),
                text(&headers["accept-language"][0]),
            ));
        }
        Ok::<_, BoxError>(seen)
    });
    for line in task.await?? {
        println!("{line}");
    }
    Ok(())
}
