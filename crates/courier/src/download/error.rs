//! [`DownloadError`]: why one download failed, naming the URL and the destination.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::StatusCode;
use url::Url;

use crate::Error;

/// Why a download failed.
///
/// Cheap to clone (it is shared between the [`Event`](super::Event)s and the [`Summary`](super::Summary)).
/// `Display` names the URL and the destination, then the cause:
///
/// ```
/// use courier::download::DownloadError;
///
/// let err = DownloadError::size_mismatch(
///     "http://127.0.0.1/a.bin".parse().unwrap(),
///     "out/a.bin".into(),
///     10,
///     7,
/// );
/// assert!(err.is_size_mismatch());
/// assert_eq!(
///     err.to_string(),
///     "download of http://127.0.0.1/a.bin to out/a.bin failed: size mismatch: expected 10 bytes, got 7"
/// );
/// ```
#[derive(Clone)]
pub struct DownloadError {
    inner: Arc<Inner>,
}

struct Inner {
    kind: DownloadErrorKind,
    url: Url,
    path: PathBuf,
    source: Option<Source>,
}

enum Source {
    Http(Error),
    Io(std::io::Error),
}

/// What kind of failure a [`DownloadError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadErrorKind {
    /// The request failed or the server answered with an error status; see
    /// [`DownloadError::http_error`].
    Http,
    /// Reading or writing the file on disk failed.
    Io,
    /// The file's size differs from the expected one (given in the job, or announced by the server).
    SizeMismatch {
        /// The size expected.
        expected: u64,
        /// The size received (or announced, when that alone already differs).
        actual: u64,
    },
    /// The file's SHA-256 differs from the one given in the job.
    ChecksumMismatch {
        /// The expected digest, lowercase hex.
        expected: String,
        /// The digest of the bytes received, lowercase hex.
        actual: String,
    },
    /// The server answered a range request inconsistently (a `206` for another range or another total,
    /// a `206` to a request without `Range`).
    InvalidResponse(String),
    /// The download was cancelled before it finished; its `.part` file is kept for resuming.
    Cancelled,
}

impl DownloadError {
    fn new(kind: DownloadErrorKind, url: Url, path: PathBuf, source: Option<Source>) -> Self {
        DownloadError {
            inner: Arc::new(Inner {
                kind,
                url,
                path,
                source,
            }),
        }
    }

    /// A request or status error.
    pub fn http(url: Url, path: PathBuf, err: Error) -> Self {
        Self::new(DownloadErrorKind::Http, url, path, Some(Source::Http(err)))
    }

    /// A file-system error.
    pub fn io(url: Url, path: PathBuf, err: std::io::Error) -> Self {
        Self::new(DownloadErrorKind::Io, url, path, Some(Source::Io(err)))
    }

    /// The size differs from the expected one.
    pub fn size_mismatch(url: Url, path: PathBuf, expected: u64, actual: u64) -> Self {
        let kind = DownloadErrorKind::SizeMismatch { expected, actual };
        Self::new(kind, url, path, None)
    }

    /// The SHA-256 differs from the expected one (both lowercase hex).
    pub fn checksum_mismatch(url: Url, path: PathBuf, expected: String, actual: String) -> Self {
        let kind = DownloadErrorKind::ChecksumMismatch { expected, actual };
        Self::new(kind, url, path, None)
    }

    /// The server answered a range request inconsistently.
    pub fn invalid_response(url: Url, path: PathBuf, reason: impl Into<String>) -> Self {
        let kind = DownloadErrorKind::InvalidResponse(reason.into());
        Self::new(kind, url, path, None)
    }

    /// The download was cancelled.
    pub fn cancelled(url: Url, path: PathBuf) -> Self {
        Self::new(DownloadErrorKind::Cancelled, url, path, None)
    }

    /// What went wrong.
    pub fn kind(&self) -> &DownloadErrorKind {
        &self.inner.kind
    }

