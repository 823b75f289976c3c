//! Range requests, and the one check of their answers that a resumed stream and a segment share.
//!
//! A range request asks for [`ByteRange`] `bytes=first-last` (a segment) or `bytes=first-` (the rest
//! of a `.part`), with `If-Range` when the sidecar holds a validator, and with
//! `Accept-Encoding: identity`, since ranges count bytes of the identity representation. [`check`]
//! sorts its answer: a `206` whose `Content-Range` is exactly the bytes asked for, of the file the
//! sidecar describes, is written; a `206` for anything else is a [`Decision::Restart`]; any other
//! `2xx` is the whole, possibly new, file ([`Decision::WholeFile`]); an error status is a
//! [`Decision::Fail`], retried as the status allows.
//!
//! What it does not do: it writes nothing, and it leaves a `416` to its callers: only a resumed
//! stream can find its `.part` already complete, and [`fetch`](super::fetch) checks that itself.

use std::fmt;

use http::header::{CONTENT_RANGE, IF_RANGE, RANGE};
use http::{HeaderMap, StatusCode};

use super::downloader::JobCtx;
use super::fetch::Decision;
use crate::{RequestBuilder, Response};

/// The bytes a range request asks for: `[first, end)`, or from `first` to the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ByteRange {
    pub(super) first: u64,
    /// One past the last byte; `None` for the rest of the file, however long it is.
    pub(super) end: Option<u64>,
}

/// The `Range` header value: `bytes=first-last` or `bytes=first-`.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes={}-", self.first)?;
        match self.end {
            Some(end) => write!(f, "{}", end.saturating_sub(1)),
            None => Ok(()),
        }
    }
}

/// A `GET` of `range`, with `If-Range: validator` when there is one.
pub(super) fn request(ctx: &JobCtx, range: ByteRange, validator: Option<&str>) -> RequestBuilder {
    // `Accept-Encoding: identity` comes with every request of a job (`JobCtx::get`).
    let request = ctx.get().header(RANGE, range.to_string());
    match validator {
        Some(validator) => request.header(IF_RANGE, validator),
        None => request,
    }
}

/// The version a `206` says it is when that is not `validator` (an entity tag, or a date when the
/// server gave no tag): its `ETag`, or its `Last-Modified`. A `206` naming no version is taken at its
/// word.
pub(super) fn other_version<'a>(
    headers: &'a http::HeaderMap,
    validator: Option<&str>,
) -> Option<&'a str> {
    let validator = validator?;
    let name = if validator.starts_with('"') || validator.starts_with("W/") {
        http::header::ETAG
    } else {
        http::header::LAST_MODIFIED
    };
    let sent = headers.get(name)?.to_str().ok()?;
    (sent != validator).then_some(sent)
}

/// Sorts the answer to a request for `asked` of a file of `known` bytes (the sidecar's total, when it
/// has one), sent with `If-Range: validator`. A `206` goes on, with the file's total, only when its
/// `Content-Range` covers exactly `asked` (an open `asked` ends at the total), its total is `known` or
/// `*`, and it does not name another version than `validator` (a server or cache that ignores
/// `If-Range` would otherwise have the `.part` mix two files); else the `.part` restarts. So does a
/// `416`: the file no longer reaches that far.
pub(super) fn check(
    ctx: &JobCtx,
    response: Response,
    asked: ByteRange,
    known: Option<u64>,
    validator: Option<&str>,
) -> Result<(Response, u64), Decision> {
    match response.status() {
        StatusCode::PARTIAL_CONTENT => {}
        StatusCode::RANGE_NOT_SATISFIABLE => {
            return Err(Decision::Restart(format!(
                "asked for {asked}, got 416: the file is shorter now"
            )))
        }
        // The validator no longer matches, or the server ignores ranges: this is the whole file, sent
        // as identity since the request asked for it.
        StatusCode::OK => return Err(Decision::WholeFile(Box::new(response))),
        // Any other 2xx (a 202 "being generated", a 204) is not the file: failing keeps the `.part`.
        status if status.is_success() => {
            let error = ctx.invalid_response(format!(
                "asked for {asked}, got {status}: neither the range nor the file"
            ));
            return Err(Decision::Fail(ctx.fail(error, super::retry::Retry::Never)));
        }
        _ => return Err(Decision::Fail(ctx.status_error(&response))),
    }
    if let Some(other) = other_version(response.headers(), validator) {
        return Err(Decision::Restart(format!(
            "asked for {asked} of {}, got a 206 of {other}",
            validator.unwrap_or_default()
        )));
    }
    let total = ContentRange::from_headers(response.headers()).and_then(|announced| {
        let total = match (announced.total, known) {
            (Some(total), Some(known)) if total != known => return None,
            (total, known) => total.or(known)?,
        };
        let last = asked.end.unwrap_or(total).checked_sub(1)?;
        (announced.range? == (asked.first, last)).then_some(total)
    });
    match total {
        Some(total) => Ok((response, total)),
        None => {
            let got = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none");
            // An open range ends at the total: name it, since that is what the answer missed.
            let size = match (asked.end, known) {
                (None, Some(known)) => format!(" of a {known}-byte file"),
                _ => String::new(),
            };
            Err(Decision::Restart(format!(
                "asked for {asked}{size}, got Content-Range: {got}"
            )))
        }
    }
}

/// A `Content-Range` header: `bytes first-last/total` or `bytes */total` (`total` may be `*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ContentRange {
    /// `(first, last)`, inclusive; `None` for `bytes */total`.
    pub(super) range: Option<(u64, u64)>,
    pub(super) total: Option<u64>,
}

impl ContentRange {
    pub(super) fn from_headers(headers: &HeaderMap) -> Option<ContentRange> {
        ContentRange::parse(headers.get(CONTENT_RANGE)?.to_str().ok()?)
    }

    pub(super) fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes")?;
        let rest = rest.strip_prefix(' ')?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let total = match total.trim() {
            "*" => None,
            total => Some(parse_digits(total)?),
        };
        let range = match range.trim() {
            "*" => None,
            range => {
                let (first, last) = range.split_once('-')?;
                let (first, last) = (parse_digits(first)?, parse_digits(last)?);
                if last < first || total.is_some_and(|total| last >= total) {
                    return None;
                }
                Some((first, last))
            }
        };
        if range.is_none() && total.is_none() {
            return None;
        }
        Some(ContentRange { range, total })
    }
}

/// Only ASCII digits: `u64::from_str` would accept a `+`.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers() {
        let segment = ByteRange {
            first: 10,
            end: Some(20),
        };
        assert_eq!(segment.to_string(), "bytes=10-19");
        let rest = ByteRange {
            first: 40_000,
            end: None,
        };
        assert_eq!(rest.to_string(), "bytes=40000-");
    }

    #[test]
    fn content_range_parsing() {
        let parse = ContentRange::parse;
        assert_eq!(
            parse("bytes 10-19/100"),
            Some(ContentRange {
                range: Some((10, 19)),
                total: Some(100)
            })
        );
        assert_eq!(
            parse("bytes 0-0/*"),
            Some(ContentRange {
                range: Some((0, 0)),
                total: None
            })
        );
        assert_eq!(
            parse("bytes */42"),
            Some(ContentRange {
                range: None,
                total: Some(42)
            })
        );
        for bad in [
            "bytes */*",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "items 0-1/2",
            "bytes0-1/2",
            "bytes +1-2/3",
            "bytes 1-2",
            "bytes -1-2/3",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
