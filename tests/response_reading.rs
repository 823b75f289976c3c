//! `Response::reader()` and `Response::lines()` against in-process servers: byte-exact reads over
//! chunked, gzip-encoded and multi-megabyte bodies; lines with mixed endings, charsets and a limit.

use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use courier::{BodyReader, Client};
use courier_testkit::client::within;
use courier_testkit::{failing, full, slow, ServerBody, TestServer};
use futures_util::{StreamExt, TryStreamExt};
use http::Response;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn with_headers(headers: &[(&str, &str)], body: ServerBody) -> Response<ServerBody> {
    let mut res = Response::builder();
    for (name, value) in headers {
        res = res.header(*name, *value);
    }
    res.body(body).unwrap()
}

/// Chunks that split lines and multi-byte sequences at awkward places.
fn chunks(data: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        out.push(Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
        i += 1;
    }
    out
}

const TEXT: &[u8] =
    b"first line\nsecond line, a little longer than the first one\r\nthird\n\nlast without ending";

async fn server() -> TestServer {
    TestServer::start(|req| async move {
        match req.path() {
            "/chunked" => with_headers(&[], slow(chunks(TEXT, &[3, 7, 1, 20]), Duration::ZERO)),
            "/gzip" => with_headers(&[("content-encoding", "gzip")], full(gzip(TEXT))),
            "/big" => with_headers(&[], full(big())),
            "/big-gzip" => with_headers(
                &[("content-encoding", "gzip")],
                slow(chunks(&gzip(&big()), &[65536, 1000]), Duration::ZERO),
            ),
            "/latin1" => with_headers(
                &[("content-type", "text/plain; charset=iso-8859-1")],
                slow(
                    vec![Bytes::from_static(b"caf\xe9\r\nna\xefve\n")],
                    Duration::ZERO,
                ),
            ),
            "/sjis" => with_headers(
                &[("content-type", "text/plain; charset=shift_jis")],
                // "あ\nい" with the first character split across chunks.
                slow(
                    vec![
                        Bytes::from_static(b"\x82"),
                        Bytes::from_static(b"\xa0\n\x82\xa2"),
                    ],
                    Duration::ZERO,
                ),
            ),
            "/bad-utf8" => with_headers(&[], full(&b"ok\nbad \xff here\n"[..])),
            "/klingon" => with_headers(
                &[("content-type", "text/plain; charset=klingon")],
                full("x\n"),
            ),
            "/long" => {
                let mut body = b"short\n".to_vec();
                body.extend(std::iter::repeat_n(b'x', 100_000));
                body.extend(b"\nnever reached\n");
                with_headers(&[], slow(chunks(&body, &[4096]), Duration::ZERO))
            }
            "/cut" => with_headers(&[], failing(vec![Bytes::from_static(b"partial\nli")])),
            _ => with_headers(&[], full(TEXT)),
        }
    })
    .await
}

/// What the issue asks of the reader and the line stream, checked by the compiler.
#[allow(dead_code)]
fn reader_and_lines_are_file_like_and_send() {
    fn file_like<T: tokio::io::AsyncBufRead + tokio::io::AsyncRead + Unpin + Send>() {}
    fn stream<T: futures_util::Stream<Item = Result<String, courier::Error>> + Unpin + Send>() {}
    file_like::<BodyReader>();
    stream::<courier::Lines>();
}

