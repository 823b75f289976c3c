//! The HTTP rules of a hop (RFC 9110 §15.4, Fetch §4.4): which statuses redirect, how the method and
//! body change, how `Location` resolves, and which headers must not travel on.

use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_LOCATION,
    CONTENT_TYPE, COOKIE, HOST, PROXY_AUTHORIZATION, REFERER, TRANSFER_ENCODING,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use url::Url;

use super::error::{InvalidLocation, UnsupportedScheme};
use crate::error::BoxError;

/// How the next request differs from the current one.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Rewrite {
    pub(super) method: Method,
    /// Send an empty body and drop the body headers.
    pub(super) drop_body: bool,
}

/// The next request's method and body for a redirect status; `None` for statuses that are not
/// followed (300, 304, 305, ...).
pub(super) fn rewrite(status: StatusCode, method: &Method) -> Option<Rewrite> {
    let (method, drop_body) = match status {
        // Historically user agents turn POST into GET here; every browser does (RFC 9110 §15.4.2-3).
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if *method == Method::POST => {
            (Method::GET, true)
        }
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => (method.clone(), false),
        // "See other": fetch the other resource with GET (HEAD stays HEAD), RFC 9110 §15.4.4.
        StatusCode::SEE_OTHER if *method == Method::HEAD => (Method::HEAD, true),
        StatusCode::SEE_OTHER => (Method::GET, true),
        // Method and body must not change (RFC 9110 §15.4.8-9).
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => (method.clone(), false),
        _ => return None,
    };
    Some(Rewrite { method, drop_body })
}

/// Resolves a `Location` value against the current URL: relative, scheme-relative (`//host/path`)
/// and absolute references. A reference without a fragment inherits the current URL's
/// (RFC 9110 §10.2.2). Only `http` and `https` targets are accepted; a user name and password in the
/// reference are dropped.
pub(super) fn resolve_location(current: &Url, location: &HeaderValue) -> Result<Url, BoxError> {
    let bytes = location.as_bytes();
    // Not `HeaderValue::to_str`: some servers send raw UTF-8, which `Url` percent-encodes.
    let text =
        std::str::from_utf8(bytes).map_err(|_| InvalidLocation::new(bytes, "not valid UTF-8"))?;
    let mut next = current
        .join(text)
        .map_err(|err| InvalidLocation::new(bytes, err.to_string()))?;
    // As reqwest and requests do, credentials in a `Location` are not used; removed, they appear in
    // no request line (to a proxy), history, `Response::url`, error or log either.
    crate::urls::remove_credentials(&mut next);
    if !matches!(next.scheme(), "http" | "https") {
        return Err(UnsupportedScheme::new(next).into());
    }
    crate::urls::inherit_fragment(&mut next, current);
    Ok(next)
}

/// The request URI for a URL: `http::Uri` has no fragment, so it is left out.
pub(super) fn request_uri(url: &Url) -> Result<Uri, BoxError> {
    crate::urls::to_uri(url)
        .map_err(|err| InvalidLocation::new(url.as_str().as_bytes(), err.to_string()).into())
}

/// Scheme, host and port all equal.
pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Headers that describe the body, dropped with it.
pub(super) fn remove_body_headers(headers: &mut HeaderMap) {
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        TRANSFER_ENCODING,
        CONTENT_LANGUAGE,
        CONTENT_LOCATION,
    ] {
        headers.remove(name);
    }
}

/// Headers that must not reach another origin: credentials, and a `Host` naming the old one. The
/// cookie layer below adds the new origin's cookies.
pub(super) fn remove_origin_headers(headers: &mut HeaderMap) {
    for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, HOST] {
        headers.remove(name);
    }
}

