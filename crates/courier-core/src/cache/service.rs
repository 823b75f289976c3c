//! [`Caching`]: the service that decides, per request, whether to answer from the cache, validate,
//! revalidate in the background, forward, or invalidate; multi-step exchanges are in `validate.rs`.

use std::task::{Context, Poll};

use http::header::{RANGE, UPGRADE};
use http::{Method, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::CacheBody;
use super::exchange::{age_of, has_own_conditionals, Forwarded};
use super::future::ResponseFuture;
use super::handle::{key, Cache};
use super::policy::{self, Directives, Verdict};
use super::respond::{from_entry, gateway_timeout};
use super::status::{CacheMode, CacheStatus, Forward, Report};
use super::validate::{invalidate, revalidate, spawn_revalidation};
use crate::decompression::KeepEncoded;
use crate::error::{BoxError, Error};
use crate::resend::RequestCopy;

/// The service made by [`CachingLayer`](super::CachingLayer): answers `GET` and `HEAD` from the cache where
/// it may, validates stale entries, stores cacheable responses as they are read, and invalidates after
/// unsafe requests.
///
/// ```
/// use courier_core::cache::{Cache, Caching};
///
/// let service = Caching::new(
///     tower::service_fn(|_req: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
///     }),
///     Cache::in_memory(),
/// );
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Caching<S> {
    inner: S,
    cache: Option<Cache>,
}

impl<S> Caching<S> {
    /// Wraps `inner` with `cache`.
    pub fn new(inner: S, cache: Cache) -> Self {
        Caching {
            inner,
            cache: Some(cache),
        }
    }

    /// Wraps `inner` with `cache`, or passes everything through when there is none (how the facade
    /// keeps one stack type whether or not a cache is configured).
    pub fn optional(inner: S, cache: Option<Cache>) -> Self {
        Caching { inner, cache }
    }

    /// The cache, if there is one.
    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Caching<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqB: Default + Send + 'static,
    ResB: Body<Data = bytes::Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<CacheBody<ResB>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let Some(cache) = self.cache.clone() else {
            return ResponseFuture::pass(self.inner.call(req));
        };
        let method = req.method().clone();
        let mode = req
            .extensions()
            .get::<CacheMode>()
            .copied()
            .unwrap_or_default();
        let request = Directives::of(req.headers());
        // `only-if-cached`: a stored response or a 504, never the network (RFC 9111 §5.2.1.7).
        let offline = mode == CacheMode::OnlyIfCached || request.only_if_cached;
        if policy::is_unsafe(&method) {
            if offline {
                return ResponseFuture::ready(gateway_timeout());
            }
            let inner = take_ready(&mut self.inner);
            return ResponseFuture::boxed(Box::pin(invalidate(cache, inner, req)));
        }
        let key = key(req.uri());
        let mut ctx = Forwarded {
            request_headers: selecting_headers(&req),
            request_time: cache.now(),
            cache,
            key,
            method: method.clone(),
            request,
            forward: Forward::UriMiss,
            head_of: None,
        };
        let head = method == Method::HEAD;
        if method != Method::GET && !head {
            if offline {
                return ResponseFuture::ready(gateway_timeout());
            }
            ctx.forward = Forward::Method;
            return ResponseFuture::forward(self.inner.call(req), ctx);
        }
        // A response kept as sent (`KeepEncoded`) is not the one a plain request would store or be
        // served: it may still be content-coded, which the layer below would otherwise have decoded.
        // An upgrade (a WebSocket handshake) asks for a connection, not a representation: browsers
        // send it with the cache mode "no-store" (WHATWG WebSockets).
        if mode == CacheMode::NoStore
            || req.headers().contains_key(RANGE)
            || req.headers().contains_key(UPGRADE)
            || req.extensions().get::<KeepEncoded>().is_some()
            || has_own_conditionals(req.headers())
        {
            if offline {
                return ResponseFuture::ready(gateway_timeout());
            }
            ctx.forward = Forward::Bypass;
            return ResponseFuture::forward(self.inner.call(req), ctx);
        }
        if mode == CacheMode::Reload {
            if offline {
                return ResponseFuture::ready(gateway_timeout());
            }
            ctx.forward = Forward::Request;
            return ResponseFuture::forward(self.inner.call(req), ctx);
        }
        let stored = match ctx.cache.get(&ctx.key) {
            Some(entry)
                if policy::vary_matches(&entry.vary, &ctx.request_headers, ctx.cache.secret()) =>
            {
                entry
            }
            found => {
                if found.is_some() {
                    ctx.forward = Forward::VaryMiss;
                }
                if offline {
                    return ResponseFuture::ready(gateway_timeout());
                }
                return ResponseFuture::forward(self.inner.call(req), ctx);
            }
        };
        let age = age_of(&stored, ctx.request_time);
        let response_directives = Directives::of(&stored.headers);
        let verdict = match mode {
            CacheMode::NoCache => Verdict::Revalidate,
            CacheMode::ForceCache | CacheMode::OnlyIfCached => {
                match policy::verdict(&ctx.request, &response_directives, age) {
                    Verdict::Fresh => Verdict::Fresh,
                    _ => Verdict::StaleAccepted,
                }
            }
            _ => policy::verdict(&ctx.request, &response_directives, age),
        };
        let hit = Report {
            hit: true,
            ..Report::default()
        };
        match verdict {
            Verdict::Fresh => {
                ResponseFuture::ready(from_entry(&stored, age, head, CacheStatus::Hit, hit))
            }
            // Within `stale-while-revalidate` but offline: served stale, with no request behind it.
            Verdict::StaleWhileRevalidate if offline => {
                ResponseFuture::ready(from_entry(&stored, age, head, CacheStatus::Stale, hit))
            }
            Verdict::StaleAccepted => {
                ResponseFuture::ready(from_entry(&stored, age, head, CacheStatus::Stale, hit))
            }
            Verdict::StaleWhileRevalidate => {
                // The background request refreshes the stored `GET`, whatever the caller sent.
                let mut copy = RequestCopy::of(&req).into_get();
                // The caller's total timeout is not the background request's (it has its own limit).
                copy.extensions.remove::<crate::timeout::Deadline>();
                let background = Forwarded {
                    request_headers: ctx.request_headers.clone(),
                    cache: ctx.cache.clone(),
                    key: ctx.key.clone(),
                    method: Method::GET,
                    request: ctx.request.clone(),
                    request_time: ctx.request_time,
                    forward: Forward::Stale,
                    head_of: None,
                };
                spawn_revalidation(self.inner.clone(), copy, stored.clone(), background);
                let report = Report {
                    detail: Some("stale-while-revalidate"),
                    ..hit
                };
                ResponseFuture::ready(from_entry(&stored, age, head, CacheStatus::Stale, report))
            }
            Verdict::Revalidate if offline => ResponseFuture::ready(gateway_timeout()),
            Verdict::Revalidate if head => {
                // A `HEAD` is sent as it is; a matching response refreshes the stored `GET`.
                ctx.forward = Forward::Stale;
                ctx.head_of = Some(stored);
                ResponseFuture::forward(self.inner.call(req), ctx)
            }
            Verdict::Revalidate => {
                ctx.forward = Forward::Stale;
                let inner = take_ready(&mut self.inner);
                ResponseFuture::boxed(Box::pin(revalidate(inner, req, stored, ctx)))
            }
        }
    }
}

/// The request's headers as stored responses are selected by: with the credentials it carries for
/// the auth layer below (`digest_auth`), under [`policy::REQUEST_CREDENTIALS`], so that one user's
/// response never answers another user's request, nor one with no credentials.
fn selecting_headers<B>(req: &Request<B>) -> http::HeaderMap {
    let mut headers = req.headers().clone();
    if let Some(own) = req.extensions().get::<crate::auth::RequestCredentials>() {
        headers.insert(
            http::HeaderName::from_static(policy::REQUEST_CREDENTIALS),
            http::HeaderValue::from(own.fingerprint()),
        );
    }
    headers
}

/// The service that was driven to readiness, leaving a clone in its place (tower's usual move for
/// services whose futures outlive `call`).
fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}
