//! [`Response`]: status, headers, final URL, and the body as bytes, text, JSON or a stream.

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use courier_core::redirect::RedirectHistory;
use courier_core::transport::ConnectionInfo;
use futures_core::Stream;
use http::{HeaderMap, StatusCode, Version};
use http_body::Body as _;
use serde::de::DeserializeOwned;
use url::Url;

use crate::lazy_url::LazyUrl;

use crate::lines::Lines;
use crate::link::Links;
use crate::reader::BodyReader;
use crate::text::decode_text;
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
    url: LazyUrl,
    /// The request's tracing span, to record the body size once it has been read.
    span: tracing::Span,
    received: u64,
}

impl Response {
    pub(crate) fn new(
        response: http::Response<Body>,
        url: LazyUrl,
        span: tracing::Span,
    ) -> Response {
        let (head, body) = response.into_parts();
        let url = match head.extensions.get::<RedirectHistory>() {
            Some(history) => {
                let mut final_url = history.final_url().clone();
                courier_core::urls::inherit_fragment(&mut final_url, url.url());
                LazyUrl::from_url(final_url)
            }
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
        self.redirect_history()
            .map_or(&[][..], RedirectHistory::previous)
    }

    /// The links of the `Link` headers (RFC 8288), targets resolved against [`url`](Response::url), to
    /// look up by relation type, like requests' `response.links`: the way to walk a paginated API.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let client = courier::Client::new();
    /// let mut next = Some(courier::Url::parse("http://127.0.0.1:8080/items?page=1").unwrap());
    /// while let Some(url) = next {
    ///     let response = client.get(url).send().await?.error_for_status()?;
    ///     next = response.links().get("next").map(|link| link.url().clone());
    ///     println!("{}", response.text().await?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn links(&self) -> Links {
        Links::parse(&self.head.headers, self.url())
    }

