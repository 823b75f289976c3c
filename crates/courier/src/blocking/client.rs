//! [`Client`] and [`ClientBuilder`] of the blocking API, and the runtime they share with responses.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use super::RequestBuilder;
use crate::{Error, IntoUrl};

/// The runtime a blocking client and its responses run on: one background thread doing the I/O.
pub(super) struct Driver {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Driver {
    fn new() -> Result<Arc<Driver>, Error> {
        outer_runtime()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("courier-blocking")
            .enable_all()
            .build()
            .map_err(Error::builder)?;
        Ok(Arc::new(Driver {
            runtime: Some(runtime),
        }))
    }

    /// Runs `future` to its end, blocking this thread. Inside a multi-threaded runtime (a
    /// `spawn_blocking` closure, or a task) through `block_in_place`: a worker hands its other tasks
    /// to another thread first, and a blocking thread just blocks.
    pub(super) fn wait<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        match outer_runtime()? {
            Outer::None => Ok(runtime.block_on(future)),
            Outer::MultiThread => Ok(tokio::task::block_in_place(|| runtime.block_on(future))),
        }
    }

    fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .enter()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its tasks end, which panics inside another runtime (a
        // client dropped in async code): hand the shutdown to the background instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The async runtime the calling thread is in, if any.
enum Outer {
    None,
    MultiThread,
}

/// Which runtime the caller is in, or the clear error instead of a deadlock or a panic deep inside
/// tokio: a current-thread runtime has no other thread to run its tasks while this one blocks, and
/// tokio gives no way to tell its own thread from one of its `spawn_blocking` threads.
fn outer_runtime() -> Result<Outer, Error> {
    match tokio::runtime::Handle::try_current() {
        Err(_) => Ok(Outer::None),
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            Ok(Outer::MultiThread)
        }
        Ok(_) => Err(Error::builder(
            "the blocking client cannot be used from inside a current-thread async runtime (it \
             would block the runtime's only thread); use courier::Client there, or a multi-threaded \
             runtime",
        )),
    }
}

/// A blocking HTTP client: cheap to clone (clones share the connection pool and the runtime), usable
/// from many threads at once. See the [module docs](super).
#[derive(Clone)]
pub struct Client {
    pub(super) inner: crate::Client,
    pub(super) driver: Arc<Driver>,
}

impl Client {
    /// A client with the default configuration.
    ///
    /// # Panics
    ///
    /// If the client cannot be built (inside a current-thread async runtime, or without threads); use
    /// [`Client::builder`] to get the error instead.
    pub fn new() -> Client {
        Client::builder()
            .build()
            .expect("courier::blocking::Client::new(); use Client::builder().build() for the error")
    }

    /// A [`ClientBuilder`] to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    method_shorthands!(RequestBuilder);

    /// A request with `method` to `url`.
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        RequestBuilder::new(self.clone(), self.inner.request(method, url))
    }

    /// Sends a built request.
    pub fn execute(&self, request: crate::Request) -> Result<super::Response, Error> {
        let inner = self.inner.clone();
        // Built and run on the client's runtime: the stack is called when the future is made.
        let response = self
            .driver
            .wait(async move { inner.execute(request).await })??;
        Ok(super::Response::new(response, self.driver.clone()))
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Client")
            .field("inner", &self.inner)
            .finish()
    }
}

/// Builds a blocking [`Client`]. The common settings are here under reqwest's names; for any other,
/// configure an async [`crate::ClientBuilder`] and convert it with `From`:
///
/// ```no_run
/// let builder = courier::Client::builder().http2_prior_knowledge().pool_max_idle_per_host(4);
/// let client = courier::blocking::ClientBuilder::from(builder).build()?;
/// # drop(client);
/// # Ok::<(), courier::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
    /// `Some(None)`: no timeout; `None`: the blocking default of 30 s.
    timeout: Option<Option<Duration>>,
}

impl From<crate::ClientBuilder> for ClientBuilder {
    fn from(inner: crate::ClientBuilder) -> ClientBuilder {
        // A timeout the async builder already has is kept; none means the blocking default.
        let timeout = inner.timeout.map(Some);
        ClientBuilder { inner, timeout }
    }
}

