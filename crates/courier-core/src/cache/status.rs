//! What a request asks of the cache ([`CacheMode`]) and what the cache did ([`CacheStatus`], and the
//! RFC 9211 `Cache-Status` member it adds).

use std::fmt::Write as _;

use http::HeaderValue;

/// How a request uses the cache: the modes of the Fetch standard's `Request.cache`.
///
/// Set per request as a request extension (the facade's `RequestBuilder::cache_mode` does it); without
/// one, a request is [`Default`](CacheMode::Default).
///
/// ```
/// use courier_core::cache::CacheMode;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(CacheMode::NoCache);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CacheMode {
    /// Fresh stored responses are used; stale ones are revalidated; responses are stored.
    #[default]
    Default,
    /// The cache is not consulted and nothing is stored, as if there were no cache.
    NoStore,
    /// The cache is not consulted, but the response is stored.
    Reload,
    /// A stored response is always revalidated with the origin before use.
    NoCache,
    /// A stored response is used however stale; only a miss goes to the network.
    ForceCache,
    /// A stored response is used however stale; a miss is a `504 Gateway Timeout`, never a request.
    OnlyIfCached,
}

/// What the cache did for a response; in the response's extensions, and as an RFC 9211 `Cache-Status`
/// header on responses that passed through a cache.
///
/// ```
/// use courier_core::cache::CacheStatus;
///
/// assert!(CacheStatus::Hit.is_hit());
/// assert!(CacheStatus::Miss { stored: true }.is_stored());
/// assert!(!CacheStatus::Miss { stored: false }.is_stored());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheStatus {
    /// A fresh stored response, served without a request.
    Hit,
    /// A stale stored response, served without validation: accepted by `max-stale`, by
    /// `stale-while-revalidate` (the revalidation runs in the background), by `stale-if-error` (the
    /// origin failed), or by [`CacheMode::ForceCache`] / [`CacheMode::OnlyIfCached`].
    Stale,
    /// A stored response, validated by a `304 Not Modified` and served with its updated headers.
    Revalidated,
    /// The response came from the network; `stored` tells whether it is being stored (it is in the
    /// cache once its body has been read to the end).
    Miss {
        /// Whether the response is being stored.
        stored: bool,
    },
    /// The cache was not consulted: no cache is configured, [`CacheMode::NoStore`], a method the cache
    /// does not answer (unsafe methods still invalidate), a `Range` or conditional request of the
    /// caller's own.
    Bypass,
}

impl CacheStatus {
    /// Whether the response was served from the cache (fresh, stale or revalidated).
    pub fn is_hit(self) -> bool {
        matches!(
            self,
            CacheStatus::Hit | CacheStatus::Stale | CacheStatus::Revalidated
        )
    }

    /// Whether the response is in the cache (or being stored) after this exchange.
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            CacheStatus::Hit
                | CacheStatus::Stale
                | CacheStatus::Revalidated
                | CacheStatus::Miss { stored: true }
        )
    }
}

/// Why a request went to the origin: RFC 9211's `fwd` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Forward {
    Bypass,
    Method,
    UriMiss,
    VaryMiss,
    Request,
    Stale,
}

impl Forward {
    fn token(self) -> &'static str {
        match self {
            Forward::Bypass => "bypass",
            Forward::Method => "method",
            Forward::UriMiss => "uri-miss",
            Forward::VaryMiss => "vary-miss",
            Forward::Request => "request",
            Forward::Stale => "stale",
        }
    }
}

/// Everything one `Cache-Status` member says.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Report {
    pub(crate) hit: bool,
    pub(crate) forward: Option<Forward>,
    pub(crate) fwd_status: Option<u16>,
    pub(crate) ttl: Option<i64>,
    pub(crate) stored: bool,
    pub(crate) detail: Option<&'static str>,
}

impl Report {
    /// The member, e.g. `courier; hit; ttl=58` or `courier; fwd=uri-miss; fwd-status=200; stored`.
    pub(crate) fn header_value(&self) -> HeaderValue {
        let mut out = String::from("courier");
        if self.hit {
            out.push_str("; hit");
        }
        if let Some(forward) = self.forward {
            let _ = write!(out, "; fwd={}", forward.token());
        }
        if let Some(status) = self.fwd_status {
            let _ = write!(out, "; fwd-status={status}");
        }
        if let Some(ttl) = self.ttl {
            let _ = write!(out, "; ttl={ttl}");
        }
        if self.stored {
            out.push_str("; stored");
        }
        if let Some(detail) = self.detail {
            let _ = write!(out, "; detail={detail}");
        }
        HeaderValue::try_from(out).unwrap_or(HeaderValue::from_static("courier"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_status_members() {
        let hit = Report {
            hit: true,
            ttl: Some(58),
            ..Report::default()
        };
        assert_eq!(hit.header_value(), "courier; hit; ttl=58");
        let miss = Report {
            forward: Some(Forward::UriMiss),
            fwd_status: Some(200),
            stored: true,
            ..Report::default()
        };
        assert_eq!(
            miss.header_value(),
            "courier; fwd=uri-miss; fwd-status=200; stored"
        );
        let stale = Report {
            hit: true,
            ttl: Some(-5),
            detail: Some("stale-while-revalidate"),
            ..Report::default()
        };
        assert_eq!(
            stale.header_value(),
            "courier; hit; ttl=-5; detail=stale-while-revalidate"
        );
        let stale_if_error = Report {
            forward: Some(Forward::Stale),
            fwd_status: Some(503),
            ttl: Some(-5),
            detail: Some("stale-if-error"),
            ..Report::default()
        };
        assert_eq!(
            stale_if_error.header_value(),
            "courier; fwd=stale; fwd-status=503; ttl=-5; detail=stale-if-error"
        );
    }
}
