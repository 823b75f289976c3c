//! [`Sessions`]: the Digest challenges a client has answered, so later requests to the same origin
//! with the same credentials answer them at once and count the nonce's uses (RFC 7616 §3.4: `nc`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::credentials::{Credentials, Origin};
use super::digest::{self, DigestChallenge};

/// The most sessions kept: past it, an arbitrary one is forgotten (it is only an optimisation: a
/// forgotten session costs one more 401).
const MAX_SESSIONS: usize = 256;

/// Whose session: who asked (the origin server with a 401, or a proxy with a 407, by its origin),
/// and with which credentials. Other credentials for the same origin are another session: a user
/// never answers with a nonce (and `-sess` key, and count) another user's answer started.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SessionKey {
    proxy: bool,
    origin: Origin,
    /// [`Credentials::fingerprint`]: the key holds no password (it is a keyed hash, which no one
    /// can test guesses against).
    credentials: u64,
}

impl SessionKey {
    /// The session of `credentials` with the origin server `origin`.
    pub(crate) fn server(origin: Origin, credentials: &Credentials) -> SessionKey {
        SessionKey {
            proxy: false,
            origin,
            credentials: credentials.fingerprint(),
        }
    }

    /// The session of `credentials` with the proxy at `origin`.
    pub(crate) fn proxy(origin: Origin, credentials: &Credentials) -> SessionKey {
        SessionKey {
            proxy: true,
            origin,
            credentials: credentials.fingerprint(),
        }
    }
}

struct Session {
    challenge: DigestChallenge,
    /// Uses of `challenge.nonce` so far.
    nc: u32,
    /// The client nonce of the nonce's first use: a `-sess` session key is computed once, with it
    /// (RFC 7616 §3.4.2), so every later answer to that nonce sends it again.
    cnonce: String,
}

/// One more use of a session's nonce: its count, and the client nonce to send.
pub(crate) struct Use {
    pub(crate) nc: u32,
    pub(crate) cnonce: String,
}

impl Session {
    fn new(challenge: DigestChallenge) -> Session {
        Session {
            challenge,
            nc: 0,
            cnonce: digest::cnonce(),
        }
    }

    fn next_use(&mut self) -> Use {
        self.nc = self.nc.saturating_add(1);
        Use {
            nc: self.nc,
            // Plain algorithms take a fresh client nonce each time.
            cnonce: if self.challenge.algorithm.sess {
                self.cnonce.clone()
            } else {
                digest::cnonce()
            },
        }
    }
}

/// Puts `session` in `key`'s place, first evicting another session if the table is full.
fn insert(table: &mut HashMap<SessionKey, Session>, key: &SessionKey, session: Session) {
    if !table.contains_key(key) && table.len() >= MAX_SESSIONS {
        if let Some(evicted) = table.keys().next().cloned() {
            table.remove(&evicted);
        }
    }
    table.insert(key.clone(), session);
}

/// The shared table, cloned with the layer (clones share it).
#[derive(Clone, Default)]
pub(crate) struct Sessions {
    table: Arc<Mutex<HashMap<SessionKey, Session>>>,
}

