//! [`LazyUrl`]: a request's URL, parsed as little as the request needs.
//!
//! Parsing a string with `url::Url` (WHATWG rules, IDNA, IPv4 forms) costs more than the rest of a small
//! request's client-side work in Courier's own code. The transport needs only an `http::Uri`. So a URL
//! string already in the form `url` would print it back (lowercase `http`/`https`, a plain ASCII host,
//! no default port, no credentials, no fragment, nothing that would be percent-encoded or normalised)
//! becomes an `http::Uri` at once, and a `Url` only when something asks for it (`Request::url`,
//! `Response::url`, redirects, errors). Any other string takes the full `Url` parse, as before.

use std::fmt;
use std::sync::OnceLock;

use url::Url;

use crate::into_url::{check_sendable, parse_url};
use crate::Error;

/// A request's URL: a `Url`, or a canonical `http::Uri` whose `Url` is made on first use.
#[derive(Clone)]
pub struct LazyUrl {
    url: OnceLock<Url>,
    /// Set when the string was canonical: then `Url::parse` of it prints it back unchanged.
    uri: Option<http::Uri>,
}

impl LazyUrl {
    /// Parses `s`, taking the fast path when it is canonical.
    pub(crate) fn parse(s: &str) -> Result<LazyUrl, Error> {
        if is_canonical(s) {
            if let Ok(uri) = s.parse::<http::Uri>() {
                return Ok(LazyUrl {
                    url: OnceLock::new(),
                    uri: Some(uri),
                });
            }
        }
        parse_url(s).map(LazyUrl::from_url)
    }

    pub(crate) fn from_url(url: Url) -> LazyUrl {
        LazyUrl {
            url: OnceLock::from(url),
            uri: None,
        }
    }

    /// The URL, parsed now if it was not yet.
    pub(crate) fn url(&self) -> &Url {
        self.url.get_or_init(|| {
            let uri = self.uri.as_ref().expect("a LazyUrl holds a Url or a Uri");
            // `is_canonical` admits only strings `Url::parse` accepts (see the tests).
            courier_core::urls::to_url(uri).expect("a canonical URL parses")
        })
    }

    /// The URL to change; the request target is derived from it again when sent.
    pub(crate) fn url_mut(&mut self) -> &mut Url {
        self.url();
        self.uri = None;
        self.url.get_mut().expect("initialised just above")
    }

    pub(crate) fn into_url(self) -> Url {
        self.url();
        self.url.into_inner().expect("initialised just above")
    }

    /// Checks the scheme and host (see [`check_sendable`]).
    pub(crate) fn check_sendable(&self, https_only: bool) -> Result<(), Error> {
        match &self.uri {
            // Canonical: `http` or `https`, with a host.
            Some(uri) if !(https_only && uri.scheme() == Some(&http::uri::Scheme::HTTP)) => Ok(()),
            _ => check_sendable(self.url(), https_only),
        }
    }

    /// True when the URL has a user name or password.
    pub(crate) fn has_credentials(&self) -> bool {
        self.uri.is_none() && {
            let url = self.url();
            !url.username().is_empty() || url.password().is_some()
        }
    }

    /// The request target for hyper.
    pub(crate) fn to_uri(&self) -> Result<http::Uri, Error> {
        match &self.uri {
            Some(uri) => Ok(uri.clone()),
            None => {
                let url = self.url();
                courier_core::urls::to_uri(url).map_err(|e| Error::builder(e).with_url(url.clone()))
            }
        }
    }
}

impl fmt::Display for LazyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.uri, self.url.get()) {
            (_, Some(url)) => fmt::Display::fmt(url, f),
            (Some(uri), None) => fmt::Display::fmt(uri, f),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for LazyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

/// True when `Url::parse(s)` would succeed and print exactly `s`, and `s` has no fragment: checked
/// conservatively (anything unusual returns false and takes the full parse).
fn is_canonical(s: &str) -> bool {
    let b = s.as_bytes();
    let (rest, default_port) = if let Some(rest) = b.strip_prefix(b"http://") {
        (rest, &b"80"[..])
    } else if let Some(rest) = b.strip_prefix(b"https://") {
        (rest, &b"443"[..])
    } else {
        return false;
    };
    let authority_end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    // `url` adds the `/` of an empty path.
    if path_and_query.is_empty() {
        return false;
    }
    let (host, port) = match authority.iter().position(|&c| c == b':') {
        Some(i) => (&authority[..i], Some(&authority[i + 1..])),
        None => (authority, None),
    };
    if let Some(port) = port {
        let canonical_number = !port.is_empty()
            && port.len() <= 5
            && port.iter().all(u8::is_ascii_digit)
            && port[0] != b'0'
            && std::str::from_utf8(port)
                .ok()
                .and_then(|p| p.parse::<u16>().ok())
                .is_some();
        if !canonical_number || port == default_port {
            return false;
        }
    }
    is_canonical_host(host) && is_canonical_path_and_query(path_and_query)
}

/// A lowercase ASCII domain, or a dotted-decimal IPv4 address in its shortest form.
fn is_canonical_host(host: &[u8]) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels = || host.split(|&c| c == b'.');
    if labels().any(|label| {
        label.is_empty()
            || label.starts_with(b"xn--")
            || !label
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    }) {
        return false;
    }
    // A host whose last label is a number is parsed as IPv4 (WHATWG): allow only the canonical form.
    let last = labels().next_back().unwrap_or_default();
    if last.iter().all(u8::is_ascii_digit) || last.starts_with(b"0x") {
        return labels().count() == 4
            && labels().all(|label| {
                label.iter().all(u8::is_ascii_digit)
                    && label.len() <= 3
                    && (label.len() == 1 || label[0] != b'0')
                    && std::str::from_utf8(label)
                        .ok()
                        .and_then(|l| l.parse::<u8>().ok())
                        .is_some()
            });
    }
    true
}

