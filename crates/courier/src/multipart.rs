//! `multipart/form-data` bodies (RFC 7578): text fields, byte parts and streamed files.
//!
//! Build a [`Form`] of named [`Part`]s, then send it: [`Form::content_type`] is the `Content-Type`
//! (it carries the boundary) and [`Form::into_body`] the body.
//!
//! - Files and [`Part::stream`]s are **streamed**, never read whole into memory.
//! - When every part's length is known (text, bytes, files, streams with a length), the body has an exact
//!   size, so it is sent with a `Content-Length`; otherwise it is sent chunked. A form of text and byte
//!   parts only is a buffered body, which redirects (307/308) and retries can replay.
//! - A part that yields more or fewer bytes than its declared length (a file that changed size while
//!   it was sent) fails the body instead of sending a malformed request.
//! - Field names and file names are quoted as browsers do (WHATWG, RFC 7578 §4.2): `"` becomes `%22`,
//!   CR `%0D`, LF `%0A`; other characters, UTF-8 included, are sent as they are. reqwest's encodings
//!   are one call away: [`Form::percent_encode_path_segment`] (reqwest's default),
//!   [`Form::percent_encode_attr_chars`] and [`Form::percent_encode_noop`].
//! - The boundary is 64 random hex digits (in four groups), fresh for every form.
//!
//! What it does not do: it does not set `Content-Type` on the request by itself (use
//! [`Form::content_type`]), does not encode file names with RFC 5987 `filename*`, and guesses a file's
//! media type from a short list of common extensions only (`application/octet-stream` otherwise).
//!
//! ```
//! use courier::multipart::{Form, Part};
//!
//! # fn main() -> Result<(), courier::Error> {
//! let form = Form::new()
//!     .text("title", "Holiday")
//!     .part(
//!         "photo",
//!         Part::bytes(vec![0xff, 0xd8, 0xff]).file_name("beach.jpg").mime_str("image/jpeg")?,
//!     );
//! assert!(form.content_type().starts_with("multipart/form-data; boundary="));
//! assert!(form.content_length().is_some());
//! let body: courier::Body = form.into_body();
//! # drop(body);
//! # Ok(())
//! # }
//! ```
//!
//! Sending it:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use courier::multipart::Form;
//!
//! let form = Form::new().text("kind", "report").file("upload", "report.pdf").await?;
//! let response = courier::Client::new()
//!     .post("http://127.0.0.1:8080/upload")
//!     .header("content-type", form.content_type())
//!     .body(form.into_body())
//!     .send()
//!     .await?;
//! # drop(response);
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::HeaderMap;
use http_body::{Body as _, Frame, SizeHint};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use tokio::io::AsyncReadExt;

use crate::{Body, Error};
use courier_core::BoxError;

/// How much of a file is read per chunk.
const FILE_CHUNK: usize = 64 * 1024;

/// A `multipart/form-data` form: named parts, in order, and a boundary.
///
/// ```
/// use courier::multipart::Form;
///
/// let form = Form::new().text("a", "1").text("b", "2");
/// assert_eq!(form.content_type(), format!("multipart/form-data; boundary={}", form.boundary()));
/// ```
pub struct Form {
    boundary: String,
    parts: Vec<(Cow<'static, str>, Part)>,
    encoding: NameEncoding,
}

/// How `Content-Disposition` carries a part's name and file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameEncoding {
    /// As browsers: quoted, with `"`, CR and LF percent-encoded.
    Browser,
    /// reqwest's: a name that percent-encodes to something else is sent as `name*=utf-8''<encoded>`.
    PathSegment,
    AttrChar,
    /// reqwest's: the name as it is.
    NoOp,
}

