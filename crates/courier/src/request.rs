//! [`Request`] and [`RequestBuilder`]: what to send, built the reqwest way.

use std::fmt;
use std::time::Duration;

use courier_core::auth::basic_header;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Version};
use serde::Serialize;
use url::Url;

use crate::lazy_url::LazyUrl;

use crate::{Body, Client, Error};

/// A request ready to be sent with [`Client::execute`].
///
/// ```
/// let request = courier::Request::new(http::Method::GET, "http://127.0.0.1/".parse().unwrap());
/// assert_eq!(request.method(), &http::Method::GET);
/// ```
pub struct Request {
    method: Method,
    url: LazyUrl,
    headers: HeaderMap,
    body: Option<Body>,
    timeout: Option<Duration>,
    version: Version,
    /// Handed to the stack as the `http::Request`'s extensions (per-request credentials).
    extensions: http::Extensions,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Request {
        Request::from_lazy_url(method, LazyUrl::from_url(url))
    }

    pub(crate) fn from_lazy_url(method: Method, mut url: LazyUrl) -> Request {
        let mut headers = HeaderMap::new();
        // At once, as reqwest does: from here on the request (its `Debug`, `url()`, an
        // `http::Request` made of it) holds the credentials only in a sensitive header.
        move_credentials_to_header(&mut url, &mut headers, false);
        Request {
            method,
            url,
            headers,
            body: None,
            timeout: None,
            version: Version::default(),
            extensions: http::Extensions::new(),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The method, mutably.
    pub fn method_mut(&mut self) -> &mut Method {
        &mut self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        self.url.url()
    }

    /// The URL, mutably.
    pub fn url_mut(&mut self) -> &mut Url {
        self.url.url_mut()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&Body> {
        self.body.as_ref()
    }

    /// The body, mutably.
    pub fn body_mut(&mut self) -> &mut Option<Body> {
        &mut self.body
    }

    /// The total timeout for this request, overriding the client's.
    pub fn timeout(&self) -> Option<&Duration> {
        self.timeout.as_ref()
    }

    /// The timeout, mutably.
    pub fn timeout_mut(&mut self) -> &mut Option<Duration> {
        &mut self.timeout
    }

    /// The HTTP version asked for.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The HTTP version, mutably.
    pub fn version_mut(&mut self) -> &mut Version {
        &mut self.version
    }

    /// A copy of the request, or `None` when its body is a stream.
    pub fn try_clone(&self) -> Option<Request> {
        let body = match &self.body {
            Some(body) => Some(body.try_clone()?),
            None => None,
        };
        Some(Request {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body,
            timeout: self.timeout,
            version: self.version,
            extensions: self.extensions.clone(),
        })
    }

    pub(crate) fn into_parts(
        self,
    ) -> (
        Method,
        LazyUrl,
        HeaderMap,
        Option<Body>,
        Option<Duration>,
        Version,
        http::Extensions,
    ) {
        (
            self.method,
            self.url,
            self.headers,
            self.body,
            self.timeout,
            self.version,
            self.extensions,
        )
    }
}

/// An `http::Request` as a Courier request: its URI must be an absolute `http` or `https` URL.
///
/// ```
/// let http = http::Request::get("http://127.0.0.1:8080/items").body("x").unwrap();
/// let request = courier::Request::try_from(http)?;
/// assert_eq!(request.url().path(), "/items");
/// # Ok::<(), courier::Error>(())
/// ```
impl<T: Into<Body>> TryFrom<http::Request<T>> for Request {
    type Error = Error;

    fn try_from(req: http::Request<T>) -> Result<Request, Error> {
        let (parts, body) = req.into_parts();
        let mut url = LazyUrl::parse(&parts.uri.to_string())?;
        let mut headers = parts.headers;
        // An `Authorization` the request carries wins over the URI's credentials.
        move_credentials_to_header(&mut url, &mut headers, false);
        let mut request = Request::from_lazy_url(parts.method, url);
        request.headers = headers;
        request.version = parts.version;
        request.extensions = parts.extensions;
        // A timeout set before the request became an `http::Request` is its own again.
        request.timeout = request
            .extensions
            .remove::<courier_core::timeout::TotalTimeout>()
            .map(|t| t.0);
        request.body = Some(body.into());
        Ok(request)
    }
}

/// A Courier request as an `http::Request`, for a tower service of your own (the body is empty when
/// none was set).
impl TryFrom<Request> for http::Request<Body> {
    type Error = Error;

    fn try_from(req: Request) -> Result<http::Request<Body>, Error> {
        let mut http = http::Request::new(req.body.unwrap_or_default());
        *http.method_mut() = req.method;
        *http.uri_mut() = req.url.to_uri()?;
        *http.version_mut() = req.version;
        *http.headers_mut() = req.headers;
        *http.extensions_mut() = req.extensions;
        // The request's own timeout travels as the extension the timeout layer reads (as reqwest
        // keeps it in its extensions), so a `Client` used as a `Service` still applies it.
        if let Some(timeout) = req.timeout {
            http.extensions_mut()
                .insert(courier_core::timeout::TotalTimeout(timeout));
        }
        Ok(http)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .finish()
    }
}

/// Builds a [`Request`]; made by [`Client::get`], [`Client::post`], [`Client::request`], ...
///
/// Errors (an invalid header, a body that does not serialize) are kept and returned by
/// [`send`](RequestBuilder::send) or [`build`](RequestBuilder::build), so calls chain without `?`.
///
/// ```no_run
/// # async fn run() -> Result<(), courier::Error> {
/// let client = courier::Client::new();
/// let response = client
///     .post("http://127.0.0.1:8080/items")
///     .query(&[("dry_run", "true")])
///     .bearer_auth("token")
///     .json(&serde_json::json!({"name": "widget"}))
///     .send()
///     .await?;
/// # drop(response);
/// # Ok(())
/// # }
/// ```
#[must_use = "a RequestBuilder does nothing until it is sent"]
pub struct RequestBuilder {
    client: Client,
    request: Result<Request, Error>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, request: Result<Request, Error>) -> RequestBuilder {
        RequestBuilder { client, request }
    }

    /// A builder for `request` on `client`, to change it further before sending.
    pub fn from_parts(client: Client, request: Request) -> RequestBuilder {
        RequestBuilder::new(client, Ok(request))
    }

    fn with(mut self, f: impl FnOnce(&mut Request) -> Result<(), Error>) -> RequestBuilder {
        if let Ok(request) = &mut self.request {
            if let Err(err) = f(request) {
                let url = request.url().clone();
                self.request = Err(err.with_url(url));
            }
        }
        self
    }

    /// Adds a header (appending: a name may have several values), but for `Authorization`, which a
    /// request has one of: that replaces any before it (reqwest would send both).
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.with(|request| {
            let name = name.try_into().map_err(|e| Error::builder(e.into()))?;
            let value = value.try_into().map_err(|e| Error::builder(e.into()))?;
            if name == AUTHORIZATION {
                // One a request has: this replaces any before it (the Basic one made from the URL's
                // credentials, say), where reqwest would send both.
                request.headers.insert(name, value);
            } else {
                request.headers.append(name, value);
            }
            Ok(())
        })
    }

    /// Adds every header of `headers`, replacing existing values of the same names.
    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        self.with(|request| {
            replace_headers(&mut request.headers, headers);
            Ok(())
        })
    }

