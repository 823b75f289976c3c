//! The `std::io`-style reader stack that decodes a body as it streams:
//!
//! ```text
//! http body ─▶ BodyReader ─▶ decoder ─▶ [BufReader ─▶ decoder ...] ─▶ DecompressionBody
//! ```
//!
//! The decoders are async-compression's tokio `bufread` decoders, each run for one compressed stream
//! (one gzip member, one zstd frame). What follows a stream is [`CodingReader`]'s decision, the same for
//! every coding: the input's end is the body's end; more bytes are the next member where the coding
//! allows concatenation (gzip, zstd) and a decode error where it does not (deflate, br); and a body that
//! neither ends nor sends more is given [`END_GRACE`] to end before it is abandoned, so a server that
//! stalls after a complete stream cannot hang the reader: complete after deflate or br, a decode error
//! after gzip or zstd, whose next member might be lost (a stall mid-stream is the timeouts' business).
//!
//! Errors of the inner body travel through the stack wrapped in [`InnerBodyError`]; each decoder's own
//! errors are tagged with its coding on the way out, so the body can tell the two apart at the end.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Body;
use tokio::io::{AsyncBufRead, AsyncRead, BufReader, ReadBuf};

#[cfg(feature = "brotli")]
use async_compression::tokio::bufread::BrotliDecoder;
#[cfg(feature = "gzip")]
use async_compression::tokio::bufread::GzipDecoder;
#[cfg(feature = "zstd")]
use async_compression::tokio::bufread::ZstdDecoder;
#[cfg(feature = "deflate")]
use async_compression::tokio::bufread::{DeflateDecoder, ZlibDecoder};

use super::coding::{Coding, Codings};
#[cfg(feature = "deflate")]
use super::error::is_classified;
use super::error::{tag, InnerBodyError, StalledAfterStream};
use super::layer::Limits;
use crate::error::BoxError;

/// Buffer size between two stacked decoders.
const STACKED_BUFFER: usize = 32 * 1024;

/// How long a body may take to end once its compressed stream is complete. A server's last chunk and
/// its chunked terminator (or HTTP/2's END_STREAM, trailers) often arrive apart, by as long as the
/// handler works after its last write; waiting this long keeps such responses whole and their
/// connections reusable. A body still open after it is dropped unread, which closes its connection.
/// (It was 200 ms, which a handler doing a little work after its last write exceeded; then 1 s,
/// exactly the pause reqwest's own tests make before bytes they expect to be seen.)
pub(crate) const END_GRACE: Duration = Duration::from_secs(2);

/// The largest zstd window accepted: 8 MiB, as RFC 9659 requires of HTTP zstd decoders. A frame asking
/// for a larger window (up to 2 GiB by the format) is rejected instead of allocating it.
#[cfg(feature = "zstd")]
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// An `AsyncBufRead` over the data frames of an HTTP body; trailers are kept aside.
pub(crate) struct BodyReader<B> {
    // Boxed so the whole reader stack is `Unpin` whatever `B` is; only decoded responses pay for it.
    body: Pin<Box<B>>,
    chunk: Bytes,
    trailers: Option<HeaderMap>,
    ended: bool,
    /// Data bytes taken from the body so far: the compressed size, for the ratio limit.
    received: u64,
    /// Armed when the compressed stream is complete and the body has not ended yet.
    grace: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set when the body did not end within [`END_GRACE`] of its compressed stream: the rest is unread.
    abandoned: bool,
}

impl<B> BodyReader<B> {
    /// Data bytes taken from the body so far.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    /// True if the body was given up on after its compressed stream was complete (see [`END_GRACE`]).
    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    /// The trailers the body ended with, if any.
    pub(crate) fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }
}

impl<B> BodyReader<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(body: B) -> BodyReader<B> {
        BodyReader {
            body: Box::pin(body),
            chunk: Bytes::new(),
            trailers: None,
            ended: false,
            received: 0,
            grace: None,
            abandoned: false,
        }
    }

    /// Makes `self.chunk` non-empty, or marks the body as ended.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.chunk.is_empty() && !self.ended {
            match ready!(self.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) => {
                        self.received += data.remaining() as u64;
                        self.chunk = data.copy_to_bytes(data.remaining());
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            match &mut self.trailers {
                                Some(existing) => existing.extend(trailers),
                                None => self.trailers = Some(trailers),
                            }
                        }
                    }
                },
                Some(Err(err)) => {
                    self.ended = true;
                    return Poll::Ready(Err(io::Error::other(InnerBodyError(err.into()))));
                }
                None => self.ended = true,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The input of a decoder, which can say what follows a complete compressed stream.
