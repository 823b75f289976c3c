//! [`Lines`]: a response body as a stream of text lines, like requests' `iter_lines()`.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use crate::text::TextDecoder;
use crate::{Error, Response};

/// The longest line [`Lines`] accepts by default: 1 MiB of decoded text.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 1024 * 1024;

/// A stream of the body's text lines, made by [`Response::lines`].
///
/// The body is decoded with the response's charset exactly as [`Response::text`] decodes it (strict
/// UTF-8 when `Content-Type` names none), chunk by chunk. Lines end at `\n`; the `\n` and a `\r` just
/// before it are removed. A last line without an ending is yielded too; an empty body yields nothing.
///
/// A line longer than [`max_line_length`](Lines::max_line_length) bytes (of UTF-8, without its
/// ending; default [`DEFAULT_MAX_LINE_LENGTH`]) ends the stream with a decode error
/// ([`Error::is_decode`]) instead of growing without bound. Any error ends the stream; the complete
/// lines that came before it are yielded first.
///
/// ```no_run
/// use futures_util::StreamExt;
///
/// # async fn run() -> Result<(), courier::Error> {
/// let response = courier::get("http://127.0.0.1:8080/events.log").await?;
/// let mut lines = response.lines().max_line_length(64 * 1024);
/// while let Some(line) = lines.next().await {
///     println!("{}", line?);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Lines {
    response: Response,
    state: State,
    /// Decoded text; lines are taken from `start`, and the text before `start` is dropped when more is
    /// decoded.
    text: String,
    start: usize,
    /// `text[start..scanned]` holds no `\n`.
    scanned: usize,
    max: usize,
}

enum State {
    Reading(TextDecoder),
    /// The body ended: what is left in `text` is the last lines.
    Draining,
    Done,
    /// The complete lines decoded so far are yielded, then this error (an unknown charset, bytes that
    /// do not decode, a failed body).
    Failed(Error),
}

impl Lines {
    pub(crate) fn new(response: Response, charset: Option<&str>) -> Lines {
        let state = match TextDecoder::new(charset) {
            Ok(decoder) => State::Reading(decoder),
            Err(err) => State::Failed(err.with_url(response.url().clone())),
        };
        Lines {
            response,
            state,
            text: String::new(),
            start: 0,
            scanned: 0,
            max: DEFAULT_MAX_LINE_LENGTH,
        }
    }

    /// The longest line accepted, in bytes of UTF-8 text without its ending.
    pub fn max_line_length(mut self, max: usize) -> Lines {
        self.max = max;
        self
    }

    /// The next complete line in `text`, if there is one.
    fn take_line(&mut self) -> Option<Result<String, Error>> {
        let newline = self.text[self.scanned..].find('\n')? + self.scanned;
        let mut line = &self.text[self.start..newline];
        if let Some(stripped) = line.strip_suffix('\r') {
            line = stripped;
        }
        if line.len() > self.max {
            return Some(Err(self.too_long()));
        }
        let line = line.to_owned();
        self.start = newline + 1;
        self.scanned = self.start;
        Some(Ok(line))
    }

    fn too_long(&mut self) -> Error {
        self.state = State::Done;
        Error::decode(format!(
            "a line of the body is longer than the limit of {} bytes",
            self.max
        ))
        .with_url(self.response.url().clone())
    }
}

impl Stream for Lines {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if matches!(this.state, State::Done) {
                return Poll::Ready(None);
            }
            if let Some(line) = this.take_line() {
                return Poll::Ready(Some(line));
            }
            // The lines decoded before a failure are yielded first, then the failure.
            if let State::Failed(_) = this.state {
                let State::Failed(err) = std::mem::replace(&mut this.state, State::Done) else {
                    unreachable!()
                };
                return Poll::Ready(Some(Err(err)));
            }
            this.scanned = this.text.len();
            // A `\r` may still be followed by its `\n`: allow one byte more while the line is open.
            if this.text.len() - this.start > this.max.saturating_add(1) {
                return Poll::Ready(Some(Err(this.too_long())));
            }
            let State::Reading(decoder) = &mut this.state else {
                // Draining, and no line ending is left: the rest is the last line.
                this.state = State::Done;
                if this.start == this.text.len() {
                    return Poll::Ready(None);
                }
                let line = &this.text[this.start..];
                if line.len() > this.max {
                    return Poll::Ready(Some(Err(this.too_long())));
                }
                return Poll::Ready(Some(Ok(line.to_owned())));
            };
            // Drop the lines already handed out before decoding more.
            this.text.drain(..this.start);
            this.scanned -= this.start;
            this.start = 0;
            let result = match ready!(this.response.poll_chunk(cx)) {
                Ok(Some(chunk)) => decoder.decode(&chunk, &mut this.text, false),
                Ok(None) => {
                    let result = decoder.decode(&[], &mut this.text, true);
                    this.state = State::Draining;
                    result
                }
                Err(err) => Err(err),
            };
            if let Err(err) = result {
                this.state = State::Failed(err.with_url(this.response.url().clone()));
            }
        }
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("url", &self.response.url().as_str())
            .field("max_line_length", &self.max)
            .finish_non_exhaustive()
    }
}
