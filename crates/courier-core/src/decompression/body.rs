use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::io::AsyncBufRead;

use super::coding::Codings;
use super::error::into_error;
use super::layer::Limits;
use super::reader::{BodyReader, DecoderStack};
use crate::error::{BoxError, Error};

/// Decoded bytes are read in blocks of this size: one data frame per block.
const READ_CHUNK: usize = 64 * 1024;

/// Below this much free space in the block, start a fresh one rather than yield tiny frames.
const MIN_READ: usize = 1024;

pin_project! {
    /// The response body of [`Decompression`](super::Decompression): the inner body decoded as it
    /// streams, or passed through as it is.
    ///
    /// Data frames are [`Bytes`]; errors are Courier [`Error`]s — inner body errors stay body errors
    /// ([`Error::is_body`]), a corrupt or truncated stream or a body over the size limit is a decode
    /// error ([`Error::is_decode`]). Trailers of the inner body are passed on after the data.
    ///
    /// ```
    /// use courier_core::decompression::DecompressionBody;
    /// use http_body_util::{BodyExt, Full};
    /// use bytes::Bytes;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let body = DecompressionBody::identity(Full::new(Bytes::from("plain")));
    /// assert_eq!(body.collect().await.unwrap().to_bytes(), "plain");
    /// # }
    /// ```
    pub struct DecompressionBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    #[project_ref = InnerProjRef]
    enum Inner<B> {
        Identity { #[pin] body: B },
        // Boxed: the decoder state is large and only decoded responses should pay for it.
        Decoding { decoder: Box<Decoder<B>> },
    }
}

impl<B> DecompressionBody<B> {
    /// A body passed through unchanged (only its error type is converted).
    pub fn identity(body: B) -> Self {
        DecompressionBody {
            inner: Inner::Identity { body },
        }
    }
}

impl<B> DecompressionBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    pub(crate) fn decoding(body: B, codings: Codings, limits: Limits) -> Self {
        DecompressionBody {
            inner: Inner::Decoding {
                decoder: Box::new(Decoder {
                    state: State::Probing(BodyReader::new(body)),
                    codings,
                    limits,
                    decoded: 0,
                    buf: BytesMut::new(),
                }),
            },
        }
    }
}

impl<B> fmt::Debug for DecompressionBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.inner {
            Inner::Identity { .. } => "identity",
            Inner::Decoding { .. } => "decoding",
        };
        f.debug_struct("DecompressionBody")
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

impl<B> Body for DecompressionBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match self.project().inner.project() {
            InnerProj::Identity { body } => match ready!(body.poll_frame(cx)) {
                Some(Ok(frame)) => Poll::Ready(Some(Ok(
                    frame.map_data(|mut data| data.copy_to_bytes(data.remaining()))
                ))),
                Some(Err(err)) => Poll::Ready(Some(Err(Error::from_body(err)))),
                None => Poll::Ready(None),
            },
            InnerProj::Decoding { decoder } => decoder.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Identity { body } => body.is_end_stream(),
            Inner::Decoding { decoder } => matches!(decoder.state, State::Done),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Identity { body } => body.size_hint(),
            Inner::Decoding { decoder } if matches!(decoder.state, State::Done) => {
                SizeHint::with_exact(0)
            }
            // The decoded size is unknown until the end.
            Inner::Decoding { .. } => SizeHint::default(),
        }
    }
}

struct Decoder<B> {
    state: State<B>,
    codings: Codings,
    limits: Limits,
    decoded: u64,
    buf: BytesMut,
}

// The whole `Decoder` is boxed once per decoded body; boxing the stack too would add an allocation.
#[allow(clippy::large_enum_variant)]
enum State<B> {
    /// Waiting for the first bytes: an empty body is answered as empty, not as a truncated stream
    /// (servers send `Content-Encoding: gzip` on empty chunked bodies), and no decoder is built for it.
    Probing(BodyReader<B>),
    /// Decoding. The decoders check what follows their streams, down to the body's end.
    Reading(DecoderStack<B>),
    Trailers(HeaderMap),
    Done,
}

impl<B> State<B> {
    /// What is left to yield of a body that has ended: its trailers, if any.
    fn ended(mut body: BodyReader<B>) -> State<B> {
        match body.take_trailers() {
            Some(trailers) => State::Trailers(trailers),
            None => State::Done,
        }
    }
}

impl<B> Decoder<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        loop {
            match &mut self.state {
                State::Probing(body) => match ready!(Pin::new(body).poll_fill_buf(cx)) {
                    Ok([]) => self.finish_body(),
                    Ok(_) => self.start_decoding(),
                    Err(err) => return self.fail(into_error(err, self.codings.first())),
                },
                State::Reading(decoders) => {
                    if self.buf.capacity() < MIN_READ {
                        self.buf.reserve(READ_CHUNK);
                    }
                    match ready!(tokio_util::io::poll_read_buf(
                        Pin::new(decoders),
                        cx,
                        &mut self.buf
                    )) {
                        Ok(0) => self.finish_decoding(),
                        Ok(n) => {
                            self.decoded = self.decoded.saturating_add(n as u64);
                            let received = decoders.body().map_or(0, BodyReader::received);
                            if let Some(err) =
                                self.limits.exceeded(self.decoded, received, &self.codings)
                            {
                                return self.fail(Error::decode(err));
                            }
                            return Poll::Ready(Some(Ok(Frame::data(self.buf.split().freeze()))));
                        }
                        Err(err) => return self.fail(into_error(err, self.codings.first())),
                    }
                }
                State::Trailers(_) => {
                    if let State::Trailers(trailers) =
                        std::mem::replace(&mut self.state, State::Done)
                    {
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    /// Probing → Reading: builds the decoders.
    fn start_decoding(&mut self) {
        self.state = match std::mem::replace(&mut self.state, State::Done) {
            State::Probing(body) => {
                State::Reading(DecoderStack::new(body, &self.codings, self.limits))
            }
            other => other,
        };
    }

    /// Reading → Trailers or Done: the decoders are done and the body has ended, or was abandoned.
    fn finish_decoding(&mut self) {
        self.buf = BytesMut::new();
        let body = match std::mem::replace(&mut self.state, State::Done) {
            State::Reading(decoders) => decoders.into_body(),
            _ => None,
        };
        if let Some(body) = body.filter(|body| !body.is_abandoned()) {
            self.state = State::ended(body);
        }
    }

    /// Probing (an empty body) → Trailers or Done.
    fn finish_body(&mut self) {
        if let State::Probing(body) = std::mem::replace(&mut self.state, State::Done) {
            self.state = State::ended(body);
        }
    }

    /// Ends the body with `err`. The decoders are dropped, so later polls yield `None` rather than
    /// resume a stream that already failed.
    fn fail(&mut self, err: Error) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.state = State::Done;
        self.buf = BytesMut::new();
        Poll::Ready(Some(Err(err)))
    }
}
