//! The pieces of RFC 9110 header syntax that more than one parser reads (auth challenges here, `Link`
//! in the `courier` facade): whitespace, tokens, quoted strings, and skipping to a delimiter.
//!
//! Not part of the stable API: shared by Courier's own crates so the syntax is read in one place.
//!
//! ```
//! use courier_core::header_text::{skip_until, unquote};
//!
//! // The opening quote is already read.
//! assert_eq!(unquote(r#"a \"b\", c"; rest"#), ("a \"b\", c".to_owned(), "; rest"));
//! assert_eq!(skip_until(r#"x="a,b", y"#, &[',']), ", y");
//! ```

/// RFC 9110 `OWS` characters: space and horizontal tab.
pub fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110 `tchar`: a character of a token.
pub fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The content of a quoted string whose opening `"` is already read (`\` escapes undone), and what
/// follows its closing `"`. Unterminated: the rest of `s` is the content, and nothing follows.
pub fn unquote(s: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &s[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

/// `s` from the first of `stops` found outside a quoted string; `""` if there is none.
pub fn skip_until<'a>(s: &'a str, stops: &[char]) -> &'a str {
    match scan(s, stops) {
        Ok(i) => &s[i..],
        Err(_) => "",
    }
}

/// Whether every quoted string in `s` is closed (a value whose quote is left open cannot be read
/// whole: what follows the quote is swallowed into it).
pub fn quotes_closed(s: &str) -> bool {
    scan(s, &[]) == Err(false)
}

/// The index of the first of `stops` outside a quoted string, or, when there is none, whether a
/// quoted string is left open at the end.
fn scan(s: &str, stops: &[char]) -> Result<usize, bool> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if !in_quotes && stops.contains(&c) => return Ok(i),
            _ => {}
        }
    }
    Err(in_quotes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_and_skipping() {
        assert_eq!(unquote("abc"), ("abc".to_owned(), ""));
        assert_eq!(unquote(r#"a\\b"x"#), ("a\\b".to_owned(), "x"));
        assert_eq!(unquote("trailing\\"), ("trailing".to_owned(), ""));
        assert_eq!(skip_until(r#""\", ;", ; z"#, &[';', ',']), ", ; z");
        assert_eq!(skip_until("no stop", &[',']), "");
        assert!(is_tchar('~') && !is_tchar('"') && is_ws('\t') && !is_ws('\n'));
        assert!(quotes_closed(r#"a="b, c", d"#) && quotes_closed(r#"x="a\"b""#));
        assert!(!quotes_closed(r#"a="b, c"#) && !quotes_closed(r#"x="a\""#));
    }
}