    /// Appends query parameters serialized from `query` (a map, a struct, or a slice of pairs).
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> RequestBuilder {
        self.with(|request| {
            let encoded = serde_urlencoded::to_string(query).map_err(Error::builder)?;
            if !encoded.is_empty() {
                let merged = match request.url().query() {
                    Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
                    _ => encoded,
                };
                request.url_mut().set_query(Some(&merged));
            } else if request.url().query() == Some("") {
                // As reqwest: an empty query leaves no bare `?`.
                request.url_mut().set_query(None);
            }
            Ok(())
        })
    }

    /// Sends `form` as `application/x-www-form-urlencoded` (the `Content-Type`, unless one is set).
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> RequestBuilder {
        self.with(|request| {
            let encoded = serde_urlencoded::to_string(form).map_err(Error::builder)?;
            // A Content-Type set before (with a charset, say) is kept, as reqwest keeps it.
            request
                .headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                ));
            request.body = Some(Body::from(encoded));
            Ok(())
        })
    }

    /// Sends `json` serialized as `application/json`.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> RequestBuilder {
        self.with(|request| {
            let encoded = serde_json::to_vec(json).map_err(Error::builder)?;
            if !request.headers.contains_key(CONTENT_TYPE) {
                request
                    .headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            request.body = Some(Body::from(encoded));
            Ok(())
        })
    }

    /// Sends `form` as `multipart/form-data`, setting `Content-Type` with its boundary. Files and
    /// streams are streamed; `Content-Length` is sent when every part's length is known.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// use courier::multipart::{Form, Part};
    ///
    /// let form = Form::new()
    ///     .text("title", "holiday")
    ///     .part("photo", Part::bytes(vec![0xff, 0xd8]).file_name("a.jpg").mime_str("image/jpeg")?);
    /// courier::Client::new().post("http://127.0.0.1:8080/upload").multipart(form).send().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn multipart(self, form: crate::multipart::Form) -> RequestBuilder {
        self.with(|request| {
            let content_type =
                HeaderValue::try_from(form.content_type()).map_err(Error::builder)?;
            request.headers.insert(CONTENT_TYPE, content_type);
            request.body = Some(form.into_body());
            Ok(())
        })
    }

    /// Sets the body: bytes, a string, or [`Body::wrap_stream`] for a streaming upload.
    pub fn body<B: Into<Body>>(self, body: B) -> RequestBuilder {
        self.with(|request| {
            request.body = Some(body.into());
            Ok(())
        })
    }

    /// Sends HTTP Basic credentials.
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> RequestBuilder {
        let password = password.map_or_else(String::new, |p| p.to_string());
        let value = basic_header(&username.to_string(), &password);
        self.with(|request| {
            request.headers.insert(AUTHORIZATION, value);
            Ok(())
        })
    }

    /// Answers an HTTP Digest challenge (RFC 7616) from this request's origin with `username` and
    /// `password`: on a `401` with `WWW-Authenticate: Digest`, the request is sent again with
    /// `Authorization: Digest ...` (MD5, SHA-256 or SHA-512-256, `-sess`, `qop=auth` or `auth-int`).
    /// The password itself is never sent, and the credentials are not used for another origin after a
    /// redirect. A `401` they cannot answer (wrong password) is returned as the response.
    ///
    /// As with the other ways of giving credentials, the latest word wins: an `Authorization` set
    /// before (a `basic_auth`, the `Basic` one made of the URL's `user:password@`) is removed, so the
    /// password does not go out in the clear, and the client's default `Authorization` is not added.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), courier::Error> {
    /// let response = courier::Client::new()
    ///     .get("http://127.0.0.1:8080/private")
    ///     .digest_auth("ada", "lovelace")
    ///     .send()
    ///     .await?
    ///     .error_for_status()?;
    /// # drop(response);
    /// # Ok(())
    /// # }
    /// ```
    pub fn digest_auth(
        self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> RequestBuilder {
        let credentials = courier_core::auth::Credentials::new(username, password);
        self.with(|request| {
            let uri = request.url.to_uri()?;
            if let Some(scoped) = courier_core::auth::RequestCredentials::for_uri(&uri, credentials)
            {
                request.headers.remove(AUTHORIZATION);
                request.extensions.insert(scoped);
            }
            Ok(())
        })
    }

    /// How this request uses the client's [cache](crate::ClientBuilder::cache): the Fetch standard's
    /// modes (default [`CacheMode::Default`](crate::cache::CacheMode::Default)). Without a cache it
    /// changes nothing.
    ///
    /// ```no_run
    /// use courier::cache::{Cache, CacheMode};
    ///
    /// # async fn run() -> Result<(), courier::Error> {
    /// let client = courier::Client::builder().cache(Cache::in_memory()).build()?;
    /// let response = client
    ///     .get("http://127.0.0.1:8080/feed")
    ///     .cache_mode(CacheMode::NoCache) // always revalidate
    ///     .send()
    ///     .await?;
    /// # drop(response);
    /// # Ok(())
    /// # }
    /// ```
    pub fn cache_mode(self, mode: courier_core::cache::CacheMode) -> RequestBuilder {
        self.with(|request| {
            request.extensions.insert(mode);
            Ok(())
        })
    }

    /// The response as the server sent it: not decoded (see
    /// [`KeepEncoded`](courier_core::decompression::KeepEncoded)).
    pub(crate) fn keep_encoded(self) -> RequestBuilder {
        self.with(|request| {
            request
                .extensions
                .insert(courier_core::decompression::KeepEncoded);
            Ok(())
        })
    }

    /// Sends a bearer token.
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> RequestBuilder {
        self.sensitive_header(AUTHORIZATION, format!("Bearer {token}"))
    }

    fn sensitive_header(self, name: HeaderName, value: String) -> RequestBuilder {
        self.with(|request| {
            let mut value = HeaderValue::try_from(value).map_err(Error::builder)?;
            value.set_sensitive(true);
            request.headers.insert(name, value);
            Ok(())
        })
    }

    /// A total timeout for this request (until the body is read), overriding the client's.
    pub fn timeout(self, timeout: Duration) -> RequestBuilder {
        self.with(|request| {
            request.timeout = Some(timeout);
            Ok(())
        })
    }

    /// The HTTP version to use. `HTTP_2` requires a connection that speaks HTTP/2 (negotiated through
    /// ALPN over https, or a client built with `http2_prior_knowledge`); over an HTTP/1.1 connection the
    /// request fails with a request error.
    pub fn version(self, version: Version) -> RequestBuilder {
        self.with(|request| {
            request.version = version;
            Ok(())
        })
    }

    /// Returns the request, or the first error met while building it.
    pub fn build(self) -> Result<Request, Error> {
        self.request
    }

    /// The client and the request, to send later or elsewhere.
    pub fn build_split(self) -> (Client, Result<Request, Error>) {
        (self.client, self.request)
    }

    /// A copy of the builder, or `None` when the body is a stream or the builder holds an error.
    pub fn try_clone(&self) -> Option<RequestBuilder> {
        let request = self.request.as_ref().ok()?.try_clone()?;
        Some(RequestBuilder {
            client: self.client.clone(),
            request: Ok(request),
        })
    }

    /// Sends the request; the [`Pending`](crate::Pending) future resolves to the response once its
    /// head has arrived.
    pub fn send(self) -> crate::Pending {
        self.client.send_request(self.request)
    }

    /// Changes nothing: the request mode of reqwest's WASM `fetch`, accepted so code written for it
    /// compiles.
    #[doc(hidden)]
    pub fn fetch_mode_no_cors(self) -> RequestBuilder {
        self
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.request {
            Ok(request) => fmt::Debug::fmt(request, f),
            Err(err) => f.debug_tuple("RequestBuilder").field(err).finish(),
        }
    }
}

