//! HTTP Digest (RFC 7616): the algorithms, reading a `Digest` challenge, and computing the
//! `Authorization` (or `Proxy-Authorization`) value that answers it.

use std::fmt::Write as _;

use crate::hex::hex;

use md5::Md5;
use sha2::{Digest as _, Sha256, Sha512_256};

use super::challenge::Challenge;
use super::credentials::Credentials;

/// A Digest hash algorithm (RFC 7616 §3.3 and §6.1), plain or `-sess`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Hash {
    Md5,
    Sha256,
    Sha512_256,
}

impl Hash {
    /// `H(data)` as lowercase hex.
    pub(crate) fn hex(self, data: &[u8]) -> String {
        match self {
            Hash::Md5 => hex(&Md5::digest(data)),
            Hash::Sha256 => hex(&Sha256::digest(data)),
            Hash::Sha512_256 => hex(&Sha512_256::digest(data)),
        }
    }
}

/// The `algorithm` parameter: a hash, and whether it is the `-sess` variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Algorithm {
    pub(crate) hash: Hash,
    pub(crate) sess: bool,
}

impl Algorithm {
    /// Reads an `algorithm` value (case-insensitive); `None` for an algorithm Courier does not
    /// implement. A challenge without one means MD5.
    pub(crate) fn parse(name: Option<&str>) -> Option<Algorithm> {
        let name = name.unwrap_or("MD5");
        let (base, sess) = match name.len().checked_sub(5) {
            Some(at) if name.is_char_boundary(at) && name[at..].eq_ignore_ascii_case("-sess") => {
                (&name[..at], true)
            }
            _ => (name, false),
        };
        let hash = if base.eq_ignore_ascii_case("MD5") {
            Hash::Md5
        } else if base.eq_ignore_ascii_case("SHA-256") {
            Hash::Sha256
        } else if base.eq_ignore_ascii_case("SHA-512-256") {
            Hash::Sha512_256
        } else {
            return None;
        };
        Some(Algorithm { hash, sess })
    }

    fn name(self) -> &'static str {
        match (self.hash, self.sess) {
            (Hash::Md5, false) => "MD5",
            (Hash::Md5, true) => "MD5-sess",
            (Hash::Sha256, false) => "SHA-256",
            (Hash::Sha256, true) => "SHA-256-sess",
            (Hash::Sha512_256, false) => "SHA-512-256",
            (Hash::Sha512_256, true) => "SHA-512-256-sess",
        }
    }
}

/// The quality of protection used for a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Qop {
    /// No `qop` in the challenge (RFC 2069 compatibility): no `nc` and no `cnonce`.
    None,
    Auth,
    /// Also covers the request body, which must then be at hand.
    AuthInt,
}

/// A `Digest` challenge Courier can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: Algorithm,
    /// Offered: `auth`, `auth-int`; both false when the challenge has no `qop`.
    pub(crate) qop_auth: bool,
    pub(crate) qop_auth_int: bool,
    pub(crate) stale: bool,
    pub(crate) userhash: bool,
}

