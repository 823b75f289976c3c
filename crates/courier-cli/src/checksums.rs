//! `download --checksums FILE`: the SHA-256 each listed file must have, read from `sha256sum`
//! output. The downloader checks them (a file that does not match fails and is not kept).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::CliError;

/// Names (as saved under the download folder) and their SHA-256s, lowercase hex.
#[derive(Debug, Default)]
pub(crate) struct Checksums {
    digests: HashMap<PathBuf, (String, usize)>,
}

impl Checksums {
    /// Reads `sha256sum` lines: `<64 hex digits>  <name>` (text mode) or `<hex> *<name>` (binary
    /// mode); a line starting with `\` has a name with `\\`, `\n` and `\r` escaped, as GNU's tool writes
    /// names holding those. Blank lines are skipped; anything else is an error naming the line.
    pub(crate) fn parse(text: &str) -> Result<Checksums, CliError> {
        let mut checksums = Checksums::default();
        // A byte-order mark, as some Windows editors save files: not part of the first digest.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let (escaped, line) = match line.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let malformed = || {
                format!(
                    "line {number}: expected '<64 hex digits>  <name>' or '<64 hex digits> *<name>' \
                     (sha256sum format), got {line:?}"
                )
            };
            let (digest, rest) = line.split_at_checked(64).ok_or_else(malformed)?;
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .filter(|name| !name.is_empty())
                .ok_or_else(malformed)?;
            if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed().into());
            }
            let name = if escaped {
                unescape(name).ok_or_else(|| format!("line {number}: bad escape in {name:?}"))?
            } else {
                name.to_owned()
            };
            let digest = digest.to_ascii_lowercase();
            let key = normalize(Path::new(&name));
            match checksums.digests.get(&key) {
                Some((earlier, first)) if *earlier != digest => {
                    return Err(format!(
                        "line {number}: {name:?} has another SHA-256 on line {first}"
                    )
                    .into())
                }
                Some(_) => {}
                None => {
                    checksums.digests.insert(key, (digest, number));
                }
            }
        }
        Ok(checksums)
    }

    /// The SHA-256 listed for `name` (relative to the download folder), if any: under that name, or
    /// under the name decoded, since a file named after its URL keeps the URL's `%20` while a
    /// `SHA256SUMS` lists `my file.pdf`.
    pub(crate) fn get(&self, name: &Path) -> Option<&str> {
        let found = |name: &Path| self.digests.get(&normalize(name));
        found(name)
            .or_else(|| {
                let text = name.to_str()?;
                let decoded = percent_encoding::percent_decode_str(text)
                    .decode_utf8()
                    .ok()?;
                (decoded != text).then(|| found(Path::new(decoded.as_ref())))?
            })
            .map(|(digest, _)| digest.as_str())
    }
}

/// `./a/b` and `a/b` are one name.
pub(crate) fn normalize(name: &Path) -> PathBuf {
    name.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// GNU sha256sum's escapes in a name: `\\`, `\n`, `\r`.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const B: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";

    #[test]
    fn text_and_binary_lines_and_escaped_names() {
        let text = format!(
            "\u{feff}{A}  a.txt\r\n\n{B} *dir/b.bin\n\\{A}  new\\nline\n{A}  ./dot/c\n{A}  a.txt\n"
        );
        let checksums = Checksums::parse(&text).unwrap();
        assert_eq!(checksums.get(Path::new("a.txt")), Some(A));
        assert_eq!(
            checksums.get(Path::new("dir/b.bin")),
            Some(B.to_ascii_lowercase().as_str())
        );
        assert_eq!(checksums.get(Path::new("new\nline")), Some(A));
        // A file named after its URL keeps `%20`; the list names it decoded.
        let spaced = Checksums::parse(&format!("{A}  my file.pdf\n")).unwrap();
        assert_eq!(spaced.get(Path::new("my%20file.pdf")), Some(A));
        assert_eq!(spaced.get(Path::new("my%2")), None);
        assert_eq!(checksums.get(Path::new("dot/c")), Some(A));
        assert_eq!(checksums.get(Path::new("other")), None);
    }

    #[test]
    fn malformed_lines_are_named() {
        let err = |text: String| Checksums::parse(&text).unwrap_err().to_string();
        assert!(err(format!("{A}  a\nnot a checksum\n")).starts_with("line 2: expected"));
        assert!(err(format!("{}  a\n", &A[1..])).starts_with("line 1: expected"));
        assert!(err(format!("{}zz  a\n", &A[2..])).starts_with("line 1: expected"));
        assert!(err(format!("{A} a\n")).starts_with("line 1: expected"));
        assert!(err(format!("{A}  \n")).starts_with("line 1: expected"));
        assert!(err(format!("\\{A}  bad\\q\n")).starts_with("line 1: bad escape"));
        assert_eq!(
            err(format!("{A}  a\n{B}  a\n")),
            "line 2: \"a\" has another SHA-256 on line 1"
        );
        // Multi-byte text where the digest should be: an error, not a panic.
        assert!(err("é".repeat(40)).starts_with("line 1: expected"));
    }
}
