//! [`RedirectHistory`]: the URLs a response was redirected through.

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
}

impl RedirectHistory {
    /// `urls`: every URL requested, in order, at least two.
    pub(super) fn from_urls(mut urls: Vec<Url>) -> Option<Self> {
        if urls.len() < 2 {
            return None;
        }
        let final_url = urls.pop()?;
        Some(RedirectHistory {
            previous: urls,
            final_url,
        })
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
