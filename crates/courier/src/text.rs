//! [`TextDecoder`]: how a response body becomes text, in one place for [`Response::text`] and
//! [`Response::lines`](crate::Response::lines).
//!
//! [`Response::text`]: crate::Response::text

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8};

/// Decodes a body, whole or chunk by chunk, with the charset `Content-Type` declares, as reqwest and
/// browsers do: malformed sequences become U+FFFD rather than fail the body.
///
/// - A declared charset: that encoding's WHATWG decoder.
/// - No declared charset, or one no encoding answers to: UTF-8.
///
/// Either way a byte-order mark (UTF-8, UTF-16LE or UTF-16BE) wins over the label and is removed,
/// as in reqwest (`Encoding::decode`) and browsers.
pub(crate) struct TextDecoder {
    decoder: Decoder,
}

impl TextDecoder {
    pub(crate) fn new(charset: Option<&str>) -> TextDecoder {
        let decoder = charset
            .and_then(|label| Encoding::for_label(label.as_bytes()))
            .unwrap_or(UTF_8)
            .new_decoder();
        TextDecoder { decoder }
    }

    /// Decodes `bytes` onto the end of `out`; `last` when no bytes follow (an incomplete sequence at
    /// the end then becomes U+FFFD).
    pub(crate) fn decode(&mut self, mut bytes: &[u8], out: &mut String, last: bool) {
        loop {
            let room = self.decoder.max_utf8_buffer_length(bytes.len());
            // `None` only on overflow: decode in as much room as can be had, the loop continues.
            out.reserve(room.unwrap_or(bytes.len()).max(4));
            let (result, read, _) = self.decoder.decode_to_string(bytes, out, last);
            bytes = &bytes[read..];
            if result != CoderResult::OutputFull {
                return;
            }
        }
    }
}

/// The whole of `bytes` as text (see [`TextDecoder`]).
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    let mut text = String::new();
    TextDecoder::new(charset).decode(bytes, &mut text, true);
    text
}

#[cfg(test)]
mod tests {
    use super::{decode_text, TextDecoder};

    #[test]
    fn text_defaults_to_utf8_with_replacement() {
        assert_eq!(decode_text("héllo".as_bytes(), None), "héllo");
        assert_eq!(decode_text(b"\xEF\xBB\xBFbom", None), "bom");
        assert_eq!(decode_text(b"a\xffb", None), "a\u{fffd}b");
        // A truncated sequence at the very end is replaced too.
        assert_eq!(decode_text(b"ok\xc3", None), "ok\u{fffd}");
    }

    #[test]
    fn a_utf16_byte_order_mark_is_honoured_with_or_without_a_charset() {
        let le = b"\xff\xfeh\x00\xe9\x00";
        let be = b"\xfe\xff\x00h\x00\xe9";
        for charset in [
            None,
            Some("utf-8"),
            Some("no-such-charset"),
            Some("iso-8859-1"),
        ] {
            assert_eq!(decode_text(le, charset), "hé", "{charset:?}");
            assert_eq!(decode_text(be, charset), "hé", "{charset:?}");
        }
        // Chunk by chunk, the mark split across chunks.
        let mut decoder = TextDecoder::new(None);
        let mut text = String::new();
        decoder.decode(&le[..1], &mut text, false);
        decoder.decode(&le[1..], &mut text, true);
        assert_eq!(text, "hé");
    }

    #[test]
    fn text_follows_declared_charset() {
        assert_eq!(decode_text(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode_text(b"\x82\xa0", Some("shift_jis")), "あ");
        assert_eq!(decode_text(b"a\xffb", Some("utf-8")), "a\u{fffd}b");
        // An unknown label falls back to UTF-8, as reqwest does.
        assert_eq!(decode_text("x é".as_bytes(), Some("klingon")), "x é");
    }

    #[test]
    fn chunked_decoding_matches_whole_decoding() {
        // "héllo wörld" in UTF-8 and "あい" in Shift_JIS, split inside every multi-byte sequence.
        for (bytes, charset, expected) in [
            ("héllo wörld".as_bytes(), None, "héllo wörld"),
            (&b"\x82\xa0\x82\xa2"[..], Some("shift_jis"), "あい"),
        ] {
            for split in 0..=bytes.len() {
                let mut decoder = TextDecoder::new(charset);
                let mut out = String::new();
                decoder.decode(&bytes[..split], &mut out, false);
                decoder.decode(&bytes[split..], &mut out, true);
                assert_eq!(out, expected, "split at {split}");
            }
        }
    }
}
