//! The guards a request holds: [`Checkout`] (a connection, or a stream on one) and [`ConnectSlot`] (the
//! right to open a connection).
//!
//! A checkout goes back to the pool when it is dropped, right there, with no task spawned: an
//! HTTP/1.1 connection whose response body ended cleanly (and whose request body is all sent), or
//! that never got a request, becomes idle
//! (or goes straight to the first waiting request); one whose body failed or that announced
//! `Connection: close` is closed. A body dropped unread is not waited for: when at most
//! [`DRAIN_LIMIT`] bytes of it were still to come (a redirect's, an error page's) and the request's
//! own body was empty or as small and in memory (a stream might still be going out), the connection
//! goes back all the same, and hyper reads what has already arrived of the body (one read) and keeps
//! the connection if that was all of it, or closes it. Either way the connection is then ready or
//! closed, which the next request on it waits to learn (`ready()`) before sending; a closed one sends
//! it to another connection unsent. Any other unread body closes its connection. An HTTP/2 stream is
//! released. A connect slot dropped before it became a connection frees its place for the next
//! waiting request.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http2;

use super::connect::ConnMeta;
use super::pool::{H1Conn, Key, Pool};
use crate::error::BoxError;

pub(crate) use crate::body::DRAIN_LIMIT;

/// A connection (HTTP/1.1) or a stream on one (HTTP/2), held from checkout to the end of the
/// response body.
pub(crate) struct Checkout<B: Send + 'static> {
    /// `None` once disarmed: dropping then does nothing.
    pool: Option<Pool<B>>,
    key: Key,
    meta: Arc<ConnMeta>,
    reused: bool,
    answered: bool,
    /// A request was given to the connection: until then, dropping the checkout gives an HTTP/1.1
    /// connection back as it came (a waiter that gave up as it was served, a request dropped before
    /// sending).
    sent: bool,
    /// The request's body was empty or a small one in memory (see [`Checkout::send`]).
    small_upload: bool,
    held: Held<B>,
}

enum Held<B> {
    H1 {
        conn: Option<H1Conn<B>>,
        /// The response ended cleanly: the connection may serve another request.
        reusable: bool,
    },
    H2 {
        sender: http2::SendRequest<B>,
    },
}

/// What a disarmed checkout held.
pub(super) enum Disarmed<B> {
    H1(H1Conn<B>),
    H2(u64),
}

/// Why a request could not be sent, and the request itself when hyper never started writing it.
pub(crate) struct SendError<B> {
    pub(crate) error: hyper::Error,
    pub(crate) request: Option<Request<B>>,
}

