//! The causes a decoding failure carries inside a Courier [`Error`](crate::Error), and the plumbing that
//! keeps them apart from the inner body's own errors on their way through `std::io`.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::error::{BoxError, Error};

use super::coding::{Coding, Codings};

/// A compressed response body could not be decoded: the stream is corrupt, or ends before the coding
/// says it is complete.
///
/// It is the cause of an [`Error`] whose [`is_decode`](Error::is_decode) is true; find it with
/// [`std::error::Error::source`] and `downcast_ref`.
///
/// ```
/// use courier_core::decompression::DecodeError;
///
/// fn truncated_coding(err: &courier_core::Error) -> Option<&str> {
///     let cause = std::error::Error::source(err)?.downcast_ref::<DecodeError>()?;
///     cause.is_truncated().then(|| cause.coding())
/// }
/// # let _ = truncated_coding;
/// ```
#[derive(Debug)]
pub struct DecodeError {
    coding: &'static str,
    kind: DecodeErrorKind,
}

#[derive(Debug)]
enum DecodeErrorKind {
    Truncated,
    /// The body neither ended nor went on within the end grace of a complete gzip member or zstd
    /// frame: another may have been on its way.
    Stalled,
    Corrupt(io::Error),
}

/// Raised by the decoders (as an `io::Error`'s inner error) for [`DecodeErrorKind::Stalled`].
#[derive(Debug)]
pub(crate) struct StalledAfterStream;

impl fmt::Display for StalledAfterStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stalled after a complete compressed stream")
    }
}

impl StdError for StalledAfterStream {}

impl DecodeError {
    pub(crate) fn new(coding: Coding, err: io::Error) -> DecodeError {
        // async-compression reports a stream that ends early as a bare `UnexpectedEof`.
        let kind = if err.kind() == io::ErrorKind::UnexpectedEof {
            DecodeErrorKind::Truncated
        } else if err
            .get_ref()
            .is_some_and(|inner| inner.is::<StalledAfterStream>())
        {
            DecodeErrorKind::Stalled
        } else {
            DecodeErrorKind::Corrupt(err)
        };
        DecodeError {
            coding: coding.name(),
            kind,
        }
    }

    /// The content coding that failed, as named in `Content-Encoding`: `gzip`, `deflate`, `br` or `zstd`.
    pub fn coding(&self) -> &str {
        self.coding
    }

    /// True if the compressed stream ended before it was complete (a cut-off response); false if its
    /// bytes are invalid.
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::Truncated)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::Truncated => write!(f, "{} stream is truncated", self.coding),
            DecodeErrorKind::Stalled => write!(
                f,
                "the body neither ended nor went on within {} ms of a complete {} stream, so the \
                 next one may be missing",
                super::reader::END_GRACE.as_millis(),
                self.coding
            ),
            DecodeErrorKind::Corrupt(_) => write!(f, "{} stream is corrupt", self.coding),
        }
    }
}

impl StdError for DecodeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            DecodeErrorKind::Truncated | DecodeErrorKind::Stalled => None,
            DecodeErrorKind::Corrupt(err) => Some(err),
        }
    }
}

/// A decoded response body grew past the layer's
/// [`max_size`](super::DecompressionLayer::max_size): a decompression bomb, or a legitimately huge
/// body that needs a higher limit.
///
/// It is the cause of an [`Error`] whose [`is_decode`](Error::is_decode) is true.
#[derive(Debug)]
pub struct SizeLimitExceeded {
    limit: u64,
    codings: String,
}

impl SizeLimitExceeded {
    pub(crate) fn new(limit: u64, codings: &Codings) -> SizeLimitExceeded {
        SizeLimitExceeded {
            limit,
            codings: codings.label(),
        }
    }

    /// The limit, in decoded bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl fmt::Display for SizeLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decompressed body exceeds the limit of {} bytes ({})",
            self.limit, self.codings
        )
    }
}

impl StdError for SizeLimitExceeded {}

/// A decoded response body grew past the layer's
/// [`max_ratio`](super::DecompressionLayer::max_ratio) times the compressed bytes received: a
/// decompression bomb, stopped before it fills memory, or an unusually compressible body that needs a
/// higher ratio.
///
/// It is the cause of an [`Error`] whose [`is_decode`](Error::is_decode) is true.
#[derive(Debug)]
pub struct RatioLimitExceeded {
    ratio: u32,
    codings: String,
}

impl RatioLimitExceeded {
    pub(crate) fn new(ratio: u32, codings: &Codings) -> RatioLimitExceeded {
        RatioLimitExceeded {
            ratio,
            codings: codings.label(),
        }
    }

    /// The limit: decoded bytes per compressed byte.
    pub fn ratio(&self) -> u32 {
        self.ratio
    }
}

impl fmt::Display for RatioLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "decompressed body exceeds the limit of {} times its compressed size ({})",
            self.ratio, self.codings
        )
    }
}

impl StdError for RatioLimitExceeded {}

/// A response's `Transfer-Encoding` names a coding Courier cannot undo (or whose Cargo feature is
/// off). Handing over the still-encoded bytes as the content would be wrong, so the response fails.
///
/// It is the cause of an [`Error`] whose [`is_decode`](Error::is_decode) is true.
#[derive(Debug)]
pub struct UnsupportedTransferCoding {
    value: String,
}

impl UnsupportedTransferCoding {
    pub(crate) fn new(value: String) -> UnsupportedTransferCoding {
        UnsupportedTransferCoding { value }
    }
}

impl fmt::Display for UnsupportedTransferCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported transfer coding `{}`", self.value)
    }
}

impl StdError for UnsupportedTransferCoding {}

/// An error of the inner (compressed) body, carried through the `std::io` decoder stack so it comes out
/// as a body error, not as a decoding error.
#[derive(Debug)]
pub(crate) struct InnerBodyError(pub(crate) BoxError);

impl fmt::Display for InnerBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for InnerBodyError {}

/// True if `err` already carries its final meaning: an inner body error, a tagged decoding error, or a
/// limit an inner decoder's output broke.
pub(crate) fn is_classified(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| {
        e.is::<InnerBodyError>()
            || e.is::<DecodeError>()
            || e.is::<SizeLimitExceeded>()
            || e.is::<RatioLimitExceeded>()
    })
}

/// Names the coding of a decoder's error, unless it passed through from further down the stack.
pub(crate) fn tag(err: io::Error, coding: Coding) -> io::Error {
    if is_classified(&err) {
        err
    } else {
        io::Error::other(DecodeError::new(coding, err))
    }
}

/// Turns an error out of the decoder stack into a Courier error: inner body errors stay body errors
/// (or timeouts), decoder errors become decode errors.
pub(crate) fn into_error(err: io::Error, outermost: Coding) -> Error {
    if !is_classified(&err) {
        return Error::decode(DecodeError::new(outermost, err));
    }
    let Some(inner) = err.into_inner() else {
        // `is_classified` saw an inner error, so this is not reached; stay a decode error regardless.
        return Error::decode(DecodeError::new(
            outermost,
            io::Error::other("lost decoder error"),
        ));
    };
    match inner.downcast::<InnerBodyError>() {
        Ok(body) => Error::from_body(body.0),
        Err(other) => Error::decode(other),
    }
}