pub(crate) trait Source: AsyncBufRead + Unpin {
    /// Called once a compressed stream is complete: `true` if more bytes follow, `false` if the input
    /// has ended (or, for the body, was abandoned after [`END_GRACE`]).
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>>;

    /// The input was abandoned after [`END_GRACE`]: it had not ended.
    fn stalled(&self) -> bool {
        false
    }
}

impl<B> Source for BodyReader<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.abandoned {
            return Poll::Ready(Ok(false));
        }
        if let Poll::Ready(result) = self.poll_chunk(cx) {
            // The body moved on: the next complete stream gets a grace of its own.
            self.grace = None;
            result?;
            return Poll::Ready(Ok(!self.chunk.is_empty()));
        }
        let grace = self
            .grace
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(END_GRACE)));
        ready!(grace.as_mut().poll(cx));
        self.abandoned = true;
        Poll::Ready(Ok(false))
    }

    fn stalled(&self) -> bool {
        self.abandoned
    }
}

impl<B> Source for BufReader<Box<Checked<B>>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let data = ready!(Pin::new(self).poll_fill_buf(cx))?;
        Poll::Ready(Ok(!data.is_empty()))
    }
}

impl<B> AsyncRead for BodyReader<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_chunk(cx))?;
        let n = this.chunk.len().min(buf.remaining());
        buf.put_slice(&this.chunk[..n]);
        this.chunk.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<B> AsyncBufRead for BodyReader<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_chunk(cx))?;
        Poll::Ready(Ok(&this.chunk))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.chunk.advance(amt.min(this.chunk.len()));
    }
}

/// A reader that first yields a few bytes already taken from `inner`: the header bytes that
/// [`DeflateReader`] looked at.
#[cfg(feature = "deflate")]
pub(crate) struct Prefixed<R> {
    prefix: [u8; 2],
    start: usize,
    end: usize,
    inner: R,
    /// Set once `inner` reported its end.
    inner_ended: bool,
}

#[cfg(feature = "deflate")]
impl<R: AsyncBufRead + Unpin> Prefixed<R> {
    fn poll_inner_fill_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let data = ready!(Pin::new(&mut self.inner).poll_fill_buf(cx))?;
        if data.is_empty() {
            self.inner_ended = true;
        }
        Poll::Ready(Ok(data))
    }
}

#[cfg(feature = "deflate")]
impl<R: AsyncBufRead + Unpin> AsyncRead for Prefixed<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start < this.end {
            let n = (this.end - this.start).min(buf.remaining());
            buf.put_slice(&this.prefix[this.start..this.start + n]);
            this.start += n;
            return Poll::Ready(Ok(()));
        }
        let data = ready!(this.poll_inner_fill_buf(cx))?;
        let n = data.len().min(buf.remaining());
        buf.put_slice(&data[..n]);
        Pin::new(&mut this.inner).consume(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "deflate")]
impl<R: AsyncBufRead + Unpin> AsyncBufRead for Prefixed<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.start < this.end {
            return Poll::Ready(Ok(&this.prefix[this.start..this.end]));
        }
        this.poll_inner_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        if this.start < this.end {
            this.start = (this.start + amt).min(this.end);
        } else {
            Pin::new(&mut this.inner).consume(amt);
        }
    }
}

/// HTTP `deflate`: zlib-wrapped deflate per RFC 9110, but many servers send raw deflate. The first two
/// bytes decide: a valid zlib header (method 8, window ≤ 32 KiB, check bits) means zlib. Raw deflate
/// from real encoders never looks like one: its first byte's low nibble is never 8.
#[cfg(feature = "deflate")]
pub(crate) enum DeflateReader<R> {
    /// Reading the first two bytes. `None` only while switching to a decoder.
    Detecting(Option<Prefixed<R>>),
    Zlib(ZlibDecoder<Prefixed<R>>),
    Raw(DeflateDecoder<Prefixed<R>>),
}

#[cfg(feature = "deflate")]
fn is_zlib_header(b0: u8, b1: u8) -> bool {
    b0 & 0x0F == 8 && b0 >> 4 <= 7 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0
}

#[cfg(feature = "deflate")]
impl<R: AsyncBufRead + Unpin> DeflateReader<R> {
    fn new(inner: R) -> Self {
        DeflateReader::Detecting(Some(Prefixed {
            prefix: [0; 2],
            start: 0,
            end: 0,
            inner,
            inner_ended: false,
        }))
    }

    fn prefixed(&mut self) -> Option<&mut Prefixed<R>> {
        match self {
            DeflateReader::Detecting(prefixed) => prefixed.as_mut(),
            DeflateReader::Zlib(decoder) => Some(decoder.get_mut()),
            DeflateReader::Raw(decoder) => Some(decoder.get_mut()),
        }
    }

