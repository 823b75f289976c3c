//! # courier-core
//!
//! The building blocks of the [Courier](https://docs.rs/courier) HTTP client: a pooled transport and one
//! tower [`Layer`](tower_layer::Layer) per concern. Each layer works on its own around any
//! `Service<http::Request<B>>` — the [`Transport`](transport::Transport), hyper-util's client, Courier's
//! `Client`, or a service of your own — and composes with any other tower layer (timeouts, retries,
//! rate limits, tracing).
//!
//! | module | layer | what it does |
//! | --- | --- | --- |
//! | [`user_agent`] | `UserAgentLayer` | sets `User-Agent` when the request has none |
//! | [`accept_language`] | `AcceptLanguageLayer` | sets `Accept-Language` from a validated list with q-values |
//! | [`decompression`] | `DecompressionLayer` | advertises `Accept-Encoding`, decodes gzip / deflate / br / zstd as a stream |
//! | [`cookie`] | `CookieLayer` | stores `Set-Cookie` in an RFC 6265 [`Jar`](cookie::Jar), sends `Cookie` |
//! | [`redirect`] | `FollowRedirectLayer` | follows 3xx responses under a [`Policy`](redirect::Policy) |
//! | [`cache`] | `CacheLayer` | a private HTTP cache (RFC 9111), in memory or on disk (opt-in) |
//! | [`auth`] | `AuthLayer` | answers 401/407 challenges: HTTP Digest (RFC 7616), Basic where allowed |
//! | [`retry`] | `RetryLayer` | retries connect errors, resets and 429/503 with backoff and a budget (opt-in) |
//! | [`timeout`] | `TimeoutLayer` | a total timeout, a read timeout that leaves out uploads, a minimum speed |
//! | [`transport`] | — | the pooled HTTP/1.1 + HTTP/2 client, plain and TLS |
//!
//! ## The default stack, and why in this order
//!
//! Courier's `Client` composes them, outermost first:
//!
//! ```text
//! Timeout → FollowRedirect → Cache → Auth → Retry → Cookie → UserAgent → AcceptLanguage → Decompression → Transport
//! ```
//!
//! - **Timeout outermost** (a pass-through unless configured): the total timeout covers every hop, retry
//!   and challenge answered below it, and the read timeout the wait for the final response head.
//! - **Redirect next**: every hop is a fresh request that travels down through all the other layers,
//!   so each hop gets its own user agent, `Accept-Encoding` and decoding, and the cookie layer sees every
//!   hop.
//! - **Cache** (off unless configured) right below it: each hop is a hit or a miss of its own, so a
//!   stored `301` and the page it leads to can both be answered without a request; everything below it
//!   (auth, retry, cookies, decoding) happens only for what goes to the network, and the cache stores
//!   decoded bodies.
//! - **Auth** below it: each hop answers the challenges of its own origin, with that origin's
//!   credentials; a challenge answered is a new attempt that goes through retry and cookies.
//! - **Retry** (off unless configured) below it: each hop is retried on its own, and each attempt goes
//!   through the cookie layer, so it carries fresh cookies and a refused attempt's `Set-Cookie` is kept.
//! - **Cookie next**: it must see each hop's request (to add the cookies for *that* URL, after the redirect
//!   layer stripped the previous origin's `Cookie`) and each hop's response (a login that sets a cookie and
//!   redirects must have the cookie stored before the next hop is sent).
//! - **User-Agent and Accept-Language**: plain header setters; anywhere below the redirect layer works.
//! - **Decompression innermost**: it must see the raw response and its `Content-Encoding`, and its decoded
//!   body is what every layer above streams through.
//!
//! ```
//! use courier_core::{transport::Transport, Body};
//! use tower_layer::Layer;
//!
//! let transport: Transport<Body> = Transport::builder().build().unwrap();
//! let stack = courier_core::user_agent::UserAgentLayer::new("my-app/1.0").layer(transport);
//! # drop(stack);
//! ```

#![warn(missing_docs)]

pub mod body;
pub mod error;
#[doc(hidden)]
pub mod header_text;
#[doc(hidden)]
pub mod headers;
pub mod transport;
#[doc(hidden)]
pub mod urls;

pub mod accept_language;
pub mod auth;
pub mod cache;
pub mod cookie;
pub mod decompression;
pub mod redirect;
pub mod retry;
pub mod timeout;
pub mod user_agent;

pub use body::Body;
pub use error::{BoxError, Error, Result};
