//! [`Sessions`]: the Digest challenges a client has answered, so later requests to the same origin
//! answer them at once and count the nonce's uses (RFC 7616 §3.4: `nc`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::credentials::Origin;
use super::digest::DigestChallenge;

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

    /// Records one more use of `challenge` for `key` and returns its nonce count: 1 for a new nonce.
    pub(crate) fn count_use(&self, key: &SessionKey, challenge: &DigestChallenge) -> u32 {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = table.get_mut(key) {
            if session.challenge.nonce == challenge.nonce {
                session.nc = session.nc.saturating_add(1);
                return session.nc;
            }
        } else if table.len() >= MAX_SESSIONS {
            if let Some(evicted) = table.keys().next().cloned() {
                table.remove(&evicted);
            }
        }
        table.insert(
            key.clone(),
            Session {
                challenge: challenge.clone(),
                nc: 1,
            },
        );
        1
    }

    /// The server named the nonce to use next (`Authentication-Info: nextnonce`).
    pub(crate) fn next_nonce(&self, key: &SessionKey, nonce: String) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(session) = table.get_mut(key) {
            session.challenge.nonce = nonce;
            session.nc = 0;
        }
    }

    /// The credentials were refused: stop answering for `key` before being asked.
    pub(crate) fn forget(&self, key: &SessionKey) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(key);
    }
}
