//! Sending a request again. [`RequestCopy`]: a request's head kept to build it again, and
//! [`try_clone_request`] for a whole request: the layers that resend (auth after a challenge, redirect
//! on each hop, cache on a revalidation, retry and the transport on a stale connection) all copy
//! requests through here. [`Attempt`]: the request in flight for the layers whose future sends
//! again (auth, redirect).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Extensions, HeaderMap, Method, Request, Uri, Version};
use pin_project_lite::pin_project;
use tower::util::Oneshot;
use tower_service::Service;

use crate::body::TryCloneBody;

/// A copy of a request's head (all but the body), to build the request again.
///
/// The fields are open to the layers: redirect rewrites method, URI and headers between hops.
#[derive(Clone, Debug)]
pub(crate) struct RequestCopy {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) extensions: Extensions,
}

impl RequestCopy {
    pub(crate) fn of<B>(req: &Request<B>) -> RequestCopy {
        RequestCopy {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
            extensions: req.extensions().clone(),
        }
    }

    /// The same request as a `GET`: a background revalidation started by a `HEAD` must fetch the
    /// representation it replaces, body included.
    pub(crate) fn into_get(mut self) -> RequestCopy {
        self.method = Method::GET;
        self
    }

    /// The request again, with an empty body.
    pub(crate) fn to_request<B: Default>(&self) -> Request<B> {
        self.with_body(B::default())
    }

    /// The request again, with `body`.
    pub(crate) fn with_body<B>(&self, body: B) -> Request<B> {
        self.clone().into_request(body)
    }

    /// The request, with `body`, keeping no copy.
    pub(crate) fn into_request<B>(self, body: B) -> Request<B> {
        let mut req = Request::new(body);
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers;
        *req.extensions_mut() = self.extensions;
        req
    }
}

/// A copy of `req`, body included; `None` when the body cannot be copied (a stream).
pub(crate) fn try_clone_request<B: TryCloneBody>(req: &Request<B>) -> Option<Request<B>> {
    let body = req.body().try_clone_body()?;
    Some(RequestCopy::of(req).into_request(body))
}

pin_project! {
    /// One request to the inner service: the first, called by the layer's service, or one sent
    /// again, which waits on a fresh clone of the service to be ready first.
    #[project = AttemptProj]
    pub(crate) enum Attempt<S: Service<Request<B>>, B> {
        First {
            #[pin]
            future: S::Future,
        },
        // Boxed: only requests sent again pay for the room.
        Again {
            oneshot: Pin<Box<Oneshot<S, Request<B>>>>,
        },
    }
}

impl<S: Service<Request<B>>, B> Attempt<S, B> {
    /// The attempt behind `future`, the inner service's answer to the first request.
    pub(crate) fn first(future: S::Future) -> Self {
        Attempt::First { future }
    }

    /// `req` sent again, on `service` (a clone of the inner service).
    pub(crate) fn again(service: S, req: Request<B>) -> Self {
        Attempt::Again {
            oneshot: Box::pin(Oneshot::new(service, req)),
        }
    }

    /// The inner service's response.
    pub(crate) fn poll_response(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<S::Response, S::Error>> {
        match self.project() {
            AttemptProj::First { future } => future.poll(cx),
            AttemptProj::Again { oneshot } => oneshot.as_mut().poll(cx),
        }
    }
}
