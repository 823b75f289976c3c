//! [`Response`] of the blocking API, readable as a `std::io::Read`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{HeaderMap, StatusCode, Version};
use serde::de::DeserializeOwned;
use url::Url;

use super::client::Driver;
use crate::Error;

/// A response from a blocking [`Client`](super::Client): the async [`crate::Response`], read by
/// waiting. Implements [`Read`] over the (decoded) body.
///
/// ```no_run
/// use std::io::Read;
///
/// let mut response = courier::blocking::get("http://127.0.0.1:8080/")?;
/// let mut first = [0; 16];
/// response.read_exact(&mut first).map_err(courier::Error::builder)?;
/// # Ok::<(), courier::Error>(())
/// ```
pub struct Response {
    inner: crate::Response,
    driver: Arc<Driver>,
    /// How long each wait for the body may take (the client's or the request's timeout).
    timeout: Option<Duration>,
    /// What a `read` took from the body and did not hand out yet.
    pending: Bytes,
}

impl Response {
    pub(super) fn new(
        inner: crate::Response,
        driver: Arc<Driver>,
        timeout: Option<Duration>,
    ) -> Response {
        Response {
            inner,
            driver,
            timeout,
            pending: Bytes::new(),
        }
    }

    /// The next chunk of the body, waiting at most the timeout.
    fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let url = self.inner.url().clone();
        self.driver
            .wait_at_most(self.inner.chunk(), self.timeout, &url)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The final URL, after redirects.
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.inner.headers_mut()
    }

    /// The body length when it is known exactly.
    pub fn content_length(&self) -> Option<u64> {
        self.inner.content_length()
    }

    /// The server's address.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr()
    }

    /// The cookies the response sets.
    pub fn cookies(&self) -> impl Iterator<Item = crate::cookie::Cookie<'_>> {
        self.inner.cookies()
    }

    /// The response's extensions.
    pub fn extensions(&self) -> &http::Extensions {
        self.inner.extensions()
    }

    /// The response's extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        self.inner.extensions_mut()
    }

    /// A 4xx or 5xx status as an error (carrying the status and URL); the response otherwise.
    pub fn error_for_status(self) -> Result<Response, Error> {
        Ok(Response {
            inner: self.inner.error_for_status()?,
            ..self
        })
    }

    /// Like [`error_for_status`](Response::error_for_status), by reference.
    pub fn error_for_status_ref(&self) -> Result<&Response, Error> {
        self.inner.error_for_status_ref().map(|_| self)
    }

    /// The whole body.
    pub fn bytes(self) -> Result<Bytes, Error> {
        let Response {
            inner,
            driver,
            timeout,
            pending,
        } = self;
        let url = inner.url().clone();
        let rest = driver.wait_at_most(inner.bytes(), timeout, &url)?;
        if pending.is_empty() {
            return Ok(rest);
        }
        Ok([pending, rest].concat().into())
    }

    /// The rest of the body as text, decoded as [`crate::Response::text`] does (bytes already taken
    /// by `read` are not part of it).
    pub fn text(self) -> Result<String, Error> {
        let charset = self.inner.charset();
        let bytes = self.bytes()?;
        Ok(crate::text::decode_text(&bytes, charset.as_deref()))
    }

    /// The rest of the body as text in `default_charset` when `Content-Type` names none.
    pub fn text_with_charset(self, default_charset: &str) -> Result<String, Error> {
        let charset = self
            .inner
            .charset()
            .unwrap_or_else(|| default_charset.to_owned());
        let bytes = self.bytes()?;
        Ok(crate::text::decode_text(&bytes, Some(&charset)))
    }

    /// The rest of the body parsed as JSON.
    pub fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.url().clone();
        let bytes = self.bytes()?;
        serde_json::from_slice(&bytes).map_err(|e| Error::decode(e).with_url(url))
    }

    /// Copies the rest of the body into `writer`, chunk by chunk; returns the bytes copied.
    pub fn copy_to<W: Write + ?Sized>(&mut self, writer: &mut W) -> Result<u64, Error> {
        let mut copied = 0;
        loop {
            if self.pending.is_empty() {
                match self.next_chunk()? {
                    Some(chunk) => self.pending = chunk,
                    None => return Ok(copied),
                }
            }
            writer
                .write_all(&self.pending)
                .map_err(|err| Error::from_body(err).with_url(self.inner.url().clone()))?;
            copied += self.pending.len() as u64;
            self.pending.clear();
        }
    }
}

/// Reads the body; an error is an `io::Error` whose inner error is Courier's [`Error`]
/// (`err.into_inner()` and `downcast::<courier::Error>()` give it back).
impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            let chunk = self.next_chunk().map_err(io::Error::other)?;
            match chunk {
                Some(chunk) => self.pending = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

/// An `http::Response` as a blocking response, e.g. a canned answer in a test: its URL as
/// [`crate::Response`]'s `From` gives it (see [`ResponseBuilderExt`](crate::ResponseBuilderExt)). The
/// body is read on the calling thread, as reqwest's is: it must not need a tokio runtime (bytes in
/// memory, or a stream fed by another thread).
///
/// ```
/// use std::io::Read;
///
/// let mut response = courier::blocking::Response::from(http::Response::new("canned"));
/// let mut body = String::new();
/// response.read_to_string(&mut body).unwrap();
/// assert_eq!(body, "canned");
/// ```
impl<T: Into<crate::Body>> From<http::Response<T>> for Response {
    fn from(response: http::Response<T>) -> Response {
        Response::new(crate::Response::from(response), Driver::none(), None)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Response")
            .field("url", &self.url().as_str())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}
