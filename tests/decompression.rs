//! `DecompressionLayer` around the real transport, against an in-process server sending bodies
//! compressed by independent encoders (flate2, brotli, zstd).

use std::error::Error as _;
use std::io::Write;

use bytes::Bytes;
use courier_core::decompression::{
    DecodeError, Decompression, DecompressionBody, DecompressionLayer, RatioLimitExceeded,
    SizeLimitExceeded,
};
use courier_core::transport::ResponseBody;
use courier_core::transport::Transport;
use courier_core::{Body, Error};
use std::time::Duration;

use courier_testkit::{
    failing, full, read_request_head, slow, RawServer, ServerBody, TestServer, Then,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};

// ---- encoders -------------------------------------------------------------------------------------

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 1, 22);
    enc.write_all(data).unwrap();
    enc.into_inner()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 1).unwrap()
}

/// Text-like bytes from a fixed-seed generator: compressible, but not trivially.
fn sample(len: usize) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"courier ",
        b"gzip ",
        b"stream ",
        b"tower ",
        b"hyper ",
        b"layer ",
        b"bytes ",
        b"\n",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state & 3 == 0 {
            out.extend_from_slice(&state.to_le_bytes()[..3]);
        } else {
            out.extend_from_slice(WORDS[(state >> 32) as usize % WORDS.len()]);
        }
    }
    out.truncate(len);
    out
}

// ---- harness --------------------------------------------------------------------------------------

type Client = Decompression<Transport>;

fn client(layer: DecompressionLayer) -> Client {
    let transport: Transport = Transport::builder().build().unwrap();
    layer.layer(transport)
}

/// A server answering every request with `status`, the given `Content-Encoding` lines and `body`.
async fn serve(status: u16, encodings: &[&'static str], body: Vec<u8>) -> TestServer {
    let encodings = encodings.to_vec();
    let body = Bytes::from(body);
    TestServer::start(move |_req| {
        let encodings = encodings.clone();
        let body = body.clone();
        async move {
            let mut response = Response::builder().status(status).header("x-kept", "yes");
            for encoding in encodings {
                response = response.header("content-encoding", encoding);
            }
            response.body(full(body)).unwrap()
        }
    })
    .await
}

/// A server answering with a custom body (streamed, failing, ...) under the given `Content-Encoding`.
async fn serve_body(
    encoding: &'static str,
    make_body: impl Fn() -> ServerBody + Send + Sync + 'static,
) -> TestServer {
    TestServer::start(move |_req| {
        let body = make_body();
        async move {
            Response::builder()
                .header("content-encoding", encoding)
                .body(body)
                .unwrap()
        }
    })
    .await
}

async fn send(
    client: Client,
    method: Method,
    url: &str,
) -> Result<Response<DecompressionBody<ResponseBody>>, Error> {
    let request = Request::builder()
        .method(method)
        .uri(url)
        .body(Body::empty())
        .unwrap();
    client.oneshot(request).await
}

async fn get(layer: DecompressionLayer, url: &str) -> Response<DecompressionBody<ResponseBody>> {
    send(client(layer), Method::GET, url).await.unwrap()
}

async fn read_body(response: Response<DecompressionBody<ResponseBody>>) -> Result<Bytes, Error> {
    Ok(response.into_body().collect().await?.to_bytes())
}

/// Reads the body frame by frame: the frames' sizes, or the error that ended it and the bytes read first.
async fn read_frames(
    response: Response<DecompressionBody<ResponseBody>>,
) -> (Vec<Bytes>, Option<Error>) {
    let mut body = response.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    frames.push(data);
                }
            }
            Err(err) => return (frames, Some(err)),
        }
    }
    (frames, None)
}

fn assert_decoded_headers(response: &Response<DecompressionBody<ResponseBody>>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-encoding").is_none());
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(response.headers()["x-kept"], "yes");
}

fn decode_cause(err: &Error) -> &DecodeError {
    err.source()
        .and_then(|e| e.downcast_ref::<DecodeError>())
        .unwrap_or_else(|| panic!("no DecodeError in {err:?}"))
}

// ---- request side ---------------------------------------------------------------------------------

#[tokio::test]
async fn advertises_every_coding_in_a_fixed_order() {
    let server = TestServer::echo().await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        server.last_request().header_all("accept-encoding"),
        vec!["gzip, deflate, br, zstd".to_owned()]
    );
}

#[tokio::test]
async fn advertises_only_enabled_codings() {
    let server = TestServer::echo().await;
    get(
        DecompressionLayer::new().br(false).zstd(false),
        &server.url("/"),
    )
    .await;
    assert_eq!(
        server.last_request().header("accept-encoding"),
        Some("gzip, deflate")
    );
    get(
        DecompressionLayer::new().gzip(false).deflate(false),
        &server.url("/"),
    )
    .await;
    assert_eq!(
        server.last_request().header("accept-encoding"),
        Some("br, zstd")
    );
}

