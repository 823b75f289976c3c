//! A request the cache sends to the origin, and what it does with the response: store it (teeing the
//! body), update a stored entry from a `HEAD`, and mark it.

use std::sync::Arc;
use std::time::SystemTime;

use http::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use http::{HeaderMap, Method, Response, StatusCode};
use http_body::Body;

use super::body::{CacheBody, Writer};
use super::handle::Cache;
use super::policy::{self, Age, Directives};
use super::respond::mark;
use super::status::{CacheStatus, Forward, Report};
use super::store::Entry;

/// Makes `headers` a conditional request for `stored` (RFC 9111 §4.3.1): `If-None-Match` with its
/// `ETag`, `If-Modified-Since` with its `Last-Modified`. `false` when it has no validator.
pub(crate) fn add_validators(headers: &mut HeaderMap, stored: &HeaderMap) -> bool {
    let mut any = false;
    if let Some(etag) = stored.get(ETAG) {
        headers.insert(IF_NONE_MATCH, etag.clone());
        any = true;
    }
    if let Some(modified) = stored.get(LAST_MODIFIED) {
        headers.insert(IF_MODIFIED_SINCE, modified.clone());
        any = true;
    }
    any
}

/// The age of a stored entry now.
pub(crate) fn age_of(entry: &Entry, now: SystemTime) -> Age {
    let directives = Directives::of(&entry.headers);
    Age {
        current: policy::current_age(&entry.headers, entry.request_time, entry.response_time, now),
        lifetime: policy::freshness_lifetime(
            entry.status,
            &entry.headers,
            &directives,
            entry.response_time,
        ),
    }
}

/// What the cache needs to finish a request it forwarded.
pub(crate) struct Forwarded {
    pub(crate) cache: Cache,
    pub(crate) key: String,
    pub(crate) method: Method,
    pub(crate) request_headers: HeaderMap,
    pub(crate) request: Directives,
    pub(crate) request_time: SystemTime,
    pub(crate) forward: Forward,
    /// For a `HEAD`: the stored `GET` its response may update (RFC 9111 §4.3.5).
    pub(crate) head_of: Option<Arc<Entry>>,
}

impl Forwarded {
    /// Marks the origin's response and, when it may be stored, stores it as the caller reads it.
    pub(crate) fn finish<B: Body>(self, response: Response<B>) -> Response<CacheBody<B>> {
        let status = response.status();
        let mut report = Report {
            forward: Some(self.forward),
            fwd_status: Some(status.as_u16()),
            ..Report::default()
        };
        if self.forward == Forward::Bypass || self.forward == Forward::Method {
            let mut response = response.map(CacheBody::pass);
            mark(&mut response, CacheStatus::Bypass, report);
            return response;
        }
        if self.method == Method::HEAD {
            if let Some(stored) = &self.head_of {
                self.update_from_head(stored, &response);
            }
            let mut response = response.map(CacheBody::pass);
            mark(&mut response, CacheStatus::Miss { stored: false }, report);
            return response;
        }
        let directives = Directives::of(response.headers());
        let vary = policy::vary_key(
            response.headers(),
            &self.request_headers,
            self.cache.secret(),
        );
        let fits = response
            .body()
            .size_hint()
            .exact()
            .is_none_or(|len| len <= self.cache.entry_limit());
        let storable = fits
            && policy::storable(
                &self.method,
                &self.request,
                status,
                response.headers(),
                &directives,
            );
        match vary {
            Some(vary) if storable => {
                let mut headers = response.headers().clone();
                policy::strip_hop_by_hop(&mut headers);
                let entry = Entry {
                    status,
                    version: response.version(),
                    headers,
                    request_time: self.request_time,
                    response_time: self.cache.now(),
                    vary,
                    body: bytes::Bytes::new(),
                };
                let writer = Writer::new(self.cache, self.key, entry);
                report.stored = true;
                let mut response = response.map(|body| CacheBody::tee(body, writer));
                mark(&mut response, CacheStatus::Miss { stored: true }, report);
                response
            }
            _ => {
                let mut response = response.map(CacheBody::pass);
                mark(&mut response, CacheStatus::Miss { stored: false }, report);
                response
            }
        }
    }

    /// A `200` to a `HEAD` whose validators match the stored `GET` updates its headers.
    fn update_from_head<B>(&self, stored: &Entry, response: &Response<B>) {
        if response.status() != StatusCode::OK
            || !policy::validators_match(&stored.headers, response.headers())
            || (!response.headers().contains_key(ETAG)
                && !response.headers().contains_key(LAST_MODIFIED))
        {
            return;
        }
        self.update(stored, response.headers());
    }

    /// Stores `stored` with the headers of a `304` or `HEAD` response, received now; returns it. Headers
    /// that forbid storing (`no-store`, `Vary: *`), or a request that said `no-store`, take the entry
    /// out of the cache instead: the response is served this once.
    pub(crate) fn update(&self, stored: &Entry, fresh: &HeaderMap) -> Entry {
        let mut updated = stored.clone();
        let now = self.cache.now();
        policy::update_headers(&mut updated.headers, fresh, now);
        updated.request_time = self.request_time;
        updated.response_time = now;
        if self.request.no_store
            || policy::Directives::of(&updated.headers).no_store
            || policy::vary_names(&updated.headers).is_none()
        {
            self.cache.remove_key(&self.key);
        } else {
            self.cache.put(&self.key, updated.clone());
        }
        updated
    }
}

/// Whether the caller made the request conditional itself (then the cache passes it through).
pub(crate) fn has_own_conditionals(headers: &HeaderMap) -> bool {
    [
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        http::header::IF_MATCH,
        http::header::IF_UNMODIFIED_SINCE,
        http::header::IF_RANGE,
    ]
    .iter()
    .any(|name| headers.contains_key(name))
}
