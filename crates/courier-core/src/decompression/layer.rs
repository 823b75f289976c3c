use tower_layer::Layer;

use super::coding::AcceptEncoding;
use super::service::Decompression;
use super::DEFAULT_MAX_SIZE;

/// What a [`DecompressionLayer`] and its [`Decompression`] services accept and how much they decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) accept: AcceptEncoding,
    pub(crate) max_size: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            accept: AcceptEncoding::default(),
            max_size: Some(DEFAULT_MAX_SIZE),
        }
    }
}

/// A [`Layer`] that advertises `Accept-Encoding` and decodes compressed response bodies as they stream.
///
/// Every coding compiled in (Cargo features `gzip`, `deflate`, `brotli`, `zstd`) is on by default;
/// turning one on whose feature is off has no effect. Decoded bodies are capped at
/// [`DEFAULT_MAX_SIZE`] bytes unless [`max_size`](DecompressionLayer::max_size) says otherwise.
///
/// ```
/// use courier_core::decompression::DecompressionLayer;
///
/// let layer = DecompressionLayer::new()
///     .zstd(false)
///     .max_size(Some(64 * 1024 * 1024));
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
        self.config.max_size = limit;
        self
    }
}

impl<S> Layer<S> for DecompressionLayer {
    type Service = Decompression<S>;

    fn layer(&self, inner: S) -> Decompression<S> {
        Decompression::from_config(inner, self.config)
    }
}