/// Names the URL that redirected in `Referer`, without fragment or credentials (RFC 9110 §10.1.3);
/// none from `https` to `http`, where it would reveal a secure page's address in the clear.
pub(super) fn set_referer(headers: &mut HeaderMap, current: &Url, next: &Url) {
    headers.remove(REFERER);
    if current.scheme() == "https" && next.scheme() == "http" {
        return;
    }
    let mut referer = current.clone();
    referer.set_fragment(None);
    crate::urls::remove_credentials(&mut referer);
    if let Ok(value) = HeaderValue::from_str(referer.as_str()) {
        headers.insert(REFERER, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redirect::error::{InvalidLocation, UnsupportedScheme};

    #[test]
    fn referer_drops_fragment_and_credentials_and_never_downgrades() {
        let mut headers = HeaderMap::new();
        set_referer(
            &mut headers,
            &url("http://user:pw@127.0.0.1:8080/a/b?q=1#frag"),
            &url("http://127.0.0.1:8080/c"),
        );
        assert_eq!(headers[REFERER], "http://127.0.0.1:8080/a/b?q=1");
        set_referer(
            &mut headers,
            &url("https://127.0.0.1/secret"),
            &url("http://127.0.0.1/plain"),
        );
        assert!(headers.get(REFERER).is_none());
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn resolve(current: &str, location: &str) -> Result<Url, BoxError> {
        resolve_location(&url(current), &HeaderValue::from_str(location).unwrap())
    }

    #[test]
    fn post_becomes_get_on_301_and_302_only() {
        for status in [StatusCode::MOVED_PERMANENTLY, StatusCode::FOUND] {
            assert_eq!(
                rewrite(status, &Method::POST),
                Some(Rewrite {
                    method: Method::GET,
                    drop_body: true
                })
            );
            for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
                assert_eq!(
                    rewrite(status, &method),
                    Some(Rewrite {
                        method: method.clone(),
                        drop_body: false
                    })
                );
            }
        }
    }

    #[test]
    fn see_other_becomes_get_except_head() {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            assert_eq!(
                rewrite(StatusCode::SEE_OTHER, &method),
                Some(Rewrite {
                    method: Method::GET,
                    drop_body: true
                })
            );
        }
        assert_eq!(
            rewrite(StatusCode::SEE_OTHER, &Method::HEAD),
            Some(Rewrite {
                method: Method::HEAD,
                drop_body: true
            })
        );
    }

    #[test]
    fn temporary_and_permanent_keep_method_and_body() {
        for status in [
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            for method in [Method::GET, Method::HEAD, Method::POST, Method::PUT] {
                assert_eq!(
                    rewrite(status, &method),
                    Some(Rewrite {
                        method: method.clone(),
                        drop_body: false
                    })
                );
            }
        }
    }

    #[test]
    fn other_statuses_are_not_followed() {
        for code in [200, 300, 304, 305, 306, 309, 399, 404] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(rewrite(status, &Method::GET), None, "{code}");
        }
    }

    #[test]
    fn resolves_relative_absolute_and_scheme_relative() {
        let base = "http://a.test/dir/page?q=1";
        assert_eq!(
            resolve(base, "/root").unwrap().as_str(),
            "http://a.test/root"
        );
        assert_eq!(
            resolve(base, "other").unwrap().as_str(),
            "http://a.test/dir/other"
        );
        assert_eq!(
            resolve(base, "../up?x=2").unwrap().as_str(),
            "http://a.test/up?x=2"
        );
        assert_eq!(
            resolve(base, "?only=query").unwrap().as_str(),
            "http://a.test/dir/page?only=query"
        );
        assert_eq!(
            resolve(base, "//b.test:8080/p").unwrap().as_str(),
            "http://b.test:8080/p"
        );
        assert_eq!(
            resolve("https://a.test/", "//b.test/p").unwrap().as_str(),
            "https://b.test/p"
        );
        assert_eq!(
            resolve(base, "https://c.test/abs").unwrap().as_str(),
            "https://c.test/abs"
        );
    }

    #[test]
    fn fragments_follow_rfc_9110() {
        // The Location's own fragment wins.
        assert_eq!(
            resolve("http://a.test/x#old", "/y#new").unwrap().as_str(),
            "http://a.test/y#new"
        );
        // Without one, the current URL's fragment is inherited.
        assert_eq!(
            resolve("http://a.test/x#old", "/y").unwrap().as_str(),
            "http://a.test/y#old"
        );
        assert_eq!(resolve("http://a.test/x", "/y").unwrap().fragment(), None);
    }

    #[test]
    fn raw_utf8_is_percent_encoded() {
        let value = HeaderValue::from_bytes("/caf\u{e9}".as_bytes()).unwrap();
        let next = resolve_location(&url("http://a.test/"), &value).unwrap();
        assert_eq!(next.as_str(), "http://a.test/caf%C3%A9");
    }

    #[test]
    fn invalid_locations_are_errors() {
        let value = HeaderValue::from_bytes(b"/\xff\xfe").unwrap();
        let err = resolve_location(&url("http://a.test/"), &value).unwrap_err();
        let err = err.downcast_ref::<InvalidLocation>().unwrap();
        assert_eq!(err.location(), "/\u{fffd}\u{fffd}");
        assert_eq!(
            err.to_string(),
            "invalid Location header \"/\u{fffd}\u{fffd}\": not valid UTF-8"
        );

        let err = resolve("http://a.test/", "http://[::1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid Location header \"http://[::1\": invalid IPv6 address"
        );
        let err = resolve("http://a.test/", "http://").unwrap_err();
        assert!(err.is::<InvalidLocation>(), "{err}");
    }

    #[test]
    fn only_http_schemes_are_followed() {
        for location in [
            "ftp://a.test/file",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            let err = resolve("http://a.test/", location).unwrap_err();
            assert!(err.is::<UnsupportedScheme>(), "{location}: {err}");
        }
        assert_eq!(
            resolve("http://a.test/", "ftp://a.test/file")
                .unwrap_err()
                .to_string(),
            "unsupported scheme \"ftp\" in redirect to ftp://a.test/file"
        );
    }

    #[test]
    fn request_uri_drops_fragment() {
        let uri = request_uri(&url("http://a.test:81/p?q=1#frag")).unwrap();
        assert_eq!(uri, "http://a.test:81/p?q=1");
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &url("http://a.test/x"),
            &url("http://a.test:80/y")
        ));
        assert!(!same_origin(
            &url("http://a.test/"),
            &url("https://a.test/")
        ));
        assert!(!same_origin(&url("http://a.test/"), &url("http://b.test/")));
        assert!(!same_origin(
            &url("http://a.test/"),
            &url("http://a.test:81/")
        ));
        assert!(!same_origin(
            &url("http://localhost:80/"),
            &url("http://127.0.0.1:80/")
        ));
    }

    #[test]
    fn header_removal() {
        let mut headers = HeaderMap::new();
        for name in [
            "content-type",
            "content-length",
            "content-encoding",
            "transfer-encoding",
            "content-language",
            "content-location",
            "authorization",
            "cookie",
            "proxy-authorization",
            "host",
            "accept",
        ] {
            headers.insert(
                http::HeaderName::from_static(name),
                HeaderValue::from_static("v"),
            );
        }
        remove_body_headers(&mut headers);
        let mut left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(
            left,
            [
                "accept",
                "authorization",
                "cookie",
                "host",
                "proxy-authorization"
            ]
        );
        remove_origin_headers(&mut headers);
        assert_eq!(
            headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            ["accept"]
        );
    }
}
