//! [`Chain`]: the state one request keeps while it is redirected, and the decision for each response.

use std::mem;

use http::header::LOCATION;
use http::{Method, Request, Response};
use url::Url;

use super::attempt::{ActionKind, Attempt};
use super::error::{InsecureRedirect, InvalidLocation, RedirectLoop};
use super::history::{Hop, RedirectHistory};
use super::original::OriginalUri;
use super::policy::Policy;
use super::rules;
use crate::body::{ReplayBody, TryCloneBody};
use crate::error::Error;
use crate::resend::RequestCopy;

/// What to do after a response.
pub(super) enum Step<ResB, ReqB> {
    /// Return this response.
    Done(Response<ResB>),
    /// Send this request next, once the redirect's body (the second field) is read or given up on.
    Follow(Request<ReqB>, ResB),
}

/// Everything needed to build the next hop's request. The original request went to the inner
/// service, so its parts are kept here (headers cloned, body cloned when it can be).
pub(super) struct Chain<S, B> {
    /// A clone of the inner service for the next hops.
    pub(super) service: S,
    policy: Policy,
    /// The head of the next hop's request.
    head: RequestCopy,
    body: ReplayBody<B>,
    /// Every URL requested, the current one last; parsed only once a redirect arrives, so empty
    /// until then.
    urls: Vec<Url>,
    /// The method of each request in `urls`.
    methods: Vec<Method>,
    /// The redirect responses followed: one per URL of `urls` but the last.
    hops: Vec<Hop>,
}

impl<S, B> Chain<S, B>
where
    B: http_body::Body + Default + TryCloneBody,
{
    pub(super) fn new(service: S, policy: Policy, req: &Request<B>) -> Self {
        Chain {
            service,
            policy,
            head: RequestCopy::of(req),
            body: ReplayBody::of(req.body()),
            urls: Vec::new(),
            methods: Vec::new(),
            hops: Vec::new(),
        }
    }

    /// The URL of the request in flight, once known.
    pub(super) fn current_url(&self) -> Option<&Url> {
        self.urls.last()
    }

    /// Decides what follows `res`: return it, send another request, or fail.
    pub(super) fn next<ResB>(&mut self, res: Response<ResB>) -> Result<Step<ResB, B>, Error> {
        let status = res.status();
        let Some(rewrite) = rules::rewrite(status, &self.head.method) else {
            return Ok(Step::Done(self.finish(res)));
        };
        // Without a Location there is nowhere to go: the 3xx is the answer.
        let Some(location) = res.headers().get(LOCATION) else {
            return Ok(Step::Done(self.finish(res)));
        };
        let next_body = if rewrite.drop_body {
            B::default()
        } else {
            match self.body.take() {
                Some(body) => body,
                // A streamed body is gone: the caller gets the redirect and can decide.
                None => return Ok(Step::Done(self.finish(res))),
            }
        };

        if self.urls.is_empty() {
            let mut url = crate::urls::to_url(&self.head.uri).map_err(|err| {
                Error::redirect(InvalidLocation::new(
                    location.as_bytes(),
                    format!(
                        "cannot resolve it against the request URI {}: {err}",
                        crate::urls::mask_userinfo(&self.head.uri.to_string())
                    ),
                ))
            })?;
            // The history and the errors show URLs: never a password the request URI carried (the
            // transport sends it in no request line either).
            crate::urls::remove_credentials(&mut url);
            self.urls.push(url);
            self.methods.push(self.head.method.clone());
            // Every hop says where the chain started (layers below tell hops from first requests).
            self.head.extensions.insert(OriginalUri::new(
                crate::urls::uri_without_userinfo(&self.head.uri)
                    .unwrap_or_else(|| self.head.uri.clone()),
            ));
        }
        let current = &self.urls[self.urls.len() - 1];
        let fail = |cause| Error::redirect(cause).with_url(current.clone());

        let next = rules::resolve_location(current, location).map_err(fail)?;
        match self
            .policy
            .redirect(Attempt::new(status, &next, &self.urls))
            .kind
        {
            ActionKind::Follow => {}
            ActionKind::Stop => return Ok(Step::Done(self.finish(res))),
            ActionKind::Error(cause) => return Err(fail(cause)),
        }
        if current.scheme() == "https"
            && next.scheme() == "http"
            && !self.policy.allows_https_downgrade()
        {
            return Err(fail(
                InsecureRedirect::new(current.clone(), next.clone()).into(),
            ));
        }
        if self.repeats_a_hop(&rewrite.method, &next) {
            let mut chain = self.urls.clone();
            chain.push(next);
            return Err(fail(RedirectLoop::new(chain).into()));
        }
        let uri = rules::request_uri(&next).map_err(fail)?;

        if rewrite.drop_body {
            rules::remove_body_headers(self.head.headers.map_mut());
            self.body = ReplayBody::Empty;
        }
        if !rules::same_origin(current, &next) {
            rules::remove_origin_headers(self.head.headers.map_mut());
        }
        if self.policy.sends_referer() {
            rules::set_referer(self.head.headers.map_mut(), current, &next);
        }
        // The redirect's head is kept in the history; its body goes back to be read.
        self.hops.push(Hop::of(current.clone(), &res));
        let redirect_body = res.into_body();

        self.head.method = rewrite.method;
        self.head.uri = uri;
        self.urls.push(next);
        self.methods.push(self.head.method.clone());
        Ok(Step::Follow(self.head.with_body(next_body), redirect_body))
    }

    /// A loop is a hop taken twice: the same request redirected to the same next request. A repeated
    /// URL alone is not one (a server may set a cookie and redirect to the same URL once).
    fn repeats_a_hop(&self, next_method: &Method, next: &Url) -> bool {
        let cur = self.urls.len() - 1;
        (0..cur).any(|i| {
            self.urls[i] == self.urls[cur]
                && self.methods[i] == self.methods[cur]
                && self.urls[i + 1] == *next
                && self.methods[i + 1] == *next_method
        })
    }

    /// The response to return, with the history when a redirect was followed.
    fn finish<ResB>(&mut self, mut res: Response<ResB>) -> Response<ResB> {
        if let Some(history) =
            RedirectHistory::new(mem::take(&mut self.urls), mem::take(&mut self.hops))
        {
            res.extensions_mut().insert(history);
        }
        res
    }
}