    fn get_ref(&self) -> Option<&R> {
        match self {
            DeflateReader::Detecting(prefixed) => prefixed.as_ref().map(|p| &p.inner),
            DeflateReader::Zlib(decoder) => Some(&decoder.get_ref().inner),
            DeflateReader::Raw(decoder) => Some(&decoder.get_ref().inner),
        }
    }

    /// See [`Source::poll_more`]; header bytes looked at but not yet decoded count as more.
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>>
    where
        R: Source,
    {
        match self.prefixed() {
            Some(prefixed) if prefixed.start < prefixed.end => Poll::Ready(Ok(true)),
            Some(prefixed) => prefixed.inner.poll_more(cx),
            None => Poll::Ready(Ok(false)),
        }
    }

    fn into_inner(self) -> Option<R> {
        match self {
            DeflateReader::Detecting(prefixed) => prefixed.map(|p| p.inner),
            DeflateReader::Zlib(decoder) => Some(decoder.into_inner().inner),
            DeflateReader::Raw(decoder) => Some(decoder.into_inner().inner),
        }
    }

    /// Reads the first two bytes (fewer if the stream is shorter), then picks the decoder.
    fn poll_detect(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let DeflateReader::Detecting(Some(prefixed)) = self else {
            return Poll::Ready(Ok(()));
        };
        while prefixed.end < 2 {
            let data = ready!(Pin::new(&mut prefixed.inner).poll_fill_buf(cx))?;
            if data.is_empty() {
                prefixed.inner_ended = true;
                break;
            }
            let n = data.len().min(2 - prefixed.end);
            prefixed.prefix[prefixed.end..prefixed.end + n].copy_from_slice(&data[..n]);
            prefixed.end += n;
            Pin::new(&mut prefixed.inner).consume(n);
        }
        let zlib = prefixed.end < 2 || is_zlib_header(prefixed.prefix[0], prefixed.prefix[1]);
        if let DeflateReader::Detecting(Some(prefixed)) =
            std::mem::replace(self, DeflateReader::Detecting(None))
        {
            *self = if zlib {
                DeflateReader::Zlib(ZlibDecoder::new(prefixed))
            } else {
                DeflateReader::Raw(DeflateDecoder::new(prefixed))
            };
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "deflate")]
impl<R: AsyncBufRead + Unpin> AsyncRead for DeflateReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_detect(cx))?;
        let (result, input_ended) = match this {
            DeflateReader::Detecting(_) => return Poll::Ready(Ok(())),
            DeflateReader::Zlib(decoder) => {
                let result = ready!(Pin::new(&mut *decoder).poll_read(cx, buf));
                (result, decoder.get_ref().inner_ended)
            }
            DeflateReader::Raw(decoder) => {
                let result = ready!(Pin::new(&mut *decoder).poll_read(cx, buf));
                (result, decoder.get_ref().inner_ended)
            }
        };
        // flate2 reports a stream that ends early as a `BufError` when finishing, not as
        // `UnexpectedEof` like the other codecs: a decoder error once the input has ended is a
        // truncation (corrupt data fails while input is still there).
        Poll::Ready(result.map_err(|err| {
            if input_ended && !is_classified(&err) {
                io::Error::new(io::ErrorKind::UnexpectedEof, err)
            } else {
                err
            }
        }))
    }
}

/// One compressed stream's decoder, over any buffered reader.
enum Stream<R> {
    #[cfg(feature = "gzip")]
    Gzip(GzipDecoder<R>),
    #[cfg(feature = "deflate")]
    Deflate(DeflateReader<R>),
    #[cfg(feature = "brotli")]
    Brotli(BrotliDecoder<R>),
    #[cfg(feature = "zstd")]
    Zstd(ZstdDecoder<R>),
    /// Keeps the type well-formed when no coding is compiled in; never constructed.
    #[cfg(not(any(
        feature = "gzip",
        feature = "deflate",
        feature = "brotli",
        feature = "zstd"
    )))]
    Never(std::convert::Infallible, std::marker::PhantomData<R>),
}

