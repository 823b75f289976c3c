//! A login flow: POST credentials, follow the 303 to the dashboard with the session cookie, save the
//! cookie jar, and resume the session in a new client from the saved jar.
//!
//! ```text
//! cargo run --example cookies_and_redirects
//! ```

use std::sync::Arc;

use courier::cookie::Jar;
use courier::Client;
use courier_testkit::{respond, Recorded, ServerBody, TestServer};

/// The site: `/login` checks the form and sets a session cookie, everything else needs it.
async fn site(req: Recorded) -> http::Response<ServerBody> {
    let session = req
        .header("cookie")
        .is_some_and(|c| c.contains("session=s3cr3t"));
    match req.path() {
        "/login" if req.body == "user=ada&password=lovelace" => http::Response::builder()
            .status(303)
            .header("location", "/dashboard")
            .header(
                "set-cookie",
                "session=s3cr3t; Path=/; Max-Age=86400; HttpOnly",
            )
            .body(courier_testkit::empty())
            .unwrap(),
        "/login" => respond(401, "bad credentials"),
        "/dashboard" if session => respond(200, "welcome back, ada"),
        _ => http::Response::builder()
            .status(302)
            .header("location", "/login")
            .body(courier_testkit::empty())
            .unwrap(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TestServer::start(site).await;

    // 1. Log in. The 303 is followed as a GET, with the cookie the login response set.
    let jar = Arc::new(Jar::new());
    let client = Client::builder().cookie_provider(jar.clone()).build()?;
    let response = client
        .post(server.url("/login"))
        .form(&[("user", "ada"), ("password", "lovelace")])
        .send()
        .await?;
    println!(
        "login -> {} {} (via {:?})",
        response.status(),
        response.url().path(),
        response
            .redirects()
            .iter()
            .map(|u| u.path())
            .collect::<Vec<_>>()
    );
    println!("  {}", response.text().await?);

    // 2. Save the session (persistent cookies only, as browsers do).
    let mut saved = Vec::new();
    jar.save_json(&mut saved)?;
    println!("saved jar: {}", String::from_utf8_lossy(&saved));

    // 3. A new client with the loaded jar is still logged in.
    let restored = Arc::new(Jar::new());
    restored.load_json(&saved[..])?;
    let client = Client::builder().cookie_provider(restored).build()?;
    let response = client
        .get(server.url("/dashboard"))
        .send()
        .await?
        .error_for_status()?;
    println!(
        "restored session -> {} {}",
        response.status(),
        response.text().await?
    );

    // 4. Without cookies the dashboard redirects to the login page.
    let response = Client::new().get(server.url("/dashboard")).send().await?;
    println!(
        "no cookies -> {} {}",
        response.status(),
        response.url().path()
    );
    Ok(())
}
