use tower_layer::Layer;

use super::coding::Coding;
use super::coding::{AcceptEncoding, Codings};
use super::error::{RatioLimitExceeded, SizeLimitExceeded};
use super::service::Decompression;
use super::{DEFAULT_MAX_RATIO, DEFAULT_MAX_RATIO_BR_ZSTD, DEFAULT_MAX_SIZE};
use crate::error::BoxError;

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
    pub(crate) max_ratio: MaxRatio,
}

/// The ratio limit: each coding's default, or one the caller set for all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MaxRatio {
    /// [`DEFAULT_MAX_RATIO`] for gzip and deflate, [`DEFAULT_MAX_RATIO_BR_ZSTD`] for br and zstd; the
    /// lowest of them for stacked codings.
    PerCoding,
    Set(Option<u32>),
}

impl MaxRatio {
    fn for_codings(self, codings: &Codings) -> Option<u32> {
        match self {
            MaxRatio::Set(ratio) => ratio,
            MaxRatio::PerCoding => codings.decode_order().map(default_ratio).min(),
        }
    }
}

/// A coding's default ratio limit: what its ordinary data stays well under, and its bombs far over.
fn default_ratio(coding: Coding) -> u32 {
    match coding {
        #[cfg(feature = "brotli")]
        Coding::Brotli => DEFAULT_MAX_RATIO_BR_ZSTD,
        #[cfg(feature = "zstd")]
        Coding::Zstd => DEFAULT_MAX_RATIO_BR_ZSTD,
        #[allow(unreachable_patterns)]
        _ => DEFAULT_MAX_RATIO,
    }
}

impl Limits {
    /// The limit `decoded` bytes break, out of `received` compressed ones, if any: the size cap, or,
    /// past [`RATIO_EXEMPT_SIZE`](super::RATIO_EXEMPT_SIZE), the ratio. The same rule holds the decoded
    /// body and, for stacked codings, what each inner decoder hands the next.
    pub(crate) fn exceeded(
        &self,
        decoded: u64,
        received: u64,
        codings: &Codings,
    ) -> Option<BoxError> {
        if let Some(limit) = self.max_size {
            if decoded > limit {
                return Some(Box::new(SizeLimitExceeded::new(limit, codings)));
            }
        }
        let ratio = self.max_ratio.for_codings(codings)?;
        if decoded <= super::RATIO_EXEMPT_SIZE {
            return None;
        }
        // Over the whole body so far: a bomb's ratio is in the thousands from its first bytes, ordinary
        // text and JSON stay near 10:1, and one very compressible stretch of a large body is averaged
        // out.
        (decoded > received.saturating_mul(u64::from(ratio)))
            .then(|| Box::new(RatioLimitExceeded::new(ratio, codings)) as BoxError)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_ratio: MaxRatio::PerCoding,
        }
    }
}

/// A [`Layer`] that advertises `Accept-Encoding` and decodes compressed response bodies as they stream.
///
/// Every coding compiled in (Cargo features `gzip`, `deflate`, `brotli`, `zstd`) is on by default;
/// turning one on whose feature is off has no effect. Decoded bodies are capped at
/// [`DEFAULT_MAX_SIZE`] bytes and, past [`RATIO_EXEMPT_SIZE`](super::RATIO_EXEMPT_SIZE), at
/// [`DEFAULT_MAX_RATIO`] (gzip, deflate) or [`DEFAULT_MAX_RATIO_BR_ZSTD`] (br, zstd) times their
/// compressed size, unless [`max_size`](DecompressionLayer::max_size)
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

    decompression_settings!();
}

impl<S> Layer<S> for DecompressionLayer {
    type Service = Decompression<S>;

    fn layer(&self, inner: S) -> Decompression<S> {
        Decompression::from_config(inner, self.config)
    }
}
