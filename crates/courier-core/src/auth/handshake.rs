//! [`Handshake`]: what one request keeps while it answers challenges, and the decision for each
//! response (a pure function of the response; polling lives in `future.rs`).

use http::header::{
    HeaderName, AUTHORIZATION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE,
};
use http::{HeaderMap, Request, Response, StatusCode};

use super::challenge::Challenge;
use super::credentials::{Origin, RequestCredentials};
use super::layer::Config;
use super::party::Party;
use crate::body::{ReplayBody, TryCloneBody};
use crate::redirect::OriginalUri;
use crate::resend::RequestCopy;

const AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("authentication-info");
const PROXY_AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("proxy-authentication-info");

/// The most times one request is sent again: a proxy challenge, a server challenge, and one stale
/// nonce. A server that keeps answering `stale=true` gets its 401 back after that.
const MAX_RETRIES: u8 = 3;

/// What to do after a response.
pub(super) enum Step<ResB, ReqB> {
    /// Return this response.
    Done(Response<ResB>),
    /// Send this request next.
    Again(Request<ReqB>),
}

#[derive(Clone, Copy)]
enum Who {
    Server,
    Proxy,
}

impl Who {
    fn challenge_header(self) -> HeaderName {
        match self {
            Who::Server => WWW_AUTHENTICATE,
            Who::Proxy => PROXY_AUTHENTICATE,
        }
    }

    fn answer_header(self) -> HeaderName {
        match self {
            Who::Server => AUTHORIZATION,
            Who::Proxy => PROXY_AUTHORIZATION,
        }
    }
}

/// Everything needed to send the request again with credentials.
pub(super) struct Handshake<S, B> {
    /// A clone of the inner service for the next attempts.
    pub(super) service: S,
    /// The request's own head, without the answers added here.
    head: RequestCopy,
    body: ReplayBody<B>,
    server: Option<Party>,
    proxy: Option<Party>,
    retries: u8,
}

impl<S, B> Handshake<S, B>
where
    B: http_body::Body + Default + TryCloneBody,
{
    /// Finds the credentials for `req`; `None` when there are none (the request then goes as it is).
    /// Answers challenges remembered from earlier requests at once, in `req`'s headers.
    pub(super) fn start(
        service: impl FnOnce() -> S,
        config: &std::sync::Arc<Config>,
        req: &mut Request<B>,
    ) -> Option<Self> {
        let sessions = &config.sessions;
        let server = if req.headers().contains_key(AUTHORIZATION) {
            None
        } else {
            let carried = req.extensions().get::<RequestCredentials>();
            if carried.is_none() && config.store.is_empty() {
                None
            } else {
                Origin::of(req.uri()).and_then(|origin| {
                    // The caller's origin, for what a hop to another may not have.
                    let first = req
                        .extensions()
                        .get::<OriginalUri>()
                        .and_then(|first| Origin::of(first.uri()))
                        .unwrap_or_else(|| origin.clone());
                    let credentials = carried
                        .and_then(|c| c.for_origin(&origin))
                        .or_else(|| config.store.lookup_hop(&origin, &first))?
                        .clone();
                    Some(Party::server(origin, credentials, sessions))
                })
            }
        };
        // Only a proxy that reads the request (absolute form) may be answered: anything else that
        // answers 407 is the origin, and gets nothing meant for the proxy.
        let proxy = match &config.proxy {
            Some((credentials, routes)) if !req.headers().contains_key(PROXY_AUTHORIZATION) => {
                routes
                    .forwarding_proxy(req.uri())
                    .and_then(|proxy| Origin::of(&proxy))
                    .map(|proxy| Party::proxy(proxy, credentials.clone(), sessions))
            }
            _ => None,
        };
        if server.is_none() && proxy.is_none() {
            return None;
        }
        let mut handshake = Handshake {
            service: service(),
            head: RequestCopy::of(req),
            body: ReplayBody::of(req.body()),
            server,
            proxy,
            retries: 0,
        };
        let body_known = handshake.body.bytes().is_some();
        for who in [Who::Server, Who::Proxy] {
            if let Some(party) = handshake.party(who) {
                party.answer_remembered(body_known);
            }
        }
        handshake.add_answers(req.headers_mut(), handshake.body.bytes());
        Some(handshake)
    }

    fn party(&mut self, who: Who) -> Option<&mut Party> {
        match who {
            Who::Server => self.server.as_mut(),
            Who::Proxy => self.proxy.as_mut(),
        }
    }

    /// Decides what follows `res`: return it, or send the request again with (new) answers.
    pub(super) fn next<ResB>(&mut self, res: Response<ResB>) -> Step<ResB, B> {
        let who = match res.status() {
            StatusCode::UNAUTHORIZED => Who::Server,
            StatusCode::PROXY_AUTHENTICATION_REQUIRED => Who::Proxy,
            _ => {
                self.note_next_nonces(res.headers());
                return Step::Done(res);
            }
        };
        let may_retry = self.retries < MAX_RETRIES;
        let body_known = self.body.bytes().is_some();
        let Some(party) = self.party(who) else {
            return Step::Done(res);
        };
        let challenges = Challenge::parse_all(res.headers().get_all(who.challenge_header()));
        if !party.challenged(&challenges, body_known, may_retry) {
            return Step::Done(res);
        }
        // A stream cannot be sent again: the caller gets the challenge, and the client's next
        // request to this origin answers it before being asked.
        let Some(body) = self.body.take() else {
            if let Some(party) = self.party(who) {
                party.remember_for_next();
            }
            return Step::Done(res);
        };
        // The challenge's body is dropped unread.
        drop(res);
        self.retries += 1;

        let (mut head, body) = self.head.with_body(body).into_parts();
        self.add_answers(&mut head.headers, body.buffered_bytes());
        Step::Again(Request::from_parts(head, body))
    }

    /// An accepted answer may name the nonce to use next (`Authentication-Info: nextnonce`).
    fn note_next_nonces(&self, headers: &HeaderMap) {
        for (name, party) in [
            (AUTHENTICATION_INFO, &self.server),
            (PROXY_AUTHENTICATION_INFO, &self.proxy),
        ] {
            if let Some(party) = party {
                party.accepted(headers.get(name));
            }
        }
    }

    /// Writes each party's answer into `headers`.
    fn add_answers(&self, headers: &mut HeaderMap, body: Option<&[u8]>) {
        for (who, party) in [(Who::Server, &self.server), (Who::Proxy, &self.proxy)] {
            let Some(party) = party.as_ref().filter(|p| p.has_answer()) else {
                continue;
            };
            let uri = match who {
                // The request-target as the origin server sees it.
                Who::Server => self
                    .head
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
                // A proxy sees the absolute form.
                Who::Proxy => self.head.uri.to_string(),
            };
            if let Some(value) = party.header_value(self.head.method.as_str(), &uri, body) {
                headers.insert(who.answer_header(), value);
            }
        }
    }
}
