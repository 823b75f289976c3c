//! What handlers answer with: bodies (whole, streamed slowly, cut on purpose) and canned responses
//! (a status, a redirect, a JSON echo, byte ranges of a file).

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

use crate::{BoxError, Recorded, ServerBody};

/// A body of the given bytes.
pub fn full(bytes: impl Into<Bytes>) -> ServerBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ServerBody {
    full(Bytes::new())
}

/// A body streamed from chunks, each sent after `delay`.
pub fn slow(chunks: Vec<Bytes>, delay: std::time::Duration) -> ServerBody {
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut chunks| async move {
        let chunk = chunks.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, BoxError>(Frame::data(chunk)), chunks))
    });
    StreamBody::new(stream).boxed()
}

/// A body that sends `first` at once and `rest` after `delay`: a transfer that stalls part way.
pub fn stalling(first: Bytes, delay: std::time::Duration, rest: Bytes) -> ServerBody {
    let stream = futures_util::stream::unfold(Some((first, rest)), move |parts| async move {
        let (first, rest) = parts?;
        if first.is_empty() {
            tokio::time::sleep(delay).await;
            return Some((Ok::<_, BoxError>(Frame::data(rest)), None));
        }
        Some((Ok(Frame::data(first)), Some((Bytes::new(), rest))))
    });
    StreamBody::new(stream).boxed()
}

/// A body that yields `chunks` (each after a short pause, so hyper flushes what it has), then fails,
/// which cuts the connection mid-body.
pub fn failing(chunks: Vec<Bytes>) -> ServerBody {
    let items = chunks.into_iter().map(Some).chain(std::iter::once(None));
    let stream =
        futures_util::StreamExt::then(futures_util::stream::iter(items), |chunk| async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            match chunk {
                Some(chunk) => Ok::<_, BoxError>(Frame::data(chunk)),
                None => Err("cut on purpose".into()),
            }
        });
    StreamBody::new(stream).boxed()
}

/// A response with a status and a body.
pub fn respond(status: u16, body: impl Into<Bytes>) -> Response<ServerBody> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .body(full(body))
        .unwrap()
}

/// A response with a status, a `Retry-After` (seconds or an HTTP date) and a body: a server asking to
/// be tried again later.
pub fn status_with_retry_after(
    status: u16,
    retry_after: &str,
    body: impl Into<Bytes>,
) -> Response<ServerBody> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("retry-after", retry_after)
        .body(full(body))
        .unwrap()
}

/// A redirect with a `Location`.
pub fn redirect(status: u16, location: &str) -> Response<ServerBody> {
    Response::builder()
        .status(status)
        .header("location", location)
        .body(empty())
        .unwrap()
}

/// `200` with a JSON echo of the request: method, path, query, version, headers (every value) and body.
pub fn echo(req: &Recorded) -> Response<ServerBody> {
    let mut headers = serde_json::Map::new();
    for name in req.headers.keys() {
        headers.insert(
            name.as_str().to_owned(),
            serde_json::Value::from(req.header_all(name.as_str())),
        );
    }
    let json = serde_json::json!({
        "method": req.method.as_str(),
        "path": req.uri.path(),
        "query": req.uri.query(),
        "version": format!("{:?}", req.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&req.body),
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(full(serde_json::to_vec(&json).unwrap()))
        .unwrap()
}

/// Serves `data` as a file with byte ranges, as a static file server does: `Accept-Ranges: bytes`,
/// `Content-Length`, and `ETag: etag` when given. A single `Range` (`bytes=a-b`, `bytes=a-` or
/// `bytes=-n`) is answered `206` with `Content-Range`, or `416` with `Content-Range: bytes */len` when
/// it starts past the end; an `If-Range` that is not `etag` gets the whole file with `200`. Other
/// requests (and ranges it cannot parse) get the whole file.
pub fn serve_ranges(req: &Recorded, data: &Bytes, etag: Option<&str>) -> Response<ServerBody> {
    let len = data.len() as u64;
    let mut builder = Response::builder().header("accept-ranges", "bytes");
    if let Some(etag) = etag {
        builder = builder.header("etag", etag);
    }
    let if_range_ok = match req.header("if-range") {
        Some(validator) => Some(validator) == etag,
        None => true,
    };
    let range = req
        .header("range")
        .filter(|_| if_range_ok)
        .and_then(|r| r.strip_prefix("bytes="))
        .filter(|r| !r.contains(','))
        .and_then(|r| r.split_once('-'))
        .and_then(|(first, last)| match (first.trim(), last.trim()) {
            ("", n) => n
                .parse::<u64>()
                .ok()
                .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
            (a, "") => a.parse::<u64>().ok().map(|a| (a, len.saturating_sub(1))),
            (a, b) => Some((
                a.parse::<u64>().ok()?,
                b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
            )),
        });
    match range {
        None => builder
            .header("content-length", len)
            .body(full(data.clone()))
            .unwrap(),
        Some((first, _)) if first >= len => builder
            .status(416)
            .header("content-range", format!("bytes */{len}"))
            .body(empty())
            .unwrap(),
        Some((first, last)) if last < first => builder
            .header("content-length", len)
            .body(full(data.clone()))
            .unwrap(),
        Some((first, last)) => builder
            .status(206)
            .header("content-range", format!("bytes {first}-{last}/{len}"))
            .header("content-length", last - first + 1)
            .body(full(data.slice(first as usize..=last as usize)))
            .unwrap(),
    }
}
