//! [`RequestCopy`]: a request's head kept to send the request again, and [`try_clone_request`] for a
//! whole request. The layers that resend (auth after a challenge, redirect on each hop, cache on a
//! revalidation, retry and the transport on a stale connection) all copy requests through here.

use http::{Extensions, HeaderMap, Method, Request, Uri, Version};

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