impl DigestChallenge {
    /// Reads a `Digest` challenge; `None` if it is another scheme, lacks a realm or nonce, names an
    /// algorithm or only qop values Courier does not implement, or asks for `-sess` without a qop.
    pub(crate) fn from_challenge(challenge: &Challenge) -> Option<DigestChallenge> {
        if challenge.scheme != "digest" {
            return None;
        }
        let algorithm = Algorithm::parse(challenge.param("algorithm"))?;
        let (mut qop_auth, mut qop_auth_int) = (false, false);
        if let Some(qop) = challenge.param("qop") {
            for value in qop.split(',').map(str::trim) {
                qop_auth |= value.eq_ignore_ascii_case("auth");
                qop_auth_int |= value.eq_ignore_ascii_case("auth-int");
            }
            if !qop_auth && !qop_auth_int {
                return None;
            }
        } else if algorithm.sess {
            // `-sess` mixes in the client nonce, which RFC 2069-style answers (no qop) do not send.
            return None;
        }
        let flag = |name| {
            challenge
                .param(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        Some(DigestChallenge {
            realm: challenge.param("realm")?.to_owned(),
            nonce: challenge.param("nonce")?.to_owned(),
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            qop_auth_int,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }

    /// The best challenge among `challenges`: the strongest hash (SHA-512-256, SHA-256, MD5), among
    /// equals the first.
    pub(crate) fn best(challenges: &[Challenge]) -> Option<DigestChallenge> {
        let mut best: Option<DigestChallenge> = None;
        for challenge in challenges
            .iter()
            .filter_map(DigestChallenge::from_challenge)
        {
            if best
                .as_ref()
                .is_none_or(|b| challenge.algorithm.hash > b.algorithm.hash)
            {
                best = Some(challenge);
            }
        }
        best
    }

    /// The qop to answer with: `auth` when offered, else `auth-int` when the body is at hand.
    /// `None` when only `auth-int` is offered and the body is not.
    pub(crate) fn choose_qop(&self, body_known: bool) -> Option<Qop> {
        match (self.qop_auth, self.qop_auth_int) {
            (false, false) => Some(Qop::None),
            (true, _) => Some(Qop::Auth),
            (false, true) if body_known => Some(Qop::AuthInt),
            (false, true) => None,
        }
    }
}

/// What one Digest response covers, besides the challenge and the credentials.
pub(crate) struct Exchange<'a> {
    pub(crate) method: &'a str,
    /// The request-target as sent (`/path?query`, or the absolute URI to a proxy).
    pub(crate) uri: &'a str,
    pub(crate) qop: Qop,
    /// The request body, for `auth-int`.
    pub(crate) body: &'a [u8],
    /// The nonce count, from 1.
    pub(crate) nc: u32,
    pub(crate) cnonce: &'a str,
}

/// The value of the `Authorization` header answering `challenge` (RFC 7616 §3.4).
pub(crate) fn authorization(
    challenge: &DigestChallenge,
    credentials: &Credentials,
    exchange: &Exchange<'_>,
) -> String {
    let hash = challenge.algorithm.hash;
    let h = |data: &str| hash.hex(data.as_bytes());
    let user = credentials.username();
    let realm = &challenge.realm;
    let nonce = &challenge.nonce;
    let cnonce = exchange.cnonce;
    let nc = format!("{:08x}", exchange.nc);

    let mut ha1 = h(&format!("{user}:{realm}:{}", credentials.password()));
    if challenge.algorithm.sess {
        ha1 = h(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = match exchange.qop {
        Qop::AuthInt => h(&format!(
            "{}:{}:{}",
            exchange.method,
            exchange.uri,
            hash.hex(exchange.body)
        )),
        Qop::None | Qop::Auth => h(&format!("{}:{}", exchange.method, exchange.uri)),
    };
    let (response, qop) = match exchange.qop {
        Qop::None => (h(&format!("{ha1}:{nonce}:{ha2}")), None),
        Qop::Auth => (
            h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
            Some("auth"),
        ),
        Qop::AuthInt => (
            h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth-int:{ha2}")),
            Some("auth-int"),
        ),
    };

    let mut out = String::from("Digest ");
    if challenge.userhash {
        let _ = write!(out, "username=\"{}\"", h(&format!("{user}:{realm}")));
    } else if is_quotable(user) {
        let _ = write!(out, "username=\"{user}\"");
    } else {
        // RFC 7616 §3.4.4: a name a quoted string cannot carry goes as an RFC 8187 ext-value.
        let _ = write!(out, "username*=UTF-8''{}", ext_value(user));
    }
    let _ = write!(out, ", realm=\"{}\"", escape(realm));
    let _ = write!(out, ", uri=\"{}\"", escape(exchange.uri));
    let _ = write!(out, ", algorithm={}", challenge.algorithm.name());
    let _ = write!(out, ", nonce=\"{}\"", escape(nonce));
    if let Some(qop) = qop {
        let _ = write!(out, ", nc={nc}, cnonce=\"{}\", qop={qop}", escape(cnonce));
    }
    let _ = write!(out, ", response=\"{response}\"");
    if let Some(opaque) = &challenge.opaque {
        let _ = write!(out, ", opaque=\"{}\"", escape(opaque));
    }
    if challenge.userhash {
        out.push_str(", userhash=true");
    }
    out
}

/// Printable ASCII without `"` or `\`: safe inside a quoted string as it is.
fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// A quoted-string body: `"` and `\` escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// RFC 8187 `value-chars`: attr-char kept, everything else percent-encoded as UTF-8.
fn ext_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A fresh client nonce: 16 random bytes as hex. Falls back to a hash of the time and a counter if
/// the system's random source fails.
pub(crate) fn cnonce() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = format!(
            "{:?}:{}",
            std::time::SystemTime::now(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        return Hash::Sha256.hex(seed.as_bytes())[..32].to_owned();
    }
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(params: &[(&str, &str)]) -> DigestChallenge {
        DigestChallenge::from_challenge(&Challenge {
            scheme: "digest".to_owned(),
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        })
        .unwrap()
    }

    /// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
    #[test]
    fn rfc_7616_section_3_9_1() {
        let mufasa = Credentials::new("Mufasa", "Circle of Life");
        let exchange = Exchange {
            method: "GET",
            uri: "/dir/index.html",
            qop: Qop::Auth,
            body: b"",
            nc: 1,
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        };
        for (algorithm, response) in [
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ] {
            let challenge = challenge(&[
                ("realm", "http-auth@example.org"),
                ("qop", "auth, auth-int"),
                ("algorithm", algorithm),
                ("nonce", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
                ("opaque", "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"),
            ]);
            assert_eq!(challenge.choose_qop(false), Some(Qop::Auth));
            assert_eq!(
                authorization(&challenge, &mufasa, &exchange),
                format!(
                    "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
                     uri=\"/dir/index.html\", algorithm={algorithm}, \
                     nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
                     cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
                     response=\"{response}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
                )
            );
        }
    }

    /// RFC 7616 §3.9.2: SHA-512-256 with `userhash`, for a user name that is not ASCII.
    ///
    /// The RFC's printed `username` and `response` for this example (`488869477bf2...`,
    /// `ae66e67d6b42...`) cannot be reproduced from its own inputs by any implementation (a known
    /// erratum); the values here were computed independently (Python's `hashlib.new("sha512_256")`) from
    /// the RFC's inputs and formulas.
    #[test]
    fn rfc_7616_section_3_9_2_userhash() {
        let jason = Credentials::new("J\u{e4}s\u{f8}n Doe", "Secret, or not?");
        let challenge = challenge(&[
            ("realm", "api@example.org"),
            ("qop", "auth"),
            ("algorithm", "SHA-512-256"),
            ("nonce", "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"),
            ("opaque", "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS"),
            ("charset", "UTF-8"),
            ("userhash", "true"),
        ]);
        let value = authorization(
            &challenge,
            &jason,
            &Exchange {
                method: "GET",
                uri: "/doe.json",
                qop: Qop::Auth,
                body: b"",
                nc: 1,
                cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
            },
        );
        assert!(
            value.starts_with(
                "Digest username=\"793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b\""
            ),
            "{value}"
        );
        assert!(
            value.contains(
                "response=\"3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5\""
            ),
            "{value}"
        );
        assert!(value.ends_with(", userhash=true"), "{value}");
    }

    #[test]
    fn algorithms_and_qop_choices() {
        for (name, hash, sess) in [
            ("md5", Hash::Md5, false),
            ("MD5-sess", Hash::Md5, true),
            ("SHA-256-SESS", Hash::Sha256, true),
            ("sha-512-256", Hash::Sha512_256, false),
        ] {
            assert_eq!(Algorithm::parse(Some(name)), Some(Algorithm { hash, sess }));
        }
        assert_eq!(Algorithm::parse(None).unwrap().hash, Hash::Md5);
        assert_eq!(Algorithm::parse(Some("SHA-1")), None);
        assert_eq!(Algorithm::parse(Some("-sess")), None);
        assert_eq!(Algorithm::parse(Some("é")), None);

        let int_only = challenge(&[("realm", "r"), ("nonce", "n"), ("qop", "auth-int")]);
        assert_eq!(int_only.choose_qop(true), Some(Qop::AuthInt));
        assert_eq!(int_only.choose_qop(false), None);
        let legacy = challenge(&[("realm", "r"), ("nonce", "n")]);
        assert_eq!(legacy.choose_qop(false), Some(Qop::None));
        let legacy_sess = Challenge {
            scheme: "digest".to_owned(),
            params: vec![
                ("realm".into(), "r".into()),
                ("nonce".into(), "n".into()),
                ("algorithm".into(), "MD5-sess".into()),
            ],
        };
        assert!(DigestChallenge::from_challenge(&legacy_sess).is_none());
        let unknown = Challenge {
            scheme: "digest".to_owned(),
            params: vec![
                ("realm".into(), "r".into()),
                ("nonce".into(), "n".into()),
                ("qop".into(), "auth-conf".into()),
            ],
        };
        assert!(DigestChallenge::from_challenge(&unknown).is_none());
    }

    #[test]
    fn the_strongest_challenge_wins() {
        let challenges = super::super::challenge::Challenge::parse_all(&[
            "Digest realm=\"r\", nonce=\"a\", algorithm=MD5, Digest realm=\"r\", nonce=\"b\", algorithm=SHA-256, Digest realm=\"r\", nonce=\"c\", algorithm=SHA-1"
                .parse()
                .unwrap(),
        ]);
        assert_eq!(DigestChallenge::best(&challenges).unwrap().nonce, "b");
    }

    /// `MD5-sess` with `auth-int`: HA1 = H(H(user:realm:pass):nonce:cnonce), HA2 covers the body.
    #[test]
    fn sess_and_auth_int_follow_the_rfc_formulas() {
        let c = challenge(&[
            ("realm", "r"),
            ("nonce", "n"),
            ("qop", "auth-int"),
            ("algorithm", "MD5-sess"),
        ]);
        let value = authorization(
            &c,
            &Credentials::new("u", "p"),
            &Exchange {
                method: "POST",
                uri: "/x",
                qop: Qop::AuthInt,
                body: b"body",
                nc: 2,
                cnonce: "c",
            },
        );
        let h = |s: &str| Hash::Md5.hex(s.as_bytes());
        let ha1 = h(&format!("{}:n:c", h("u:r:p")));
        let ha2 = h(&format!("POST:/x:{}", h("body")));
        let expected = h(&format!("{ha1}:n:00000002:c:auth-int:{ha2}"));
        assert!(
            value.contains(&format!("response=\"{expected}\"")),
            "{value}"
        );
        assert!(
            value.contains("nc=00000002, cnonce=\"c\", qop=auth-int"),
            "{value}"
        );
    }

    #[test]
    fn usernames_that_need_encoding() {
        let c = challenge(&[("realm", "r"), ("nonce", "n")]);
        let exchange = Exchange {
            method: "GET",
            uri: "/",
            qop: Qop::None,
            body: b"",
            nc: 1,
            cnonce: "c",
        };
        let value = authorization(&c, &Credentials::new("Jäsøn \"J\"", "p"), &exchange);
        assert!(
            value.starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20%22J%22, "),
            "{value}"
        );
        // No qop: no nc, cnonce or qop in the answer.
        assert!(!value.contains("nc="), "{value}");
    }

    #[test]
    fn cnonces_are_fresh_hex() {
        let a = cnonce();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, cnonce());
    }
}
