//! [`Sessions`]: the Digest challenges a client has answered, so later requests to the same origin
//! answer them at once and count the nonce's uses (RFC 7616 §3.4: `nc`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::credentials::Origin;
use super::digest::{self, DigestChallenge};

/// The most sessions kept: past it, an arbitrary one is forgotten (it is only an optimisation: a
/// forgotten session costs one more 401).
const MAX_SESSIONS: usize = 256;

/// Who asked: the origin server (401) or a proxy (407), each by its origin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SessionKey {
    Server(Origin),
    Proxy(Origin),
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
    pub(crate) fn count_use(&self, key: &SessionKey, challenge: &DigestChallenge) -> Use {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = table.get_mut(key) {
            if session.challenge.nonce == challenge.nonce {
                return session.next_use();
            }
        } else if table.len() >= MAX_SESSIONS {
            if let Some(evicted) = table.keys().next().cloned() {
                table.remove(&evicted);
            }
        }
        let mut session = Session::new(challenge.clone());
        let first = session.next_use();
        table.insert(key.clone(), session);
        first
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