    /// The URL being downloaded.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The destination path (the final name; the bytes so far are in `<path>.part`).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The request error, for [`DownloadErrorKind::Http`]: ask it `is_connect()`, `status()`, ...
    pub fn http_error(&self) -> Option<&Error> {
        match &self.inner.source {
            Some(Source::Http(err)) => Some(err),
            _ => None,
        }
    }

    /// The file-system error, for [`DownloadErrorKind::Io`].
    pub fn io_error(&self) -> Option<&std::io::Error> {
        match &self.inner.source {
            Some(Source::Io(err)) => Some(err),
            _ => None,
        }
    }

    /// The error status the server answered with, if that is why the download failed.
    pub fn status(&self) -> Option<StatusCode> {
        self.http_error().and_then(Error::status)
    }

    /// True for request and status errors.
    pub fn is_http(&self) -> bool {
        self.inner.kind == DownloadErrorKind::Http
    }

    /// True for file-system errors.
    pub fn is_io(&self) -> bool {
        self.inner.kind == DownloadErrorKind::Io
    }

    /// True when the size differs from the expected one.
    pub fn is_size_mismatch(&self) -> bool {
        matches!(self.inner.kind, DownloadErrorKind::SizeMismatch { .. })
    }

    /// True when the SHA-256 differs from the expected one.
    pub fn is_checksum_mismatch(&self) -> bool {
        matches!(self.inner.kind, DownloadErrorKind::ChecksumMismatch { .. })
    }

    /// True when the server answered a range request inconsistently.
    pub fn is_invalid_response(&self) -> bool {
        matches!(self.inner.kind, DownloadErrorKind::InvalidResponse(_))
    }

    /// True when the download was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == DownloadErrorKind::Cancelled
    }
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(
            f,
            "download of {} to {} failed: ",
            inner.url,
            inner.path.display()
        )?;
        match &inner.kind {
            DownloadErrorKind::Http => match &inner.source {
                // The request error names the URL again; say only what happened.
                Some(Source::Http(err)) => fmt::Display::fmt(&HttpCause(err), f),
                _ => f.write_str("request failed"),
            },
            DownloadErrorKind::Io => match &inner.source {
                Some(Source::Io(err)) => write!(f, "file error: {err}"),
                _ => f.write_str("file error"),
            },
            DownloadErrorKind::SizeMismatch { expected, actual } => {
                write!(f, "size mismatch: expected {expected} bytes, got {actual}")
            }
            DownloadErrorKind::ChecksumMismatch { expected, actual } => {
                write!(f, "SHA-256 mismatch: expected {expected}, got {actual}")
            }
            DownloadErrorKind::InvalidResponse(reason) => {
                write!(f, "invalid response to a range request: {reason}")
            }
            DownloadErrorKind::Cancelled => f.write_str("cancelled (partial file kept)"),
        }
    }
}

/// A request error displayed without its `for url (...)`, which the download error already names;
/// with `{:#}`, followed by its causes, as [`Error`]'s own `{:#}` gives them.
struct HttpCause<'a>(&'a Error);

impl fmt::Display for HttpCause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if f.alternate() {
            format!("{:#}", self.0)
        } else {
            self.0.to_string()
        };
        match self.0.url() {
            Some(url) => f.write_str(&full.replacen(&format!(" for url ({url})"), "", 1)),
            None => f.write_str(&full),
        }
    }
}

impl fmt::Debug for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DownloadError");
        d.field("kind", &self.inner.kind)
            .field("url", &self.inner.url.as_str())
            .field("path", &self.inner.path);
        match &self.inner.source {
            Some(Source::Http(err)) => d.field("source", err),
            Some(Source::Io(err)) => d.field("source", err),
            None => &mut d,
        };
        d.finish()
    }
}

impl StdError for DownloadError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.source {
            Some(Source::Http(err)) => Some(err),
            Some(Source::Io(err)) => Some(err),
            None => None,
        }
    }
}
