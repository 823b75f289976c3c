//! `multipart/form-data` for the blocking client: the async [`crate::multipart`] types, with files
//! opened without a runtime.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use bytes::{Buf, Bytes};

use http::HeaderMap;

use super::client::Driver;
use crate::Error;

/// A `multipart/form-data` body; see [`crate::multipart::Form`].
///
/// ```
/// let form = courier::blocking::multipart::Form::new()
///     .text("title", "report")
///     .part("data", courier::blocking::multipart::Part::bytes(&b"1,2,3"[..]).file_name("data.csv"));
/// # drop(form);
/// ```
#[derive(Debug, Default)]
pub struct Form(crate::multipart::Form);

impl Form {
    /// An empty form with a random boundary.
    pub fn new() -> Form {
        Form(crate::multipart::Form::new())
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        self.0.boundary()
    }

    /// Adds a text field.
    pub fn text<N, V>(self, name: N, value: V) -> Form
    where
        N: Into<Cow<'static, str>>,
        V: Into<Cow<'static, str>>,
    {
        Form(self.0.text(name, value))
    }

    /// Adds a part.
    pub fn part<N: Into<Cow<'static, str>>>(self, name: N, part: Part) -> Form {
        Form(self.0.part(name, part.0))
    }

    /// Adds the file at `path` as a part named `name` (see [`Part::file`]).
    pub fn file<N, P>(self, name: N, path: P) -> io::Result<Form>
    where
        N: Into<Cow<'static, str>>,
        P: AsRef<Path>,
    {
        Ok(self.part(name, Part::file(path)?))
    }

    /// See [`crate::multipart::Form::percent_encode_path_segment`].
    pub fn percent_encode_path_segment(self) -> Form {
        Form(self.0.percent_encode_path_segment())
    }

    /// See [`crate::multipart::Form::percent_encode_attr_chars`].
    pub fn percent_encode_attr_chars(self) -> Form {
        Form(self.0.percent_encode_attr_chars())
    }

    /// See [`crate::multipart::Form::percent_encode_noop`].
    pub fn percent_encode_noop(self) -> Form {
        Form(self.0.percent_encode_noop())
    }

    /// The body as a reader (what a request with this form sends), e.g. to write it to a file. A form
    /// of text and bytes is read as it is, anywhere; file parts are read on a runtime of the
    /// reader's own, as a blocking client's, so inside a current-thread async runtime reading one
    /// fails.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// let form = courier::blocking::multipart::Form::new().text("a", "1");
    /// let boundary = form.boundary().to_owned();
    /// let mut body = String::new();
    /// form.into_reader().read_to_string(&mut body).unwrap();
    /// assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    /// ```
    pub fn into_reader(self) -> impl Read + Send {
        let body = self.0.into_body();
        // All in memory: no runtime to read it on.
        let in_memory = body.as_bytes().map(Bytes::copy_from_slice);
        let stream = in_memory
            .is_none()
            .then(|| crate::multipart::body_stream(body));
        FormReader {
            stream,
            driver: None,
            pending: in_memory.unwrap_or_default(),
        }
    }

    pub(super) fn into_async(self) -> crate::multipart::Form {
        self.0
    }
}

/// What [`Form::into_reader`] returns.
struct FormReader<S> {
    /// `None` for a form all in memory, which is all in `pending`.
    stream: Option<S>,
    /// Made on the first read: a form that is never read starts no thread.
    driver: Option<Arc<Driver>>,
    pending: Bytes,
}

impl<S> Read for FormReader<S>
where
    S: futures_core::Stream<Item = Result<Bytes, Error>> + Unpin,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            let Some(stream) = self.stream.as_mut() else {
                return Ok(0);
            };
            let driver = match &self.driver {
                Some(driver) => driver,
                None => self.driver.insert(Driver::new().map_err(io::Error::other)?),
            };
            let next = driver
                .wait(futures_util::StreamExt::next(stream))
                .map_err(io::Error::other)?;
            match next {
                Some(chunk) => self.pending = chunk.map_err(io::Error::other)?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Ok(n)
    }
}

/// One part of a [`Form`]; see [`crate::multipart::Part`].
#[derive(Debug)]
pub struct Part(crate::multipart::Part);

impl Part {
    /// A text part.
    pub fn text<V: Into<Cow<'static, str>>>(value: V) -> Part {
        Part(crate::multipart::Part::text(value))
    }

    /// A part of bytes.
    pub fn bytes<V: Into<Cow<'static, [u8]>>>(value: V) -> Part {
        Part(crate::multipart::Part::bytes(value))
    }

    /// A part read from `reader` while the form is sent.
    pub fn reader<R: Read + Send + 'static>(reader: R) -> Part {
        Part(crate::multipart::Part::stream(
            super::Body::new(reader).into_async(),
        ))
    }

    /// A part read from `reader`, which yields exactly `length` bytes.
    pub fn reader_with_length<R: Read + Send + 'static>(reader: R, length: u64) -> Part {
        Part(crate::multipart::Part::stream_with_length(
            super::Body::new(reader).into_async(),
            length,
        ))
    }

    /// The file at `path`, opened now and streamed when the form is sent, with its file name and a
    /// media type guessed from its extension.
    pub fn file<P: AsRef<Path>>(path: P) -> io::Result<Part> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)?;
        let length = crate::multipart::file_length(&file.metadata()?);
        let file = tokio::fs::File::from_std(file);
        Ok(Part(crate::multipart::Part::opened_file(
            file, length, path,
        )))
    }

    /// The file name sent in `Content-Disposition`.
    pub fn file_name<F: Into<Cow<'static, str>>>(self, file_name: F) -> Part {
        Part(self.0.file_name(file_name))
    }

    /// The part's `Content-Type`.
    pub fn mime_str(self, mime: &str) -> Result<Part, Error> {
        self.0.mime_str(mime).map(Part)
    }

    /// Extra headers of the part.
    pub fn headers(self, headers: HeaderMap) -> Part {
        Part(self.0.headers(headers))
    }
}
