//! [`NoProxy`]: the hosts that bypass a proxy, in curl's `NO_PROXY` syntax.

use std::fmt;
use std::sync::Arc;

use http::Uri;
use hyper_util::client::proxy::matcher::Matcher;

/// Hosts that bypass a proxy: comma-separated names (matching subdomains too, with or without a
/// leading `.`), IP addresses, CIDR ranges, or `*` for all (curl's rules).
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
}

/// The proxy the matcher is built with; never connected to.
const UNUSED_PROXY: &str = "http://no-proxy.invalid";

impl NoProxy {
    /// The list in `NO_PROXY` (or `no_proxy`); `None` when neither is set to a non-empty list.
    pub fn from_env() -> Option<NoProxy> {
        let list = std::env::var("NO_PROXY")
            .or_else(|_| std::env::var("no_proxy"))
            .ok()?;
        NoProxy::from_string(&list)
    }

    /// A list in `NO_PROXY` syntax; `None` when it names nothing.
    pub fn from_string(list: &str) -> Option<NoProxy> {
        if list.split(',').all(|part| part.trim().is_empty()) {
            return None;
        }
        let matcher = Matcher::builder()
            .all(UNUSED_PROXY.to_owned())
            .no(list.to_owned())
            .build();
        Some(NoProxy {
            list: list.into(),
            matcher: Arc::new(matcher),
        })
    }

    /// True when `uri`'s host is on the list.
    pub(crate) fn contains(&self, uri: &Uri) -> bool {
        self.matcher.intercept(uri).is_none()
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
        assert!(NoProxy::from_string("*")
            .unwrap()
            .contains(&"http://any.test/".parse().unwrap()));
    }
}
