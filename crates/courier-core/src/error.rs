//! The one error type shared by the transport, every layer and the facade.
//!
//! Modeled on hyper's: a public [`Error`] wrapping a private kind, an optional URL and status, and an
//! optional cause. Ask what went wrong with the `is_*` predicates; `Display` says what failed and for
//! which URL, followed by the cause chain; [`std::error::Error::source`] returns the cause.

use std::error::Error as StdError;
use std::fmt;

use http::StatusCode;
use url::Url;

use crate::transport::Fate;

/// A boxed error, the currency of `tower` middleware.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A `Result` whose error is Courier's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from sending a request or reading its response.
///
/// ```
/// use courier_core::Error;
///
/// let err = Error::from_status(http::StatusCode::NOT_FOUND, "http://example.com/missing".parse().ok());
/// assert!(err.is_status());
/// assert_eq!(err.status(), Some(http::StatusCode::NOT_FOUND));
/// assert_eq!(
///     err.to_string(),
///     "HTTP status client error (404 Not Found) for url (http://example.com/missing)"
/// );
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    url: Option<Url>,
    status: Option<Status>,
    /// The server's own reason phrase, when it is not the status's canonical one.
    reason: Option<Box<str>>,
    fate: Option<Fate>,
    source: Option<BoxError>,
}

/// Whose status an error carries.
#[derive(Debug, Clone, Copy)]
enum Status {
    /// The response's (`error_for_status`).
    Response(StatusCode),
    /// A proxy's refusal of a `CONNECT`.
    Proxy(StatusCode),
}

/// What kind of failure an [`Error`] is. Kept private so new kinds are not breaking changes; use the
/// `is_*` predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Builder,
    Request,
    Connect,
    /// A host name did not resolve: a connect error too.
    Dns,
    /// The connect timeout: both a connect error and a timeout.
    ConnectTimeout,
    Timeout,
    Body,
    Decode,
    Upgrade,
    Status,
    Redirect,
}

