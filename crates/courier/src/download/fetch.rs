//! One attempt at a job: resume the `.part` or start over, then stream the body to disk.

use http::header::{ACCEPT_ENCODING, CONTENT_RANGE, IF_RANGE, RANGE};
use http::StatusCode;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::downloader::{AttemptError, JobCtx};
use super::part::{ContentRange, Meta};
use super::retry::{self, Retry};
use super::update::Validators;
use super::{segmented, EventKind};
use crate::{Error, RequestBuilder, Response};

/// Makes the `.part` complete, resuming it when `allow_resume` and its sidecar allow.
pub(super) async fn attempt(ctx: &JobCtx, allow_resume: bool) -> Result<(), AttemptError> {
    if allow_resume {
        let len = ctx.paths.part_len().await.map_err(|e| ctx.fail_io(e))?;
        if let Some(meta) = ctx.paths.load_meta(ctx.job.url()).await {
            ctx.remember_validators(Validators::new(
                ctx.job.url(),
                meta.etag.clone(),
                meta.last_modified.clone(),
            ));
            if !meta.segments.is_empty() {
                if segmented::is_consistent(&meta, len) {
                    return segmented::resume(ctx, meta).await;
                }
            } else if len > 0 && meta.total.is_none_or(|total| len <= total) {
                return resume(ctx, meta, len).await;
            }
        }
    }
    ctx.paths.discard().await.map_err(|e| ctx.fail_io(e))?;
    fresh(ctx).await
}

/// A plain `GET` of the whole file. Compression is negotiated as the client does by default; a body
/// the client decoded cannot be resumed by range and is marked so (no sidecar). With `update`, a file
/// already in place makes it conditional, and a `304` leaves that file as it is.
async fn fresh(ctx: &JobCtx) -> Result<(), AttemptError> {
    let mut request = ctx.get();
    let conditional = ctx.conditional_headers().await;
    for (name, value) in conditional.iter().flatten() {
        request = request.header(name, value.as_str());
    }
    let response = send(ctx, request).await?;
    if response.status() == StatusCode::NOT_MODIFIED && conditional.is_some() {
        ctx.mark_unchanged();
        return Ok(());
    }
    check_status(ctx, &response)?;
    ctx.remember_validators(Validators::from_headers(ctx.job.url(), response.headers()));
    if response.status() == StatusCode::PARTIAL_CONTENT {
        let error = ctx.invalid_response("206 Partial Content to a request without Range");
        return Err(ctx.fail(error, Retry::Never));
    }
    let meta = Meta::from_response(ctx.job.url(), response.headers());
    check_total(ctx, response.content_length())?;
    let config = &ctx.shared.config;
    match meta {
        Some(meta) if meta.ranges => {
            let total = meta.total.unwrap_or(0);
            let segments = (config.segments as u64).min(total / config.min_segment_size);
            if segments >= 2 {
                return segmented::start(ctx, response, meta, segments).await;
            }
            stream_whole(ctx, response, Some(meta)).await
        }
        meta => stream_whole(ctx, response, meta).await,
    }
}

