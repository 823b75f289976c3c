//! [`Policy`]: which redirects to follow.

use std::fmt;
use std::sync::Arc;

use super::attempt::{Action, Attempt};
use super::error::TooManyRedirects;

/// How many redirects [`Policy::default`] follows.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;

type Decide = dyn Fn(Attempt<'_>) -> Action + Send + Sync;

/// Which redirects the [`FollowRedirect`](super::FollowRedirect) service follows.
///
/// A concrete, cheaply cloned type (like reqwest's `redirect::Policy`): [`Policy::none`],
/// [`Policy::limited`], [`Policy::custom`], and [`Policy::default`] (= `limited(10)`).
///
/// Whatever the policy says, the layer refuses a redirect that would repeat a hop already taken in
/// the chain (a loop), and by default one from `https` to `http` (see
/// [`Policy::allow_https_downgrade`]).
///
/// ```
/// use courier_core::redirect::Policy;
///
/// let default = Policy::default(); // follows up to 10 redirects
/// let never = Policy::none(); // returns every 3xx response as it is
/// let relaxed = Policy::limited(3).allow_https_downgrade(true);
/// # drop((default, never, relaxed));
/// ```
#[derive(Clone)]
pub struct Policy {
    kind: Kind,
    allow_https_downgrade: bool,
    referer: bool,
}

#[derive(Clone)]
enum Kind {
    None,
    Limited(usize),
    Custom(Arc<Decide>),
}

impl Policy {
    /// Follow no redirect: every response, 3xx included, is returned as it is. Costs nothing per
    /// request: nothing is cloned and no URL is parsed.
    pub fn none() -> Self {
        Policy::from_kind(Kind::None)
    }

    /// Follow up to `max` redirects; the response after that, if it is a redirect too, fails the
    /// request with [`TooManyRedirects`]. `limited(0)` fails on the first redirect.
    pub fn limited(max: usize) -> Self {
        Policy::from_kind(Kind::Limited(max))
    }

    /// Decide each redirect with a closure. The closure is the only limit on the number of hops
    /// (besides loop detection): check [`Attempt::previous`] to bound it.
    ///
    /// ```
    /// use courier_core::redirect::{Attempt, Policy};
    ///
    /// let policy = Policy::custom(|attempt: Attempt| {
    ///     if attempt.previous().len() > 5 {
    ///         attempt.error("stopped after 5 redirects")
    ///     } else {
    ///         attempt.follow()
    ///     }
    /// });
    /// # drop(policy);
    /// ```
    pub fn custom<F>(decide: F) -> Self
    where
        F: Fn(Attempt<'_>) -> Action + Send + Sync + 'static,
    {
        Policy::from_kind(Kind::Custom(Arc::new(decide)))
    }

    /// Allow (`true`) or refuse (`false`, the default) a redirect from an `https` URL to an `http`
    /// one. A refused downgrade fails the request with [`InsecureRedirect`](super::InsecureRedirect).
    pub fn allow_https_downgrade(mut self, allow: bool) -> Self {
        self.allow_https_downgrade = allow;
        self
    }

    /// Whether redirects from `https` to `http` are followed.
    pub fn allows_https_downgrade(&self) -> bool {
        self.allow_https_downgrade
    }

    /// Send (`true`, the default, as browsers and reqwest do) or not a `Referer` header naming the
    /// URL that redirected, without its fragment and credentials. Never sent from an `https` URL to
    /// an `http` one.
    pub fn referer(mut self, enabled: bool) -> Self {
        self.referer = enabled;
        self
    }

    /// Whether redirected requests carry a `Referer`.
    pub fn sends_referer(&self) -> bool {
        self.referer
    }

    fn from_kind(kind: Kind) -> Self {
        Policy {
            kind,
            allow_https_downgrade: false,
            referer: true,
        }
    }

    /// False for [`Policy::none`]: the service then skips all redirect bookkeeping.
    pub(super) fn may_follow(&self) -> bool {
        !matches!(self.kind, Kind::None)
    }

    /// What this policy does with `attempt`, as the redirect layer asks it (besides the loop and
    /// `https` downgrade checks, which are the layer's): so a [`Policy::custom`] can defer to another
    /// policy, as with reqwest's method of the same name.
    ///
    /// ```
    /// use courier_core::redirect::Policy;
    ///
    /// let policy = Policy::custom(|attempt| {
    ///     if attempt.url().host_str() == Some("127.0.0.1") {
    ///         attempt.stop()
    ///     } else {
    ///         Policy::default().redirect(attempt)
    ///     }
    /// });
    /// # drop(policy);
    /// ```
    pub fn redirect(&self, attempt: Attempt<'_>) -> Action {
        match &self.kind {
            Kind::None => attempt.stop(),
            Kind::Limited(max) => {
                // `previous` holds every URL requested so far, so `len() - 1` redirects were taken.
                if attempt.previous().len() > *max {
                    let mut chain = attempt.previous().to_vec();
                    chain.push(attempt.url().clone());
                    attempt.error(TooManyRedirects::new(*max, chain))
                } else {
                    attempt.follow()
                }
            }
            Kind::Custom(decide) => decide(attempt),
        }
    }
}

impl Default for Policy {
    /// [`Policy::limited`] with [`DEFAULT_MAX_REDIRECTS`] (10).
    fn default() -> Self {
        Policy::limited(DEFAULT_MAX_REDIRECTS)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Policy");
        match &self.kind {
            Kind::None => d.field("kind", &"none"),
            Kind::Limited(max) => d.field("limited", max),
            Kind::Custom(_) => d.field("kind", &"custom"),
        };
        d.field("allow_https_downgrade", &self.allow_https_downgrade)
            .finish()
    }
}
