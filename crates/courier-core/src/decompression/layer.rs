use tower_layer::Layer;

use super::coding::AcceptEncoding;
use super::service::Decompression;
use super::{DEFAULT_MAX_RATIO, DEFAULT_MAX_SIZE};

/// What a [`DecompressionLayer`] and its [`Decompression`] services accept and how much they decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Config {
    pub(crate) accept: AcceptEncoding,
    pub(crate) limits: Limits,
}

/// How far a decoded body may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_size: Option<u64>,
    pub(crate) max_ratio: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_ratio: Some(DEFAULT_MAX_RATIO),
        }
    }
}

/// A [`Layer`] that advertises `Accept-Encoding` and decodes compressed response bodies as they stream.
///
/// Every coding compiled in (Cargo features `gzip`, `deflate`, `brotli`, `zstd`) is on by default;
/// turning one on whose feature is off has no effect. Decoded bodies are capped at
/// [`DEFAULT_MAX_SIZE`] bytes and, past [`RATIO_EXEMPT_SIZE`](super::RATIO_EXEMPT_SIZE), at
/// [`DEFAULT_MAX_RATIO`] times their compressed size, unless [`max_size`](DecompressionLayer::max_size)
/// and [`max_ratio`](DecompressionLayer::max_ratio) say otherwise.
///
/// ```
/// use courier_core::decompression::DecompressionLayer;
///
/// let layer = DecompressionLayer::new()
///     .zstd(false)
///     .max_size(Some(64 * 1024 * 1024))
///     .max_ratio(Some(1000));
/// # drop(layer);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct DecompressionLayer {
    config: Config,
}

impl DecompressionLayer {
    /// Every coding compiled in, and the default size limit.
    pub fn new() -> Self {
        Self::default()
    }

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
    /// The default is [`DEFAULT_MAX_SIZE`]. Bodies that are not decoded are not limited.
    pub fn max_size(mut self, limit: Option<u64>) -> Self {
        self.config.limits.max_size = limit;
        self
    }

    /// The most a decoded body may grow per compressed byte received, once it is larger than
    /// [`RATIO_EXEMPT_SIZE`](super::RATIO_EXEMPT_SIZE); past it, reading the body fails with a decode
    /// error whose cause is a [`RatioLimitExceeded`](super::RatioLimitExceeded). This stops bombs early
    /// (after megabytes, not the gigabyte of [`max_size`](DecompressionLayer::max_size)) whether the
    /// body is streamed or collected. `None` removes the limit. The default is [`DEFAULT_MAX_RATIO`].
    pub fn max_ratio(mut self, ratio: Option<u32>) -> Self {
        self.config.limits.max_ratio = ratio;
        self
    }
}

impl<S> Layer<S> for DecompressionLayer {
    type Service = Decompression<S>;

    fn layer(&self, inner: S) -> Decompression<S> {
        Decompression::from_config(inner, self.config)
    }
}
