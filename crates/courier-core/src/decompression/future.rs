use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::DecompressionBody;
use super::layer::Config;
use crate::error::{BoxError, Error};

pin_project! {
    /// The future returned by [`Decompression`](super::Decompression): the inner response with its body
    /// wrapped in a [`DecompressionBody`] that decodes it, or passes it through.
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        // `None` when the response is not to be decoded: the caller set its own `Accept-Encoding`, or
        // the request was a `HEAD`.
        pub(crate) decode: Option<Config>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<DecompressionBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx)).map_err(Error::from_service)?;
        Poll::Ready(Ok(wrap_response(response, *this.decode)))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn wrap_response<B>(response: Response<B>, decode: Option<Config>) -> Response<DecompressionBody<B>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let Some(config) = decode else {
        return response.map(DecompressionBody::identity);
    };
    // No body to decode: keep the headers as the server sent them.
    let bodiless = matches!(
        response.status(),
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    ) || response.body().is_end_stream()
        || response.body().size_hint().exact() == Some(0);
    if bodiless {
        return response.map(DecompressionBody::identity);
    }
    let Some(codings) = config.accept.codings_to_decode(response.headers()) else {
        return response.map(DecompressionBody::identity);
    };
    let (mut parts, body) = response.into_parts();
    // Both describe the encoded bytes, which the caller no longer sees.
    parts.headers.remove(CONTENT_ENCODING);
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(
        parts,
        DecompressionBody::decoding(body, codings, config.max_size),
    )
}
