//! HTTP/1.1 connections: the handshake and the task that drives the connection.
//!
//! One spawned task per connection (hyper's connection future), never one per request: the
//! connection goes back to the pool from the checkout guard when the response body ends. When the
//! task ends (the server closed the connection, an error, or the pool dropped its sender), or is
//! dropped or panics, it tells the pool ([`ConnectionGone`]), which stops counting the connection.
//!
//! What it does not do: decide reuse (the pool and the checkout guard do).

use std::sync::Arc;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::checkout::{Checkout, ConnectSlot};
use super::connect::Connected;
use super::pool::ConnectionGone;
use crate::error::{BoxError, Error};

/// Performs the HTTP/1.1 handshake over `connected` and starts the connection's task; the slot
/// becomes the connection, checked out to the request that opened it.
pub(crate) async fn handshake<B>(
    builder: &http1::Builder,
    connected: Connected,
    slot: ConnectSlot<B>,
) -> Result<Checkout<B>, Error>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let meta = Arc::new(connected.meta);
    let key = slot.key().clone();
    let pool = Arc::downgrade(&slot.pool().inner);
    let (sender, conn) = match builder.handshake(TokioIo::new(connected.stream)).await {
        Ok(handshake) => handshake,
        Err(err) => {
            slot.failed();
            return Err(Error::connect(err));
        }
    };
    let checkout = slot.into_h1(sender, meta.clone());
    let gone = ConnectionGone { pool, key, meta };
    let task = async move {
        if let Err(err) = conn.with_upgrades().await {
            tracing::debug!(id = gone.meta.id, error = %err, "HTTP/1.1 connection failed");
        }
        drop(gone);
    };
    tokio::spawn(tracing::Instrument::in_current_span(task));
    Ok(checkout)
}
