//! An HTTP cache in front of a polled API: the first request goes to the server, the next ones are
//! answered from the cache, and once the response is stale a `304 Not Modified` refreshes it.
//!
//! It starts its own local server first, so it runs offline:
//!
//! ```text
//! cargo run --example http_cache
//! ```

use courier::cache::{Cache, CacheStatus};
use courier_testkit::{full, Recorded, TestServer};
use http::Response;

#[tokio::main]
async fn main() -> Result<(), courier::Error> {
    // A local API: fresh for 2 seconds, with an ETag to revalidate against.
    let server = TestServer::start(|req: Recorded| async move {
        let builder = Response::builder()
            .header("cache-control", "max-age=2")
            .header("etag", "\"v1\"");
        if req.header("if-none-match") == Some("\"v1\"") {
            builder.status(304).body(full("")).unwrap()
        } else {
            builder.body(full(r#"{"status":"green"}"#)).unwrap()
        }
    })
    .await;

    // One cache (in memory here; `Cache::on_disk(dir)?` keeps it across runs), shared by every clone.
    let client = courier::Client::builder()
        .cache(Cache::in_memory())
        .build()?;
    let url = server.url("/status");

    for round in 1..=4 {
        if round == 4 {
            // Let the stored response go stale.
            tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
        }
        let response = client.get(&url).send().await?;
        let status = response.cache_status();
        let header = response.headers()["cache-status"]
            .to_str()
            .unwrap_or("")
            .to_owned();
        let body = response.text().await?;
        println!("request {round}: {status:?}  {body}  (Cache-Status: {header})");
        match round {
            1 => assert_eq!(status, CacheStatus::Miss { stored: true }),
            2 | 3 => assert_eq!(status, CacheStatus::Hit),
            _ => assert_eq!(status, CacheStatus::Revalidated),
        }
    }
    println!("requests the server saw: {}", server.requests().len());
    assert_eq!(server.requests().len(), 2);
    Ok(())
}
