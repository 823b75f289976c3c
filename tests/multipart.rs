//! `multipart/form-data` end to end: what the server receives, byte for byte, for text, byte, file and
//! streamed parts; Content-Length versus chunked; escaping; length checks; replay on redirects.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use courier::multipart::{Form, Part};
use courier::{Body, Client};
use courier_testkit::{redirect, respond, TestServer};

/// One part as a server would parse it.
#[derive(Debug)]
struct Parsed {
    headers: Vec<(String, String)>,
    data: Vec<u8>,
}

impl Parsed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// A strict minimal multipart parser: panics on anything but a well-formed body.
fn parse(body: &[u8], boundary: &str) -> Vec<Parsed> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    assert!(
        body.starts_with(format!("{delimiter}\r\n").as_bytes()),
        "body does not start with the boundary"
    );
    let mut parts = Vec::new();
    let mut pos = delimiter.len() + 2;
    loop {
        let head_end = find(body, b"\r\n\r\n", pos).expect("end of part headers");
        let headers = std::str::from_utf8(&body[pos..head_end])
            .unwrap()
            .split("\r\n")
            .map(|line| {
                let (name, value) = line.split_once(": ").expect("header line");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let data_start = head_end + 4;
        let data_end = find(body, next_delimiter.as_bytes(), data_start).expect("next delimiter");
        parts.push(Parsed {
            headers,
            data: body[data_start..data_end].to_vec(),
        });
        let after = data_end + next_delimiter.len();
        if &body[after..] == b"--\r\n" {
            return parts;
        }
        assert_eq!(&body[after..after + 2], b"\r\n", "delimiter line");
        pos = after + 2;
    }
}

async fn upload_server() -> TestServer {
    TestServer::start(|_| async { respond(200, "stored") }).await
}

/// Sends `form` as a POST the way the facade does, returning the status.
async fn post(server: &TestServer, path: &str, form: Form) -> Result<u16, courier::Error> {
    let response = Client::new()
        .post(server.url(path))
        .multipart(form)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// A file in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(extension: &str, contents: &[u8]) -> TempFile {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "courier-multipart-{}-{nanos}.{extension}",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn name(&self) -> String {
        self.0.file_name().unwrap().to_str().unwrap().to_owned()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn text_and_file_parts_arrive_byte_for_byte() {
    let server = upload_server().await;
    let form = Form::new().text("title", "Holiday").part(
        "photo",
        Part::bytes(b"\x00\x01binary\r\n--not-a-boundary".to_vec())
            .file_name("beach.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let boundary = form.boundary().to_owned();
    let content_type = form.content_type();
    let length = form.content_length().unwrap();
    assert_eq!(post(&server, "/upload", form).await.unwrap(), 200);

    let seen = server.last_request();
    let mut expected = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"title\"\r\n\
         \r\n\
         Holiday\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\
         \r\n"
    )
    .into_bytes();
    expected.extend_from_slice(b"\x00\x01binary\r\n--not-a-boundary");
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(seen.body, Bytes::from(expected.clone()));
    assert_eq!(length, expected.len() as u64);
    assert_eq!(
        seen.header("content-type"),
        Some(format!("multipart/form-data; boundary={boundary}").as_str())
    );
    assert_eq!(
        content_type,
        format!("multipart/form-data; boundary={boundary}")
    );
    assert_eq!(
        seen.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    assert_eq!(seen.header("transfer-encoding"), None);
}

#[tokio::test]
async fn a_file_of_several_mib_is_streamed_intact() {
    let contents: Vec<u8> = (0..5 * 1024 * 1024 + 123)
        .map(|i: u32| (i.wrapping_mul(7) % 251) as u8)
        .collect();
    let file = TempFile::new("bin", &contents);
    let server = upload_server().await;
    let form = Form::new()
        .text("note", "nightly")
        .file("upload", &file.0)
        .await
        .unwrap();
    let boundary = form.boundary().to_owned();
    let length = form.content_length().expect("a file has a known length");
    let body = form.into_body();
    // Streamed, not read into memory: the body is not a buffered one.
    assert!(body.as_bytes().is_none());
    let response = Client::new()
        .post(server.url("/upload"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let seen = server.last_request();
    assert_eq!(
        seen.header("content-length"),
        Some(length.to_string().as_str())
    );
    assert_eq!(seen.body.len() as u64, length);
    let parts = parse(&seen.body, &boundary);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].header("Content-Disposition"),
        Some("form-data; name=\"note\"")
    );
    assert_eq!(parts[0].data, b"nightly");
    assert_eq!(
        parts[1].header("Content-Disposition"),
        Some(format!("form-data; name=\"upload\"; filename=\"{}\"", file.name()).as_str())
    );
    assert_eq!(
        parts[1].header("Content-Type"),
        Some("application/octet-stream")
    );
    assert!(parts[1].data == contents, "file bytes differ");
}

#[tokio::test]
async fn file_media_types_are_guessed_from_the_extension() {
    let file = TempFile::new("json", br#"{"ok":true}"#);
    let server = upload_server().await;
    let form = Form::new().file("doc", &file.0).await.unwrap();
    let boundary = form.boundary().to_owned();
    post(&server, "/", form).await.unwrap();
    let parts = parse(&server.last_request().body, &boundary);
    assert_eq!(parts[0].header("Content-Type"), Some("application/json"));
    assert_eq!(parts[0].data, br#"{"ok":true}"#);
}

fn stream_of(chunks: &[&'static [u8]]) -> Body {
    let items: Vec<Result<Bytes, std::io::Error>> =
        chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
    Body::wrap_stream(futures_util::stream::iter(items))
}

#[tokio::test]
async fn a_stream_of_unknown_length_is_sent_chunked() {
    let server = upload_server().await;
    let form = Form::new()
        .part("log", Part::stream(stream_of(&[b"line 1\n", b"line 2\n"])))
        .text("after", "x");
    assert_eq!(form.content_length(), None);
    let boundary = form.boundary().to_owned();
    assert_eq!(post(&server, "/", form).await.unwrap(), 200);

    let seen = server.last_request();
    assert_eq!(seen.header("content-length"), None);
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    let parts = parse(&seen.body, &boundary);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].data, b"line 1\nline 2\n");
    assert_eq!(parts[0].header("Content-Type"), None);
    assert_eq!(parts[1].data, b"x");
}

#[tokio::test]
async fn a_stream_with_a_length_gets_a_content_length() {
    let server = upload_server().await;
    let form = Form::new().part(
        "blob",
        Part::stream_with_length(stream_of(&[b"abc", b"def"]), 6)
            .file_name("blob.dat")
            .mime_str("application/x-blob")
            .unwrap(),
    );
    let boundary = form.boundary().to_owned();
    let length = form.content_length().unwrap();
    assert_eq!(post(&server, "/", form).await.unwrap(), 200);

    let seen = server.last_request();
    assert_eq!(
        seen.header("content-length"),
        Some(length.to_string().as_str())
    );
    let parts = parse(&seen.body, &boundary);
    assert_eq!(parts[0].data, b"abcdef");
    assert_eq!(parts[0].header("Content-Type"), Some("application/x-blob"));
}

#[tokio::test]
async fn names_with_quotes_and_newlines_are_escaped() {
    let server = upload_server().await;
    let form = Form::new()
        .text("field \"one\"\r\nX-Injected: 1", "v")
        .part(
            "file",
            Part::bytes(&b"%PDF"[..]).file_name("résumé \"final\"\n.pdf"),
        );
    let boundary = form.boundary().to_owned();
    post(&server, "/", form).await.unwrap();

    let seen = server.last_request();
    let parts = parse(&seen.body, &boundary);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].headers,
        vec![(
            "Content-Disposition".to_owned(),
            "form-data; name=\"field %22one%22%0D%0AX-Injected: 1\"".to_owned()
        )]
    );
    assert_eq!(
        parts[1].headers,
        vec![(
            "Content-Disposition".to_owned(),
            "form-data; name=\"file\"; filename=\"résumé %22final%22%0A.pdf\"".to_owned()
        )]
    );
    assert_eq!(parts[1].data, b"%PDF");
}

#[tokio::test]
async fn a_part_longer_than_declared_fails_the_request() {
    let server = upload_server().await;
    let form = Form::new().part(
        "blob",
        Part::stream_with_length(stream_of(&[b"abc", b"def"]), 4),
    );
    let err = post(&server, "/", form).await.unwrap_err();
    assert!(err.is_request(), "{err:?}");
    assert!(
        format!("{err:#}")
            .contains("multipart part \"blob\" yielded more bytes than its declared length of 4"),
        "{err}"
    );
}

#[tokio::test]
async fn a_buffered_form_is_replayed_on_a_307_redirect() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/old" => redirect(307, "/new"),
            _ => respond(200, "stored"),
        }
    })
    .await;
    let form = Form::new()
        .text("a", "1")
        .part("b", Part::bytes(&b"two"[..]).file_name("b.txt"));
    let boundary = form.boundary().to_owned();
    assert_eq!(post(&server, "/old", form).await.unwrap(), 200);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path(), "/new");
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        requests[1].header("content-type"),
        Some(format!("multipart/form-data; boundary={boundary}").as_str())
    );
    let parts = parse(&requests[1].body, &boundary);
    assert_eq!(parts[0].data, b"1");
    assert_eq!(parts[1].data, b"two");
}

