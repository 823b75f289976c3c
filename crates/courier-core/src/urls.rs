//! Between `http::Uri` (what a request carries) and `url::Url` (what redirects, cookies, errors and
//! the facade need), and the URL rules more than one layer applies: fragments (never sent, inherited
//! by a redirect) and credentials (never shown).
//!
//! Not part of the stable API: shared by Courier's own crates so each rule is written once.
//!
//! ```
//! use courier_core::urls;
//!
//! let url = url::Url::parse("http://ada:pw@example.com/a?b#c").unwrap();
//! assert_eq!(urls::to_uri(&url).unwrap(), "http://ada:pw@example.com/a?b");
//! assert_eq!(urls::credentials(&url), Some(("ada".to_owned(), "pw".to_owned())));
//! ```

use http::Uri;
use url::Url;

/// The `Url` of an absolute request URI.
pub fn to_url(uri: &Uri) -> Result<Url, url::ParseError> {
    Url::parse(&uri.to_string())
}

/// The request URI of a URL: without its fragment, which HTTP never sends (and `http::Uri` cannot hold).
pub fn to_uri(url: &Url) -> Result<Uri, http::uri::InvalidUri> {
    url[..url::Position::AfterQuery].parse()
}

/// RFC 9110 §10.2.2: a redirect target without a fragment keeps the fragment of the URL it was
/// reached from.
pub fn inherit_fragment(next: &mut Url, from: &Url) {
    if next.fragment().is_none() && from.fragment().is_some() {
        next.set_fragment(from.fragment());
    }
}

/// The user name and password of `url` (percent-decoded), when it has either.
pub fn credentials(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(url.username()), decode(url.password().unwrap_or(""))))
}

/// Removes the user name and password from `url`, so they appear in no log, error or header.
pub fn remove_credentials(url: &mut Url) {
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

/// `text`, a URL that may not parse, with what precedes its last `@` after `scheme:` (and any `/`
/// or `\\` that follow it, which URL parsers take alike) shown as `***`: it may carry a password,
/// with a `/`, `?` or `#` in it even (pasted unencoded), and it is about to be shown. An `@` in a
/// query masks more than the userinfo: a message may say less, never a password.
///
/// ```
/// use courier_core::urls::mask_userinfo;
///
/// assert_eq!(mask_userinfo("http://ada:s3#cret@127.0.0.1:99999/"), "http://***@127.0.0.1:99999/");
/// assert_eq!(mask_userinfo("https:\\\\ada:pw@host/"), "https:\\\\***@host/");
/// assert_eq!(mask_userinfo("ada:s3cr#et@127.0.0.1/x"), "ada:***@127.0.0.1/x");
/// assert_eq!(mask_userinfo("http://127.0.0.1/a"), "http://127.0.0.1/a");
/// ```
pub fn mask_userinfo(text: &str) -> String {
    let start = match text.find(':') {
        Some(colon)
            if colon > 0
                && text[..colon]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            let after = &text[colon + 1..];
            colon + 1 + (after.len() - after.trim_start_matches(['/', '\\']).len())
        }
        _ if text.starts_with("//") => 2,
        _ => return text.to_owned(),
    };
    match text[start..].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

/// `uri` without the `user:password@` of its authority; `None` when it has none.
pub(crate) fn uri_without_userinfo(uri: &http::Uri) -> Option<http::Uri> {
    let authority = uri.authority()?;
    let (_, host_port) = authority.as_str().rsplit_once('@')?;
    let mut parts = uri.clone().into_parts();
    parts.authority = http::uri::Authority::try_from(host_port).ok();
    http::Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn uri_and_url_convert_both_ways_without_the_fragment() {
        let uri: Uri = "http://a.test:81/p?q=1".parse().unwrap();
        assert_eq!(to_url(&uri).unwrap().as_str(), "http://a.test:81/p?q=1");
        assert_eq!(to_uri(&url("http://a.test:81/p?q=1#frag")).unwrap(), uri);
        assert!(to_url(&"/relative".parse().unwrap()).is_err());
    }

    #[test]
    fn a_fragment_is_inherited_only_when_the_target_has_none() {
        let mut next = url("http://b.test/");
        inherit_fragment(&mut next, &url("http://a.test/#top"));
        assert_eq!(next.as_str(), "http://b.test/#top");
        let mut own = url("http://b.test/#own");
        inherit_fragment(&mut own, &url("http://a.test/#top"));
        assert_eq!(own.fragment(), Some("own"));
    }

    #[test]
    fn credentials_are_decoded_and_removed() {
        let mut with = url("http://ad%40a:p%3Aw@a.test/");
        assert_eq!(
            credentials(&with),
            Some(("ad@a".to_owned(), "p:w".to_owned()))
        );
        assert_eq!(
            credentials(&url("http://:pw@a.test/")),
            Some((String::new(), "pw".to_owned()))
        );
        assert_eq!(credentials(&url("http://a.test/")), None);
        remove_credentials(&mut with);
        assert_eq!(with.as_str(), "http://a.test/");
    }
}
