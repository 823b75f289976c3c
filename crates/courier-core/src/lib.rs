//! # courier-core
//!
//! The building blocks of the [Courier](https://docs.rs/courier) HTTP client: a pooled transport and one
//! tower [`Layer`](tower_layer::Layer) per concern. Each layer works on its own around any
//! `Service<http::Request<B>>` — the [`Transport`](transport::Transport), hyper-util's client, Courier's
//! `Client`, or a service of your own — and composes with any other tower layer (timeouts, retries,
//! rate limits, tracing).
//!
//! | module | layer → service | what it does |
//! | --- | --- | --- |
//! | [`user_agent`] | `UserAgentLayer` → `UserAgent` | sets `User-Agent` when the request has none |
//! | [`accept_language`] | `SetAcceptLanguageLayer` → `SetAcceptLanguage` | sets `Accept-Language` from a validated list with q-values |
//! | [`decompression`] | `DecompressionLayer` → `Decompression` | advertises `Accept-Encoding`, decodes gzip / deflate / br / zstd as a stream |
//! | [`cookie`] | `CookieManagerLayer` → `CookieManager` | stores `Set-Cookie` in an RFC 6265 [`Jar`](cookie::Jar), sends `Cookie` |
//! | [`redirect`] | `FollowRedirectLayer` → `FollowRedirect` | follows 3xx responses under a [`Policy`](redirect::Policy) |
//! | [`cache`] | `CachingLayer` → `Caching` | a private HTTP cache (RFC 9111), in memory or on disk (opt-in) |
//! | [`auth`] | `AuthLayer` → `Auth` | answers 401/407 challenges: HTTP Digest (RFC 7616), Basic where allowed |
//! | [`retry`] | `RetryLayer` → `Retry` | retries connect errors, resets and 429/503 with backoff and a budget (opt-in) |
//! | [`timeout`] | `TimeoutLayer` → `Timeout` | a total timeout, a read timeout that leaves out uploads the server is taking, a minimum speed |
//! | [`transport`] | — | the pooled HTTP/1.1 + HTTP/2 client, plain and TLS |
//!
//! ## Names
//!
//! One pattern, tower's and tower-http's: the layer `FooLayer` makes the service `Foo<S>`, whose
//! future is the module's `ResponseFuture` and whose response body, when it wraps one, is a `…Body`
//! (`DecompressionBody`, `CacheBody`, `TimeoutBody`). `Foo` says what the service does, as
//! tower-http's names do: the concern where that name is free (`Decompression`, `Retry`, `Timeout`),
//! a verb or the doing where the concern already names the value the layer is built from
//! (`SetAcceptLanguage` sets an [`AcceptLanguage`](accept_language::AcceptLanguage), `Caching` keeps
//! responses in a [`Cache`](cache::Cache)). Every service has `get_ref`, `get_mut` and `into_inner`.
//! The former names `AcceptLanguageLayer`, `CookieLayer`, `CacheLayer` and `auth::Authenticate`
//! remain as deprecated aliases.
//!
//! ## Errors
//!
//! Every service here answers with Courier's [`Error`], whatever the inner service's error: it is
//! converted with [`Error::from_service`] (a response body's with [`Error::from_body`]), which keeps a
//! Courier error as it is and classifies any other (a timeout anywhere in its causes is a timeout, a
//! refused connection a connect error), keeping it as the cause. Decided once, for every layer,
//! because:
//!
//! - most layers make errors of their own (a redirect loop, a corrupt gzip stream, a deadline), which
//!   need a type the inner service's cannot be; converting in every layer, not only in those, means
//!   that adding, removing or moving a layer never changes a stack's error type;
//! - what callers and the layers above ask of an error (`is_timeout`, `is_connect`, its URL, whether the
//!   request may be sent again: [`Error::fate`]) can then be asked of any stack's error, and the retry
//!   layer classifies an inner failure wherever it sits;
//! - it costs nothing on the way to a response: a `map_err`, run on errors only.
//!
//! ## The default stack, and why in this order
//!
//! Courier's `Client` composes them, outermost first:
//!
//! ```text
//! Timeout → FollowRedirect → UserAgent → SetAcceptLanguage → Caching → Retry → Auth → CookieManager → Decompression → Timeout (read) → Transport
//! ```
//!
//! - **Timeout outermost** (a pass-through unless configured): the total timeout and minimum speed
//!   cover every hop, retry and challenge answered below them. The read timeout is a second instance
//!   right above the transport: it times each attempt's own wait for its head (a redirect chain of
//!   slow hops, or a retry waiting out `Retry-After`, is no silence of the server) and the gaps
//!   between the network's bytes, before decoding.
//! - **Redirect next**: every hop is a fresh request that travels down through all the other layers,
//!   so each hop gets its own user agent, `Accept-Encoding` and decoding, and the cookie layer sees every
//!   hop.
//! - **User-Agent and Accept-Language** above the cache: a stored response that varies on them
//!   (`Vary: Accept-Language`) is matched against the values this client sends, also when clients
//!   with different settings share one cache.
//! - **Cache** (off unless configured) below them: each hop is a hit or a miss of its own, so a
//!   stored `301` and the page it leads to can both be answered without a request; everything below it
//!   (retry, auth, cookies, decoding) happens only for what goes to the network, and the cache stores
//!   decoded bodies.
//! - **Retry** (off unless configured) below it: each hop is retried on its own, and each attempt goes
//!   through auth, so its credentials are answered anew: a Digest answer's nonce count is never sent
//!   twice (RFC 7616 3.4: a server takes a repeated one for a replay and refuses it).
//! - **Auth** below it: each hop answers the challenges of its own origin, with that origin's
//!   credentials; every attempt, and every challenge answered, goes through the cookie layer, so it
//!   carries fresh cookies and a refused attempt's `Set-Cookie` is kept.
//! - **Cookie next**: it must see each hop's request (to add the cookies for *that* URL, after the redirect
//!   layer stripped the previous origin's `Cookie`) and each hop's response (a login that sets a cookie and
//!   redirects must have the cookie stored before the next hop is sent).
//! - **Decompression innermost of the concerns** (only the read timeout sits below it, timing the wire): it must see the raw response and its `Content-Encoding`, and its decoded
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

