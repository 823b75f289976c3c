//! [`Client`] and [`ClientBuilder`]: the configured stack of layers over one shared connection pool.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue};
use http::Method;
use sync_wrapper::SyncWrapper;
use tower_layer::Layer;
use tower_service::Service;
use url::Url;

use courier_core::accept_language::{AcceptLanguage, SetAcceptLanguage};
use courier_core::auth::{Auth, AuthLayer, CredentialStore, Credentials};
use courier_core::cache::{Cache, Caching};
use courier_core::cookie::{CookieManager, CookieStore, Jar};
use courier_core::decompression::{Decompression, DecompressionLayer};
use courier_core::redirect::{FollowRedirect, FollowRedirectLayer, Policy};
use courier_core::retry::{Retry, RetryLayer, RetryPolicy};
use courier_core::timeout::{Timeout, TimeoutLayer, TotalTimeout};
use courier_core::transport::tls::{self, Certificate, Identity};
use courier_core::transport::{PoolStats, Proxy, Transport, TransportBuilder};
use courier_core::user_agent::{UserAgent, DEFAULT_USER_AGENT};

use crate::lazy_url::LazyUrl;
use crate::{Body, Error, IntoUrl, Request, RequestBuilder, Response};

/// The layers every request goes through, outermost first (see `courier_core`'s crate docs for why in
/// this order).
///
/// The total timeout and minimum speed (pass-throughs unless configured) sit outermost, so they cover
/// every hop and retry; the read timeout sits right above the transport, so it times each attempt's
/// wait for its own response head (never a redirect chain, or a retry's wait) and the silences of the
/// network's bytes. The cache (a pass-through unless configured) sits below the redirect layer, so each hop is a
/// hit or a miss of its own, and below the user agent and language, so a response that varies on
/// them is matched against what this client sends. Retry sits below it (each hop is retried on its own)
/// and above auth, so each attempt's credentials are answered anew (a Digest nonce count is never
/// sent twice). Auth sits above the cookie layer: each hop answers its own origin's challenges with
/// that origin's credentials, and every attempt gets fresh cookies (a 503's `Set-Cookie` is stored).
type Stack = Timeout<
    FollowRedirect<
        UserAgent<
            SetAcceptLanguage<
                Caching<Retry<Auth<CookieManager<Decompression<Timeout<Transport<Body>>>>>>>,
            >,
        >,
    >,
>;

/// An asynchronous HTTP client.
///
/// A `Client` holds a connection pool and its configuration behind an `Arc`: clone it freely (clones
/// share the pool) and keep one for the life of the program rather than making one per request.
///
/// ```no_run
/// # async fn run() -> Result<(), courier::Error> {
/// let client = courier::Client::new();
/// let body = client.get("http://127.0.0.1:8080/").send().await?.text().await?;
/// # drop(body);
/// # Ok(())
/// # }
/// ```
///
/// `Client` is also a `tower::Service` of [`Request`] (as reqwest's) and of
/// `http::Request<courier::Body>`, so any tower layer can wrap it; with both, name the request type
/// where inference cannot tell:
///
/// ```
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let mut service = ServiceBuilder::new()
///     .concurrency_limit(32)
///     .service(courier::Client::new());
/// let request = http::Request::get("http://127.0.0.1:8080/").body(courier::Body::empty())?;
/// let response = ServiceExt::<http::Request<courier::Body>>::ready(&mut service)
///     .await?
///     .call(request)
///     .await?;
/// # drop(response);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientRef>,
}

struct ClientRef {
    stack: Stack,
    /// The transport at the bottom of `stack`, kept for `pool_stats` (clones share the pool).
    transport: Transport<Body>,
    default_headers: HeaderMap,
    timeouts: TimeoutLayer,
    https_only: bool,
}

impl Client {
    /// A client with the default configuration.
    ///
    /// # Panics
    /// If the TLS backend cannot be initialised; use [`Client::builder`] to handle that as an error.
    pub fn new() -> Client {
        Client::builder()
            .build()
            .expect("Client::new(): TLS backend failed to initialise")
    }

    /// A builder to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    method_shorthands!(RequestBuilder);

    method_shorthands!(RequestBuilder: options => OPTIONS);

    /// Starts a request with any method.
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        let request = crate::into_url::sealed::Sealed::into_lazy_url(url)
            .map(|url| Request::from_lazy_url(method, url));
        RequestBuilder::new(self.clone(), request)
    }

    /// What the connection pool is doing: open connections, requests in flight and waiting, per host.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.transport.pool_stats()
    }

    /// Sends a built [`Request`]; the [`Pending`] future resolves to its response.
    pub fn execute(&self, request: Request) -> Pending {
        self.send_request(Ok(request))
    }

    /// Sends `request` (or fails with its builder's error). Everything up to handing the request to
    /// the stack is done here, before the future exists, so the future holds only what it needs after
    /// that: it is moved at every `.await` above it, and smaller moves cost less.
    pub(crate) fn send_request(&self, request: Result<Request, Error>) -> Pending {
        Pending {
            inner: Some(request.and_then(|request| self.prepare(request))),
        }
    }

    /// Checks the request, builds its `http::Request` and starts it through the stack.
    fn prepare(&self, request: Request) -> Result<Prepared, Error> {
        let (method, mut url, mut headers, body, timeout, version, extensions) =
            request.into_parts();
        url.check_sendable(self.inner.https_only)?;
        // Again here: `Request::url_mut` may have put credentials in since the request was made, and
        // those are the latest word.
        crate::request::move_credentials_to_header(&mut url, &mut headers, true);
        let span = tracing::debug_span!(
            "request",
            method = %method,
            url = %url,
            status = tracing::field::Empty,
            redirects = tracing::field::Empty,
            bytes = tracing::field::Empty,
        );
        let mut req = http::Request::new(body.unwrap_or_default());
        *req.method_mut() = method;
        *req.uri_mut() = url.to_uri()?;
        *req.headers_mut() = headers;
        *req.version_mut() = version;
        *req.extensions_mut() = extensions;
        // The stack is called inside the span, as it was when the call happened on the first poll.
        let dispatch = span.in_scope(|| self.dispatch(req, timeout));
        Ok(Prepared {
            dispatch,
            url,
            span,
        })
    }

    /// Turns the stack's answer into a [`Response`], or names the URL in its error.
    fn finish(
        result: Result<http::Response<Body>, Error>,
        url: LazyUrl,
        span: tracing::Span,
    ) -> Result<Response, Error> {
        match result {
            Ok(response) => {
                span.record("status", response.status().as_u16());
                let response = Response::new(response, url, span.clone());
                span.record("redirects", response.redirects().len());
                tracing::debug!(parent: &span, final_url = %response.url(), "response head");
                Ok(response)
            }
            Err(err) => {
                tracing::debug!(parent: &span, error = %err, "request failed");
                Err(name_url(err, url.into_url()))
            }
        }
    }

    /// Runs an `http::Request` through the stack, with the client's default headers and the request's
    /// own total timeout.
    fn dispatch(&self, mut req: http::Request<Body>, timeout: Option<Duration>) -> Dispatch {
        let inner = &self.inner;
        // A request's own Digest credentials (`digest_auth`) are a later word than the client's
        // default `Authorization`, which would otherwise stop the auth layer from answering with them.
        let own_credentials = req
            .extensions()
            .get::<courier_core::auth::RequestCredentials>()
            .is_some()
            && !req.headers().contains_key(http::header::AUTHORIZATION);
        courier_core::headers::append_missing(req.headers_mut(), &inner.default_headers);
        if own_credentials {
            req.headers_mut().remove(http::header::AUTHORIZATION);
        }
        if let Some(timeout) = timeout {
            req.extensions_mut().insert(TotalTimeout(timeout));
        }
        let mut stack = inner.stack.clone();
        // Boxed once here: the stack's future is large (every layer's state), and the futures above it
        // would otherwise copy it around on every move; boxed, it also makes [`Pending`] `Unpin`.
        SyncWrapper::new(Box::pin(stack.call(req)))
    }
}