/// One part of a [`Form`]: its data, and optionally a file name, a media type and more headers.
///
/// ```
/// use courier::multipart::Part;
///
/// # fn main() -> Result<(), courier::Error> {
/// let part = Part::text("plain value");
/// let file = Part::bytes(&b"col1,col2\n"[..]).file_name("data.csv").mime_str("text/csv")?;
/// # drop((part, file));
/// # Ok(())
/// # }
/// ```
pub struct Part {
    data: PartData,
    file_name: Option<Cow<'static, str>>,
    mime: Option<mime::Mime>,
    headers: HeaderMap,
}

enum PartData {
    Buffered(Bytes),
    Streaming { body: Body, length: Option<u64> },
}

impl Form {
    /// An empty form with a fresh random boundary.
    pub fn new() -> Form {
        Form {
            boundary: random_boundary(),
            parts: Vec::new(),
            encoding: NameEncoding::Browser,
        }
    }

    /// The boundary that separates the parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` to send the form with: `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// Adds a text field.
    pub fn text<N, V>(self, name: N, value: V) -> Form
    where
        N: Into<Cow<'static, str>>,
        V: Into<Cow<'static, str>>,
    {
        self.part(name, Part::text(value))
    }

    /// Adds a part.
    pub fn part<N: Into<Cow<'static, str>>>(mut self, name: N, part: Part) -> Form {
        self.parts.push((name.into(), part));
        self
    }

    /// Encode field names as reqwest does by default: a name with a character outside the URL
    /// path-segment set (non-ASCII, space, `"`, `/`, `%`, `#`, `?`, ...) is sent percent-encoded as
    /// `name*=utf-8''<encoded>`; file names are quoted with `\` before `"` and `\`. Courier's
    /// default instead quotes both as browsers do (see the [module docs](self)). CR and LF in a file
    /// name are sent as `%0D` and `%0A` (reqwest sends them raw after a `\`, which would end the
    /// header line).
    ///
    /// ```
    /// use courier::multipart::Form;
    /// use futures_util::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), courier::Error> {
    /// let form = Form::new().percent_encode_path_segment().text("ö x", "1");
    /// let body: Vec<u8> = form.into_stream().map_ok(|b| b.to_vec()).try_concat().await?;
    /// let body = String::from_utf8(body).unwrap();
    /// assert!(body.contains("Content-Disposition: form-data; name*=utf-8''%C3%B6%20x\r\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn percent_encode_path_segment(self) -> Form {
        self.with_encoding(NameEncoding::PathSegment)
    }

    /// Encode field names as [`percent_encode_path_segment`](Form::percent_encode_path_segment)
    /// does, with RFC 8187's `attr-char` set instead (only letters, digits and ``!#$&+-.^_`|~`` are
    /// left as they are).
    pub fn percent_encode_attr_chars(self) -> Form {
        self.with_encoding(NameEncoding::AttrChar)
    }

    /// Send field names as they are in `name="..."` (reqwest's `percent_encode_noop`; a `"` in a name
    /// is not escaped, CR and LF are sent as `%0D` and `%0A`), file names quoted as with
    /// [`percent_encode_path_segment`](Form::percent_encode_path_segment).
    pub fn percent_encode_noop(self) -> Form {
        self.with_encoding(NameEncoding::NoOp)
    }

    fn with_encoding(mut self, encoding: NameEncoding) -> Form {
        self.encoding = encoding;
        self
    }

    /// The body as a stream of byte chunks (what [`into_body`](Form::into_body) sends), e.g. to
    /// write the form somewhere else.
    ///
    /// ```
    /// use courier::multipart::Form;
    /// use futures_util::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), courier::Error> {
    /// let form = Form::new().text("a", "1");
    /// let end = format!("--{}--\r\n", form.boundary());
    /// let body: Vec<u8> = form.into_stream().map_ok(|b| b.to_vec()).try_concat().await?;
    /// assert!(body.ends_with(end.as_bytes()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_stream(
        self,
    ) -> impl futures_core::Stream<Item = Result<Bytes, Error>> + Send + Sync + Unpin + 'static
    {
        body_stream(self.into_body())
    }

    /// Adds the file at `path` as a part named `name`, streamed when the form is sent (see
    /// [`Part::file`]). Fails if the file cannot be opened.
    pub async fn file<N, P>(self, name: N, path: P) -> io::Result<Form>
    where
        N: Into<Cow<'static, str>>,
        P: AsRef<Path>,
    {
        let part = Part::file(path).await?;
        Ok(self.part(name, part))
    }

    /// The length of the body in bytes, when every part's length is known (0 for a form with no
    /// part, whose body is empty, as reqwest's).
    pub fn content_length(&self) -> Option<u64> {
        if self.parts.is_empty() {
            return Some(0);
        }
        let mut total = self.end().len() as u64;
        for (name, part) in &self.parts {
            let head = part.head(&self.boundary, name, self.encoding).len() as u64;
            total = total
                .checked_add(head)?
                .checked_add(part.length()?)?
                .checked_add(2)?;
        }
        Some(total)
    }

    /// The body: a buffered one when every part is text or bytes, else a stream that reads each part
    /// when its turn comes (with an exact size when all lengths are known).
    pub fn into_body(self) -> Body {
        if self.parts.is_empty() {
            // No part, no delimiter either (as reqwest sends it).
            return Body::empty();
        }
        let length = self.content_length();
        let end = self.end();
        let mut segments = VecDeque::with_capacity(self.parts.len() * 3 + 1);
        for (name, part) in self.parts {
            segments.push_back(Segment::Buffered(part.head(
                &self.boundary,
                &name,
                self.encoding,
            )));
            match part.data {
                PartData::Buffered(bytes) => segments.push_back(Segment::Buffered(bytes)),
                PartData::Streaming { body, length } => segments.push_back(Segment::Streaming {
                    name,
                    body,
                    declared: length,
                    seen: 0,
                }),
            }
            segments.push_back(Segment::Buffered(Bytes::from_static(b"\r\n")));
        }
        segments.push_back(Segment::Buffered(end));

        if segments
            .iter()
            .all(|segment| matches!(segment, Segment::Buffered(_)))
        {
            let mut buf = BytesMut::with_capacity(length.unwrap_or(0) as usize);
            for segment in segments {
                if let Segment::Buffered(bytes) = segment {
                    buf.extend_from_slice(&bytes);
                }
            }
            return Body::from(buf.freeze());
        }
        Body::new(FormBody {
            segments,
            remaining: length,
        })
    }

    /// The closing delimiter.
    fn end(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }
}

