//! [`RequestBuilder`] of the blocking API: the async builder, sent by waiting.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Version;
use serde::Serialize;

use super::{Body, Client, Response};
use crate::Error;

/// Builds and sends a request from a blocking [`Client`]; the same methods as the async
/// [`crate::RequestBuilder`], with [`send`](RequestBuilder::send) returning when the response head
/// has arrived.
#[must_use = "a RequestBuilder does nothing until it is sent"]
pub struct RequestBuilder {
    client: Client,
    inner: crate::RequestBuilder,
}

impl RequestBuilder {
    pub(super) fn new(client: Client, inner: crate::RequestBuilder) -> RequestBuilder {
        RequestBuilder { client, inner }
    }

    fn map(self, f: impl FnOnce(crate::RequestBuilder) -> crate::RequestBuilder) -> RequestBuilder {
        RequestBuilder {
            inner: f(self.inner),
            client: self.client,
        }
    }

    /// Adds a header.
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.map(|b| b.header(name, value))
    }

    /// Adds headers, replacing earlier ones of the same names.
    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        self.map(|b| b.headers(headers))
    }

    /// Appends `query` to the URL's query string.
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> RequestBuilder {
        self.map(|b| b.query(query))
    }

    /// A `application/x-www-form-urlencoded` body.
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> RequestBuilder {
        self.map(|b| b.form(form))
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(self, json: &T) -> RequestBuilder {
        self.map(|b| b.json(json))
    }

    /// A `multipart/form-data` body.
    pub fn multipart(self, form: super::multipart::Form) -> RequestBuilder {
        self.map(|b| b.multipart(form.into_async()))
    }

    /// The body.
    pub fn body<B: Into<Body>>(self, body: B) -> RequestBuilder {
        let body = body.into().into_async();
        self.map(|b| b.body(body))
    }

    /// Basic authentication.
    pub fn basic_auth<U: fmt::Display, P: fmt::Display>(
        self,
        username: U,
        password: Option<P>,
    ) -> RequestBuilder {
        self.map(|b| b.basic_auth(username, password))
    }

    /// Bearer authentication.
    pub fn bearer_auth<T: fmt::Display>(self, token: T) -> RequestBuilder {
        self.map(|b| b.bearer_auth(token))
    }

    /// A timeout for this request: a total, body included, and the limit of each wait in place of
    /// the client's (see [`ClientBuilder::timeout`](super::ClientBuilder::timeout)).
    pub fn timeout(self, timeout: Duration) -> RequestBuilder {
        self.map(|b| b.timeout(timeout))
    }

    /// The HTTP version to ask for.
    pub fn version(self, version: Version) -> RequestBuilder {
        self.map(|b| b.version(version))
    }

    /// A builder for `request`, to send with `client` (reqwest's `RequestBuilder::from_parts`).
    ///
    /// ```no_run
    /// use courier::blocking::{Client, RequestBuilder};
    ///
    /// let client = Client::new();
    /// let request = client.get("http://127.0.0.1:8080/").build()?;
    /// let response = RequestBuilder::from_parts(client, request).header("x-late", "1").send()?;
    /// # drop(response);
    /// # Ok::<(), courier::Error>(())
    /// ```
    pub fn from_parts(client: Client, request: super::Request) -> RequestBuilder {
        let inner = crate::RequestBuilder::from_parts(client.inner.clone(), request);
        RequestBuilder::new(client, inner)
    }

    /// Builds the request without sending it.
    pub fn build(self) -> Result<super::Request, Error> {
        self.inner.build()
    }

    /// The client and the request, to send later or elsewhere (with [`Client::execute`]).
    pub fn build_split(self) -> (Client, Result<super::Request, Error>) {
        (self.client, self.inner.build())
    }

    /// A copy of the builder, or `None` when its body is a stream.
    pub fn try_clone(&self) -> Option<RequestBuilder> {
        Some(RequestBuilder {
            client: self.client.clone(),
            inner: self.inner.try_clone()?,
        })
    }

    /// Sends the request and waits for the response head.
    pub fn send(self) -> Result<Response, Error> {
        self.client.execute(self.inner.build()?)
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::RequestBuilder")
            .field("inner", &self.inner)
            .finish()
    }
}
