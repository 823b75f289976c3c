//! The exchanges that need more than one step, as async functions boxed by the service: validating a
//! stale entry (with `stale-if-error`), revalidating in the background (`stale-while-revalidate`), and
//! invalidating after an unsafe request.

use std::sync::Arc;

use http::header::{CONTENT_LOCATION, LOCATION};
use http::{Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_service::Service;

use super::body::CacheBody;
use super::exchange::{add_validators, age_of, Forwarded};
use super::handle::{key, Cache};
use super::policy::{self, Directives};
use super::respond::{from_entry, mark};
use super::status::{CacheStatus, Forward, Report};
use super::store::Entry;
use crate::error::{BoxError, Error};
use crate::resend::RequestCopy;

/// The longest a background revalidation may take, body included. One that takes longer is dropped
/// unstored; the next stale request starts another.
const BACKGROUND_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Sends `req` made conditional on `entry`; a `304` that matches it refreshes and serves it, an error
/// or a 5xx within `stale-if-error` serves it stale, anything else is a new response (stored if it may
/// be).
pub(crate) async fn revalidate<S, ReqB, ResB>(
    inner: S,
    mut req: Request<ReqB>,
    entry: Arc<Entry>,
    ctx: Forwarded,
) -> Result<Response<CacheBody<ResB>>, Error>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ReqB: Default,
    ResB: Body,
{
    let copy = RequestCopy::of(&req);
    let spare = inner.clone();
    let conditional = add_validators(req.headers_mut(), &entry.headers);
    let result = inner.oneshot(req).await.map_err(Error::from_service);
    let response_directives = Directives::of(&entry.headers);
    // The origin failed: the stale entry stands in, reported as a forward that failed, not a hit
    // (RFC 9211 §2.2, §2.3), with the origin's status when there was one.
    let serve_stale = |fwd_status: Option<u16>| {
        let age = age_of(&entry, ctx.cache.now());
        policy::stale_if_error(&ctx.request, &response_directives, age).then(|| {
            let report = Report {
                forward: Some(Forward::Stale),
                fwd_status,
                detail: Some("stale-if-error"),
                ..Report::default()
            };
            from_entry(&entry, age, false, CacheStatus::Stale, report)
        })
    };
    let response = match result {
        Err(err) => {
            return serve_stale(None).ok_or(err);
        }
        Ok(response) => response,
    };
    if policy::is_error_status(response.status()) {
        if let Some(stale) = serve_stale(Some(response.status().as_u16())) {
            return Ok(stale);
        }
    }
    if response.status() == StatusCode::NOT_MODIFIED && conditional {
        if policy::validators_match(&entry.headers, response.headers()) {
            let updated = ctx.update(&entry, response.headers());
            let age = age_of(&updated, ctx.cache.now());
            let report = Report {
                forward: Some(Forward::Stale),
                fwd_status: Some(304),
                ..Report::default()
            };
            return Ok(from_entry(
                &updated,
                age,
                false,
                CacheStatus::Revalidated,
                report,
            ));
        }
        // The 304 is about another representation than the one stored: drop ours and ask again,
        // unconditionally.
        ctx.cache.remove_key(&ctx.key);
        let response = spare
            .oneshot(copy.to_request())
            .await
            .map_err(Error::from_service)?;
        return Ok(ctx.finish(response));
    }
    Ok(ctx.finish(response))
}

/// Revalidates `entry` once in the background (RFC 5861 §3), if a tokio runtime is running and no other
/// revalidation of it is under way; the response updates or replaces the entry.
pub(crate) fn spawn_revalidation<S, ReqB, ResB>(
    inner: S,
    copy: RequestCopy,
    entry: Arc<Entry>,
    ctx: Forwarded,
) where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqB: Default + Send + 'static,
    ResB: Body<Data = bytes::Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if !ctx.cache.begin_revalidation(&ctx.key) {
        return;
    }
    let guard = Revalidating {
        cache: ctx.cache.clone(),
        key: ctx.key.clone(),
    };
    let revalidate = async move {
        let mut req: Request<ReqB> = copy.to_request();
        let conditional = add_validators(req.headers_mut(), &entry.headers);
        let Ok(response) = inner.oneshot(req).await else {
            return;
        };
        if response.status() == StatusCode::NOT_MODIFIED && conditional {
            if policy::validators_match(&entry.headers, response.headers()) {
                ctx.update(&entry, response.headers());
            }
            return;
        }
        // Reading the body to the end stores it. Nobody wants its bytes otherwise: stop reading
        // (closing the connection) once it cannot be stored (not storable, over the entry limit).
        let mut body = Box::pin(ctx.finish(response).into_body());
        while body.is_storing() {
            if !matches!(body.frame().await, Some(Ok(_))) {
                break;
            }
        }
    };
    runtime.spawn(async move {
        let _guard = guard;
        // No layer above the cache times this request out: a server that trickles the body must
        // not hold the key's revalidation (and a connection) forever.
        let _ = tokio::time::timeout(BACKGROUND_LIMIT, revalidate).await;
    });
}

/// Ends a background revalidation's claim however its task ends.
struct Revalidating {
    cache: Cache,
    key: String,
}

impl Drop for Revalidating {
    fn drop(&mut self) {
        self.cache.end_revalidation(&self.key);
    }
}

/// Sends an unsafe request; a success (2xx or 3xx) invalidates the stored responses for its URI and
/// for the same-origin URIs in `Location` and `Content-Location` (RFC 9111 §4.4).
pub(crate) async fn invalidate<S, ReqB, ResB>(
    cache: Cache,
    inner: S,
    req: Request<ReqB>,
) -> Result<Response<CacheBody<ResB>>, Error>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
{
    let uri = req.uri().clone();
    let response = inner.oneshot(req).await.map_err(Error::from_service)?;
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        cache.remove_key(&key(&uri));
        for name in [LOCATION, CONTENT_LOCATION] {
            if let Some(target) = same_origin_target(&uri, response.headers().get(name)) {
                cache.remove_key(&target);
            }
        }
    }
    let mut response = response.map(CacheBody::pass);
    let report = Report {
        forward: Some(Forward::Method),
        fwd_status: Some(status.as_u16()),
        ..Report::default()
    };
    mark(&mut response, CacheStatus::Bypass, report);
    Ok(response)
}

/// The key of a `Location`-like header's URI reference, resolved against `base`, when it has the same
/// origin.
fn same_origin_target(base: &Uri, value: Option<&http::HeaderValue>) -> Option<String> {
    let base = crate::urls::to_url(base).ok()?;
    let target = base.join(value?.to_str().ok()?.trim()).ok()?;
    (target.origin() == base.origin()).then(|| Some(key(&crate::urls::to_uri(&target).ok()?)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_targets_only() {
        let base: Uri = "http://127.0.0.1:8080/items/1".parse().unwrap();
        let value = |s: &'static str| http::HeaderValue::from_static(s);
        assert_eq!(
            same_origin_target(&base, Some(&value("/items/2#x"))).as_deref(),
            Some("http://127.0.0.1:8080/items/2")
        );
        assert_eq!(
            same_origin_target(&base, Some(&value("list"))).as_deref(),
            Some("http://127.0.0.1:8080/items/list")
        );
        assert_eq!(
            same_origin_target(&base, Some(&value("http://127.0.0.2:8080/items/2"))),
            None
        );
        assert_eq!(
            same_origin_target(&base, Some(&value("https://127.0.0.1:8080/items/2"))),
            None
        );
        assert_eq!(same_origin_target(&base, None), None);
    }
}