impl<B: Send + 'static> Checkout<B> {
    pub(super) fn h1(pool: Pool<B>, key: Key, conn: H1Conn<B>) -> Checkout<B> {
        Checkout {
            pool: Some(pool),
            key,
            meta: conn.meta.clone(),
            reused: conn.pooled(),
            answered: false,
            sent: false,
            small_upload: false,
            held: Held::H1 {
                conn: Some(conn),
                reusable: false,
            },
        }
    }

    pub(super) fn h2(
        pool: Pool<B>,
        key: Key,
        sender: http2::SendRequest<B>,
        meta: Arc<ConnMeta>,
        reused: bool,
    ) -> Checkout<B> {
        Checkout {
            pool: Some(pool),
            key,
            meta,
            reused,
            answered: false,
            sent: false,
            small_upload: false,
            held: Held::H2 { sender },
        }
    }

    /// Takes back what the checkout holds without giving it back to the pool (the pool is doing that
    /// itself, under its lock).
    pub(super) fn disarm(mut self) -> Disarmed<B> {
        self.pool = None;
        match &mut self.held {
            Held::H1 { conn, .. } => Disarmed::H1(conn.take().expect("connection held")),
            Held::H2 { .. } => Disarmed::H2(self.meta.id),
        }
    }

    pub(crate) fn is_h2(&self) -> bool {
        matches!(self.held, Held::H2 { .. })
    }

    /// An HTTP/2 connection whose task has ended (it went away, or failed): what a request hyper
    /// dropped without a word of h2's was lost to.
    pub(crate) fn h2_connection_gone(&self) -> bool {
        matches!(&self.held, Held::H2 { sender } if sender.is_closed())
    }

    /// The connection had carried a request before.
    pub(crate) fn reused(&self) -> bool {
        self.reused
    }

    pub(crate) fn meta(&self) -> &Arc<ConnMeta> {
        &self.meta
    }

    /// The response head arrived (to a `CONNECT` if `connect`): reads the server's keep-alive wishes.
    /// A connection handed over to an upgrade (`101 Switching Protocols`, or a `2xx` to `CONNECT`: a
    /// tunnel) never goes back to the pool.
    pub(crate) fn response_received(
        &mut self,
        connect: bool,
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) {
        self.answered = true;
        if let Held::H1 {
            conn: Some(conn), ..
        } = &mut self.held
        {
            conn.uses += 1;
            conn.keep_alive = super::pool::keep_alive_timeout(headers);
            let tunnel = connect && status.is_success();
            conn.closing = status == http::StatusCode::SWITCHING_PROTOCOLS
                || tunnel
                || connection_close(headers);
        }
    }

    /// The response body ended cleanly. A server may answer before the request's body is all sent (a
    /// 401 or 413 to an upload): a connection still sending it is not given back, or the next request
    /// would wait behind the rest of the upload (for ever, if the server stopped reading). hyper says
    /// ready once it could take another request; a large body it finished sending, but has not yet
    /// noticed finishing, costs a connection, never a wait.
    pub(crate) fn body_done(&mut self) {
        if let Held::H1 { conn, reusable } = &mut self.held {
            *reusable = conn
                .as_ref()
                .is_some_and(|c| !c.closing && (self.small_upload || c.sender.is_ready()));
        }
    }

    /// The response body was dropped before its end with at most `left` bytes of it still to come
    /// (`None`: not known). See the module docs.
    pub(crate) fn body_dropped(&mut self, left: Option<u64>) {
        if let Held::H1 { conn, reusable } = &mut self.held {
            *reusable = self.small_upload
                && left.is_some_and(|left| left <= DRAIN_LIMIT)
                && conn.as_ref().is_some_and(|c| !c.closing);
        }
    }

    /// The server said GOAWAY on this HTTP/2 connection: no new streams go to it.
    pub(crate) fn retire(&self) {
        if let (Some(pool), Held::H2 { .. }) = (&self.pool, &self.held) {
            let mut doomed = Vec::new();
            pool.lock().retire_h2(&self.key, self.meta.id, &mut doomed);
            drop(doomed);
        }
    }
}

impl<B> Checkout<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Sends `req` on the held connection and waits for the response head. `small_upload`: its body is
    /// empty, or held in memory and at most [`DRAIN_LIMIT`] bytes, so hyper has written it by the time
    /// the response's body could be dropped (a stream of a declared length might still be going).
    pub(crate) async fn send(
        &mut self,
        req: Request<B>,
        small_upload: bool,
    ) -> Result<Response<Incoming>, SendError<B>> {
        // hyper's two `SendRequest`s share these methods but no trait.
        macro_rules! send_on {
            ($sender:expr, $sent:expr) => {{
                let sender = $sender;
                // A connection given back is ready only once hyper has polled it past the last
                // response; a closed one fails here with the request unsent.
                if let Err(error) = sender.ready().await {
                    return Err(SendError {
                        error,
                        request: Some(req),
                    });
                }
                $sent = true;
                self.small_upload = small_upload;
                sender
                    .try_send_request(req)
                    .await
                    .map_err(|mut e| SendError {
                        request: e.take_message(),
                        error: e.into_error(),
                    })
            }};
        }
        match &mut self.held {
            Held::H1 { conn, .. } => send_on!(
                &mut conn.as_mut().expect("connection held").sender,
                self.sent
            ),
            Held::H2 { sender } => send_on!(sender, self.sent),
        }
    }
}

