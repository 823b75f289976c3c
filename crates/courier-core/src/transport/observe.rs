//! [`Exchange`]: a request as the transport handed it to its connection, and the response head that
//! answered it, for an observer set with
//! [`TransportBuilder::on_exchange`](super::TransportBuilder::on_exchange) (a `curl -v` style log).
//!
//! The observer is called once per response head the transport receives: every redirect hop, retry
//! and authentication round trip, since the layers above send each as a request of its own. It is not
//! called for a request that failed before a response head came (its error says why) nor for one the
//! layers answered without the network (a cache hit). Bodies are not shown.
//!
//! The request head is the one written: with an observer set, the transport adds the body-framing
//! header hyper would otherwise add while writing (`Content-Length`, or `Transfer-Encoding: chunked`
//! on HTTP/1.1), and hyper writes a head that has one as it is. What it does not show: header names
//! keep the case `http` gives them (lower case, whatever `http1_title_case_headers` writes), and on
//! HTTP/2 hyper drops connection-specific headers (`Connection`, `Keep-Alive`, ...) that a caller set.

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, Request, Response, Uri, Version};

use super::ConnectionInfo;

/// The callback of [`TransportBuilder::on_exchange`](super::TransportBuilder::on_exchange).
#[derive(Clone)]
pub(crate) struct Observer(pub(crate) Arc<dyn Fn(&Exchange<'_>) + Send + Sync>);

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// One request the transport sent and the response head that answered it.
///
/// ```
/// use courier_core::transport::Exchange;
///
/// // A `curl -v` style log of the request line and the status line.
/// fn log(exchange: &Exchange<'_>) {
///     let request = exchange.request();
///     eprintln!("> {} {} {:?}", request.method(), request.uri(), request.version());
///     eprintln!("< {} {}", exchange.response().status().as_u16(), exchange.reason());
/// }
/// # drop(log);
/// ```
#[derive(Debug)]
pub struct Exchange<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) request: &'a Request<()>,
    pub(crate) response: &'a Response<()>,
    pub(crate) connection: &'a ConnectionInfo,
}

impl<'a> Exchange<'a> {
    /// The URL requested, absolute.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request head as written: the method, the target (origin-form `/path?query` on HTTP/1.1,
    /// absolute-form to a forwarding proxy and on HTTP/2, where it becomes the pseudo-headers), the
    /// version, and the headers, `Host` (HTTP/1.1) and the body framing included.
    pub fn request(&self) -> &'a Request<()> {
        self.request
    }

    /// The response head: status, version, headers (its extensions hold hyper's `ReasonPhrase`
    /// when the server sent a non-canonical one; see [`reason`](Exchange::reason)).
    pub fn response(&self) -> &'a Response<()> {
        self.response
    }

    /// The reason phrase the server sent (HTTP/1.1), or the canonical one for the status.
    pub fn reason(&self) -> &'a str {
        let sent = self
            .response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .and_then(|reason| std::str::from_utf8(reason.as_bytes()).ok());
        sent.or_else(|| self.response.status().canonical_reason())
            .unwrap_or("")
    }

    /// The connection it went over: reused or new, addresses, protocol, TLS version and cipher suite.
    pub fn connection(&self) -> &'a ConnectionInfo {
        self.connection
    }
}

/// Sets the body-framing header hyper would add while writing `req`, when it has none, so that the
/// head an observer sees is the head written (hyper keeps a framing header it is given). The rules are
/// hyper's: on HTTP/1.1 a body of known size gets `Content-Length`, any other one
/// `Transfer-Encoding: chunked`, except for `GET`, `HEAD` and `CONNECT` (and HTTP/1.0), whose unknown
/// body hyper sends as empty; a finished body gets nothing. On HTTP/2 a known size gets
/// `content-length`, 0 only for methods whose body means something.
pub(crate) fn add_framing<B: http_body::Body>(
    req: &mut Request<B>,
    h2: bool,
) -> Option<http::header::HeaderName> {
    let headers = req.headers();
    if headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING) {
        return None;
    }
    let body = req.body();
    let exact = body.size_hint().exact();
    let method = req.method();
    let header = if h2 {
        match exact {
            Some(len)
                if len != 0
                    || !matches!(
                        *method,
                        Method::GET | Method::HEAD | Method::DELETE | Method::CONNECT
                    ) =>
            {
                (CONTENT_LENGTH, HeaderValue::from(len))
            }
            _ => return None,
        }
    } else if body.is_end_stream() {
        return None;
    } else {
        match exact {
            Some(len) => (CONTENT_LENGTH, HeaderValue::from(len)),
            None if req.version() == Version::HTTP_10
                || matches!(*method, Method::GET | Method::HEAD | Method::CONNECT) =>
            {
                return None
            }
            None => (TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
        }
    };
    req.headers_mut().insert(header.0.clone(), header.1);
    Some(header.0)
}

/// A copy of `req`'s head, for an observer.
pub(crate) fn head_of<B>(req: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    *head.version_mut() = req.version();
    *head.headers_mut() = req.headers().clone();
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;

    fn framing(method: Method, body: Body, h2: bool) -> Option<(String, String)> {
        let mut req = Request::builder().method(method).body(body).unwrap();
        add_framing(&mut req, h2);
        let headers = req.headers();
        headers
            .iter()
            .next()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
    }

    fn streaming() -> Body {
        let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"x"),
        )]);
        Body::wrap_stream(chunks)
    }

    #[test]
    fn framing_is_what_hyper_would_write() {
        let cl = |n: &str| Some(("content-length".to_owned(), n.to_owned()));
        assert_eq!(framing(Method::POST, Body::from("abc"), false), cl("3"));
        assert_eq!(framing(Method::POST, Body::from("abc"), true), cl("3"));
        // A finished (empty) body: nothing on HTTP/1.1; on HTTP/2 a 0 for a POST, not for a GET.
        assert_eq!(framing(Method::GET, Body::empty(), false), None);
        assert_eq!(framing(Method::POST, Body::empty(), false), None);
        assert_eq!(framing(Method::POST, Body::empty(), true), cl("0"));
        assert_eq!(framing(Method::GET, Body::empty(), true), None);
        // A stream: chunked on HTTP/1.1 (not for a GET, sent empty), nothing on HTTP/2.
        assert_eq!(
            framing(Method::PUT, streaming(), false),
            Some(("transfer-encoding".to_owned(), "chunked".to_owned()))
        );
        assert_eq!(framing(Method::GET, streaming(), false), None);
        assert_eq!(framing(Method::PUT, streaming(), true), None);
        // A framing header of the caller's stays alone.
        let mut req = Request::post("/")
            .header("transfer-encoding", "chunked")
            .body(Body::from("abc"))
            .unwrap();
        add_framing(&mut req, false);
        assert_eq!(req.headers().len(), 1);
    }
}