impl Sessions {
    /// The challenge last answered for `key`, to answer again before being asked.
    pub(crate) fn challenge(&self, key: &SessionKey) -> Option<DigestChallenge> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.get(key).map(|s| s.challenge.clone())
    }

    /// Records one more use of `challenge` for `key`: its nonce count (1 for a new nonce) and the
    /// client nonce to answer with.
    ///
    /// `fresh`: the challenge came with a response to this request, and starts a new session when its
    /// nonce is new. A remembered challenge (from [`challenge`](Sessions::challenge)) never replaces
    /// or brings back a session: if another request replaced or forgot it meanwhile, this use is a
    /// one-off (`nc` 1), and the newer session stays.
    pub(crate) fn count_use(
        &self,
        key: &SessionKey,
        challenge: &DigestChallenge,
        fresh: bool,
    ) -> Use {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = table.get_mut(key) {
            if session.challenge.nonce == challenge.nonce {
                return session.next_use();
            }
        }
        let mut session = Session::new(challenge.clone());
        let first = session.next_use();
        if fresh {
            insert(&mut table, key, session);
        }
        first
    }

    /// Keeps `challenge` for `key`'s next request to answer before being asked, unused: for a
    /// request that could not answer it itself (its body a stream, which cannot be sent twice).
    pub(crate) fn remember(&self, key: &SessionKey, challenge: &DigestChallenge) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table
            .get(key)
            .is_none_or(|session| session.challenge.nonce != challenge.nonce)
        {
            insert(&mut table, key, Session::new(challenge.clone()));
        }
    }

    /// The server named the nonce to use next (`Authentication-Info: nextnonce`).
    pub(crate) fn next_nonce(&self, key: &SessionKey, nonce: String) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = table.get_mut(key) {
            session.challenge.nonce = nonce;
            // A new nonce is a new session: a new client nonce (and `-sess` key) with it.
            *session = Session::new(session.challenge.clone());
        }
    }

    /// The credentials were refused: stop answering for `key` before being asked.
    pub(crate) fn forget(&self, key: &SessionKey) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::super::digest::Algorithm;
    use super::*;

    fn challenge(nonce: &str) -> DigestChallenge {
        DigestChallenge {
            realm: "r".to_owned(),
            nonce: nonce.to_owned(),
            opaque: None,
            algorithm: Algorithm::parse(Some("MD5-sess")).unwrap(),
            qop_auth: true,
            qop_auth_int: false,
            stale: false,
            userhash: false,
        }
    }

    fn origin() -> Origin {
        Origin::of(&"http://127.0.0.1:8080/".parse().unwrap()).unwrap()
    }

    fn key() -> SessionKey {
        SessionKey::server(origin(), &Credentials::new("ada", "pw"))
    }

    /// Other credentials (even another password alone), or the proxy at the same origin: other
    /// sessions. The key shows no password.
    #[test]
    fn keys_tell_credentials_and_parties_apart_without_the_password() {
        let ada = Credentials::new("ada", "pw");
        assert_eq!(key(), SessionKey::server(origin(), &ada.clone()));
        for other in [
            SessionKey::server(origin(), &Credentials::new("bob", "pw")),
            SessionKey::server(origin(), &Credentials::new("ada", "pw2")),
            SessionKey::proxy(origin(), &ada),
        ] {
            assert_ne!(key(), other);
        }
        let sessions = Sessions::default();
        sessions.count_use(&key(), &challenge("a"), true);
        let bob = SessionKey::server(origin(), &Credentials::new("bob", "pw"));
        assert!(sessions.challenge(&bob).is_none());
        let shown = format!("{:?}", key());
        assert!(!shown.contains("pw"), "{shown}");
    }

    /// A request remembered nonce `a`; meanwhile another request answered a fresh challenge `b`. The
    /// first request's use of `a` must not bring `a` back with nc 1.
    #[test]
    fn a_remembered_challenge_never_replaces_a_newer_session() {
        let sessions = Sessions::default();
        assert_eq!(sessions.count_use(&key(), &challenge("a"), true).nc, 1);
        let remembered = sessions.challenge(&key()).unwrap();
        let b = sessions.count_use(&key(), &challenge("b"), true);
        assert_eq!(b.nc, 1);

        let late = sessions.count_use(&key(), &remembered, false);
        assert_eq!(late.nc, 1);
        assert_eq!(sessions.challenge(&key()).unwrap().nonce, "b");
        let next = sessions.count_use(&key(), &challenge("b"), false);
        assert_eq!(next.nc, 2);
        // -sess: the session's cnonce, not the one-off's.
        assert_eq!(next.cnonce, b.cnonce);
        assert_ne!(late.cnonce, b.cnonce);

        // Forgotten (credentials refused) meanwhile: not brought back either.
        sessions.forget(&key());
        assert_eq!(sessions.count_use(&key(), &remembered, false).nc, 1);
        assert!(sessions.challenge(&key()).is_none());
        // A fresh challenge starts a session.
        sessions.count_use(&key(), &challenge("c"), true);
        assert_eq!(sessions.count_use(&key(), &challenge("c"), false).nc, 2);
    }
}