/// `get_ref`, `get_mut` and `into_inner` of a service that wraps `inner: S`, as tower-http's
/// `define_inner_service_accessors!`: every service of this crate has the three.
macro_rules! inner_service_accessors {
    () => {
        /// The wrapped service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Unwraps the inner service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

/// The `Service` impl of a layer's service that only sets one header, `$header`, to its
/// `value: Option<HeaderValue>` on requests that have none (`user_agent`, `accept_language`).
macro_rules! set_header_if_absent_service {
    ($service:ident, $header:expr) => {
        impl<S, B> tower_service::Service<http::Request<B>> for $service<S>
        where
            S: tower_service::Service<http::Request<B>>,
            S::Error: Into<$crate::error::BoxError>,
        {
            type Response = S::Response;
            type Error = $crate::error::Error;
            type Future = $crate::request_only::ResponseFuture<S::Future>;

            fn poll_ready(
                &mut self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                self.inner
                    .poll_ready(cx)
                    .map_err($crate::error::Error::from_service)
            }

            fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
                if let Some(value) = &self.value {
                    $crate::headers::insert_if_absent(req.headers_mut(), $header, value);
                }
                $crate::request_only::ResponseFuture::new(self.inner.call(req))
            }
        }
    };
}

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
mod hex;
pub mod redirect;
mod request_only;
mod resend;
pub mod retry;
pub mod timeout;
pub mod user_agent;

pub use body::Body;
pub use error::{BoxError, Error, Result};
