//! [`Party`]: one party that may challenge a request (the origin server, or a proxy), the
//! credentials that answer it, and what was sent to it so far. The one place that decides whether a
//! challenge is answered and makes the answer: the auth layer's handshake and the transport's
//! `CONNECT` both use it.

use http::HeaderValue;

use super::basic::basic_header;
use super::challenge::Challenge;
use super::credentials::{Credentials, Origin};
use super::digest::{self, DigestChallenge, Exchange, Qop};
use super::session::{SessionKey, Sessions};

/// One party that may challenge the request, and its credentials.
pub(crate) struct Party {
    credentials: Credentials,
    key: SessionKey,
    sessions: Sessions,
    answer: Option<Answer>,
    sent: Sent,
}

enum Answer {
    Digest(DigestChallenge, Qop),
    Basic(HeaderValue),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Nothing yet.
    Nothing,
    /// An answer to the challenge remembered from an earlier request.
    Remembered,
    /// An answer to this party's challenge to this request.
    Asked,
}

impl Party {
    /// The origin server at `origin`, answered with `credentials`; its Digest session is kept in
    /// `sessions`.
    pub(crate) fn server(origin: Origin, credentials: Credentials, sessions: &Sessions) -> Party {
        let key = SessionKey::server(origin, &credentials);
        Party::new(credentials, key, sessions)
    }

    /// The proxy at `origin` (its `scheme://host:port`), answered with `credentials`.
    pub(crate) fn proxy(origin: Origin, credentials: Credentials, sessions: &Sessions) -> Party {
        let key = SessionKey::proxy(origin, &credentials);
        Party::new(credentials, key, sessions)
    }

    fn new(credentials: Credentials, key: SessionKey, sessions: &Sessions) -> Party {
        Party {
            credentials,
            key,
            sessions: sessions.clone(),
            answer: None,
            sent: Sent::Nothing,
        }
    }

    /// Answers the challenge remembered from an earlier request, before being asked (unless its
    /// qop needs the body and `body_known` is false).
    pub(crate) fn answer_remembered(&mut self, body_known: bool) {
        if let Some(challenge) = self.sessions.challenge(&self.key) {
            if let Some(qop) = challenge.choose_qop(body_known) {
                self.answer = Some(Answer::Digest(challenge, qop));
                self.sent = Sent::Remembered;
            }
        }
    }

    /// This party answered with `challenges` (a 401's `WWW-Authenticate`, a 407's
    /// `Proxy-Authenticate`). True when they are to be answered: the answer is kept for
    /// [`header_value`](Party::header_value). False when they cannot or must not be: no Digest
    /// challenge these credentials can answer (nor a Basic one they may), a fresh answer refused
    /// without `stale` (wrong credentials: no loop), or `may_retry` false; the session, if one was
    /// answered, is then forgotten.
    pub(crate) fn challenged(
        &mut self,
        challenges: &[Challenge],
        body_known: bool,
        may_retry: bool,
    ) -> bool {
        let answer = match DigestChallenge::best(challenges) {
            // A fresh answer refused without `stale`: the credentials are wrong.
            Some(challenge) if self.sent == Sent::Asked && !challenge.stale => None,
            Some(challenge) => challenge
                .choose_qop(body_known)
                .map(|qop| Answer::Digest(challenge, qop)),
            None if self.sent == Sent::Nothing
                && self.credentials.allows_basic()
                && challenges.iter().any(|c| c.scheme == "basic") =>
            {
                Some(Answer::Basic(basic_header(
                    self.credentials.username(),
                    self.credentials.password(),
                )))
            }
            None => None,
        };
        match answer {
            Some(answer) if may_retry => {
                self.answer = Some(answer);
                self.sent = Sent::Asked;
                true
            }
            _ => {
                if self.sent != Sent::Nothing {
                    self.sessions.forget(&self.key);
                }
                false
            }
        }
    }

    /// The request cannot answer the challenge it was given (its body cannot be sent again): keep
    /// a Digest challenge for the next request to answer at once, as curl's second round does.
    pub(crate) fn remember_for_next(&self) {
        if let Some(Answer::Digest(challenge, _)) = &self.answer {
            self.sessions.remember(&self.key, challenge);
        }
    }

    /// True when there is an answer to send.
    pub(crate) fn has_answer(&self) -> bool {
        self.answer.is_some()
    }

    /// The `Authorization` (or `Proxy-Authorization`) value for a request with `method`,
    /// request-target `uri` and `body` (for `auth-int`), marked sensitive; `None` when there is no
    /// answer (or a realm, nonce or opaque with control characters makes it no header value). A
    /// Digest answer counts one more use of its nonce.
    pub(crate) fn header_value(
        &self,
        method: &str,
        uri: &str,
        body: Option<&[u8]>,
    ) -> Option<HeaderValue> {
        let mut value = match self.answer.as_ref()? {
            Answer::Basic(value) => value.clone(),
            Answer::Digest(challenge, qop) => {
                let fresh = self.sent == Sent::Asked;
                let nonce_use = self.sessions.count_use(&self.key, challenge, fresh);
                let value = digest::authorization(
                    challenge,
                    &self.credentials,
                    &Exchange {
                        method,
                        uri,
                        qop: *qop,
                        body: body.unwrap_or_default(),
                        nc: nonce_use.nc,
                        cnonce: &nonce_use.cnonce,
                    },
                );
                HeaderValue::try_from(value).ok()?
            }
        };
        value.set_sensitive(true);
        Some(value)
    }

    /// The party accepted the answer; `info` is its `Authentication-Info` (or
    /// `Proxy-Authentication-Info`), which may name the nonce to use next (RFC 7616 §3.5).
    pub(crate) fn accepted(&self, info: Option<&HeaderValue>) {
        if !matches!(self.answer, Some(Answer::Digest(..))) {
            return;
        }
        let next = info
            .and_then(Challenge::info_params)
            .and_then(|info| info.param("nextnonce").map(str::to_owned));
        if let Some(nonce) = next {
            self.sessions.next_nonce(&self.key, nonce);
        }
    }
}
