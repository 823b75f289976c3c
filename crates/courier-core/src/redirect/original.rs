//! [`OriginalUri`]: what a redirect hop's request carries about the request that started the chain.

use http::Uri;

/// The URI the chain's first request was sent to, in the extensions of every request the redirect
/// layer sends after a redirect (never in the first request's).
///
/// Layers below use it to tell a hop from a request of the caller's own: the auth layer answers with
/// a `.netrc` `default` entry only for the origin the caller asked for, never for a host a redirect
/// leads to.
///
/// ```
/// use courier_core::redirect::OriginalUri;
///
/// fn is_a_hop_elsewhere(req: &http::Request<()>) -> bool {
///     req.extensions()
///         .get::<OriginalUri>()
///         .is_some_and(|first| first.uri().authority() != req.uri().authority())
/// }
/// # assert!(!is_a_hop_elsewhere(&http::Request::new(())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalUri(Uri);

impl OriginalUri {
    pub(super) fn new(uri: Uri) -> OriginalUri {
        OriginalUri(uri)
    }

    /// The first request's URI.
    pub fn uri(&self) -> &Uri {
        &self.0
    }
}
