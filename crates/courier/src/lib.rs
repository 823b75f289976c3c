//! # Courier
//!
//! An async HTTP client for tokio, built on hyper and tower, and shaped like `reqwest`.
//!
//! ```no_run
//! # async fn run() -> Result<(), courier::Error> {
//! let client = courier::Client::new();
//! let response = client
//!     .get("http://127.0.0.1:8080/search")
//!     .query(&[("q", "rust")])
//!     .send()
//!     .await?
//!     .error_for_status()?;
//! println!("{} {}", response.status(), response.text().await?);
//! # Ok(())
//! # }
//! ```
//!
//! The client is a stack of tower layers from [`courier_core`] over a pooled transport; the same layers
//! are there to build your own stack, and [`Client`] is itself a `tower::Service`.

#![warn(missing_docs)]

/// The per-method shorthands of a client (`get`, `post`, ...): each starts `self.request` with its
/// method. Written once for the async and the blocking client.
macro_rules! method_shorthands {
    // reqwest's six.
    ($builder:ty) => {
        method_shorthands!($builder:
            get => GET,
            post => POST,
            put => PUT,
            patch => PATCH,
            delete => DELETE,
            head => HEAD,
        );
    };
    ($builder:ty: $($name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("Starts a `", stringify!($method), "` request to `url`.")]
            pub fn $name<U: IntoUrl>(&self, url: U) -> $builder {
                self.request(Method::$method, url)
            }
        )*
    };
}

mod client;
pub mod download;
mod into_url;
mod lazy_url;
mod lines;
mod link;
pub mod multipart;
mod reader;
mod request;
mod response;
mod text;

pub use client::{Client, ClientBuilder, Pending};
pub use courier_core::accept_language::AcceptLanguage;
pub use courier_core::transport::tls::{Certificate, Identity};
pub use courier_core::transport::{
    ConnectionInfo, Exchange, Fate, HostStats, NoProxy, PoolStats, Proxy, Timings,
};
pub use courier_core::{Body, Error, Result};
pub use http::{header, Method, StatusCode, Version};
pub use into_url::IntoUrl;
pub use lines::{Lines, DEFAULT_MAX_LINE_LENGTH};
pub use link::{Link, Links};
pub use reader::BodyReader;
pub use request::{Request, RequestBuilder};
pub use response::{BytesStream, Response, ResponseBuilderExt, Upgraded};
pub use url::Url;

#[cfg(feature = "blocking")]
pub mod blocking;
pub mod cookie;

/// The HTTP cache: [`cache::Cache`], used with [`ClientBuilder::cache`]; see
/// [`courier_core::cache`] for what is cached and what is not.
pub mod cache {
    #[allow(deprecated)]
    pub use courier_core::cache::CacheLayer;
    pub use courier_core::cache::{Cache, CacheMode, CacheStatus, CachingLayer};
}

/// Redirect policies: [`redirect::Policy`], used with [`ClientBuilder::redirect`].
pub mod redirect {
    pub use courier_core::redirect::{
        Action, Attempt, Hop, InsecureRedirect, InvalidLocation, Policy, RedirectHistory,
        RedirectLoop, TooManyRedirects, UnsupportedScheme,
    };
}

/// Retry policies: [`retry::RetryPolicy`], used with [`ClientBuilder::retry`].
pub mod retry {
    pub use courier_core::retry::{
        for_host, never, Action, Builder, ReqRep, RetryBudget, RetryPolicy,
    };
}

/// TLS: certificates to trust, a client identity, revocation lists, versions, and what a handshake
/// showed ([`tls::TlsInfo`]). Which certificates are trusted by default: see
/// [`courier_core::transport::tls`].
pub mod tls {
    pub use courier_core::transport::tls::{
        Certificate, CertificateRevocationList, Identity, TlsInfo, Version,
    };
}

/// DNS: the [`dns::Resolve`] trait for [`ClientBuilder::dns_resolver`], and the resolvers Courier has.
pub mod dns {
    #[cfg(feature = "hickory-dns")]
    pub use courier_core::transport::dns::HickoryResolver;
    pub use courier_core::transport::dns::{
        Addrs, GaiResolver, IntoResolve, InvalidNameError, Name, Resolve, Resolving,
    };
}

/// Proxies: [`Proxy`], [`NoProxy`], and [`proxy::IntoProxy`] for the URL types a proxy is given as.
pub mod proxy {
    pub use courier_core::transport::{IntoProxy, NoProxy, Proxy};
}

/// The connector as [`ClientBuilder::connector_layer`] wraps it, and the paths
/// [`ClientBuilder::unix_socket`] takes.
pub mod connect {
    pub use courier_core::transport::{BoxedConnector, Connected, Io, Stream};

    use std::borrow::Cow;
    use std::ffi::{OsStr, OsString};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// A Unix socket's path, as [`ClientBuilder::unix_socket`](crate::ClientBuilder::unix_socket)
    /// takes it: what converts into a `PathBuf` (`&str`, `String`, `&Path`, `PathBuf`, ...) and, as
    /// in reqwest, an `Arc<Path>`. Sealed: implemented for those types only.
    ///
    /// ```
    /// use std::path::Path;
    /// use std::sync::Arc;
    ///
    /// let path: Arc<Path> = Path::new("/run/app.sock").into();
    /// let client = courier::Client::builder().unix_socket(path).build().unwrap();
    /// # drop(client);
    /// ```
    pub trait UnixSocketPath: sealed::Sealed {
        /// The path.
        fn into_path_buf(self) -> PathBuf;
    }

    mod sealed {
        pub trait Sealed {}
    }

    macro_rules! unix_socket_paths {
        ($([$($generics:tt)*] $ty:ty => |$path:ident| $into:expr,)*) => {$(
            impl<$($generics)*> sealed::Sealed for $ty {}
            impl<$($generics)*> UnixSocketPath for $ty {
                fn into_path_buf(self) -> PathBuf {
                    let $path = self;
                    $into
                }
            }
        )*};
    }

    // `&T` covers `&str`, `&String`, `&Path`, `&PathBuf`, `&OsStr`: what `PathBuf: From<&T>` takes.
    unix_socket_paths! {
        [T: AsRef<OsStr> + ?Sized] &T => |path| PathBuf::from(path),
        [] String => |path| PathBuf::from(path),
        [] PathBuf => |path| path,
        [] OsString => |path| PathBuf::from(path),
        [] Box<Path> => |path| PathBuf::from(path),
        ['a] Cow<'a, Path> => |path| PathBuf::from(path),
        [] Arc<Path> => |path| path.to_path_buf(),
    }
}

/// The error types, for naming `BoxError` in your own layers.
pub mod error {
    pub use courier_core::error::{BoxError, Error, Result};
}

/// Sends a `GET` with a default client: for one-off requests. Keep a [`Client`] for more.
///
/// ```no_run
/// # async fn run() -> Result<(), courier::Error> {
/// let text = courier::get("http://127.0.0.1:8080/").await?.text().await?;
/// # drop(text);
/// # Ok(())
/// # }
/// ```
pub async fn get<U: IntoUrl>(url: U) -> Result<Response> {
    Client::builder().build()?.get(url).send().await
}
