//! Courier in one minute: a GET, a POST of JSON echoed back, and a handled 404.
//!
//! It starts its own local server first, so it runs offline:
//!
//! ```text
//! cargo run --example quickstart
//! ```

use courier_testkit::{echo, respond, TestServer};
use serde::Deserialize;

#[derive(Deserialize, Debug)]
struct Echo {
    method: String,
    path: String,
    body: String,
}

#[tokio::main]
async fn main() -> Result<(), courier::Error> {
    // A local server: `/missing` is a 404, everything else echoes the request back as JSON.
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/missing" => respond(404, "no such page"),
            _ => echo(&req),
        }
    })
    .await;

    // One client for the whole program: it holds the connection pool.
    let client = courier::Client::builder()
        .user_agent("quickstart/1.0")
        .build()?;

    // 1. A GET with a query string.
    let response = client
        .get(server.url("/hello"))
        .query(&[("name", "courier")])
        .send()
        .await?;
    println!(
        "GET {} -> {} {:?}",
        response.url(),
        response.status(),
        response.version()
    );
    println!("    body: {}", response.text().await?);

    // 2. A POST of JSON, decoded from the JSON the server echoes back.
    let echoed: Echo = client
        .post(server.url("/items"))
        .json(&serde_json::json!({"name": "widget", "qty": 3}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    println!("POST {} echoed: {}", echoed.path, echoed.body);
    assert_eq!(echoed.method, "POST");

    // 3. A 404, turned into a typed error carrying the status and URL.
    match client
        .get(server.url("/missing"))
        .send()
        .await?
        .error_for_status()
    {
        Ok(_) => unreachable!("the server answers 404"),
        Err(err) => {
            println!("handled: {err}");
            assert_eq!(err.status(), Some(courier::StatusCode::NOT_FOUND));
        }
    }
    Ok(())
}
