//! The blocking client from plain threads: reqwest's blocking API against in-process servers, and the
//! clear error instead of a deadlock when it is called from inside an async runtime.

use std::io::{Read, Write as _};
use std::sync::Arc;

use courier::blocking::{multipart, Body, Client};
use courier_testkit::{echo, respond, TestServer};

/// A loopback server on a runtime of its own thread, as a blocking program would talk to.
fn start_server() -> (TestServer, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start(|req| async move {
        match req.path() {
            "/json" => respond(200, r#"{"id":7,"name":"widget"}"#),
            "/missing" => respond(404, "no such thing"),
            "/big" => respond(200, vec![b'x'; 300_000]),
            "/slow" => http::Response::builder()
                .body(courier_testkit::slow(
                    vec![
                        bytes::Bytes::from_static(b"a"),
                        bytes::Bytes::from_static(b"b"),
                    ],
                    std::time::Duration::from_secs(3),
                ))
                .unwrap(),
            // Ten bytes over about a second, never more than 100 ms apart.
            "/trickle" => http::Response::builder()
                .body(courier_testkit::slow(
                    vec![bytes::Bytes::from_static(b"x"); 10],
                    std::time::Duration::from_millis(100),
                ))
                .unwrap(),
            _ => echo(&req),
        }
    }));
    (server, runtime)
}

