//! [`Response`]: status, headers, final URL, and the body as bytes, text, JSON or a stream.

use std::fmt;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use courier_core::transport::ConnectionInfo;
use futures_core::Stream;
use http::{HeaderMap, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use url::Url;

use crate::target::Target;

use crate::{Body, Error};

/// A response to a sent request. The body has not been read yet: read it with [`bytes`](Response::bytes),
/// [`text`](Response::text), [`json`](Response::json), [`chunk`](Response::chunk) or
/// [`bytes_stream`](Response::bytes_stream).
///
/// ```no_run
/// # async fn run() -> Result<(), courier::Error> {
/// let response = courier::get("http://127.0.0.1:8080/").await?.error_for_status()?;
/// println!("{} from {}", response.status(), response.url());
/// let text = response.text().await?;
/// # drop(text);
/// # Ok(())
/// # }
/// ```
pub struct Response {
    head: http::response::Parts,
    body: Body,
    url: Target,
    /// The request's tracing span, to record the body size once it has been read.
    span: tracing::Span,
    received: u64,
}

impl Response {
    pub(crate) fn new(
        response: http::Response<Body>,
        url: Target,
        span: tracing::Span,
    ) -> Response {
        let (head, body) = response.into_parts();
        let url = match crate::client::final_url(&head.extensions) {
            // RFC 9110 §10.2.2: a redirect without a fragment keeps the original request's fragment.
            Some(final_url) if final_url.fragment().is_none() && url.url().fragment().is_some() => {
                let mut final_url = final_url.clone();
                final_url.set_fragment(url.url().fragment());
                Target::from_url(final_url)
            }
            Some(final_url) => Target::from_url(final_url.clone()),
            None => url,
        };
        Response {
            head,
            body,
            url,
            span,
            received: 0,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The reason phrase the server sent (HTTP/1.1), or the canonical one for the status.
    pub fn reason(&self) -> &str {
        match self.head.extensions.get::<hyper::ext::ReasonPhrase>() {
            Some(reason) => std::str::from_utf8(reason.as_bytes()).unwrap_or(""),
            None => self.head.status.canonical_reason().unwrap_or(""),
        }
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The final URL, after any redirects.
    pub fn url(&self) -> &Url {
        self.url.url()
    }

    /// The URLs redirected through before the final one, in order; empty when there was no redirect.
    pub fn redirects(&self) -> &[Url] {
        crate::client::redirect_hops(&self.head.extensions)
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The response headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// The response extensions (connection info, redirect history, ...).
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// The body length when it is known exactly: from `Content-Length`, or after decompression `None`.
    pub fn content_length(&self) -> Option<u64> {
        self.body.size_hint().exact()
    }

    /// The address of the server the response came from (`None` over a Unix socket).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.connection_info().and_then(ConnectionInfo::remote_addr)
    }

    /// How the connection was made and used: whether it was reused, its addresses, protocol, TLS
    /// version and cipher suite, and the request's [timings](courier_core::transport::Timings) (DNS,
    /// connect, TLS, first byte, and total once the body has been read), like curl's `-w` variables.
    /// `None` only for a response that did not come from Courier's transport.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let response = courier::get("https://127.0.0.1:8443/").await?;
    /// let info = response.connection_info().unwrap().clone();
    /// println!("{:?} {:?}", info.version(), info.tls_version());
    /// let body = response.bytes().await?;
    /// println!("{} bytes in {:?}", body.len(), info.timings().total());
    /// # Ok(())
    /// # }
    /// ```
    pub fn connection_info(&self) -> Option<&ConnectionInfo> {
        self.head.extensions.get::<ConnectionInfo>()
    }

    /// Returns an error if the status is 4xx or 5xx: the error carries the status and the URL.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// match courier::get("http://127.0.0.1:8080/missing").await?.error_for_status() {
    ///     Ok(response) => println!("{}", response.text().await?),
    ///     Err(err) if err.status() == Some(http::StatusCode::NOT_FOUND) => println!("not found: {err}"),
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn error_for_status(self) -> Result<Response, Error> {
        match self.status_error() {
            Some(err) => Err(err),
            None => Ok(self),
        }
    }

    /// Like [`error_for_status`](Response::error_for_status), without consuming the response.
    pub fn error_for_status_ref(&self) -> Result<&Response, Error> {
        match self.status_error() {
            Some(err) => Err(err),
            None => Ok(self),
        }
    }

    fn status_error(&self) -> Option<Error> {
        let status = self.head.status;
        (status.is_client_error() || status.is_server_error())
            .then(|| Error::from_status(status, Some(self.url().clone())))
    }

    fn body_error(&self, err: crate::error::BoxError) -> Error {
        Error::from_body(err).with_url(self.url().clone())
    }

    /// The next chunk of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            self.received += data.len() as u64;
                            return Ok(Some(data));
                        }
                    }
                }
                Some(Err(err)) => {
                    let err = self.body_error(err);
                    tracing::debug!(parent: &self.span, error = %err, bytes = self.received, "body failed");
                    return Err(err);
                }
                None => {
                    self.span.record("bytes", self.received);
                    tracing::debug!(parent: &self.span, bytes = self.received, "body complete");
                    return Ok(None);
                }
            }
        }
    }

    /// The whole body.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        // Most bodies are one chunk: return it without copying.
        let Some(first) = self.chunk().await? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await? else {
            return Ok(first);
        };
        // The size hint comes from the server's Content-Length: trust it only so far.
        const MAX_PREALLOCATION: u64 = 4 * 1024 * 1024;
        let hint = self.body.size_hint().lower().min(MAX_PREALLOCATION) as usize;
        let mut buf = BytesMut::with_capacity(first.len() + second.len() + hint);
        buf.extend_from_slice(&first);
        buf.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await? {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// The body as text, decoded with the charset of `Content-Type`.
    ///
    /// Without a declared charset the body must be UTF-8 (a byte-order mark is honoured) and invalid bytes
    /// are a decode error. With a declared charset, decoding follows that encoding's WHATWG rules, which
    /// replace malformed sequences with U+FFFD as browsers do. An unknown charset is a decode error.
    pub async fn text(self) -> Result<String, Error> {
        let charset = self.charset();
        let url = self.url().clone();
        let bytes = self.bytes().await?;
        decode_text(&bytes, charset.as_deref()).map_err(|e| e.with_url(url))
    }

    /// The body as text in `default_charset` when `Content-Type` names none.
    pub async fn text_with_charset(self, default_charset: &str) -> Result<String, Error> {
        let charset = self.charset().unwrap_or_else(|| default_charset.to_owned());
        let url = self.url().clone();
        let bytes = self.bytes().await?;
        decode_text(&bytes, Some(&charset)).map_err(|e| e.with_url(url))
    }

    fn charset(&self) -> Option<String> {
        let content_type = self
            .head
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        let mime: mime::Mime = content_type.parse().ok()?;
        mime.get_param(mime::CHARSET).map(|c| c.as_str().to_owned())
    }

    /// The body parsed as JSON.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.url().clone();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::decode(e).with_url(url))
    }

    /// The body as a stream of chunks, for reading large bodies without holding them in memory.
    pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Send {
        futures_util::stream::unfold(self, |mut response| async move {
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), response)),
                Ok(None) => None,
                Err(err) => Some((Err(err), response)),
            }
        })
    }

    /// Converts into an `http::Response` with a streaming [`Body`].
    pub fn into_http(self) -> http::Response<Body> {
        http::Response::from_parts(self.head, self.body)
    }
}