impl<B: Send + 'static> Drop for Checkout<B> {
    fn drop(&mut self) {
        let Some(pool) = self.pool.take() else {
            return;
        };
        match &mut self.held {
            Held::H1 { conn, reusable } => {
                let Some(conn) = conn.take() else { return };
                if *reusable || !self.sent {
                    let doomed = pool.lock().give_back_h1(&pool, &self.key, conn, self.sent);
                    drop(doomed);
                }
                // Otherwise dropping the sender closes the connection; its task's end releases it.
            }
            Held::H2 { .. } => {
                let mut doomed = Vec::new();
                pool.lock().stream_ended(
                    &pool,
                    &self.key,
                    self.meta.id,
                    self.answered,
                    &mut doomed,
                );
                drop(doomed);
            }
        }
    }
}

/// `Connection: close` in a response: the server will close the connection after it.
pub(crate) fn connection_close(headers: &http::HeaderMap) -> bool {
    says_close(headers, http::header::CONNECTION)
}

/// Whether header `name` lists the `close` token (`Connection`, or a proxy's `Proxy-Connection`).
pub(crate) fn says_close(headers: &http::HeaderMap, name: impl http::header::AsHeaderName) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

/// The right to open one connection to a host, counted against the limits until it becomes a
/// connection or is dropped.
pub(crate) struct ConnectSlot<B: Send + 'static> {
    pool: Option<Pool<B>>,
    key: Key,
}

impl<B: Send + 'static> ConnectSlot<B> {
    pub(super) fn new(pool: Pool<B>, key: Key) -> ConnectSlot<B> {
        ConnectSlot {
            pool: Some(pool),
            key,
        }
    }

    pub(super) fn disarm(mut self) {
        self.pool = None;
    }

    pub(crate) fn pool(&self) -> &Pool<B> {
        self.pool.as_ref().expect("armed")
    }

    pub(crate) fn key(&self) -> &Key {
        &self.key
    }

    /// The slot became an HTTP/1.1 connection, checked out to the request that opened it.
    pub(crate) fn into_h1(
        mut self,
        sender: hyper::client::conn::http1::SendRequest<B>,
        meta: Arc<ConnMeta>,
    ) -> Checkout<B> {
        let pool = self.pool.take().expect("armed");
        let mut doomed = Vec::new();
        pool.lock().connected_h1(&pool, &self.key, &mut doomed);
        drop(doomed);
        let conn = H1Conn {
            sender,
            meta,
            uses: 0,
            keep_alive: None,
            closing: false,
            last_idle: None,
        };
        Checkout::h1(pool, self.key.clone(), conn)
    }

    /// The slot became an HTTP/2 connection, with one stream for the request that opened it.
    pub(crate) fn into_h2(
        mut self,
        sender: http2::SendRequest<B>,
        meta: Arc<ConnMeta>,
    ) -> Checkout<B> {
        let pool = self.pool.take().expect("armed");
        let mut doomed = Vec::new();
        pool.lock()
            .connected_h2(&pool, &self.key, sender.clone(), meta.clone(), &mut doomed);
        drop(doomed);
        Checkout::h2(pool, self.key.clone(), sender, meta, false)
    }
}

impl<B: Send + 'static> ConnectSlot<B> {
    /// The attempt failed (a connect, proxy, TLS or HTTP handshake error), rather than being given
    /// up: the requests that waited on it no longer wait on one another (see the pool's host state).
    pub(crate) fn failed(mut self) {
        self.end(true);
    }

    fn end(&mut self, failed: bool) {
        if let Some(pool) = self.pool.take() {
            let mut doomed = Vec::new();
            pool.lock()
                .connect_failed(&pool, &self.key, failed, &mut doomed);
            drop(doomed);
        }
    }
}

impl<B: Send + 'static> Drop for ConnectSlot<B> {
    fn drop(&mut self) {
        self.end(false);
    }
}
