//! The decoders fed arbitrary bytes: an inner service answers with the fuzz input as the body, under a
//! `Content-Encoding` picked by the first byte, cut into chunks sized by the second; the decoded body is
//! read to the end. Errors are fine, panics are not. The outcome must not depend on how the body was cut
//! into chunks, must stay under the size cap, and a body that is not decoded must come out unchanged.

#![no_main]

use std::convert::Infallible;

use bytes::Bytes;
use courier_core::decompression::DecompressionLayer;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt};

const CODINGS: &[&str] = &[
    "gzip",
    "deflate",
    "br",
    "zstd",
    "x-gzip",
    "gzip, br",
    "br, zstd",
    "deflate, gzip",
    "zstd, deflate, br",
    "GZIP",
    "identity",
    "identity, gzip",
    "compress",
    "gzip, gzip, gzip, gzip",
    "gzip, gzip, gzip, gzip, gzip",
    "",
];

/// Decoded bytes allowed: small, so that bombs end fast.
const CAP: u64 = 4 * 1024 * 1024;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
}

/// Decodes `body` sent in chunks of `chunk` bytes: the decoded bytes, or `None` on an error.
fn decode(coding: &'static str, body: &[u8], chunk: usize) -> Option<Vec<u8>> {
    let chunks: Vec<Bytes> = body.chunks(chunk).map(Bytes::copy_from_slice).collect();
    let server = tower::service_fn(move |_req: Request<()>| {
        let chunks = chunks.clone();
        async move {
            let frames = chunks
                .into_iter()
                .map(|c| Ok::<_, Infallible>(Frame::data(c)));
            let body = StreamBody::new(futures_util::stream::iter(frames));
            let mut res = Response::new(body);
            if !coding.is_empty() {
                res.headers_mut()
                    .insert("content-encoding", http::HeaderValue::from_static(coding));
            }
            Ok::<_, Infallible>(res)
        }
    });
    let client = DecompressionLayer::new().max_size(Some(CAP)).layer(server);
    RUNTIME.with(|rt| {
        rt.block_on(async {
            let mut body = client.oneshot(Request::new(())).await.unwrap().into_body();
            let mut out = Vec::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            out.extend_from_slice(&data);
                            assert!(out.len() as u64 <= CAP, "{} bytes past the cap", out.len());
                        }
                    }
                    Err(err) => {
                        assert!(err.is_decode() || err.is_body(), "{err:?}");
                        return None;
                    }
                }
            }
            Some(out)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let [coding, chunk, body @ ..] = data else {
        return;
    };
    let coding = CODINGS[usize::from(*coding) % CODINGS.len()];
    let chunk = usize::from(*chunk) + 1;
    let whole = decode(coding, body, body.len().max(1));
    let cut = decode(coding, body, chunk);
    assert_eq!(
        whole, cut,
        "{coding}: the outcome depends on chunking ({chunk}-byte chunks)"
    );
    let passthrough = matches!(coding, "" | "identity" | "compress")
        || coding.split(", ").count() > 4
        || body.is_empty();
    if passthrough {
        assert_eq!(whole.as_deref(), Some(body), "{coding}");
    }
});