/// The stack's future, boxed once (see [`Client::dispatch`]). It is only ever polled through `&mut`,
/// so a `SyncWrapper` makes [`Pending`] `Sync` (as reqwest's future is) without asking every layer's
/// future to be.
type Dispatch = SyncWrapper<Pin<Box<<Stack as Service<http::Request<Body>>>::Future>>>;

/// A request handed to the stack: its future, and what the response or error will need.
struct Prepared {
    dispatch: Dispatch,
    url: LazyUrl,
    span: tracing::Span,
}

/// The future of a request sent with [`RequestBuilder::send`] or [`Client::execute`]: resolves to the
/// [`Response`] once its head has arrived. It is `Unpin` (the stack's state is boxed once, when the
/// request is sent), so it can be polled through `&mut`, as in `tokio::select!`:
///
/// ```no_run
/// # async fn run(client: courier::Client) -> Result<(), courier::Error> {
/// let mut pending = client.get("http://127.0.0.1:8080/slow").send();
/// let response = tokio::select! {
///     response = &mut pending => response?,
///     _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
///         println!("still waiting");
///         pending.await?
///     }
/// };
/// # drop(response);
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Pending {
    /// `None` once it has resolved.
    inner: Option<Result<Prepared, Error>>,
}

impl Future for Pending {
    type Output = Result<Response, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(Ok(prepared)) = &mut this.inner {
            let result = {
                // The stack is polled inside the request's span, as `tracing::Instrument` would.
                let _entered = prepared.span.enter();
                std::task::ready!(prepared.dispatch.get_mut().as_mut().poll(cx))
            };
            let Some(Ok(Prepared { url, span, .. })) = this.inner.take() else {
                unreachable!("matched above")
            };
            return Poll::Ready(Client::finish(result.map(|r| r.map(Body::new)), url, span));
        }
        match this.inner.take() {
            Some(Err(err)) => Poll::Ready(Err(err)),
            _ => panic!("Pending polled after it resolved"),
        }
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(Ok(prepared)) => f
                .debug_struct("Pending")
                .field("url", &prepared.url)
                .finish_non_exhaustive(),
            Some(Err(err)) => f.debug_tuple("Pending").field(err).finish(),
            None => f.write_str("Pending(done)"),
        }
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("default_headers", &self.inner.default_headers)
            .field("timeouts", &self.inner.timeouts)
            .field("https_only", &self.inner.https_only)
            .finish_non_exhaustive()
    }
}

/// The client as a tower service of reqwest's types: exactly what [`Client::execute`] does.
impl Service<Request> for Client {
    type Response = Response;
    type Error = Error;
    // reqwest's: the future `execute` returns, with no box of its own.
    type Future = Pending;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.execute(req)
    }
}

/// See the `Service<Request>` impl of [`Client`].
impl Service<Request> for &Client {
    type Response = Response;
    type Error = Error;
    // reqwest's: the future `execute` returns, with no box of its own.
    type Future = Pending;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.execute(req)
    }
}

/// The client as a tower service of `http` types, to put under layers of your own: the request goes
/// the same way as [`Client::execute`] (credentials in the URL moved to a header, `https_only`, the
/// tracing span), and the response comes back as [`Response::into_http`] gives it.
impl Service<http::Request<Body>> for Client {
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let response = self.send_request(Request::try_from(req));
        Box::pin(async move { Ok(response.await?.into_http()) })
    }
}

