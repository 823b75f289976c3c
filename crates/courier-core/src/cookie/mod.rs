//! Cookies: an RFC 6265 [`Jar`] and the [`CookieManagerLayer`] that uses it (or any other [`CookieStore`]).
//!
//! [`CookieManager`], the service [`CookieManagerLayer`] makes, does two things per request:
//! - if the request has no `Cookie` header, it adds the jar's cookies for the request URL;
//! - it stores the response's `Set-Cookie` headers in the jar, for the request URL.
//!
//! What it does not do: touch a `Cookie` header the request already has (not even to merge), change the
//! body (errors of the inner service become Courier [`Error`](crate::Error)s, as every layer's do), or
//! handle requests whose URI is not absolute (`scheme://authority/...`) —
//! without an origin there is nothing to match cookies against, so those pass through untouched. Put it
//! inside (below) a redirect layer so that every hop is handled.
//!
//! The [`Jar`] is behind an `Arc`: share it between services and clients, inspect it with
//! [`Jar::cookies_for`], persist it with [`Jar::save_json`] and [`Jar::load_json`]. Cookies are represented
//! publicly by the [`cookie`](https://docs.rs/cookie) crate's [`Cookie`] type, re-exported here.
//!
//! A jar with no cookie costs one atomic load per request.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use courier_core::cookie::{CookieManagerLayer, Jar};
//! use http::{header, Request, Response};
//! use tower::ServiceExt;
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A server that sets a cookie on /login and echoes the Cookie header elsewhere.
//! let server = tower::service_fn(|req: Request<()>| async move {
//!     let mut res = Response::new(String::new());
//!     if req.uri().path() == "/login" {
//!         res.headers_mut().append(header::SET_COOKIE, "session=s3cr3t; Path=/; HttpOnly".parse().unwrap());
//!     } else if let Some(cookie) = req.headers().get(header::COOKIE) {
//!         *res.body_mut() = cookie.to_str().unwrap().to_owned();
//!     }
//!     Ok::<_, Infallible>(res)
//! });
//!
//! let jar = Arc::new(Jar::new());
//! let client = CookieManagerLayer::new(jar.clone()).layer(server);
//!
//! let login = Request::get("https://example.com/login").body(()).unwrap();
//! client.clone().oneshot(login).await.unwrap();
//! assert_eq!(jar.len(), 1);
//!
//! let page = Request::get("https://example.com/account").body(()).unwrap();
//! let res = client.oneshot(page).await.unwrap();
//! assert_eq!(res.body(), "session=s3cr3t");
//! # }
//! ```

mod future;
mod jar;
mod layer;
mod matching;
mod parse;
mod service;
mod store;

pub use self::future::ResponseFuture;
pub use self::jar::{Jar, MAX_COOKIES, MAX_COOKIES_PER_DOMAIN, MAX_COOKIE_BYTES};
#[allow(deprecated)]
pub use self::layer::{CookieLayer, CookieManagerLayer};
pub use self::service::CookieManager;
pub use self::store::CookieStore;

/// A cookie, as [`Jar::cookies_for`] returns them: the `cookie` crate's type.
pub use ::cookie::Cookie;