/// Inserts `new` into `dst`, replacing every existing value of each name `new` holds and keeping all of
/// `new`'s values (a `HeaderMap` may hold several values per name).
pub(crate) fn replace_headers(dst: &mut HeaderMap, new: HeaderMap) {
    let mut current: Option<HeaderName> = None;
    for (name, value) in new {
        match name {
            Some(name) => {
                dst.insert(name.clone(), value);
                current = Some(name);
            }
            None => {
                if let Some(name) = &current {
                    dst.append(name.clone(), value);
                }
            }
        }
    }
}

/// Turns `user:pass@` in the URL into `Authorization: Basic` (replacing the request's own if
/// `replace`, else unless it has one) and removes them from the URL, so they appear in no log, error
/// or `Response::url()`. The redirect layer drops the header on any hop to another origin.
pub(crate) fn move_credentials_to_header(
    url: &mut LazyUrl,
    headers: &mut HeaderMap,
    replace: bool,
) {
    if !url.has_credentials() {
        return;
    }
    let url = url.url_mut();
    if let Some((username, password)) = courier_core::urls::credentials(url) {
        let value = courier_core::auth::basic_header(&username, &password);
        if replace {
            headers.insert(AUTHORIZATION, value);
        } else {
            courier_core::headers::insert_if_absent(headers, AUTHORIZATION, &value);
        }
    }
    courier_core::urls::remove_credentials(url);
}
