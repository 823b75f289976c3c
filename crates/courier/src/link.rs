//! [`Links`] and [`Link`]: the `Link` header (RFC 8288) of a response, like requests' `response.links`.

use std::fmt;

use courier_core::header_text::{is_ws, skip_until, unquote};
use http::header::{HeaderMap, LINK};
use url::Url;

/// The links of a response's `Link` headers, made by [`Response::links`](crate::Response::links).
///
/// Every `Link` header and every comma-separated link in it is read, in order. Targets (`<...>`) are
/// URI references resolved against the response URL; parameter values may be tokens or quoted strings
/// (with `\` escapes). A link whose target does not resolve, or that is not `<...>` at all, is skipped;
/// a header that is not valid UTF-8 is skipped. Parameter names are case-insensitive (stored
/// lowercase); only the first `rel` of a link counts (RFC 8288 §3.3).
///
/// ```
/// use courier::Links;
///
/// let base: courier::Url = "https://api.example.com/items?page=2".parse().unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "link",
///     r#"</items?page=3>; rel="next", </items?page=9>; rel="last""#.parse().unwrap(),
/// );
/// let links = Links::parse(&headers, &base);
/// assert_eq!(links.get("next").unwrap().url().as_str(), "https://api.example.com/items?page=3");
/// assert!(links.get("prev").is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    links: Vec<Link>,
}

/// One link of a `Link` header: a target URL and its parameters (`rel`, `title`, `type`, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct Link {
    url: Url,
    /// Names lowercase, in header order.
    params: Vec<(String, String)>,
}

impl Links {
    /// Reads every `Link` header of `headers`, resolving targets against `base`.
    pub fn parse(headers: &HeaderMap, base: &Url) -> Links {
        let mut links = Vec::new();
        for value in headers.get_all(LINK) {
            if let Ok(value) = value.to_str() {
                parse_header(value, base, &mut links);
            }
        }
        Links { links }
    }

    /// The first link whose `rel` holds `rel` (relation types are compared case-insensitively, and a
    /// `rel` may hold several, separated by spaces).
    pub fn get(&self, rel: &str) -> Option<&Link> {
        self.links.iter().find(|link| link.has_rel(rel))
    }

    /// Every link, in header order.
    pub fn iter(&self) -> std::slice::Iter<'_, Link> {
        self.links.iter()
    }

    /// How many links there are.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// True when the response had no (usable) link.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

impl<'a> IntoIterator for &'a Links {
    type Item = &'a Link;
    type IntoIter = std::slice::Iter<'a, Link>;

    fn into_iter(self) -> Self::IntoIter {
        self.links.iter()
    }
}

impl Link {
    /// The target, resolved against the response URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The `rel` parameter as written (possibly several space-separated relation types).
    pub fn rel(&self) -> Option<&str> {
        self.param("rel")
    }

    /// True if `rel` is one of this link's relation types (case-insensitive).
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rel().is_some_and(|rels| {
            rels.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case(rel))
        })
    }

    /// The value of a parameter (name case-insensitive), unquoted; `""` for a parameter without value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter, names lowercase, in header order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("url", &self.url.as_str())
            .field("params", &self.params)
            .finish()
    }
}

/// Parses one header value: `<target> *( ";" param ) *( "," <target> ... )`.
fn parse_header(mut rest: &str, base: &Url, links: &mut Vec<Link>) {
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || is_ws(c));
        if rest.is_empty() {
            return;
        }
        // A URI reference holds no `<`, `"` or whitespace: a `<` not closed before one of them does not
        // start a link (and must not swallow the next one).
        // Only the target's own characters are scanned (a `>` far away must not be looked for from
        // every broken `<`: that made a long header quadratic).
        let target = rest.strip_prefix('<').and_then(|r| {
            let end = r.find(|c: char| c == '>' || c == '<' || c == '"' || is_ws(c))?;
            (r.as_bytes()[end] == b'>').then(|| (&r[..end], &r[end + 1..]))
        });
        let target = match target {
            Some((target, after)) => {
                rest = after;
                Some(target)
            }
            // A broken target: its quotes quote nothing; the next comma ends it.
            None if rest.starts_with('<') => {
                rest = rest.find(',').map_or("", |at| &rest[at..]);
                None
            }
            None => {
                // Not a link: skip to the next one.
                rest = skip_until(rest, &[',']);
                None
            }
        };
        let params = parse_params(&mut rest);
        if let Some(url) = target.and_then(|t| base.join(t).ok()) {
            links.push(Link { url, params });
        }
    }
}