    /// The redirect responses followed to get this one, in order, like requests' `Response.history`:
    /// each [`Hop`](crate::redirect::Hop)'s status, reason, headers and the URL that answered (bodies
    /// were not read). Empty when there was no redirect.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let response = courier::get("http://127.0.0.1:8080/old").await?;
    /// for hop in response.history() {
    ///     println!("{} {} {}", hop.status(), hop.url(), hop.headers()["location"].to_str().unwrap());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn history(&self) -> &[crate::redirect::Hop] {
        self.redirect_history()
            .map_or(&[][..], RedirectHistory::hops)
    }

    /// What the redirect layer recorded, if it followed any redirect.
    fn redirect_history(&self) -> Option<&RedirectHistory> {
        self.head.extensions.get::<RedirectHistory>()
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The response headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// What the client's [cache](crate::ClientBuilder::cache) did for this response (also in its RFC 9211
    /// `Cache-Status` header); [`CacheStatus::Bypass`](crate::cache::CacheStatus::Bypass) when the client
    /// has no cache.
    ///
    /// ```no_run
    /// # async fn run(client: courier::Client) -> Result<(), courier::Error> {
    /// let response = client.get("http://127.0.0.1:8080/").send().await?;
    /// if response.cache_status().is_hit() {
    ///     println!("no request was needed");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn cache_status(&self) -> crate::cache::CacheStatus {
        self.head
            .extensions
            .get::<crate::cache::CacheStatus>()
            .copied()
            .unwrap_or(crate::cache::CacheStatus::Bypass)
    }

    /// The response extensions (connection info, redirect history, ...).
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// The cookies the response sets (its `Set-Cookie` headers, parsed; ones that do not parse are
    /// skipped), as reqwest's `Response::cookies`. Reading them stores nothing: a client with a cookie
    /// store has already stored the ones its rules accept.
    pub fn cookies(&self) -> impl Iterator<Item = crate::cookie::Cookie<'_>> {
        self.head
            .headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(crate::cookie::Cookie::parse)
    }

    /// The response's extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.head.extensions
    }

    /// The body length when it is known exactly: from `Content-Length`, or after decompression `None`.
    /// A response that has no body by its nature (to a `HEAD`, a `304`) gives its `Content-Length`,
    /// the length a `GET` would have had (RFC 9110 §8.6, as curl reports it; reqwest says 0).
    pub fn content_length(&self) -> Option<u64> {
        let exact = self.body.size_hint().exact();
        // A 1xx or 204 has no content at all, and a `Content-Length` on it is the server's error
        // (RFC 9110 §8.6): not a length any request would have had.
        let no_content =
            self.head.status == http::StatusCode::NO_CONTENT || self.head.status.is_informational();
        if exact == Some(0) && !no_content {
            // hyper gives such responses an empty body whatever the header says; a body that is
            // really empty has `Content-Length: 0` or none.
            let announced = self
                .head
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(announced) = announced {
                return Some(announced);
            }
        }
        exact
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
        (status.is_client_error() || status.is_server_error()).then(|| {
            Error::from_status_with_reason(status, self.reason(), Some(self.url().clone()))
        })
    }

    fn body_error(&self, err: crate::error::BoxError) -> Error {
        Error::from_body(err).with_url(self.url().clone())
    }

    /// The next chunk of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// [`chunk`](Response::chunk) as a poll function, for the readers and streams built on the body.
    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, Error>> {
        loop {
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            self.received += data.len() as u64;
                            return Poll::Ready(Ok(Some(data)));
                        }
                    }
                }
                Some(Err(err)) => {
                    let err = self.body_error(err);
                    tracing::debug!(parent: &self.span, error = %err, bytes = self.received, "body failed");
                    return Poll::Ready(Err(err));
                }
                None => {
                    self.span.record("bytes", self.received);
                    tracing::debug!(parent: &self.span, bytes = self.received, "body complete");
                    return Poll::Ready(Ok(None));
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

    /// The body as text, decoded with the charset of `Content-Type` (UTF-8 when it names none, or one
    /// no encoding answers to), as reqwest does: malformed sequences become U+FFFD, as in browsers,
    /// and a byte-order mark is honoured. Only reading the body can fail.
    pub async fn text(self) -> Result<String, Error> {
        let charset = self.charset();
        let bytes = self.bytes().await?;
        Ok(decode_text(&bytes, charset.as_deref()))
    }

    /// The body as text in `default_charset` when `Content-Type` names none.
    pub async fn text_with_charset(self, default_charset: &str) -> Result<String, Error> {
        let charset = self.charset().unwrap_or_else(|| default_charset.to_owned());
        let bytes = self.bytes().await?;
        Ok(decode_text(&bytes, Some(&charset)))
    }

    pub(crate) fn charset(&self) -> Option<String> {
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

    /// The body as a stream of chunks, for reading large bodies without holding them in memory. The
    /// [`BytesStream`] is `Unpin`, so `next()` needs no pinning:
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run() -> Result<(), courier::Error> {
    /// let mut stream = courier::get("http://127.0.0.1:8080/large").await?.bytes_stream();
    /// while let Some(chunk) = stream.next().await {
    ///     println!("{} bytes", chunk?.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn bytes_stream(self) -> BytesStream {
        BytesStream { response: self }
    }

    /// The body as a file-like reader (`tokio::io::AsyncRead + AsyncBufRead`): `read`, `read_exact`,
    /// `read_line`, `read_until`, `tokio::io::copy` into a file. See [`BodyReader`] for how errors
    /// surface.
    ///
    /// ```no_run
    /// use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut reader = courier::get("http://127.0.0.1:8080/").await?.reader();
    /// let mut first_line = String::new();
    /// reader.read_line(&mut first_line).await?;
    /// let mut next_50 = [0; 50];
    /// reader.read_exact(&mut next_50).await?;
    /// let mut rest = Vec::new();
    /// reader.read_to_end(&mut rest).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reader(self) -> BodyReader {
        BodyReader::new(self)
    }

    /// The body as a stream of text lines, decoded with the response's charset as
    /// [`text`](Response::text) decodes it, without their `\n` or `\r\n` endings; a line longer than
    /// [`Lines::max_line_length`] (default 1 MiB) ends the stream with an error. Like requests'
    /// `iter_lines()`.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    ///
    /// # async fn run() -> Result<(), courier::Error> {
    /// let lines: Vec<String> = courier::get("http://127.0.0.1:8080/").await?.lines().try_collect().await?;
    /// # drop(lines);
    /// # Ok(())
    /// # }
    /// ```
    pub fn lines(self) -> Lines {
        let charset = self.charset();
        Lines::new(self, charset.as_deref())
    }

    /// The connection after a `101 Switching Protocols` (a WebSocket handshake, say), or the tunnel a
    /// `2xx` to a `CONNECT` opened (over HTTP/2 too), as a duplex byte stream; the connection (or
    /// HTTP/2 stream) is the caller's from then on and never goes back to the pool. Any other response
    /// is an error for which [`Error::is_upgrade`] is true (it consumes the response: check
    /// [`status`](Response::status) first to read the body of a refusal).
    ///
    /// A request with an `Upgrade` header is sent over HTTP/1.1 even where the server offers HTTP/2
    /// (which has no upgrades): over TLS it gets a connection of its own that offers only
    /// `http/1.1`. With [`http2_prior_knowledge`](crate::ClientBuilder::http2_prior_knowledge) it
    /// fails unsent. The handshake's checks (`Sec-WebSocket-Accept`, the protocol tokens) are the
    /// caller's, as a WebSocket library's client handshake does them.
    pub async fn upgrade(mut self) -> Result<Upgraded, Error> {
        let url = self.url().clone();
        let status = self.status();
        // hyper offers the upgrade exactly for those responses.
        let on_upgrade = self
            .head
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or_else(|| {
                Error::upgrade(format!(
                    "the server answered {status}: not 101 Switching Protocols, nor a 2xx to \
                     CONNECT (or the response did not come from Courier's transport)"
                ))
                .with_url(url.clone())
            })?;
        let upgraded = on_upgrade
            .await
            .map_err(|err| Error::upgrade(err).with_url(url))?;
        Ok(Upgraded {
            io: hyper_util::rt::TokioIo::new(upgraded),
            // What the transport keeps for the connection's sake (an HTTP/2 tunnel's stream, still
            // counted against the server's limit) lives as long as the tunnel.
            _kept: std::mem::take(&mut self.head.extensions),
        })
    }

    /// Converts into an `http::Response` with a streaming [`Body`]. The final URL goes along in the
    /// extensions, so converting back with `From` gives the same [`url`](Response::url).
    pub fn into_http(self) -> http::Response<Body> {
        let mut head = self.head;
        head.extensions.insert(ResponseUrl(self.url.url().clone()));
        http::Response::from_parts(head, self.body)
    }
}

