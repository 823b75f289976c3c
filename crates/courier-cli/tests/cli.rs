//! End-to-end tests of the `courier` binary against in-process servers.

use std::io::Write;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use assert_cmd::Command;
use bytes::Bytes;
use courier_testkit::{full, read_request, redirect, respond, serve_ranges, RawServer, TestServer};
use serde_json::Value;

/// Runs `courier args...` on the blocking pool (the servers keep running on the runtime), with the
/// proxy variables cleared so requests to 127.0.0.1 go straight to the test server.
async fn courier(args: Vec<String>) -> Output {
    courier_with_env(args, Vec::new()).await
}

/// [`courier`] with these environment variables set; killed after 60 s (a hang guard).
async fn courier_with_env(args: Vec<String>, env: Vec<(&'static str, PathBuf)>) -> Output {
    courier_in(None, args, env).await
}

/// [`courier_with_env`], run in `dir` when given.
async fn courier_in(
    dir: Option<PathBuf>,
    args: Vec<String>,
    env: Vec<(&'static str, PathBuf)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::cargo_bin("courier").unwrap();
        command.timeout(std::time::Duration::from_secs(60));
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
        ] {
            command.env_remove(var);
        }
        // After the removals: a test may set a proxy variable itself.
        command.envs(env);
        command.args(args).output().unwrap()
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "courier-cli-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_writes_the_body_to_stdout() {
    let server = TestServer::start(|_| async { respond(200, "hello from the server\n") }).await;

    let output = courier(args(&["get", &server.url("/hello")])).await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hello from the server\n");
    let seen = server.last_request();
    assert_eq!(seen.method, http::Method::GET);
    assert_eq!(seen.path(), "/hello");
    // Like curl without --compressed: no coding asked for.
    assert_eq!(seen.header("accept-encoding"), None);

    // With no scheme, http:// is assumed, as curl does (`127.0.0.1:PORT` is no scheme `127.0.0.1`).
    let bare = server.url("/bare").replace("http://", "");
    let output = courier(args(&["get", &bare])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hello from the server\n");
    assert_eq!(server.last_request().path(), "/bare");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_sends_method_headers_and_form_data() {
    let server = TestServer::echo().await;

    let output = courier(args(&[
        "get",
        &server.url("/submit"),
        "-X",
        "PUT",
        "-H",
        "X-Token: secret",
        "-H",
        "X-Multi: one",
        "-H",
        "X-Multi: two",
        "-d",
        "a=1&b=2",
    ]))
    .await;

    assert!(output.status.success(), "{}", stderr(&output));
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["body"], "a=1&b=2");
    assert_eq!(echoed["headers"]["x-token"][0], "secret");
    assert_eq!(
        echoed["headers"]["x-multi"],
        serde_json::json!(["one", "two"])
    );
    assert_eq!(
        echoed["headers"]["content-type"][0],
        "application/x-www-form-urlencoded"
    );

    // curl's forms: `Name:` sends no such header, `Name;` sends it empty.
    let output = courier(args(&[
        "get",
        &server.url("/h"),
        "-H",
        "X-Gone:",
        "-H",
        "X-Empty;",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(echoed["headers"].get("x-gone").is_none(), "{echoed}");
    assert_eq!(echoed["headers"]["x-empty"], serde_json::json!([""]));

    // As curl's: `User-Agent:` takes the command's own off, `User-Agent;` sends it empty.
    let output = courier(args(&["get", &server.url("/ua"), "-H", "User-Agent:"])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(echoed["headers"].get("user-agent").is_none(), "{echoed}");
    let output = courier(args(&["get", &server.url("/ua"), "-H", "User-Agent;"])).await;
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(echoed["headers"]["user-agent"], serde_json::json!([""]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_options_join_and_read_files_as_curls_do() {
    let server = TestServer::echo().await;
    let dir = TempDir::new("data");
    std::fs::write(dir.path("lines.txt"), "x=1\r\ny=2\n").unwrap();
    let lines = format!("@{}", dir.arg("lines.txt"));

    let body = |extra: &[&str]| {
        let mut list = vec!["get", "-d", "a=1"];
        list.extend_from_slice(extra);
        let url = server.url("/");
        let list: Vec<String> = list.iter().map(|s| s.to_string()).chain([url]).collect();
        async move {
            let output = courier(list).await;
            assert!(output.status.success(), "{}", stderr(&output));
            let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
            assert_eq!(echoed["method"], "POST");
            echoed["body"].as_str().unwrap().to_owned()
        }
    };

    // Repeated -d join with `&`; -d's file loses its line breaks.
    assert_eq!(body(&["-d", "b=2", "-d", &lines]).await, "a=1&b=2&x=1y=2");
    // --data-binary sends the file as it is; --data-raw never reads one.
    assert_eq!(body(&["--data-binary", &lines]).await, "a=1&x=1\r\ny=2\n");
    assert_eq!(body(&["--data-raw", "@lines.txt"]).await, "a=1&@lines.txt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_json_posts_it() {
    let server = TestServer::echo().await;

    let output = courier(args(&["get", &server.url("/api"), "--json", r#"{"a":1}"#])).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["body"], r#"{"a":1}"#);
    assert_eq!(echoed["headers"]["content-type"][0], "application/json");
    assert_eq!(echoed["headers"]["accept"][0], "application/json");

    // --json @FILE sends the file's JSON, as curl's.
    let dir = TempDir::new("json");
    std::fs::write(dir.path("doc.json"), r#"{"from":"file"}"#).unwrap();
    let from_file = format!("@{}", dir.arg("doc.json"));
    let output = courier(args(&["get", &server.url("/api"), "--json", &from_file])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let echoed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(echoed["body"], r#"{"from":"file"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_json_conflict() {
    let output = courier(args(&[
        "get",
        "http://127.0.0.1:9/",
        "-d",
        "x",
        "--json",
        "{}",
    ]))
    .await;

    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );

    // As curl refuses them: a HEAD with a body, and a multipart form with urlencoded data.
    for extra in [
        &["-I", "-d", "x"][..],
        &["-F", "a=b", "--data-urlencode", "c=d"][..],
    ] {
        let mut list = args(&["get", "http://127.0.0.1:9/"]);
        list.extend(extra.iter().map(|a| a.to_string()));
        let output = courier(list).await;
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&output).contains("cannot be used with"), "{extra:?}");
    }
    // curl's --max-redirs is accepted.
    let output = courier(args(&["get", "--max-redirs", "x", "http://127.0.0.1:9/"])).await;
    assert!(
        stderr(&output).contains("invalid value 'x' for '--max-redirects"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_include_prints_the_head() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .status(201)
            .header("x-answer", "42")
            .body(full("made"))
            .unwrap()
    })
    .await;

    let output = courier(args(&["get", "-i", &server.url("/")])).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("HTTP/1.1 201 Created\r\n"), "{text:?}");
    assert!(text.contains("\r\nx-answer: 42\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nmade"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_output_writes_a_file() {
    let body = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let served = body.clone();
    let server = TestServer::start(move |_| {
        let body = served.clone();
        async move { respond(200, body) }
    })
    .await;
    let dir = TempDir::new("output");

    let output = courier(args(&["get", &server.url("/f"), "-o", &dir.arg("f.bin")])).await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert_eq!(std::fs::read(dir.path("f.bin")).unwrap(), body);

    // `-o -` is stdout, as curl's: no file named `-`.
    let output = courier_in(
        Some(dir.path("")),
        args(&["get", &server.url("/f"), "-o", "-"]),
        Vec::new(),
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(output.stdout, body);
    assert!(!dir.path("-").exists());

    // --output-dir, and --create-dirs for directories not there yet, as curl's.
    let output = courier(args(&[
        "get",
        &server.url("/f"),
        "--output-dir",
        &dir.arg("out"),
        "--create-dirs",
        "-o",
        "sub/f.bin",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(dir.path("out/sub/f.bin")).unwrap(), body);
    let output = courier(args(&[
        "get",
        &server.url("/named.bin"),
        "--output-dir",
        &dir.arg("out"),
        "-O",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(dir.path("out/named.bin")).unwrap(), body);

    // An output that cannot be created: curl's write error, 23.
    let output = courier(args(&[
        "get",
        &server.url("/f"),
        "-o",
        &dir.arg("missing/dir/f.bin"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(23), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_only_with_location() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/old" => redirect(302, "/new"),
            "/loop" => redirect(302, "/loop"),
            _ => respond(200, "the new place"),
        }
    })
    .await;

    let stay = courier(args(&["get", "-i", &server.url("/old")])).await;
    let follow = courier(args(&["get", "-L", &server.url("/old")])).await;
    let limited = courier(args(&[
        "get",
        "-L",
        "--max-redirects",
        "3",
        &server.url("/loop"),
    ]))
    .await;

    assert!(stay.status.success());
    assert!(stdout(&stay).starts_with("HTTP/1.1 302 Found\r\n"));
    assert!(stdout(&stay).contains("location: /new\r\n"));
    assert!(follow.status.success(), "{}", stderr(&follow));
    assert_eq!(stdout(&follow), "the new place");
    assert_eq!(limited.status.code(), Some(1));
    assert!(
        stderr(&limited).starts_with("courier: "),
        "{}",
        stderr(&limited)
    );
    assert!(
        stderr(&limited).contains("redirect"),
        "{}",
        stderr(&limited)
    );
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_asks_for_and_decodes_gzip() {
    let server = TestServer::start(|req| async move {
        match req.header("accept-encoding") {
            Some(accept) if accept.contains("gzip") => http::Response::builder()
                .header("content-encoding", "gzip")
                .body(full(gzip(b"squeezed text")))
                .unwrap(),
            _ => respond(200, "plain text"),
        }
    })
    .await;

    let compressed = courier(args(&["get", "--compressed", &server.url("/")])).await;
    let plain = courier(args(&["get", &server.url("/")])).await;

    assert!(compressed.status.success(), "{}", stderr(&compressed));
    assert_eq!(stdout(&compressed), "squeezed text");
    assert_eq!(stdout(&plain), "plain text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_exits_22_on_an_error_status() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .status(404)
            .header("set-cookie", "seen=1; Path=/")
            .body(full("not here"))
            .unwrap()
    })
    .await;

    let without = courier(args(&["get", &server.url("/x")])).await;
    let with = courier(args(&["get", "-f", &server.url("/x")])).await;

    assert!(without.status.success());
    assert_eq!(stdout(&without), "not here");
    assert_eq!(with.status.code(), Some(22));
    assert!(with.stdout.is_empty());
    assert!(stderr(&with).contains("404 Not Found"), "{}", stderr(&with));

    // As curl: -s hides the message, and -w and the cookie jar are still written.
    let dir = TempDir::new("fail");
    let silent = courier(args(&[
        "get",
        "-sf",
        "-w",
        "%{http_code}",
        "-c",
        &dir.arg("jar.txt"),
        &server.url("/x"),
    ]))
    .await;
    assert_eq!(silent.status.code(), Some(22));
    assert_eq!(stdout(&silent), "404");
    assert_eq!(stderr(&silent), "");
    let jar = std::fs::read_to_string(dir.path("jar.txt")).unwrap();
    assert!(jar.contains("\tseen\t1"), "{jar}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_statuses_are_curls_for_a_bad_url_an_unreadable_file_and_a_cut_body() {
    let cut = TestServer::start(|_| async {
        http::Response::new(courier_testkit::failing(vec![Bytes::from_static(b"part")]))
    })
    .await;

    let bad_url = courier(args(&["get", "http://[::1/"])).await;
    let missing = courier(args(&[
        "get",
        "-d",
        "@/nonexistent/courier-data",
        &cut.url("/"),
    ]))
    .await;
    let partial = courier(args(&["get", &cut.url("/")])).await;

    assert_eq!(bad_url.status.code(), Some(3), "{}", stderr(&bad_url));
    assert!(
        stderr(&bad_url).contains("invalid URL"),
        "{}",
        stderr(&bad_url)
    );
    assert_eq!(missing.status.code(), Some(26), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("cannot read /nonexistent/courier-data"),
        "{}",
        stderr(&missing)
    );
    assert_eq!(cut.requests().len(), 1, "the -d run sent nothing");
    assert_eq!(partial.status.code(), Some(18), "{}", stderr(&partial));
    assert_eq!(stdout(&partial), "part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netrc_answers_the_challenge() {
    let server = TestServer::start(|req| async move {
        match req.header("authorization") {
            // ada:lovelace
            Some("Basic YWRhOmxvdmVsYWNl") => respond(200, "hello ada"),
            _ => {
                let mut res = respond(401, "who are you?");
                res.headers_mut()
                    .insert("www-authenticate", "Basic realm=\"cli\"".parse().unwrap());
                res
            }
        }
    })
    .await;
    let dir = TempDir::new("netrc");
    std::fs::write(
        dir.path("netrc"),
        "machine 127.0.0.1 login ada password lovelace\n",
    )
    .unwrap();
    let url = server.url("/private");
    let env = || vec![("NETRC", dir.path("netrc"))];
    let with = courier_with_env(args(&["get", "--netrc", &url]), env()).await;
    let without = courier_with_env(args(&["get", &url]), env()).await;
    assert_eq!(stdout(&with), "hello ada", "{}", stderr(&with));
    assert_eq!(stdout(&without), "who are you?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_answers_the_digest_challenge_and_never_sends_basic() {
    let digest = courier_testkit::digest::DigestServer::new("SHA-256", Some("auth"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (handler, log) = (digest.clone(), seen.clone());
    let server = TestServer::start(move |req| {
        let (digest, log) = (handler.clone(), log.clone());
        async move {
            let auth = req.header("authorization").unwrap_or("-");
            log.lock()
                .unwrap()
                .push(auth.split(' ').next().unwrap().to_owned());
            digest.handle(&req)
        }
    })
    .await;
    let url = server.url("/private");

    let with = courier(args(&[
        "get",
        "--digest",
        "-u",
        "Mufasa:Circle of Life",
        &url,
    ]))
    .await;
    assert!(with.status.success(), "{}", stderr(&with));
    assert_eq!(stdout(&with), "hello Mufasa");
    assert_eq!(*seen.lock().unwrap(), ["-", "Digest"]);
    assert_eq!(digest.challenges(), 1);
    assert_eq!(digest.accepted_ncs(), ["00000001"]);

    // Without --digest, -u is Basic: sent at once, and refused by a Digest-only server.
    seen.lock().unwrap().clear();
    let basic = courier(args(&["get", "-f", "-u", "Mufasa:Circle of Life", &url])).await;
    assert_eq!(basic.status.code(), Some(22));
    assert_eq!(seen.lock().unwrap()[0], "Basic");

    // --digest takes the URL's `user:password@` as it takes -u's: never sent as Basic.
    seen.lock().unwrap().clear();
    let in_url = url.replace("http://", "http://Mufasa:Circle%20of%20Life@");
    let from_url = courier(args(&["get", "--digest", &in_url])).await;
    assert!(from_url.status.success(), "{}", stderr(&from_url));
    assert_eq!(stdout(&from_url), "hello Mufasa");
    assert_eq!(*seen.lock().unwrap(), ["-", "Digest"]);

    // --digest with no credentials at all: the challenge is the answer.
    let alone = courier(args(&["get", "--digest", "-f", &url])).await;
    assert_eq!(alone.status.code(), Some(22), "{}", stderr(&alone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_error_exits_7_with_a_message_and_its_cause() {
    // Bind and drop a listener: its port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let output = courier(args(&["get", &format!("http://127.0.0.1:{port}/")])).await;

    // curl's status for a connection that failed.
    assert_eq!(output.status.code(), Some(7));
    let message = stderr(&output);
    assert!(
        message.starts_with("courier: error connecting"),
        "{message}"
    );
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    // The cause too, not only what failed.
    assert!(message.to_lowercase().contains("refused"), "{message}");

    // -w still reports, as curl's: no response, so http_code 000.
    let url = format!("http://127.0.0.1:{port}/x");
    let output = courier(args(&[
        "get",
        "-s",
        "-w",
        "%{http_code} %{url_effective}",
        &url,
    ]))
    .await;
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(stdout(&output), format!("000 {url}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_fetches_a_list_into_a_folder() {
    let big = Bytes::from(
        (0..3_500_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let served = big.clone();
    let failures = Arc::new(AtomicUsize::new(0));
    let counter = failures.clone();
    let server = TestServer::start(move |req| {
        let big = served.clone();
        let counter = counter.clone();
        async move {
            match req.path() {
                "/big.bin" => serve_ranges(&req, &big, Some("\"big\"")),
                "/flaky.txt" if counter.fetch_add(1, Ordering::SeqCst) == 0 => respond(503, "busy"),
                path => respond(200, format!("content of {path}")),
            }
        }
    })
    .await;
    let dir = TempDir::new("download");
    let list = format!(
        "# a list\n{a}\n{b}\tnamed/b.txt\n\n{flaky}\n{big}\n{dup}\n",
        a = server.url("/docs/a.txt"),
        b = server.url("/b"),
        flaky = server.url("/flaky.txt"),
        big = server.url("/big.bin"),
        dup = server.url("/other/a.txt"),
    );
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");

    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
        "-j",
        "4",
        "--segments",
        "3",
        "--retries",
        "2",
    ]))
    .await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("files:     5 ok, 0 failed\n"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).ends_with("retries:   1\nfailures:  none\n"));
    let read = |name: &str| std::fs::read(out.join(name)).unwrap();
    assert_eq!(read("a.txt"), b"content of /docs/a.txt");
    assert_eq!(read("a.txt.1"), b"content of /other/a.txt");
    assert_eq!(read("named/b.txt"), b"content of /b");
    assert_eq!(read("flaky.txt"), b"content of /flaky.txt");
    assert_eq!(read("big.bin"), big);
    // Three segments of at least 1 MiB: the first request plus two ranges for big.bin.
    let ranged = server
        .requests()
        .iter()
        .filter(|r| r.path() == "/big.bin" && r.header("range").is_some())
        .count();
    assert_eq!(ranged, 2);
    // stderr is not a terminal here: no progress bars, no escape codes.
    assert!(!stderr(&output).contains('\x1b'), "{:?}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_exits_non_zero_when_a_file_fails() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/missing" => respond(404, "gone"),
            _ => respond(200, "fine"),
        }
    })
    .await;
    let dir = TempDir::new("failing");
    let list = format!("{}\n{}\n", server.url("/ok"), server.url("/missing"));
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");

    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
    ]))
    .await;

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).starts_with("files:     1 ok, 1 failed\n"),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).ends_with("failures:  http 404: 1\n"));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "failed: download of {} to {} failed: HTTP status client error (404 Not Found)",
            server.url("/missing"),
            out.join("missing").display()
        )),
        "{message}"
    );
    assert_eq!(std::fs::read(out.join("ok")).unwrap(), b"fine");
    assert!(!out.join("missing").exists());
    assert_eq!(server.requests().len(), 2, "a 404 is not retried");

    // A Retry-After beyond --max-retry-after fails the file at once (within it, it is waited for).
    let limited = TestServer::start(|_| async {
        http::Response::builder()
            .status(429)
            .header("retry-after", "1")
            .body(full("slow down"))
            .unwrap()
    })
    .await;
    std::fs::write(dir.path("limited.txt"), limited.url("/x") + "\n").unwrap();
    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("limited.txt"),
        "-d",
        &out.to_string_lossy(),
        "--max-retry-after",
        "0.5",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(limited.requests().len(), 1, "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_rejects_a_bad_list_before_fetching() {
    let server = TestServer::echo().await;
    let dir = TempDir::new("badlist");
    std::fs::write(
        dir.path("urls.txt"),
        format!("{}\n{}\t../outside\n", server.url("/a"), server.url("/b")),
    )
    .unwrap();

    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &dir.arg("out"),
    ]))
    .await;

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("courier: line 2: \"../outside\" must be a relative path"),
        "{}",
        stderr(&output)
    );
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_resume_continues_a_part() {
    let body = Bytes::from(
        (0..200_000u32)
            .map(|i| (i % 241) as u8)
            .collect::<Vec<u8>>(),
    );
    let served = body.clone();
    let server = TestServer::start(move |req| {
        let body = served.clone();
        async move { serve_ranges(&req, &body, Some("\"v1\"")) }
    })
    .await;
    let dir = TempDir::new("resume");
    let out = dir.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let url = server.url("/data.bin");
    // What an interrupted earlier run leaves: the first bytes and the sidecar.
    std::fs::write(out.join("data.bin.part"), &body[..80_000]).unwrap();
    let meta = serde_json::json!({"url": url, "etag": "\"v1\"", "total": 200_000, "ranges": true});
    std::fs::write(out.join("data.bin.part.meta"), meta.to_string()).unwrap();
    std::fs::write(dir.path("urls.txt"), format!("{url}\n")).unwrap();

    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
        "--resume",
    ]))
    .await;

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), body);
    assert_eq!(server.last_request().header("range"), Some("bytes=80000-"));
    assert!(
        stdout(&output).starts_with("files:     1 ok, 0 failed\nbytes:     117.19 KiB\n"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_cache_answers_the_second_run_from_disk() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .header("cache-control", "max-age=600")
            .body(full("cached body"))
            .unwrap()
    })
    .await;
    let dir = TempDir::new("get-cache");
    let url = server.url("/c");
    let run = || courier(args(&["get", &url, "--cache", &dir.arg("cache"), "-i"]));

    let first = run().await;
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert!(
        out.contains("cache-status: courier; fwd=uri-miss; fwd-status=200; stored\r\n"),
        "{out}"
    );
    assert!(out.ends_with("\r\n\r\ncached body"), "{out}");

    let second = run().await;
    assert!(second.status.success(), "{}", stderr(&second));
    let out = stdout(&second);
    assert!(out.contains("cache-status: courier; hit; ttl="), "{out}");
    assert!(out.ends_with("\r\n\r\ncached body"), "{out}");
    assert_eq!(server.requests().len(), 1, "the second run sent no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_update_leaves_unchanged_files_untouched() {
    let server = TestServer::start(|req| async move {
        if req.header("if-none-match") == Some("\"e1\"") {
            return http::Response::builder()
                .status(304)
                .header("etag", "\"e1\"")
                .body(courier_testkit::empty())
                .unwrap();
        }
        http::Response::builder()
            .header("etag", "\"e1\"")
            .body(full(format!("content of {}", req.path())))
            .unwrap()
    })
    .await;
    let dir = TempDir::new("download-update");
    let list = format!("{}\n{}\n", server.url("/a.txt"), server.url("/b.txt"));
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");
    let run = || {
        courier(args(&[
            "download",
            "-i",
            &dir.arg("urls.txt"),
            "-d",
            &out.to_string_lossy(),
            "--update",
        ]))
    };
    let first = run().await;
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).starts_with("files:     2 ok, 0 failed\n"),
        "{}",
        stdout(&first)
    );

    let second = run().await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).starts_with("files:     0 ok, 2 unchanged, 0 failed\n"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        std::fs::read(out.join("a.txt")).unwrap(),
        b"content of /a.txt"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests[2..]
        .iter()
        .all(|r| r.header("if-none-match") == Some("\"e1\"")));
}

// ---- curl's options ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agent_referer_and_basic_auth_as_curl_sends_them() {
    let server = TestServer::echo().await;
    let output = courier(args(&[
        "get",
        &server.url("/who"),
        "-u",
        "ada:lovelace",
        "-A",
        "curlish/1.0",
        "-e",
        "http://127.0.0.1/from",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = server.last_request();
    assert_eq!(seen.header("authorization"), Some("Basic YWRhOmxvdmVsYWNl"));
    assert_eq!(seen.header("user-agent"), Some("curlish/1.0"));
    assert_eq!(seen.header("referer"), Some("http://127.0.0.1/from"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_prints_the_head_only() {
    let server = TestServer::start(|_| async { respond(200, "body never shown") }).await;
    let output = courier(args(&["get", "-I", &server.url("/")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");
    assert!(!text.contains("body never shown"));
    assert_eq!(server.last_request().method, "HEAD");

    // -IL: every hop's head, in order, as curl's (`curl -sIL url | grep -i location`).
    let hops = TestServer::start(|req| async move {
        match req.path() {
            "/a" => redirect(301, "/b"),
            "/b" => redirect(302, "/c"),
            _ => respond(200, "end"),
        }
    })
    .await;
    let output = courier(args(&["get", "-IL", &hops.url("/a")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let status_lines: Vec<_> = text.lines().filter(|l| l.starts_with("HTTP/")).collect();
    assert_eq!(
        status_lines,
        [
            "HTTP/1.1 301 Moved Permanently",
            "HTTP/1.1 302 Found",
            "HTTP/1.1 200 OK"
        ],
        "{text}"
    );
    let locations: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("location: "))
        .collect();
    assert_eq!(locations, ["/b", "/c"], "{text}");
    // -iL: the heads, then the final body only.
    let output = courier(args(&["get", "-iL", &hops.url("/a")])).await;
    let text = stdout(&output);
    assert_eq!(text.matches("HTTP/1.1 ").count(), 3, "{text}");
    assert!(text.ends_with("\r\n\r\nend"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_out_reports_curls_variables() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/start" => redirect(302, "/final"),
            _ => respond(200, "hello"),
        }
    })
    .await;
    let output = courier(args(&[
        "get",
        "-L",
        "-o",
        "/dev/null",
        &server.url("/start"),
        "-w",
        "%{http_code} %{num_redirects} %{size_download} %{url_effective} %{remote_ip} %{http_version}\\n%{json}",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let (line, json) = text.split_once('\n').unwrap();
    assert_eq!(
        line,
        format!("200 1 5 {} 127.0.0.1 1.1", server.url("/final"))
    );
    let json: Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["http_code"], 200);
    let total = json["time_total"].as_f64().unwrap();
    let start = json["time_starttransfer"].as_f64().unwrap();
    assert!(total >= start && start > 0.0, "{json}");
    // Each phase's end, from the start: never a phase counted twice past the next one.
    let time = |name: &str| json[name].as_f64().unwrap();
    assert!(time("time_namelookup") <= time("time_connect"), "{json}");
    assert!(time("time_connect") <= start, "{json}");
    assert_eq!(time("time_appconnect"), 0.0, "{json}");

    // After a redirect that took 300 ms, to another server: the final hop's connect phases are
    // counted from the start of the whole transfer, as curl's, and time_redirect is the 300 ms.
    let other = TestServer::start(|_| async { respond(200, "there") }).await;
    let target = other.url("/there");
    let slow = TestServer::start(move |_| {
        let target = target.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            redirect(302, &target)
        }
    })
    .await;
    let output = courier(args(&[
        "get",
        "-L",
        "-o",
        "/dev/null",
        &slow.url("/"),
        "-w",
        "%{json}",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let time = |name: &str| json[name].as_f64().unwrap();
    assert!(time("time_redirect") >= 0.3, "{json}");
    assert!(time("time_connect") >= time("time_redirect"), "{json}");
    assert!(time("time_namelookup") <= time("time_connect"), "{json}");
    assert!(time("time_connect") <= time("time_starttransfer"), "{json}");
    assert!(time("time_starttransfer") <= time("time_total"), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_time_gives_up_with_curls_exit_status_28() {
    let server = TestServer::start(|_| async {
        http::Response::builder()
            .body(courier_testkit::slow(
                vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
                std::time::Duration::from_secs(5),
            ))
            .unwrap()
    })
    .await;
    let started = std::time::Instant::now();
    let output = courier(args(&["get", "-m", "0.5", &server.url("/")])).await;
    assert_eq!(output.status.code(), Some(28), "{}", stderr(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert!(stderr(&output).contains("timed out"), "{}", stderr(&output));

    // 0 is no limit, as curl's.
    let quick = TestServer::start(|_| async { respond(200, "in time") }).await;
    let output = courier(args(&[
        "get",
        "-m",
        "0",
        "--connect-timeout",
        "0",
        &quick.url("/"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_name_writes_the_file_named_like_the_url() {
    let server = TestServer::start(|_| async { respond(200, "report body") }).await;
    let dir = TempDir::new("remote-name");
    let output = courier_in(
        Some(dir.0.clone()),
        args(&["get", "-O", &server.url("/files/report%20v2.txt")]),
        Vec::new(),
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dir.path("report v2.txt")).unwrap(),
        "report body"
    );
    assert!(stdout(&output).is_empty());

    // No file name in the URL: curl's write error, 23, and nothing is requested or written.
    let output = courier_in(
        Some(dir.0.clone()),
        args(&["get", "-O", &server.url("/files/")]),
        Vec::new(),
    )
    .await;
    assert_eq!(output.status.code(), Some(23), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no file name"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_puts_urlencoded_data_in_the_query_and_cookies_go_as_given() {
    let server = TestServer::echo().await;
    let output = courier(args(&[
        "get",
        "-G",
        &server.url("/search?lang=en"),
        "-d",
        "page=2",
        "--data-urlencode",
        "q=tea & cake",
        "-b",
        "session=abc; theme=dark",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = server.last_request();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.query(), Some("lang=en&page=2&q=tea%20%26%20cake"));
    assert_eq!(seen.header("cookie"), Some("session=abc; theme=dark"));

    // Without -G the same data is a POSTed form.
    let output = courier(args(&[
        "get",
        &server.url("/form"),
        "--data-urlencode",
        "note=a+b",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = server.last_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, "note=a%2Bb");
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_fields_and_files_go_as_multipart() {
    let server = TestServer::echo().await;
    let dir = TempDir::new("form");
    std::fs::write(dir.path("notes.txt"), "file content").unwrap();
    let file_field = format!("upload=@{}", dir.arg("notes.txt"));
    let output = courier(args(&[
        "get",
        &server.url("/upload"),
        "-F",
        "title=report",
        "-F",
        &file_field,
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = server.last_request();
    assert_eq!(seen.method, "POST");
    assert!(seen
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let body = String::from_utf8_lossy(&seen.body).into_owned();
    assert!(body.contains("name=\"title\"\r\n\r\nreport\r\n"), "{body}");
    assert!(body.contains("filename=\"notes.txt\""), "{body}");
    assert!(body.contains("file content"), "{body}");

    // curl's ;type= and ;filename=, and <FILE for a text field holding a file's content.
    let typed = format!(
        "img=@{};type=image/png;filename=shot.png",
        dir.arg("notes.txt")
    );
    let inline = format!("msg=<{}", dir.arg("notes.txt"));
    let output = courier(args(&[
        "get",
        &server.url("/upload"),
        "-F",
        &typed,
        "-F",
        &inline,
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let body = String::from_utf8_lossy(&server.last_request().body).into_owned();
    assert!(
        body.contains(
            "name=\"img\"; filename=\"shot.png\"\r\nContent-Type: image/png\r\n\r\nfile content\r\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("name=\"msg\"\r\n\r\nfile content\r\n"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_tries_again_after_503_and_silent_hides_errors() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = TestServer::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                respond(503, "busy")
            } else {
                respond(200, "finally")
            }
        }
    })
    .await;
    let output = courier(args(&[
        "get",
        "--retry",
        "3",
        "--retry-delay",
        "0.05",
        &server.url("/"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "finally");
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // curl's other transient statuses (408, 500, 502, 504) are retried too; 501 is not.
    let hits = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = hits.clone();
    let statuses = TestServer::start(move |req| {
        let log = log.clone();
        async move {
            let path = req.path().to_owned();
            let tries = {
                let mut log = log.lock().unwrap();
                log.push(path.clone());
                log.iter().filter(|p| **p == path).count()
            };
            let code: u16 = path[1..].parse().unwrap();
            if tries == 1 {
                respond(code, "failed once")
            } else {
                respond(200, "recovered")
            }
        }
    })
    .await;
    for (code, body, attempts) in [
        (408, "recovered", 2),
        (500, "recovered", 2),
        (502, "recovered", 2),
        (504, "recovered", 2),
        (501, "failed once", 1),
    ] {
        let path = format!("/{code}");
        let output = courier(args(&[
            "get",
            "--retry",
            "2",
            "--retry-delay",
            "0",
            &statuses.url(&path),
        ]))
        .await;
        assert_eq!(stdout(&output), body, "{code}: {}", stderr(&output));
        let tries = hits.lock().unwrap().iter().filter(|p| **p == path).count();
        assert_eq!(tries, attempts, "{code}");
    }

    // -s: a failure has its exit status and no message; -sS shows it again.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let silent = courier(args(&["get", "-s", &url])).await;
    assert_eq!(silent.status.code(), Some(7));
    assert_eq!(stderr(&silent), "");
    let shown = courier(args(&["get", "-sS", &url])).await;
    assert_eq!(shown.status.code(), Some(7));
    assert!(stderr(&shown).starts_with("courier: error connecting"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_jar_files_are_written_and_read_in_curls_format() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/login" => http::Response::builder()
                .header("set-cookie", "session=s3; Path=/; HttpOnly")
                .header("set-cookie", "theme=dark; Path=/; Max-Age=3600")
                .body(full("welcome"))
                .unwrap(),
            _ => respond(200, req.header("cookie").unwrap_or("no cookies").to_owned()),
        }
    })
    .await;
    let dir = TempDir::new("cookies");
    let jar = dir.arg("jar.txt");

    let output = courier(args(&["get", "-c", &jar, &server.url("/login")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&jar).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File\n"), "{text}");
    assert!(
        text.contains("#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts3\n"),
        "{text}"
    );
    assert!(text.contains("\ttheme\tdark\n"), "{text}");
    // Written beside and renamed into place: nothing else is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["jar.txt"]);

    // A private jar stays private, and a symlinked one stays a symlink to the file it names.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&jar, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path("link.txt");
        std::os::unix::fs::symlink(&jar, &link).unwrap();
        let link = link.to_str().unwrap().to_owned();
        let output = courier(args(&["get", "-c", &link, &server.url("/login")])).await;
        assert!(output.status.success(), "{}", stderr(&output));
        let mode = std::fs::metadata(&jar).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::read_to_string(&jar)
            .unwrap()
            .contains("\tsession\ts3\n"));
    }

    // Read back with -b FILE: both cookies are sent.
    let output = courier(args(&["get", "-b", &jar, &server.url("/page")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "session=s3; theme=dark");

    // A file curl wrote by hand, with a leading-dot domain and a comment.
    std::fs::write(
        dir.path("curl.txt"),
        "# Netscape HTTP Cookie File\n.127.0.0.1\tTRUE\t/\tFALSE\t0\tfrom\tcurl\n",
    )
    .unwrap();
    let output = courier(args(&[
        "get",
        "-b",
        &dir.arg("curl.txt"),
        &server.url("/page"),
    ]))
    .await;
    assert_eq!(stdout(&output), "from=curl");

    // `-b jar -c jar` on a first run: the file does not exist yet, which is no error (as curl).
    let fresh = dir.arg("fresh.txt");
    let output = courier(args(&[
        "get",
        "-b",
        &fresh,
        "-c",
        &fresh,
        &server.url("/login"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::read_to_string(&fresh).unwrap().contains(
        "	session	s3
"
    ));
    // `-b ''` turns the engine on with no file; `-c -` writes the jar to stdout after the body.
    let output = courier(args(&["get", "-b", "", "-c", "-", &server.url("/login")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with("welcome# Netscape HTTP Cookie File\n"),
        "{out}"
    );
    assert!(out.contains("\ttheme\tdark\n"), "{out}");
    // A jar file that exists but cannot be read is still an error (26, curl's read error).
    let output = courier(args(&["get", "-b", &dir.arg(""), &server.url("/page")])).await;
    assert_eq!(output.status.code(), Some(26), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cacert_and_cert_with_key_make_mutual_tls_work() {
    use courier_testkit::tls::{ServerTls, TestCerts};
    let certs = TestCerts::generate(&["localhost", "127.0.0.1"]);
    let identity = certs.client_identity_pem();
    let server = TestServer::builder()
        .tls_certs(certs)
        .tls_options(ServerTls {
            require_client_cert: true,
            ..ServerTls::default()
        })
        .start(|_| async { respond(200, "secret") })
        .await;
    let dir = TempDir::new("mtls");
    std::fs::write(dir.path("ca.pem"), server.ca_pem()).unwrap();
    let key_at = identity.find("-----BEGIN PRIVATE KEY").unwrap();
    std::fs::write(dir.path("client.pem"), &identity[..key_at]).unwrap();
    std::fs::write(dir.path("client.key"), &identity[key_at..]).unwrap();

    let url = server.url("/");
    let output = courier(args(&[
        "get",
        "--cacert",
        &dir.arg("ca.pem"),
        "--cert",
        &dir.arg("client.pem"),
        "--key",
        &dir.arg("client.key"),
        &url,
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "secret");

    // Without the certificate the server refuses; without --cacert the server is not trusted.
    let output = courier(args(&["get", "--cacert", &dir.arg("ca.pem"), &url])).await;
    assert!(!output.status.success());
    let output = courier(args(&["get", &url])).await;
    assert_eq!(output.status.code(), Some(60), "{}", stderr(&output));
    assert_eq!(server.requests().len(), 1);

    // --cacert replaces the system's roots, as curl's: a server the system trusts (here through
    // SSL_CERT_FILE) but the given bundle does not is refused.
    let plain = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "system-trusted") })
        .await;
    std::fs::write(dir.path("system.pem"), plain.ca_pem()).unwrap();
    let system = || vec![("SSL_CERT_FILE", dir.path("system.pem"))];
    let output = courier_with_env(args(&["get", &plain.url("/")]), system()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "system-trusted");
    let output = courier_with_env(
        args(&["get", "--cacert", &dir.arg("ca.pem"), &plain.url("/")]),
        system(),
    )
    .await;
    assert_eq!(output.status.code(), Some(60), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_at_resumes_a_file_exactly_and_never_corrupts_it() {
    let data = Bytes::from(
        (0..100_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let ranged = {
        let data = data.clone();
        TestServer::start(move |req| {
            let data = data.clone();
            async move { serve_ranges(&req, &data, None) }
        })
        .await
    };
    let dir = TempDir::new("resume");
    let file = dir.arg("data.bin");

    // Half a file: the rest is fetched with a Range request and appended.
    std::fs::write(&file, &data[..40_000]).unwrap();
    let output = courier(args(&["get", "-C", "-", "-o", &file, &ranged.url("/d")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), data);
    assert_eq!(ranged.last_request().header("range"), Some("bytes=40000-"));

    // A complete file: the server answers 416 and the file is left alone.
    let output = courier(args(&["get", "-C", "-", "-o", &file, &ranged.url("/d")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), data);

    // A longer file than the server's (it shrank): the 416 says so, and it is an error, not done.
    let longer = [&data[..], b"stale tail"].concat();
    std::fs::write(&file, &longer).unwrap();
    let output = courier(args(&["get", "-C", "-", "-o", &file, &ranged.url("/d")])).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("has 100010 bytes, the server's file has 100000"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), longer);

    // A server that ignores Range sends the whole body: the file is replaced, not appended to.
    let whole = {
        let data = data.clone();
        TestServer::start(move |_| {
            let data = data.clone();
            async move { respond(200, data) }
        })
        .await
    };
    std::fs::write(&file, &data[..10]).unwrap();
    let output = courier(args(&["get", "-C", "-", "-o", &file, &whole.url("/d")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), data);

    // An error page (or a redirect not followed) is not the rest of the file, nor the file: as
    // curl, a range error (33), the file left as it was. With -f, as any error status (22).
    let busy = TestServer::start(|req| async move {
        match req.path() {
            "/moved" => redirect(302, "/d"),
            _ => respond(503, "busy, come back later"),
        }
    })
    .await;
    std::fs::write(&file, &data[..500]).unwrap();
    for (path, flags, code) in [
        ("/d", &[][..], 33),
        ("/moved", &[][..], 33),
        ("/d", &["-f"][..], 22),
    ] {
        let mut list = args(&["get", "-C", "-", "-o", &file, &busy.url(path)]);
        list.extend(flags.iter().map(|f| f.to_string()));
        let output = courier(list).await;
        assert_eq!(
            output.status.code(),
            Some(code),
            "{path} {flags:?}: {}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(&file).unwrap(),
            &data[..500],
            "{path} {flags:?}"
        );
    }
    assert!(
        courier(args(&["get", "-C", "-", "-o", &file, &busy.url("/d")]))
            .await
            .stderr
            .starts_with(b"courier: -C -: the server answered 503 Service Unavailable instead of the rest of"),
    );

    // A complete file with -f: the 416 is not an HTTP error to fail on (as curl).
    std::fs::write(&file, &data).unwrap();
    let output = courier(args(&[
        "get",
        "-f",
        "-C",
        "-",
        "-o",
        &file,
        "-w",
        "%{http_code}",
        &ranged.url("/d"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "416");
    assert_eq!(std::fs::read(&file).unwrap(), data);

    // A 206 for another range than asked: an error, and the file keeps what it had.
    let wrong = TestServer::start(|_| async {
        http::Response::builder()
            .status(206)
            .header("content-range", "bytes 0-9/100000")
            .body(full(Bytes::from_static(b"0123456789")))
            .unwrap()
    })
    .await;
    std::fs::write(&file, &data[..500]).unwrap();
    let output = courier(args(&["get", "-C", "-", "-o", &file, &wrong.url("/d")])).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("does not continue"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), &data[..500]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_rate_reads_no_faster_than_asked() {
    let body = Bytes::from(vec![b'r'; 60 * 1024]);
    let server = TestServer::start(move |_| {
        let body = body.clone();
        async move { respond(200, body) }
    })
    .await;
    let started = std::time::Instant::now();
    let output = courier(args(&[
        "get",
        "--limit-rate",
        "100k",
        "-o",
        "/dev/null",
        &server.url("/"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    // 60 KiB at 100 KiB/s: at least 0.6 s (the first chunk may come at once, so allow for it).
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_statuses_are_curls_for_redirect_loops_and_untrusted_certificates() {
    let looping = TestServer::start(|req| async move {
        let n: u32 = req.path().trim_start_matches('/').parse().unwrap_or(0);
        redirect(302, &format!("/{}", n + 1))
    })
    .await;
    let output = courier(args(&[
        "get",
        "-L",
        "--max-redirects",
        "3",
        &looping.url("/0"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(47), "{}", stderr(&output));

    // A server whose certificate nothing here trusts: 60, as curl's "peer certificate cannot be
    // authenticated".
    let tls = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "hidden") })
        .await;
    let output = courier(args(&["get", &tls.url("/")])).await;
    assert_eq!(output.status.code(), Some(60), "{}", stderr(&output));
    assert!(tls.requests().is_empty());
    // -k accepts it.
    let output = courier(args(&["get", "-k", &tls.url("/")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_sends_headers_credentials_and_user_agent_with_every_file() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("file {}", req.path())) }).await;
    let dir = TempDir::new("download-options");
    let list = format!("{}\n{}\n", server.url("/one.txt"), server.url("/two.txt"));
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");
    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
        "-H",
        "X-Token: t0k3n",
        "-u",
        "ada:lovelace",
        "-A",
        "fetcher/2",
        "--timeout",
        "30",
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(out.join("two.txt")).unwrap(),
        "file /two.txt"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for seen in requests {
        assert_eq!(seen.header("x-token"), Some("t0k3n"));
        assert_eq!(seen.header("authorization"), Some("Basic YWRhOmxvdmVsYWNl"));
        assert_eq!(seen.header("user-agent"), Some("fetcher/2"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_json_reports_each_file_and_a_summary_and_quiet_prints_nothing() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/gone.txt" => respond(404, "no"),
            path => respond(200, format!("file {path}")),
        }
    })
    .await;
    let dir = TempDir::new("download-json");
    let list = format!(
        "{}\n{}\n{}\n",
        server.url("/one.txt"),
        server.url("/two.txt"),
        server.url("/gone.txt")
    );
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");
    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
        "--retries",
        "0",
        "--json",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let finished: Vec<&Value> = lines.iter().filter(|l| l["event"] == "finished").collect();
    assert_eq!(finished.len(), 2);
    assert!(finished.iter().all(|l| l["bytes"] == 13));
    let failed = lines.iter().find(|l| l["event"] == "failed").unwrap();
    assert_eq!(failed["url"], server.url("/gone.txt"));
    assert!(
        failed["error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    let summary = &lines[3]["summary"];
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["bytes"], 26);

    let quiet_out = dir.path("quiet");
    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &quiet_out.to_string_lossy(),
        "--retries",
        "0",
        "-q",
    ]))
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("failed: "),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(quiet_out.join("one.txt")).unwrap(),
        "file /one.txt"
    );
}

#[tokio::test]
async fn download_with_its_output_closed_still_fetches_every_file() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("file {}", req.path())) }).await;
    let dir = TempDir::new("download-closed-stdout");
    let list: String = (0..5)
        .map(|i| format!("{}\n", server.url(&format!("/{i}.txt"))))
        .collect();
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");
    let (list, out_arg) = (dir.arg("urls.txt"), out.to_string_lossy().into_owned());

    // `courier download --json | head -0`: both pipes closed before anything is written.
    let status = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("courier"))
            .args(["download", "-i", &list, "-d", &out_arg, "--json"])
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        drop(child.stderr.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("courier hung with its output closed");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    })
    .await
    .unwrap();

    assert_eq!(status.code(), Some(0), "a panic exits 101");
    for i in 0..5 {
        assert_eq!(
            std::fs::read_to_string(out.join(format!("{i}.txt"))).unwrap(),
            format!("file /{i}.txt")
        );
    }
}

// ---- -v, --retry-max-time; download's --checksums, --limit-rate, progress lines and summary ------------

/// The request heads a [`raw_server`] read, as they arrived, with the client's address.
type Heads = Arc<std::sync::Mutex<Vec<(String, std::net::SocketAddr)>>>;

/// A keep-alive HTTP/1.1 server writing, for each request, the reply `replies` has for its path (a
/// `404` for others), byte for byte; records each request head as it came off the wire.
async fn raw_server(replies: &'static [(&'static str, &'static str)]) -> (RawServer, Heads) {
    let heads: Heads = Arc::default();
    let seen = heads.clone();
    let server = RawServer::start(move |mut stream, _| {
        let seen = seen.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            let peer = stream.peer_addr().unwrap();
            while let Some(request) = read_request(&mut stream).await {
                let path = request.request_line().split(' ').nth(1).unwrap_or("");
                let reply = replies
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map_or("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", |r| {
                        r.1
                    });
                seen.lock().unwrap().push((request.head.clone(), peer));
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    })
    .await;
    (server, heads)
}

/// A head as `-v` shows it, each line after `marker` and a space, and `marker ` for the blank line.
fn marked(marker: char, head: &str) -> String {
    let head = head.split("\r\n\r\n").next().unwrap();
    let mut out: String = head
        .split("\r\n")
        .map(|line| format!("{marker} {line}\n"))
        .collect();
    out.push_str(&format!("{marker} \n"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_shows_the_connection_and_each_head_as_written() {
    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-answer: 42\r\n\r\nhello";
    const MOVED: &str = "HTTP/1.1 302 Found\r\nlocation: /new\r\ncontent-length: 0\r\n\r\n";

    // A plain request on a new connection.
    let (server, heads) = raw_server(&[("/plain", OK)]).await;
    let output = courier(args(&[
        "get",
        "-v",
        "-H",
        "X-Token: t0k3n",
        &server.url("/plain"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hello");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let (head, client) = &heads[0];
    let port = server.addr().port();
    assert!(head.starts_with("GET /plain HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("\r\nx-token: t0k3n\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")),
        "{head}"
    );
    let expected = format!(
        "* Connected to 127.0.0.1 port {port} from 127.0.0.1 port {} (#1)\n\
         * using HTTP/1.1\n\
         {}{}",
        client.port(),
        marked('>', head),
        marked('<', OK),
    );
    assert_eq!(stderr(&output), expected);

    // A POST redirected (303-style, to a GET) on the same connection, reused.
    let (server, heads) = raw_server(&[("/old", MOVED), ("/new", OK)]).await;
    let output = courier(args(&["get", "-v", "-L", "-d", "a=1", &server.url("/old")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "hello");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert_eq!(server.connections(), 1);
    let port = server.addr().port();
    let (first, client) = &heads[0];
    let (second, _) = &heads[1];
    assert!(first.starts_with("POST /old HTTP/1.1\r\n"), "{first}");
    // The body framing hyper writes is in the head shown.
    assert!(first.contains("\r\ncontent-length: 3\r\n"), "{first}");
    assert!(second.starts_with("GET /new HTTP/1.1\r\n"), "{second}");
    let expected = format!(
        "* Connected to 127.0.0.1 port {port} from 127.0.0.1 port {} (#1)\n\
         * using HTTP/1.1\n\
         {}{}\
         * Issue another request to this URL: 'http://127.0.0.1:{port}/new'\n\
         * Re-using existing connection #1 to 127.0.0.1 port {port}\n\
         {}{}",
        client.port(),
        marked('>', first),
        marked('<', MOVED),
        marked('>', second),
        marked('<', OK),
    );
    assert_eq!(stderr(&output), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_shows_the_tls_version_and_the_protocol_negotiated() {
    let server = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "secret") })
        .await;
    let url = server.url("/secure");
    let port = server.addr().port();

    let output = courier(args(&["get", "-v", "-k", &url])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("* Connected to "), "{log}");
    assert!(
        lines[1].starts_with("* SSL connection using TLSv1.3 / TLS13_"),
        "{log}"
    );
    assert_eq!(lines[2], "* using HTTP/2", "{log}");
    assert_eq!(lines[3], "> GET /secure HTTP/2", "{log}");
    assert_eq!(lines[4], format!("> :authority: localhost:{port}"), "{log}");
    assert!(lines.contains(&"< HTTP/2 200 OK"), "{log}");
    assert!(lines.contains(&"< content-length: 6"), "{log}");

    let output = courier(args(&["get", "-v", "-k", "--http1.1", &url])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[1].starts_with("* SSL connection using TLSv1.3 / "),
        "{log}"
    );
    assert_eq!(lines[2], "* using HTTP/1.1", "{log}");
    assert_eq!(lines[3], "> GET /secure HTTP/1.1", "{log}");
    assert!(lines.contains(&"< HTTP/1.1 200 OK"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_max_time_starts_no_retry_past_the_limit() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = TestServer::start(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        // Busy, back in 1 s (or at once): the waits are the server's, not random backoff.
        let wait = if req.path() == "/slow" { "1" } else { "0" };
        async move {
            http::Response::builder()
                .status(503)
                .header("retry-after", wait)
                .body(full("busy"))
                .unwrap()
        }
    })
    .await;

    // Attempts at 0, 1 and 2 s; a fourth would start at 3 s, past 2.5.
    let started = std::time::Instant::now();
    let output = courier(args(&[
        "get",
        "--retry",
        "10",
        "--retry-max-time",
        "2.5",
        &server.url("/slow"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "busy");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));

    // 0: no limit; --retry alone decides.
    attempts.store(0, Ordering::SeqCst);
    let output = courier(args(&[
        "get",
        "--retry",
        "3",
        "--retry-max-time",
        "0",
        &server.url("/quick"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
}

/// As curl's: `-m` bounds each attempt, a timeout at any point (before the head, or with the body
/// stalled) is retried, and with `--retry-all-errors` so is a body cut short; what the failed attempt
/// wrote to the file is thrown away, so the file ends whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_covers_timeouts_and_cut_bodies_each_attempt_with_its_own_max_time() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let server = TestServer::start(move |req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let chunks = [Bytes::from_static(b"01234"), Bytes::from_static(b"56789")];
            let body = match (req.path(), n % 2) {
                // The first attempt of each: no head for 3 s, or a stall mid-body, or a cut body.
                ("/late", 0) => {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    full("0123456789")
                }
                ("/stall", 0) => courier_testkit::stalling(
                    chunks[0].clone(),
                    std::time::Duration::from_millis(1500),
                    chunks[1].clone(),
                ),
                ("/cut", 0) => courier_testkit::failing(vec![chunks[0].clone()]),
                _ => full("0123456789"),
            };
            http::Response::builder()
                .header("content-length", "10")
                .body(body)
                .unwrap()
        }
    })
    .await;
    let dir = TempDir::new("retry-transfer");
    for (path, extra) in [
        ("/late", None),
        ("/stall", None),
        ("/cut", Some("--retry-all-errors")),
    ] {
        seen.store(0, Ordering::SeqCst);
        let file = dir.arg(&format!("{}.out", &path[1..]));
        let mut list = vec![
            "get",
            "--retry",
            "2",
            "--retry-delay",
            "0.1",
            "-m",
            "1",
            "-o",
            &file,
        ];
        list.extend(extra);
        let url = server.url(path);
        list.push(&url);
        let started = std::time::Instant::now();
        let output = courier(args(&list)).await;
        assert!(output.status.success(), "{path}: {}", stderr(&output));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "0123456789",
            "{path}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2, "{path}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{path}"
        );
    }
    // Without --retry-all-errors a cut body is not retried: curl's 18, the file as far as it got.
    seen.store(0, Ordering::SeqCst);
    let file = dir.arg("cut-once.out");
    let output = courier(args(&[
        "get",
        "--retry",
        "2",
        "-o",
        &file,
        &server.url("/cut"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(18), "{}", stderr(&output));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

/// `-C -` with `--retry`: each attempt asks for what the file lacks when it starts, so an attempt
/// answered with the whole file (a server ignoring `Range`) that times out part way is continued by
/// the next from where it stopped, never appended after stale bytes. And what went to stdout (a head
/// shown with -i) is never repeated by a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_resume_continues_what_the_failed_attempt_wrote() {
    let data = Bytes::from_static(b"0123456789ABCDEFGHIJ");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let served = data.clone();
    let server = TestServer::start(move |req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let data = served.clone();
        async move {
            if n == 0 {
                // The whole file, ignoring the Range asked for, stalling after 10 bytes.
                return http::Response::builder()
                    .header("content-length", "20")
                    .body(courier_testkit::stalling(
                        data.slice(..10),
                        std::time::Duration::from_millis(1500),
                        data.slice(10..),
                    ))
                    .unwrap();
            }
            serve_ranges(&req, &data, Some("\"v1\""))
        }
    })
    .await;
    let dir = TempDir::new("retry-resume");
    let file = dir.arg("file.bin");
    std::fs::write(&file, "01234").unwrap();
    let output = courier(args(&[
        "get",
        "-C",
        "-",
        "--retry",
        "2",
        "--retry-delay",
        "0.1",
        "-m",
        "1",
        "-o",
        &file,
        &server.url("/file.bin"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&file).unwrap(), data);
    let ranges: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert_eq!(
        ranges,
        [Some("bytes=5-".to_owned()), Some("bytes=10-".to_owned())]
    );

    // -i to stdout: the head is shown, then the body stalls past -m; no retry shows it twice.
    seen.store(0, Ordering::SeqCst);
    let output = courier(args(&[
        "get",
        "-i",
        "--retry",
        "2",
        "-m",
        "1",
        &server.url("/file.bin"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(28), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).matches("HTTP/1.1 200").count(),
        1,
        "{}",
        stdout(&output)
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_verify_the_files_listed_and_only_those() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("file {}", req.path())) }).await;
    let dir = TempDir::new("checksums");
    let list = format!(
        "{}\n{}\tsub/b.txt\n{}\n",
        server.url("/a.txt"),
        server.url("/b.txt"),
        server.url("/c.txt"),
    );
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    // a.txt right (text mode), b.txt wrong (binary mode, `./`), c.txt not listed; d.txt not downloaded.
    let wrong = sha256_hex(b"something else");
    let sums = format!(
        "{}  a.txt\n{wrong} *./sub/b.txt\n{}  d.txt\n",
        sha256_hex(b"file /a.txt"),
        sha256_hex(b"d"),
    );
    std::fs::write(dir.path("SHA256SUMS"), sums).unwrap();
    let out = dir.path("out");
    let run = |json: bool| {
        let mut list = args(&[
            "download",
            "-i",
            &dir.arg("urls.txt"),
            "-d",
            &out.to_string_lossy(),
            "--checksums",
            &dir.arg("SHA256SUMS"),
        ]);
        if json {
            list.push("--json".into());
        }
        courier(list)
    };

    let output = run(false).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"file /a.txt");
    assert_eq!(std::fs::read(out.join("c.txt")).unwrap(), b"file /c.txt");
    assert!(!out.join("sub/b.txt").exists());
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "failed: download of {} to {} failed: SHA-256 mismatch: expected {wrong}, got {}\n",
            server.url("/b.txt"),
            out.join("sub/b.txt").display(),
            sha256_hex(b"file /b.txt"),
        )),
        "{message}"
    );
    assert!(
        stdout(&output).ends_with("failures:  checksum mismatch: 1\n"),
        "{}",
        stdout(&output)
    );

    let output = run(true).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let failed = lines.iter().find(|l| l["event"] == "failed").unwrap();
    assert_eq!(failed["url"], server.url("/b.txt"));
    assert_eq!(failed["cause"], "checksum mismatch");
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(
        summary["failures_by_cause"],
        serde_json::json!({"checksum mismatch": 1})
    );
    assert_eq!(summary["failures"][0]["cause"], "checksum mismatch");

    // A malformed line: an error naming it, before anything is fetched.
    let before = server.requests().len();
    std::fs::write(
        dir.path("SHA256SUMS"),
        format!("{}  a.txt\n{}\n", sha256_hex(b"a"), "abc  c.txt"),
    )
    .unwrap();
    let output = run(false).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "courier: {}: line 2: expected '<64 hex digits>  <name>' or '<64 hex digits> *<name>' \
             (sha256sum format), got \"abc  c.txt\"\n",
            dir.path("SHA256SUMS").display()
        )
    );
    assert_eq!(server.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_limit_rate_caps_all_files_together() {
    let file = |n: u8| {
        Bytes::from(
            (0..256 * 1024u32)
                .map(|i| (i as u8) ^ n)
                .collect::<Vec<u8>>(),
        )
    };
    let server = TestServer::start(move |req| async move {
        let n: u8 = req.path().trim_start_matches("/f").parse().unwrap_or(0);
        respond(200, file(n))
    })
    .await;
    let dir = TempDir::new("download-rate");
    let list: String = (0..4)
        .map(|n| format!("{}\n", server.url(&format!("/f{n}"))))
        .collect();
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let out = dir.path("out");
    let started = std::time::Instant::now();
    let output = courier(args(&[
        "download",
        "-i",
        &dir.arg("urls.txt"),
        "-d",
        &out.to_string_lossy(),
        "-j",
        "4",
        "--limit-rate",
        "512k",
    ]))
    .await;
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", stderr(&output));
    // 1 MiB at 512 KiB/s: 2 s, less the chunks that arrive before their wait.
    assert!(
        elapsed >= std::time::Duration::from_millis(1500),
        "{elapsed:?}"
    );
    for n in 0..4u8 {
        assert_eq!(std::fs::read(out.join(format!("f{n}"))).unwrap(), file(n));
    }
    assert!(
        stdout(&output).starts_with("files:     4 ok, 0 failed\nbytes:     1.00 MiB\n"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_progress_is_plain_lines_off_a_terminal_and_nothing_with_quiet() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            // About 1.5 s: long enough for a line of the run's progress.
            "/slow.bin" => http::Response::builder()
                .header("content-length", "3")
                .body(courier_testkit::slow(
                    vec![
                        Bytes::from_static(b"a"),
                        Bytes::from_static(b"b"),
                        Bytes::from_static(b"c"),
                    ],
                    std::time::Duration::from_millis(500),
                ))
                .unwrap(),
            _ => respond(200, "fast"),
        }
    })
    .await;
    let dir = TempDir::new("download-progress");
    let list = format!("{}\n{}\n", server.url("/fast.txt"), server.url("/slow.bin"));
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    let run = |out: &str, quiet: bool| {
        let mut list = args(&["download", "-i", &dir.arg("urls.txt"), "-d", &dir.arg(out)]);
        if quiet {
            list.push("--quiet".into());
        }
        courier(list)
    };

    let output = run("out", false).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(!log.contains('\x1b') && !log.contains('\r'), "{log:?}");
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines {
        assert!(
            line.starts_with("progress: ") || line.starts_with("finished: "),
            "{log}"
        );
    }
    let progress = lines.iter().find(|l| l.starts_with("progress: ")).unwrap();
    // fast.txt's 4 bytes and some of slow.bin's 3, depending on when the tick came.
    let received = progress
        .strip_prefix("progress: 1/2 files done, ")
        .and_then(|rest| rest.split_once(" B received, "));
    let Some((bytes, rate)) = received else {
        panic!("{log}")
    };
    assert!((4..7).contains(&bytes.parse::<u32>().unwrap()), "{log}");
    assert!(rate.ends_with("/s"), "{log}");
    let finished: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("finished: "))
        .collect();
    assert_eq!(finished.len(), 2, "{log}");
    assert!(
        finished[0].starts_with("finished: fast.txt, 4 B in "),
        "{log}"
    );
    assert!(
        finished[1].starts_with("finished: slow.bin, 3 B in "),
        "{log}"
    );
    assert!(finished[1].ends_with(" B/s)"), "{log}");

    let output = run("quiet", true).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    assert_eq!(stdout(&output), "");
    assert_eq!(
        std::fs::read(dir.path("quiet").join("slow.bin")).unwrap(),
        b"abc"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_summary_counts_bytes_retries_and_failures_by_cause() {
    let flaky = Arc::new(AtomicUsize::new(0));
    let flaky_attempts = flaky.clone();
    let server = TestServer::start(move |req| {
        let flaky = flaky.clone();
        async move {
            match req.path() {
                "/gone1" | "/gone2" => respond(404, "no"),
                "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => respond(503, "busy"),
                "/stuck" => {
                    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    respond(200, "late")
                }
                path => respond(200, format!("file {path}")),
            }
        }
    })
    .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("download-summary");
    let list = [
        server.url("/ok"),
        server.url("/flaky"),
        server.url("/bad"),
        server.url("/gone1"),
        server.url("/gone2"),
        server.url("/stuck"),
        format!("http://127.0.0.1:{closed}/refused"),
    ]
    .join("\n");
    std::fs::write(dir.path("urls.txt"), list).unwrap();
    std::fs::write(
        dir.path("sums"),
        format!("{}  bad\n", sha256_hex(b"not it")),
    )
    .unwrap();
    let out = dir.path("out");
    let run = |json: bool| {
        let mut list = args(&[
            "download",
            "-i",
            &dir.arg("urls.txt"),
            "-d",
            &out.to_string_lossy(),
            "-j",
            "8",
            "--retries",
            "1",
            "--timeout",
            "1",
            "--checksums",
            &dir.arg("sums"),
        ]);
        if json {
            list.push("--json".into());
        }
        courier(list)
    };

    let output = run(false).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    // ok: 8 + 11 bytes, bad: 9 (received, then failed its check).
    assert_eq!(
        lines[..2],
        ["files:     2 ok, 5 failed", "bytes:     28 B"],
        "{table}"
    );
    assert!(
        lines[2].starts_with("time:      ") && lines[2].ends_with("/s on average"),
        "{table}"
    );
    // One retry each: the 503, the timeout, the refused connection.
    assert_eq!(
        lines[3..],
        [
            "retries:   3",
            "failures:  http 404: 2",
            "           checksum mismatch: 1",
            "           connect: 1",
            "           timeout: 1",
        ],
        "{table}"
    );

    // The same run, for scripts: the summary object carries the same data.
    flaky_attempts.store(0, Ordering::SeqCst);
    let output = run(true).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary: Value = serde_json::from_str(stdout(&output).lines().last().unwrap()).unwrap();
    let summary = &summary["summary"];
    assert_eq!(summary["files"], 2);
    assert_eq!(summary["failed"], 5);
    assert_eq!(summary["bytes"], 28);
    assert_eq!(summary["retries"], 3);
    assert_eq!(
        summary["failures_by_cause"],
        serde_json::json!({"http 404": 2, "checksum mismatch": 1, "connect": 1, "timeout": 1})
    );
    assert!(summary["bytes_per_s"].as_f64().unwrap() > 0.0, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noproxy_applies_to_the_environments_proxy_and_an_empty_x_turns_proxies_off() {
    let server = TestServer::start(|_| async { respond(200, "direct or forwarded") }).await;
    let proxy = courier_testkit::ProxyServer::start(server.addr()).await;
    let env = || vec![("http_proxy", PathBuf::from(proxy.url()))];
    let url = server.url("/x");

    // The environment's proxy is used...
    let output = courier_with_env(args(&["get", &url]), env()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(proxy.seen().len(), 1);
    // ...but not for a host --noproxy names, nor with -x "".
    for extra in [
        &["--noproxy", "127.0.0.1"][..],
        &["--noproxy", "*"][..],
        &["-x", ""][..],
    ] {
        let mut list = args(&["get", &url]);
        list.extend(extra.iter().map(|a| a.to_string()));
        let output = courier_with_env(list, env()).await;
        assert!(output.status.success(), "{extra:?}: {}", stderr(&output));
        assert_eq!(stdout(&output), "direct or forwarded");
        assert_eq!(proxy.seen().len(), 1, "{extra:?} went through the proxy");
    }
    // A --noproxy list that does not name the host leaves the environment's proxy in use.
    let output = courier_with_env(args(&["get", "--noproxy", "other.test", &url]), env()).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(proxy.seen().len(), 2);
}

/// `-F name=@FILE` is sent again where the request must be: to follow a 307 with -L (curl rewinds the
/// file), and on --retry. (A streamed file part cannot be copied: the upload went nowhere, exit 0.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_file_upload_follows_a_307_and_is_retried() {
    let busy = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start({
        let busy = busy.clone();
        move |req| {
            let busy = busy.clone();
            async move {
                match req.path() {
                    "/up" => redirect(307, "/final"),
                    "/busy" if busy.fetch_add(1, Ordering::SeqCst) < 2 => respond(503, "busy"),
                    _ => respond(200, format!("stored {}", req.body.len())),
                }
            }
        }
    })
    .await;
    let dir = TempDir::new("form-replay");
    std::fs::write(dir.path("a.txt"), "file content").unwrap();
    let field = format!("f=@{}", dir.arg("a.txt"));
    let output = courier(args(&["get", "-L", "-F", &field, &server.url("/up")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
    assert!(String::from_utf8_lossy(&seen[1].body).contains("file content"));
    assert_eq!(stdout(&output), format!("stored {}", seen[1].body.len()));

    let output = courier(args(&[
        "get",
        "--retry",
        "2",
        "--retry-delay",
        "0.1",
        "--retry-all-errors",
        "-F",
        &field,
        &server.url("/busy"),
    ]))
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.requests().len(), 5);
    assert!(
        stdout(&output).starts_with("stored "),
        "{}",
        stdout(&output)
    );
}

/// curl's exit statuses for a connection that ends without an answer: 52 closed with nothing said
/// ("empty reply from server"), 56 reset, before the answer or during its body (18 stays for a body
/// that ended early, cleanly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_an_answer_exits_52_and_a_reset_56() {
    use courier_testkit::Then;
    let empty = RawServer::reply("", Then::Close).await;
    let reset = RawServer::reply("", Then::Reset).await;
    let cut = RawServer::reply(
        "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial",
        Then::Reset,
    )
    .await;
    let short = RawServer::reply(
        "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial",
        Then::Close,
    )
    .await;
    let mut codes = Vec::new();
    for server in [&empty, &reset, &cut, &short] {
        codes.push(
            courier(args(&["get", &server.url("/")]))
                .await
                .status
                .code(),
        );
    }
    assert_eq!(codes, [Some(52), Some(56), Some(56), Some(18)]);
}

/// Binary bytes bound for a terminal are refused, as curl does (exit 23), unless `-o -` asks for
/// them: a server's escape sequences never reach the terminal. Run under `script`, which gives the
/// command a terminal (util-linux; the test says so and passes where it is missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bytes_are_not_written_to_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script` here to give the command a terminal: not run");
        return;
    }
    // Binary from the first byte, or after a harmless first chunk (the rest 100 ms later).
    let server = TestServer::start(|req| async move {
        let binary = Bytes::from_static(b"\x00\x01\x1b[2J\xff\xfe binary");
        let body = match req.path() {
            "/later" => courier_testkit::stalling(
                Bytes::from_static(b"hello\n"),
                std::time::Duration::from_millis(100),
                binary,
            ),
            _ => full(binary),
        };
        http::Response::new(body)
    })
    .await;
    let bin = assert_cmd::cargo::cargo_bin("courier");
    let run = |extra: &'static str, path: &str| {
        let command = format!(
            "{} get {extra} {}; echo \"exit=$?\"",
            bin.display(),
            server.url(path)
        );
        tokio::task::spawn_blocking(move || {
            let mut script = Command::new("script");
            script.timeout(std::time::Duration::from_secs(30));
            script.env_remove("HTTP_PROXY").env_remove("http_proxy");
            script.env_remove("ALL_PROXY").env_remove("all_proxy");
            script
                .args(["-qec", &command, "/dev/null"])
                .output()
                .unwrap()
        })
    };
    for path in ["/bin", "/later"] {
        let refused = run("", path).await.unwrap();
        let shown = String::from_utf8_lossy(&refused.stdout).into_owned();
        assert!(!shown.contains("\x1b[2J"), "{path}: {shown:?}");
        assert!(
            shown.contains("binary output can mess up your terminal"),
            "{path}: {shown:?}"
        );
        assert!(shown.contains("exit=23"), "{path}: {shown:?}");
    }
    let asked = run("-o -", "/bin").await.unwrap();
    let shown = String::from_utf8_lossy(&asked.stdout).into_owned();
    assert!(shown.contains("\x1b[2J"), "{shown:?}");
    assert!(shown.contains("exit=0"), "{shown:?}");
}

/// As curl: -L follows up to 50 redirects; --max-redirs alone follows none (the 3xx is the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_with_l_only_up_to_50() {
    let server = TestServer::start(|req| async move {
        let path = req.path().to_owned();
        match path
            .strip_prefix("/hop/")
            .and_then(|n| n.parse::<u32>().ok())
        {
            Some(n) if n < 50 => redirect(302, &format!("/hop/{}", n + 1)),
            Some(_) => respond(200, "done"),
            None => redirect(302, "/hop/50"),
        }
    })
    .await;
    let fifty = courier(args(&["get", "-L", &server.url("/hop/0")])).await;
    assert_eq!(stdout(&fifty), "done", "{}", stderr(&fifty));
    let too_many = courier(args(&["get", "-L", &server.url("/start")])).await;
    assert!(too_many.status.success(), "{}", stderr(&too_many));
    let not_following = courier(args(&["get", "--max-redirs", "0", &server.url("/start")])).await;
    assert_eq!(
        not_following.status.code(),
        Some(0),
        "{}",
        stderr(&not_following)
    );
    assert_eq!(stdout(&not_following), "");
    let limited = courier(args(&[
        "get",
        "-L",
        "--max-redirs",
        "49",
        &server.url("/hop/0"),
    ]))
    .await;
    assert_eq!(limited.status.code(), Some(47), "{}", stderr(&limited));
}

/// -I prints the head only, whatever the method: with -X GET, no body either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_only_prints_no_body_even_for_a_get() {
    let server = TestServer::start(|_| async { respond(200, "BODY") }).await;
    let output = courier(args(&["get", "-I", "-X", "GET", &server.url("/")])).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.last_request().method, http::Method::GET);
    let shown = stdout(&output);
    assert!(shown.starts_with("HTTP/1.1 200 OK\r\n"), "{shown}");
    assert!(
        shown.ends_with("\r\n\r\n") && !shown.contains("BODY"),
        "{shown}"
    );
}

/// The cookie jar is written through a temporary file no one can have planted: its name is no longer
/// predictable (a symlink at the one it once had, `JAR.courier-<pid>.tmp`, is left alone), and it is
/// created new, never opened if something is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_jar_is_not_written_through_a_planted_symlink() {
    let server = TestServer::start(|_| async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        http::Response::builder()
            .header("set-cookie", "sid=SECRET; Path=/")
            .body(full("ok"))
            .unwrap()
    })
    .await;
    let dir = TempDir::new("jar-symlink");
    let victim = dir.path("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let jar = dir.path("jar");
    let bin = assert_cmd::cargo::cargo_bin("courier");
    let url = server.url("/");
    let (jar_path, victim_path) = (jar.clone(), victim.clone());
    let status = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(bin)
            .args(["get", "-s", "-c"])
            .arg(&jar_path)
            .arg(&url)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let planted = jar_path.with_file_name(format!("jar.courier-{}.tmp", child.id()));
        std::os::unix::fs::symlink(&victim_path, planted).unwrap();
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(std::fs::read_to_string(&jar).unwrap().contains("SECRET"));
    assert!(!std::fs::symlink_metadata(&jar)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// `-H 'Name:'` takes off a header the command would add itself, as curl's does: `-u`'s
/// `Authorization`, `-e`'s `Referer`, `-b`'s `Cookie`, the `User-Agent`. (The client's default
/// `Accept: */*` stays: reqwest's API has no way to take it off.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_header_takes_off_the_commands_own() {
    let server = TestServer::echo().await;
    let url = server.url("/h");
    let names = ["authorization", "referer", "cookie", "user-agent"];
    let removals: [&[&str]; 2] = [
        &[],
        &["Authorization:", "Referer:", "Cookie:", "User-Agent:"],
    ];
    for removed in removals {
        let mut list = vec![
            "get",
            "-u",
            "alice:secret",
            "-e",
            "http://127.0.0.1/from",
            "-b",
            "a=1",
        ];
        for header in removed {
            list.extend(["-H", *header]);
        }
        list.push(&url);
        let output = courier(args(&list)).await;
        assert!(output.status.success(), "{}", stderr(&output));
        let seen = server.last_request();
        for name in names {
            assert_eq!(
                seen.headers.contains_key(name),
                removed.is_empty(),
                "{name}"
            );
        }
        assert_eq!(seen.header("accept"), Some("*/*"));
    }
}

/// `-w`'s URL of a request that got no response leaves out the URL's credentials, as a response's
/// URL does (and as curl's effective URL does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_out_after_no_response_shows_no_password() {
    // Nothing listens there: refused at once.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://ada:s3cretPW@{closed}/x");
    let output = courier(args(&["get", "-w", "%{url_effective}", &url])).await;
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("http://{closed}/x"));
    assert!(!stderr(&output).contains("s3cretPW"), "{}", stderr(&output));
}
