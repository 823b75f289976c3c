//! Follows redirect responses (301, 302, 303, 307, 308) under a [`Policy`].
//!
//! [`FollowRedirectLayer`] wraps any `Service<http::Request<B>>` whose request body can be rebuilt
//! ([`Default`] for an empty body, [`TryCloneBody`](crate::body::TryCloneBody) to replay it) and
//! whose error converts into a [`BoxError`](crate::BoxError). Each hop is a new request sent through
//! the inner service, so the layers below (cookies, user agent, decompression) see every hop.
//!
//! What it does, per hop:
//!
//! - **Method and body** (RFC 9110 §15.4): 301 and 302 turn `POST` into `GET` without a body;
//!   303 turns everything but `HEAD` into `GET` without a body; 307 and 308 keep method and body.
//!   A dropped body takes its headers with it (`Content-Type`, `Content-Length`,
//!   `Content-Encoding`, `Transfer-Encoding`, `Content-Language`, `Content-Location`). A body that
//!   must be sent again but cannot be (a stream) ends the chain: the 3xx response is returned.
//! - **Location**: resolved against the current URL (relative, `//host/path`, absolute). A missing
//!   `Location`, and statuses other than the five above (300, 304, ...), return the response as it
//!   is. An invalid one ([`InvalidLocation`]), or one that is not `http`/`https`
//!   ([`UnsupportedScheme`]), is an error. A `Location` without a fragment inherits the current
//!   URL's fragment (RFC 9110 §10.2.2). A user name and password in it are dropped (as reqwest and
//!   requests do): they are neither sent nor shown in any URL.
//! - **Security**: a hop to another origin (scheme, host or port) drops `Authorization`, `Cookie`,
//!   `Proxy-Authorization` and `Host` for the rest of the chain (the cookie layer below adds the
//!   new origin's cookies). A hop from `https` to `http` is refused ([`InsecureRedirect`]) unless
//!   [`Policy::allow_https_downgrade`] allows it.
//! - **`Referer`**: each hop names the URL that redirected (without fragment and credentials) unless
//!   [`Policy::referer`] turns it off; never from `https` to `http`. Like reqwest's, it keeps the path
//!   and query also across origins.
//! - **Limits**: the [`Policy`] decides ([`TooManyRedirects`] past [`Policy::limited`]'s limit); a hop
//!   taken twice in one chain is a [`RedirectLoop`], whatever the policy.
//! - **History**: when at least one redirect was followed, the final response's extensions hold a
//!   [`RedirectHistory`]: the URLs requested before, the final URL, and each redirect response's
//!   head (status, reason, headers) as a [`Hop`].
//!
//! Errors are Courier [`Error`](crate::Error)s: inner service errors pass through
//! [`Error::from_service`](crate::Error::from_service); redirect failures are
//! [`is_redirect`](crate::Error::is_redirect), name the URL that answered with the redirect, and
//! have one of this module's error types as their source.
//!
//! - **Redirect bodies**: a followed redirect's body is read before the next hop, up to 64 KiB and
//!   for at most half a second (as curl and Python's requests read it), so a cache below can store
//!   the redirect and its connection can be reused; a larger or slower one is dropped unread. This
//!   needs a tokio runtime with its timer, as the rest of Courier does.
//!
//! What it does not do: it does not manage cookies (that is the
//! [`cookie`](crate::cookie) layer, which must sit *below* this one), and with [`Policy::none`] it
//! does nothing at all: no header or body is cloned, no URL is parsed.
//!
//! Extensions of the original request are copied to every hop (`http::Extensions` is cheap to
//! clone when empty), with an [`OriginalUri`] naming the first request's URI added to each hop.
//!
//! ```
//! use courier_core::redirect::{FollowRedirectLayer, Policy, RedirectHistory};
//! use courier_core::Body;
//! use http::{Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), courier_core::Error> {
//! let server = service_fn(|req: Request<Body>| async move {
//!     let res = match req.uri().path() {
//!         "/old" => Response::builder().status(StatusCode::MOVED_PERMANENTLY).header("location", "/new"),
//!         _ => Response::builder(),
//!     };
//!     Ok::<_, std::convert::Infallible>(res.body(Body::empty()).unwrap())
//! });
//! let client = FollowRedirectLayer::new(Policy::limited(5)).layer(server);
//!
//! let req = Request::get("http://example.com/old").body(Body::empty()).unwrap();
//! let res = client.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! let history = res.extensions().get::<RedirectHistory>().unwrap();
//! assert_eq!(history.final_url().as_str(), "http://example.com/new");
//! assert_eq!(history.previous()[0].as_str(), "http://example.com/old");
//! # Ok(())
//! # }
//! ```

mod attempt;
mod chain;
mod error;
mod future;
mod history;
mod layer;
mod original;
mod policy;
mod rules;
mod service;
#[cfg(test)]
mod tests;

pub use attempt::{Action, Attempt};
pub use error::{
    InsecureRedirect, InvalidLocation, RedirectLoop, TooManyRedirects, UnsupportedScheme,
};
pub use future::ResponseFuture;
pub use history::{Hop, RedirectHistory};
pub use layer::FollowRedirectLayer;
pub use original::OriginalUri;
pub use policy::{Policy, DEFAULT_MAX_REDIRECTS};
pub use service::FollowRedirect;
