//! Content codings: which ones are accepted, how `Accept-Encoding` advertises them, and how a response's
//! `Content-Encoding` is parsed into the list of decoders to run.

use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, TRANSFER_ENCODING};

/// The most codings a response may stack (`Content-Encoding: gzip, br` is two). Each one costs a
/// decoder with its own window, so a longer list is passed through undecoded rather than trusted.
pub(crate) const MAX_STACKED_CODINGS: usize = 4;

/// One content coding Courier can decode. Variants exist only for the codings compiled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    #[cfg(feature = "gzip")]
    Gzip,
    /// HTTP's `deflate` (zlib-wrapped), or raw deflate as some servers send it.
    #[cfg(feature = "deflate")]
    Deflate,
    #[cfg(feature = "brotli")]
    Brotli,
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    /// The coding's token as it appears in `Content-Encoding`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
            #[cfg(feature = "deflate")]
            Coding::Deflate => "deflate",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }

    /// Parses one `Content-Encoding` token (already trimmed); `None` if unknown or not compiled in.
    fn parse(token: &str) -> Option<Coding> {
        #[cfg(feature = "gzip")]
        if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
            return Some(Coding::Gzip);
        }
        #[cfg(feature = "deflate")]
        if token.eq_ignore_ascii_case("deflate") {
            return Some(Coding::Deflate);
        }
        #[cfg(feature = "brotli")]
        if token.eq_ignore_ascii_case("br") {
            return Some(Coding::Brotli);
        }
        #[cfg(feature = "zstd")]
        if token.eq_ignore_ascii_case("zstd") {
            return Some(Coding::Zstd);
        }
        let _ = token;
        None
    }
}

/// Which codings a layer advertises and decodes: the builder's choices, already narrowed to the
/// codings compiled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AcceptEncoding {
    bits: u8,
}

const GZIP: u8 = 1;
const DEFLATE: u8 = 2;
const BR: u8 = 4;
const ZSTD: u8 = 8;

/// The `Accept-Encoding` value for each combination of the bits above, in a fixed order, built at
/// compile time: setting the header clones a static `HeaderValue` and never allocates or validates.
static ACCEPT_ENCODING_VALUES: [HeaderValue; 16] = [
    HeaderValue::from_static(""),
    HeaderValue::from_static("gzip"),
    HeaderValue::from_static("deflate"),
    HeaderValue::from_static("gzip, deflate"),
    HeaderValue::from_static("br"),
    HeaderValue::from_static("gzip, br"),
    HeaderValue::from_static("deflate, br"),
    HeaderValue::from_static("gzip, deflate, br"),
    HeaderValue::from_static("zstd"),
    HeaderValue::from_static("gzip, zstd"),
    HeaderValue::from_static("deflate, zstd"),
    HeaderValue::from_static("gzip, deflate, zstd"),
    HeaderValue::from_static("br, zstd"),
    HeaderValue::from_static("gzip, br, zstd"),
    HeaderValue::from_static("deflate, br, zstd"),
    HeaderValue::from_static("gzip, deflate, br, zstd"),
];

impl Default for AcceptEncoding {
    /// Every coding compiled in.
    fn default() -> Self {
        AcceptEncoding { bits: 0 }
            .set_gzip(true)
            .set_deflate(true)
            .set_br(true)
            .set_zstd(true)
    }
}

impl AcceptEncoding {
    fn set(self, bit: u8, compiled_in: bool, enabled: bool) -> Self {
        let bits = if enabled && compiled_in {
            self.bits | bit
        } else {
            self.bits & !bit
        };
        AcceptEncoding { bits }
    }

    pub(crate) fn set_gzip(self, enabled: bool) -> Self {
        self.set(GZIP, cfg!(feature = "gzip"), enabled)
    }

    pub(crate) fn set_deflate(self, enabled: bool) -> Self {
        self.set(DEFLATE, cfg!(feature = "deflate"), enabled)
    }

    pub(crate) fn set_br(self, enabled: bool) -> Self {
        self.set(BR, cfg!(feature = "brotli"), enabled)
    }

    pub(crate) fn set_zstd(self, enabled: bool) -> Self {
        self.set(ZSTD, cfg!(feature = "zstd"), enabled)
    }

    /// True if no coding is enabled: the layer then leaves requests and responses alone.
    pub(crate) fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The `Accept-Encoding` value advertising the enabled codings, e.g. `gzip, deflate, br, zstd`.
    pub(crate) fn header_value(self) -> &'static HeaderValue {
        &ACCEPT_ENCODING_VALUES[usize::from(self.bits & 0xF)]
    }

    fn allows(self, coding: Coding) -> bool {
        let bit: u8 = match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => GZIP,
            #[cfg(feature = "deflate")]
            Coding::Deflate => DEFLATE,
            #[cfg(feature = "brotli")]
            Coding::Brotli => BR,
            #[cfg(feature = "zstd")]
            Coding::Zstd => ZSTD,
        };
        self.bits & bit != 0
    }

    /// Adds the codings of `Content-Encoding` to `applied`; `None` if the content is to be passed
    /// through untouched: no `Content-Encoding`, only `identity`, an unknown or disabled coding, a value
    /// that is not text, or more than [`MAX_STACKED_CODINGS`].
    pub(crate) fn content_codings(self, headers: &HeaderMap, applied: &mut Applied) -> Option<()> {
        // Several `Content-Encoding` lines form one list, in order (RFC 9110 §5.3).
        for value in headers.get_all(CONTENT_ENCODING) {
            for token in tokens(value)? {
                if token.eq_ignore_ascii_case("identity") {
                    continue;
                }
                applied.push(Coding::parse(token).filter(|&c| self.allows(c))?)?;
            }
        }
        Some(())
    }
}