/// The body of a [`Response`] as a stream of chunks: what [`Response::bytes_stream`] returns. Each
/// item is a chunk as it arrived (never empty), or the error that ended the body (naming the URL).
pub struct BytesStream {
    response: Response,
}

impl Stream for BytesStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.response.poll_chunk(cx).map(Result::transpose)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.response.body.is_end_stream() {
            true => (0, Some(0)),
            false => (0, None),
        }
    }
}

impl fmt::Debug for BytesStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BytesStream").field(&self.response).finish()
    }
}

/// The URL of a response turned into an `http::Response` by [`Response::into_http`], or given to
/// [`ResponseBuilderExt::url`].
#[derive(Clone, Debug)]
struct ResponseUrl(Url);

/// Sets the URL of an `http::Response` made with `http::response::Builder`, as reqwest's trait of the
/// same name: converted into a [`Response`] with `From`, it is what [`Response::url`] returns (say, for
/// a canned answer in a test).
///
/// ```
/// use courier::ResponseBuilderExt;
///
/// let url = courier::Url::parse("http://127.0.0.1:8080/canned").unwrap();
/// let response = http::Response::builder().status(200).url(url.clone()).body("hi").unwrap();
/// assert_eq!(courier::Response::from(response).url(), &url);
/// ```
pub trait ResponseBuilderExt {
    /// Sets the response's URL.
    fn url(self, url: Url) -> Self;
}

impl ResponseBuilderExt for http::response::Builder {
    fn url(self, url: Url) -> Self {
        self.extension(ResponseUrl(url))
    }
}

/// The body, not yet read (decompressed if the client decompresses), with its exact size when the
/// response has one: to send a response on as a request body, as with reqwest.
impl From<Response> for Body {
    fn from(response: Response) -> Body {
        response.body
    }
}

/// [`Response::into_http`].
impl From<Response> for http::Response<Body> {
    fn from(response: Response) -> http::Response<Body> {
        response.into_http()
    }
}

/// An `http::Response` as a Courier response, e.g. a canned answer in a test. Its URL is the one
/// [`Response::into_http`] or [`ResponseBuilderExt::url`](crate::ResponseBuilderExt::url) left in
/// its extensions, else the final URL recorded by Courier's redirect layer, else
/// `http://no.url.provided.local/` (as reqwest's).
impl<T: Into<Body>> From<http::Response<T>> for Response {
    fn from(mut response: http::Response<T>) -> Response {
        if let Some(ResponseUrl(url)) = response.extensions_mut().remove::<ResponseUrl>() {
            // Said outright: it wins over a redirect history the extensions also carry.
            let (head, body) = response.into_parts();
            return Response {
                head,
                body: body.into(),
                url: LazyUrl::from_url(url),
                span: tracing::Span::none(),
                received: 0,
            };
        }
        let placeholder = Url::parse("http://no.url.provided.local/").expect("a valid URL");
        Response::new(
            response.map(Into::into),
            LazyUrl::from_url(placeholder),
            tracing::Span::none(),
        )
    }
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

/// An upgraded connection (after `101 Switching Protocols`, or a `CONNECT` tunnel): read and write the bytes
/// with tokio's `AsyncRead` / `AsyncWrite`, e.g. hand it to a WebSocket library.
pub struct Upgraded {
    io: hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>,
    _kept: http::Extensions,
}

impl tokio::io::AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded").finish_non_exhaustive()
    }
}