impl Default for Form {
    fn default() -> Form {
        Form::new()
    }
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Form")
            .field("boundary", &self.boundary)
            .field("parts", &self.parts)
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl Part {
    fn new(data: PartData) -> Part {
        Part {
            data,
            file_name: None,
            mime: None,
            headers: HeaderMap::new(),
        }
    }

    /// A text value (sent without a `Content-Type`, which RFC 7578 reads as `text/plain`).
    pub fn text<V: Into<Cow<'static, str>>>(value: V) -> Part {
        let bytes = match value.into() {
            Cow::Borrowed(s) => Bytes::from_static(s.as_bytes()),
            Cow::Owned(s) => Bytes::from(s),
        };
        Part::new(PartData::Buffered(bytes))
    }

    /// Bytes held in memory.
    pub fn bytes<V: Into<Cow<'static, [u8]>>>(value: V) -> Part {
        let bytes = match value.into() {
            Cow::Borrowed(b) => Bytes::from_static(b),
            Cow::Owned(b) => Bytes::from(b),
        };
        Part::new(PartData::Buffered(bytes))
    }

    /// A body, streamed when the form is sent. Its length is known when the body knows its exact size
    /// (a buffered [`Body`]); for a stream of unknown length the form is sent chunked.
    pub fn stream<B: Into<Body>>(body: B) -> Part {
        let body = body.into();
        let length = body.size_hint().exact();
        Part::new(PartData::Streaming { body, length })
    }

    /// A body of `length` bytes, streamed when the form is sent. Sending fails if the body yields more
    /// or fewer bytes.
    pub fn stream_with_length<B: Into<Body>>(body: B, length: u64) -> Part {
        Part::new(PartData::Streaming {
            body: body.into(),
            length: Some(length),
        })
    }

    /// The file at `path`, opened now and streamed when the form is sent, with its file name and a media
    /// type guessed from its extension (`application/octet-stream` when unknown). The length of a
    /// regular file is its size now, and sending fails if that changes; a pipe, a device or a file
    /// whose size says nothing (`/proc`'s, of size 0) is streamed to its end, the form then without a
    /// `Content-Length`.
    pub async fn file<P: AsRef<Path>>(path: P) -> io::Result<Part> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path).await?;
        let length = file_length(&file.metadata().await?);
        Ok(Part::opened_file(file, length, path))
    }

    /// The file at `path`, read into memory now, with its file name and a media type guessed from its
    /// extension, as [`file`](Part::file) names and types it. Unlike a streamed file, a form of such
    /// parts (and text and bytes) can be sent again: to follow a `307`/`308` redirect, for a retry,
    /// or to answer a Digest challenge. For files small enough to hold in memory.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let form = courier::multipart::Form::new()
    ///     .part("avatar", courier::multipart::Part::file_buffered("avatar.png").await?);
    /// # drop(form);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn file_buffered<P: AsRef<Path>>(path: P) -> io::Result<Part> {
        let path = path.as_ref();
        let mut part = Part::new(PartData::Buffered(tokio::fs::read(path).await?.into()));
        part.name_after(path);
        Ok(part)
    }

    /// Names the part after the file at `path`, and types it by the path's extension.
    fn name_after(&mut self, path: &Path) {
        if let Some(name) = path.file_name() {
            self.file_name = Some(name.to_string_lossy().into_owned().into());
        }
        self.mime = Some(guess_mime(path));
    }

    /// A part streaming `file`, already open, of `length` bytes (`None`: to its end), named after
    /// `path`.
    pub(crate) fn opened_file(file: tokio::fs::File, length: Option<u64>, path: &Path) -> Part {
        let stream = futures_util::stream::try_unfold(file, |mut file| async move {
            let mut buf = BytesMut::with_capacity(FILE_CHUNK);
            match file.read_buf(&mut buf).await? {
                0 => Ok::<_, io::Error>(None),
                _ => Ok(Some((buf.freeze(), file))),
            }
        });
        let mut part = Part::new(PartData::Streaming {
            body: Body::wrap_stream(stream),
            length,
        });
        part.name_after(path);
        part
    }

    /// The file name sent in `Content-Disposition`.
    pub fn file_name<F: Into<Cow<'static, str>>>(mut self, file_name: F) -> Part {
        self.file_name = Some(file_name.into());
        self
    }

    /// The part's `Content-Type`, e.g. `"image/png"`. Fails (a builder error) if it is not a valid
    /// media type.
    pub fn mime_str(mut self, mime: &str) -> Result<Part, Error> {
        let mime = mime
            .parse::<mime::Mime>()
            .map_err(|e| Error::builder(InvalidMime(mime.to_owned(), e)))?;
        self.mime = Some(mime);
        Ok(self)
    }

    /// Extra headers for this part. `Content-Disposition` is always the form's own; a `Content-Type`
    /// here replaces the one from [`mime_str`](Part::mime_str).
    pub fn headers(mut self, headers: HeaderMap) -> Part {
        self.headers = headers;
        self
    }

    fn length(&self) -> Option<u64> {
        match &self.data {
            PartData::Buffered(bytes) => Some(bytes.len() as u64),
            PartData::Streaming { length, .. } => *length,
        }
    }

    /// The delimiter and headers that come before the part's data.
    fn head(&self, boundary: &str, name: &str, encoding: NameEncoding) -> Bytes {
        let mut head = Vec::with_capacity(128);
        head.extend_from_slice(b"--");
        head.extend_from_slice(boundary.as_bytes());
        head.extend_from_slice(b"\r\nContent-Disposition: form-data; ");
        encoding.name_and_file_name(&mut head, name, self.file_name.as_deref());
        head.extend_from_slice(b"\r\n");
        let custom_type = self.headers.contains_key(http::header::CONTENT_TYPE);
        if let (Some(mime), false) = (&self.mime, custom_type) {
            head.extend_from_slice(b"Content-Type: ");
            head.extend_from_slice(mime.as_ref().as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        let others = self
            .headers
            .iter()
            .filter(|(name, _)| *name != http::header::CONTENT_DISPOSITION);
        courier_core::headers::write_lines(&mut head, others);
        head.extend_from_slice(b"\r\n");
        Bytes::from(head)
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Part");
        match &self.data {
            PartData::Buffered(bytes) => d.field("len", &bytes.len()),
            PartData::Streaming { length, .. } => d.field("stream_len", length),
        };
        d.field("file_name", &self.file_name)
            .field("mime", &self.mime)
            .field("headers", &self.headers)
            .finish()
    }
}

impl NameEncoding {
    /// `name=...` and, for a file, `; filename="..."`, as this encoding writes them.
    fn name_and_file_name(self, head: &mut Vec<u8>, name: &str, file_name: Option<&str>) {
        use percent_encoding::utf8_percent_encode;

        if self == NameEncoding::Browser {
            head.extend_from_slice(b"name=\"");
            head.extend_from_slice(escape_quoted(name, &['"', '\r', '\n']).as_bytes());
            head.push(b'"');
            if let Some(file_name) = file_name {
                head.extend_from_slice(b"; filename=\"");
                head.extend_from_slice(escape_quoted(file_name, &['"', '\r', '\n']).as_bytes());
                head.push(b'"');
            }
            return;
        }
        // reqwest's rendering (its `PercentEncoding::encode_headers`), but for CR and LF.
        let encoded: Cow<'_, str> = match self {
            NameEncoding::PathSegment => utf8_percent_encode(name, PATH_SEGMENT_ENCODE_SET).into(),
            NameEncoding::AttrChar => utf8_percent_encode(name, ATTR_CHAR_ENCODE_SET).into(),
            NameEncoding::NoOp | NameEncoding::Browser => escape_quoted(name, &['\r', '\n']),
        };
        match (self, encoded) {
            (NameEncoding::NoOp, name) | (_, name @ Cow::Borrowed(_)) => {
                head.extend_from_slice(b"name=\"");
                head.extend_from_slice(name.as_bytes());
                head.push(b'"');
            }
            (_, Cow::Owned(encoded)) => {
                head.extend_from_slice(b"name*=utf-8''");
                head.extend_from_slice(encoded.as_bytes());
            }
        }
        // RFC 7578 §4.2 forbids `filename*=`, so reqwest quotes the name with backslashes.
        if let Some(file_name) = file_name {
            head.extend_from_slice(b"; filename=\"");
            for c in file_name.chars() {
                match c {
                    '\\' => head.extend_from_slice(b"\\\\"),
                    '"' => head.extend_from_slice(b"\\\""),
                    '\r' => head.extend_from_slice(b"%0D"),
                    '\n' => head.extend_from_slice(b"%0A"),
                    c => head.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            head.push(b'"');
        }
    }
}

// reqwest's sets: the WHATWG URL path-segment set (https://url.spec.whatwg.org/#path-percent-encode-set,
// plus `/` and `%`), and RFC 8187 §3.2.1's attr-char.
const FRAGMENT_ENCODE_SET: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
const PATH_SEGMENT_ENCODE_SET: &AsciiSet = &FRAGMENT_ENCODE_SET
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%');
const ATTR_CHAR_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Percent-encodes the `special` characters of `value` (of `"`, CR and LF), as browsers do in a
/// quoted name (so it cannot end the quoted string or the header line); the rest as it is.
fn escape_quoted<'a>(value: &'a str, special: &[char]) -> Cow<'a, str> {
    if !value.contains(special) {
        return Cow::Borrowed(value);
    }
    let mut escaped = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '"' | '\r' | '\n' if special.contains(&c) => {
                escaped.push_str(&format!("%{:02X}", c as u8));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// A media type from a file extension, for the common cases.
fn guess_mime(path: &Path) -> mime::Mime {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let essence = match extension.as_deref() {
        Some("txt" | "text" | "log") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("css") => "text/css",
        Some("csv") => "text/csv",
        Some("md" | "markdown") => "text/markdown",
        Some("js" | "mjs") => "text/javascript",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz" | "tgz") => "application/gzip",
        Some("tar") => "application/x-tar",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("ogg") => "audio/ogg",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        _ => "application/octet-stream",
    };
    essence.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM)
}

/// A boundary of four groups of 16 random hex digits: long enough that no part's data will contain it
/// by chance.
fn random_boundary() -> String {
    format!(
        "{:016x}-{:016x}-{:016x}-{:016x}",
        random_u64(),
        random_u64(),
        random_u64(),
        random_u64()
    )
}

/// 64 random-looking bits: SipHash, keyed by a fresh `RandomState` (seeded by std from the OS), of a
/// process-wide counter. Not for secrets; a boundary only needs to be unpredictable to the data.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// The streaming body of a form: buffered delimiters and headers, and streamed parts, in order.
struct FormBody {
    segments: VecDeque<Segment>,
    /// Bytes left to send, when every length is known.
    remaining: Option<u64>,
}

enum Segment {
    Buffered(Bytes),
    Streaming {
        name: Cow<'static, str>,
        body: Body,
        declared: Option<u64>,
        seen: u64,
    },
}

impl FormBody {
    fn sent(&mut self, len: usize) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(len as u64);
        }
    }

    fn fail(&mut self, err: BoxError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.segments.clear();
        Poll::Ready(Some(Err(err)))
    }
}

