//! A private HTTP cache (RFC 9111, with RFC 5861's `stale-while-revalidate` and `stale-if-error`), in
//! memory or on disk.
//!
//! [`CachingLayer`] wraps a service in [`Caching`], which keeps responses in a [`Cache`] and answers
//! later requests from it the way a browser's cache does: a fresh stored response costs no request at
//! all, a stale one costs a conditional request and, usually, a `304`.
//!
//! ## What is stored
//!
//! - Responses to `GET` whose status is cacheable by default (`200`, `203`, `204`, `300`, `301`, `308`,
//!   `404`, `405`, `410`, `414`, `501`) or made cacheable by explicit freshness (`max-age`, `Expires`,
//!   `public`, `private`) — `private` responses too, since this is a user agent's own cache, and
//!   responses to requests with `Authorization` (RFC 9111 §3.5 binds shared caches only).
//! - Not: `no-store` (on the request or the response), `Vary: *`, `206` partial content, `304`,
//!   requests with a `Range`, with conditional headers of the caller's own, or carrying
//!   [`KeepEncoded`](crate::decompression::KeepEncoded) (those pass through), and
//!   bodies larger than [`Cache::max_entry_size`] (they pass through unstored).
//! - Bodies stream through: a response is stored while the caller reads it, once the body has been read
//!   to the end; a body dropped halfway or failing is not stored. A disk entry is written to a temporary
//!   file and renamed into place, and checked against its CRC-32 on every read.
//! - `Set-Cookie` headers are kept with a memory entry but never served from the cache: the cookie jar
//!   below the cache saw them when the response came from the network, and a cache shared by clients
//!   with different jars never hands one client's cookies to another. The disk store never writes
//!   `Set-Cookie` or other credential-bearing headers, and on Unix keeps its directory `0700` and its
//!   files `0600`.
//! - One response per URI: a response that varies (`Vary`) replaces the stored one, and matches only
//!   requests whose nominated headers have the same values (whitespace normalised).
//! - Every response is also selected by the request's own `Authorization`, `Cookie` and
//!   `Accept-Encoding`, as if it varied on them: a cache shared by clients or users never hands a
//!   response to one's credentials to another (those values are kept as SHA-256 hashes, never in the
//!   clear), and a body stored as the server encoded it (for a caller who set `Accept-Encoding`
//!   itself) never reaches a caller who expects it decoded. Credentials the layers below add
//!   (cookies from a jar, answers to Digest challenges) are not seen by the cache: share a cache only
//!   between clients whose jars and configured credentials may see each other's responses.
//!
//! ## How it is used
//!
//! - **Freshness**: `max-age`, else `Expires − Date` (an invalid `Expires` means stale), else a tenth
//!   of the time since `Last-Modified` for status codes cacheable by default and `public` responses;
//!   `Age` and the age calculation of RFC 9111 §4.2.3. `s-maxage` and `proxy-revalidate` are ignored,
//!   as a private cache must. Request directives `max-age`, `max-stale` (an invalid value accepts no
//!   staleness), `min-fresh`, `no-cache`, `only-if-cached` (a `504` when nothing usable is stored) and
//!   `Pragma: no-cache` (without `Cache-Control`) are honoured. With `only-if-cached` (or
//!   [`CacheMode::OnlyIfCached`]) no request reaches the network: a request the cache would pass by
//!   (a `Range`, the caller's own validators) gets the `504` too.
//! - **Validation**: a stale entry (or one marked `no-cache`) is revalidated with `If-None-Match` and
//!   `If-Modified-Since`; a matching `304` updates its stored headers (never `Content-Encoding`,
//!   `Content-Length` and the like, which describe the stored body) and restarts its age, and it is
//!   served. A `304` (or `HEAD` response) that says `no-store` or `Vary: *` is served once and takes
//!   the entry out.
//! - **`stale-while-revalidate`**: within the window, the stale entry is served at once and revalidated
//!   once in the background (on the current tokio runtime; a `GET`, also when a `HEAD` was served).
//!   The background request reads its body only while it may still be stored (not past
//!   [`Cache::max_entry_size`], nothing of a `no-store` body) and gives up after 60 s: no layer above
//!   the cache times it out.
//! - **`stale-if-error`**: within the window, a stale entry stands in for a `500`, `502`, `503`, `504`
//!   or a failed request (never for a `no-cache` or `must-revalidate` entry); its `Cache-Status` says
//!   `fwd=stale` with the origin's `fwd-status`.
//! - **Invalidation**: a successful `POST`, `PUT`, `DELETE`, `PATCH` (any unsafe method) removes the
//!   entries for its URI and the same-origin URIs in `Location` and `Content-Location`.
//! - **`HEAD`** is answered from a fresh stored `GET`; a `HEAD` response whose validators match the
//!   stored `GET` refreshes its headers.
//! - Per request, a [`CacheMode`] extension selects the Fetch standard's modes.
//! - Every response through the cache carries a [`CacheStatus`] extension and an RFC 9211
//!   `Cache-Status` header (e.g. `courier; hit; ttl=58`).
//!
//! Concurrent identical misses are not coalesced: each goes to the origin, and the last to finish
//! reading its body leaves its response stored. Entries of the disk store are read and written with
//! blocking file I/O on the calling task (a few hundred microseconds for a megabyte).
//!
//! In Courier's client the cache sits right below the redirect layer, so each hop of a redirect chain
//! is a hit or a miss of its own.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use courier_core::cache::{Cache, CachingLayer, CacheStatus};
//! use http_body_util::{BodyExt, Full};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let sent = Arc::new(AtomicUsize::new(0));
//! let counter = sent.clone();
//! let origin = tower::service_fn(move |_req: http::Request<()>| {
//!     counter.fetch_add(1, Ordering::SeqCst);
//!     async {
//!         let response = http::Response::builder()
//!             .header("cache-control", "max-age=60")
//!             .body(Full::new(Bytes::from_static(b"hello")))
//!             .unwrap();
//!         Ok::<_, std::convert::Infallible>(response)
//!     }
//! });
//! let client = CachingLayer::new(Cache::in_memory()).layer(origin);
//! let get = || http::Request::get("http://127.0.0.1/greeting").body(()).unwrap();
//!
//! let first = client.clone().oneshot(get()).await.unwrap();
//! assert_eq!(first.extensions().get(), Some(&CacheStatus::Miss { stored: true }));
//! first.into_body().collect().await.unwrap(); // read to the end: now stored
//!
//! let second = client.clone().oneshot(get()).await.unwrap();
//! assert_eq!(second.extensions().get(), Some(&CacheStatus::Hit));
//! assert_eq!(second.headers()["cache-status"], "courier; hit; ttl=60");
//! assert_eq!(second.into_body().collect().await.unwrap().to_bytes(), "hello");
//! assert_eq!(sent.load(Ordering::SeqCst), 1);
//! # }
//! ```

mod body;
mod disk;
mod exchange;
mod future;
mod handle;
mod layer;
mod policy;
mod respond;
mod service;
mod status;
mod store;
mod validate;

pub use body::CacheBody;
pub use future::ResponseFuture;
pub use handle::{Cache, DEFAULT_DISK_SIZE, DEFAULT_MAX_ENTRY_SIZE, DEFAULT_MEMORY_SIZE};
#[allow(deprecated)]
pub use layer::{CacheLayer, CachingLayer};
pub use service::Caching;
pub use status::{CacheMode, CacheStatus};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Cache>();
        assert_send_sync::<CachingLayer>();
        assert_send_sync::<Caching<crate::transport::Transport>>();
        fn assert_send<T: Send>() {}
        assert_send::<CacheBody<hyper::body::Incoming>>();
        assert_send::<ResponseFuture<crate::transport::ResponseFuture, hyper::body::Incoming>>();
    }
}