macro_rules! forward {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ); )*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, $($arg: $ty),*) -> ClientBuilder {
                ClientBuilder { inner: self.inner.$name($($arg),*), ..self }
            }
        )*
    };
}

impl ClientBuilder {
    /// The default configuration, with a 30-second total timeout.
    pub fn new() -> ClientBuilder {
        ClientBuilder::from(crate::Client::builder())
    }

    /// Builds the client and starts its runtime. Fails on invalid configuration, or inside an async
    /// runtime.
    pub fn build(self) -> Result<Client, Error> {
        let driver = Driver::new()?;
        let inner = {
            // Building may spawn the pool's tasks: on this client's runtime.
            let _runtime = driver.enter();
            let builder = match self.timeout {
                None => self.inner.timeout(Duration::from_secs(30)),
                Some(Some(timeout)) => self.inner.timeout(timeout),
                Some(None) => self.inner,
            };
            builder.build()?
        };
        Ok(Client { inner, driver })
    }

    /// The total timeout per request (default 30 s); `None` for none.
    pub fn timeout<T: Into<Option<Duration>>>(mut self, timeout: T) -> ClientBuilder {
        self.timeout = Some(timeout.into());
        self
    }

    /// See [`crate::ClientBuilder::user_agent`].
    pub fn user_agent<V>(self, value: V) -> ClientBuilder
    where
        V: TryInto<http::HeaderValue>,
        V::Error: Into<http::Error>,
    {
        ClientBuilder {
            inner: self.inner.user_agent(value),
            ..self
        }
    }

    /// See [`crate::ClientBuilder::cookie_provider`].
    pub fn cookie_provider<C: crate::cookie::CookieStore + 'static>(
        self,
        store: Arc<C>,
    ) -> ClientBuilder {
        ClientBuilder {
            inner: self.inner.cookie_provider(store),
            ..self
        }
    }

    /// See [`crate::ClientBuilder::retry`].
    pub fn retry<P: Into<crate::retry::RetryPolicy>>(self, policy: P) -> ClientBuilder {
        ClientBuilder {
            inner: self.inner.retry(policy),
            ..self
        }
    }

    /// See [`crate::ClientBuilder::proxy`].
    pub fn proxy(self, proxy: crate::Proxy) -> ClientBuilder {
        ClientBuilder {
            inner: self.inner.proxy(proxy),
            ..self
        }
    }

    forward! {
        /// See [`crate::ClientBuilder::connect_timeout`].
        connect_timeout(timeout: Duration);
        /// See [`crate::ClientBuilder::default_headers`].
        default_headers(headers: HeaderMap);
        /// See [`crate::ClientBuilder::redirect`].
        redirect(policy: crate::redirect::Policy);
        /// See [`crate::ClientBuilder::referer`].
        referer(enabled: bool);
        /// See [`crate::ClientBuilder::cookie_store`].
        cookie_store(enabled: bool);
        /// See [`crate::ClientBuilder::gzip`].
        gzip(enabled: bool);
        /// See [`crate::ClientBuilder::deflate`].
        deflate(enabled: bool);
        /// See [`crate::ClientBuilder::brotli`].
        brotli(enabled: bool);
        /// See [`crate::ClientBuilder::zstd`].
        zstd(enabled: bool);
        /// See [`crate::ClientBuilder::no_proxy`].
        no_proxy();
        /// See [`crate::ClientBuilder::https_only`].
        https_only(enabled: bool);
        /// See [`crate::ClientBuilder::http1_only`].
        http1_only();
        /// See [`crate::ClientBuilder::http2_prior_knowledge`].
        http2_prior_knowledge();
        /// See [`crate::ClientBuilder::add_root_certificate`].
        add_root_certificate(certificate: crate::Certificate);
        /// See [`crate::ClientBuilder::tls_built_in_root_certs`].
        tls_built_in_root_certs(enabled: bool);
        /// See [`crate::ClientBuilder::danger_accept_invalid_certs`].
        danger_accept_invalid_certs(accept: bool);
        /// See [`crate::ClientBuilder::identity`].
        identity(identity: crate::Identity);
        /// See [`crate::ClientBuilder::resolve`].
        resolve(domain: &str, addr: std::net::SocketAddr);
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::ClientBuilder")
            .finish_non_exhaustive()
    }
}
