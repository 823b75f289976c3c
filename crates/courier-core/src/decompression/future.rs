use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::DecompressionBody;
use super::coding::{transfer_codings, Applied};
use super::error::UnsupportedTransferCoding;
use super::layer::Config;
use crate::error::{BoxError, Error};

pin_project! {
    /// The future returned by [`Decompression`](super::Decompression): the inner response with its body
    /// wrapped in a [`DecompressionBody`] that decodes it, or passes it through.
    pub struct ResponseFuture<F> {
        #[pin]
        pub(crate) inner: F,
        pub(crate) config: Config,
        pub(crate) decode: Decode,
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
        Poll::Ready(wrap_response(response, this.config, *this.decode))
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// What a response may need decoding of, as the request decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decode {
    /// Content and transfer codings.
    All,
    /// The request asked for a range: a part (`206`, or any answer with `Content-Range`) is a
    /// range of the encoded bytes, which cannot be decoded on its own, so transfer codings only; a
    /// whole answer (a server ignoring `Range` sends `200`) is decoded as any other.
    UnlessPartial,
    /// Transfer codings only: no content coding is on, or the request asked for its answer as sent.
    TransferOnly,
    /// Nothing: a `HEAD` response has no body.
    Nothing,
}

fn wrap_response<B>(
    response: Response<B>,
    config: &Config,
    decode: Decode,
) -> Result<Response<DecompressionBody<B>>, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    // No body to decode: keep the headers as the server sent them.
    let bodiless = decode == Decode::Nothing
        || matches!(
            response.status(),
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
        )
        || response.body().is_end_stream()
        || response.body().size_hint().exact() == Some(0);
    if bodiless {
        return Ok(response.map(DecompressionBody::identity));
    }
    let partial = response.status() == StatusCode::PARTIAL_CONTENT
        || response.headers().contains_key(http::header::CONTENT_RANGE);
    let mut applied = Applied::default();
    let content = (decode == Decode::All || (decode == Decode::UnlessPartial && !partial))
        && config
            .accept
            .content_codings(response.headers(), &mut applied)
            .is_some();
    if !content {
        applied = Applied::default();
    }
    let transfer = transfer_codings(response.headers(), &mut applied)
        .map_err(|value| Error::decode(UnsupportedTransferCoding::new(value)))?;
    let Some(codings) = applied.into_codings() else {
        return Ok(response.map(DecompressionBody::identity));
    };
    let (mut parts, body) = response.into_parts();
    // These describe the encoded bytes, which the caller no longer sees.
    if content {
        parts.headers.remove(CONTENT_ENCODING);
    }
    if transfer.any {
        // What is left of it: the chunked framing hyper undid, if the server used it.
        parts.headers.remove(TRANSFER_ENCODING);
        if transfer.chunked {
            parts
                .headers
                .insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        }
    }
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(
        parts,
        DecompressionBody::decoding(body, codings, config.limits),
    ))
}