/// 3 MiB of a pattern that is different at every offset within 251 bytes.
fn big() -> Vec<u8> {
    (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect()
}

/// The urllib sequence: readline, read(50), read the rest.
async fn urllib_sequence(url: &str) -> (String, Vec<u8>, Vec<u8>) {
    within(10, async {
        let mut reader = Client::new().get(url).send().await.unwrap().reader();
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let mut fifty = vec![0; 50];
        reader.read_exact(&mut fifty).await.unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        (line, fifty, rest)
    })
    .await
}

#[tokio::test]
async fn read_line_read_exact_read_to_end_are_byte_exact() {
    let server = server().await;
    for path in ["/plain", "/chunked", "/gzip"] {
        let (line, fifty, rest) = within(10, urllib_sequence(&server.url(path))).await;
        assert_eq!(line, "first line\n", "{path}");
        assert_eq!(fifty, &TEXT[11..61], "{path}");
        assert_eq!(rest, &TEXT[61..], "{path}");
    }
}

#[tokio::test]
async fn read_until_and_small_reads_see_every_byte() {
    let server = server().await;
    let mut reader = within(10, Client::new().get(server.url("/chunked")).send())
        .await
        .unwrap()
        .reader();
    let mut got = Vec::new();
    within(10, reader.read_until(b',', &mut got)).await.unwrap();
    assert_eq!(got, b"first line\nsecond line,");
    // Three bytes at a time through `read`, which never returns more than asked.
    let mut buf = [0; 3];
    loop {
        let n = within(10, reader.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= 3);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, TEXT);
    // At the end, reads keep returning 0.
    assert_eq!(within(10, reader.read(&mut buf)).await.unwrap(), 0);
}

#[tokio::test]
async fn multi_megabyte_body_copies_exactly() {
    let server = server().await;
    let response = within(10, Client::new().get(server.url("/big")).send())
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(3 * 1024 * 1024));
    let mut reader = response.reader();
    assert_eq!(reader.response().status(), 200);
    let mut copied = Vec::new();
    let n = within(20, tokio::io::copy(&mut reader, &mut copied))
        .await
        .unwrap();
    assert_eq!(n, 3 * 1024 * 1024);
    assert!(copied == big(), "the copy differs from the body");
}

#[tokio::test]
async fn multi_megabyte_gzip_body_reads_exactly_line_by_line_and_in_blocks() {
    let server = server().await;
    let mut reader = within(10, Client::new().get(server.url("/big-gzip")).send())
        .await
        .unwrap()
        .reader();
    let expected = big();
    let mut got = Vec::new();
    // Alternate `read_until` on a byte value and 4000-byte `read_exact`s, then the rest.
    for _ in 0..100 {
        within(10, reader.read_until(250, &mut got)).await.unwrap();
        let mut block = vec![0; 4000];
        within(10, reader.read_exact(&mut block)).await.unwrap();
        got.extend_from_slice(&block);
    }
    within(20, reader.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the decoded body differs");
}

#[tokio::test]
async fn a_body_error_is_an_io_error_holding_the_courier_error() {
    let server = server().await;
    let url = server.url("/cut");
    let mut reader = within(10, Client::new().get(&url).send())
        .await
        .unwrap()
        .reader();
    let mut line = String::new();
    within(10, reader.read_line(&mut line)).await.unwrap();
    assert_eq!(line, "partial\n");
    let mut rest = Vec::new();
    let err = within(10, reader.read_to_end(&mut rest)).await.unwrap_err();
    assert_eq!(rest, b"li");
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    let courier_err = BodyReader::error_of(&err).expect("the inner error is courier's");
    assert!(courier_err.is_body(), "{courier_err:?}");
    assert_eq!(courier_err.url().map(|u| u.as_str()), Some(url.as_str()));
}

async fn lines(url: &str, max: Option<usize>) -> Vec<Result<String, courier::Error>> {
    let response = within(10, Client::new().get(url).send()).await.unwrap();
    let lines = match max {
        Some(max) => response.lines().max_line_length(max),
        None => response.lines(),
    };
    within(10, lines.collect()).await
}

fn ok(lines: Vec<Result<String, courier::Error>>) -> Vec<String> {
    lines.into_iter().map(Result::unwrap).collect()
}

#[tokio::test]
async fn lines_strip_mixed_endings_across_chunk_boundaries() {
    let server = server().await;
    let expected = [
        "first line",
        "second line, a little longer than the first one",
        "third",
        "",
        "last without ending",
    ];
    for path in ["/plain", "/chunked", "/gzip"] {
        assert_eq!(ok(lines(&server.url(path), None).await), expected, "{path}");
    }
}

#[tokio::test]
async fn lines_decode_the_declared_charset() {
    let server = server().await;
    assert_eq!(
        ok(lines(&server.url("/latin1"), None).await),
        ["café", "naïve"]
    );
    assert_eq!(ok(lines(&server.url("/sjis"), None).await), ["あ", "い"]);
}

#[tokio::test]
async fn invalid_utf8_without_charset_becomes_replacement_characters_as_in_text() {
    let server = server().await;
    let got = ok(lines(&server.url("/bad-utf8"), None).await);
    let text = within(10, async {
        courier::Client::new()
            .get(server.url("/bad-utf8"))
            .send()
            .await?
            .text()
            .await
    })
    .await
    .unwrap();
    assert_eq!(got, text.lines().collect::<Vec<_>>());
    assert_eq!(got[0], "ok");
    assert!(got[1].contains('\u{fffd}'), "{got:?}");
}

#[tokio::test]
async fn an_unknown_charset_falls_back_to_utf8() {
    let server = server().await;
    let got = ok(lines(&server.url("/klingon"), None).await);
    assert_eq!(got, ["x"]);
}

#[tokio::test]
async fn a_line_longer_than_the_limit_ends_the_stream() {
    let server = server().await;
    let url = server.url("/long");
    let got = lines(&url, Some(10_000)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].as_deref().unwrap(), "short");
    let err = got[1].as_ref().unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert!(format!("{err:#}").contains("10000 bytes"), "{err}");
    assert_eq!(err.url().map(|u| u.as_str()), Some(url.as_str()));

    // The default limit (1 MiB) lets the 100 000-byte line through.
    let got = ok(lines(&url, None).await);
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].len(), 100_000);
    assert_eq!(got[2], "never reached");
}

