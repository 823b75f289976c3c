//! [`RedirectHistory`]: the URLs a response was redirected through, and the redirect responses
//! ([`Hop`]s) themselves.

use http::{HeaderMap, Response, StatusCode, Version};
use url::Url;

/// The redirects followed to get a response, stored in the final response's extensions.
///
/// Inserted only when at least one redirect was followed; its absence means the response came from
/// the URL that was requested. The final URL carries a fragment when a `Location` gave one (and
/// later `Location`s without one inherit it, RFC 9110 §10.2.2). The original request's own fragment
/// never reaches the layer (`http::Uri` has none): a caller that knows it should apply it to a
/// fragment-less [`final_url`](RedirectHistory::final_url).
///
/// ```
/// # use courier_core::redirect::RedirectHistory;
/// fn describe(res: &http::Response<()>) -> String {
///     match res.extensions().get::<RedirectHistory>() {
///         Some(history) => format!("{} after {} redirects", history.final_url(), history.redirect_count()),
///         None => "not redirected".to_owned(),
///     }
/// }
/// # assert_eq!(describe(&http::Response::new(())), "not redirected");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectHistory {
    previous: Vec<Url>,
    final_url: Url,
    hops: Vec<Hop>,
}

impl RedirectHistory {
    /// `urls`: every URL requested, in order, at least two; `hops`: the redirect responses, one per URL
    /// but the last.
    pub(super) fn new(mut urls: Vec<Url>, hops: Vec<Hop>) -> Option<Self> {
        if urls.len() < 2 {
            return None;
        }
        let final_url = urls.pop()?;
        debug_assert_eq!(hops.len(), urls.len());
        Some(RedirectHistory {
            previous: urls,
            final_url,
            hops,
        })
    }

    /// The redirect responses followed, in order (one per URL of [`previous`](Self::previous)): their
    /// status, reason, headers and the URL that answered, like requests' `Response.history`. Their
    /// bodies were not read.
    pub fn hops(&self) -> &[Hop] {
        &self.hops
    }

    /// The URLs requested before the final one, in order: the original request's URL first, then
    /// each URL that answered with a redirect. Never empty.
    pub fn previous(&self) -> &[Url] {
        &self.previous
    }

    /// The URL the response came from.
    pub fn final_url(&self) -> &Url {
        &self.final_url
    }

    /// The URL originally requested (without its fragment).
    pub fn original_url(&self) -> &Url {
        &self.previous[0]
    }

    /// How many redirects were followed (`previous().len()`).
    pub fn redirect_count(&self) -> usize {
        self.previous.len()
    }

    /// Every URL requested, the final one last.
    pub fn iter(&self) -> impl Iterator<Item = &Url> {
        self.previous.iter().chain(std::iter::once(&self.final_url))
    }
}

/// One redirect response that was followed: what the server answered at [`url`](Hop::url), without
/// its body (which the layer drops unread).
///
/// ```
/// # use courier_core::redirect::RedirectHistory;
/// fn describe(history: &RedirectHistory) -> Vec<String> {
///     history
///         .hops()
///         .iter()
///         .map(|hop| format!("{} {} at {}", hop.status(), hop.reason(), hop.url()))
///         .collect()
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    url: Url,
    status: StatusCode,
    version: Version,
    reason: Option<String>,
    headers: HeaderMap,
}

impl Hop {
    /// Records the head of `res`, the answer from `url`.
    pub(super) fn of<B>(url: Url, res: &Response<B>) -> Hop {
        let reason = res
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
        Hop {
            url,
            status: res.status(),
            version: res.version(),
            reason,
            headers: res.headers().clone(),
        }
    }

    /// The URL that answered with this redirect.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The redirect status (301, 302, 303, 307 or 308).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason phrase the server sent (HTTP/1.1), or the canonical one for the status.
    pub fn reason(&self) -> &str {
        match &self.reason {
            Some(reason) => reason,
            None => self.status.canonical_reason().unwrap_or(""),
        }
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The response headers (`Location`, `Set-Cookie`, ...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}
