//! What a failed request's fate was: the one place that decides whether it may be sent again.
//!
//! Every error the transport returns before a response head carries a [`Fate`] as data
//! ([`Error::fate`](crate::Error::fate)). The transport's own single replay, the `RetryLayer` and the
//! downloader all read it, so they agree on what counts as safe to resend:
//!
//! | fate | when | send again |
//! | --- | --- | --- |
//! | [`Fate::NotSent`] | no connection could be made, or the connection closed before the request was written | any method |
//! | [`Fate::NotProcessed`] | HTTP/2 `REFUSED_STREAM` (RFC 9113 §8.7) | any method |
//! | [`Fate::Lost`] | the connection closed, reset or went away (`GOAWAY`, any code) before a whole response head | idempotent methods only |
//! | [`Fate::MaybeProcessed`] | anything else (a malformed response, a protocol error) | no |
//!
//! `Lost` does not say the server did nothing: part of an answer (a `100 Continue`, half a head) may
//! have come first. It allows only what may go again whether processed or not, an idempotent request
//! (RFC 9110 §9.2.2); a `POST` lost that way is never resent.
//!
//! A `Lost` request on a reused connection is the usual race with a server closing an idle
//! connection; on a fresh connection it is the server's answer, so the transport does not replay it
//! itself (a `RetryLayer` may, with backoff). A `GOAWAY` is never the server's answer to one request:
//! a request lost to it counts as on a reused connection. It is not `NotProcessed`, although a stream
//! past the `GOAWAY`'s last one was not processed: hyper reports a request it gave h2 and then
//! dropped, because the connection went away, with the same error (or as canceled, or as its
//! "dispatch task is gone" with no h2 error at all), and that one may have been written (h2 opens a
//! waiting stream on a slot freed in the same read as the `GOAWAY`).

use http::Method;

/// What is known about whether the server acted on a request that failed before its response head.
///
/// ```
/// use courier_core::transport::Fate;
/// use http::Method;
///
/// assert!(Fate::NotSent.allows_resend(&Method::POST));
/// assert!(Fate::Lost { reused: true }.allows_resend(&Method::GET));
/// assert!(!Fate::Lost { reused: true }.allows_resend(&Method::POST));
/// assert!(!Fate::MaybeProcessed.allows_resend(&Method::GET));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fate {
    /// The request never left: no connection, or the connection closed before it was written.
    NotSent,
    /// The server said it did not process it (HTTP/2 `REFUSED_STREAM`).
    NotProcessed,
    /// The connection closed or reset after the request was (perhaps partly) written and before a
    /// whole response head arrived (part of one may have). `reused` says whether the connection had
    /// carried a request before.
    Lost {
        /// The connection had been used before (so this is likely the idle-close race).
        reused: bool,
    },
    /// The server may have processed it.
    MaybeProcessed,
}

impl Fate {
    /// True when sending the request again cannot make the server act on it twice, for `method`.
    /// The body must be replayable too; that is the caller's to check.
    pub fn allows_resend(self, method: &Method) -> bool {
        match self {
            Fate::NotSent | Fate::NotProcessed => true,
            Fate::Lost { .. } => method.is_idempotent(),
            Fate::MaybeProcessed => false,
        }
    }
}

/// True when `err` comes from the server's `GOAWAY`: the connection takes no new streams. (A refused
/// stream says nothing about the connection: the next stream may go on it.)
pub(crate) fn is_go_away(err: &hyper::Error) -> bool {
    causes(err)
        .find_map(|cause| cause.downcast_ref::<h2::Error>())
        .is_some_and(h2::Error::is_go_away)
}

/// `err` and its causes, outermost first.
fn causes(err: &hyper::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
}

/// Classifies an error hyper returned while a request was sent or its response head awaited, for a
/// request hyper did not hand back (one it hands back was never written: `NotSent`, the caller's).
///
/// Not handed back means it may have been written, whatever the error says: hyper drops a request
/// it already gave h2 when it then finds the connection going away (as "canceled", with the
/// GOAWAY's error, or, when the connection's task ended first, as its "dispatch task is gone" with
/// no h2 error: `h2_connection_gone`), and h2 may have opened its stream on a slot freed in the same
/// read as the GOAWAY. So neither is "not sent" nor "not processed": only a request that went out on
/// no response byte, which an idempotent request may survive by going again, on any connection (the
/// connection's going away is not the server's answer to it). A `REFUSED_STREAM` is the server's
/// word about that very stream, and is `NotProcessed`.
pub(crate) fn classify(err: &hyper::Error, reused: bool, h2_connection_gone: bool) -> Fate {
    if err.is_canceled() {
        return Fate::Lost { reused: true };
    }
    for cause in causes(err) {
        if let Some(h2_err) = cause.downcast_ref::<h2::Error>() {
            // The server's RST_STREAM to this stream; a GOAWAY carrying the same code is about the
            // connection, and is the next case.
            if h2_err.reason() == Some(h2::Reason::REFUSED_STREAM) && h2_err.is_reset() {
                return Fate::NotProcessed;
            }
            if h2_err.is_go_away() && h2_err.is_remote() {
                return Fate::Lost { reused: true };
            }
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return Fate::Lost { reused };
            }
        }
    }
    if err.is_incomplete_message() {
        return Fate::Lost { reused };
    }
    // No h2 error, no I/O error: the stream was not the one that failed; the connection it was on
    // went away under it.
    if dropped_with_connection(err, h2_connection_gone) {
        return Fate::Lost { reused: true };
    }
    Fate::MaybeProcessed
}

/// True for hyper's own word ("dispatch task is gone", a user error that is not the body's) about a
/// request on an HTTP/2 connection whose task has ended.
fn dropped_with_connection(err: &hyper::Error, h2_connection_gone: bool) -> bool {
    h2_connection_gone && err.is_user() && !err.is_body_write_aborted()
}

/// A request hyper dropped with its HTTP/2 connection, with no word of why from h2 (hyper says its
/// "dispatch task is gone", which points at the runtime rather than the server): says what
/// happened, with hyper's error as the cause.
#[derive(Debug)]
pub(crate) struct LostWithConnection(pub(crate) hyper::Error);

impl LostWithConnection {
    /// `err` as what the caller should read: the connection's going away when that is what
    /// [`classify`] saw, else `err` itself.
    pub(crate) fn explain(err: hyper::Error, h2_connection_gone: bool) -> crate::error::BoxError {
        if dropped_with_connection(&err, h2_connection_gone) {
            Box::new(LostWithConnection(err))
        } else {
            Box::new(err)
        }
    }
}

impl std::fmt::Display for LostWithConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the HTTP/2 connection went away (GOAWAY or closed) after the request was handed to it",
        )
    }
}

impl std::error::Error for LostWithConnection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
