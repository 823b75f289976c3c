//! [`TextDecoder`]: how a response body becomes text, in one place for [`Response::text`] and
//! [`Response::lines`](crate::Response::lines).
//!
//! [`Response::text`]: crate::Response::text

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, UTF_8};

use crate::Error;

/// Decodes a body, whole or chunk by chunk, with the charset `Content-Type` declares.
///
/// - No declared charset: strict UTF-8. A leading byte-order mark is removed; invalid bytes are a decode
///   error.
/// - A declared charset: that encoding's WHATWG decoder (a byte-order mark wins over the label, malformed
///   sequences become U+FFFD, as in browsers).
/// - An unknown charset label: a decode error.
pub(crate) struct TextDecoder {
    decoder: Decoder,
    strict: bool,
}

impl TextDecoder {
    pub(crate) fn new(charset: Option<&str>) -> Result<TextDecoder, Error> {
        Ok(match charset {
            None => TextDecoder {
                decoder: UTF_8.new_decoder_with_bom_removal(),
                strict: true,
            },
            Some(label) => {
                let encoding = Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                    Error::decode(format!("unknown charset {label:?} in Content-Type"))
                })?;
                TextDecoder {
                    decoder: encoding.new_decoder(),
                    strict: false,
                }
            }
        })
    }

    /// Decodes `bytes` onto the end of `out`; `last` when no bytes follow (an incomplete sequence at the
    /// end is then an error, or U+FFFD).
    pub(crate) fn decode(
        &mut self,
        mut bytes: &[u8],
        out: &mut String,
        last: bool,
    ) -> Result<(), Error> {
        loop {
            let room = if self.strict {
                self.decoder
                    .max_utf8_buffer_length_without_replacement(bytes.len())
            } else {
                self.decoder.max_utf8_buffer_length(bytes.len())
            };
            // `None` only on overflow: decode in as much room as can be had, the loop continues.
            out.reserve(room.unwrap_or(bytes.len()).max(4));
            let (full, read) = if self.strict {
                let (result, read) = self
                    .decoder
                    .decode_to_string_without_replacement(bytes, out, last);
                match result {
                    DecoderResult::InputEmpty => (false, read),
                    DecoderResult::OutputFull => (true, read),
                    DecoderResult::Malformed(..) => {
                        return Err(Error::decode(
                            "the body is not valid UTF-8 (and Content-Type names no charset)",
                        ))
                    }
                }
            } else {
                let (result, read, _) = self.decoder.decode_to_string(bytes, out, last);
                (result == CoderResult::OutputFull, read)
            };
            bytes = &bytes[read..];
            if !full {
                return Ok(());
            }
        }
    }
}

/// The whole of `bytes` as text (see [`TextDecoder`]).
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&str>) -> Result<String, Error> {
    let mut text = String::new();
    TextDecoder::new(charset)?.decode(bytes, &mut text, true)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::{decode_text, TextDecoder};

    #[test]
    fn text_defaults_to_strict_utf8() {
        assert_eq!(decode_text("héllo".as_bytes(), None).unwrap(), "héllo");
        assert_eq!(decode_text(b"\xEF\xBB\xBFbom", None).unwrap(), "bom");
        assert!(decode_text(b"\xff\xfe", None).unwrap_err().is_decode());
        // A truncated sequence at the very end is invalid too.
        assert!(decode_text(b"ok\xc3", None).unwrap_err().is_decode());
    }

    #[test]
    fn text_follows_declared_charset() {
        assert_eq!(decode_text(b"caf\xe9", Some("iso-8859-1")).unwrap(), "café");
        assert_eq!(decode_text(b"\x82\xa0", Some("shift_jis")).unwrap(), "あ");
        assert_eq!(decode_text(b"a\xffb", Some("utf-8")).unwrap(), "a\u{fffd}b");
        assert!(decode_text(b"x", Some("klingon")).unwrap_err().is_decode());
    }

    #[test]
    fn chunked_decoding_matches_whole_decoding() {
        // "héllo wörld" in UTF-8 and "あい" in Shift_JIS, split inside every multi-byte sequence.
        for (bytes, charset, expected) in [
            ("héllo wörld".as_bytes(), None, "héllo wörld"),
            (&b"\x82\xa0\x82\xa2"[..], Some("shift_jis"), "あい"),
        ] {
            for split in 0..=bytes.len() {
                let mut decoder = TextDecoder::new(charset).unwrap();
                let mut out = String::new();
                decoder.decode(&bytes[..split], &mut out, false).unwrap();
                decoder.decode(&bytes[split..], &mut out, true).unwrap();
                assert_eq!(out, expected, "split at {split}");
            }
        }
    }
}