impl Error {
    fn new(kind: Kind, source: Option<BoxError>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                url: None,
                status: None,
                reason: None,
                fate: None,
                source,
            }),
        }
    }

    /// A request could not be built: invalid URL, unsupported scheme, invalid header, bad configuration.
    pub fn builder<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Builder, Some(source.into()))
    }

    /// Sending the request failed after a connection was established (or for a reason other than connecting).
    pub fn request<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Request, Some(source.into()))
    }

    /// No connection could be established: DNS, TCP or TLS failure. The request was not sent.
    pub fn connect<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Connect, Some(source.into())).with_fate(Fate::NotSent)
    }

    /// A proxy refused the connection for good (the credentials, or its rules): `is_connect`, not
    /// sent, and with no fate saying it may be sent again, since that would only repeat the refusal
    /// (and, with credentials, a failed login).
    #[cfg(feature = "socks")]
    pub(crate) fn refused_by_proxy<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Connect, Some(source.into()))
    }

    /// A host name could not be resolved (`is_dns` and `is_connect`). The request was not sent.
    pub fn dns<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Dns, Some(source.into())).with_fate(Fate::NotSent)
    }

    /// The connect timeout passed before a connection was established (`is_connect` and
    /// `is_timeout`). The request was not sent.
    pub fn connect_timeout<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::ConnectTimeout, Some(source.into())).with_fate(Fate::NotSent)
    }

    /// Records what is known about whether the server acted on the request (see [`Fate`]).
    pub fn with_fate(mut self, fate: Fate) -> Error {
        self.inner.fate = Some(fate);
        self
    }

    /// What is known about whether the server acted on the request, for failures before a response
    /// head; `None` for everything else (builder, body, decode, status, redirect errors).
    ///
    /// ```
    /// use courier_core::{transport::Fate, Error};
    ///
    /// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// assert_eq!(Error::connect(refused).fate(), Some(Fate::NotSent));
    /// ```
    pub fn fate(&self) -> Option<Fate> {
        self.inner.fate
    }

    /// A deadline passed: connect, total, read, or waiting for a pooled connection.
    pub fn timeout<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Timeout, Some(source.into()))
    }

    /// Reading or writing a body failed (connection closed mid-body, length mismatch, ...).
    pub fn body<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Body, Some(source.into()))
    }

    /// A body could not be decoded: a corrupt or truncated compressed stream, a size cap exceeded,
    /// text in an unknown charset, JSON that does not match.
    pub fn decode<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Decode, Some(source.into()))
    }

    /// A connection could not be upgraded (no `101 Switching Protocols`, or the switch failed).
    pub fn upgrade<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Upgrade, Some(source.into()))
    }

    /// The server answered with an error status (4xx or 5xx); made by `error_for_status`.
    pub fn from_status(status: StatusCode, url: Option<Url>) -> Error {
        let mut err = Error::new(Kind::Status, None);
        err.inner.status = Some(Status::Response(status));
        match url {
            Some(url) => err.with_url(url),
            None => err,
        }
    }

    /// As [`from_status`](Error::from_status), showing the server's own reason phrase (`418 I'm not
    /// a teapot`) where it differs from the canonical one, as reqwest's error does.
    ///
    /// ```
    /// use courier_core::Error;
    /// let err = Error::from_status_with_reason(http::StatusCode::IM_A_TEAPOT, "I'm not a teapot", None);
    /// assert_eq!(err.to_string(), "HTTP status client error (418 I'm not a teapot)");
    /// ```
    pub fn from_status_with_reason(status: StatusCode, reason: &str, url: Option<Url>) -> Error {
        let mut err = Error::from_status(status, url);
        // None sent (or none readable): the canonical one, rather than `(404 )`.
        if !reason.is_empty() && status.canonical_reason() != Some(reason) {
            err.inner.reason = Some(reason.into());
        }
        err
    }

    /// Following a redirect failed: too many hops, a loop, a forbidden or invalid `Location`.
    pub fn redirect<E: Into<BoxError>>(source: E) -> Error {
        Error::new(Kind::Redirect, Some(source.into()))
    }

    /// Turns any error coming out of an inner service or body into a Courier [`Error`]: a Courier error
    /// passes through unchanged, a timeout anywhere in the cause chain is a timeout, anything else
    /// becomes a request error with the original as its cause.
    pub fn from_service<E: Into<BoxError>>(err: E) -> Error {
        let err = match Error::classified(err.into()) {
            Ok(classified) => return classified,
            Err(err) => err,
        };
        if chain_has_timeout(&*err) {
            return Error::new(Kind::Timeout, Some(err));
        }
        if chain_has_connect_failure(&*err) {
            // Another client's (e.g. hyper-util's) failure to connect: the request never left.
            return Error::connect(err);
        }
        Error::new(Kind::Request, Some(err))
    }

    /// Like [`Error::from_service`], for errors raised while reading a response body: anything not
    /// already classified is a body error.
    pub fn from_body<E: Into<BoxError>>(err: E) -> Error {
        match Error::classified(err.into()) {
            Ok(classified) => classified,
            Err(err) if chain_has_timeout(&*err) => Error::new(Kind::Timeout, Some(err)),
            Err(err) => Error::new(Kind::Body, Some(err)),
        }
    }

    /// A failure of a request its connection took (hyper had it, and may have written it): a
    /// timeout, or a request error; never a connect error, even when the OS says "host unreachable"
    /// on an established connection (a caller resending on `is_connect` might send it twice).
    pub(crate) fn from_exchange(err: BoxError) -> Error {
        match Error::classified(err) {
            Ok(err) => err,
            Err(err) if chain_has_timeout(&*err) => Error::new(Kind::Timeout, Some(err)),
            Err(err) => Error::new(Kind::Request, Some(err)),
        }
    }

    /// An error out of a connector wrapped in `connector_layer`s: the connector's own passes
    /// through, even wrapped (a `tower::buffer` error around a DNS failure stays `is_dns`); a
    /// timeout (tower's, tokio's) is a connect timeout; anything else a connect error.
    pub(crate) fn from_connector(err: BoxError) -> Error {
        match Error::classified(err) {
            Ok(err) => err,
            Err(err) if chain_has_timeout(&*err) => Error::connect_timeout(err),
            Err(err) => Error::connect(err),
        }
    }

    /// `err` when it is a Courier error; one further down its causes (under a `tower::buffer`
    /// `ServiceError`, say) keeps what it knew: its kind, fate, status and URL, with `err` as the
    /// cause. `Err(err)` when there is none.
    fn classified(err: BoxError) -> Result<Error, BoxError> {
        let err = match err.downcast::<Error>() {
            Ok(err) => return Ok(*err),
            Err(err) => err,
        };
        let mut cur = err.source();
        let found = loop {
            match cur {
                Some(e) => match e.downcast_ref::<Error>() {
                    Some(inner) => break Some(inner),
                    None => cur = e.source(),
                },
                None => break None,
            }
        };
        let Some(inner) = found else {
            return Err(err);
        };
        let (kind, fate, status, url) = (
            inner.inner.kind,
            inner.inner.fate,
            inner.inner.status,
            inner.inner.url.clone(),
        );
        let mut classified = Error::new(kind, Some(err));
        classified.inner.fate = fate;
        classified.inner.status = status;
        classified.inner.url = url;
        Ok(classified)
    }

    /// Sets the URL the error happened for, replacing any it had (as reqwest's does). Credentials in
    /// the URL (`user:pass@`) are removed: errors get logged.
    pub fn with_url(mut self, mut url: Url) -> Error {
        crate::urls::remove_credentials(&mut url);
        self.inner.url = Some(url);
        self
    }

    /// Attaches the URL given as an `http::Uri`, unless one is already set.
    pub fn with_uri(self, uri: &http::Uri) -> Error {
        if self.inner.url.is_some() {
            return self;
        }
        match crate::urls::to_url(uri) {
            Ok(url) => self.with_url(url),
            Err(_) => self,
        }
    }

    /// Removes the URL, e.g. before logging an error for a URL that carries credentials.
    pub fn without_url(mut self) -> Error {
        self.inner.url = None;
        self
    }

    /// The URL this error is about, if known.
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// A mutable reference to the URL, e.g. to strip credentials or query.
    pub fn url_mut(&mut self) -> Option<&mut Url> {
        self.inner.url.as_mut()
    }

    /// The response status, for errors made by `error_for_status`. A proxy's refusal to open a
    /// tunnel is not the origin's answer: see [`Error::proxy_status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self.inner.status {
            Some(Status::Response(status)) => Some(status),
            _ => None,
        }
    }

    /// For a connect error where an HTTP proxy refused to open a tunnel (`CONNECT`), the status it
    /// answered: `407 Proxy Authentication Required` when it wanted credentials or refused the ones
    /// sent, `403` when it forbids the destination, `502`/`503` when it could not reach it.
    pub fn proxy_status(&self) -> Option<StatusCode> {
        match self.inner.status {
            Some(Status::Proxy(status)) => Some(status),
            _ => None,
        }
    }

    /// Records the status with which a proxy refused a `CONNECT`. Only a transient refusal (408,
    /// 429, 5xx) keeps the connect error's "not sent, send again" fate: a proxy that said 403 or
    /// 407 to these credentials will say it again, so retrying only repeats a failed login.
    pub(crate) fn with_proxy_status(mut self, status: StatusCode) -> Error {
        self.inner.status = Some(Status::Proxy(status));
        if !crate::retry::transient_status(status) {
            self.inner.fate = None;
        }
        self
    }

    /// True if the request or client configuration was invalid.
    pub fn is_builder(&self) -> bool {
        self.inner.kind == Kind::Builder
    }

    /// True if sending the request failed.
    pub fn is_request(&self) -> bool {
        self.inner.kind == Kind::Request
    }

    /// True if no connection could be made. Connect timeouts are both `is_connect` and `is_timeout`.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Connect | Kind::Dns | Kind::ConnectTimeout
        )
    }

    /// True if a host name did not resolve (no such name, or no address for it), as opposed to
    /// other connect errors. Such errors are `is_connect` too.
    ///
    /// ```
    /// let err = courier_core::Error::dns("no such host");
    /// assert!(err.is_dns() && err.is_connect());
    /// assert!(!courier_core::Error::connect("refused").is_dns());
    /// ```
    pub fn is_dns(&self) -> bool {
        self.inner.kind == Kind::Dns
    }

    /// True if a deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout | Kind::ConnectTimeout)
    }

    /// True if reading or writing a body failed.
    pub fn is_body(&self) -> bool {
        self.inner.kind == Kind::Body
    }

    /// True if a body could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    /// True if upgrading the connection (`Response::upgrade`) failed.
    pub fn is_upgrade(&self) -> bool {
        self.inner.kind == Kind::Upgrade
    }

    /// True if this is an error status made by `error_for_status`.
    pub fn is_status(&self) -> bool {
        self.inner.kind == Kind::Status
    }

    /// True if following a redirect failed.
    pub fn is_redirect(&self) -> bool {
        self.inner.kind == Kind::Redirect
    }
}

