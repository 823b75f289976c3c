//! One attempt at a job, start to end: resume the `.part` or fetch the file afresh, as one stream or
//! as segments, and carry out what each step decides.
//!
//! An attempt is a short chain of steps. Each ends with `Ok(())` (the `.part` is complete) or with a
//! [`Decision`], which only [`attempt`] acts on:
//!
//! 1. [`resume`]: with a usable sidecar, continue the `.part`: one stream asking for
//!    `bytes=len-`, or the sidecar's unfinished segments. Anything else starts over.
//! 2. [`fresh`]: a plain `GET` (conditional with `update`). A file the server offers in ranges and
//!    large enough for two segments goes to the [`segmented`] workers; any other is taken whole.
//! 3. [`whole`]: a response holding the whole file, written into a new `.part` from byte 0.
//!
//! A step's `Decision` is [`Fail`](Decision::Fail) (the attempt ends with that error),
//! [`StartOver`](Decision::StartOver) (drop the `.part`, go to 2),
//! [`WholeFile`](Decision::WholeFile) (go to 3 with that response) or
//! [`Restart`](Decision::Restart) (drop the `.part` and fail, so the retry starts over).
//!
//! What it does not do: retry, wait, verify or rename (the [`downloader`](super::downloader)), check
//! the answer to a range request ([`range`]), or run segments ([`segmented`]).

use http::StatusCode;
use tokio::fs::File;
use tokio::io::AsyncWriteExt;

use super::downloader::{AttemptError, JobCtx};
use super::part::{write_chunk, Meta};
use super::range::{self, ByteRange, ContentRange};
use super::retry::Retry;
use super::segmented;
use super::update::Validators;
use crate::{Error, Response};

/// What a step of an attempt found, for [`attempt`] to act on.
#[derive(Debug)]
pub(super) enum Decision {
    /// End the attempt with this error; the downloader retries it or not, as the error says.
    Fail(AttemptError),
    /// The `.part` cannot be continued (no usable sidecar, or a `416` saying the file is not what
    /// the sidecar describes): drop it and fetch the file afresh, in this attempt.
    StartOver,
    /// A response holding the whole file from byte 0: a `200` to the plain `GET`, or to a range
    /// request whose `If-Range` no longer matched (the file changed) or whose server ignores ranges.
    /// Taken as one stream.
    WholeFile(Box<Response>),
    /// The server answered a range request inconsistently (a `206` for other bytes or another
    /// total): drop the `.part` and fail as an invalid response, so the retry starts over.
    Restart(String),
}

impl From<AttemptError> for Decision {
    fn from(err: AttemptError) -> Self {
        Decision::Fail(err)
    }
}

/// Makes the `.part` complete, resuming it when `allow_resume` and its sidecar allow.
pub(super) async fn attempt(ctx: &JobCtx, allow_resume: bool) -> Result<(), AttemptError> {
    let mut step = if allow_resume {
        resume(ctx).await
    } else {
        Err(Decision::StartOver)
    };
    // At most three steps: only `resume` starts over, and `whole` decides nothing but failure.
    loop {
        step = match step {
            Ok(()) => return Ok(()),
            Err(Decision::Fail(err)) => return Err(err),
            Err(Decision::StartOver) => {
                ctx.paths.discard().await.map_err(|e| ctx.fail_io(e))?;
                fresh(ctx).await
            }
            Err(Decision::WholeFile(response)) => whole(ctx, *response).await,
            Err(Decision::Restart(reason)) => {
                ctx.distrust_ranges();
                ctx.paths.discard().await.map_err(|e| ctx.fail_io(e))?;
                return Err(ctx.fail(ctx.invalid_response(reason), Retry::Backoff));
            }
        }
    }
}

