//! `ClientBuilder::netrc(true)` against in-process servers. `$NETRC` is process-wide, so every case
//! runs in one test, in order.

use courier::{Client, StatusCode};
use courier_testkit::client::within;
use courier_testkit::{redirect, respond, Recorded, ServerBody, TestServer};
use http::Response;

/// `Basic` for ada:lovelace, or a 401 asking for Basic.
fn basic_site(req: &Recorded) -> Response<ServerBody> {
    match req.header("authorization") {
        Some("Basic YWRhOmxvdmVsYWNl") => respond(200, "hello ada"),
        _ => {
            let mut res = respond(401, "who are you?");
            res.headers_mut()
                .insert("www-authenticate", "Basic realm=\"site\"".parse().unwrap());
            res
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop (even when the test panics).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("courier-netrc-test-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_netrc(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("netrc");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn netrc_credentials_answer_their_host_only() {
    let temp = TempDir::new();
    let dir = temp.0.clone();

    let other = TestServer::start(|req| async move { basic_site(&req) }).await;
    let other_port = other.addr().port();
    let server = TestServer::start(move |req| async move {
        match req.path() {
            "/away" => redirect(302, &format!("http://localhost:{other_port}/private")),
            _ => basic_site(&req),
        }
    })
    .await;

    let path = write_netrc(
        &dir,
        "# test file\nmachine 127.0.0.1\n  login ada\n  password lovelace\n",
    );
    std::env::set_var("NETRC", &path);

    // Off by default.
    let plain = Client::new();
    let response = within(10, plain.get(server.url("/private")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let client = Client::builder().netrc(true).build().unwrap();
    let response = within(10, client.get(server.url("/private")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(within(10, response.text()).await.unwrap(), "hello ada");
    // Sent when asked, not before.
    let seen: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        seen,
        [None, None, Some("Basic YWRhOmxvdmVsYWNl".to_owned())]
    );

    // A redirect to another host: its challenge is not answered with 127.0.0.1's credentials.
    let response = within(10, client.get(server.url("/away")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.url().host_str(), Some("localhost"));
    assert_eq!(other.requests().len(), 1);
    assert_eq!(other.requests()[0].header("authorization"), None);

    // A redirect from https down to plain http (allowed here on purpose): the host's entry holds for
    // every scheme, but is not sent in clear where the caller asked for TLS.
    let plain_port = server.addr().port();
    let secure =
        TestServer::builder()
            .tls()
            .start(move |_| async move {
                redirect(302, &format!("http://127.0.0.1:{plain_port}/private"))
            })
            .await;
    let downgrading = courier_testkit::client::trusting(&secure)
        .netrc(true)
        .redirect(courier::redirect::Policy::limited(5).allow_https_downgrade(true))
        .build()
        .unwrap();
    let before = server.requests().len();
    let response = within(10, downgrading.get(secure.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.url().scheme(), "http");
    let seen = server.requests();
    assert_eq!(seen.len(), before + 1);
    assert_eq!(seen[before].header("authorization"), None);

    // A request's own Authorization wins.
    let response = within(
        10,
        client
            .get(server.url("/private"))
            .basic_auth("ada", Some("wrong"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.requests().last().unwrap().header("authorization"),
        Some("Basic YWRhOndyb25n")
    );

    // Explicit Digest credentials for the origin win over the file (and never answer Basic).
    let client = Client::builder()
        .netrc(true)
        .digest_auth(server.url("/"), "ada", "other")
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/private")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A `default` entry answers for the host asked for, and never for a host a redirect leads to
    // (curl's CVE-2024-11053): Basic would send it in clear text to whoever redirects there.
    write_netrc(&dir, "default login ada password lovelace\n");
    let client = Client::builder().netrc(true).build().unwrap();
    let response = within(10, client.get(server.url("/private")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = within(10, client.get(server.url("/away")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.url().host_str(), Some("localhost"));
    let seen = other.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.header("authorization").is_none()));
    // Asked directly, the other host is the caller's choice: the default answers.
    let response = within(10, client.get(other.url("/private")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // A malformed file: a builder error naming the file and the line, not the words.
    write_netrc(
        &dir,
        "machine 127.0.0.1\nlogin ada\npassword s3cr3t extra\n",
    );
    let err = Client::builder().netrc(true).build().unwrap_err();
    assert!(err.is_builder());
    let message = format!("{err:#}");
    assert!(
        message.contains(&format!("line 3 of {}", path.display())),
        "{message}"
    );
    assert!(
        !message.contains("s3cr3t") && !message.contains("extra"),
        "{message}"
    );

    // $NETRC naming a missing file is an error too.
    std::env::set_var("NETRC", dir.join("missing"));
    let err = Client::builder().netrc(true).build().unwrap_err();
    assert!(err.is_builder());
    assert!(
        format!("{err:#}").contains("cannot read the file"),
        "{err:#}"
    );

    std::env::remove_var("NETRC");
}
