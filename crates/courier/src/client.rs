//! [`Client`] and [`ClientBuilder`]: the configured stack of layers over one shared connection pool.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue};
use http::Method;
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;
use url::Url;

use courier_core::transport::{Certificate, Transport, TransportBuilder};
use courier_core::user_agent::{UserAgent, UserAgentLayer, DEFAULT_USER_AGENT};

use crate::into_url::{check_sendable, to_uri};
use crate::timeout::{Deadlines, TimeoutBody};
use crate::{Body, Error, IntoUrl, Request, RequestBuilder, Response};

/// The layers every request goes through, outermost first (see `courier_core`'s crate docs for why in
/// this order).
type Stack = UserAgent<Transport<Body>>;

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
/// `Client` is also a `tower::Service<http::Request<courier::Body>>`, so any tower layer can wrap it:
///
/// ```
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let mut service = ServiceBuilder::new()
///     .concurrency_limit(32)
///     .service(courier::Client::new());
/// let request = http::Request::get("http://127.0.0.1:8080/").body(courier::Body::empty())?;
/// let response = service.ready().await?.call(request).await?;
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
    default_headers: HeaderMap,
    timeout: Option<Duration>,
    read_timeout: Option<Duration>,
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

    /// Starts a `GET` request.
    pub fn get<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a `POST` request.
    pub fn post<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a `PUT` request.
    pub fn put<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a `PATCH` request.
    pub fn patch<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a `DELETE` request.
    pub fn delete<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Starts a `HEAD` request.
    pub fn head<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Starts an `OPTIONS` request.
    pub fn options<U: IntoUrl>(&self, url: U) -> RequestBuilder {
        self.request(Method::OPTIONS, url)
    }

    /// Starts a request with any method.
    pub fn request<U: IntoUrl>(&self, method: Method, url: U) -> RequestBuilder {
        let request = url.into_url().map(|url| Request::new(method, url));
        RequestBuilder::new(self.clone(), request)
    }

    /// Sends a built [`Request`].
    pub async fn execute(&self, request: Request) -> Result<Response, Error> {
        let (method, url, headers, body, timeout, version) = request.into_parts();
        check_sendable(&url, self.inner.https_only)?;
        let mut req = http::Request::new(body.unwrap_or_default());
        *req.method_mut() = method;
        *req.uri_mut() = to_uri(&url)?;
        *req.headers_mut() = headers;
        *req.version_mut() = version;
        match self.dispatch(req, timeout).await {
            Ok(response) => Ok(Response::new(response, url)),
            Err(err) => Err(err.with_url(url)),
        }
    }

    /// Runs an `http::Request` through the stack, enforcing the timeouts.
    fn dispatch(
        &self,
        mut req: http::Request<Body>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<http::Response<Body>, Error>> + Send + 'static {
        let inner = &self.inner;
        for name in inner.default_headers.keys() {
            if !req.headers().contains_key(name) {
                for value in inner.default_headers.get_all(name) {
                    req.headers_mut().append(name, value.clone());
                }
            }
        }
        let deadlines = Deadlines {
            total: timeout.or(inner.timeout).map(|t| Instant::now() + t),
            read: inner.read_timeout,
        };
        let mut stack = inner.stack.clone();
        let call = stack.call(req);
        async move {
            let response = match deadlines.next() {
                None => call.await?,
                Some(at) => match tokio::time::timeout_at(at, call).await {
                    Ok(result) => result?,
                    Err(_) => {
                        return Err(Error::timeout("timed out waiting for the response headers"))
                    }
                },
            };
            Ok(if deadlines.is_none() {
                response.map(Body::new)
            } else {
                response.map(|body| Body::new(TimeoutBody::new(Body::new(body), deadlines)))
            })
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
            .field("timeout", &self.inner.timeout)
            .field("read_timeout", &self.inner.read_timeout)
            .field("https_only", &self.inner.https_only)
            .finish_non_exhaustive()
    }
}

impl Service<http::Request<Body>> for Client {
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let url = Url::parse(&req.uri().to_string());
        if let Ok(url) = &url {
            if let Err(err) = check_sendable(url, self.inner.https_only) {
                return Box::pin(async move { Err(err) });
            }
        }
        let dispatch = self.dispatch(req, None);
        Box::pin(async move {
            match (dispatch.await, url) {
                (Err(err), Ok(url)) => Err(err.with_url(url)),
                (result, _) => result,
            }
        })
    }
}

/// The final URL recorded by the redirect layer, if it followed any redirect.
pub(crate) fn final_url(_extensions: &http::Extensions) -> Option<&Url> {
    None
}

/// The URLs redirected through, recorded by the redirect layer.
pub(crate) fn redirect_hops(_extensions: &http::Extensions) -> &[Url] {
    &[]
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
    user_agent: Option<HeaderValue>,
    default_headers: HeaderMap,
    timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    https_only: bool,
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
            user_agent: Some(HeaderValue::from_static(DEFAULT_USER_AGENT)),
            default_headers: HeaderMap::new(),
            timeout: None,
            read_timeout: None,
            https_only: false,
            error: None,
        }
    }

    /// Builds the client. Fails on invalid configuration (a bad header value, a bad certificate).
    pub fn build(self) -> Result<Client, Error> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let transport = self.transport.build()?;
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| HeaderValue::from_static(DEFAULT_USER_AGENT));
        let stack = UserAgentLayer::from_header_value(user_agent).layer(transport);
        Ok(Client {
            inner: Arc::new(ClientRef {
                stack,
                default_headers: self.default_headers,
                timeout: self.timeout,
                read_timeout: self.read_timeout,
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

    /// Headers sent with every request that does not set them itself.
    pub fn default_headers(mut self, headers: HeaderMap) -> ClientBuilder {
        crate::request::replace_headers(&mut self.default_headers, headers);
        self
    }

    /// A total timeout per request: from sending it until its body is read.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// The longest wait for the response head, and then between two chunks of the body.
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.read_timeout = Some(timeout);
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

    /// Refuse to send requests to `http:` URLs.
    pub fn https_only(mut self, enabled: bool) -> ClientBuilder {
        self.https_only = enabled;
        self
    }

    /// Trust an additional root certificate.
    pub fn add_root_certificate(mut self, cert: Certificate) -> ClientBuilder {
        self.transport = self.transport.add_root_certificate(cert);
        self
    }

    /// Trust the Mozilla roots built into the binary (default on).
    pub fn tls_built_in_root_certs(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_built_in_root_certs(enabled);
        self
    }

    /// Trust the operating system's root certificates too (default off).
    pub fn tls_native_root_certs(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tls_native_root_certs(enabled);
        self
    }

    /// Set `TCP_NODELAY` on connections (default on).
    pub fn tcp_nodelay(mut self, enabled: bool) -> ClientBuilder {
        self.transport = self.transport.tcp_nodelay(enabled);
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