/// Reads `*( OWS ";" OWS name [ OWS "=" OWS ( token / quoted-string ) ] )` up to the `,` that ends the
/// link (or the end).
fn parse_params(rest: &mut &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut rel_seen = false;
    loop {
        *rest = rest.trim_start_matches(is_ws);
        let Some(after) = rest.strip_prefix(';') else {
            if !rest.is_empty() && !rest.starts_with(',') {
                // Stray characters: skip them, up to the next parameter or link.
                *rest = skip_until(rest, &[';', ',']);
                continue;
            }
            return params;
        };
        let after = after.trim_start_matches(is_ws);
        let name_len = after
            .find(|c: char| c == '=' || c == ';' || c == ',' || is_ws(c))
            .unwrap_or(after.len());
        let name = after[..name_len].to_ascii_lowercase();
        *rest = after[name_len..].trim_start_matches(is_ws);
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start_matches(is_ws);
            (value, *rest) = match after.strip_prefix('"') {
                Some(quoted) => unquote(quoted),
                None => {
                    let len = after
                        .find(|c: char| c == ';' || c == ',' || is_ws(c))
                        .unwrap_or(after.len());
                    (after[..len].to_owned(), &after[len..])
                }
            };
        }
        // RFC 8288 3.3: only the first `rel` counts (a flag: searching the parameters for it made a
        // link with thousands of parameters quadratic).
        let repeated_rel = name == "rel" && std::mem::replace(&mut rel_seen, true);
        if !name.is_empty() && !repeated_rel {
            params.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile headers of 400 KB parse in one pass: a hang guard (they took 26 s and more when
    /// each `;rel` searched the parameters before it, and each broken `<` looked for a far `>`).
    #[test]
    fn hostile_headers_parse_in_linear_time() {
        let many_rels = format!("<x>{}", ";rel".repeat(100_000));
        let broken_targets = format!("{}<y>", "<a ,".repeat(100_000));
        for header in [many_rels, broken_targets] {
            let started = std::time::Instant::now();
            let links = parse(&[&header], "http://127.0.0.1/");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(links.iter().count(), 1);
        }
    }

    fn parse(values: &[&str], base: &str) -> Links {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(LINK, value.parse().unwrap());
        }
        Links::parse(&headers, &base.parse().unwrap())
    }

    fn urls_and_rels(links: &Links) -> Vec<(String, Option<String>)> {
        links
            .iter()
            .map(|l| (l.url().to_string(), l.rel().map(str::to_owned)))
            .collect()
    }

    #[test]
    fn github_style_pagination() {
        let links = parse(
            &[concat!(
                r#"<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", "#,
                r#"<https://api.github.com/repositories/1300192/issues?page=4>; rel="next", "#,
                r#"<https://api.github.com/repositories/1300192/issues?page=515>; rel="last", "#,
                r#"<https://api.github.com/repositories/1300192/issues?page=1>; rel="first""#
            )],
            "https://api.github.com/repositories/1300192/issues?page=3",
        );
        assert_eq!(links.len(), 4);
        assert_eq!(
            links.get("next").unwrap().url().as_str(),
            "https://api.github.com/repositories/1300192/issues?page=4"
        );
        assert_eq!(links.get("LAST").unwrap().url().query(), Some("page=515"));
        assert_eq!(links.get("first").unwrap().url().query(), Some("page=1"));
        assert_eq!(links.get("prev").unwrap().url().query(), Some("page=2"));
        assert!(links.get("self").is_none());
    }

    #[test]
    fn several_headers_relative_targets_and_token_values() {
        let links = parse(
            &[
                "</a?cursor=x,y>; rel=next",
                "<../b>;rel=prev;title=\"B, \\\"the second\\\"\" , <//cdn.example.net/c>; rel=\"preload stylesheet\"",
            ],
            "https://example.com/dir/page",
        );
        assert_eq!(
            urls_and_rels(&links),
            [
                (
                    "https://example.com/a?cursor=x,y".to_owned(),
                    Some("next".to_owned())
                ),
                ("https://example.com/b".to_owned(), Some("prev".to_owned())),
                (
                    "https://cdn.example.net/c".to_owned(),
                    Some("preload stylesheet".to_owned())
                ),
            ]
        );
        assert_eq!(
            links.get("prev").unwrap().param("TITLE"),
            Some("B, \"the second\"")
        );
        assert!(links.get("stylesheet").unwrap().has_rel("preload"));
    }

    #[test]
    fn first_rel_wins_and_names_are_lowercase() {
        let links = parse(
            &[r#"<x>; REL="next"; rel="prev"; Type="text/html"; crossorigin"#],
            "http://h/",
        );
        let link = links.get("next").unwrap();
        assert!(links.get("prev").is_none());
        assert_eq!(
            link.params().collect::<Vec<_>>(),
            [("rel", "next"), ("type", "text/html"), ("crossorigin", "")]
        );
    }

    #[test]
    fn malformed_links_are_skipped_without_losing_the_rest() {
        let links = parse(
            &[
                r#"garbage; rel="x", <http://[::1>; rel="bad-url", <ok1>; rel="a""#,
                r#"<ok2>; junk "quoted, comma"; rel=b, <unterminated; rel=c"#,
                "",
                r#"<ok3>; rel="never closed, <not-a-link>"#,
            ],
            "http://h/p/",
        );
        assert_eq!(
            urls_and_rels(&links),
            [
                ("http://h/p/ok1".to_owned(), Some("a".to_owned())),
                ("http://h/p/ok2".to_owned(), Some("b".to_owned())),
                (
                    "http://h/p/ok3".to_owned(),
                    Some("never closed, <not-a-link>".to_owned())
                ),
            ]
        );
        assert!(parse(&[], "http://h/").is_empty());
    }

    /// An unclosed `<` ends at the next comma: the link after it is read as it is.
    #[test]
    fn an_unclosed_target_does_not_swallow_the_next_link() {
        let links = parse(
            &[
                "<a; rel=x, <b>; rel=next",
                r#"<c "d>; rel=quoted, <e f>; rel=spaced, <g>; rel=last"#,
            ],
            "http://h/",
        );
        assert_eq!(
            urls_and_rels(&links),
            [
                ("http://h/b".to_owned(), Some("next".to_owned())),
                ("http://h/g".to_owned(), Some("last".to_owned())),
            ]
        );
    }
}