/// `$any` on whichever decoder `$stream` holds (bound to `$decoder`), or `$deflate` on the deflate
/// reader: the one match that lists the compiled-in codings.
macro_rules! on_decoder {
    ($stream:expr, $decoder:ident => $any:expr) => {
        on_decoder!($stream, $decoder => $any, deflate => $any)
    };
    ($stream:expr, $decoder:ident => $any:expr, deflate => $deflate:expr) => {
        match $stream {
            #[cfg(feature = "gzip")]
            Stream::Gzip($decoder) => $any,
            #[cfg(feature = "deflate")]
            Stream::Deflate($decoder) => $deflate,
            #[cfg(feature = "brotli")]
            Stream::Brotli($decoder) => $any,
            #[cfg(feature = "zstd")]
            Stream::Zstd($decoder) => $any,
            #[cfg(not(any(
                feature = "gzip",
                feature = "deflate",
                feature = "brotli",
                feature = "zstd"
            )))]
            Stream::Never(never, _) => {
                // `never` is by value or by reference, as `$stream` is.
                let never: &std::convert::Infallible = std::borrow::Borrow::borrow(&never);
                match *never {}
            }
        }
    };
}

impl<R: AsyncBufRead + Unpin> Stream<R> {
    fn new(coding: Coding, inner: R) -> Self {
        match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Stream::Gzip(GzipDecoder::new(inner)),
            #[cfg(feature = "deflate")]
            Coding::Deflate => Stream::Deflate(DeflateReader::new(inner)),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Stream::Brotli(BrotliDecoder::new(inner)),
            #[cfg(feature = "zstd")]
            Coding::Zstd => {
                let params = [async_compression::zstd::DParameter::window_log_max(
                    ZSTD_WINDOW_LOG_MAX,
                )];
                Stream::Zstd(ZstdDecoder::with_params(inner, &params))
            }
        }
    }

    /// The reader under the decoder; `None` only for a deflate stream caught switching decoders.
    fn get_ref(&self) -> Option<&R> {
        on_decoder!(self, decoder => Some(decoder.get_ref()), deflate => decoder.get_ref())
    }

    /// Whether bytes wait under the decoder: those of its input, or a deflate header not yet decoded.
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>>
    where
        R: Source,
    {
        on_decoder!(self, decoder => decoder.get_mut().poll_more(cx), deflate => decoder.poll_more(cx))
    }

    fn into_inner(self) -> Option<R> {
        on_decoder!(self, decoder => Some(decoder.into_inner()), deflate => decoder.into_inner())
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        on_decoder!(self, decoder => Pin::new(decoder).poll_read(cx, buf))
    }
}

/// The most compressed streams in a row that may decode to nothing (empty gzip members, zstd frames
/// with no content): past it, a decode error. Nothing legitimate sends thousands of them, and each
/// costs a new decoder while the decoded size (which the limits count) stays at zero: an endless
/// run of them would otherwise be an endless body that no size or ratio limit stops.
const MAX_EMPTY_STREAMS: u32 = 1024;

/// How many streams one read may start before it lets the task yield: a run of empty streams
/// arriving as fast as they are decoded would otherwise keep the read from returning, and with it
/// the timeouts polled beside it.
const STREAMS_PER_POLL: u32 = 16;

/// The decoder for one coding: its compressed streams one after the other, and what follows them.
pub(crate) struct CodingReader<R> {
    coding: Coding,
    /// `None` only while one stream's decoder is replaced by the next one's.
    stream: Option<Stream<R>>,
    /// Streams in a row that decoded to nothing (see [`MAX_EMPTY_STREAMS`]).
    empty_streams: u32,
}

impl<R: Source> CodingReader<R> {
    fn new(coding: Coding, inner: R) -> Self {
        CodingReader {
            coding,
            stream: Some(Stream::new(coding, inner)),
            empty_streams: 0,
        }
    }

    fn get_ref(&self) -> Option<&R> {
        self.stream.as_ref()?.get_ref()
    }

    fn into_inner(self) -> Option<R> {
        self.stream?.into_inner()
    }

    /// Whether a complete stream may be followed by another: gzip members and zstd frames (RFC 1952
    /// §2.2, RFC 8878 §3.1).
    fn concatenates(&self) -> bool {
        match self.coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => true,
            #[cfg(feature = "zstd")]
            Coding::Zstd => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// A complete stream followed by more bytes: the next gzip member or zstd frame; for deflate and
    /// br, which have no such thing, a decode error.
    fn next_stream(&mut self) -> io::Result<()> {
        if !self.concatenates() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "data after the end of the compressed stream",
            ));
        }
        let inner = self.stream.take().and_then(Stream::into_inner);
        self.stream = inner.map(|inner| Stream::new(self.coding, inner));
        Ok(())
    }

    fn poll_decode(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut started = 0;
        loop {
            let Some(stream) = &mut self.stream else {
                return Poll::Ready(Ok(()));
            };
            let before = buf.filled().len();
            ready!(stream.poll_read(cx, buf))?;
            if buf.filled().len() > before {
                self.empty_streams = 0;
                return Poll::Ready(Ok(()));
            }
            // Nothing written into free space means the decoder's stream is complete.
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if !ready!(stream.poll_more(cx))? {
                // After a complete deflate or br stream nothing more can be content, so a body that
                // stalls there is complete. After a gzip member or zstd frame, another may be on
                // its way: ending there would silently drop it.
                if stream.get_ref().is_some_and(Source::stalled) && self.concatenates() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        StalledAfterStream,
                    )));
                }
                return Poll::Ready(Ok(()));
            }
            self.empty_streams += 1;
            if self.empty_streams > MAX_EMPTY_STREAMS {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "more than {MAX_EMPTY_STREAMS} compressed streams in a row with no content"
                    ),
                )));
            }
            self.next_stream()?;
            started += 1;
            if started == STREAMS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }
}

