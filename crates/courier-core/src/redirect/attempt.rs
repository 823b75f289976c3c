//! [`Attempt`]: what a [`Policy`](super::Policy) sees, and [`Action`]: what it answers.

use http::StatusCode;
use url::Url;

use crate::error::BoxError;

/// A redirect the layer is about to follow, handed to a [`Policy::custom`](super::Policy::custom)
/// closure.
///
/// ```
/// use courier_core::redirect::Policy;
///
/// // Follow at most 3 redirects, and never leave example.com.
/// let policy = Policy::custom(|attempt| {
///     if attempt.previous().len() > 3 {
///         attempt.error("too many redirects")
///     } else if attempt.url().host_str() != Some("example.com") {
///         attempt.stop()
///     } else {
///         attempt.follow()
///     }
/// });
/// # drop(policy);
/// ```
#[derive(Debug)]
pub struct Attempt<'a> {
    status: StatusCode,
    next: &'a Url,
    previous: &'a [Url],
}

impl<'a> Attempt<'a> {
    pub(super) fn new(status: StatusCode, next: &'a Url, previous: &'a [Url]) -> Self {
        Attempt {
            status,
            next,
            previous,
        }
    }

    /// The status of the redirect response (301, 302, 303, 307 or 308).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The URL the redirect points to: the `Location` resolved against the current URL.
    pub fn url(&self) -> &Url {
        self.next
    }

    /// The URLs requested so far, in order: the original request first, the URL that answered with
    /// this redirect last. `previous().len() - 1` redirects were followed before this one.
    pub fn previous(&self) -> &[Url] {
        self.previous
    }

    /// Follow the redirect.
    pub fn follow(self) -> Action {
        Action {
            kind: ActionKind::Follow,
        }
    }

    /// Do not follow: the redirect response is returned to the caller as it is.
    pub fn stop(self) -> Action {
        Action {
            kind: ActionKind::Stop,
        }
    }

    /// Fail the request with a redirect error ([`Error::is_redirect`](crate::Error::is_redirect)) whose
    /// cause is `error`.
    pub fn error<E: Into<BoxError>>(self, error: E) -> Action {
        Action {
            kind: ActionKind::Error(error.into()),
        }
    }
}

/// What to do with a redirect: made by [`Attempt::follow`], [`Attempt::stop`] or [`Attempt::error`].
#[derive(Debug)]
pub struct Action {
    pub(super) kind: ActionKind,
}

#[derive(Debug)]
pub(super) enum ActionKind {
    Follow,
    Stop,
    Error(BoxError),
}