/// Continues a single-stream `.part` of `len` bytes with `Range: bytes=len-` and `If-Range`.
async fn resume(ctx: &JobCtx, meta: Meta, len: u64) -> Result<(), AttemptError> {
    // Without a validator (`If-Range`), the total is the only check that the file did not change.
    let request = ranged(ctx, &meta, &format!("bytes={len}-"));
    let mut response = send(ctx, request).await?;
    match response.status() {
        StatusCode::PARTIAL_CONTENT => {
            // Exactly the rest of the file the sidecar describes, as segments check theirs: a `*`
            // total is taken as the sidecar's, and no total at all leaves nothing to check against.
            let announced = ContentRange::from_headers(response.headers());
            let total = announced.and_then(|cr| {
                let total = match (cr.total, meta.total) {
                    (Some(total), Some(known)) if total != known => return None,
                    (total, known) => total.or(known)?,
                };
                (cr.range? == (len, total.checked_sub(1)?)).then_some(total)
            });
            let Some(total) = total else {
                let got = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none");
                let size = meta
                    .total
                    .map(|t| format!(" of a {t}-byte file"))
                    .unwrap_or_default();
                return Err(restart(
                    ctx,
                    format!("asked for bytes={len}-{size}, got Content-Range: {got}"),
                )
                .await);
            };
            check_total(ctx, Some(total))?;
            let mut file = OpenOptions::new()
                .write(true)
                .open(&ctx.paths.part)
                .await
                .map_err(|e| ctx.fail_io(e))?;
            file.seek(std::io::SeekFrom::Start(len))
                .await
                .map_err(|e| ctx.fail_io(e))?;
            ctx.emit(EventKind::Started {
                total: Some(total),
                offset: len,
                segments: 1,
            })
            .await;
            ctx.set_downloaded(len).await;
            let written = write_body(ctx, &mut response, &mut file, len, Some(total)).await?;
            check_complete(ctx, len + written, Some(total))
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            let announced = ContentRange::from_headers(response.headers());
            let complete = match announced {
                Some(ContentRange {
                    range: None,
                    total: Some(total),
                }) => total == len && meta.total.is_none_or(|m| m == total),
                None => meta.total == Some(len),
                Some(_) => false,
            };
            if !complete {
                // The file shrank, or the server is confused: start over.
                ctx.paths.discard().await.map_err(|e| ctx.fail_io(e))?;
                return fresh(ctx).await;
            }
            // The `.part` already holds the whole file (an earlier run stopped before renaming it).
            ctx.emit(EventKind::Started {
                total: Some(len),
                offset: len,
                segments: 1,
            })
            .await;
            ctx.set_downloaded(len).await;
            Ok(())
        }
        status if status.is_success() => {
            // The validator no longer matches, or the server ignores ranges: this is the whole
            // (possibly new) file, sent as identity since the request asked for it.
            let meta = Meta::from_response(ctx.job.url(), response.headers());
            check_total(ctx, response.content_length())?;
            stream_whole(ctx, response, meta).await
        }
        _ => Err(status_error(ctx, &response)),
    }
}

/// Writes a whole body into a fresh `.part`, saving the sidecar first when it can be resumed.
pub(super) async fn stream_whole(
    ctx: &JobCtx,
    mut response: Response,
    meta: Option<Meta>,
) -> Result<(), AttemptError> {
    let mut file = File::create(&ctx.paths.part)
        .await
        .map_err(|e| ctx.fail_io(e))?;
    match &meta {
        Some(meta) => ctx.paths.save_meta(meta).await,
        None => ctx.paths.remove_meta().await,
    }
    .map_err(|e| ctx.fail_io(e))?;
    let total = meta
        .as_ref()
        .and_then(|m| m.total)
        .or(response.content_length());
    ctx.emit(EventKind::Started {
        total,
        offset: 0,
        segments: 1,
    })
    .await;
    ctx.set_downloaded(0).await;
    let written = write_body(ctx, &mut response, &mut file, 0, total).await?;
    check_complete(ctx, written, total)
}

/// Streams the body into `file` chunk by chunk (never more than one chunk in memory), from `offset`
/// of the file up to `end` (the total the server announced), never past it. Returns the bytes
/// written. The file is flushed on every path out.
async fn write_body(
    ctx: &JobCtx,
    response: &mut Response,
    file: &mut File,
    offset: u64,
    end: Option<u64>,
) -> Result<u64, AttemptError> {
    let expected = ctx.job.get_expected_size();
    let mut written = 0u64;
    let outcome = loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break Ok(()),
            Err(err) => break Err(ctx.fail_http(err)),
        };
        let _held = ctx.hold(chunk.len());
        let position = offset + written;
        // A body longer than its `Content-Range` (or `Content-Length`) announced: the bytes past the
        // announced end belong to no position of the file. They are dropped, as a segment drops
        // what lies past its range; the total, the size and the SHA-256 are checked as usual.
        let room = end.map_or(u64::MAX, |end| end.saturating_sub(position));
        let len = (chunk.len() as u64).min(room);
        if let Some(expected) = expected.filter(|&e| position + len > e) {
            let error = ctx.size_mismatch(expected, position + len);
            break Err(ctx.fail(error, Retry::Never));
        }
        if let Err(err) = write_chunk(file, &chunk[..len as usize]).await {
            break Err(ctx.fail_io(err));
        }
        written += len;
        ctx.add_downloaded(len).await;
        if len < chunk.len() as u64 {
            tracing::debug!(
                url = %ctx.job.url(),
                end = end.unwrap_or_default(),
                "body goes on past the announced end; the rest is dropped"
            );
            break Ok(());
        }
    };
    let flushed = file.flush().await.map_err(|e| ctx.fail_io(e));
    outcome.and(flushed).map(|()| written)
}

