//! Advertises `Accept-Encoding` and decodes compressed response bodies as they stream.
//!
//! [`DecompressionLayer`] wraps a service in [`Decompression`], which:
//!
//! - **on the request**, sets `Accept-Encoding` to the enabled codings — `gzip, deflate, br, zstd` by
//!   default — when the request has none and asks for no `Range` (as reqwest: a range of compressed
//!   bytes cannot be decoded on its own);
//! - **on the response**, reads `Content-Encoding` (a comma-separated list, case-insensitive, possibly
//!   over several header lines; `identity` ignored; `x-gzip` means `gzip`) and decodes the body with
//!   async-compression's streaming decoders, undoing stacked codings last first (`gzip, br` is decoded
//!   as Brotli, then gzip). `Content-Encoding` and `Content-Length` are removed from decoded responses,
//!   since they describe the bytes on the wire. The body streams in blocks of up to 64 KiB; it is never
//!   buffered whole.
//!
//! `deflate` is zlib-wrapped per RFC 9110, but raw deflate is accepted too (told apart by the first two
//! bytes). Concatenated gzip members and zstd frames are decoded in full.
//!
//! A response with a transfer coding besides `chunked` (`Transfer-Encoding: gzip, chunked`, which hyper
//! does not undo) is decoded too, whoever asked, and its `Transfer-Encoding` left as `chunked`; one it
//! cannot undo fails with [`UnsupportedTransferCoding`] rather than hand over encoded bytes as content.
//!
//! ## What follows a compressed stream
//!
//! The same rule for every coding: the body's end is the end; more bytes are the next member where the
//! coding has members (gzip, zstd) and a decode error where it does not (deflate, br), so trailing
//! garbage is never silently dropped; and a body that neither ends nor sends more within 2 s of a
//! complete stream does not hang the reader: after deflate or br, which nothing can follow, it is taken
//! as complete (its connection closed); after a gzip member or zstd frame, which another may follow, it
//! ends with a decode error rather than a body shortened without a word. A server that stalls
//! mid-stream is the business of the timeouts. The grace is a Tokio timer: the layer needs a Tokio
//! runtime with its time driver on (`enable_all()` or `enable_time()`, as `#[tokio::main]` has), as
//! Courier's transport does.
//!
//! ## Limits
//!
//! Two limits stop decompression bombs, whichever way the body is read (streamed or collected): a
//! decoded body may not exceed [`max_size`](DecompressionLayer::max_size) ([`DEFAULT_MAX_SIZE`], 1 GiB),
//! and once it passes [`RATIO_EXEMPT_SIZE`] (8 MiB) it may not exceed
//! [`max_ratio`](DecompressionLayer::max_ratio) times the compressed bytes received: by default
//! [`DEFAULT_MAX_RATIO`] (100) for gzip and deflate, [`DEFAULT_MAX_RATIO_BR_ZSTD`] (1000) for br and
//! zstd, which compress repetitive text far better. Ordinary text and JSON pass; a bomb (about 1000:1
//! with gzip, far more with br and zstd) fails after about 8 MiB instead of filling memory when
//! collected with `bytes()`.
//!
//! ## What it does not do
//!
//! - It does not override a request's own `Accept-Encoding` (sent as it is; the answer is still decoded
//!   where the layer can, as reqwest's tower-http layer does: turn a coding off to get its bytes).
//! - It leaves the response untouched — headers and bytes — when it is part of a range (`206`, or
//!   with `Content-Range`: a range of encoded bytes cannot be decoded on its own; a server ignoring
//!   `Range` sends the whole body with `200`, which is decoded), when the request carries
//!   [`KeepEncoded`], for `HEAD` requests, `204` and `304`
//!   responses, empty bodies, and a `Content-Encoding` with any coding it cannot decode (an unknown one,
//!   one turned off, one whose Cargo feature is off, or more than four stacked), rather than decode part
//!   of it into garbage.
//! - It does not compress request bodies.
//! - It does not verify `Content-MD5` or `Digest`-style headers.
//!
//! ## Errors
//!
//! Reading a decoded body fails with a Courier [`Error`](crate::Error) for which
//! [`is_decode`](crate::Error::is_decode) is true when the stream is corrupt, truncated or followed by
//! stray bytes (the cause is a [`DecodeError`] naming the coding) or when the decoded body passes a
//! limit ([`SizeLimitExceeded`], [`RatioLimitExceeded`]). Errors of the inner body, such as a
//! connection cut mid-body, stay [`is_body`](crate::Error::is_body) errors.
//!
//! ## Cargo features
//!
//! `gzip`, `deflate`, `brotli` and `zstd` (all on by default) compile in one coding each; a coding whose
//! feature is off is neither advertised nor decoded.
//!
//! ## Example
//!
//! ```
//! use bytes::Bytes;
//! use courier_core::decompression::DecompressionLayer;
//! use http_body_util::{BodyExt, Full};
//! use tower::ServiceExt;
//! use tower_layer::Layer;
//!
//! // "hello, world", gzip-compressed.
//! const GZIPPED: &[u8] = &[
//!     0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7,
//!     0x51, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0x01, 0x00, 0x3a, 0x72, 0xab, 0xff, 0x0c, 0x00, 0x00, 0x00,
//! ];
//!
//! # #[cfg(feature = "gzip")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = tower::service_fn(|req: http::Request<()>| async move {
//!     assert_eq!(req.headers()["accept-encoding"], "gzip, deflate, br, zstd");
//!     let response = http::Response::builder()
//!         .header("content-encoding", "gzip")
//!         .header("content-length", GZIPPED.len())
//!         .body(Full::new(Bytes::from_static(GZIPPED)))
//!         .unwrap();
//!     Ok::<_, std::convert::Infallible>(response)
//! });
//!
//! let client = DecompressionLayer::new().layer(server);
//! let response = client.oneshot(http::Request::new(())).await.unwrap();
//! assert!(response.headers().get("content-encoding").is_none());
//! assert!(response.headers().get("content-length").is_none());
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(body, "hello, world");
//! # }
//! # #[cfg(not(feature = "gzip"))]
//! # fn main() {}
//! ```

