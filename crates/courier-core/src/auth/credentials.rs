//! [`Credentials`], where they apply ([`CredentialStore`], [`RequestCredentials`]), and the [`Origin`]
//! they are matched against.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

use http::Uri;

/// A user name and a password. `Debug` never shows the password.
///
/// By default they answer only `Digest` challenges, which never send the password itself;
/// [`allow_basic`](Credentials::allow_basic) lets them answer `Basic` challenges too (as `.netrc`
/// credentials do).
///
/// ```
/// use courier_core::auth::Credentials;
///
/// let credentials = Credentials::new("ada", "lovelace");
/// assert_eq!(format!("{credentials:?}"), r#"Credentials { username: "ada", password: "<redacted>", basic: false }"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
    basic: bool,
}

impl Credentials {
    /// Credentials that answer `Digest` challenges.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
            basic: false,
        }
    }

    /// Also answer `Basic` challenges (sending the password, base64-encoded, to the server that asks:
    /// use it over `https`). Digest is still preferred when a server offers both.
    pub fn allow_basic(mut self, allow: bool) -> Credentials {
        self.basic = allow;
        self
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    pub(crate) fn allows_basic(&self) -> bool {
        self.basic
    }

    /// Tells credentials apart without holding or showing the password: a [`secret_hash`] of the
    /// user name and password.
    pub(crate) fn fingerprint(&self) -> u64 {
        secret_hash(&(&self.username, &self.password))
    }
}

/// A hash of `value` with a key chosen at random for this process: it tells secrets apart (in pool
/// and session keys) without letting anyone who sees the hash test guesses against it.
pub(crate) fn secret_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEY.get_or_init(Default::default).hash_one(value)
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("basic", &self.basic)
            .finish()
    }
}

/// The scheme, host and port of a URI: what credentials are bound to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URI; `None` for others.
    ///
    /// ```
    /// use courier_core::auth::Origin;
    ///
    /// let a = Origin::of(&"https://Example.com/a".parse().unwrap()).unwrap();
    /// let b = Origin::of(&"https://example.com:443/b?q".parse().unwrap()).unwrap();
    /// assert_eq!(a, b);
    /// assert_eq!(a.host(), "example.com");
    /// ```
    pub fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let host = uri.host()?.to_ascii_lowercase();
        Some(Origin {
            port: uri.port_u16().unwrap_or(default_port),
            scheme,
            host,
        })
    }

    /// The host, lowercase (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Credentials a single request carries (in its extensions), bound to the origin it was made for: a
/// redirect to another origin does not take them along. Made by Courier's
/// `RequestBuilder::digest_auth`.
///
/// ```
/// use courier_core::auth::{Credentials, RequestCredentials};
///
/// let uri: http::Uri = "http://127.0.0.1:8080/private".parse().unwrap();
/// let mut request = http::Request::get(uri.clone()).body(()).unwrap();
/// let credentials = RequestCredentials::for_uri(&uri, Credentials::new("ada", "lovelace")).unwrap();
/// request.extensions_mut().insert(credentials);
/// ```
#[derive(Clone, Debug)]
pub struct RequestCredentials {
    origin: Origin,
    credentials: Credentials,
}

impl RequestCredentials {
    /// `credentials` for requests to the origin of `uri` (`None` if it is not an absolute http(s) URI).
    pub fn for_uri(uri: &Uri, credentials: Credentials) -> Option<RequestCredentials> {
        Some(RequestCredentials {
            origin: Origin::of(uri)?,
            credentials,
        })
    }

    /// Tells the credentials (and the origin they are for) apart without showing them: a
    /// [`secret_hash`], the same within this process only.
    pub(crate) fn fingerprint(&self) -> u64 {
        secret_hash(&(&self.origin, self.credentials.fingerprint()))
    }

    /// The credentials, if they apply to `origin`.
    pub(crate) fn for_origin(&self, origin: &Origin) -> Option<&Credentials> {
        (self.origin == *origin).then_some(&self.credentials)
    }
}

/// Credentials per origin, per host, and a default: what a client answers challenges with when a
/// request carries none of its own.
///
/// Lookup takes the most specific entry: the request's origin (scheme, host and port), else its host
/// (any scheme and port, as `.netrc`'s `machine` does), else the default. The default answers only
/// for the origin the caller asked for: a request the redirect layer sends to another origin (it
/// carries an [`OriginalUri`](crate::redirect::OriginalUri)) never gets it.
///
/// ```
/// use courier_core::auth::{CredentialStore, Credentials};
///
/// let store = CredentialStore::new()
///     .origin(&"https://api.example.com".parse().unwrap(), Credentials::new("ci", "token"))
///     .host("files.example.com", Credentials::new("ada", "pw").allow_basic(true));
/// assert_eq!(store.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    origins: Vec<(Origin, Credentials)>,
    hosts: Vec<(String, Credentials)>,
    default: Option<Credentials>,
}