/// A file whose size says nothing (`/proc`'s report 0) is streamed to its end: the form goes chunked
/// with all of it, instead of failing on the part's first chunk as longer than the 0 bytes declared.
#[tokio::test]
#[cfg(target_os = "linux")]
async fn a_proc_file_part_is_sent_in_full() {
    let server = TestServer::start(|_| async { respond(200, "stored") }).await;
    let form = Form::new()
        .file("limits", "/proc/self/limits")
        .await
        .unwrap();
    assert_eq!(post(&server, "/", form).await.unwrap(), 200);
    let seen = server.last_request();
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));
    let body = String::from_utf8(seen.body.to_vec()).unwrap();
    assert!(body.contains("filename=\"limits\""), "{body}");
    assert!(body.contains("Max open files"), "{body}");
}

/// A form with no part has an empty body, as reqwest sends it (no lone closing delimiter), and
/// says so in its length.
#[tokio::test]
async fn a_form_with_no_part_sends_an_empty_body() {
    let server = upload_server().await;
    let form = Form::new();
    assert_eq!(form.content_length(), Some(0));
    assert_eq!(post(&server, "/", form).await.unwrap(), 200);
    let seen = server.last_request();
    assert!(seen.body.is_empty(), "{:?}", seen.body);
    assert!(matches!(seen.header("content-length"), None | Some("0")));
    assert_eq!(seen.header("transfer-encoding"), None);
    assert!(seen
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let streamed: Vec<_> = futures_util::StreamExt::collect(Form::new().into_stream()).await;
    assert!(streamed.is_empty());
}
