//! [`ResponseFuture`] of [`CookieManager`](super::CookieManager).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::SET_COOKIE;
use http::{Response, Uri};
use pin_project_lite::pin_project;
use url::Url;

use super::CookieStore;
use crate::error::{BoxError, Error};

/// The request URL the response's cookies are stored for.
#[derive(Debug)]
pub(crate) enum RequestUrl {
    /// Already parsed (the request needed it for its `Cookie` header).
    Url(Url),
    /// Parsed only if the response sets a cookie.
    Uri(Uri),
}

pin_project! {
    /// The response future of [`CookieManager`](super::CookieManager): the inner future, and then the
    /// response's `Set-Cookie` headers stored in the cookie store.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        target: Option<(Arc<dyn CookieStore>, RequestUrl)>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(
        inner: F,
        target: Option<(Arc<dyn CookieStore>, RequestUrl)>,
    ) -> ResponseFuture<F> {
        ResponseFuture { inner, target }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<B>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx)).map_err(Error::from_service)?;
        if let Some((store, target)) = this.target.take() {
            if response.headers().contains_key(SET_COOKIE) {
                let url = match target {
                    RequestUrl::Url(url) => Some(url),
                    RequestUrl::Uri(uri) => crate::urls::to_url(&uri).ok(),
                };
                if let Some(url) = url {
                    store.set_cookies(&mut response.headers().get_all(SET_COOKIE).iter(), &url);
                }
            }
        }
        Poll::Ready(Ok(response))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