/// Configures a [`Client`].
///
/// ```
/// use std::time::Duration;
///
/// let client = courier::Client::builder()
///     .user_agent("my-app/1.0")
///     .timeout(Duration::from_secs(30))
///     .connect_timeout(Duration::from_secs(5))
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
#[must_use]
pub struct ClientBuilder {
    transport: TransportBuilder,
    redirect: Policy,
    referer: bool,
    retry: RetryPolicy,
    cookie_store: Option<Arc<dyn CookieStore>>,
    decompression: DecompressionLayer,
    user_agent: Option<HeaderValue>,
    accept_language: Option<HeaderValue>,
    default_headers: HeaderMap,
    pub(crate) timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    min_speed: Option<(u64, Duration)>,
    https_only: bool,
    credentials: CredentialStore,
    proxy_credentials: Option<Credentials>,
    netrc: bool,
    cache: Option<Cache>,
    error: Option<Error>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// The default configuration: no timeouts but what the OS imposes, redirects followed (up to 10),
    /// gzip / deflate / br / zstd decoded, `User-Agent: courier/<version>`.
    pub fn new() -> ClientBuilder {
        ClientBuilder {
            transport: Transport::builder(),
            redirect: Policy::default(),
            referer: true,
            retry: RetryPolicy::disabled(),
            cookie_store: None,
            decompression: DecompressionLayer::new(),
            user_agent: Some(HeaderValue::from_static(DEFAULT_USER_AGENT)),
            accept_language: None,
            // As reqwest: a request that names no `Accept` takes anything.
            default_headers: HeaderMap::from_iter([(
                http::header::ACCEPT,
                HeaderValue::from_static("*/*"),
            )]),
            timeout: None,
            read_timeout: None,
            min_speed: None,
            https_only: false,
            credentials: CredentialStore::new(),
            proxy_credentials: None,
            netrc: false,
            cache: None,
            error: None,
        }
    }

