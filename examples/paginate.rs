//! Walks a paginated listing the way GitHub's API paginates: each page's `Link` header names the
//! `next` page, until the last page has none.
//!
//! ```text
//! cargo run --example paginate
//! ```

use courier::{Client, Url};
use courier_testkit::{respond, Recorded, ServerBody, TestServer};

const ITEMS: u32 = 23;
const PER_PAGE: u32 = 10;

/// `/items?page=N`: ten items per page as JSON, with `first`/`prev`/`next`/`last` links.
async fn listing(req: Recorded) -> http::Response<ServerBody> {
    let page: u32 = req
        .query()
        .and_then(|q| q.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let last = ITEMS.div_ceil(PER_PAGE);
    if page == 0 || page > last {
        return respond(404, "no such page");
    }
    let items: Vec<u32> = ((page - 1) * PER_PAGE + 1..=(page * PER_PAGE).min(ITEMS)).collect();
    let mut links = vec![
        format!("</items?page=1>; rel=\"first\""),
        format!("</items?page={last}>; rel=\"last\""),
    ];
    if page > 1 {
        links.push(format!("</items?page={}>; rel=\"prev\"", page - 1));
    }
    if page < last {
        links.push(format!("</items?page={}>; rel=\"next\"", page + 1));
    }
    http::Response::builder()
        .header("content-type", "application/json")
        .header("link", links.join(", "))
        .body(courier_testkit::full(serde_json::to_vec(&items).unwrap()))
        .unwrap()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start(listing).await;
    let client = Client::new();

    let mut all = Vec::new();
    let mut next = Some(Url::parse(&server.url("/items"))?);
    while let Some(url) = next {
        let response = client.get(url).send().await?.error_for_status()?;
        let links = response.links();
        next = links.get("next").map(|link| link.url().clone());
        println!(
            "{} (last page: {})",
            response.url(),
            links
                .get("last")
                .map_or("?", |l| l.url().query().unwrap_or("?"))
        );
        let items: Vec<u32> = response.json().await?;
        all.extend(items);
    }
    println!("{} items: {all:?}", all.len());
    Ok(())
}
