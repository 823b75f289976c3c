//! The server side of HTTP Digest (RFC 7616), written here independently of Courier: its own hashing,
//! nonces, nonce counts, stale nonces, `-sess` keys, `userhash`, `auth-int`. [`DigestServer`] answers
//! as an origin (401) or a forwarding proxy (407) behind a [`TestServer`], and checks a `CONNECT`'s
//! `Proxy-Authorization` for [`ProxyServer::digest`](crate::ProxyServer::digest).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::Response;
use sha2::Digest as _;

use crate::{full, respond, Recorded, ServerBody, TestServer};

/// The realm every challenge names.
pub const REALM: &str = "courier-tests@127.0.0.1";

/// `H(data)` as hex for a Digest algorithm name (`MD5`, `SHA-256-sess`, ...).
pub fn h(algorithm: &str, data: &[u8]) -> String {
    let base = algorithm.trim_end_matches("-sess");
    let bytes: Vec<u8> = match base {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-512-256" => sha2::Sha512_256::digest(data).to_vec(),
        other => panic!("test server: unknown algorithm {other}"),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters of `Digest a=b, c="d"` (this kit's own reading); `None` for another scheme.
pub fn params(value: &str) -> Option<Vec<(String, String)>> {
    let mut rest = value.strip_prefix("Digest ")?;
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            return Some(out);
        }
        let (name, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (quoted[..end].replace("\\\"", "\""), &quoted[end + 1..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            }
        };
        out.push((name.trim().to_owned(), value));
        rest = after;
    }
}

/// What the server makes of a request's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A right answer, from this user.
    Accepted(String),
    /// No answer, or a wrong one: challenge again (`stale=false`).
    Refused,
    /// A right answer to a nonce that is no longer good: challenge again with `stale=true`.
    Stale,
}

/// One nonce the server handed out.
#[derive(Default)]
struct Nonce {
    /// Accepted uses.
    uses: u32,
    last_nc: u32,
    /// The user whose answer it accepted first: the nonce's count and `-sess` key are theirs, and
    /// another user's answer to it is refused.
    user: Option<String>,
    /// For `-sess`: the session key (HA1) computed once, with the first accepted answer's cnonce
    /// (RFC 7616 §3.4.2).
    sess_key: Option<String>,
}

#[derive(Default)]
struct State {
    /// Challenges sent (each with a new nonce).
    challenges: u32,
    nonces: HashMap<String, Nonce>,
    /// Every `nc` accepted, in order.
    accepted_ncs: Vec<String>,
}

/// The server side of RFC 7616 for some users, one realm, one algorithm. Every nonce it handed out
/// stays good (for `nonce_uses` answers), as a server that keeps many clients' sessions does.
#[derive(Clone)]
pub struct DigestServer {
    /// `MD5`, `MD5-sess`, `SHA-256`, ...
    pub algorithm: &'static str,
    /// The `qop` offered; `None` for RFC 2069 style (no qop).
    pub qop: Option<&'static str>,
    /// Ask for the user name hashed.
    pub userhash: bool,
    /// User names and passwords; by default `Mufasa` / `Circle of Life`.
    pub users: Vec<(&'static str, &'static str)>,
    /// A nonce is good for this many answers; then it is `stale`.
    pub nonce_uses: u32,
    /// 401 for the origin server, 407 for a forwarding proxy (which checks the absolute URI).
    pub proxy: bool,
    state: Arc<Mutex<State>>,
}

impl DigestServer {
    /// `Mufasa` / `Circle of Life`, `algorithm`, `qop`; nonces good forever.
    pub fn new(algorithm: &'static str, qop: Option<&'static str>) -> Self {
        DigestServer {
            algorithm,
            qop,
            userhash: false,
            users: vec![("Mufasa", "Circle of Life")],
            nonce_uses: u32::MAX,
            proxy: false,
            state: Arc::default(),
        }
    }

    /// A new nonce, and the `Digest` challenge that carries it.
    pub fn challenge_value(&self, stale: bool) -> String {
        let mut state = self.state.lock().unwrap();
        state.challenges += 1;
        let nonce = format!(
            "nonce-{}-{}",
            state.challenges,
            h("MD5", &state.challenges.to_be_bytes())
        );
        state.nonces.insert(nonce.clone(), Nonce::default());
        let mut value = format!(
            "Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm={}, opaque=\"opaque-value\"",
            self.algorithm
        );
        if let Some(qop) = self.qop {
            value.push_str(&format!(", qop=\"{qop}\""));
        }
        if stale {
            value.push_str(", stale=true");
        }
        if self.userhash {
            value.push_str(", charset=UTF-8, userhash=true");
        }
        value
    }

    /// A 401 (or 407) with a Basic challenge and a Digest one (a client with Digest credentials
    /// must not use the Basic one).
    fn challenge(&self, stale: bool) -> Response<ServerBody> {
        let (status, header) = if self.proxy {
            (407, "proxy-authenticate")
        } else {
            (401, "www-authenticate")
        };
        Response::builder()
            .status(status)
            .header(header, format!("Basic realm=\"{REALM}\""))
            .header(header, self.challenge_value(stale))
            .body(full("who are you?"))
            .unwrap()
    }

    /// Checks `answer` (an `Authorization` or `Proxy-Authorization` value) for a request with
    /// `method`, request-target `uri` and `body`; an accepted answer counts one use of its nonce.
    pub fn check(&self, method: &str, uri: &str, body: &[u8], answer: Option<&str>) -> Verdict {
        let Some(params) = answer.and_then(params) else {
            return Verdict::Refused;
        };
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let alg = self.algorithm;
        let Some(&(user, password)) = self.users.iter().find(|(user, _)| {
            let expected = if self.userhash {
                h(alg, format!("{user}:{REALM}").as_bytes())
            } else {
                (*user).to_owned()
            };
            match (get("username"), get("username*")) {
                (Some(name), None) => name == expected,
                (None, Some(ext)) => !self.userhash && ext == format!("UTF-8''{}", pct(user)),
                _ => false,
            }
        }) else {
            return Verdict::Refused;
        };
        let nonce = get("nonce").unwrap_or("");
        let sess_key = {
            let state = self.state.lock().unwrap();
            match state.nonces.get(nonce) {
                None => return Verdict::Stale,
                Some(n) if n.user.as_deref().is_some_and(|u| u != user) => return Verdict::Refused,
                Some(n) => n.sess_key.clone(),
            }
        };
        let mut ok = get("realm") == Some(REALM)
            && get("uri") == Some(uri)
            && get("algorithm") == Some(alg)
            && get("opaque") == Some("opaque-value")
            && (get("userhash") == Some("true")) == self.userhash;
        let cnonce = get("cnonce").unwrap_or("");
        let nc = get("nc").unwrap_or("");
        let qop = get("qop");
        let mut ha1 = h(alg, format!("{user}:{REALM}:{password}").as_bytes());
        if alg.ends_with("-sess") {
            // Later answers to the nonce must use the key made with the first cnonce.
            ha1 = sess_key.unwrap_or_else(|| h(alg, format!("{ha1}:{nonce}:{cnonce}").as_bytes()));
        }
        let ha2 = match qop {
            Some("auth-int") => h(alg, format!("{method}:{uri}:{}", h(alg, body)).as_bytes()),
            _ => h(alg, format!("{method}:{uri}").as_bytes()),
        };
        let expected = match qop {
            None => h(alg, format!("{ha1}:{nonce}:{ha2}").as_bytes()),
            Some(qop) => {
                ok &= self
                    .qop
                    .is_some_and(|offered| offered.split(", ").any(|q| q == qop));
                h(
                    alg,
                    format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes(),
                )
            }
        };
        ok &= qop.is_some() == self.qop.is_some();
        ok &= get("response") == Some(expected.as_str());
        let mut state = self.state.lock().unwrap();
        let state = &mut *state;
        let entry = state
            .nonces
            .get_mut(nonce)
            .expect("nonces are never removed");
        let count = u32::from_str_radix(nc, 16).unwrap_or(0);
        if qop.is_some() {
            // The nonce count must go up (RFC 7616 §3.4: replay protection).
            ok &= nc.len() == 8 && count > entry.last_nc && !cnonce.is_empty();
        }
        if !ok {
            return Verdict::Refused;
        }
        if entry.uses >= self.nonce_uses {
            return Verdict::Stale;
        }
        entry.uses += 1;
        entry.last_nc = count;
        entry.user = Some(user.to_owned());
        if alg.ends_with("-sess") {
            entry.sess_key = Some(ha1);
        }
        state.accepted_ncs.push(nc.to_owned());
        Verdict::Accepted(user.to_owned())
    }

    /// Answers `req` as the origin (or forwarding proxy): `hello USER` for a right answer, else a
    /// challenge.
    pub fn handle(&self, req: &Recorded) -> Response<ServerBody> {
        let (header, uri) = if self.proxy {
            ("proxy-authorization", req.uri.to_string())
        } else {
            let target = req.uri.path_and_query().map(|p| p.as_str().to_owned());
            ("authorization", target.unwrap_or_else(|| "/".to_owned()))
        };
        match self.check(req.method.as_str(), &uri, &req.body, req.header(header)) {
            Verdict::Accepted(user) => respond(200, format!("hello {user}")),
            Verdict::Refused => self.challenge(false),
            Verdict::Stale => self.challenge(true),
        }
    }

    /// A [`TestServer`] that answers every request with [`handle`](DigestServer::handle).
    pub async fn start(self) -> TestServer {
        TestServer::start(move |req| {
            let server = self.clone();
            async move { server.handle(&req) }
        })
        .await
    }

    /// The same over TLS (`https://localhost:PORT`).
    pub async fn start_tls(self) -> TestServer {
        TestServer::builder()
            .tls()
            .start(move |req| {
                let server = self.clone();
                async move { server.handle(&req) }
            })
            .await
    }

    /// Every `nc` accepted, in order.
    pub fn accepted_ncs(&self) -> Vec<String> {
        self.state.lock().unwrap().accepted_ncs.clone()
    }

    /// How many challenges (nonces) were sent.
    pub fn challenges(&self) -> u32 {
        self.state.lock().unwrap().challenges
    }
}

/// RFC 8187 percent-encoding of a user name.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