impl http_body::Body for FormBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            let polled = match self.segments.front_mut() {
                None => return Poll::Ready(None),
                Some(Segment::Buffered(_)) => {
                    let Some(Segment::Buffered(bytes)) = self.segments.pop_front() else {
                        unreachable!("the front segment is buffered");
                    };
                    if bytes.is_empty() {
                        continue;
                    }
                    self.sent(bytes.len());
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Segment::Streaming {
                    name,
                    body,
                    declared,
                    seen,
                }) => match Pin::new(body).poll_frame(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(frame))) => {
                        // Trailers of a part's body have no place in a form: skip them.
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        *seen += data.len() as u64;
                        match *declared {
                            Some(declared) if *seen > declared => Err(LengthMismatch {
                                name: name.to_string(),
                                declared,
                                longer: true,
                            }),
                            _ => Ok(Some(data)),
                        }
                    }
                    Poll::Ready(Some(Err(err))) => return self.fail(err),
                    Poll::Ready(None) => match *declared {
                        Some(declared) if *seen != declared => Err(LengthMismatch {
                            name: name.to_string(),
                            declared,
                            longer: false,
                        }),
                        _ => Ok(None),
                    },
                },
            };
            match polled {
                Ok(Some(data)) if data.is_empty() => continue,
                Ok(Some(data)) => {
                    self.sent(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(None) => {
                    self.segments.pop_front();
                }
                Err(mismatch) => return self.fail(Box::new(mismatch)),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(remaining) => SizeHint::with_exact(remaining),
            None => SizeHint::default(),
        }
    }
}