/// Writes a chunk and waits until it is in the file: progress then counts bytes on disk, and a
/// cancelled job leaves no write behind in flight.
pub(super) async fn write_chunk(file: &mut File, chunk: &[u8]) -> std::io::Result<()> {
    file.write_all(chunk).await?;
    file.flush().await
}

/// `GET` with `Range`, `If-Range` (when there is a validator) and `Accept-Encoding: identity`: ranges
/// count bytes of the identity representation, so the client must not negotiate a coding.
pub(super) fn ranged(ctx: &JobCtx, meta: &Meta, range: &str) -> RequestBuilder {
    let request = ctx
        .get()
        .header(RANGE, range)
        .header(ACCEPT_ENCODING, "identity");
    match meta.validator() {
        Some(validator) => request.header(IF_RANGE, validator),
        None => request,
    }
}

pub(super) async fn send(ctx: &JobCtx, request: RequestBuilder) -> Result<Response, AttemptError> {
    request.send().await.map_err(|err| ctx.fail_http(err))
}

/// Fails on any status but 2xx (a 3xx here is a redirect the client did not follow), saying whether
/// a retry may help.
pub(super) fn check_status(ctx: &JobCtx, response: &Response) -> Result<(), AttemptError> {
    match response.status() {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(()),
        // 202 "being generated", 204 "nothing here"...: not the file, whatever the body.
        status if status.is_success() => {
            let error = ctx.invalid_response(format!("{status} is not a file download"));
            Err(ctx.fail(error, Retry::Never))
        }
        _ => Err(status_error(ctx, response)),
    }
}

pub(super) fn status_error(ctx: &JobCtx, response: &Response) -> AttemptError {
    let status = response.status();
    let error = ctx.http_error(Error::from_status(status, Some(response.url().clone())));
    ctx.fail(error, retry::for_status(status, response.headers()))
}

/// Fails at once when the announced size is not the expected one.
pub(super) fn check_total(ctx: &JobCtx, total: Option<u64>) -> Result<(), AttemptError> {
    match (ctx.job.get_expected_size(), total) {
        (Some(expected), Some(total)) if expected != total => {
            Err(ctx.fail(ctx.size_mismatch(expected, total), Retry::Never))
        }
        _ => Ok(()),
    }
}

/// The `.part` must hold exactly the announced total. Less is a cut connection: retried, resuming.
/// More cannot come from [`write_body`], which stops at the total; should it happen anyway, the
/// retry finds the `.part` longer than the sidecar's total and starts over.
fn check_complete(ctx: &JobCtx, len: u64, total: Option<u64>) -> Result<(), AttemptError> {
    match total {
        Some(total) if len < total => Err(ctx.fail_http(
            Error::body(format!("body ended after {len} of {total} bytes"))
                .with_url(ctx.job.url().clone()),
        )),
        Some(total) if len > total => {
            let error = ctx.invalid_response(format!("got {len} bytes of a {total}-byte file"));
            Err(ctx.fail(error, Retry::Backoff))
        }
        _ => Ok(()),
    }
}

/// The server answered a range request inconsistently: drop the `.part` so the retry starts over.
pub(super) async fn restart(ctx: &JobCtx, reason: impl Into<String>) -> AttemptError {
    if let Err(err) = ctx.paths.discard().await {
        return ctx.fail_io(err);
    }
    ctx.fail(ctx.invalid_response(reason), Retry::Backoff)
}
