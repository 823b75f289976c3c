//! A response read the way Python's urllib reads one: `readline()`, `read(50)`, `read()` for the rest,
//! then its status and final URL, and a 404 caught with its code, reason and URL. Then the same body as
//! a stream of lines, like requests' `iter_lines()`.
//!
//! ```text
//! cargo run --example read_like_a_file
//! ```

use courier::{Client, StatusCode};
use courier_testkit::{redirect, respond, TestServer};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

const POEM: &str = "The Zen of HTTP\n\
    Beautiful is better than ugly.\r\n\
    Explicit is better than implicit.\n\
    Simple is better than complex.\n";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/zen" => respond(200, POEM),
            "/old-zen" => redirect(301, "/zen"),
            _ => respond(404, "no such page"),
        }
    })
    .await;
    let client = Client::new();

    // response = urlopen(url); response.readline(); response.read(50); response.read()
    let response = client.get(server.url("/old-zen")).send().await?;
    println!(
        "status: {} {}",
        response.status().as_u16(),
        response.reason()
    );
    println!("url:    {}", response.url());
    let mut reader = response.reader();
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    println!("readline() -> {line:?}");
    let mut fifty = Vec::new();
    (&mut reader).take(50).read_to_end(&mut fifty).await?;
    println!("read(50)   -> {:?}", String::from_utf8_lossy(&fifty));
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await?;
    println!("read()     -> {:?}", String::from_utf8_lossy(&rest));

    // except HTTPError as e: e.code, e.reason, e.url
    match client
        .get(server.url("/missing"))
        .send()
        .await?
        .error_for_status()
    {
        Ok(_) => println!("unexpectedly found"),
        Err(err) if err.status() == Some(StatusCode::NOT_FOUND) => {
            let status = err.status().unwrap();
            println!(
                "HTTPError: {} {} for {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                err.url().unwrap()
            );
        }
        Err(err) => return Err(err.into()),
    }

    // for line in response.iter_lines(): ...
    let mut lines = client.get(server.url("/zen")).send().await?.lines();
    while let Some(line) = lines.next().await {
        println!("line: {}", line?);
    }
    Ok(())
}