impl CredentialStore {
    /// An empty store.
    pub fn new() -> CredentialStore {
        CredentialStore::default()
    }

    /// `credentials` for the origin of `uri`; ignored if `uri` is not an absolute http(s) URI.
    pub fn origin(mut self, uri: &Uri, credentials: Credentials) -> CredentialStore {
        if let Some(origin) = Origin::of(uri) {
            self.origins.retain(|(o, _)| *o != origin);
            self.origins.push((origin, credentials));
        }
        self
    }

    /// `credentials` for every request to `host` (case-insensitive; an IPv6 address with or without
    /// brackets), whatever the scheme and port, but never over plain `http` on a hop a redirect
    /// reached from `https`.
    pub fn host(mut self, host: &str, credentials: Credentials) -> CredentialStore {
        let host = without_brackets(host).to_ascii_lowercase();
        self.hosts.retain(|(h, _)| *h != host);
        self.hosts.push((host, credentials));
        self
    }

    /// `credentials` for every host with no entry of its own, when the caller asked for it: not for a
    /// host reached by a redirect.
    pub fn default_credentials(mut self, credentials: Credentials) -> CredentialStore {
        self.default = Some(credentials);
        self
    }

    /// Adds the entries of `other`, which win over entries of `self` for the same origin or host.
    pub fn merge(mut self, other: CredentialStore) -> CredentialStore {
        for (origin, credentials) in other.origins {
            self.origins.retain(|(o, _)| *o != origin);
            self.origins.push((origin, credentials));
        }
        for (host, credentials) in other.hosts {
            self = self.host(&host, credentials);
        }
        if other.default.is_some() {
            self.default = other.default;
        }
        self
    }

    /// How many entries (origins, hosts and the default).
    pub fn len(&self) -> usize {
        self.origins.len() + self.hosts.len() + usize::from(self.default.is_some())
    }

    /// True when the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The credentials for a request to `origin` that the caller made (not reached by a redirect):
    /// its origin's or host's entry, else the default.
    pub fn lookup(&self, origin: &Origin) -> Option<&Credentials> {
        self.lookup_hop(origin, origin)
    }

    /// The credentials for a request to `origin` reached from the caller's `first` origin (itself
    /// when no redirect was followed). On a hop to another origin, never the default (which would
    /// then go to whatever host a redirect names: curl's CVE-2024-11053); on a hop from `https` down
    /// to `http`, no host entry either (it holds for every scheme, and a Basic answer would go in
    /// clear where the caller asked for TLS): only an entry made for that very origin.
    pub(crate) fn lookup_hop(&self, origin: &Origin, first: &Origin) -> Option<&Credentials> {
        if let Some((_, credentials)) = self.origins.iter().find(|(o, _)| o == origin) {
            return Some(credentials);
        }
        if first.scheme == "https" && origin.scheme == "http" {
            return None;
        }
        let host = without_brackets(&origin.host);
        if let Some((_, credentials)) = self.hosts.iter().find(|(h, _)| h == host) {
            return Some(credentials);
        }
        if origin != first {
            return None;
        }
        self.default.as_ref()
    }
}

/// `host` without the brackets of an IPv6 address (`[::1]` is `::1`, as `.netrc` names it).
fn without_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(uri: &str) -> Origin {
        Origin::of(&uri.parse().unwrap()).unwrap()
    }

    #[test]
    fn an_ipv6_host_entry_matches_with_or_without_brackets() {
        for name in ["::1", "[::1]"] {
            let store = CredentialStore::new().host(name, Credentials::new("ada", "pw"));
            let found = store.lookup(&origin("http://[::1]:8080/"));
            assert_eq!(found.map(Credentials::username), Some("ada"), "{name}");
        }
    }

    #[test]
    fn a_hop_down_to_http_gets_only_an_entry_made_for_it() {
        let store = CredentialStore::new()
            .host("h.test", Credentials::new("host", "pw"))
            .origin(
                &"http://o.test".parse().unwrap(),
                Credentials::new("origin", "pw"),
            )
            .default_credentials(Credentials::new("default", "pw"));
        let user = |hop: &str, first: &str| {
            store
                .lookup_hop(&origin(hop), &origin(first))
                .map(|c| c.username().to_owned())
        };
        assert_eq!(
            user("http://h.test/", "http://h.test/").as_deref(),
            Some("host")
        );
        assert_eq!(
            user("https://h.test/", "http://x.test/").as_deref(),
            Some("host")
        );
        assert_eq!(user("http://h.test/", "https://h.test/"), None);
        assert_eq!(
            user("http://o.test/", "https://x.test/").as_deref(),
            Some("origin")
        );
        assert_eq!(
            user("http://x.test/", "http://x.test/").as_deref(),
            Some("default")
        );
        assert_eq!(user("http://x.test/", "http://y.test/"), None);
    }
}
