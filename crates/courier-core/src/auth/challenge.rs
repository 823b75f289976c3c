//! [`Challenge`]: one challenge of a `WWW-Authenticate` or `Proxy-Authenticate` header (RFC 9110 §11.6.1).

use http::HeaderValue;

use crate::header_text::{is_tchar, is_ws, skip_until, unquote};

/// An authentication challenge: a scheme and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Lowercase (`"digest"`, `"basic"`, ...).
    pub(crate) scheme: String,
    /// Names lowercase, values unquoted, in header order.
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lowercase).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters of an `Authentication-Info` header (a list of parameters without a scheme).
    pub(crate) fn info_params(value: &HeaderValue) -> Option<Challenge> {
        let text = format!("info {}", std::str::from_utf8(value.as_bytes()).ok()?);
        let value = HeaderValue::try_from(text).ok()?;
        Challenge::parse_all([&value]).into_iter().next()
    }

    /// Every challenge in the headers, in order. A header may hold several challenges separated by
    /// commas, each followed by its comma-separated parameters:
    /// `Digest realm="a", nonce="n", algorithm=SHA-256, Basic realm="a"`. Quoted values may hold UTF-8
    /// (obs-text to HTTP; RFC 7616 4 speaks of UTF-8 realms). Headers that are not UTF-8 and text that
    /// does not parse are skipped; a `token68` (as in `Negotiate abc==`) is ignored.
    pub(crate) fn parse_all<'a>(
        values: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> Vec<Challenge> {
        let mut challenges: Vec<Challenge> = Vec::new();
        for value in values {
            // `to_str` takes ASCII only: a realm in UTF-8 would lose the whole header.
            let Ok(mut rest) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            // Whether the challenge being read is the last one of `challenges` (false after an item
            // that could not be read, until the next scheme).
            let mut current = false;
            loop {
                rest = rest.trim_start_matches(|c: char| c == ',' || is_ws(c));
                if rest.is_empty() {
                    break;
                }
                let token_len = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
                if token_len == 0 {
                    // Not a token: skip this item.
                    rest = skip_until(rest, &[',']);
                    current = false;
                    continue;
                }
                let token = &rest[..token_len];
                let after = rest[token_len..].trim_start_matches(is_ws);
                match after.strip_prefix('=') {
                    // `name = value`, unless it is `token68` padding (`abc==`, `abc=,`, `abc=`).
                    Some(value)
                        if !value.starts_with('=')
                            && !value.trim_start_matches(is_ws).is_empty()
                            && !value.trim_start_matches(is_ws).starts_with(',') =>
                    {
                        let value = value.trim_start_matches(is_ws);
                        let (value, after) = match value.strip_prefix('"') {
                            Some(quoted) => unquote(quoted),
                            None => {
                                let len = value
                                    .find(|c: char| c == ',' || is_ws(c))
                                    .unwrap_or(value.len());
                                (value[..len].to_owned(), &value[len..])
                            }
                        };
                        if current {
                            if let Some(challenge) = challenges.last_mut() {
                                challenge.params.push((token.to_ascii_lowercase(), value));
                            }
                        }
                        rest = after;
                    }
                    Some(_) => {
                        // token68 padding: not a parameter.
                        rest = skip_until(rest, &[',']);
                    }
                    None => {
                        // A new challenge: `scheme` then a space or a comma. Real servers send a
                        // few; a header of thousands of bare words is not read to its end.
                        if challenges.len() == MAX_CHALLENGES {
                            break;
                        }
                        challenges.push(Challenge {
                            scheme: token.to_ascii_lowercase(),
                            params: Vec::new(),
                        });
                        current = true;
                        rest = after;
                        // A token68 right after the scheme (and before a comma or the end) is
                        // skipped. Only its own characters are scanned: looking for the comma first
                        // made a header of bare words quadratic.
                        let len = rest
                            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/=".contains(c)))
                            .unwrap_or(rest.len());
                        let after = rest[len..].trim_start_matches(is_ws);
                        if (after.is_empty() || after.starts_with(',')) && is_token68(&rest[..len])
                        {
                            rest = after;
                        }
                    }
                }
            }
        }
        challenges
    }
}

/// The most challenges read from one set of headers.
const MAX_CHALLENGES: usize = 64;

/// RFC 9110 `token68`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Vec<Challenge> {
        let values: Vec<HeaderValue> = values.iter().map(|v| v.parse().unwrap()).collect();
        Challenge::parse_all(&values)
    }

    fn c(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_owned(),
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_realm_in_utf8_is_read() {
        let got = parse(&["Digest realm=\"Zo\u{eb}\", nonce=\"abc\", qop=\"auth\""]);
        assert_eq!(
            got,
            [c(
                "digest",
                &[("realm", "Zo\u{eb}"), ("nonce", "abc"), ("qop", "auth")]
            )]
        );
        let info: HeaderValue = "nextnonce=\"n\u{e9}\"".parse().unwrap();
        assert_eq!(
            Challenge::info_params(&info).unwrap().param("nextnonce"),
            Some("n\u{e9}")
        );
        // Not UTF-8 at all: skipped.
        let latin1 = HeaderValue::from_bytes(b"Digest realm=\"Zo\xeb\", nonce=\"abc\"").unwrap();
        assert!(Challenge::parse_all([&latin1]).is_empty());
    }

    /// A header of 100,000 bare words parses in one pass (a hang guard: it took seconds when each
    /// word looked for the next comma), into no more than 64 challenges.
    #[test]
    fn a_header_of_bare_words_is_read_in_one_pass() {
        let words = "a ".repeat(100_000);
        let started = std::time::Instant::now();
        let got = parse(&[&words]);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(got.len(), MAX_CHALLENGES);
        // A token68 after a scheme is still skipped, before a comma or the end.
        let got = parse(&["Negotiate abc==, Basic realm=\"x\"", "Bearer dGVzdA=="]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].param("realm"), Some("x"));
    }

    #[test]
    fn rfc_7616_example_challenges() {
        let got = parse(&[
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].scheme, "digest");
        assert_eq!(got[0].param("qop"), Some("auth, auth-int"));
        assert_eq!(got[0].param("algorithm"), Some("SHA-256"));
        assert_eq!(got[1].param("algorithm"), Some("MD5"));
        assert_eq!(
            got[1].param("opaque"),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
    }

    #[test]
    fn several_challenges_in_one_header_with_token68_and_odd_spacing() {
        let got = parse(&[
            r#"Negotiate YII/+a87421000492aa874209af8bc028==, Basic realm = "simple", Digest  realm="x\"y", nonce=abc,stale=TRUE"#,
            r#"Newauth"#,
        ]);
        assert_eq!(
            got,
            [
                c("negotiate", &[]),
                c("basic", &[("realm", "simple")]),
                c(
                    "digest",
                    &[("realm", "x\"y"), ("nonce", "abc"), ("stale", "TRUE")]
                ),
                c("newauth", &[]),
            ]
        );
    }

    #[test]
    fn garbage_is_skipped() {
        let got = parse(&[
            r#"=, "quoted, thing", Digest nonce="unterminated"#,
            "(), Basic",
            "",
        ]);
        assert_eq!(
            got,
            [c("digest", &[("nonce", "unterminated")]), c("basic", &[])]
        );
    }
}