fn decode_text(bytes: &[u8], charset: Option<&str>) -> Result<String, Error> {
    let Some(label) = charset else {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        return String::from_utf8(bytes.to_vec()).map_err(Error::decode);
    };
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())
        .ok_or_else(|| Error::decode(format!("unknown charset {label:?} in Content-Type")))?;
    let (text, _, _) = encoding.decode(bytes);
    Ok(text.into_owned())
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.head.status)
            .field("headers", &self.head.headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::decode_text;

    #[test]
    fn text_defaults_to_strict_utf8() {
        assert_eq!(decode_text("héllo".as_bytes(), None).unwrap(), "héllo");
        assert_eq!(decode_text(b"\xEF\xBB\xBFbom", None).unwrap(), "bom");
        assert!(decode_text(b"\xff\xfe", None).unwrap_err().is_decode());
    }

    #[test]
    fn text_follows_declared_charset() {
        assert_eq!(decode_text(b"caf\xe9", Some("iso-8859-1")).unwrap(), "café");
        assert_eq!(decode_text(b"\x82\xa0", Some("shift_jis")).unwrap(), "あ");
        assert_eq!(decode_text(b"a\xffb", Some("utf-8")).unwrap(), "a\u{fffd}b");
        assert!(decode_text(b"x", Some("klingon")).unwrap_err().is_decode());
    }
}