#[test]
fn get_text_json_bytes_and_errors() {
    let (server, _runtime) = start_server();
    let client = Client::new();

    let text = client
        .get(server.url("/hello"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let echoed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(echoed["path"], "/hello");
    assert_eq!(echoed["method"], "GET");

    #[derive(serde::Deserialize, PartialEq, Debug)]
    struct Item {
        id: u32,
        name: String,
    }
    let item: Item = client
        .get(server.url("/json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        item,
        Item {
            id: 7,
            name: "widget".into()
        }
    );

    let bytes = client
        .get(server.url("/big"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(bytes.len(), 300_000);

    let err = client
        .get(server.url("/missing"))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::NOT_FOUND));

    let response = courier::blocking::get(server.url("/missing")).unwrap();
    assert!(response.error_for_status_ref().is_err());
}

#[test]
fn read_and_copy_to_stream_the_body() {
    let (server, _runtime) = start_server();
    let client = Client::new();
    let mut response = client.get(server.url("/big")).send().unwrap();
    let mut first = [0u8; 10];
    response.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"xxxxxxxxxx");
    let mut rest = Vec::new();
    let copied = response.copy_to(&mut rest).unwrap();
    assert_eq!(copied, 300_000 - 10);
    assert!(rest.iter().all(|&b| b == b'x'));

    let mut all = Vec::new();
    client
        .get(server.url("/big"))
        .send()
        .unwrap()
        .read_to_end(&mut all)
        .unwrap();
    assert_eq!(all.len(), 300_000);
}

#[test]
fn bodies_from_bytes_readers_files_and_forms() {
    let (server, _runtime) = start_server();
    let client = Client::new();

    client
        .post(server.url("/bytes"))
        .body("payload")
        .send()
        .unwrap();
    assert_eq!(server.last_request().body, "payload");

    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    client
        .post(server.url("/reader"))
        .body(Body::new(std::io::Cursor::new(data.clone())))
        .send()
        .unwrap();
    assert_eq!(server.last_request().body, data);

    let path = std::env::temp_dir().join(format!("courier-blocking-{}.csv", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"a,b\n1,2\n")
        .unwrap();
    client
        .post(server.url("/file"))
        .body(std::fs::File::open(&path).unwrap())
        .send()
        .unwrap();
    assert_eq!(server.last_request().body, "a,b\n1,2\n");
    // A file goes with its length, as reqwest sends it; a plain reader is chunked.
    let seen = server.last_request();
    assert_eq!(seen.header("content-length"), Some("8"));
    assert_eq!(seen.header("transfer-encoding"), None);
    let requests = server.requests();
    assert_eq!(
        requests[requests.len() - 2].header("transfer-encoding"),
        Some("chunked")
    );

    // Body::sized: the length given, and a reader that disagrees fails the request.
    client
        .post(server.url("/sized"))
        .body(Body::sized(
            std::io::Cursor::new(b"0123456789".to_vec()),
            10,
        ))
        .send()
        .unwrap();
    assert_eq!(server.last_request().header("content-length"), Some("10"));
    for (data, declared) in [(&b"short"[..], 10), (&b"much too long"[..], 10)] {
        let err = client
            .post(server.url("/sized-wrong"))
            .body(Body::sized(std::io::Cursor::new(data.to_vec()), declared))
            .send()
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("than its declared length of 10"),
            "{err:#}"
        );
    }

    let form = multipart::Form::new()
        .text("title", "report")
        .file("data", &path)
        .unwrap();
    let body = send_form(&client, &server, form);
    assert!(body.contains("name=\"title\"\r\n\r\nreport\r\n"), "{body}");
    assert!(body.contains("filename=\"courier-blocking-"), "{body}");
    assert!(body.contains("a,b\n1,2\n"), "{body}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_hundred_concurrent_requests_from_threads_share_one_client() {
    let (server, _runtime) = start_server();
    let client = Arc::new(Client::new());
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let (client, url) = (client.clone(), server.url(&format!("/t/{i}")));
            std::thread::spawn(move || client.get(url).send().unwrap().text().unwrap())
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        let text = thread.join().unwrap();
        let echoed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(echoed["path"], format!("/t/{i}"));
    }
    assert_eq!(server.requests().len(), 100);
}

#[tokio::test]
async fn inside_a_current_thread_runtime_it_refuses_with_a_clear_error() {
    let err = Client::builder().build().unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(
        format!("{err:#}").contains("inside a current-thread async runtime"),
        "{err:#}"
    );

    // A client built outside, used inside: the call fails the same way, and dropping it here is safe.
    let client = std::thread::spawn(Client::new).join().unwrap();
    let err = client.get("http://127.0.0.1:9/").send().unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    drop(client);
}

#[test]
fn a_timeout_set_on_the_async_builder_is_kept_and_partial_reads_stay_in_text() {
    let (server, _runtime) = start_server();
    // 0.3 s from the async builder, not the blocking default of 30 s: the slow path times out.
    let client = courier::blocking::ClientBuilder::from(
        courier::Client::builder().timeout(std::time::Duration::from_millis(300)),
    )
    .build()
    .unwrap();
    let slow = client.get(server.url("/slow")).send();
    let err = slow.and_then(|r| r.bytes()).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    // Bytes taken with `read` are not lost to `text()`: it returns the rest.
    let mut response = Client::new().get(server.url("/json")).send().unwrap();
    let mut first = [0u8; 8];
    response.read_exact(&mut first).unwrap();
    assert_eq!(&first, br#"{"id":7,"#);
    assert_eq!(response.text().unwrap(), r#""name":"widget"}"#);
}

/// The blocking client's timeout bounds each wait, as reqwest's does: sending (up to the head), each
/// `read`, each chunk of `copy_to`, the whole of `bytes()`/`text()`/`json()` from its call. A body that
/// keeps coming for longer than the timeout is read in full, and one that has arrived is read however
/// long the caller took to ask; a wait longer than the timeout is still a timeout.
#[test]
fn the_blocking_timeout_bounds_each_wait_not_the_whole_body() {
    use std::time::Duration;
    let (server, _runtime) = start_server();
    let client = Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();

    let mut response = client.get(server.url("/trickle")).send().unwrap();
    let mut body = Vec::new();
    assert_eq!(response.copy_to(&mut body).unwrap(), 10);
    assert_eq!(body, b"xxxxxxxxxx");

    let mut response = client.get(server.url("/trickle")).send().unwrap();
    let mut body = Vec::new();
    response.read_to_end(&mut body).unwrap();
    assert_eq!(body, b"xxxxxxxxxx");

    let response = client.get(server.url("/json")).send().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(response.text().unwrap(), r#"{"id":7,"name":"widget"}"#);

    // `bytes()` waits for the whole body at once: a second of it is past 0.4 s.
    let response = client.get(server.url("/trickle")).send().unwrap();
    let started = std::time::Instant::now();
    let err = response.bytes().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.url().map(|u| u.path()), Some("/trickle"));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // So does a single read longer than the timeout; the request's own timeout wins over the client's.
    let mut response = client.get(server.url("/slow")).send().unwrap();
    let err = response.read(&mut [0; 4]).unwrap_err();
    let err = err
        .into_inner()
        .unwrap()
        .downcast::<courier::Error>()
        .unwrap();
    assert!(err.is_timeout(), "{err:?}");
    // Longer than the client's 0.4 s, shorter than the server's 3 s: the request's is the one waited.
    let started = std::time::Instant::now();
    let err = client
        .get(server.url("/slow"))
        .timeout(Duration::from_millis(1500))
        .send()
        .and_then(|r| r.bytes())
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

/// A reader that panics part way fails the request: the server never gets what was read so far as if
/// it were the whole body.
#[test]
fn a_reader_that_panics_fails_the_request() {
    struct PanicsAfterTwo(u8);
    impl Read for PanicsAfterTwo {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            assert!(self.0 <= 2, "a reader that panics");
            buf[..5].copy_from_slice(b"chunk");
            Ok(5)
        }
    }
    let (server, _runtime) = start_server();
    let client = Client::new();
    let err = client
        .post(server.url("/panicky"))
        .body(Body::new(PanicsAfterTwo(0)))
        .send()
        .unwrap_err();
    assert!(format!("{err:#}").contains("reader panicked"), "{err:#}");
    // The test server records a request whose body failed with an empty body.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path() != "/panicky" || r.body.is_empty()),
        "the server took a cut-off body for a whole request"
    );
}

/// A file whose size says nothing (`/proc`'s report 0) is sent to its end, chunked, as a body and as
/// a form part, rather than declared empty and failed on its first chunk.
#[test]
#[cfg(target_os = "linux")]
fn a_proc_file_is_sent_in_full() {
    let (server, _runtime) = start_server();
    let client = Client::new();
    let expected = std::fs::read("/proc/self/limits").unwrap();
    assert!(!expected.is_empty());
    client
        .post(server.url("/body"))
        .body(Body::from(
            std::fs::File::open("/proc/self/limits").unwrap(),
        ))
        .send()
        .unwrap();
    let seen = server.last_request();
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    assert_eq!(seen.body, expected);

    let form = multipart::Form::new()
        .file("limits", "/proc/self/limits")
        .unwrap();
    let body = send_form(&client, &server, form);
    assert!(body.contains("filename=\"limits\""), "{body}");
    assert!(body.contains("Max open files"), "{body}");
}

/// Inside a multi-threaded runtime it works, as reqwest's does: from `spawn_blocking` (the documented
/// way to call blocking code from async code), and from a task itself, whose worker hands its other
/// tasks on while it waits (here the server runs on the same runtime).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_threaded_runtime_it_works() {
    let server =
        TestServer::start(|req| async move { respond(200, format!("got {}", req.path())) }).await;
    let url = server.url("/from-spawn-blocking");
    let text =
        tokio::task::spawn_blocking(move || Client::builder().build()?.get(url).send()?.text())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(text, "got /from-spawn-blocking");

    let client = Client::builder().build().unwrap();
    let text = client
        .get(server.url("/from-a-task"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(text, "got /from-a-task");
    drop(client);
}

/// POSTs `form` to `/form` and returns the body the server received, found by path: the server may
/// record uploads the client gave up on just before after this one.
fn send_form(client: &Client, server: &TestServer, form: multipart::Form) -> String {
    client
        .post(server.url("/form"))
        .multipart(form)
        .send()
        .unwrap();
    let seen = server
        .requests()
        .into_iter()
        .rfind(|r| r.path() == "/form")
        .expect("the form was received");
    String::from_utf8_lossy(&seen.body).into_owned()
}

/// A form of text and bytes reads as a reader anywhere, a current-thread runtime included (only
/// file parts need the reader's own runtime), as reqwest's does.
#[tokio::test]
async fn an_in_memory_form_reads_inside_a_current_thread_runtime() {
    use std::io::Read;
    let form = courier::blocking::multipart::Form::new()
        .text("a", "1")
        .part("b", courier::blocking::multipart::Part::bytes(&b"two"[..]));
    let boundary = form.boundary().to_owned();
    let mut body = String::new();
    form.into_reader().read_to_string(&mut body).unwrap();
    assert_eq!(
        body,
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n\
             --{boundary}--\r\n"
        )
    );
}

/// A live response's body read through `blocking::Response::from` inside a current-thread runtime:
/// what would bring its bytes runs on the thread the read would park, so the read fails with a
/// clear error instead of parking it for ever.
#[test]
fn a_live_body_read_blocking_inside_a_current_thread_runtime_fails_instead_of_hanging() {
    let servers = tokio::runtime::Runtime::new().unwrap();
    let server = servers.block_on(TestServer::start(|_| async {
        http::Response::new(courier_testkit::slow(
            vec![bytes::Bytes::from_static(b"late")],
            std::time::Duration::from_millis(300),
        ))
    }));
    let url = server.url("/slow");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let read = runtime.block_on(async {
            let response = courier::Client::new().get(url).send().await.unwrap();
            let mut blocking = courier::blocking::Response::from(response.into_http());
            let mut body = Vec::new();
            blocking.read_to_end(&mut body).map(|_| body)
        });
        let _ = tx.send(read);
    });
    let read = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the read parked its runtime's only thread");
    let err = read.unwrap_err();
    assert!(format!("{err:?}").contains("current-thread"), "{err:?}");
    drop(server);
}
