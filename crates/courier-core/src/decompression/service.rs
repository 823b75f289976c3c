use std::task::{Context, Poll};

use http::header::{ACCEPT_ENCODING, RANGE};
use http::{Method, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::DecompressionBody;
use super::future::{Decode, ResponseFuture};
use super::layer::Config;
use super::DecompressionLayer;
use super::KeepEncoded;
use crate::error::{BoxError, Error};
use crate::headers::insert_if_absent;

/// The service made by [`DecompressionLayer`]: sets `Accept-Encoding` on requests that have none and
/// decodes the responses to them.
///
/// ```
/// use courier_core::decompression::Decompression;
///
/// let service = Decompression::new(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Empty::<bytes::Bytes>::new()))
/// }))
/// .br(false);
/// # drop(service);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Decompression<S> {
    inner: S,
    config: Config,
}

impl<S> Decompression<S> {
    /// Wraps `inner` with every coding compiled in and the default size limit.
    pub fn new(inner: S) -> Self {
        Decompression::from_config(inner, Config::default())
    }

    pub(crate) fn from_config(inner: S, config: Config) -> Self {
        Decompression { inner, config }
    }

    /// A [`DecompressionLayer`] with the default settings.
    pub fn layer() -> DecompressionLayer {
        DecompressionLayer::new()
    }

    decompression_settings!();

    inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Decompression<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<DecompressionBody<ResB>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from_service)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        // The codings this layer decodes are decoded whoever asked for them: a caller's own
        // `Accept-Encoding` is sent as it is, and its answer decoded all the same (as reqwest and
        // tower-http do; turn a coding off to get its bytes as sent). Transfer codings are hop-by-hop,
        // never the caller's business, and always undone. A `Range` request advertises nothing: a
        // range of compressed bytes cannot be decoded on its own (a whole answer to it still is);
        // nor does one that asks for its answer as sent.
        let range = req.headers().contains_key(RANGE);
        let as_sent = range || req.extensions().get::<KeepEncoded>().is_some();
        let decode = if req.method() == Method::HEAD {
            Decode::Nothing
        } else if self.config.accept.is_empty() || req.extensions().get::<KeepEncoded>().is_some() {
            Decode::TransferOnly
        } else if range {
            Decode::UnlessPartial
        } else {
            Decode::All
        };
        // `HEAD` still advertises, so its headers match those of a `GET`.
        if !self.config.accept.is_empty() && !as_sent {
            insert_if_absent(
                req.headers_mut(),
                ACCEPT_ENCODING,
                self.config.accept.header_value(),
            );
        }
        ResponseFuture {
            inner: self.inner.call(req),
            config: self.config,
            decode,
        }
    }
}
