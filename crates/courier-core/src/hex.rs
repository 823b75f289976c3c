//! Lowercase hex, the text form of digests (Digest authentication's hashes, the cache's keys).

use std::fmt::Write as _;

/// `bytes` as two lowercase hex digits each.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