/// A path and query that `url` keeps byte for byte: no dot segments, no characters it would
/// percent-encode, no `%` but before two hex digits, no backslash, no fragment.
fn is_canonical_path_and_query(pq: &[u8]) -> bool {
    let query_start = pq.iter().position(|&c| c == b'?').unwrap_or(pq.len());
    let (path, query) = pq.split_at(query_start);
    let segment_ok = |segment: &[u8]| {
        !(segment.starts_with(b".") || segment.starts_with(b"%2e") || segment.starts_with(b"%2E"))
    };
    if !path.split(|&c| c == b'/').all(segment_ok) {
        return false;
    }
    let allowed = |c: u8, in_query: bool| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'%'
            )
            || (c == b'\'' && !in_query)
            || (c == b'?' && in_query)
    };
    let ok = |bytes: &[u8], in_query: bool| {
        bytes.iter().enumerate().all(|(i, &c)| {
            allowed(c, in_query)
                && (c != b'%'
                    || (bytes.len() > i + 2
                        && bytes[i + 1].is_ascii_hexdigit()
                        && bytes[i + 2].is_ascii_hexdigit()))
        })
    };
    ok(path, false) && ok(query, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The invariant the fast path rests on.
    fn check(s: &str) {
        if is_canonical(s) {
            let url = Url::parse(s).unwrap_or_else(|e| panic!("{s:?} fast but Url fails: {e}"));
            assert_eq!(url.as_str(), s, "{s:?} fast but Url prints it otherwise");
            assert!(url.fragment().is_none() && url.username().is_empty());
            let uri: http::Uri = s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(uri, courier_core::urls::to_uri(&url).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn canonical_urls_take_the_fast_path() {
        for s in [
            "http://127.0.0.1:8080/",
            "https://example.com/a/b?c=d&e=%20f",
            "http://localhost:3000/x.y/z~_-!$&'()*+,;=:@",
            "http://a-b.example/?q=a/b?c",
            "http://255.255.255.255:65535/",
        ] {
            assert!(is_canonical(s), "{s}");
            check(s);
        }
    }

    #[test]
    fn anything_url_would_change_takes_the_full_parse() {
        for s in [
            "http://Example.com/",
            "HTTP://example.com/",
            "http://example.com",
            "http://example.com:80/",
            "https://example.com:443/",
            "http://example.com:080/",
            "http://example.com:/",
            "http://example.com:99999/",
            "http://user@example.com/",
            "http://example.com/#frag",
            "http://example.com/a/../b",
            "http://example.com/./b",
            "http://example.com/%2e%2e/b",
            "http://example.com/a b",
            "http://example.com/a\\b",
            "http://example.com/?q='",
            "http://example.com/%zz",
            "http://example.com/%4",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://1.2.3.04/",
            "http://1.2.3.256/",
            "http://foo.123/",
            "http://xn--nxasmq6b.com/",
            "http://ex..ample/",
            "http://[::1]/",
            "http://exämple.com/",
            "http://example.com/ä",
            "ftp://example.com/",
        ] {
            assert!(!is_canonical(s), "{s}");
        }
    }

    #[test]
    fn random_urls_never_break_the_invariant() {
        // A small deterministic generator: hosts, ports and paths from the pieces that matter.
        const HOST: &[&str] = &[
            "a", "z", "Z", "0", "1", "9", "25", "255", "256", "01", ".", "-", "xn--", "0x", "ä",
            "_",
        ];
        const PORT: &[&str] = &["80", "443", "0", "1", "08", "8080", "65535", "99999", ""];
        const PATH: &[&str] = &[
            "a", "Z", "/", "/", "?", "#", "%", "%2e", "%2E", "%41", "%g", "'", "\\", " ", "@",
            "..", ".", "~", "=", "&", "ä", "`", "{", "^", "|", ":",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let mut s = String::from(["http://", "https://"][next(2)]);
            for _ in 0..=next(4) {
                s.push_str(HOST[next(HOST.len())]);
            }
            if next(3) == 0 {
                s.push(':');
                s.push_str(PORT[next(PORT.len())]);
            }
            if next(8) != 0 {
                s.push('/');
            }
            for _ in 0..next(6) {
                s.push_str(PATH[next(PATH.len())]);
            }
            fast += usize::from(is_canonical(&s));
            check(&s);
        }
        assert!(
            fast > 10_000,
            "the generator must reach the fast path ({fast})"
        );
    }

    #[test]
    fn the_url_is_made_on_first_use_and_can_be_changed() {
        let mut target = LazyUrl::parse("http://example.com/a?b=c").unwrap();
        assert!(target.url.get().is_none());
        assert_eq!(target.to_string(), "http://example.com/a?b=c");
        assert_eq!(target.url().path(), "/a");
        target.url_mut().set_query(Some("d=e"));
        assert_eq!(
            target.to_uri().unwrap(),
            "http://example.com/a?d=e".parse::<http::Uri>().unwrap()
        );
        let slow = LazyUrl::parse("HTTP://EXAMPLE.com").unwrap();
        assert_eq!(slow.to_string(), "http://example.com/");
        assert!(LazyUrl::parse("not a url").unwrap_err().is_builder());
    }
}