/// Continues the `.part` its sidecar describes: its unfinished segments, or, for a single stream,
/// the rest of the file from the `.part`'s length.
async fn resume(ctx: &JobCtx) -> Result<(), Decision> {
    let len = ctx.paths.part_len().await.map_err(|e| ctx.fail_io(e))?;
    let Some(meta) = ctx.paths.load_meta(ctx.job.url()).await else {
        return Err(Decision::StartOver);
    };
    ctx.remember_validators(Validators::new(
        ctx.job.url(),
        meta.etag.clone(),
        meta.last_modified.clone(),
    ));
    if !meta.segments.is_empty() {
        if !segmented::is_consistent(&meta, len) {
            return Err(Decision::StartOver);
        }
        // The size the job expects is known to be wrong before any byte is fetched.
        check_total(ctx, meta.total)?;
        return segmented::run(ctx, meta, None).await;
    }
    if len == 0 || meta.total.is_some_and(|total| len > total) {
        return Err(Decision::StartOver);
    }
    // Without a validator (`If-Range`), the total is the only check that the file did not change.
    let asked = ByteRange {
        first: len,
        end: None,
    };
    let response = ctx
        .send(range::request(ctx, asked, meta.validator()))
        .await?;
    if response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
        return already_complete(ctx, &response, &meta, len).await;
    }
    // Exactly the rest of the file the sidecar describes, as segments check theirs.
    let (response, total) = range::check(ctx, response, asked, meta.total, meta.validator())?;
    check_total(ctx, Some(total))?;
    let file = ctx.paths.open_at(len).await.map_err(|e| ctx.fail_io(e))?;
    Ok(write_stream(ctx, response, file, len, Some(total)).await?)
}

/// A `416` to `bytes=len-`: done when its `Content-Range` (`bytes */total`) says the `.part` already
/// holds the whole file (an earlier run stopped before renaming it); otherwise the file shrank, or
/// the server is confused, and the `.part` starts over.
async fn already_complete(
    ctx: &JobCtx,
    response: &Response,
    meta: &Meta,
    len: u64,
) -> Result<(), Decision> {
    // Another version's validator: the `.part` is not the file the server has now.
    if range::other_version(response.headers(), meta.validator()).is_some() {
        return Err(Decision::StartOver);
    }
    let complete = match ContentRange::from_headers(response.headers()) {
        Some(ContentRange {
            range: None,
            total: Some(total),
        }) => total == len && meta.total.is_none_or(|m| m == total),
        None => meta.total == Some(len),
        Some(_) => false,
    };
    if !complete {
        return Err(Decision::StartOver);
    }
    ctx.started(Some(len), len, 1).await;
    Ok(())
}

/// A plain `GET` of the whole file, as sent (no compression negotiated; a body the server
/// content-codes anyway is saved coded, and not resumed: no sidecar). With `update`, a file already
/// in place makes it conditional, and a `304` leaves that file as it is.
async fn fresh(ctx: &JobCtx) -> Result<(), Decision> {
    let mut request = ctx.get();
    let conditional = ctx.conditional_headers().await;
    for (name, value) in conditional.iter().flatten() {
        request = request.header(name, value.as_str());
    }
    let response = ctx.send(request).await?;
    if response.status() == StatusCode::NOT_MODIFIED && conditional.is_some() {
        ctx.mark_unchanged();
        return Ok(());
    }
    check_status(ctx, &response)?;
    ctx.remember_validators(Validators::from_headers(ctx.job.url(), response.headers()));
    if response.status() == StatusCode::PARTIAL_CONTENT {
        let error = ctx.invalid_response("206 Partial Content to a request without Range");
        return Err(ctx.fail(error, Retry::Never).into());
    }
    let config = &ctx.shared.config;
    match Meta::from_response(ctx.job.url(), response.headers()) {
        Some(meta) if meta.ranges => {
            let total = meta.total.unwrap_or(0);
            let segments = (config.segments as u64).min(total / config.min_segment_size);
            if segments < 2 || ctx.ranges_distrusted() {
                return Err(Decision::WholeFile(Box::new(response)));
            }
            check_total(ctx, response.content_length())?;
            segmented::start(ctx, response, meta, segments).await
        }
        _ => Err(Decision::WholeFile(Box::new(response))),
    }
}

