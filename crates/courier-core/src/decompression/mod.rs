//! Advertises `Accept-Encoding` and decodes compressed response bodies as they stream.
//!
//! [`DecompressionLayer`] wraps a service in [`Decompression`], which:
//!
//! - **on the request**, sets `Accept-Encoding` to the enabled codings — `gzip, deflate, br, zstd` by
//!   default — when the request has none;
//! - **on the response**, reads `Content-Encoding` (a comma-separated list, case-insensitive, possibly
//!   over several header lines; `identity` ignored; `x-gzip` means `gzip`) and decodes the body with
//!   async-compression's streaming decoders, undoing stacked codings last first (`gzip, br` is decoded
//!   as Brotli, then gzip). `Content-Encoding` and `Content-Length` are removed from decoded responses,
//!   since they describe the bytes on the wire. The body streams in blocks of up to 32 KiB; it is never
//!   buffered whole.
//!
//! `deflate` is zlib-wrapped per RFC 9110, but raw deflate is accepted too (told apart by the first two
//! bytes). Concatenated gzip members and zstd frames are decoded in full.
//!
//! ## What it does not do
//!
//! - It leaves the response untouched — headers and bytes — when the request carried its own
//!   `Accept-Encoding` (the caller asked for those bytes), for `HEAD` requests, `204` and `304`
//!   responses, empty bodies, and a `Content-Encoding` with any coding it cannot decode (an unknown one,
//!   one turned off, one whose Cargo feature is off, or more than four stacked), rather than decode part
//!   of it into garbage.
//! - It does not compress request bodies.
//! - It does not verify `Content-MD5` or `Digest`-style headers.
//!
//! ## Errors
//!
//! Reading a decoded body fails with a Courier [`Error`](crate::Error) for which
//! [`is_decode`](crate::Error::is_decode) is true when the stream is corrupt or truncated (the cause is a
//! [`DecodeError`] naming the coding) or when the decoded body grows past
//! [`max_size`](DecompressionLayer::max_size) ([`SizeLimitExceeded`]). Errors of the inner body, such as
//! a connection cut mid-body, stay [`is_body`](crate::Error::is_body) errors.
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

mod body;
mod coding;
mod error;
mod future;
mod layer;
mod reader;
mod service;

pub use body::DecompressionBody;
pub use error::{DecodeError, SizeLimitExceeded};
pub use future::ResponseFuture;
pub use layer::DecompressionLayer;
pub use service::Decompression;

/// The default limit on a decoded body: 1 GiB.
///
/// Generous enough for large legitimate downloads, small enough that a decompression bomb (a few
/// megabytes of zeros inflate 1000-fold) fails with a decode error instead of exhausting memory when
/// the body is collected. Change it with [`DecompressionLayer::max_size`].
pub const DEFAULT_MAX_SIZE: u64 = 1024 * 1024 * 1024;

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
