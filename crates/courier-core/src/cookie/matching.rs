//! RFC 6265 §5.1.3 domain matching, §5.1.4 paths, and the request facts the jar needs from a URL.

use url::{Host, Url};

/// What the storage and retrieval algorithms need to know about a request URL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlFacts<'a> {
    /// The canonicalized host: lowercase, punycode; IPv6 in brackets.
    pub(crate) host: &'a str,
    /// IP-address hosts only ever match themselves.
    pub(crate) host_is_ip: bool,
    pub(crate) path: &'a str,
    /// Whether the channel is "secure" (https or wss), for `Secure` cookies.
    pub(crate) secure: bool,
}

impl<'a> UrlFacts<'a> {
    /// The facts for `url`, or `None` when cookies don't apply to it (not http(s)/ws(s), no host).
    pub(crate) fn new(url: &'a Url) -> Option<UrlFacts<'a>> {
        let secure = match url.scheme() {
            "https" | "wss" => true,
            "http" | "ws" => false,
            _ => return None,
        };
        let host_is_ip = match url.host()? {
            Host::Domain(_) => false,
            Host::Ipv4(_) | Host::Ipv6(_) => true,
        };
        Some(UrlFacts {
            host: url.host_str()?,
            host_is_ip,
            path: url.path(),
            secure,
        })
    }
}

/// §5.1.3: does `host` (canonicalized) domain-match `domain`? Identical strings match; otherwise
/// `domain` must be a suffix of `host` preceded by a `.`, and `host` must be a name, not an IP address.
pub(crate) fn domain_match(host: &str, host_is_ip: bool, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    !host_is_ip
        && host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

/// §5.1.4: does `request_path` path-match `cookie_path`?
pub(crate) fn path_match(request_path: &str, cookie_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => rest.is_empty() || cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// §5.1.4: the default cookie path for a request path: the "directory" of the path.
pub(crate) fn default_path(request_path: &str) -> &str {
    if !request_path.starts_with('/') {
        return "/";
    }
    match request_path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &request_path[..i],
    }
}

/// §5.1.2: canonicalizes a `Domain` attribute (already lowercased, leading dot removed) to the form
/// hosts take in a [`Url`]: ASCII as is, internationalized names to punycode. `None` when it cannot be
/// a host name, so it can match no request.
pub(crate) fn canonical_domain(domain: &[u8]) -> Option<String> {
    let domain = std::str::from_utf8(domain).ok()?;
    if domain.is_ascii() {
        return Some(domain.to_owned());
    }
    // `Host::parse` percent-decodes first; a `%` in a Domain attribute is no host name anyway.
    if domain.contains('%') {
        return None;
    }
    match Host::parse(domain).ok()? {
        Host::Domain(ascii) => Some(ascii),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

/// Whether `domain` is a public suffix (`com`, `co.uk`, `github.io`, or a single label under the
/// list's default `*` rule), per the Mozilla Public Suffix List compiled into the `psl` crate.
pub(crate) fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes()).is_some_and(|suffix| suffix.as_bytes() == domain.as_bytes())
}

/// The registrable domain (eTLD+1) of a host name: `example.co.uk` for `www.example.co.uk`. `None` for
/// public suffixes themselves.
pub(crate) fn registrable_domain(host: &str) -> Option<&str> {
    let len = psl::domain(host.as_bytes())?.as_bytes().len();
    host.get(host.len() - len..)
}

/// The group a cookie's domain (or a request's host) is counted and looked up under: its registrable
/// domain, or the host itself for IP addresses and public suffixes. Every cookie that can match a host
/// is in that host's group, because Domain attributes are only accepted within the host's registrable
/// domain.
pub(crate) fn group_key(host: &str, is_ip: bool) -> &str {
    if is_ip {
        return host;
    }
    registrable_domain(host).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_matching() {
        assert!(domain_match("example.org", false, "example.org"));
        assert!(domain_match("www.example.org", false, "example.org"));
        assert!(domain_match("a.b.example.org", false, "example.org"));
        assert!(!domain_match("wwwexample.org", false, "example.org"));
        assert!(!domain_match("example.org", false, "www.example.org"));
        assert!(!domain_match("example.org", false, "org."));
        assert!(!domain_match("example.org", false, ""));
        // IP addresses match only themselves.
        assert!(domain_match("192.168.0.1", true, "192.168.0.1"));
        assert!(!domain_match("192.168.0.1", true, "168.0.1"));
        assert!(!domain_match("192.168.0.1", true, "0.1"));
    }

    #[test]
    fn path_matching() {
        assert!(path_match("/", "/"));
        assert!(path_match("/foo", "/"));
        assert!(path_match("/foo", "/foo"));
        assert!(path_match("/foo/", "/foo"));
        assert!(path_match("/foo/bar", "/foo"));
        assert!(path_match("/foo/bar", "/foo/"));
        assert!(path_match("/foo//bar", "/foo/"));
        assert!(!path_match("/foobar", "/foo"));
        assert!(!path_match("/fo", "/foo"));
        assert!(!path_match("/", "/foo"));
        assert!(!path_match("/foo", "/foo/"));
        assert!(!path_match("/FOO", "/foo"), "case-sensitive");
    }

    #[test]
    fn default_paths() {
        assert_eq!(default_path(""), "/");
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/foo"), "/");
        assert_eq!(default_path("/foo/"), "/foo");
        assert_eq!(default_path("/foo/bar"), "/foo");
        assert_eq!(default_path("/foo/bar/baz.html"), "/foo/bar");
        assert_eq!(default_path("foo/bar"), "/");
    }

    #[test]
    fn targets() {
        let url = Url::parse("https://WWW.Example.ORG:8443/a/b?q#f").unwrap();
        let t = UrlFacts::new(&url).unwrap();
        assert_eq!(
            (t.host, t.host_is_ip, t.path, t.secure),
            ("www.example.org", false, "/a/b", true)
        );

        let url = Url::parse("http://[::1]:80/").unwrap();
        let t = UrlFacts::new(&url).unwrap();
        assert_eq!((t.host, t.host_is_ip, t.secure), ("[::1]", true, false));

        let url = Url::parse("ws://127.0.0.1/").unwrap();
        assert!(UrlFacts::new(&url).unwrap().host_is_ip);

        for other in [
            "file:///etc/passwd",
            "data:text/plain,hi",
            "ftp://example.org/",
            "mailto:a@b.c",
        ] {
            assert!(
                UrlFacts::new(&Url::parse(other).unwrap()).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn canonical_domains() {
        assert_eq!(
            canonical_domain(b"example.org").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            canonical_domain("bücher.example".as_bytes()).as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(canonical_domain(b"\xff.example"), None);
        assert_eq!(
            canonical_domain("b%C3%BCcher.ex\u{e4}mple".as_bytes()),
            None
        );
    }

    #[test]
    fn public_suffixes() {
        for suffix in [
            "com",
            "org",
            "co.uk",
            "github.io",
            "localhost",
            "unknowntld",
            "org.",
        ] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        for not_suffix in [
            "example.org",
            "example.co.uk",
            "foo.github.io",
            "example.org.",
            "a.b.c.example.com",
        ] {
            assert!(!is_public_suffix(not_suffix), "{not_suffix}");
        }
    }

    #[test]
    fn groups() {
        assert_eq!(group_key("a.b.example.co.uk", false), "example.co.uk");
        assert_eq!(group_key("example.co.uk", false), "example.co.uk");
        assert_eq!(group_key("co.uk", false), "co.uk");
        assert_eq!(group_key("localhost", false), "localhost");
        assert_eq!(group_key("127.0.0.1", true), "127.0.0.1");
        assert_eq!(group_key("[::1]", true), "[::1]");
    }
}