/// A part yielded more or fewer bytes than its declared length.
#[derive(Debug)]
struct LengthMismatch {
    name: String,
    declared: u64,
    longer: bool,
}

impl fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let comparison = if self.longer { "more" } else { "fewer" };
        write!(
            f,
            "multipart part {:?} yielded {comparison} bytes than its declared length of {}",
            self.name, self.declared
        )
    }
}

impl std::error::Error for LengthMismatch {}

/// A media type given to [`Part::mime_str`] did not parse.
#[derive(Debug)]
struct InvalidMime(String, mime::FromStrError);

impl fmt::Display for InvalidMime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid multipart part media type {:?}: {}",
            self.0, self.1
        )
    }
}

impl std::error::Error for InvalidMime {}

/// The length to declare for a file about to be streamed: a regular file's size, or `None` when the
/// size says nothing about what reading it gives (a pipe, a device; `/proc` files report 0).
pub(crate) fn file_length(meta: &std::fs::Metadata) -> Option<u64> {
    Some(meta.len()).filter(|&len| meta.is_file() && len > 0)
}

/// The data of a form's `body` as a stream of chunks (what [`Form::into_stream`] and the blocking
/// form's reader read).
pub(crate) fn body_stream(
    body: Body,
) -> impl futures_core::Stream<Item = Result<Bytes, Error>> + Send + Sync + Unpin + 'static {
    use futures_util::TryStreamExt;
    http_body_util::BodyDataStream::new(body).map_err(Error::from_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn chunks(items: &[&'static str]) -> Body {
        let items: Vec<Result<Bytes, io::Error>> = items
            .iter()
            .map(|s| Ok(Bytes::from_static(s.as_bytes())))
            .collect();
        Body::wrap_stream(futures_util::stream::iter(items))
    }

    async fn collect(body: Body) -> Result<Bytes, BoxError> {
        Ok(body.collect().await?.to_bytes())
    }

    #[tokio::test]
    async fn renders_text_and_file_parts() {
        let form = Form::new().text("title", "Hi").part(
            "file",
            Part::bytes(&b"abc"[..])
                .file_name("a.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
        let b = form.boundary().to_owned();
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHi\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain\r\n\r\nabc\r\n--{b}--\r\n"
        );
        assert_eq!(form.content_length(), Some(expected.len() as u64));
        let body = form.into_body();
        assert_eq!(body.size_hint().exact(), Some(expected.len() as u64));
        // Text and bytes only: buffered, hence replayable.
        assert!(body.try_clone().is_some());
        assert_eq!(collect(body).await.unwrap(), expected.as_bytes());
    }

    /// As reqwest's: no part, no body (not even a closing delimiter), and a length of 0.
    #[tokio::test]
    async fn an_empty_form_has_an_empty_body() {
        let form = Form::default();
        assert_eq!(form.content_length(), Some(0));
        assert!(collect(form.into_body()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn streams_with_and_without_length() {
        let form = Form::new()
            .part(
                "known",
                Part::stream_with_length(chunks(&["ab", "", "c"]), 3),
            )
            .text("after", "x");
        let b = form.boundary().to_owned();
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"known\"\r\n\r\nabc\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nx\r\n--{b}--\r\n"
        );
        assert_eq!(form.content_length(), Some(expected.len() as u64));
        let body = form.into_body();
        assert!(body.try_clone().is_none());
        assert_eq!(body.size_hint().exact(), Some(expected.len() as u64));
        assert_eq!(collect(body).await.unwrap(), expected.as_bytes());

        let form = Form::new().part("unknown", Part::stream(chunks(&["a", "b"])));
        assert_eq!(form.content_length(), None);
        let body = form.into_body();
        assert_eq!(body.size_hint().exact(), None);
        let b = String::from_utf8(collect(body).await.unwrap().to_vec()).unwrap();
        let boundary = b[2..69].to_owned();
        assert_eq!(
            b,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"unknown\"\r\n\r\nab\r\n--{boundary}--\r\n"
            )
        );

        // A buffered Body has a known length.
        let part = Part::stream(Body::from("12345"));
        assert_eq!(part.length(), Some(5));
    }

    #[tokio::test]
    async fn size_hint_counts_down() {
        let form = Form::new().part("p", Part::stream_with_length(chunks(&["ab", "cd"]), 4));
        let total = form.content_length().unwrap();
        let mut body = form.into_body();
        let mut sent = 0;
        while let Some(frame) = body.frame().await {
            sent += frame.unwrap().into_data().unwrap().len() as u64;
            assert_eq!(body.size_hint().exact(), Some(total - sent));
        }
        assert_eq!(sent, total);
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn declared_lengths_are_enforced() {
        let longer = Form::new().part("big", Part::stream_with_length(chunks(&["abcd"]), 3));
        let err = collect(longer.into_body()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "multipart part \"big\" yielded more bytes than its declared length of 3"
        );

        let shorter = Form::new().part("small", Part::stream_with_length(chunks(&["ab"]), 3));
        let err = collect(shorter.into_body()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "multipart part \"small\" yielded fewer bytes than its declared length of 3"
        );
    }

    #[tokio::test]
    async fn stream_errors_pass_through_and_end_the_body() {
        let items = vec![
            Ok(Bytes::from_static(b"a")),
            Err(io::Error::other("disk on fire")),
        ];
        let form = Form::new().part(
            "p",
            Part::stream(Body::wrap_stream(futures_util::stream::iter(items))),
        );
        let mut body = form.into_body();
        let mut error = None;
        while let Some(frame) = body.frame().await {
            if let Err(err) = frame {
                error = Some(err.to_string());
                break;
            }
        }
        assert_eq!(error.as_deref(), Some("disk on fire"));
        assert!(body.frame().await.is_none());
    }

    #[test]
    fn names_are_escaped_like_browsers() {
        let all = &['"', '\r', '\n'];
        assert_eq!(escape_quoted("plain", all), "plain");
        assert_eq!(escape_quoted("a\"b\r\nc", all), "a%22b%0D%0Ac");
        assert_eq!(escape_quoted("résumé;x=1", all), "résumé;x=1");
        let part = Part::text("v").file_name("f\"\n.txt");
        let head = part.head("B", "n\r", NameEncoding::Browser);
        assert_eq!(
            &head[..],
            b"--B\r\nContent-Disposition: form-data; name=\"n%0D\"; filename=\"f%22%0A.txt\"\r\n\r\n"
        );
    }

    #[test]
    fn custom_headers_and_content_type() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/x-custom".parse().unwrap());
        headers.insert("content-disposition", "attachment".parse().unwrap());
        headers.insert("x-part", "1".parse().unwrap());
        let part = Part::text("v")
            .mime_str("text/plain")
            .unwrap()
            .headers(headers);
        let head = String::from_utf8(part.head("B", "n", NameEncoding::Browser).to_vec()).unwrap();
        assert_eq!(
            head,
            "--B\r\nContent-Disposition: form-data; name=\"n\"\r\n\
             content-type: application/x-custom\r\nx-part: 1\r\n\r\n"
        );
    }

    #[test]
    fn invalid_mime_is_a_builder_error() {
        let err = Part::text("v").mime_str("not a mime").unwrap_err();
        assert!(err.is_builder());
        assert!(format!("{err:#}").contains("\"not a mime\""), "{err}");
    }

    #[test]
    fn boundaries_are_random_hex() {
        let a = Form::new();
        let b = Form::new();
        assert_ne!(a.boundary(), b.boundary());
        assert_eq!(a.boundary().len(), 67);
        assert!(a
            .boundary()
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-'));
    }

    #[test]
    fn mime_guesses() {
        assert_eq!(
            guess_mime(Path::new("a/b.JSON")).as_ref(),
            "application/json"
        );
        assert_eq!(guess_mime(Path::new("photo.jpeg")).as_ref(), "image/jpeg");
        assert_eq!(guess_mime(Path::new("notes.txt")).as_ref(), "text/plain");
        assert_eq!(
            guess_mime(Path::new("archive.unknownext")).as_ref(),
            "application/octet-stream"
        );
        assert_eq!(
            guess_mime(Path::new("Makefile")).as_ref(),
            "application/octet-stream"
        );
    }

    #[tokio::test]
    async fn missing_file_is_an_io_error() {
        let err = Form::new()
            .file("f", "/definitely/not/here.txt")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