// With no coding compiled in, the layer only passes responses through and the decoding machinery is
// unreachable.
#![cfg_attr(
    not(any(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )),
    allow(unreachable_code, unused)
)]

/// The settings of [`DecompressionLayer`] and [`Decompression`], written once for both (each keeps
/// them in a `config: Config` field).
macro_rules! decompression_settings {
    () => {
        /// Advertise and decode `gzip` (and `x-gzip`). Needs the `gzip` feature.
        pub fn gzip(mut self, enabled: bool) -> Self {
            self.config.accept = self.config.accept.set_gzip(enabled);
            self
        }

        /// Advertise and decode `deflate`, zlib-wrapped or raw. Needs the `deflate` feature.
        pub fn deflate(mut self, enabled: bool) -> Self {
            self.config.accept = self.config.accept.set_deflate(enabled);
            self
        }

        /// Advertise and decode `br` (Brotli). Needs the `brotli` feature.
        pub fn br(mut self, enabled: bool) -> Self {
            self.config.accept = self.config.accept.set_br(enabled);
            self
        }

        /// Advertise and decode `zstd` (windows up to 8 MiB, per RFC 9659). Needs the `zstd` feature.
        pub fn zstd(mut self, enabled: bool) -> Self {
            self.config.accept = self.config.accept.set_zstd(enabled);
            self
        }

        /// The most bytes a decoded body may have; past it, reading the body fails with a decode error.
        /// This stops decompression bombs (a few KiB that inflate to gigabytes). `None` removes the limit.
        /// The default is [`DEFAULT_MAX_SIZE`](super::DEFAULT_MAX_SIZE). Bodies that are not decoded are
        /// not limited.
        pub fn max_size(mut self, limit: Option<u64>) -> Self {
            self.config.limits.max_size = limit;
            self
        }

        /// The most a decoded body may grow per compressed byte received, once it is larger than
        /// [`RATIO_EXEMPT_SIZE`](super::RATIO_EXEMPT_SIZE); past it, reading the body fails with a decode
        /// error whose cause is a [`RatioLimitExceeded`](super::RatioLimitExceeded). This stops bombs early
        /// (after megabytes, not the gigabyte of [`max_size`](super::DecompressionLayer::max_size)) whether
        /// the body is streamed or collected. `None` removes the limit. Set, it holds for every
        /// coding; the default is per coding: [`DEFAULT_MAX_RATIO`](super::DEFAULT_MAX_RATIO) for
        /// gzip and deflate, [`DEFAULT_MAX_RATIO_BR_ZSTD`](super::DEFAULT_MAX_RATIO_BR_ZSTD) for br
        /// and zstd.
        pub fn max_ratio(mut self, ratio: Option<u32>) -> Self {
            self.config.limits.max_ratio = super::layer::MaxRatio::Set(ratio);
            self
        }
    };
}

