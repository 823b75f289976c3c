//! [`Client`] and [`ClientBuilder`] of the blocking API, and the runtime they share with responses.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};

use super::RequestBuilder;
use crate::{Error, IntoUrl};

/// The runtime a blocking client and its responses run on: one background thread doing the I/O; or
/// none, for a response made from an `http::Response`.
pub(super) struct Driver {
    runtime: Option<tokio::runtime::Runtime>,
}

/// The blocking client's timeout when none is set (reqwest's).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Driver {
    pub(super) fn new() -> Result<Arc<Driver>, Error> {
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
        let Some(runtime) = self.runtime.as_ref() else {
            return park_until_ready(future);
        };
        match outer_runtime()? {
            Outer::None => Ok(runtime.block_on(future)),
            Outer::MultiThread => Ok(tokio::task::block_in_place(|| runtime.block_on(future))),
        }
    }

    /// Runs `future` as [`Driver::wait`] does, for at most `limit`: the blocking client's timeout,
    /// which bounds each wait (as reqwest's does) rather than the whole exchange. Past it, a timeout
    /// error naming `url`.
    pub(super) fn wait_at_most<T, F>(
        &self,
        future: F,
        limit: Option<Duration>,
        url: &url::Url,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        match limit {
            // Without a runtime there is no timer: such bodies are in memory or fed by other threads.
            Some(limit) if self.runtime.is_some() => self
                .wait(async move { tokio::time::timeout(limit, future).await })?
                .unwrap_or_else(|_| {
                    Err(Error::timeout("the blocking client's timeout elapsed")
                        .with_url(url.clone()))
                }),
            _ => self.wait(future)?,
        }
    }

    fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .enter()
    }
}

impl Driver {
    /// No runtime: futures are polled on the waiting thread, which parks between polls (as reqwest's
    /// blocking responses are read). For bodies in memory or fed by other threads, which need no
    /// reactor.
    pub(super) fn none() -> Arc<Driver> {
        Arc::new(Driver { runtime: None })
    }
}