impl<R: Source> AsyncRead for CodingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let coding = this.coding;
        this.poll_decode(cx, buf).map_err(|err| tag(err, coding))
    }
}

/// All the decoders of one response, innermost (the coding applied last) at the bottom.
pub(crate) enum DecoderStack<B> {
    Single(CodingReader<BodyReader<B>>),
    Stacked(CodingReader<BufReader<Box<Checked<B>>>>),
}

/// What the decoders below a stacked one hand it, held to the body's limits: an outer decoder may
/// output nothing for as long as its input lasts (a gzip file name, empty members, skippable zstd
/// frames), so a bomb in an inner coding would otherwise grow unseen, and unbounded, within one poll.
/// An inner coding's output is never legitimately larger than the decoded body.
pub(crate) struct Checked<B> {
    stack: DecoderStack<B>,
    produced: u64,
    limits: Limits,
    codings: Codings,
}

impl<B> AsyncRead for Checked<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stack).poll_read(cx, buf))?;
        this.produced = this
            .produced
            .saturating_add((buf.filled().len() - before) as u64);
        let received = this.stack.body().map_or(0, BodyReader::received);
        match this.limits.exceeded(this.produced, received, &this.codings) {
            Some(err) => Poll::Ready(Err(io::Error::other(err))),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<B> DecoderStack<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(body: BodyReader<B>, codings: &Codings, limits: Limits) -> DecoderStack<B> {
        let mut stack: DecoderStack<B> =
            DecoderStack::Single(CodingReader::new(codings.first(), body));
        // `decode_order` starts with `first`, already at the bottom.
        for coding in codings.decode_order().skip(1) {
            let below = Checked {
                stack,
                produced: 0,
                limits,
                codings: *codings,
            };
            let below = BufReader::with_capacity(STACKED_BUFFER, Box::new(below));
            stack = DecoderStack::Stacked(CodingReader::new(coding, below));
        }
        stack
    }

    /// The body at the bottom of the stack.
    pub(crate) fn body(&self) -> Option<&BodyReader<B>> {
        match self {
            DecoderStack::Single(reader) => reader.get_ref(),
            DecoderStack::Stacked(reader) => reader.get_ref()?.get_ref().stack.body(),
        }
    }

    /// The body at the bottom of the stack, once every decoder is done with it: each one checked what
    /// followed its last stream, down to the body's end.
    pub(crate) fn into_body(self) -> Option<BodyReader<B>> {
        match self {
            DecoderStack::Single(reader) => reader.into_inner(),
            DecoderStack::Stacked(reader) => reader.into_inner()?.into_inner().stack.into_body(),
        }
    }
}

impl<B> AsyncRead for DecoderStack<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DecoderStack::Single(reader) => Pin::new(reader).poll_read(cx, buf),
            DecoderStack::Stacked(reader) => Pin::new(reader).poll_read(cx, buf),
        }
    }
}

#[cfg(all(test, feature = "deflate"))]
mod tests {
    use super::*;

    #[test]
    fn zlib_headers_are_recognised() {
        // The common zlib headers: no/low/default/best compression with a 32 KiB window.
        for [b0, b1] in [[0x78, 0x01], [0x78, 0x5E], [0x78, 0x9C], [0x78, 0xDA]] {
            assert!(is_zlib_header(b0, b1), "{b0:#x} {b1:#x}");
        }
        // Raw deflate: final fixed-Huffman block, dynamic block, stored block.
        for [b0, b1] in [[0x4B, 0x4C], [0xED, 0xBD], [0x01, 0x05], [0x00, 0x00]] {
            assert!(!is_zlib_header(b0, b1), "{b0:#x} {b1:#x}");
        }
        // The check bits must hold.
        assert!(!is_zlib_header(0x78, 0x9D));
    }
}