/// An I/O error in the chain that only connecting can produce.
fn chain_has_connect_failure(err: &(dyn StdError + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
            ) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn chain_has_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        if err.is::<tokio::time::error::Elapsed>() || err.is::<tower::timeout::error::Elapsed>() {
            return true;
        }
        if let Some(hyper_err) = err.downcast_ref::<hyper::Error>() {
            if hyper_err.is_timeout() {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("courier::Error");
        d.field("kind", &self.inner.kind);
        if let Some(url) = &self.inner.url {
            d.field("url", &url.as_str());
        }
        match &self.inner.status {
            Some(Status::Response(status)) => {
                d.field("status", status);
            }
            Some(Status::Proxy(status)) => {
                d.field("proxy_status", status);
            }
            None => {}
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            Kind::Builder => f.write_str("builder error")?,
            Kind::Request => f.write_str("error sending request")?,
            Kind::Connect => f.write_str("error connecting")?,
            Kind::Dns => f.write_str("error resolving a host name")?,
            Kind::Timeout => f.write_str("operation timed out")?,
            Kind::ConnectTimeout => f.write_str("error connecting")?,
            Kind::Body => f.write_str("error reading a body")?,
            Kind::Decode => f.write_str("error decoding response body")?,
            Kind::Upgrade => f.write_str("error upgrading connection")?,
            Kind::Redirect => f.write_str("error following redirect")?,
            Kind::Status => {
                let status = self.status().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let prefix = if status.is_client_error() {
                    "HTTP status client error"
                } else if status.is_server_error() {
                    "HTTP status server error"
                } else {
                    "HTTP status"
                };
                match &self.inner.reason {
                    Some(reason) => write!(f, "{prefix} ({} {reason})", status.as_str())?,
                    None => write!(f, "{prefix} ({status})")?,
                }
            }
        }
        if let Some(url) = &self.inner.url {
            write!(f, " for url ({url})")?;
        }
        // `{:#}` adds the causes, for a log line that says why as well as what. Plain `{}` does not:
        // error reporters (anyhow, eyre) print the causes themselves, from `source()`.
        if f.alternate() {
            let mut cause = self
                .inner
                .source
                .as_deref()
                .map(|e| e as &(dyn StdError + 'static));
            while let Some(err) = cause {
                write!(f, ": {err}")?;
                cause = err.source();
            }
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    /// After a request went to its connection, an OS error that reads like a connect failure is not
    /// one: the request may have been written.
    #[test]
    fn an_exchange_failure_is_never_a_connect_error() {
        for kind in [
            std::io::ErrorKind::HostUnreachable,
            std::io::ErrorKind::ConnectionRefused,
        ] {
            let err = super::Error::from_exchange(Box::new(std::io::Error::from(kind)));
            assert!(!err.is_connect(), "{err:?}");
            assert!(super::Error::from_service(std::io::Error::from(kind)).is_connect());
        }
        let timeout = super::Error::from_exchange(Box::new(std::io::Error::from(
            std::io::ErrorKind::TimedOut,
        )));
        assert!(timeout.is_timeout() && !timeout.is_connect(), "{timeout:?}");
    }
    use super::*;

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn from_service_keeps_courier_errors() {
        let err = Error::redirect("too many redirects");
        let boxed: BoxError = Box::new(err);
        let err = Error::from_service(boxed);
        assert!(err.is_redirect());
    }

    /// A Courier error wrapped by another layer (as `tower::buffer` wraps its inner service's) keeps
    /// its kind, fate and URL; tower's own timeout is a timeout.
    #[test]
    fn from_service_finds_courier_errors_under_a_wrapper() {
        #[derive(Debug)]
        struct Wrapper(Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("buffered service failed")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let inner = Error::connect(refused).with_url("http://127.0.0.1:1/x".parse().unwrap());
        for err in [
            Error::from_service(Wrapper(inner)),
            Error::from_body(Wrapper(
                Error::connect(std::io::Error::other("x"))
                    .with_url("http://127.0.0.1:1/x".parse().unwrap()),
            )),
        ] {
            assert!(err.is_connect(), "{err:?}");
            assert_eq!(err.fate(), Some(Fate::NotSent));
            assert_eq!(err.url().unwrap().as_str(), "http://127.0.0.1:1/x");
            assert!(
                format!("{err:#}").contains("buffered service failed"),
                "{err:#}"
            );
        }
        let elapsed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        assert!(Error::from_service(elapsed).is_timeout());
    }

    #[test]
    fn display_includes_url_and_cause_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Error::connect(io).with_url("http://127.0.0.1:1/".parse().unwrap());
        assert!(err.is_connect());
        assert_eq!(
            format!("{err:#}"),
            "error connecting for url (http://127.0.0.1:1/): refused"
        );
        // Plain Display is the error's own message and URL: reporters print causes from source().
        assert_eq!(
            err.to_string(),
            "error connecting for url (http://127.0.0.1:1/)"
        );
        assert_eq!(err.source().unwrap().to_string(), "refused");
    }

    #[test]
    fn with_url_replaces_and_without_url_removes() {
        let err = Error::builder("bad")
            .with_url("http://127.0.0.1:1/a".parse().unwrap())
            .with_url("http://127.0.0.1:2/b".parse().unwrap());
        assert_eq!(err.url().unwrap().as_str(), "http://127.0.0.1:2/b");
        let err = err.without_url();
        assert!(err.url().is_none());
        assert_eq!(err.to_string(), "builder error");
    }

    #[test]
    fn urls_lose_their_credentials() {
        let err = Error::builder("bad").with_url("http://user:pw@example.com/x".parse().unwrap());
        assert_eq!(err.url().unwrap().as_str(), "http://example.com/x");
        assert_eq!(
            format!("{err:#}"),
            "builder error for url (http://example.com/x): bad"
        );
    }

    #[test]
    fn io_timeouts_classify_as_timeout() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert!(Error::from_body(io).is_timeout());
    }
}