/// The tokens of a comma-separated header value; `None` if it is not text.
fn tokens(value: &HeaderValue) -> Option<impl Iterator<Item = &str>> {
    let value = value.to_str().ok()?;
    Some(
        value
            .split(',')
            .map(|token| token.trim_matches(|c| c == ' ' || c == '\t'))
            .filter(|token| !token.is_empty()),
    )
}

/// What a response's `Transfer-Encoding` says beyond what hyper undoes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransferCodings {
    /// It lists a coding to undo (gzip, deflate, br, zstd).
    pub(crate) any: bool,
    /// It ends in `chunked` (which hyper undid).
    pub(crate) chunked: bool,
}

/// Adds the codings of `Transfer-Encoding` other than `chunked` (which hyper undoes) to `applied`.
/// Courier never asks for them (it sends no `TE`), but a server that sends `gzip, chunked` anyway
/// means its bytes to be decoded whoever asked, so every coding compiled in is accepted here. `Err`
/// carries the header's value if one of them cannot be undone, or if `chunked` is not the last coding
/// (RFC 9112 §6.1: hyper then reads the body to the connection's end, framing and all).
pub(crate) fn transfer_codings(
    headers: &HeaderMap,
    applied: &mut Applied,
) -> Result<TransferCodings, String> {
    let mut found = TransferCodings::default();
    let all = || {
        headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for value in headers.get_all(TRANSFER_ENCODING) {
        for token in tokens(value).ok_or_else(all)? {
            if found.chunked {
                // Something after `chunked`.
                return Err(all());
            }
            if token.eq_ignore_ascii_case("chunked") {
                found.chunked = true;
                continue;
            }
            if token.eq_ignore_ascii_case("identity") {
                continue;
            }
            let coding = Coding::parse(token).ok_or_else(all)?;
            applied.push(coding).ok_or_else(all)?;
            found.any = true;
        }
    }
    // hyper de-chunks only when the last element of the last line is `chunked`, empty ones included
    // (`chunked,`): otherwise it read the body to the connection's end, framing and all.
    let hyper_chunked = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .next_back()
        .and_then(|line| line.to_str().ok())
        .and_then(|line| line.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
    if found.chunked && !hyper_chunked {
        return Err(all());
    }
    Ok(found)
}

/// The codings a response's bytes went through, in the order the server applied them: content codings
/// first, then transfer codings.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Applied {
    list: [Option<Coding>; MAX_STACKED_CODINGS],
    len: usize,
}

impl Applied {
    /// `None` if the list is full.
    fn push(&mut self, coding: Coding) -> Option<()> {
        *self.list.get_mut(self.len)? = Some(coding);
        self.len += 1;
        Some(())
    }

    /// The codings to undo, last applied first; `None` if there are none.
    pub(crate) fn into_codings(self) -> Option<Codings> {
        let mut undo = self.list[..self.len].iter().rev().flatten().copied();
        let first = undo.next()?;
        let mut then = [None; MAX_STACKED_CODINGS - 1];
        for (slot, coding) in then.iter_mut().zip(undo) {
            *slot = Some(coding);
        }
        Some(Codings { first, then })
    }
}

/// The codings of one response, non-empty, kept in the order they are undone: the coding the server
/// applied last comes first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Codings {
    first: Coding,
    then: [Option<Coding>; MAX_STACKED_CODINGS - 1],
}

impl Codings {
    /// The codings in the order they are decoded.
    pub(crate) fn decode_order(&self) -> impl Iterator<Item = Coding> + '_ {
        std::iter::once(self.first).chain(self.then.iter().flatten().copied())
    }

    /// The coding decoded first (the last one applied).
    pub(crate) fn first(&self) -> Coding {
        self.first
    }

    /// The codings as the server listed them, e.g. `gzip, br`, for error messages.
    pub(crate) fn label(&self) -> String {
        let mut names: Vec<&str> = self.decode_order().map(Coding::name).collect();
        names.reverse();
        names.join(", ")
    }
}