#[tokio::test]
async fn with_every_coding_disabled_sets_no_header_and_decodes_nothing() {
    let server = serve(200, &["gzip"], gzip(b"raw")).await;
    let layer = DecompressionLayer::new()
        .gzip(false)
        .deflate(false)
        .br(false)
        .zstd(false);
    let response = get(layer, &server.url("/")).await;
    assert!(server.last_request().header("accept-encoding").is_none());
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(read_body(response).await.unwrap(), gzip(b"raw"));
}

/// A caller's own `Accept-Encoding` is sent as it is, and the answer decoded all the same, as reqwest
/// (tower-http) does: the codings the layer has on are decoded whoever asked for them.
#[tokio::test]
async fn explicit_accept_encoding_is_sent_as_is_and_the_body_still_decoded() {
    let compressed = gzip(b"decoded all the same");
    let server = serve(200, &["gzip"], compressed.clone()).await;
    let request = Request::get(server.url("/"))
        .header("accept-encoding", "gzip;q=1.0, identity;q=0.5")
        .body(Body::empty())
        .unwrap();
    let response = client(DecompressionLayer::new())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().header_all("accept-encoding"),
        vec!["gzip;q=1.0, identity;q=0.5".to_owned()]
    );
    // Decoded: the coding and the encoded length are gone with it.
    assert!(response.headers().get("content-encoding").is_none());
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(read_body(response).await.unwrap(), "decoded all the same");
}

// ---- each coding ----------------------------------------------------------------------------------

