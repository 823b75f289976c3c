//! [`Exchange`]: a request as the transport handed it to its connection, and the response head that
//! answered it, for an observer set with
//! [`TransportBuilder::on_exchange`](super::TransportBuilder::on_exchange) (a `curl -v` style log).
//!
//! The observer is called once per response head the transport receives: every redirect hop, retry
//! and authentication round trip, since the layers above send each as a request of its own. It is not
//! called for a request that failed before a response head came (its error says why) nor for one the
//! layers answered without the network (a cache hit). Bodies are not shown.
//!
//! The request head is the one written: the transport sets the body-framing header itself
//! (`Content-Length`, or `Transfer-Encoding: chunked` on HTTP/1.1) before the observer sees the
//! head, and hyper writes a head that has one as it is. What it does not show: header names
//! keep the case `http` gives them (lower case, whatever `http1_title_case_headers` writes), and on
//! HTTP/2 hyper drops connection-specific headers (`Connection`, `Keep-Alive`, ...) that a caller set.

use std::fmt;
use std::sync::Arc;

use http::{Request, Response, Uri};

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

/// A copy of `req`'s head, for an observer.
pub(crate) fn head_of<B>(req: &Request<B>) -> Request<()> {
    let mut head = Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    *head.version_mut() = req.version();
    *head.headers_mut() = req.headers().clone();
    head
}