#[cfg(all(
    test,
    feature = "gzip",
    feature = "deflate",
    feature = "brotli",
    feature = "zstd"
))]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn codings_to_decode(accept: AcceptEncoding, headers: &HeaderMap) -> Option<Codings> {
        let mut applied = Applied::default();
        accept.content_codings(headers, &mut applied)?;
        applied.into_codings()
    }

    fn parse(values: &[&str]) -> Option<Vec<&'static str>> {
        codings_to_decode(AcceptEncoding::default(), &headers(values)).map(|c| {
            let mut names: Vec<_> = c.decode_order().map(Coding::name).collect();
            names.reverse();
            names
        })
    }

    #[test]
    fn accept_encoding_lists_enabled_codings_in_order() {
        assert_eq!(
            *AcceptEncoding::default().header_value(),
            "gzip, deflate, br, zstd"
        );
        let some = AcceptEncoding::default().set_deflate(false).set_zstd(false);
        assert_eq!(some.header_value(), "gzip, br");
        let none = some.set_gzip(false).set_br(false);
        assert!(none.is_empty());
        // Re-enabling one coding works after disabling it.
        assert_eq!(none.set_zstd(true).header_value(), "zstd");
    }

    #[test]
    fn content_encoding_is_parsed_case_and_whitespace_tolerant() {
        assert_eq!(parse(&["gzip"]), Some(vec!["gzip"]));
        assert_eq!(parse(&[" DEFLATE \t"]), Some(vec!["deflate"]));
        assert_eq!(parse(&["x-gzip"]), Some(vec!["gzip"]));
        assert_eq!(parse(&["gzip, br"]), Some(vec!["gzip", "br"]));
        assert_eq!(parse(&["gzip", "zstd"]), Some(vec!["gzip", "zstd"]));
        assert_eq!(parse(&["identity, gzip,,Identity"]), Some(vec!["gzip"]));
    }

    #[test]
    fn nothing_to_decode_passes_through() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&["identity"]), None);
        assert_eq!(parse(&[""]), None);
        // One unknown coding anywhere in the list: decoding part of it would corrupt the body.
        assert_eq!(parse(&["gzip, compress"]), None);
        assert_eq!(parse(&["gzip", "bogus"]), None);
        assert_eq!(parse(&["gzip, gzip, gzip, gzip"]).map(|c| c.len()), Some(4));
        assert_eq!(parse(&["gzip, gzip, gzip, gzip, gzip"]), None);
        let mut map = HeaderMap::new();
        map.insert(
            CONTENT_ENCODING,
            HeaderValue::from_bytes(b"gzip\xff").unwrap(),
        );
        assert!(codings_to_decode(AcceptEncoding::default(), &map).is_none());
    }

    #[test]
    fn disabled_codings_are_not_decoded() {
        let no_gzip = AcceptEncoding::default().set_gzip(false);
        assert!(codings_to_decode(no_gzip, &headers(&["gzip"])).is_none());
        assert!(codings_to_decode(no_gzip, &headers(&["br"])).is_some());
    }

    #[test]
    fn label_lists_codings_as_sent() {
        let codings =
            codings_to_decode(AcceptEncoding::default(), &headers(&["gzip", "br"])).unwrap();
        assert_eq!(codings.label(), "gzip, br");
    }

    #[test]
    fn transfer_codings_follow_content_codings() {
        let mut map = headers(&["br"]);
        map.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        let mut applied = Applied::default();
        AcceptEncoding::default()
            .content_codings(&map, &mut applied)
            .unwrap();
        assert_eq!(
            transfer_codings(&map, &mut applied),
            Ok(TransferCodings {
                any: true,
                chunked: true
            })
        );
        assert_eq!(applied.into_codings().unwrap().label(), "br, gzip");

        let chunked_only = {
            let mut map = HeaderMap::new();
            map.insert(TRANSFER_ENCODING, HeaderValue::from_static("Chunked"));
            map
        };
        assert_eq!(
            transfer_codings(&chunked_only, &mut Applied::default()),
            Ok(TransferCodings {
                any: false,
                chunked: true
            })
        );

        // `chunked` anywhere but last: hyper read the body to the end, framing included.
        for value in ["chunked, gzip", "chunked, chunked"] {
            let mut map = HeaderMap::new();
            map.insert(TRANSFER_ENCODING, HeaderValue::from_static(value));
            assert_eq!(
                transfer_codings(&map, &mut Applied::default()),
                Err(value.to_owned())
            );
        }
        // A coding without `chunked` (the body ends with the connection).
        let mut gzip_only = HeaderMap::new();
        gzip_only.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(
            transfer_codings(&gzip_only, &mut Applied::default()),
            Ok(TransferCodings {
                any: true,
                chunked: false
            })
        );

        let mut unknown = HeaderMap::new();
        unknown.insert(
            TRANSFER_ENCODING,
            HeaderValue::from_static("compress, chunked"),
        );
        assert_eq!(
            transfer_codings(&unknown, &mut Applied::default()),
            Err("compress, chunked".to_owned())
        );
        // Even a coding the layer does not advertise is undone as a transfer coding.
        let mut applied = Applied::default();
        let no_gzip = AcceptEncoding::default().set_gzip(false);
        map.remove(CONTENT_ENCODING);
        assert!(no_gzip.content_codings(&map, &mut applied).is_some());
        assert_eq!(
            transfer_codings(&map, &mut applied),
            Ok(TransferCodings {
                any: true,
                chunked: true
            })
        );
    }
}