async fn assert_round_trip(encodings: &[&'static str], encoded: Vec<u8>, expected: &[u8]) {
    let server = serve(200, encodings, encoded).await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert_decoded_headers(&response);
    let (frames, err) = read_frames(response).await;
    assert!(err.is_none(), "{err:?}");
    // Streamed in blocks, never as one buffered body.
    assert!(frames.iter().all(|f| !f.is_empty() && f.len() <= 64 * 1024));
    let body: Vec<u8> = frames.concat();
    assert_eq!(body.len(), expected.len());
    assert!(body == expected, "decoded bytes differ");
}

#[tokio::test]
async fn decodes_gzip() {
    let data = sample(10_000);
    assert_round_trip(&["gzip"], gzip(&data), &data).await;
}

#[tokio::test]
async fn decodes_x_gzip() {
    let data = sample(1_000);
    assert_round_trip(&["x-gzip"], gzip(&data), &data).await;
}

#[tokio::test]
async fn decodes_zlib_deflate() {
    let data = sample(10_000);
    assert_round_trip(&["deflate"], zlib(&data), &data).await;
}

#[tokio::test]
async fn decodes_raw_deflate() {
    let data = sample(10_000);
    assert_round_trip(&["deflate"], raw_deflate(&data), &data).await;
}

#[tokio::test]
async fn decodes_brotli() {
    let data = sample(10_000);
    assert_round_trip(&["br"], brotli(&data), &data).await;
}

#[tokio::test]
async fn decodes_zstd() {
    let data = sample(10_000);
    assert_round_trip(&["zstd"], zstd(&data), &data).await;
}

#[tokio::test]
async fn decodes_large_bodies_for_every_coding() {
    let data = sample(3 * 1024 * 1024 + 17);
    assert_round_trip(&["gzip"], gzip(&data), &data).await;
    assert_round_trip(&["deflate"], zlib(&data), &data).await;
    assert_round_trip(&["deflate"], raw_deflate(&data), &data).await;
    assert_round_trip(&["br"], brotli(&data), &data).await;
    assert_round_trip(&["zstd"], zstd(&data), &data).await;
}

#[tokio::test]
async fn decodes_a_body_arriving_in_small_chunks() {
    let data = sample(200_000);
    let encoded = Bytes::from(gzip(&data));
    let server = serve_body("gzip", move || {
        // One byte first: the deflate/gzip header straddles chunks.
        let mut chunks = vec![encoded.slice(..1)];
        chunks.extend(encoded[1..].chunks(777).map(Bytes::copy_from_slice));
        slow(chunks, std::time::Duration::ZERO)
    })
    .await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert_eq!(read_body(response).await.unwrap(), data);
}

#[tokio::test]
async fn detects_raw_deflate_when_the_first_chunk_is_one_byte() {
    for encoded in [raw_deflate(b"split header"), zlib(b"split header")] {
        let encoded = Bytes::from(encoded);
        let server = serve_body("deflate", move || {
            slow(
                vec![encoded.slice(..1), encoded.slice(1..)],
                std::time::Duration::from_millis(5),
            )
        })
        .await;
        let response = get(DecompressionLayer::new(), &server.url("/")).await;
        assert_eq!(read_body(response).await.unwrap(), "split header");
    }
}

#[tokio::test]
async fn decodes_stacked_codings_last_applied_first() {
    let data = sample(100_000);
    // `Content-Encoding: gzip, br`: gzip applied first, then br.
    assert_round_trip(&["gzip, br"], brotli(&gzip(&data)), &data).await;
    // The same list over two header lines.
    assert_round_trip(&["gzip", "br"], brotli(&gzip(&data)), &data).await;
    // Three deep, mixing zstd and zlib.
    assert_round_trip(&["deflate, zstd,gzip"], gzip(&zstd(&zlib(&data))), &data).await;
}

#[tokio::test]
async fn coding_names_are_case_insensitive_and_whitespace_tolerant() {
    let data = sample(5_000);
    assert_round_trip(&["  DEFLATE  "], zlib(&data), &data).await;
    assert_round_trip(&["identity ,\tGzip"], gzip(&data), &data).await;
    assert_round_trip(&["Br", "IDENTITY"], brotli(&data), &data).await;
}

#[tokio::test]
async fn concatenated_gzip_members_are_all_decoded() {
    let mut encoded = gzip(b"first member, ");
    encoded.extend(gzip(b"second member, "));
    encoded.extend(gzip(b"third"));
    assert_round_trip(&["gzip"], encoded, b"first member, second member, third").await;
}

#[tokio::test]
async fn concatenated_zstd_frames_are_all_decoded() {
    let mut encoded = zstd(b"one ");
    encoded.extend(zstd(b"two"));
    assert_round_trip(&["zstd"], encoded, b"one two").await;
}

// ---- left alone -----------------------------------------------------------------------------------

#[tokio::test]
async fn identity_responses_pass_through_with_their_headers() {
    for encodings in [&[][..], &["identity"][..]] {
        let server = serve(200, encodings, b"plain text".to_vec()).await;
        let response = get(DecompressionLayer::new(), &server.url("/")).await;
        assert_eq!(response.headers()["content-length"], "10");
        assert_eq!(
            response
                .headers()
                .get_all("content-encoding")
                .iter()
                .count(),
            encodings.len()
        );
        assert_eq!(read_body(response).await.unwrap(), "plain text");
    }
}

#[tokio::test]
async fn unknown_or_disabled_codings_pass_through_untouched() {
    let compressed = gzip(b"not for us");
    for (layer, encoding) in [
        (DecompressionLayer::new(), "compress"),
        (DecompressionLayer::new(), "gzip, snappy"),
        (DecompressionLayer::new().gzip(false), "gzip"),
        (DecompressionLayer::new(), "gzip, gzip, gzip, gzip, gzip"),
    ] {
        let server = serve(200, &[encoding], compressed.clone()).await;
        let response = get(layer, &server.url("/")).await;
        assert_eq!(response.headers()["content-encoding"], encoding);
        assert_eq!(
            response.headers()["content-length"],
            compressed.len().to_string().as_str()
        );
        assert_eq!(read_body(response).await.unwrap(), compressed, "{encoding}");
    }
}

#[tokio::test]
async fn head_responses_keep_their_headers() {
    let compressed = gzip(b"the GET body");
    let len = compressed.len();
    let server = TestServer::start(move |_req| async move {
        Response::builder()
            .header("content-encoding", "gzip")
            .header("content-length", len)
            .body(courier_testkit::empty())
            .unwrap()
    })
    .await;
    let response = send(
        client(DecompressionLayer::new()),
        Method::HEAD,
        &server.url("/"),
    )
    .await
    .unwrap();
    // HEAD still advertises, so the server answers as it would a GET.
    assert_eq!(
        server.last_request().header("accept-encoding"),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(
        response.headers()["content-length"],
        len.to_string().as_str()
    );
    assert_eq!(read_body(response).await.unwrap(), "");
}

#[tokio::test]
async fn no_content_and_not_modified_keep_their_headers() {
    for status in [204, 304] {
        let server = serve(status, &["gzip"], Vec::new()).await;
        let response = get(DecompressionLayer::new(), &server.url("/")).await;
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(read_body(response).await.unwrap(), "");
    }
}

#[tokio::test]
async fn empty_bodies_are_not_decoding_errors() {
    // Content-Length: 0: left alone entirely.
    let server = serve(200, &["gzip"], Vec::new()).await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(read_body(response).await.unwrap(), "");

    // Chunked and empty: the size is unknown up front; an empty body decodes to an empty body.
    let server = serve_body("br", || slow(Vec::new(), std::time::Duration::ZERO)).await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(read_body(response).await.unwrap(), "");
}

// ---- failures -------------------------------------------------------------------------------------

async fn decode_error(encodings: &[&'static str], encoded: Vec<u8>) -> Error {
    let server = serve(200, encodings, encoded).await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    let err = read_body(response).await.unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert!(!err.is_body());
    err
}

#[tokio::test]
async fn corrupt_gzip_is_a_decode_error_naming_gzip() {
    let mut encoded = gzip(&sample(10_000));
    // Keep the gzip header, break the deflate data.
    for byte in &mut encoded[10..40] {
        *byte = 0xFF;
    }
    let err = decode_error(&["gzip"], encoded).await;
    let cause = decode_cause(&err);
    assert_eq!(cause.coding(), "gzip");
    assert!(!cause.is_truncated());
    assert!(
        format!("{err:#}").starts_with("error decoding response body: gzip stream is corrupt: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_gzip_header_is_a_decode_error() {
    let err = decode_error(&["gzip"], b"this is not gzip at all".to_vec()).await;
    assert_eq!(decode_cause(&err).coding(), "gzip");
}

#[tokio::test]
async fn truncated_gzip_is_detected() {
    let encoded = gzip(&sample(100_000));
    // Cut in the middle of the deflate data, and cut only the 8-byte trailer (CRC and length).
    for cut in [encoded.len() / 2, encoded.len() - 8, encoded.len() - 1] {
        let err = decode_error(&["gzip"], encoded[..cut].to_vec()).await;
        let cause = decode_cause(&err);
        assert_eq!(cause.coding(), "gzip");
        assert!(cause.is_truncated(), "cut at {cut}: {err}");
        assert_eq!(
            format!("{err:#}"),
            "error decoding response body: gzip stream is truncated"
        );
    }
}

#[tokio::test]
async fn truncated_deflate_brotli_and_zstd_are_detected() {
    let data = sample(100_000);
    for (coding, encoded) in [
        ("deflate", zlib(&data)),
        ("deflate", raw_deflate(&data)),
        ("br", brotli(&data)),
        ("zstd", zstd(&data)),
    ] {
        let cut = encoded.len() / 2;
        let err = decode_error(&[coding], encoded[..cut].to_vec()).await;
        let cause = decode_cause(&err);
        assert_eq!(cause.coding(), coding);
        assert!(cause.is_truncated(), "{coding}: {err}");
    }
}

#[tokio::test]
async fn corrupt_brotli_is_a_decode_error_naming_br() {
    let err = decode_error(&["br"], vec![0xFF; 64]).await;
    let cause = decode_cause(&err);
    assert_eq!(cause.coding(), "br");
    assert!(!cause.is_truncated());
    assert!(
        format!("{err:#}").starts_with("error decoding response body: br stream is corrupt"),
        "{err}"
    );
}

#[tokio::test]
async fn corrupt_zstd_is_a_decode_error_naming_zstd() {
    let err = decode_error(&["zstd"], b"definitely not a zstd frame".to_vec()).await;
    let cause = decode_cause(&err);
    assert_eq!(cause.coding(), "zstd");
    assert!(!cause.is_truncated());
}

#[tokio::test]
async fn corrupt_inner_coding_of_a_stack_names_that_coding() {
    // `gzip, br`: the brotli layer is fine, the gzip inside it is not.
    let err = decode_error(&["gzip, br"], brotli(b"not gzip inside")).await;
    assert_eq!(decode_cause(&err).coding(), "gzip");
    // And a broken brotli layer is named as brotli.
    let err = decode_error(&["gzip, br"], vec![0xFF; 64]).await;
    assert_eq!(decode_cause(&err).coding(), "br");
}

#[tokio::test]
async fn a_cut_connection_is_a_body_error_not_a_decode_error() {
    let encoded = Bytes::from(gzip(&sample(200_000)));
    let server = serve_body("gzip", move || {
        failing(vec![encoded.slice(..encoded.len() / 2)])
    })
    .await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    let (frames, err) = read_frames(response).await;
    let err = err.expect("the body must fail");
    assert!(err.is_body(), "{err:?}");
    assert!(!err.is_decode());
    // What arrived before the cut was decoded and delivered.
    assert!(!frames.is_empty());
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_size_limit() {
    const LIMIT: u64 = 1024 * 1024;
    // 100 MiB of zeros compress to about 100 KiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..100 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 200 * 1024);

    let server = serve(200, &["gzip"], bomb).await;
    let response = get(
        DecompressionLayer::new().max_size(Some(LIMIT)),
        &server.url("/"),
    )
    .await;
    let (frames, err) = read_frames(response).await;
    let err = err.expect("the limit must stop the body");
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(
        format!("{err:#}"),
        "error decoding response body: decompressed body exceeds the limit of 1048576 bytes (gzip)"
    );
    let limit = err
        .source()
        .and_then(|e| e.downcast_ref::<SizeLimitExceeded>())
        .expect("SizeLimitExceeded cause");
    assert_eq!(limit.limit(), LIMIT);
    // Nothing past the limit was handed out.
    let delivered: usize = frames.iter().map(Bytes::len).sum();
    assert!(delivered as u64 <= LIMIT, "{delivered}");
}

#[tokio::test]
async fn the_size_limit_is_inclusive() {
    let data = sample(100_000);
    let server = serve(200, &["gzip, br"], brotli(&gzip(&data))).await;

    let exact = DecompressionLayer::new().max_size(Some(data.len() as u64));
    let response = get(exact, &server.url("/")).await;
    assert_eq!(read_body(response).await.unwrap(), data);

    let one_less = DecompressionLayer::new().max_size(Some(data.len() as u64 - 1));
    let response = get(one_less, &server.url("/")).await;
    let err = read_body(response).await.unwrap_err();
    assert!(err.is_decode());
    assert!(format!("{err:#}")
        .ends_with("decompressed body exceeds the limit of 99999 bytes (gzip, br)"));

    let unlimited = DecompressionLayer::new().max_size(None);
    let response = get(unlimited, &server.url("/")).await;
    assert_eq!(read_body(response).await.unwrap(), data);
}

// ---- what follows a complete stream: the same rule for every coding ---------------------------------

type Encoder = fn(&[u8]) -> Vec<u8>;

/// Every coding, with its encoder, as `Content-Encoding` names it (deflate twice: zlib and raw).
fn every_coding() -> Vec<(&'static str, Encoder)> {
    vec![
        ("gzip", gzip),
        ("deflate", zlib),
        ("deflate", raw_deflate),
        ("br", brotli),
        ("zstd", zstd),
    ]
}

/// One HTTP/1.1 chunk.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// A raw server answering each request with a chunked response in `parts`, written `pause` apart,
/// then holding the connection open: no test below may depend on the server closing it.
async fn serve_parts(coding: &'static str, parts: Vec<Vec<u8>>, pause: Duration) -> RawServer {
    let parts: Vec<Bytes> = parts.into_iter().map(Bytes::from).collect();
    RawServer::start(move |mut stream, _| {
        let parts = parts.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            loop {
                if read_request_head(&mut stream).await.is_err() {
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-encoding: {coding}\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    if stream.write_all(part).await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await
}

/// Reads the whole body, failing the test if that takes 10 s: the client must never hang.
async fn read_within_10s(url: &str, client: Client) -> Result<Bytes, Error> {
    tokio::time::timeout(Duration::from_secs(10), async {
        let response = send(client, Method::GET, url).await?;
        read_body(response).await
    })
    .await
    .unwrap_or_else(|_| panic!("reading {url} hung"))
}

/// An endless run of empty gzip members or zstd frames (each a few bytes, decoding to nothing) is a
/// decode error after a bounded number, not an endless body the size and ratio limits never see (the
/// decoded size stays zero), nor a read that spins through them without returning.
#[tokio::test]
async fn an_endless_run_of_empty_members_is_a_decode_error() {
    let empty_gzip = gzip(b"");
    let empty_zstd = zstd(b"");
    for (coding, member) in [("gzip", empty_gzip), ("zstd", empty_zstd)] {
        let block = Bytes::from(chunk(&member.repeat(1000)));
        let server = RawServer::start(move |mut stream, _| {
            let block = block.clone();
            async move {
                use tokio::io::AsyncWriteExt;
                if read_request_head(&mut stream).await.is_err() {
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-encoding: {coding}\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                while stream.write_all(&block).await.is_ok() {}
            }
        })
        .await;
        let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
            .await
            .unwrap_err();
        assert!(err.is_decode(), "{coding}: {err:?}");
        assert_eq!(decode_cause(&err).coding(), coding);
        assert!(
            format!("{err:#}").contains("in a row with no content"),
            "{err:#}"
        );
    }
}

#[tokio::test]
async fn bytes_after_a_complete_stream_are_a_decode_error_for_every_coding() {
    let data = sample(20_000);
    for (coding, encode) in every_coding() {
        // Garbage with a proper end, and reqwest's shape: a chunk whose size line lies (0x2ab bytes
        // announced, five sent), so the body never ends. Both must fail at once.
        for trailing in [
            [chunk(b"junk after the end"), b"0\r\n\r\n".to_vec()].concat(),
            b"2ab\r\n0\r\n\r\n".to_vec(),
        ] {
            let parts = vec![chunk(&encode(&data)), trailing];
            let server = serve_parts(coding, parts, Duration::from_millis(20)).await;
            let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
                .await
                .unwrap_err();
            assert!(err.is_decode(), "{coding}: {err:?}");
            let cause = decode_cause(&err);
            assert_eq!(cause.coding(), coding);
            assert!(!cause.is_truncated(), "{coding}: {err:?}");
        }
    }
}

/// Bytes after a complete deflate or br stream, 1.5 s late (past the pause reqwest's own tests make),
/// are still seen: within the end grace, so a decode error rather than a body taken as complete.
#[tokio::test]
async fn bytes_well_after_a_complete_stream_are_still_a_decode_error() {
    let data = sample(5_000);
    for (coding, encode) in [("deflate", zlib as Encoder), ("br", brotli)] {
        let parts = vec![
            chunk(&encode(&data)),
            [chunk(b"junk after the end"), b"0\r\n\r\n".to_vec()].concat(),
        ];
        let server = serve_parts(coding, parts, Duration::from_millis(1500)).await;
        let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
            .await
            .unwrap_err();
        assert!(err.is_decode(), "{coding}: {err:?}");
        assert_eq!(decode_cause(&err).coding(), coding);
    }
}

#[tokio::test]
async fn a_stream_cut_short_and_properly_ended_is_truncated_for_every_coding() {
    let data = sample(20_000);
    for (coding, encode) in every_coding() {
        let encoded = encode(&data);
        let parts = vec![chunk(&encoded[..encoded.len() / 2]), b"0\r\n\r\n".to_vec()];
        let server = serve_parts(coding, parts, Duration::from_millis(20)).await;
        let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
            .await
            .unwrap_err();
        assert!(err.is_decode(), "{coding}: {err:?}");
        assert!(decode_cause(&err).is_truncated(), "{coding}: {err:?}");
    }
}

/// A body that stalls after a complete stream ends promptly, whatever the coding: after deflate or br,
/// which nothing can follow, with its content; after a gzip member or zstd frame, which another may
/// follow, with a decode error saying so (never a silently shortened body).
#[tokio::test]
async fn a_body_that_stalls_after_a_complete_stream_ends_promptly_for_every_coding() {
    let data = sample(20_000);
    for (coding, encode) in every_coding() {
        // The stream is complete; the chunked terminator never comes.
        let server = serve_parts(coding, vec![chunk(&encode(&data))], Duration::ZERO).await;
        let client = client(DecompressionLayer::new());
        for _ in 0..2 {
            let started = std::time::Instant::now();
            let read = read_within_10s(&server.url("/"), client.clone()).await;
            assert!(started.elapsed() < Duration::from_secs(5), "{coding}");
            match coding {
                "gzip" | "zstd" => {
                    let err = read.unwrap_err();
                    assert!(err.is_decode(), "{coding}: {err:?}");
                    let cause = decode_cause(&err);
                    assert_eq!(cause.coding(), coding);
                    assert!(!cause.is_truncated(), "{coding}: {err:?}");
                    assert!(
                        cause.to_string().contains("neither ended nor went on"),
                        "{cause}"
                    );
                }
                _ => assert_eq!(read.unwrap(), data, "{coding}"),
            }
        }
        // The abandoned connection is not reused: the second request opened another.
        assert_eq!(server.connections(), 2, "{coding}");
    }
}

/// A terminator a handler sends 300 ms after its last write (it did some work first): the body is
/// whole and its connection kept.
#[tokio::test]
async fn a_terminator_arriving_late_keeps_the_connection() {
    let data = sample(20_000);
    for (coding, encode) in every_coding() {
        let parts = vec![chunk(&encode(&data)), b"0\r\n\r\n".to_vec()];
        let server = serve_parts(coding, parts, Duration::from_millis(300)).await;
        let client = client(DecompressionLayer::new());
        for _ in 0..2 {
            let body = read_within_10s(&server.url("/"), client.clone())
                .await
                .unwrap();
            assert_eq!(body, data, "{coding}");
        }
        assert_eq!(server.connections(), 1, "{coding}");
    }
}

/// gzip members and zstd frames arriving 20 ms apart are all decoded; 2.5 s apart, further than the
/// end grace, the pause is not taken for the body's end: a decode error, never the first member alone
/// handed over as the whole body.
#[tokio::test]
async fn gzip_members_and_zstd_frames_arriving_apart_are_all_decoded_or_an_error() {
    let (first, second) = (sample(10_000), sample(30_000));
    for (coding, encode) in [("gzip", gzip as Encoder), ("zstd", zstd)] {
        for pause in [20, 2500] {
            let parts = vec![
                chunk(&encode(&first)),
                chunk(&encode(&second)),
                b"0\r\n\r\n".to_vec(),
            ];
            let server = serve_parts(coding, parts, Duration::from_millis(pause)).await;
            let read = read_within_10s(&server.url("/"), client(DecompressionLayer::new())).await;
            if pause < 2000 {
                assert_eq!(
                    read.unwrap(),
                    [first.clone(), second.clone()].concat(),
                    "{coding}"
                );
            } else {
                let err = read.unwrap_err();
                assert!(err.is_decode(), "{coding}: {err:?}");
                assert_eq!(decode_cause(&err).coding(), coding);
            }
        }
    }
}

/// The end grace is per complete stream: members arriving 1.2 s apart, each within the grace of the
/// one before, are all decoded, however long the whole takes (three members, 2.4 s: past one grace).
#[tokio::test]
async fn each_member_gets_its_own_end_grace() {
    let members = [sample(10_000), sample(20_000), sample(30_000)];
    for (coding, encode) in [("gzip", gzip as Encoder), ("zstd", zstd)] {
        let mut parts: Vec<Vec<u8>> = members.iter().map(|m| chunk(&encode(m))).collect();
        parts.push(b"0\r\n\r\n".to_vec());
        let server = serve_parts(coding, parts, Duration::from_millis(1200)).await;
        let body = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
            .await
            .unwrap();
        assert_eq!(body, members.concat(), "{coding}");
    }
}

/// br and zstd compress repetitive data far better than gzip, so their default ratio limit is 1000, not
/// 100: a 16 MiB body of mostly repeated bytes (a few random ones per 8 KiB, as a JSON export of
/// similar rows) decodes in full over 100:1 as zstd; a limit set for all holds for zstd too.
#[tokio::test]
async fn zstd_and_br_have_a_higher_default_ratio_than_gzip() {
    let mut data = Vec::with_capacity(16 << 20);
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    while data.len() < 16 << 20 {
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.extend_from_slice(&state.to_le_bytes());
        }
        data.resize(data.len() + 8192 - 32, b' ');
    }
    let compressed = zstd(&data);
    let ratio = data.len() / compressed.len();
    assert!((150..900).contains(&ratio), "ratio {ratio}");
    let server = serve(200, &["zstd"], compressed).await;
    let body = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
        .await
        .unwrap();
    assert_eq!(body.len(), data.len());
    assert!(body == data);

    let err = read_within_10s(
        &server.url("/"),
        client(DecompressionLayer::new().max_ratio(Some(100))),
    )
    .await
    .unwrap_err();
    let limit = err
        .source()
        .and_then(|e| e.downcast_ref::<RatioLimitExceeded>())
        .unwrap_or_else(|| panic!("not the ratio limit: {err:?}"));
    assert_eq!(limit.ratio(), 100);
}

/// A bomb in the inner coding of a stacked pair, under an outer decoder that outputs nothing: `gzip,
/// br` whose brotli stream decodes to a gzip header with a file name that never ends (32 MiB of it).
/// The gzip decoder never produces a byte, so only the inner output can be held to the limits: the
/// ratio rule stops it once it passes 8 MiB, in the same read.
#[tokio::test]
async fn a_bomb_under_a_silent_outer_decoder_is_stopped() {
    // FLG.FNAME set; the name's terminating zero never comes.
    let mut inner = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
    inner.resize(inner.len() + 32 * 1024 * 1024, b'a');
    let server = serve(200, &["gzip, br"], brotli(&inner)).await;
    let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    let ratio = err
        .source()
        .and_then(|e| e.downcast_ref::<RatioLimitExceeded>())
        .unwrap_or_else(|| panic!("not the ratio limit: {err:?}"));
    assert_eq!(ratio.ratio(), 100);
}

#[tokio::test]
async fn a_stacked_coding_with_bytes_after_its_inner_stream_is_a_decode_error() {
    // `gzip, br`: gzip's stream ends, then more bytes come out of brotli.
    let mut inner = gzip(b"complete");
    inner.extend_from_slice(b"\x00\x01junk");
    let server = serve(200, &["gzip, br"], brotli(&inner)).await;
    let err = read_within_10s(&server.url("/"), client(DecompressionLayer::new()))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(decode_cause(&err).coding(), "gzip");
}

// ---- transfer codings -------------------------------------------------------------------------------

#[tokio::test]
async fn a_gzip_transfer_coding_is_decoded_even_without_accept_encoding_from_the_layer() {
    let data = sample(30_000);
    let reply = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n".to_vec(),
        chunk(&gzip(&data)),
        b"0\r\n\r\n".to_vec(),
    ]
    .concat();
    let server = RawServer::reply(reply, Then::Close).await;
    for layer in [
        DecompressionLayer::new(),
        DecompressionLayer::new().gzip(false),
    ] {
        let response = get(layer, &server.url("/")).await;
        assert_eq!(response.headers()["transfer-encoding"], "chunked");
        assert_eq!(read_body(response).await.unwrap(), data);
    }
}

#[tokio::test]
async fn an_unknown_transfer_coding_fails_instead_of_handing_over_its_bytes() {
    let reply = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: compress, chunked\r\n\r\n".to_vec(),
        chunk(b"\x1f\x9d\x90not really"),
        b"0\r\n\r\n".to_vec(),
    ]
    .concat();
    assert_unsupported_transfer_coding(reply, "compress, chunked").await;
}

/// Serves `reply` and asserts the response fails as the unsupported transfer coding `value`.
async fn assert_unsupported_transfer_coding(reply: Vec<u8>, value: &str) {
    let server = RawServer::reply(reply, Then::Close).await;
    let err = send(
        client(DecompressionLayer::new()),
        Method::GET,
        &server.url("/"),
    )
    .await
    .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(
        err.source().unwrap().to_string(),
        format!("unsupported transfer coding `{value}`")
    );
}

/// `chunked` not last: hyper reads the body to the connection's end, chunk framing included, so
/// decoding the gzip would hand that framing over as content. It is an error instead.
#[tokio::test]
async fn chunked_before_another_transfer_coding_fails() {
    let data = sample(10_000);
    let mut reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n".to_vec();
    reply.extend_from_slice(&gzip(&[chunk(&data), b"0\r\n\r\n".to_vec()].concat()));
    assert_unsupported_transfer_coding(reply, "chunked, gzip").await;
}

/// hyper takes a body as chunked only when the last element of the last `Transfer-Encoding` line is
/// `chunked`: with an empty element after it (`chunked,`, or an empty line after), hyper reads the
/// body to the connection's end, chunk framing and all, which must not be handed over as content.
#[tokio::test]
async fn chunked_followed_by_an_empty_element_fails() {
    for head in [
        &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked,\r\n\r\n"[..],
        &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: \r\n\r\n"[..],
    ] {
        let reply = [head, b"5\r\nhello\r\n0\r\n\r\n"].concat();
        let value = if head.len() > 50 {
            "chunked, "
        } else {
            "chunked,"
        };
        assert_unsupported_transfer_coding(reply, value).await;
    }
}

/// `Transfer-Encoding: gzip` without `chunked` (the body ends with the connection) is decoded, and the
/// header is gone rather than claiming a chunked framing the body never had.
#[tokio::test]
async fn a_close_delimited_gzip_transfer_coding_is_decoded() {
    let data = sample(10_000);
    let mut reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n".to_vec();
    reply.extend_from_slice(&gzip(&data));
    let server = RawServer::reply(reply, Then::Close).await;
    let response = get(DecompressionLayer::new(), &server.url("/")).await;
    assert!(response.headers().get("transfer-encoding").is_none());
    assert_eq!(read_body(response).await.unwrap(), data);
}

#[tokio::test]
async fn connections_are_reused_after_a_decoded_body() {
    let server = serve(200, &["gzip"], gzip(&sample(50_000))).await;
    let client = client(DecompressionLayer::new());
    for _ in 0..3 {
        let response = send(client.clone(), Method::GET, &server.url("/"))
            .await
            .unwrap();
        assert_eq!(read_body(response).await.unwrap().len(), 50_000);
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn trailers_follow_the_decoded_data() {
    let encoded = Bytes::from(gzip(b"with trailers"));
    let server = serve_body("gzip", move || {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-checksum", "abc".parse().unwrap());
        let frames = vec![
            Ok::<_, courier_testkit::BoxError>(hyper::body::Frame::data(encoded.clone())),
            Ok(hyper::body::Frame::trailers(trailers)),
        ];
        http_body_util::StreamBody::new(futures_util::stream::iter(frames)).boxed()
    })
    .await;
    // HTTP/2, where trailers need no negotiation.
    let transport: Transport = Transport::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let client = DecompressionLayer::new().layer(transport);
    let response = send(client, Method::GET, &server.url("/")).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let collected = response.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["x-checksum"], "abc");
    assert_eq!(collected.to_bytes(), "with trailers");
}

/// A `Range` request advertises no coding (as reqwest): a range of compressed bytes cannot be decoded
/// on its own. A server that sends such a range anyway gets its bytes handed over as they are, with
/// their `Content-Encoding`, rather than a decode error. A server that ignores `Range` and sends the
/// whole body (`200`) compressed gets it decoded, as any other.
#[tokio::test]
async fn a_range_request_advertises_no_coding_and_its_bytes_are_not_decoded() {
    let data = sample(20_000);
    let compressed = gzip(&data);
    let server = TestServer::start({
        let (data, compressed) = (Bytes::from(data.clone()), Bytes::from(compressed.clone()));
        move |req| {
            let (data, compressed) = (data.clone(), compressed.clone());
            async move {
                let gzip_ok = req
                    .header("accept-encoding")
                    .is_some_and(|v| v.contains("gzip"));
                if req.path() == "/whole" {
                    return Response::builder()
                        .header("content-encoding", "gzip")
                        .body(courier_testkit::full(compressed))
                        .unwrap();
                }
                let response = Response::builder()
                    .status(206)
                    .header("content-range", "bytes 1000-1999/*");
                if gzip_ok || req.path() == "/always-gzip" {
                    response
                        .header("content-encoding", "gzip")
                        .body(courier_testkit::full(compressed.slice(1000..2000)))
                        .unwrap()
                } else {
                    response
                        .body(courier_testkit::full(data.slice(1000..2000)))
                        .unwrap()
                }
            }
        }
    })
    .await;
    let client = client(DecompressionLayer::new());
    let ranged = |path: &str| {
        Request::get(server.url(path))
            .header("range", "bytes=1000-1999")
            .body(Body::empty())
            .unwrap()
    };
    let response = client.clone().oneshot(ranged("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(read_body(response).await.unwrap(), data[1000..2000]);
    assert_eq!(server.last_request().header("accept-encoding"), None);

    let response = client
        .clone()
        .oneshot(ranged("/always-gzip"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(read_body(response).await.unwrap(), compressed[1000..2000]);

    let response = client.oneshot(ranged("/whole")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("content-encoding").is_none());
    assert_eq!(read_body(response).await.unwrap(), data);
}
