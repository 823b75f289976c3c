//! [`CookieManager`], the service made by [`CookieManagerLayer`](super::CookieManagerLayer).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::COOKIE;
use http::{Request, Response};
use tower_service::Service;

use super::future::{RequestUrl, ResponseFuture};
use super::CookieStore;
use crate::error::{BoxError, Error};

/// Adds the store's `Cookie` header to requests and stores responses' `Set-Cookie` headers.
///
/// Made by [`CookieManagerLayer`](super::CookieManagerLayer); see the [module docs](super).
#[derive(Clone)]
pub struct CookieManager<S> {
    inner: S,
    store: Option<Arc<dyn CookieStore>>,
}

impl<S> CookieManager<S> {
    /// Wraps `inner`, using `store` (a [`Jar`](super::Jar) or any [`CookieStore`]).
    pub fn new<C: CookieStore + 'static>(inner: S, store: Arc<C>) -> CookieManager<S> {
        CookieManager {
            inner,
            store: Some(store),
        }
    }

    /// Wraps `inner`, using `store` when there is one and passing requests through untouched
    /// otherwise: a stack whose cookie store is optional keeps one type either way.
    pub fn optional(inner: S, store: Option<Arc<dyn CookieStore>>) -> CookieManager<S> {
        CookieManager { inner, store }
    }

    /// The cookie store, if there is one.
    pub fn store(&self) -> Option<&Arc<dyn CookieStore>> {
        self.store.as_ref()
    }

    inner_service_accessors!();
}

impl<S: std::fmt::Debug> std::fmt::Debug for CookieManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieManager")
            .field("inner", &self.inner)
            .field("store", &self.store.as_ref().map(|_| "CookieStore"))
            .finish()
    }
}

impl<S, B, ResB> Service<Request<B>> for CookieManager<S>
where
    S: Service<Request<B>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
{
    type Response = Response<ResB>;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(store) = &self.store else {
            return ResponseFuture::new(self.inner.call(req), None);
        };
        let uri = req.uri();
        // Cookies belong to an origin: a request without scheme and authority has none to go by.
        let target = if uri.scheme().is_none() || uri.authority().is_none() {
            None
        } else if store.may_have_cookies() && !req.headers().contains_key(COOKIE) {
            let url = crate::urls::to_url(uri).ok();
            if let Some(value) = url.as_ref().and_then(|url| store.cookies(url)) {
                req.headers_mut().insert(COOKIE, value);
            }
            url.map(RequestUrl::Url)
        } else {
            // The common case with an empty jar: keep the URI (reference-counted) and only turn it into
            // a URL if the response sets a cookie.
            Some(RequestUrl::Uri(uri.clone()))
        };
        ResponseFuture::new(
            self.inner.call(req),
            target.map(|target| (store.clone(), target)),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::header::SET_COOKIE;
    use http::HeaderValue;
    use tower::ServiceExt;
    use url::Url;

    use super::*;
    use crate::cookie::Jar;

    /// Echoes the request's `Cookie` header as the body; sets the cookies of the query `set=a=1&b=2`.
    async fn server(req: Request<()>) -> Result<Response<Option<HeaderValue>>, Infallible> {
        let mut res = Response::new(req.headers().get(COOKIE).cloned());
        if let Some(query) = req.uri().query() {
            for cookie in query.strip_prefix("set=").unwrap_or("").split('&') {
                res.headers_mut()
                    .append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
            }
        }
        Ok(res)
    }

    fn get(uri: &str) -> Request<()> {
        Request::get(uri).body(()).unwrap()
    }

    #[tokio::test]
    async fn stores_then_sends() {
        let jar = Arc::new(Jar::new());
        let svc = CookieManager::new(tower::service_fn(server), jar.clone());
        let res = svc
            .clone()
            .oneshot(get("http://example.com/?set=a=1&b=2"))
            .await
            .unwrap();
        assert_eq!(res.body(), &None);
        assert_eq!(jar.len(), 2);
        let res = svc.oneshot(get("http://example.com/x")).await.unwrap();
        assert_eq!(res.body().as_ref().unwrap(), "a=1; b=2");
    }

    #[tokio::test]
    async fn relative_uris_pass_through() {
        let jar = Arc::new(Jar::new());
        let url = Url::parse("http://example.com/").unwrap();
        jar.add_cookie_str("a=1", &url);
        let svc = CookieManager::new(tower::service_fn(server), jar.clone());
        let res = svc.oneshot(get("/path?set=b=2")).await.unwrap();
        assert_eq!(res.body(), &None);
        assert_eq!(jar.cookie_header(&url).unwrap(), "a=1");
    }

    #[tokio::test]
    async fn an_explicit_cookie_header_is_left_alone() {
        let jar = Arc::new(Jar::new());
        jar.add_cookie_str("a=1", &Url::parse("http://example.com/").unwrap());
        let svc = CookieManager::new(tower::service_fn(server), jar.clone());
        let mut req = get("http://example.com/?set=b=2");
        req.headers_mut()
            .insert(COOKIE, HeaderValue::from_static("mine=1"));
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.body().as_ref().unwrap(), "mine=1");
        // The response's cookies are still stored.
        let res = svc.oneshot(get("http://example.com/")).await.unwrap();
        assert_eq!(res.body().as_ref().unwrap(), "a=1; b=2");
    }

    #[tokio::test]
    async fn errors_become_courier_errors_and_store_nothing() {
        let jar = Arc::new(Jar::new());
        let failing = tower::service_fn(|_req: Request<()>| async {
            Err::<Response<()>, _>("inner failure")
        });
        let err = CookieManager::new(failing, jar.clone())
            .oneshot(get("http://example.com/"))
            .await
            .unwrap_err();
        assert!(err.is_request(), "{err:?}");
        let cause = std::error::Error::source(&err).unwrap();
        assert_eq!(cause.to_string(), "inner failure");
        assert!(jar.is_empty());
    }
}