/// Writes a response holding the whole file into a new `.part`, saving the sidecar first when it
/// can be resumed.
async fn whole(ctx: &JobCtx, response: Response) -> Result<(), Decision> {
    // The file's validators are this response's: a resume that found the file changed must not
    // leave the old file's behind for the next `update`.
    ctx.remember_validators(Validators::from_headers(ctx.job.url(), response.headers()));
    let meta = Meta::from_response(ctx.job.url(), response.headers());
    check_total(ctx, response.content_length())?;
    let file = ctx.paths.create().await.map_err(|e| ctx.fail_io(e))?;
    match &meta {
        Some(meta) => ctx.paths.save_meta(meta).await,
        None => ctx.paths.remove_meta().await,
    }
    .map_err(|e| ctx.fail_io(e))?;
    let total = meta
        .as_ref()
        .and_then(|m| m.total)
        .or(response.content_length());
    Ok(write_stream(ctx, response, file, 0, total).await?)
}

/// Streams the body into `file` from byte `offset` of the file up to `end` (the total the server
/// announced), never past it, chunk by chunk (never more than one chunk in memory); then the `.part`
/// must hold exactly that total. The file is flushed on every path out.
async fn write_stream(
    ctx: &JobCtx,
    mut response: Response,
    mut file: File,
    offset: u64,
    end: Option<u64>,
) -> Result<(), AttemptError> {
    ctx.started(end, offset, 1).await;
    let expected = ctx.job.get_expected_size();
    let mut position = offset;
    let outcome = loop {
        // Done at the announced end, whatever the server does next (it may hold the connection
        // open without ending the body): a segment stops there too.
        if end == Some(position) {
            break Ok(());
        }
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break Ok(()),
            Err(err) => break Err(ctx.fail_http(err)),
        };
        let _held = ctx.hold(chunk.len());
        // A body longer than its `Content-Range` (or `Content-Length`) announced: the bytes past the
        // announced end belong to no position of the file. They are dropped, as a segment drops
        // what lies past its range; the total, the size and the SHA-256 are checked as usual.
        let room = end.map_or(u64::MAX, |end| end.saturating_sub(position));
        let len = (chunk.len() as u64).min(room);
        if let Some(expected) = expected.filter(|&e| position + len > e) {
            let error = ctx.size_mismatch(expected, position + len);
            break Err(ctx.fail(error, Retry::Never));
        }
        if let Err(err) = write_chunk(&mut file, &chunk[..len as usize]).await {
            break Err(ctx.fail_io(err));
        }
        position += len;
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
    outcome.and(flushed)?;
    check_complete(ctx, position, end)
}

/// Fails on any status but 2xx (a 3xx here is a redirect the client did not follow), saying whether
/// a retry may help.
fn check_status(ctx: &JobCtx, response: &Response) -> Result<(), AttemptError> {
    match response.status() {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(()),
        // 202 "being generated", 204 "nothing here"...: not the file, whatever the body.
        status if status.is_success() => {
            let error = ctx.invalid_response(format!("{status} is not a file download"));
            Err(ctx.fail(error, Retry::Never))
        }
        _ => Err(ctx.status_error(response)),
    }
}

/// Fails at once when the announced size is not the expected one.
fn check_total(ctx: &JobCtx, total: Option<u64>) -> Result<(), AttemptError> {
    match (ctx.job.get_expected_size(), total) {
        (Some(expected), Some(total)) if expected != total => {
            Err(ctx.fail(ctx.size_mismatch(expected, total), Retry::Never))
        }
        _ => Ok(()),
    }
}

/// The `.part` must hold exactly the announced total. Less is a cut connection: retried, resuming.
/// More cannot come from [`write_stream`], which stops at the total; should it happen anyway, the
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
