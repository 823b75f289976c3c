//! Sending a request again. [`RequestCopy`]: a request's head kept to build it again (its headers as
//! [`SavedHeaders`]), [`SavedRequest`] and [`try_clone_request`] for a whole request: the layers that
//! resend (auth after a challenge, redirect on each hop, cache on a revalidation, retry and the
//! transport on a stale connection) all copy requests through here. [`Attempt`]: the request in flight for the layers whose future sends
//! again (auth, redirect).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{HeaderName, HeaderValue};
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
    pub(crate) headers: SavedHeaders,
    pub(crate) extensions: Extensions,
}

impl RequestCopy {
    pub(crate) fn of<B>(req: &Request<B>) -> RequestCopy {
        RequestCopy {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: SavedHeaders::of(req.headers()),
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
        let mut req = Request::new(body);
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.to_map();
        *req.extensions_mut() = self.extensions.clone();
        req
    }

    /// The request, with `body`, keeping no copy.
    pub(crate) fn into_request<B>(self, body: B) -> Request<B> {
        let mut req = Request::new(body);
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.into_map();
        *req.extensions_mut() = self.extensions;
        req
    }
}

/// A request's headers kept to send it again. Most copies are never used (no redirect, no stale
/// connection), so a copy starts as a flat list, one allocation where a `HeaderMap` takes two, and
/// becomes a map when it is changed or sent.
#[derive(Clone, Debug)]
pub(crate) enum SavedHeaders {
    /// Every value, in the map's order (a name's values together, in the order they were added).
    List(Vec<(HeaderName, HeaderValue)>),
    Map(HeaderMap),
}

impl SavedHeaders {
    pub(crate) fn of(headers: &HeaderMap) -> SavedHeaders {
        let mut list = Vec::with_capacity(headers.len());
        list.extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
        SavedHeaders::List(list)
    }

    /// The headers to change in place.
    pub(crate) fn map_mut(&mut self) -> &mut HeaderMap {
        if let SavedHeaders::List(list) = self {
            *self = SavedHeaders::Map(map_of(list.drain(..)));
        }
        match self {
            SavedHeaders::Map(map) => map,
            SavedHeaders::List(_) => unreachable!("made a map just above"),
        }
    }

    pub(crate) fn to_map(&self) -> HeaderMap {
        match self {
            SavedHeaders::List(list) => map_of(list.iter().cloned()),
            SavedHeaders::Map(map) => map.clone(),
        }
    }

    pub(crate) fn into_map(self) -> HeaderMap {
        match self {
            SavedHeaders::List(list) => map_of(list),
            SavedHeaders::Map(map) => map,
        }
    }
}

fn map_of(list: impl IntoIterator<Item = (HeaderName, HeaderValue)>) -> HeaderMap {
    let list = list.into_iter();
    let mut map = HeaderMap::with_capacity(list.size_hint().0);
    for (name, value) in list {
        map.append(name, value);
    }
    map
}

/// A copy of `req`, body included; `None` when the body cannot be copied (a stream).
pub(crate) fn try_clone_request<B: TryCloneBody>(req: &Request<B>) -> Option<Request<B>> {
    SavedRequest::try_of(req).map(SavedRequest::into_request)
}

/// A whole request kept to send it again, perhaps: the request is built only if it is.
pub(crate) struct SavedRequest<B> {
    head: RequestCopy,
    body: B,
}

impl<B: TryCloneBody> SavedRequest<B> {
    /// A copy of `req`; `None` when the body cannot be copied (a stream).
    pub(crate) fn try_of(req: &Request<B>) -> Option<SavedRequest<B>> {
        let body = req.body().try_clone_body()?;
        Some(SavedRequest {
            head: RequestCopy::of(req),
            body,
        })
    }
}

impl<B> SavedRequest<B> {
    pub(crate) fn into_request(self) -> Request<B> {
        self.head.into_request(self.body)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// However a copy is turned back into a map, it holds every value of every name, in order.
    #[test]
    fn saved_headers_give_back_every_value_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("accept", HeaderValue::from_static("a/b"));
        headers.append("x-many", HeaderValue::from_static("1"));
        headers.append("cookie", HeaderValue::from_static("c=1"));
        headers.append("x-many", HeaderValue::from_static("2"));
        headers.append("x-many", HeaderValue::from_static("3"));
        let values = |map: &HeaderMap| -> Vec<(String, String)> {
            map.iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                .collect()
        };
        let saved = SavedHeaders::of(&headers);
        assert_eq!(values(&saved.to_map()), values(&headers));
        assert_eq!(values(&saved.clone().into_map()), values(&headers));
        let mut changed = saved.clone();
        changed.map_mut().remove("cookie");
        assert_eq!(
            values(&changed.to_map()),
            [
                ("accept", "a/b"),
                ("x-many", "1"),
                ("x-many", "2"),
                ("x-many", "3")
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(values(&SavedHeaders::of(&HeaderMap::new()).into_map()), []);
    }
}
