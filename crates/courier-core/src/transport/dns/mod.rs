//! Name resolution: the [`Resolve`] trait (reqwest's), the system resolver behind it by default, and
//! per-host overrides like curl's `--resolve`.
//!
//! A request's host goes first to the overrides (`resolve`, `resolve_to_addrs`), then to the
//! resolver: `getaddrinfo` on tokio's blocking pool by default, hickory-resolver with the
//! `hickory-dns` feature (by default then, as reqwest's; `hickory_dns(false)` goes back to
//! `getaddrinfo`), or your own with `dns_resolver`. A name no resolver
//! can answer, or that resolves to no address, fails with an error for which
//! [`Error::is_dns`](crate::Error::is_dns) (and `is_connect`) holds.
//!
//! Ports: a port in the URL always wins; otherwise a resolved address keeps its port unless it is
//! `0`, which becomes the scheme's (80 or 443).
//!
//! ```
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use courier_core::transport::dns::{Addrs, Name, Resolve, Resolving};
//! use courier_core::transport::Transport;
//!
//! /// Sends every `*.internal` name to one address, and refuses the rest.
//! struct Internal(SocketAddr);
//!
//! impl Resolve for Internal {
//!     fn resolve(&self, name: Name) -> Resolving {
//!         let answer = self.0;
//!         Box::pin(async move {
//!             if name.as_str().ends_with(".internal") {
//!                 Ok(Box::new(std::iter::once(answer)) as Addrs)
//!             } else {
//!                 Err(format!("{} is not internal", name.as_str()).into())
//!             }
//!         })
//!     }
//! }
//!
//! let transport: Transport = Transport::builder()
//!     .dns_resolver(Arc::new(Internal("127.0.0.1:0".parse().unwrap())))
//!     .build()
//!     .unwrap();
//! # drop(transport);
//! ```
//!
//! What it does not do: cache answers (the system resolver and the pool's reuse of connections do),
//! or pick among addresses (the `tcp` module's Happy Eyeballs does).

mod gai;
#[cfg(feature = "hickory-dns")]
mod hickory;
mod resolver;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::BoxError;

pub use gai::GaiResolver;
#[cfg(feature = "hickory-dns")]
pub use hickory::HickoryResolver;
pub(crate) use resolver::Resolver;

/// The addresses a name resolved to.
pub type Addrs = Box<dyn Iterator<Item = SocketAddr> + Send>;

/// The future a [`Resolve`] returns.
pub type Resolving = Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>>;

/// Resolves host names to addresses; give one to `dns_resolver`.
///
/// Unlike a `tower::Service<Name>`, it is always ready and takes `&self`, so one resolver serves every
/// connection at once. An error, or no address at all, makes the request fail with
/// [`Error::is_dns`](crate::Error::is_dns).
pub trait Resolve: Send + Sync {
    /// The addresses of `name`. Port `0` means "the URL's or the scheme's port".
    fn resolve(&self, name: Name) -> Resolving;
}

/// A host name to resolve (never an IP address: those are not resolved).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name(Box<str>);

impl Name {
    /// The name, lowercase, as in the URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Name {
    type Err = InvalidNameError;

    /// Any non-empty host, as a URL would carry it.
    ///
    /// ```
    /// use courier_core::transport::dns::Name;
    ///
    /// assert_eq!("example.com".parse::<Name>().unwrap().as_str(), "example.com");
    /// assert!("".parse::<Name>().is_err());
    /// assert!("a b".parse::<Name>().is_err());
    /// ```
    fn from_str(host: &str) -> Result<Name, InvalidNameError> {
        let valid = !host.is_empty()
            && host.len() <= 255
            && host.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
        if valid {
            Ok(Name(host.into()))
        } else {
            Err(InvalidNameError(()))
        }
    }
}

/// The string given to `Name::from_str` is no host name.
#[derive(Debug)]
pub struct InvalidNameError(());

impl fmt::Display for InvalidNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid host name")
    }
}

impl std::error::Error for InvalidNameError {}

/// A configured resolver, printable in the builder's `Debug`.
#[derive(Clone)]
pub(crate) struct DynResolve(pub(crate) Arc<dyn Resolve>);

impl fmt::Debug for DynResolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Resolve")
    }
}

/// What `dns_resolver` accepts: an `Arc` of a [`Resolve`], or a resolver itself.
pub trait IntoResolve {
    #[doc(hidden)]
    fn into_resolve(self) -> Arc<dyn Resolve>;
}

impl IntoResolve for Arc<dyn Resolve> {
    fn into_resolve(self) -> Arc<dyn Resolve> {
        self
    }
}

impl<R: Resolve + 'static> IntoResolve for Arc<R> {
    fn into_resolve(self) -> Arc<dyn Resolve> {
        self
    }
}

impl<R: Resolve + 'static> IntoResolve for R {
    fn into_resolve(self) -> Arc<dyn Resolve> {
        Arc::new(self)
    }
}
