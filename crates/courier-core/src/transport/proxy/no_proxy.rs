//! [`NoProxy`]: the hosts that bypass a proxy, in curl's `NO_PROXY` syntax.

use std::fmt;
use std::sync::Arc;

use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;

/// Hosts that bypass a proxy: comma-separated names (matching subdomains too, with or without a
/// leading `.`), IP addresses (IPv6 with or without brackets), CIDR ranges, or `*` for all (curl's
/// rules). An entry's port (`host:8080`, `[::1]:8080`) is ignored: the entry matches the host on every
/// port.
///
/// ```
/// use courier_core::transport::{NoProxy, Proxy};
///
/// let proxy = Proxy::all("http://proxy.internal:3128")
///     .unwrap()
///     .no_proxy(NoProxy::from_string("localhost, .internal, 10.0.0.0/8"));
/// # drop(proxy);
/// assert!(NoProxy::from_string(" , ").is_none());
/// ```
#[derive(Clone)]
pub struct NoProxy {
    list: Arc<str>,
    /// hyper-util's matcher holds curl's rules; it is built with a proxy that is never used, so
    /// "not intercepted" means "on the list".
    matcher: Arc<Matcher>,
    /// The list has `*`: every host, as curl has it (hyper-util's matcher applies it to names only,
    /// not to IP addresses).
    all: bool,
}

/// The proxy the matcher is built with; never connected to.
const UNUSED_PROXY: &str = "http://no-proxy.invalid";

impl NoProxy {
    /// The list in `NO_PROXY` (or, when that is unset or empty, `no_proxy`); `None` when neither
    /// names anything.
    pub fn from_env() -> Option<NoProxy> {
        ["NO_PROXY", "no_proxy"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find_map(|list| NoProxy::from_string(&list))
    }

    /// A list in `NO_PROXY` syntax; `None` when it names nothing.
    pub fn from_string(list: &str) -> Option<NoProxy> {
        if list.split(',').all(|part| part.trim().is_empty()) {
            return None;
        }
        // A trailing dot (a fully qualified name) is ignored in entries as in hosts, as curl does.
        let entries: Vec<String> = list
            .split(',')
            .map(|e| {
                let entry = without_port(e.trim());
                match entry.strip_suffix('.') {
                    Some(name) if !name.is_empty() => name.to_owned(),
                    _ => entry,
                }
            })
            .collect();
        let matcher = Matcher::builder()
            .all(UNUSED_PROXY.to_owned())
            .no(entries.join(","))
            .build();
        Some(NoProxy {
            list: list.into(),
            matcher: Arc::new(matcher),
            all: list.split(',').any(|entry| entry.trim() == "*"),
        })
    }

    /// True when `uri`'s host is on the list. A fully qualified name (`internal.corp.`) is the same
    /// host as without its final dot.
    pub(crate) fn contains(&self, uri: &Uri) -> bool {
        if self.all {
            return true;
        }
        let host = uri.host().unwrap_or("");
        if let (Some(bare), Some(scheme)) = (host.strip_suffix('.'), uri.scheme_str()) {
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            if let Ok(bare) = format!("{scheme}://{bare}{port}/").parse::<Uri>() {
                return self.matcher.intercept(&bare).is_none();
            }
        }
        self.matcher.intercept(uri).is_none()
    }
}

/// One entry as the matcher takes it: `[::1]` and `[::1]:8080` become `::1`, `[fe80::]/10` becomes
/// `fe80::/10`, `host:8080` becomes `host`; a bare IPv6 address or range (several colons) is left
/// as it is.
fn without_port(entry: &str) -> String {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((addr, after)) if after.starts_with('/') => format!("{addr}{after}"),
            Some((addr, _)) => addr.to_owned(),
            None => rest.to_owned(),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host.to_owned()
        }
        _ => entry.to_owned(),
    }
}

/// An empty list, which no host is on (as reqwest's `NoProxy::default()`).
///
/// ```
/// use courier_core::transport::{NoProxy, Proxy};
///
/// let proxy = Proxy::all("http://proxy.internal:3128").unwrap().no_proxy(Some(NoProxy::default()));
/// # drop(proxy);
/// ```
impl Default for NoProxy {
    fn default() -> NoProxy {
        let matcher = Matcher::builder()
            .all(UNUSED_PROXY.to_owned())
            .no(String::new())
            .build();
        NoProxy {
            list: "".into(),
            matcher: Arc::new(matcher),
            all: false,
        }
    }
}

impl fmt::Debug for NoProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoProxy").field(&self.list).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_holds_no_host() {
        let no = NoProxy::default();
        for uri in [
            "http://localhost/",
            "http://127.0.0.1:8080/",
            "https://a.test/",
        ] {
            assert!(!no.contains(&uri.parse().unwrap()), "{uri}");
        }
    }

    #[test]
    fn curl_rules() {
        let no = NoProxy::from_string("localhost, .internal, 10.0.0.0/8, example.com").unwrap();
        let cases = [
            ("http://localhost/", true),
            ("https://a.internal:8443/", true),
            ("http://internal/", true),
            ("http://10.1.2.3/", true),
            ("http://www.example.com/", true),
            ("http://notexample.com/", false),
            ("http://11.0.0.1/", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(no.contains(&uri.parse().unwrap()), expected, "{uri}");
        }
        for uri in [
            "http://any.test/",
            "http://127.0.0.1:8080/",
            "https://[::1]/",
        ] {
            assert!(NoProxy::from_string("other.test, *")
                .unwrap()
                .contains(&uri.parse().unwrap()));
        }
    }

    #[test]
    fn bracketed_ranges_and_fully_qualified_names() {
        let no = NoProxy::from_string("[fe80::]/10, internal.corp, dotted.test.").unwrap();
        let cases = [
            ("http://[fe80::1234]/", true),
            ("http://[fe80::]/", true),
            ("http://[fec0::1]/", false),
            ("http://internal.corp./", true),
            ("http://a.internal.corp.:8080/", true),
            ("http://internal.corp/", true),
            ("http://other.corp./", false),
            ("http://dotted.test/", true),
            ("http://a.dotted.test./", true),
            ("http://undotted.test/", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(no.contains(&uri.parse().unwrap()), expected, "{uri}");
        }
    }

    #[test]
    fn ports_and_brackets_are_stripped() {
        let no =
            NoProxy::from_string("a.test:8080, [::1], [fe80::1]:443, 127.0.0.2:80, ::2").unwrap();
        let cases = [
            ("http://a.test/", true),
            ("http://a.test:8080/", true),
            ("http://sub.a.test:9/", true),
            ("http://b.test:8080/", false),
            ("http://[::1]:3128/", true),
            ("http://[fe80::1]/", true),
            ("http://127.0.0.2:8080/", true),
            ("http://[::2]/", true),
            ("http://[::3]/", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(no.contains(&uri.parse().unwrap()), expected, "{uri}");
        }
        assert_eq!(without_port("::1/128"), "::1/128");
        assert_eq!(without_port("[fe80::]/10"), "fe80::/10");
        assert_eq!(without_port("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(without_port("host:"), "host:");
    }
}