    /// Builds the client. Fails on invalid configuration (a bad header value, a bad certificate).
    pub fn build(self) -> Result<Client, Error> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let user_agent = self.user_agent;
        // The layer never sees a tunnel's CONNECT: the transport sends it there.
        let mut transport = self.transport;
        if let Some(user_agent) = &user_agent {
            transport = transport.tunnel_user_agent(user_agent.clone());
        }
        let transport = transport.build()?;
        let mut read_timeout = TimeoutLayer::default();
        if let Some(read) = self.read_timeout {
            read_timeout = read_timeout.read_timeout(read);
        }
        let decompression = self
            .decompression
            .layer(read_timeout.layer(transport.clone()));
        let cookies = CookieManager::optional(decompression, self.cookie_store);
        let credentials = if self.netrc {
            // Explicit credentials win over the file's for the same host.
            courier_core::auth::netrc::load()
                .map_err(Error::builder)?
                .merge(self.credentials)
        } else {
            self.credentials
        };
        let mut auth = AuthLayer::new(credentials);
        if let Some(proxy) = self.proxy_credentials {
            auth = auth.proxy_credentials(proxy, transport.proxy_routes());
        }
        let auth = auth.layer(cookies);
        let retry = RetryLayer::new(self.retry).layer(auth);
        let cache = Caching::optional(retry, self.cache);
        // With no language configured the layer holds no value and sets nothing.
        let accept_language = SetAcceptLanguage::optional(cache, self.accept_language);
        let user_agent = UserAgent::optional(accept_language, user_agent);
        // Either word against a `Referer` holds: the builder's default must not undo a policy's `false`.
        let referer = self.referer && self.redirect.sends_referer();
        let mut redirect_policy = self.redirect.referer(referer);
        if self.https_only {
            // The first URL is checked before sending; a redirect is the only way to reach `http`.
            redirect_policy = redirect_policy.allow_https_downgrade(false);
        }
        let redirect = FollowRedirectLayer::new(redirect_policy).layer(user_agent);
        let mut timeouts = TimeoutLayer::default();
        if let Some(total) = self.timeout {
            timeouts = timeouts.total_timeout(total);
        }
        if let Some((bytes_per_sec, window)) = self.min_speed {
            timeouts = timeouts.min_speed(bytes_per_sec, window);
        }
        let stack = timeouts.layer(redirect);
        Ok(Client {
            inner: Arc::new(ClientRef {
                stack,
                transport,
                default_headers: self.default_headers,
                timeouts,
                https_only: self.https_only,
            }),
        })
    }

    /// The `User-Agent` sent when a request sets none.
    pub fn user_agent<V>(mut self, value: V) -> ClientBuilder
    where
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        match value.try_into() {
            Ok(value) => self.user_agent = Some(value),
            Err(err) => self.error = Some(Error::builder(err.into())),
        }
        self
    }

    /// Sends no `User-Agent` unless a request sets one, as reqwest does by default (Courier's own
    /// default is `courier/<version>`); a later [`user_agent`](ClientBuilder::user_agent) sets one
    /// again.
    pub fn no_user_agent(mut self) -> ClientBuilder {
        self.user_agent = None;
        self
    }

    /// How redirects are followed: [`Policy::limited(10)`](Policy::limited) by default,
    /// [`Policy::none()`](Policy::none) to return 3xx responses as they are.
    pub fn redirect(mut self, policy: Policy) -> ClientBuilder {
        self.redirect = policy;
        self
    }

    /// Send a `Referer` naming the redirecting URL on redirected requests (default `true`, as
    /// reqwest); never from `https` to `http`, never with the URL's fragment or credentials. See
    /// [`Policy::referer`]: a `Referer` is sent only if neither this nor the redirect policy turned it
    /// off.
    pub fn referer(mut self, enabled: bool) -> ClientBuilder {
        self.referer = enabled;
        self
    }

    /// Retry failed requests under `policy` (see [`RetryPolicy`]): connect errors, resets before any
    /// response, and 429/503 (honouring `Retry-After`) for idempotent methods, with full-jitter
    /// exponential backoff and a retry budget. Off by default. The total timeout covers all attempts.
    ///
    /// ```
    /// use courier::retry::RetryPolicy;
    ///
    /// let client = courier::Client::builder()
    ///     .retry(RetryPolicy::new().max_retries(5))
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    ///
    /// reqwest 0.13's builders work too: `.retry(courier::retry::for_host("api.example.com")
    /// .classify_fn(|req_rep| ...))` retries only that host's requests, only when the closure says.
    pub fn retry<P: Into<RetryPolicy>>(mut self, policy: P) -> ClientBuilder {
        self.retry = policy.into();
        self
    }

    /// Keep cookies in a fresh [`Jar`] of this client's own: `Set-Cookie` is stored and `Cookie` sent
    /// on every request and redirect hop (RFC 6265 rules). Default off, as in reqwest; as there, it
    /// replaces a store given to [`cookie_provider`](ClientBuilder::cookie_provider) before it, and
    /// `false` removes any.
    pub fn cookie_store(mut self, enabled: bool) -> ClientBuilder {
        self.cookie_store = enabled.then(|| Arc::new(Jar::new()) as Arc<dyn CookieStore>);
        self
    }

    /// Keep cookies in `store`: a [`Jar`], which can be shared with other clients, inspected, saved
    /// and loaded, or any [`CookieStore`](crate::cookie::CookieStore) of your own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use courier::cookie::Jar;
    ///
    /// let jar = Arc::new(Jar::new());
    /// let a = courier::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    /// let b = courier::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    /// # drop((a, b));
    /// ```
    pub fn cookie_provider<C: CookieStore + 'static>(mut self, store: Arc<C>) -> ClientBuilder {
        self.cookie_store = Some(store);
        self
    }

    /// Answer HTTP Digest challenges (RFC 7616) from the origin of `url` with `username` and `password`
    /// (for one request, see [`RequestBuilder::digest_auth`]). They are sent only to that origin
    /// (scheme, host and port), only when it asks, and never cross to another origin on a redirect.
    ///
    /// ```
    /// let client = courier::Client::builder()
    ///     .digest_auth("https://api.example.com", "ada", "lovelace")
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn digest_auth<U: IntoUrl>(
        mut self,
        url: U,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> ClientBuilder {
        let target = crate::into_url::sealed::Sealed::into_lazy_url(url).and_then(|t| t.to_uri());
        match target {
            Ok(uri) => {
                self.credentials = std::mem::take(&mut self.credentials)
                    .origin(&uri, Credentials::new(username, password));
            }
            Err(err) => self.error = Some(err),
        }
        self
    }

    /// Answer a proxy's `407` Digest challenge (`Proxy-Authenticate`) with `username` and `password`.
    /// This covers requests sent *through* an HTTP proxy (plain `http` URLs); the `CONNECT` tunnel for
    /// `https` URLs takes its credentials from [`Proxy`]'s own settings ([`Proxy::basic_auth`] or the
    /// proxy URL, which answer a Digest challenge there too). Requests that reach their
    /// origin (`https`, `no_proxy` hosts, no proxy) never send these credentials, even when the origin
    /// answers `407`.
    ///
    /// They answer whichever forwarding proxy this client routes a request to (the environment's
    /// included): with several proxies of different trust, give each its own credentials with
    /// [`Proxy::basic_auth`] instead, or use one client per proxy. A Digest answer never carries the
    /// password, but a proxy that receives it can test guesses against it.
    pub fn proxy_digest_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> ClientBuilder {
        self.proxy_credentials = Some(Credentials::new(username, password));
        self
    }

    /// Read `$NETRC`, else `~/.netrc` (default off), when the client is built, and answer the
    /// challenges of the hosts it names (`machine`, or `default` for the rest) with their `login` and
    /// `password`: Digest, or Basic when the server asks only for Basic. Used only for requests with no
    /// `Authorization` of their own and hosts with no [`digest_auth`](ClientBuilder::digest_auth)
    /// credentials; sent only to the host they are for, never to another host after a redirect. A
    /// malformed file makes [`build`](ClientBuilder::build) fail with an error naming the line.
    pub fn netrc(mut self, enabled: bool) -> ClientBuilder {
        self.netrc = enabled;
        self
    }

    /// Keep responses in `cache` and answer requests from it as a browser's private cache does (RFC 9111;
    /// see [`courier::cache`](crate::cache)). Off by default. The cache can be shared by several
    /// clients; each request can choose how it uses it with
    /// [`RequestBuilder::cache_mode`](crate::RequestBuilder::cache_mode).
    ///
    /// ```
    /// use courier::cache::Cache;
    ///
    /// let cache = Cache::in_memory().max_size(32 * 1024 * 1024);
    /// let client = courier::Client::builder().cache(cache.clone()).build()?;
    /// # drop(client);
    /// # Ok::<(), courier::Error>(())
    /// ```
    pub fn cache(mut self, cache: Cache) -> ClientBuilder {
        self.cache = Some(cache);
        self
    }

    /// Advertise and decode gzip (default on, with the `gzip` feature).
    pub fn gzip(mut self, enabled: bool) -> ClientBuilder {
        self.decompression = self.decompression.gzip(enabled);
        self
    }

    /// Advertise and decode deflate (default on, with the `deflate` feature).
    pub fn deflate(mut self, enabled: bool) -> ClientBuilder {
        self.decompression = self.decompression.deflate(enabled);
        self
    }

    /// Advertise and decode Brotli (default on, with the `brotli` feature).
    pub fn brotli(mut self, enabled: bool) -> ClientBuilder {
        self.decompression = self.decompression.br(enabled);
        self
    }

    /// Advertise and decode zstd (default on, with the `zstd` feature).
    pub fn zstd(mut self, enabled: bool) -> ClientBuilder {
        self.decompression = self.decompression.zstd(enabled);
        self
    }

    /// Neither advertise nor decode any content coding: bodies arrive as the server sent them.
    pub fn no_decompression(self) -> ClientBuilder {
        self.gzip(false).deflate(false).brotli(false).zstd(false)
    }

    /// Neither advertise nor decode gzip: [`gzip(false)`](ClientBuilder::gzip) (reqwest's name; also
    /// without the `gzip` feature).
    ///
    /// ```
    /// let client = courier::Client::builder().no_gzip().no_deflate().build()?;
    /// # drop(client);
    /// # Ok::<(), courier::Error>(())
    /// ```
    pub fn no_gzip(self) -> ClientBuilder {
        self.gzip(false)
    }

    /// Neither advertise nor decode Brotli: [`brotli(false)`](ClientBuilder::brotli).
    pub fn no_brotli(self) -> ClientBuilder {
        self.brotli(false)
    }

    /// Neither advertise nor decode zstd: [`zstd(false)`](ClientBuilder::zstd).
    pub fn no_zstd(self) -> ClientBuilder {
        self.zstd(false)
    }

    /// Neither advertise nor decode deflate: [`deflate(false)`](ClientBuilder::deflate).
    pub fn no_deflate(self) -> ClientBuilder {
        self.deflate(false)
    }

    /// The most bytes a compressed body may decode to (default 1 GiB), against decompression bombs;
    /// `None` for no limit.
    pub fn max_decompressed_size<L: Into<Option<u64>>>(mut self, limit: L) -> ClientBuilder {
        self.decompression = self.decompression.max_size(limit.into());
        self
    }

    /// The most a compressed body may grow per compressed byte once it decodes past 8 MiB (default
    /// 100 times for gzip and deflate, 1000 for br and zstd; set, one limit for all), so a
    /// decompression bomb fails after a few megabytes however the body is read; `None` for no limit.
    /// See
    /// [`DecompressionLayer::max_ratio`](courier_core::decompression::DecompressionLayer::max_ratio).
    ///
    /// ```
    /// let client = courier::Client::builder()
    ///     .max_decompression_ratio(1000)
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), courier::Error>(())
    /// ```
    pub fn max_decompression_ratio<L: Into<Option<u32>>>(mut self, ratio: L) -> ClientBuilder {
        self.decompression = self.decompression.max_ratio(ratio.into());
        self
    }

    /// `Accept-Language` for requests that set none, e.g.
    /// `AcceptLanguage::new().lang("sv").lang_q("en", 0.8)`; an invalid tag or q-value makes
    /// [`build`](ClientBuilder::build) fail with a builder error.
    pub fn accept_language(mut self, languages: AcceptLanguage) -> ClientBuilder {
        match languages.build() {
            Ok(value) => self.accept_language = Some(value),
            Err(err) => self.error = Some(err),
        }
        self
    }

    /// Send requests through `proxy` (several may be added). Once one is added, the proxy environment
    /// variables are ignored.
    pub fn proxy(mut self, proxy: Proxy) -> ClientBuilder {
        self.transport = self.transport.proxy(proxy);
        self
    }

    /// Use no proxy, not even those named by `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` (or lowercase),
    /// which are honoured by default (with `NO_PROXY`).
    pub fn no_proxy(mut self) -> ClientBuilder {
        self.transport = self.transport.no_proxy();
        self
    }

    /// Headers sent with every request that does not set them itself; they replace defaults of the same
    /// name (the only one is `Accept: */*`, as reqwest's).
    pub fn default_headers(mut self, headers: HeaderMap) -> ClientBuilder {
        crate::request::replace_headers(&mut self.default_headers, headers);
        self
    }

    /// A total timeout per request: from sending it until its body is read.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The longest wait for the response head, and then between two chunks of the body. It counts only
    /// while waiting for the server: not while a streaming request body is being uploaded (unless the
    /// server stops taking it), and each
    /// redirect hop and retry attempt waits for its own head (a chain of slow hops, or a retry waiting
    /// out `Retry-After`, does not add up to a timeout).
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.read_timeout = Some(timeout);
        self
    }

    /// Ends a response body transfer with a timeout error when fewer than `bytes_per_sec * window` bytes
    /// arrived in any `window` (curl's `--speed-limit` / `--speed-time`): stalled downloads fail instead
    /// of hanging.
    pub fn min_speed(mut self, bytes_per_sec: u64, window: Duration) -> ClientBuilder {
        self.min_speed = Some((bytes_per_sec, window));
        self
    }

    /// The deadline for establishing a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.transport = self.transport.connect_timeout(timeout);
        self
    }

    /// How long an idle connection stays pooled (default 30 s); `None` keeps it until the server closes it.
    pub fn pool_idle_timeout<D: Into<Option<Duration>>>(mut self, timeout: D) -> ClientBuilder {
        self.transport = self.transport.pool_idle_timeout(timeout.into());
        self
    }

    /// The most idle connections kept per host; `0` disables connection reuse.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> ClientBuilder {
        self.transport = self.transport.pool_max_idle_per_host(max);
        self
    }

    /// The most connections (in use and idle) to one host; more requests wait, first come first
    /// served, within their timeout. It also bounds the HTTP/2 connections opened to a host whose
    /// concurrent-stream limit is reached (past it, requests queue for a free stream). Default: unlimited.
    pub fn pool_max_connections_per_host(mut self, max: usize) -> ClientBuilder {
        self.transport = self.transport.pool_max_connections_per_host(max);
        self
    }

    /// The most connections open in total. Default: unlimited.
    pub fn pool_max_connections(mut self, max: usize) -> ClientBuilder {
        self.transport = self.transport.pool_max_connections(max);
        self
    }

    /// Resolve `host` to `addr` instead of asking DNS, like curl's `--resolve`; replaces earlier
    /// addresses for that host. A port in the URL wins over `addr`'s; port `0` means the scheme's.
    pub fn resolve(mut self, host: &str, addr: std::net::SocketAddr) -> ClientBuilder {
        self.transport = self.transport.resolve(host, addr);
        self
    }

    /// Resolve `host` to `addrs` (tried in order, Happy Eyeballs) instead of asking DNS.
    pub fn resolve_to_addrs(mut self, host: &str, addrs: &[std::net::SocketAddr]) -> ClientBuilder {
        self.transport = self.transport.resolve_to_addrs(host, addrs);
        self
    }

    /// Resolve names with your own [`dns::Resolve`](crate::dns::Resolve) (an `Arc` of one, or one),
    /// instead of the system's; `resolve` overrides still come first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use courier::dns::{Addrs, Name, Resolve, Resolving};
    ///
    /// struct Loopback;
    ///
    /// impl Resolve for Loopback {
    ///     fn resolve(&self, _name: Name) -> Resolving {
    ///         let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    ///         Box::pin(async move { Ok(Box::new(std::iter::once(loopback)) as Addrs) })
    ///     }
    /// }
    ///
    /// let client = courier::Client::builder().dns_resolver(Arc::new(Loopback)).build().unwrap();
    /// # drop(client);
    /// ```
    pub fn dns_resolver(mut self, resolver: impl crate::dns::IntoResolve) -> ClientBuilder {
        self.transport = self.transport.dns_resolver(resolver);
        self
    }

    /// reqwest's name for [`dns_resolver`](ClientBuilder::dns_resolver), which takes a resolver or an
    /// `Arc` of one.
    pub fn dns_resolver2(self, resolver: impl crate::dns::IntoResolve) -> ClientBuilder {
        self.dns_resolver(resolver)
    }

    /// Resolve names with hickory-resolver (configured from the system) instead of `getaddrinfo`:
    /// the default with the `hickory-dns` feature, as in reqwest. Without the feature, `true` makes
    /// [`build`](ClientBuilder::build) fail.
    pub fn hickory_dns(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.hickory_dns(enabled);
        self
    }

    /// Do not use hickory-resolver, even with the `hickory-dns` feature.
    pub fn no_hickory_dns(self) -> ClientBuilder {
        self.hickory_dns(false)
    }

    /// reqwest's old name for [`hickory_dns`](ClientBuilder::hickory_dns).
    pub fn trust_dns(self, enabled: bool) -> ClientBuilder {
        self.hickory_dns(enabled)
    }

    /// reqwest's old name for [`no_hickory_dns`](ClientBuilder::no_hickory_dns).
    pub fn no_trust_dns(self) -> ClientBuilder {
        self.no_hickory_dns()
    }

    /// Bind outgoing connections to this local address; only a server's addresses of its family (IPv4
    /// or IPv6) are connected to, as reqwest does.
    pub fn local_address<A: Into<Option<std::net::IpAddr>>>(mut self, addr: A) -> ClientBuilder {
        self.transport = self.transport.local_address(addr.into());
        self
    }

    /// TCP keepalive: the idle time before the first probe (default 15 s, then a probe every 15 s and
    /// 3 unanswered drop the connection, as reqwest's); `None` turns keepalive off.
    pub fn tcp_keepalive<D: Into<Option<Duration>>>(mut self, interval: D) -> ClientBuilder {
        self.transport = self.transport.tcp_keepalive(interval.into());
        self
    }

    /// TCP keepalive: the time between probes once they started.
    pub fn tcp_keepalive_interval<D: Into<Option<Duration>>>(
        mut self,
        interval: D,
    ) -> ClientBuilder {
        self.transport = self.transport.tcp_keepalive_interval(interval.into());
        self
    }

    /// TCP keepalive: how many unanswered probes drop the connection.
    pub fn tcp_keepalive_retries<C: Into<Option<u32>>>(mut self, retries: C) -> ClientBuilder {
        self.transport = self.transport.tcp_keepalive_retries(retries.into());
        self
    }

    /// `TCP_USER_TIMEOUT` (Linux): drop a connection whose sent data stays unacknowledged this long
    /// (default 30 s, as reqwest's); `None` leaves the system's.
    pub fn tcp_user_timeout<D: Into<Option<Duration>>>(mut self, timeout: D) -> ClientBuilder {
        self.transport = self.transport.tcp_user_timeout(timeout.into());
        self
    }

    /// Send through this network interface only (`SO_BINDTODEVICE`, Linux), e.g. `"eth1"`.
    pub fn interface(mut self, interface: &str) -> ClientBuilder {
        self.transport = self.transport.interface(interface);
        self
    }

    /// Send every request over the Unix socket at `path`; the URL still names the `Host` header (and
    /// the TLS server name for `https`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let docker = courier::Client::builder()
    ///     .unix_socket("/var/run/docker.sock")
    ///     .build()?;
    /// let version = docker.get("http://localhost/version").send().await?.text().await?;
    /// # drop(version);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The path may be anything [`connect::UnixSocketPath`](crate::connect::UnixSocketPath) takes:
    /// `&str`, `String`, `&Path`, `PathBuf`, `Arc<Path>`, ...
    pub fn unix_socket(mut self, path: impl crate::connect::UnixSocketPath) -> ClientBuilder {
        self.transport = self.transport.unix_socket(path.into_path_buf());
        self
    }

    /// Trace every read and write of every connection at `trace` level (the traffic in clear, after
    /// TLS). Default off.
    pub fn connection_verbose(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.connection_verbose(enabled);
        self
    }

    /// Wrap the connector in a tower layer (a concurrency limit, a timeout on connecting, a counter);
    /// each call wraps the layers added before. The layer's service gets the origin
    /// (`scheme://host:port`) and answers a [`connect::Connected`](crate::connect::Connected) stream.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = courier::Client::builder()
    ///     .connector_layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
    ///     .connector_layer(tower::limit::ConcurrencyLimitLayer::new(16))
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn connector_layer<L>(mut self, layer: L) -> ClientBuilder
    where
        L: Layer<crate::connect::BoxedConnector> + Send + Sync + 'static,
        L::Service: Service<http::Uri, Response = crate::connect::Connected>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<http::Uri>>::Error: Into<crate::error::BoxError>,
        <L::Service as Service<http::Uri>>::Future: Send + 'static,
    {
        self.transport = self.transport.connector_layer(layer);
        self
    }

    /// Calls `observer` with every [`Exchange`](crate::Exchange) on the network: each request as it
    /// was handed to its connection (the head written: `Host`, cookies, credentials and body framing
    /// included), the response head that answered it, and the connection's
    /// [`ConnectionInfo`](crate::ConnectionInfo). Every redirect hop, retry and authentication round
    /// trip is an exchange of its own; a cache hit is none. For a `curl -v` style log; keep it quick.
    ///
    /// ```
    /// let client = courier::Client::builder()
    ///     .on_exchange(|exchange| {
    ///         let request = exchange.request();
    ///         eprintln!("> {} {}", request.method(), request.uri());
    ///         for (name, value) in request.headers() {
    ///             eprintln!("> {name}: {}", value.to_str().unwrap_or("<binary>"));
    ///         }
    ///         eprintln!("< {} {}", exchange.response().status().as_u16(), exchange.reason());
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn on_exchange<F>(mut self, observer: F) -> ClientBuilder
    where
        F: Fn(&crate::Exchange<'_>) + Send + Sync + 'static,
    {
        self.transport = self.transport.on_exchange(observer);
        self
    }

    /// Speak only HTTP/1.1.
    pub fn http1_only(mut self) -> ClientBuilder {
        self.transport = self.transport.http1_only();
        self
    }

    /// Speak only HTTP/2, without negotiation (h2c on plain TCP).
    pub fn http2_prior_knowledge(mut self) -> ClientBuilder {
        self.transport = self.transport.http2_prior_knowledge();
        self
    }

    /// Refuse to send requests to `http:` URLs, also after a redirect (whatever the redirect
    /// policy's [`allow_https_downgrade`](crate::redirect::Policy::allow_https_downgrade) says).
    pub fn https_only(mut self, enabled: bool) -> ClientBuilder {
        self.https_only = enabled;
        self
    }

    /// Trust an additional root certificate, besides the operating system's store.
    pub fn add_root_certificate(mut self, cert: Certificate) -> ClientBuilder {
        self.transport = self.transport.add_root_certificate(cert);
        self
    }

    /// Trust these root certificates besides the operating system's store (reqwest 0.13's name).
    pub fn tls_certs_merge(
        mut self,
        certs: impl IntoIterator<Item = Certificate>,
    ) -> ClientBuilder {
        self.transport = self.transport.tls_certs_merge(certs);
        self
    }

    /// Trust only these root certificates: neither the operating system's store nor the Mozilla roots.
    ///
    /// ```
    /// # fn run(ca_pem: &[u8]) -> Result<(), courier::Error> {
    /// let client = courier::Client::builder()
    ///     .tls_certs_only(courier::tls::Certificate::from_pem_bundle(ca_pem)?)
    ///     .build()?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_certs_only(mut self, certs: impl IntoIterator<Item = Certificate>) -> ClientBuilder {
        self.transport = self.transport.tls_certs_only(certs);
        self
    }

    /// `true`: trust the Mozilla roots built into the binary instead of the operating system's
    /// verifier (default off: the system's store, with any corporate CA installed there, is trusted).
    /// `false`, as in reqwest: trust no built-in roots, neither the Mozilla roots nor the system's
    /// store, only those added with [`add_root_certificate`](ClientBuilder::add_root_certificate):
    ///
    /// ```
    /// # fn run(internal_ca_pem: &[u8]) -> Result<(), courier::Error> {
    /// let client = courier::Client::builder()
    ///     .tls_built_in_root_certs(false)
    ///     .add_root_certificate(courier::Certificate::from_pem(internal_ca_pem)?)
    ///     .build()?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_built_in_root_certs(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_built_in_root_certs(enabled);
        self
    }

    /// Trust the operating system's store read as a list of roots (rustls-native-certs), instead of
    /// the operating system's verifier (default off).
    pub fn tls_native_root_certs(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_native_root_certs(enabled);
        self
    }

    /// Trust the Mozilla roots built into the binary (webpki-roots), or not (reqwest's name, feature
    /// `rustls-tls-webpki-roots-no-provider`); the system's store is left as it is. With
    /// [`tls_built_in_native_certs(true)`](ClientBuilder::tls_built_in_native_certs) too, both sets
    /// of roots are trusted. Default off: the operating system's verifier decides.
    ///
    /// ```
    /// let client = courier::Client::builder()
    ///     .tls_built_in_webpki_certs(true)
    ///     .tls_built_in_native_certs(true)
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), courier::Error>(())
    /// ```
    pub fn tls_built_in_webpki_certs(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_built_in_webpki_certs(enabled);
        self
    }

    /// Trust the operating system's store read as a list of roots (rustls-native-certs): reqwest's
    /// name (feature `rustls-tls-native-roots-no-provider`) for
    /// [`tls_native_root_certs`](ClientBuilder::tls_native_root_certs). Default off.
    pub fn tls_built_in_native_certs(self, enabled: bool) -> ClientBuilder {
        self.tls_native_root_certs(enabled)
    }

    /// Show this client certificate to servers that ask for one (mutual TLS).
    ///
    /// ```
    /// # fn run(cert_and_key_pem: &[u8]) -> Result<(), courier::Error> {
    /// let identity = courier::Identity::from_pem(cert_and_key_pem)?;
    /// let client = courier::Client::builder().identity(identity).build()?;
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(mut self, identity: Identity) -> ClientBuilder {
        self.transport = self.transport.identity(identity);
        self
    }

    /// Check server certificates against this revocation list (use with `tls_certs_only`).
    pub fn add_crl(mut self, crl: tls::CertificateRevocationList) -> ClientBuilder {
        self.transport = self.transport.add_crl(crl);
        self
    }

    /// Check server certificates against these revocation lists.
    pub fn add_crls(
        mut self,
        crls: impl IntoIterator<Item = tls::CertificateRevocationList>,
    ) -> ClientBuilder {
        self.transport = self.transport.add_crls(crls);
        self
    }

    /// Accept any server certificate (expired, self-signed, for another name). For development only:
    /// anyone on the path can then read and change the traffic.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.transport = self.transport.danger_accept_invalid_certs(accept);
        self
    }

    /// Accept a valid certificate issued for another name.
    pub fn danger_accept_invalid_hostnames(mut self, accept: bool) -> ClientBuilder {
        self.transport = self.transport.danger_accept_invalid_hostnames(accept);
        self
    }

    /// The oldest TLS version to speak.
    pub fn min_tls_version(mut self, version: tls::Version) -> ClientBuilder {
        self.transport = self.transport.min_tls_version(version);
        self
    }

    /// The newest TLS version to speak.
    pub fn max_tls_version(mut self, version: tls::Version) -> ClientBuilder {
        self.transport = self.transport.max_tls_version(version);
        self
    }

    /// Send the server name in the TLS handshake (SNI). Default on.
    pub fn tls_sni(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_sni(enabled);
        self
    }

    /// Put a [`tls::TlsInfo`] in each TLS response's extensions (default off).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let client = courier::Client::builder().tls_info(true).build()?;
    /// let response = client.get("https://127.0.0.1:8443/").send().await?;
    /// let info = response.extensions().get::<courier::tls::TlsInfo>().unwrap();
    /// println!("{} bytes of certificate", info.peer_certificate().unwrap().len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_info(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_info(enabled);
        self
    }

    /// Write TLS session secrets to the file named by `SSLKEYLOGFILE`, when it is set (default off).
    pub fn tls_sslkeylogfile(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_sslkeylogfile(enabled);
        self
    }

    /// Use this `rustls::ClientConfig` for TLS instead of the other TLS options; anything else makes
    /// [`build`](ClientBuilder::build) fail.
    pub fn use_preconfigured_tls(mut self, tls: impl std::any::Any) -> ClientBuilder {
        self.transport = self.transport.use_preconfigured_tls(tls);
        self
    }

    /// reqwest 0.13's name for [`danger_accept_invalid_certs`](ClientBuilder::danger_accept_invalid_certs).
    pub fn tls_danger_accept_invalid_certs(self, accept: bool) -> ClientBuilder {
        self.danger_accept_invalid_certs(accept)
    }

    /// reqwest 0.13's name for
    /// [`danger_accept_invalid_hostnames`](ClientBuilder::danger_accept_invalid_hostnames).
    pub fn tls_danger_accept_invalid_hostnames(self, accept: bool) -> ClientBuilder {
        self.danger_accept_invalid_hostnames(accept)
    }

    /// reqwest 0.13's name for [`min_tls_version`](ClientBuilder::min_tls_version).
    pub fn tls_version_min(self, version: tls::Version) -> ClientBuilder {
        self.min_tls_version(version)
    }

    /// reqwest 0.13's name for [`max_tls_version`](ClientBuilder::max_tls_version).
    pub fn tls_version_max(self, version: tls::Version) -> ClientBuilder {
        self.max_tls_version(version)
    }

    /// Check server certificates against these revocation lists only: unlike
    /// [`add_crls`](ClientBuilder::add_crls), they replace any added before (reqwest 0.13).
    pub fn tls_crls_only(
        mut self,
        crls: impl IntoIterator<Item = tls::CertificateRevocationList>,
    ) -> ClientBuilder {
        self.transport = self.transport.tls_crls_only(crls);
        self
    }

    /// reqwest 0.13's name for [`use_preconfigured_tls`](ClientBuilder::use_preconfigured_tls).
    pub fn tls_backend_preconfigured(self, tls: impl std::any::Any) -> ClientBuilder {
        self.use_preconfigured_tls(tls)
    }

    /// Use rustls for TLS: the only backend, so this changes nothing (reqwest 0.13's name).
    pub fn tls_backend_rustls(self) -> ClientBuilder {
        self
    }

    /// Use rustls for TLS: the only backend, so this changes nothing (reqwest 0.12's name).
    pub fn use_rustls_tls(self) -> ClientBuilder {
        self
    }

    /// Set `TCP_NODELAY` on connections (default on).
    pub fn tcp_nodelay(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tcp_nodelay(enabled);
        self
    }

    /// HTTP/2: send a PING this often to keep connections alive; `None` (default) sends none.
    pub fn http2_keep_alive_interval<D: Into<Option<Duration>>>(
        mut self,
        interval: D,
    ) -> ClientBuilder {
        self.transport = self.transport.http2_keep_alive_interval(interval.into());
        self
    }

    /// HTTP/2: close a connection whose keep-alive PING is not answered within `timeout`.
    pub fn http2_keep_alive_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.transport = self.transport.http2_keep_alive_timeout(timeout);
        self
    }

    /// HTTP/2: send keep-alive PINGs even when no stream is open.
    pub fn http2_keep_alive_while_idle(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.http2_keep_alive_while_idle(enabled);
        self
    }

    /// HTTP/2: the initial flow-control window of each stream.
    pub fn http2_initial_stream_window_size(
        mut self,
        size: impl Into<Option<u32>>,
    ) -> ClientBuilder {
        self.transport = self.transport.http2_initial_stream_window_size(size);
        self
    }

    /// HTTP/2: the initial flow-control window of each connection.
    pub fn http2_initial_connection_window_size(
        mut self,
        size: impl Into<Option<u32>>,
    ) -> ClientBuilder {
        self.transport = self.transport.http2_initial_connection_window_size(size);
        self
    }

    /// HTTP/2: size flow-control windows from the measured bandwidth-delay product.
    pub fn http2_adaptive_window(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.http2_adaptive_window(enabled);
        self
    }

    /// HTTP/2: the largest frame payload to accept.
    pub fn http2_max_frame_size(mut self, size: impl Into<Option<u32>>) -> ClientBuilder {
        self.transport = self.transport.http2_max_frame_size(size);
        self
    }

    /// HTTP/2: the largest (decoded) header list to accept.
    pub fn http2_max_header_list_size(mut self, size: u32) -> ClientBuilder {
        self.transport = self.transport.http2_max_header_list_size(size);
        self
    }

    /// HTTP/1.1: write header names in Title-Case.
    pub fn http1_title_case_headers(mut self) -> ClientBuilder {
        self.transport = self.transport.http1_title_case_headers();
        self
    }

    /// HTTP/1.1: accept response headers folded over several lines (obsolete line folding).
    pub fn http1_allow_obsolete_multiline_headers_in_responses(
        mut self,
        enabled: bool,
    ) -> ClientBuilder {
        self.transport = self
            .transport
            .http1_allow_obsolete_multiline_headers_in_responses(enabled);
        self
    }

    /// HTTP/1.1: skip invalid response header lines instead of failing the response.
    pub fn http1_ignore_invalid_headers_in_responses(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self
            .transport
            .http1_ignore_invalid_headers_in_responses(enabled);
        self
    }

    /// HTTP/1.1: accept spaces between a response header's name and its colon (`Foo : bar`) instead
    /// of failing the response. Default off.
    pub fn http1_allow_spaces_after_header_name_in_responses(
        mut self,
        enabled: bool,
    ) -> ClientBuilder {
        self.transport = self
            .transport
            .http1_allow_spaces_after_header_name_in_responses(enabled);
        self
    }

    /// Accept HTTP/0.9 responses (no status line, no headers). Default off.
    pub fn http09_responses(mut self) -> ClientBuilder {
        self.transport = self.transport.http09_responses();
        self
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Names `url` in a failed request's error, unless a layer already named a more precise one (the
/// redirect hop that failed).
fn name_url(err: Error, url: Url) -> Error {
    if err.url().is_some() {
        err
    } else {
        err.with_url(url)
    }
}