#[tokio::test]
async fn the_limit_is_exact_and_does_not_count_the_ending() {
    let server =
        TestServer::start(|_| async { courier_testkit::respond(200, "12345\r\n123456\n") }).await;
    let got = lines(&server.url("/"), Some(5)).await;
    assert_eq!(got[0].as_deref().unwrap(), "12345");
    assert!(got[1].as_ref().unwrap_err().is_decode());
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn lines_of_an_empty_body_and_a_cut_body() {
    let server = TestServer::start(|req| async move {
        match req.path() {
            "/empty" => courier_testkit::respond(200, ""),
            _ => with_headers(&[], failing(vec![Bytes::from_static(b"one\ntw")])),
        }
    })
    .await;
    assert!(lines(&server.url("/empty"), None).await.is_empty());
    let got = lines(&server.url("/cut"), None).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_deref().unwrap(), "one");
    assert!(got[1].as_ref().unwrap_err().is_body());
    let response = within(10, Client::new().get(server.url("/empty")).send())
        .await
        .unwrap();
    let collected: Result<Vec<String>, _> = within(10, response.lines().try_collect()).await;
    assert!(collected.unwrap().is_empty());
}

/// A response with no body by its nature (to a `HEAD`) reports the length its `Content-Length`
/// announces, as curl does: the size a `GET` would bring. A truly empty body reports 0.
#[tokio::test]
async fn content_length_of_a_head_response_is_the_announced_one() {
    let server = TestServer::start(|req| async move {
        let body = if req.path() == "/empty" {
            Bytes::new()
        } else {
            Bytes::from(vec![b'x'; 1000])
        };
        Response::new(full(body))
    })
    .await;
    let client = Client::new();
    let head = within(10, client.head(server.url("/thousand")).send())
        .await
        .unwrap();
    assert_eq!(head.headers()["content-length"], "1000");
    assert_eq!(head.content_length(), Some(1000));
    assert!(within(10, head.bytes()).await.unwrap().is_empty());
    let get = within(10, client.get(server.url("/thousand")).send())
        .await
        .unwrap();
    assert_eq!(get.content_length(), Some(1000));
    let empty = within(10, client.get(server.url("/empty")).send())
        .await
        .unwrap();
    assert_eq!(empty.content_length(), Some(0));

    // A 204 has no content by definition: a `Content-Length` on it (the server's error) is not
    // reported as a length.
    let raw = courier_testkit::RawServer::start(|mut stream, _| async move {
        use tokio::io::AsyncWriteExt;
        while courier_testkit::read_request_head(&mut stream)
            .await
            .is_ok()
        {
            let reply: &[u8] = b"HTTP/1.1 204 No Content\r\ncontent-length: 1000\r\n\r\n";
            if stream.write_all(reply).await.is_err() {
                return;
            }
        }
    })
    .await;
    let none = within(10, client.get(raw.url("/none")).send())
        .await
        .unwrap();
    assert_eq!(none.status(), 204);
    assert_eq!(none.content_length(), Some(0));
    assert!(within(10, none.bytes()).await.unwrap().is_empty());
}