/// Polls `future` on this thread until it is ready, parking the thread while it waits (for a body
/// in memory, or fed by another thread). One that must wait inside a current-thread runtime is an
/// error instead: what would wake it may need the very thread parked (a live response's body).
fn park_until_ready<F: Future>(future: F) -> Result<F::Output, Error> {
    struct Unpark(std::thread::Thread);

    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
        outer_runtime()?;
        std::thread::park();
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
    /// How long each wait may take (see [`ClientBuilder::timeout`]).
    pub(super) timeout: Option<Duration>,
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
    pub fn execute(&self, request: super::Request) -> Result<super::Response, Error> {
        // The request's own timeout (also a total, in the async client) is its limit per wait too.
        let timeout = request.timeout().copied().or(self.timeout);
        let url = request.url().clone();
        let inner = self.inner.clone();
        // Built and run on the client's runtime: the stack is called when the future is made.
        let response =
            self.driver
                .wait_at_most(async move { inner.execute(request).await }, timeout, &url)?;
        Ok(super::Response::new(response, self.driver.clone(), timeout))
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

/// Builds a blocking [`Client`]: every setting of the async [`crate::ClientBuilder`], under the same
/// names (reqwest's), with a 30-second timeout on each wait by default (see
/// [`ClientBuilder::timeout`]). An async builder converts with
/// `From`:
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
        // A timeout the async builder already has becomes the blocking one (per wait, not in total);
        // none means the blocking default.
        let mut inner = inner;
        let timeout = inner.timeout.take().map(Some);
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
    /// The default configuration, with a 30-second timeout on each wait.
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
            self.inner.build()?
        };
        Ok(Client {
            inner,
            driver,
            timeout: self.timeout.unwrap_or(Some(DEFAULT_TIMEOUT)),
        })
    }

    /// How long each wait may take (default 30 s; `None` for no limit), as reqwest's blocking
    /// timeout: sending, up to the response head; each `read` of the body, and each chunk of
    /// [`Response::copy_to`](super::Response::copy_to); the whole of `bytes()`, `text()` or `json()`,
    /// from its call. A body that keeps arriving is read in full however long it takes. A request's
    /// own [`timeout`](super::RequestBuilder::timeout) replaces it, and is also a total for that
    /// request, body included.
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

    /// The deadline for establishing a connection (see
    /// [`crate::ClientBuilder::connect_timeout`]); `None` leaves it as it is (none by default), as
    /// reqwest's.
    pub fn connect_timeout<T: Into<Option<Duration>>>(self, timeout: T) -> ClientBuilder {
        match timeout.into() {
            Some(timeout) => ClientBuilder {
                inner: self.inner.connect_timeout(timeout),
                ..self
            },
            None => self,
        }
    }

    /// See [`crate::ClientBuilder::connector_layer`].
    pub fn connector_layer<L>(self, layer: L) -> ClientBuilder
    where
        L: tower_layer::Layer<crate::connect::BoxedConnector> + Send + Sync + 'static,
        L::Service: tower_service::Service<http::Uri, Response = crate::connect::Connected>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<http::Uri>>::Error: Into<crate::error::BoxError>,
        <L::Service as tower_service::Service<http::Uri>>::Future: Send + 'static,
    {
        ClientBuilder {
            inner: self.inner.connector_layer(layer),
            ..self
        }
    }

    /// See [`crate::ClientBuilder::on_exchange`].
    pub fn on_exchange<F>(self, observer: F) -> ClientBuilder
    where
        F: Fn(&crate::Exchange<'_>) + Send + Sync + 'static,
    {
        ClientBuilder {
            inner: self.inner.on_exchange(observer),
            ..self
        }
    }

    // Every other setting of the async builder, under the same name.
    forward! {
        /// See [`crate::ClientBuilder::default_headers`].
        default_headers(headers: HeaderMap);
        /// See [`crate::ClientBuilder::redirect`].
        redirect(policy: crate::redirect::Policy);
        /// See [`crate::ClientBuilder::referer`].
        referer(enabled: bool);
        /// See [`crate::ClientBuilder::no_user_agent`].
        no_user_agent();
        /// See [`crate::ClientBuilder::cookie_store`].
        cookie_store(enabled: bool);
        /// See [`crate::ClientBuilder::digest_auth`].
        digest_auth(url: impl IntoUrl, username: impl Into<String>, password: impl Into<String>);
        /// See [`crate::ClientBuilder::proxy_digest_auth`].
        proxy_digest_auth(username: impl Into<String>, password: impl Into<String>);
        /// See [`crate::ClientBuilder::netrc`].
        netrc(enabled: bool);
        /// See [`crate::ClientBuilder::cache`].
        cache(cache: crate::cache::Cache);
        /// See [`crate::ClientBuilder::gzip`].
        gzip(enabled: bool);
        /// See [`crate::ClientBuilder::deflate`].
        deflate(enabled: bool);
        /// See [`crate::ClientBuilder::brotli`].
        brotli(enabled: bool);
        /// See [`crate::ClientBuilder::zstd`].
        zstd(enabled: bool);
        /// See [`crate::ClientBuilder::no_decompression`].
        no_decompression();
        /// See [`crate::ClientBuilder::no_gzip`].
        no_gzip();
        /// See [`crate::ClientBuilder::no_brotli`].
        no_brotli();
        /// See [`crate::ClientBuilder::no_zstd`].
        no_zstd();
        /// See [`crate::ClientBuilder::no_deflate`].
        no_deflate();
        /// See [`crate::ClientBuilder::max_decompressed_size`].
        max_decompressed_size(limit: impl Into<Option<u64>>);
        /// See [`crate::ClientBuilder::max_decompression_ratio`].
        max_decompression_ratio(ratio: impl Into<Option<u32>>);
        /// See [`crate::ClientBuilder::accept_language`].
        accept_language(languages: crate::AcceptLanguage);
        /// See [`crate::ClientBuilder::no_proxy`].
        no_proxy();
        /// See [`crate::ClientBuilder::read_timeout`].
        read_timeout(timeout: Duration);
        /// See [`crate::ClientBuilder::min_speed`].
        min_speed(bytes_per_sec: u64, window: Duration);
        /// See [`crate::ClientBuilder::pool_idle_timeout`].
        pool_idle_timeout(timeout: impl Into<Option<Duration>>);
        /// See [`crate::ClientBuilder::pool_max_idle_per_host`].
        pool_max_idle_per_host(max: usize);
        /// See [`crate::ClientBuilder::pool_max_connections_per_host`].
        pool_max_connections_per_host(max: usize);
        /// See [`crate::ClientBuilder::pool_max_connections`].
        pool_max_connections(max: usize);
        /// See [`crate::ClientBuilder::resolve`].
        resolve(host: &str, addr: std::net::SocketAddr);
        /// See [`crate::ClientBuilder::resolve_to_addrs`].
        resolve_to_addrs(host: &str, addrs: &[std::net::SocketAddr]);
        /// See [`crate::ClientBuilder::dns_resolver`].
        dns_resolver(resolver: impl crate::dns::IntoResolve);
        /// See [`crate::ClientBuilder::dns_resolver2`].
        dns_resolver2(resolver: impl crate::dns::IntoResolve);
        /// See [`crate::ClientBuilder::hickory_dns`].
        hickory_dns(enabled: bool);
        /// See [`crate::ClientBuilder::no_hickory_dns`].
        no_hickory_dns();
        /// See [`crate::ClientBuilder::trust_dns`].
        trust_dns(enabled: bool);
        /// See [`crate::ClientBuilder::no_trust_dns`].
        no_trust_dns();
        /// See [`crate::ClientBuilder::local_address`].
        local_address(addr: impl Into<Option<std::net::IpAddr>>);
        /// See [`crate::ClientBuilder::tcp_nodelay`].
        tcp_nodelay(enabled: bool);
        /// See [`crate::ClientBuilder::tcp_keepalive`].
        tcp_keepalive(time: impl Into<Option<Duration>>);
        /// See [`crate::ClientBuilder::tcp_keepalive_interval`].
        tcp_keepalive_interval(interval: impl Into<Option<Duration>>);
        /// See [`crate::ClientBuilder::tcp_keepalive_retries`].
        tcp_keepalive_retries(retries: impl Into<Option<u32>>);
        /// See [`crate::ClientBuilder::tcp_user_timeout`].
        tcp_user_timeout(timeout: impl Into<Option<Duration>>);
        /// See [`crate::ClientBuilder::interface`].
        interface(interface: &str);
        /// See [`crate::ClientBuilder::unix_socket`].
        unix_socket(path: impl crate::connect::UnixSocketPath);
        /// See [`crate::ClientBuilder::connection_verbose`].
        connection_verbose(enabled: bool);
        /// See [`crate::ClientBuilder::http1_only`].
        http1_only();
        /// See [`crate::ClientBuilder::http09_responses`].
        http09_responses();
        /// See [`crate::ClientBuilder::http1_title_case_headers`].
        http1_title_case_headers();
        /// See [`crate::ClientBuilder::http1_allow_obsolete_multiline_headers_in_responses`].
        http1_allow_obsolete_multiline_headers_in_responses(enabled: bool);
        /// See [`crate::ClientBuilder::http1_ignore_invalid_headers_in_responses`].
        http1_ignore_invalid_headers_in_responses(enabled: bool);
        /// See [`crate::ClientBuilder::http1_allow_spaces_after_header_name_in_responses`].
        http1_allow_spaces_after_header_name_in_responses(enabled: bool);
        /// See [`crate::ClientBuilder::http2_prior_knowledge`].
        http2_prior_knowledge();
        /// See [`crate::ClientBuilder::http2_keep_alive_interval`].
        http2_keep_alive_interval(interval: impl Into<Option<Duration>>);
        /// See [`crate::ClientBuilder::http2_keep_alive_timeout`].
        http2_keep_alive_timeout(timeout: Duration);
        /// See [`crate::ClientBuilder::http2_keep_alive_while_idle`].
        http2_keep_alive_while_idle(enabled: bool);
        /// See [`crate::ClientBuilder::http2_initial_stream_window_size`].
        http2_initial_stream_window_size(size: impl Into<Option<u32>>);
        /// See [`crate::ClientBuilder::http2_initial_connection_window_size`].
        http2_initial_connection_window_size(size: impl Into<Option<u32>>);
        /// See [`crate::ClientBuilder::http2_adaptive_window`].
        http2_adaptive_window(enabled: bool);
        /// See [`crate::ClientBuilder::http2_max_frame_size`].
        http2_max_frame_size(size: impl Into<Option<u32>>);
        /// See [`crate::ClientBuilder::http2_max_header_list_size`].
        http2_max_header_list_size(size: u32);
        /// See [`crate::ClientBuilder::https_only`].
        https_only(enabled: bool);
        /// See [`crate::ClientBuilder::add_root_certificate`].
        add_root_certificate(certificate: crate::Certificate);
        /// See [`crate::ClientBuilder::tls_certs_merge`].
        tls_certs_merge(certs: impl IntoIterator<Item = crate::Certificate>);
        /// See [`crate::ClientBuilder::tls_certs_only`].
        tls_certs_only(certs: impl IntoIterator<Item = crate::Certificate>);
        /// See [`crate::ClientBuilder::tls_built_in_root_certs`].
        tls_built_in_root_certs(enabled: bool);
        /// See [`crate::ClientBuilder::tls_native_root_certs`].
        tls_native_root_certs(enabled: bool);
        /// See [`crate::ClientBuilder::tls_built_in_webpki_certs`].
        tls_built_in_webpki_certs(enabled: bool);
        /// See [`crate::ClientBuilder::tls_built_in_native_certs`].
        tls_built_in_native_certs(enabled: bool);
        /// See [`crate::ClientBuilder::identity`].
        identity(identity: crate::Identity);
        /// See [`crate::ClientBuilder::add_crl`].
        add_crl(crl: crate::tls::CertificateRevocationList);
        /// See [`crate::ClientBuilder::add_crls`].
        add_crls(crls: impl IntoIterator<Item = crate::tls::CertificateRevocationList>);
        /// See [`crate::ClientBuilder::tls_crls_only`].
        tls_crls_only(crls: impl IntoIterator<Item = crate::tls::CertificateRevocationList>);
        /// See [`crate::ClientBuilder::danger_accept_invalid_certs`].
        danger_accept_invalid_certs(accept: bool);
        /// See [`crate::ClientBuilder::danger_accept_invalid_hostnames`].
        danger_accept_invalid_hostnames(accept: bool);
        /// See [`crate::ClientBuilder::tls_danger_accept_invalid_certs`].
        tls_danger_accept_invalid_certs(accept: bool);
        /// See [`crate::ClientBuilder::tls_danger_accept_invalid_hostnames`].
        tls_danger_accept_invalid_hostnames(accept: bool);
        /// See [`crate::ClientBuilder::min_tls_version`].
        min_tls_version(version: crate::tls::Version);
        /// See [`crate::ClientBuilder::max_tls_version`].
        max_tls_version(version: crate::tls::Version);
        /// See [`crate::ClientBuilder::tls_version_min`].
        tls_version_min(version: crate::tls::Version);
        /// See [`crate::ClientBuilder::tls_version_max`].
        tls_version_max(version: crate::tls::Version);
        /// See [`crate::ClientBuilder::tls_sni`].
        tls_sni(enabled: bool);
        /// See [`crate::ClientBuilder::tls_info`].
        tls_info(enabled: bool);
        /// See [`crate::ClientBuilder::tls_sslkeylogfile`].
        tls_sslkeylogfile(enabled: bool);
        /// See [`crate::ClientBuilder::use_preconfigured_tls`].
        use_preconfigured_tls(tls: impl std::any::Any);
        /// See [`crate::ClientBuilder::tls_backend_preconfigured`].
        tls_backend_preconfigured(tls: impl std::any::Any);
        /// See [`crate::ClientBuilder::tls_backend_rustls`].
        tls_backend_rustls();
        /// See [`crate::ClientBuilder::use_rustls_tls`].
        use_rustls_tls();
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