mod body;
mod coding;
mod error;
mod future;
mod layer;
mod reader;
mod service;

pub use body::DecompressionBody;
pub use error::{DecodeError, RatioLimitExceeded, SizeLimitExceeded, UnsupportedTransferCoding};

pub use future::ResponseFuture;
pub use layer::DecompressionLayer;
pub use service::Decompression;

/// A request extension: the response to a request carrying it is left as the server sent it, headers
/// and bytes, as for a `Range` request, and nothing is advertised (the request's own
/// `Accept-Encoding`, if any, goes as it is). Transfer codings are still undone. For a caller that
/// saves bytes as received, as Courier's downloader does (`Accept-Encoding: identity` with it).
///
/// ```
/// use courier_core::decompression::KeepEncoded;
///
/// let mut request = http::Request::get("http://127.0.0.1:8080/a.tar.gz")
///     .header(http::header::ACCEPT_ENCODING, "identity")
///     .body(courier_core::Body::empty())
///     .unwrap();
/// request.extensions_mut().insert(KeepEncoded);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeepEncoded;

/// The default limit on a decoded body: 1 GiB.
///
/// Generous enough for large legitimate downloads, small enough that a decompression bomb (a few
/// megabytes of zeros inflate 1000-fold) fails with a decode error instead of exhausting memory when
/// the body is collected. Change it with [`DecompressionLayer::max_size`].
pub const DEFAULT_MAX_SIZE: u64 = 1024 * 1024 * 1024;

/// The default limit on how many times larger than its compressed bytes a gzip or deflate body may
/// grow: 100.
///
/// Ordinary text, HTML and JSON compress 5:1 to 30:1 with them; a decompression bomb compresses about
/// 1000:1 (near deflate's ceiling of 1032:1). Counted over the whole body once it passes
/// [`RATIO_EXEMPT_SIZE`], so a bomb fails after a few megabytes whichever way the body is read, long
/// before [`DEFAULT_MAX_SIZE`]. Change it with [`DecompressionLayer::max_ratio`].
pub const DEFAULT_MAX_RATIO: u32 = 100;

/// The default ratio limit for br and zstd bodies: 1000.
///
/// They compress repetitive data far better than gzip (a JSON export of similar rows: 31:1 with gzip,
/// 77:1 with br, 139:1 with zstd at level 19), and their bombs far better still (a run of zeros: tens
/// of thousands to one), so their limit sits higher. Stacked codings get the lowest of their limits.
pub const DEFAULT_MAX_RATIO_BR_ZSTD: u32 = 1000;

/// Decoded bodies up to this size (8 MiB) are never held to the ratio limit: small, very compressible
/// bodies (a page of zeros, a sparse file's first blocks) cost little memory whatever their ratio.
pub const RATIO_EXEMPT_SIZE: u64 = 8 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DecompressionBody<hyper::body::Incoming>>();
        assert_send_sync::<Decompression<crate::transport::Transport>>();
        assert_send_sync::<DecompressionLayer>();
        // As `Send` as the inner future (the transport's is not `Sync`).
        fn assert_send<T: Send>() {}
        assert_send::<ResponseFuture<crate::transport::ResponseFuture>>();
    }
}
