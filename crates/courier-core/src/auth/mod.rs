//! Answers authentication challenges: HTTP Digest (RFC 7616) on `401` and on a proxy's `407`, and
//! `Basic` for credentials that allow it.
//!
//! [`AuthLayer`] wraps any `Service<http::Request<B>>` whose request body can be rebuilt ([`Default`],
//! [`TryCloneBody`](crate::body::TryCloneBody)). When a response is a `401` with a
//! `WWW-Authenticate` challenge (or a `407` with `Proxy-Authenticate`) and there are credentials for
//! the request, the request is sent again with `Authorization` (or `Proxy-Authorization`).
//!
//! Where credentials come from, for the origin server:
//!
//! - the request's own [`RequestCredentials`] extension, bound to one origin (a redirect elsewhere does
//!   not use them; Courier's `RequestBuilder::digest_auth` sets it);
//! - else the layer's [`CredentialStore`]: per origin, per host, or a default (`.netrc` fills one),
//!   which answers only for the origin the caller asked for, never for a host a redirect leads to
//!   (a hop carries an [`OriginalUri`](crate::redirect::OriginalUri)).
//!
//! A request that already has an `Authorization` header is left alone (and `Proxy-Authorization` for
//! the proxy). Proxy credentials are the layer's ([`AuthLayer::proxy_credentials`]), and answer only
//! for requests the transport forwards to an HTTP proxy in absolute form: an `https` request (inside a
//! tunnel), a `NO_PROXY` host or a client with no proxy talks to its origin, which never gets them.
//! A proxy's Digest challenge to the `CONNECT` that opens a tunnel is answered by the transport
//! itself, with the proxy's own credentials ([`Proxy::basic_auth`](crate::transport::Proxy::basic_auth)
//! or its URL) and the code of this module.
//!
//! Digest, as RFC 7616 has it:
//!
//! - **Algorithms**: `MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`, `SHA-512-256`, `SHA-512-256-sess`;
//!   among several challenges the strongest is answered.
//! - **qop**: `auth`; `auth-int` (which covers the body) when it is the only one offered and the body
//!   is in memory; no `qop` (RFC 2069) too.
//! - **Nonce counting**: the layer remembers the last challenge per origin (and per proxy) and
//!   credentials, shared by every clone of the service, and answers it on later requests with the
//!   same credentials before being asked, with `nc` going up. Other credentials for the same origin
//!   (another user) start a challenge-response of their own.
//! - **Stale nonces**: a `401` with `stale=true` is answered again with the new nonce.
//! - **`userhash`**, and user names that are not ASCII (`username*`).
//! - **Wrong credentials**: a fresh answer refused without `stale` returns that `401` to the caller:
//!   no loop. At most three more sends per request.
//!
//! `Basic` is answered only with credentials made with [`Credentials::allow_basic`], only when no
//! Digest challenge can be answered, and once.
//!
//! Credentials never appear in `Debug` output, and the headers made here are marked sensitive. A body
//! that is a stream cannot be sent twice: its challenge is returned as it is (unless a remembered
//! challenge was answered before being asked).
//!
//! Stack it *below* the redirect layer (each hop is a request of its own, authenticated to its own
//! origin) and above the retry and cookie layers.
//!
//! ```
//! use courier_core::auth::{AuthLayer, CredentialStore, Credentials};
//! use courier_core::Body;
//! use http::{header, Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), courier_core::Error> {
//! // A server that wants any Digest answer.
//! let server = service_fn(|req: Request<Body>| async move {
//!     let res = match req.headers().get(header::AUTHORIZATION) {
//!         Some(answer) if answer.to_str().unwrap().starts_with("Digest username=\"ada\"") => {
//!             Response::new(())
//!         }
//!         _ => Response::builder()
//!             .status(StatusCode::UNAUTHORIZED)
//!             .header(header::WWW_AUTHENTICATE, r#"Digest realm="docs", nonce="abc", qop="auth""#)
//!             .body(())
//!             .unwrap(),
//!     };
//!     Ok::<_, std::convert::Infallible>(res)
//! });
//! let store = CredentialStore::new().host("example.com", Credentials::new("ada", "lovelace"));
//! let client = AuthLayer::new(store).layer(server);
//!
//! let req = Request::get("http://example.com/private").body(Body::empty()).unwrap();
//! assert_eq!(client.oneshot(req).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

mod basic;
mod challenge;
mod credentials;
mod digest;
mod future;
mod handshake;
mod layer;
pub mod netrc;
mod party;
mod service;
mod session;
#[cfg(test)]
mod tests;

pub use basic::basic_header;
pub(crate) use challenge::Challenge;
pub(crate) use credentials::secret_hash;
pub use credentials::{CredentialStore, Credentials, Origin, RequestCredentials};
pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub(crate) use party::Party;
pub use service::Auth;

/// The former name of [`Auth`].
#[deprecated(note = "renamed `Auth` (a `FooLayer` makes a `Foo<S>`: `AuthLayer` makes `Auth<S>`)")]
pub type Authenticate<S> = Auth<S>;
pub(crate) use session::Sessions;
