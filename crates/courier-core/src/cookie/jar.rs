//! [`Jar`]: the RFC 6265 §5.3 storage model and §5.4 retrieval.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use serde::{Deserialize, Serialize};
use url::Url;

use super::matching::{
    canonical_domain, default_path, domain_match, group_key, is_public_suffix, path_match,
    registrable_domain, UrlFacts,
};
use super::parse::{parse_set_cookie, SetCookie, MAX_TIME, MIN_TIME};

/// How many cookies a [`Jar`] keeps per registrable domain (`example.co.uk` and all its subdomains
/// together, or one IP address); storing more evicts one that is not `Secure`, least recently used
/// first, then the least recently used of the rest. Browsers keep 50 to 180.
pub const MAX_COOKIES_PER_DOMAIN: usize = 50;

/// How many cookies a [`Jar`] keeps in total; storing more evicts expired cookies, then the least
/// recently used. Browsers keep about 3000.
pub const MAX_COOKIES: usize = 3000;

/// The longest cookie a [`Jar`] stores: name plus value, in bytes. A longer `Set-Cookie` is ignored whole,
/// as browsers do (RFC 6265 §6.1 asks user agents to store at least this much).
pub const MAX_COOKIE_BYTES: usize = super::parse::MAX_NAME_VALUE_BYTES;

/// The longest a cookie lives: 400 days (RFC 6265bis 5.6.1), whatever its `Expires` or `Max-Age`
/// say, as browsers and curl cap it; a tracking cookie set to 9999 lasts no longer.
const MAX_AGE_SECONDS: i64 = 400 * 24 * 60 * 60;

type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

/// A cookie jar following RFC 6265 §5: stores the cookies of `Set-Cookie` response headers and produces
/// the `Cookie` header for a request URL.
///
/// Share one jar between clients and layers with an `Arc<Jar>`; every method takes `&self`.
///
/// What it does:
/// - Parses `Set-Cookie` by RFC 6265 §5.2 (lenient dates, `Max-Age` over `Expires`, zero or negative
///   `Max-Age` deletes) and stores by §5.3: host-only cookies without `Domain`; a `Domain` must
///   domain-match the request host, lie within its registrable domain and not be a public suffix (unless
///   it is the host itself, which makes the cookie host-only); `Path` defaults to the request's
///   directory; a cookie replaces the one with the same name, domain and path and keeps its creation time.
/// - Sends (§5.4) the cookies whose domain and path match, `Secure` ones only over https/wss,
///   `HttpOnly` ones too (this is an HTTP API), longest path first, then oldest first.
/// - Holds hostile servers back: a cookie longer than [`MAX_COOKIE_BYTES`] is ignored; at most
///   [`MAX_COOKIES_PER_DOMAIN`] per registrable domain and [`MAX_COOKIES`] in all are kept, evicting
///   the least recently used, except that a domain over its own cap loses a cookie that is not
///   `Secure` first (RFC 6265bis 5.7: otherwise a plain-http response could push a `Secure` cookie
///   out with throwaway ones, then replace it); no cookie lives longer than 400 days (RFC 6265bis
///   5.6.1, as browsers and curl). Expired cookies are dropped lazily.
///
/// - Takes from RFC 6265bis what protects a client: a plain-http response can neither set a `Secure`
///   cookie nor one that would shadow a stored `Secure` cookie (same name, overlapping domain and
///   path), except from `localhost` and loopback addresses (a local development server, which
///   browsers treat as secure too); the `__Secure-` and `__Host-` name prefixes are enforced.
///
/// What it does not do: the other RFC 6265bis additions (`SameSite`, partitioning), or cookies for
/// schemes other than http, https, ws and wss.
///
/// ```
/// use courier_core::cookie::Jar;
/// use url::Url;
///
/// let jar = Jar::new();
/// let url = Url::parse("https://example.com/account/login").unwrap();
/// jar.add_cookie_str("session=abc; Path=/; Secure; HttpOnly", &url);
/// jar.add_cookie_str("theme=dark", &url); // Path defaults to /account
///
/// let page = Url::parse("https://www.example.com/account/settings").unwrap();
/// assert_eq!(jar.cookie_header(&page), None); // host-only cookies: not for www.example.com
///
/// let page = Url::parse("https://example.com/account/settings").unwrap();
/// assert_eq!(jar.cookie_header(&page).unwrap(), "theme=dark; session=abc");
/// assert_eq!(jar.len(), 2);
/// ```
pub struct Jar {
    store: Mutex<Store>,
    /// The number of stored cookies (some maybe expired), readable without the lock so the layer can
    /// skip an empty jar for free.
    stored: AtomicUsize,
    clock: Clock,
}

#[derive(Default)]
struct Store {
    /// Cookies grouped by [`group_key`] of their domain; a `BTreeMap` so that every walk over the jar
    /// is deterministic.
    groups: BTreeMap<String, Vec<StoredCookie>>,
    len: usize,
    /// A counter for creation order and recency of use: strictly increasing, so equal timestamps never
    /// tie.
    tick: u64,
}

/// One stored cookie (RFC 6265 §5.3's fields), also the JSON persistence format.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredCookie {
    name: String,
    value: String,
    /// The request host for host-only cookies, else the `Domain` attribute.
    domain: String,
    path: String,
    host_only: bool,
    secure: bool,
    http_only: bool,
    /// Expiry in seconds since the Unix epoch; `None` for a session cookie.
    #[serde(default)]
    expires: Option<i64>,
    /// Creation time in seconds since the Unix epoch; kept when a cookie is replaced.
    creation: i64,
    /// Creation order, for §5.4's "earlier creation-times first" without ties.
    #[serde(skip)]
    created_tick: u64,
    /// Last use, for least-recently-used eviction.
    #[serde(skip)]
    used_tick: u64,
}

impl StoredCookie {
    fn is_expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }

    fn matches(&self, target: &UrlFacts<'_>) -> bool {
        let domain_ok = if self.host_only {
            target.host == self.domain
        } else {
            domain_match(target.host, target.host_is_ip, &self.domain)
        };
        domain_ok && path_match(target.path, &self.path) && (!self.secure || target.secure)
    }

    fn to_cookie(&self) -> cookie::Cookie<'static> {
        let mut c = cookie::Cookie::new(self.name.clone(), self.value.clone());
        c.set_path(self.path.clone());
        if !self.host_only {
            c.set_domain(self.domain.clone());
        }
        if self.secure {
            c.set_secure(true);
        }
        if self.http_only {
            c.set_http_only(true);
        }
        if let Some(t) = self.expires {
            if let Ok(t) = cookie::time::OffsetDateTime::from_unix_timestamp(t) {
                c.set_expires(t);
            }
        }
        c
    }
}

/// `localhost` and loopback addresses count as secure origins for setting cookies, as in browsers
/// (a developer's local server over plain http).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The cookie name prefixes of RFC 6265bis §4.1.3 (matched case-insensitively): `__Secure-` needs
/// `Secure`; `__Host-` needs `Secure`, no `Domain` attribute and an explicit `Path=/`
/// (`host_attributes`): a default path of `/` or a `Domain` that came out host-only is not the same.
fn prefix_allows(name: &str, secure: bool, host_attributes: bool) -> bool {
    let starts = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts("__Host-") {
        secure && host_attributes
    } else if starts("__Secure-") {
        secure
    } else {
        true
    }
}

impl Store {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// §5.3 steps 4 to 12 for one parsed `Set-Cookie` from `target`, whose [`group_key`] is `group`.
    fn store(&mut self, parsed: SetCookie, target: &UrlFacts<'_>, group: &str, now: i64) {
        let host_attributes = parsed.domain.is_none() && parsed.path.as_deref() == Some("/");
        let (domain, host_only) = match parsed.domain {
            None => (target.host.to_owned(), true),
            Some(raw) => {
                let Some(domain) = canonical_domain(&raw) else {
                    return;
                };
                if domain == target.host {
                    // Step 5: a public suffix equal to the host is host-only; otherwise a Domain equal
                    // to the host makes a domain cookie (which matches subdomains too).
                    let host_only = !target.host_is_ip && is_public_suffix(&domain);
                    (domain, host_only)
                } else if target.host_is_ip
                    || is_public_suffix(&domain)
                    || !domain_match(target.host, false, &domain)
                    // Chrome's rule, stricter than the RFC: stay within the host's registrable domain
                    // (`Domain=kawasaki.jp` from `a.city.kawasaki.jp` passes the checks above).
                    || registrable_domain(&domain) != registrable_domain(target.host)
                {
                    return;
                } else {
                    (domain, false)
                }
            }
        };
        let path = parsed
            .path
            .unwrap_or_else(|| default_path(target.path).to_owned());
        // RFC 6265bis §5.7: a plain-http response may neither set a `Secure` cookie nor shadow one
        // (a network attacker would otherwise plant a session cookie the https site then reads),
        // and the name prefixes promise what the cookie is.
        let secure_origin = target.secure || is_loopback(target.host);
        if !secure_origin
            && (parsed.secure || self.shadows_secure(group, &parsed.name, &domain, &path, now))
        {
            return;
        }
        if !prefix_allows(&parsed.name, parsed.secure, host_attributes) {
            return;
        }
        let cookie = StoredCookie {
            name: parsed.name,
            value: parsed.value,
            domain,
            path,
            host_only,
            secure: parsed.secure,
            http_only: parsed.http_only,
            expires: parsed.expires,
            creation: now,
            created_tick: 0,
            used_tick: 0,
        };
        self.insert(group, cookie, now);
    }

    /// Whether `group` holds a `Secure` cookie named `name` that a cookie for `domain` and `path`
    /// would shadow (RFC 6265bis §5.7 step 16): the domains domain-match one way or the other, and
    /// `path` path-matches the existing cookie's path.
    fn shadows_secure(&self, group: &str, name: &str, domain: &str, path: &str, now: i64) -> bool {
        self.groups.get(group).is_some_and(|cookies| {
            cookies.iter().any(|c| {
                c.secure
                    && !c.is_expired(now)
                    && c.name == name
                    && (domain_match(domain, false, &c.domain)
                        || domain_match(&c.domain, false, domain))
                    && path_match(path, &c.path)
            })
        })
    }

    /// Inserts `cookie` into `group`, replacing the cookie with the same name, domain and path (and
    /// taking over its creation time); an expired `cookie` only deletes. Then enforces the caps.
    fn insert(&mut self, group: &str, mut cookie: StoredCookie, now: i64) {
        // Set by a response or read from a file alike.
        cookie.expires = cookie
            .expires
            .map(|at| at.min(now.saturating_add(MAX_AGE_SECONDS)));
        let tick = self.next_tick();
        if !self.groups.contains_key(group) {
            self.groups.insert(group.to_owned(), Vec::new());
        }
        let cookies = self.groups.get_mut(group).expect("inserted above");
        let before = cookies.len();
        cookies.retain(|c| !c.is_expired(now));
        if let Some(i) = cookies.iter().position(|c| {
            c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path
        }) {
            let old = cookies.remove(i);
            cookie.creation = old.creation;
            cookie.created_tick = old.created_tick;
        } else {
            cookie.created_tick = tick;
        }
        cookie.used_tick = tick;
        let expired = cookie.is_expired(now);
        if !expired {
            cookies.push(cookie);
            if cookies.len() > MAX_COOKIES_PER_DOMAIN {
                remove_first_by(cookies, domain_eviction_order);
            }
        }
        let after = cookies.len();
        self.len = self.len - before + after;
        if after == 0 {
            self.groups.remove(group);
        }
        if self.len > MAX_COOKIES {
            self.remove_expired(now);
        }
        while self.len > MAX_COOKIES {
            self.remove_globally_least_recently_used();
        }
    }

    fn remove_expired(&mut self, now: i64) {
        let mut len = 0;
        self.groups.retain(|_, cookies| {
            cookies.retain(|c| !c.is_expired(now));
            len += cookies.len();
            !cookies.is_empty()
        });
        self.len = len;
    }

    fn remove_globally_least_recently_used(&mut self) {
        let oldest = self
            .groups
            .iter()
            .filter_map(|(group, cookies)| {
                let c = cookies.iter().min_by_key(|c| recency(c))?;
                Some((recency(c), group))
            })
            .min()
            .map(|(_, group)| group.clone());
        if let Some(group) = oldest {
            if let Some(cookies) = self.groups.get_mut(&group) {
                // Past the total cap, the least recently used goes, Secure or not (RFC 6265bis 5.7:
                // not-Secure-first is the rule of a domain over its own cap only).
                remove_first_by(cookies, recency);
                self.len -= 1;
                if cookies.is_empty() {
                    self.groups.remove(&group);
                }
            }
        }
    }

    /// §5.4: the cookies for `target`, in `Cookie` header order. Drops the group's expired cookies; with
    /// `touch`, marks the returned ones as used now.
    fn select(&mut self, target: &UrlFacts<'_>, now: i64, touch: bool) -> Vec<&StoredCookie> {
        let tick = if touch { self.next_tick() } else { 0 };
        let key = group_key(target.host, target.host_is_ip);
        let Some(cookies) = self.groups.get_mut(key) else {
            return Vec::new();
        };
        let before = cookies.len();
        cookies.retain(|c| !c.is_expired(now));
        let after = cookies.len();
        if after == 0 {
            self.groups.remove(key);
            self.len -= before;
            return Vec::new();
        }
        self.len -= before - after;
        let cookies = self.groups.get_mut(key).expect("group checked above");
        let mut selected: Vec<&mut StoredCookie> =
            cookies.iter_mut().filter(|c| c.matches(target)).collect();
        // Longer paths first, then earlier creation (the creation tick never ties).
        selected.sort_by_key(|c| (std::cmp::Reverse(c.path.len()), c.created_tick));
        selected
            .into_iter()
            .map(|c| {
                if touch {
                    c.used_tick = tick;
                }
                &*c
            })
            .collect()
    }

    fn all_by_creation(&self) -> Vec<&StoredCookie> {
        let mut all: Vec<&StoredCookie> = self.groups.values().flatten().collect();
        all.sort_by_key(|c| c.created_tick);
        all
    }
}

/// Least recently used first (then oldest): the order cookies go in past the total cap.
fn recency(c: &StoredCookie) -> (u64, u64) {
    (c.used_tick, c.created_tick)
}

/// The order a domain over its own cap loses cookies in: one that is not `Secure` first, then by
/// [`recency`] (RFC 6265bis 5.7).
fn domain_eviction_order(c: &StoredCookie) -> (bool, (u64, u64)) {
    (c.secure, recency(c))
}

/// Removes the cookie that comes first by `order`.
fn remove_first_by<K: Ord>(cookies: &mut Vec<StoredCookie>, order: impl Fn(&StoredCookie) -> K) {
    if let Some(i) = cookies
        .iter()
        .enumerate()
        .min_by_key(|(_, c)| order(c))
        .map(|(i, _)| i)
    {
        cookies.remove(i);
    }
}

/// Seconds since the Unix epoch, clamped to the range cookie dates can express.
fn unix_seconds(t: SystemTime) -> i64 {
    let seconds = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    seconds.clamp(MIN_TIME, MAX_TIME)
}

impl Jar {
    /// An empty jar using the system clock.
    pub fn new() -> Jar {
        Jar::with_clock(SystemTime::now)
    }

    /// An empty jar that asks `clock` for the current time: for tests that pin or advance time.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use courier_core::cookie::Jar;
    ///
    /// // 2011-04-01, the month RFC 6265 was published.
    /// let jar = Jar::with_clock(|| SystemTime::UNIX_EPOCH + Duration::from_secs(1_301_616_000));
    /// let url = url::Url::parse("http://example.com/").unwrap();
    /// jar.add_cookie_str("old=1; Expires=Fri, 07 Aug 2009 08:04:19 GMT", &url);
    /// jar.add_cookie_str("new=1; Expires=Fri, 07 Aug 2019 08:04:19 GMT", &url);
    /// assert_eq!(jar.cookie_header(&url).unwrap(), "new=1");
    /// ```
    pub fn with_clock<F>(clock: F) -> Jar
    where
        F: Fn() -> SystemTime + Send + Sync + 'static,
    {
        Jar {
            store: Mutex::new(Store::default()),
            stored: AtomicUsize::new(0),
            clock: Box::new(clock),
        }
    }

    fn now(&self) -> i64 {
        unix_seconds((self.clock)())
    }

    fn lock(&self) -> StoreGuard<'_> {
        StoreGuard {
            // A panic while holding the lock cannot leave the store inconsistent enough to matter
            // (worst case a stale count), so keep going rather than poisoning every client.
            store: self.store.lock().unwrap_or_else(|e| e.into_inner()),
            stored: &self.stored,
        }
    }

    /// Stores one `Set-Cookie` header value received from `url`, like reqwest's method of the same name.
    /// Invalid or rejected cookies are ignored.
    ///
    /// ```
    /// # use courier_core::cookie::Jar;
    /// let jar = Jar::new();
    /// let url = url::Url::parse("http://example.com/").unwrap();
    /// jar.add_cookie_str("a=b; Domain=example.com", &url);
    /// jar.add_cookie_str("rejected=1; Domain=com", &url); // a public suffix
    /// jar.add_cookie_str("nameless", &url); // no '=': ignored by RFC 6265
    /// assert_eq!(jar.cookie_header(&"http://www.example.com/".parse().unwrap()).unwrap(), "a=b");
    /// ```
    pub fn add_cookie_str(&self, cookie: &str, url: &Url) {
        self.store_lines(url, std::iter::once(cookie.as_bytes()));
    }

    /// Stores every `Set-Cookie` header of a response to `url`.
    pub fn store_response_headers(&self, url: &Url, headers: &HeaderMap) {
        self.store_response_cookies(url, headers.get_all(SET_COOKIE));
    }

    /// Stores the given `Set-Cookie` header values of a response to `url`, in order (a later cookie
    /// replaces an earlier one with the same name, domain and path).
    ///
    /// ```
    /// # use courier_core::cookie::Jar;
    /// use http::HeaderValue;
    ///
    /// let jar = Jar::new();
    /// let url = url::Url::parse("http://example.com/").unwrap();
    /// let headers = [HeaderValue::from_static("a=1"), HeaderValue::from_static("b=2"), HeaderValue::from_static("a=3")];
    /// jar.store_response_cookies(&url, &headers);
    /// assert_eq!(jar.cookie_header(&url).unwrap(), "a=3; b=2");
    /// ```
    pub fn store_response_cookies<'a, I>(&self, url: &Url, set_cookie_headers: I)
    where
        I: IntoIterator<Item = &'a HeaderValue>,
    {
        self.store_lines(
            url,
            set_cookie_headers.into_iter().map(HeaderValue::as_bytes),
        );
    }

    fn store_lines<'a>(&self, url: &Url, lines: impl Iterator<Item = &'a [u8]>) {
        let Some(target) = UrlFacts::new(url) else {
            return;
        };
        let now = self.now();
        let mut lines = lines
            .filter_map(|line| parse_set_cookie(line, now))
            .peekable();
        if lines.peek().is_none() {
            return;
        }
        let group = group_key(target.host, target.host_is_ip);
        let mut store = self.lock();
        for parsed in lines {
            store.store(parsed, &target, group, now);
        }
    }

    /// The cookies that would be sent to `url`, in `Cookie` header order. Host-only cookies have no
    /// domain; persistent ones have their expiry. Does not count as a use for eviction.
    ///
    /// ```
    /// # use courier_core::cookie::Jar;
    /// let jar = Jar::new();
    /// let url = url::Url::parse("https://example.com/").unwrap();
    /// jar.add_cookie_str("id=7; Secure; Max-Age=3600; Domain=example.com", &url);
    /// let cookies = jar.cookies_for(&url);
    /// assert_eq!(cookies[0].name_value(), ("id", "7"));
    /// assert_eq!(cookies[0].domain(), Some("example.com"));
    /// assert_eq!(cookies[0].secure(), Some(true));
    /// assert!(cookies[0].expires_datetime().is_some());
    /// ```
    pub fn cookies_for(&self, url: &Url) -> Vec<cookie::Cookie<'static>> {
        let Some(target) = UrlFacts::new(url) else {
            return Vec::new();
        };
        let now = self.now();
        let mut store = self.lock();
        let selected = store.select(&target, now, false);
        selected.into_iter().map(StoredCookie::to_cookie).collect()
    }

    /// The `Cookie` header to send to `url` (`name=value; name2=value2`), or `None` when no cookie
    /// matches.
    pub fn cookie_header(&self, url: &Url) -> Option<HeaderValue> {
        if self.stored.load(Ordering::Acquire) == 0 {
            return None;
        }
        let target = UrlFacts::new(url)?;
        let now = self.now();
        let mut store = self.lock();
        let selected = store.select(&target, now, true);
        if selected.is_empty() {
            return None;
        }
        let mut header = Vec::with_capacity(
            selected
                .iter()
                .map(|c| c.name.len() + c.value.len() + 3)
                .sum(),
        );
        for c in selected {
            if !header.is_empty() {
                header.extend_from_slice(b"; ");
            }
            header.extend_from_slice(c.name.as_bytes());
            header.push(b'=');
            header.extend_from_slice(c.value.as_bytes());
        }
        // Every name and value came from a valid header value (or was validated on load).
        HeaderValue::from_bytes(&header).ok()
    }

    /// Whether the jar may hold cookies, without taking the lock (may count expired cookies).
    pub(crate) fn may_have_cookies(&self) -> bool {
        self.stored.load(Ordering::Acquire) != 0
    }

    /// Removes every cookie.
    pub fn clear(&self) {
        let mut store = self.lock();
        store.groups.clear();
        store.len = 0;
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        let now = self.now();
        let mut store = self.lock();
        store.remove_expired(now);
        store.len
    }

    /// Whether the jar holds no unexpired cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the persistent (not session, not expired) cookies as JSON, oldest first. Session cookies,
    /// those without `Expires` or `Max-Age`, are left out, as browsers drop them on exit.
    ///
    /// ```
    /// # use courier_core::cookie::Jar;
    /// let jar = Jar::new();
    /// let url = url::Url::parse("https://example.com/").unwrap();
    /// jar.add_cookie_str("keep=1; Max-Age=3600", &url);
    /// jar.add_cookie_str("session=1", &url);
    ///
    /// let mut json = Vec::new();
    /// jar.save_json(&mut json).unwrap();
    /// let restored = Jar::new();
    /// assert_eq!(restored.load_json(json.as_slice()).unwrap(), 1);
    /// assert_eq!(restored.cookie_header(&url).unwrap(), "keep=1");
    /// ```
    pub fn save_json<W: io::Write>(&self, writer: W) -> io::Result<()> {
        self.save(writer, false)
    }

    /// Writes every unexpired cookie as JSON, session cookies included, oldest first.
    pub fn save_json_incl_session<W: io::Write>(&self, writer: W) -> io::Result<()> {
        self.save(writer, true)
    }

    fn save<W: io::Write>(&self, writer: W, include_session: bool) -> io::Result<()> {
        let now = self.now();
        let cookies: Vec<StoredCookie> = {
            let mut store = self.lock();
            store.remove_expired(now);
            store
                .all_by_creation()
                .into_iter()
                .filter(|c| include_session || c.expires.is_some())
                .cloned()
                .collect()
        };
        serde_json::to_writer(writer, &cookies)?;
        Ok(())
    }

    /// Reads cookies written by [`Jar::save_json`] (or [`Jar::save_json_incl_session`]) into this jar,
    /// replacing cookies with the same name, domain and path. Entries that are expired or that no
    /// `Set-Cookie` could have produced are skipped; the caps apply. Returns how many were loaded.
    ///
    /// # Errors
    /// When reading fails or the input is not the JSON these methods write.
    pub fn load_json<R: io::Read>(&self, reader: R) -> io::Result<usize> {
        let cookies: Vec<StoredCookie> = serde_json::from_reader(reader)?;
        let now = self.now();
        let mut store = self.lock();
        let mut loaded = 0;
        for cookie in cookies {
            if cookie.is_expired(now) || !is_loadable(&cookie) {
                continue;
            }
            let is_ip =
                url::Host::parse(&cookie.domain).is_ok_and(|h| !matches!(h, url::Host::Domain(_)));
            let group = group_key(&cookie.domain, is_ip).to_owned();
            store.insert(&group, cookie, now);
            loaded += 1;
        }
        Ok(loaded)
    }
}

impl Jar {
    /// Writes every unexpired cookie, session cookies included, in the Netscape cookie-file format
    /// curl and wget read and write (`curl -b FILE` / `-c FILE`): one tab-separated line per cookie,
    /// `#HttpOnly_` before the domain of HttpOnly cookies, expiry 0 for session cookies. A cookie with a
    /// TAB in its name, value or path is left out: the format cannot hold it (curl refuses such
    /// cookies); [`Jar::save_json`] keeps it.
    ///
    /// ```
    /// # use courier_core::cookie::Jar;
    /// let jar = Jar::new();
    /// let url = url::Url::parse("http://127.0.0.1/").unwrap();
    /// jar.add_cookie_str("id=7; Path=/; HttpOnly", &url);
    /// let mut file = Vec::new();
    /// jar.save_netscape(&mut file).unwrap();
    /// let text = String::from_utf8(file).unwrap();
    /// assert!(text.ends_with("#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tid\t7\n"));
    ///
    /// let restored = Jar::new();
    /// assert_eq!(restored.load_netscape(text.as_bytes()).unwrap(), 1);
    /// assert_eq!(restored.cookie_header(&url).unwrap(), "id=7");
    /// ```
    pub fn save_netscape<W: io::Write>(&self, mut writer: W) -> io::Result<()> {
        let now = self.now();
        let cookies: Vec<StoredCookie> = {
            let mut store = self.lock();
            store.remove_expired(now);
            store.all_by_creation().into_iter().cloned().collect()
        };
        writer
            .write_all(b"# Netscape HTTP Cookie File\n# Written by Courier; curl reads it.\n\n")?;
        let representable = |c: &StoredCookie| {
            ![&c.name, &c.value, &c.path]
                .iter()
                .any(|f| f.contains('\t'))
        };
        for c in cookies.iter().filter(|c| representable(c)) {
            let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
            // An IPv6 address as curl writes it, without brackets.
            let bare = c
                .domain
                .strip_prefix('[')
                .and_then(|d| d.strip_suffix(']'))
                .unwrap_or(&c.domain);
            let domain = if c.host_only {
                bare.to_owned()
            } else {
                format!(".{bare}")
            };
            writeln!(
                writer,
                "{}{}\t{}\t{}\t{}\t{}\t{}\t{}",
                if c.http_only { "#HttpOnly_" } else { "" },
                domain,
                flag(!c.host_only),
                c.path,
                flag(c.secure),
                c.expires.unwrap_or(0).max(0),
                c.name,
                c.value
            )?;
        }
        Ok(())
    }

    /// Reads a Netscape cookie file (as [`Jar::save_netscape`], curl and wget write them) into this
    /// jar. Comment and blank lines are skipped, as are lines that are not seven tab-separated fields
    /// and cookies that are expired or that no `Set-Cookie` could have produced. Returns how many were
    /// loaded.
    ///
    /// # Errors
    /// When reading fails.
    pub fn load_netscape<R: io::Read>(&self, mut reader: R) -> io::Result<usize> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        let now = self.now();
        let mut store = self.lock();
        let mut loaded = 0;
        // A line that is not UTF-8 (curl keeps a cookie's bytes as they came) is skipped like any
        // other it cannot use, not taken for a failure to read the file.
        let lines = bytes
            .split(|&b| b == b'\n')
            .filter_map(|line| std::str::from_utf8(line).ok())
            .map(|line| line.strip_suffix('\r').unwrap_or(line));
        for line in lines {
            let (http_only, line) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (true, rest),
                None if line.starts_with('#') || line.trim().is_empty() => continue,
                None => (false, line),
            };
            let fields: Vec<&str> = line.split('\t').collect();
            let [domain, subdomains, path, secure, expires, name, value] = fields[..] else {
                continue;
            };
            let host_only = !subdomains.eq_ignore_ascii_case("TRUE");
            let mut domain = domain.trim_start_matches('.').to_ascii_lowercase();
            // curl writes an IPv6 address without brackets: read as a URL (and this jar) spells it,
            // brackets and all (`::ffff:127.0.0.1` is `[::ffff:7f00:1]`).
            if let Ok(address) = domain.parse::<std::net::Ipv6Addr>() {
                domain = url::Host::<String>::Ipv6(address).to_string();
            }
            let expires = match expires.parse::<i64>() {
                Ok(0) => None,
                Ok(t) => Some(t),
                Err(_) => continue,
            };
            let cookie = StoredCookie {
                name: name.to_owned(),
                value: value.to_owned(),
                domain,
                path: path.to_owned(),
                host_only,
                secure: secure.eq_ignore_ascii_case("TRUE"),
                http_only,
                expires,
                creation: now,
                created_tick: 0,
                used_tick: 0,
            };
            if cookie.is_expired(now) || !is_loadable(&cookie) {
                continue;
            }
            let is_ip =
                url::Host::parse(&cookie.domain).is_ok_and(|h| !matches!(h, url::Host::Domain(_)));
            let group = group_key(&cookie.domain, is_ip).to_owned();
            store.insert(&group, cookie, now);
            loaded += 1;
        }
        Ok(loaded)
    }
}

/// Whether a cookie read from JSON is one the parser could have stored, so the `Cookie` header built
/// from it stays valid.
fn is_loadable(c: &StoredCookie) -> bool {
    let reparsed = parse_set_cookie(format!("{}={}", c.name, c.value).as_bytes(), 0);
    let same = reparsed.is_some_and(|p| p.name == c.name && p.value == c.value);
    let header_safe = |s: &str| s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    same && header_safe(&c.name)
        && header_safe(&c.value)
        && c.path.starts_with('/')
        && header_safe(&c.path)
        && !c.domain.is_empty()
        && c.domain
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
        // What attributes set it is not saved; the state they leave is the closest check.
        && prefix_allows(&c.name, c.secure, c.host_only && c.path == "/")
}

/// The store behind the lock; publishes its length to the lock-free counter on release.
struct StoreGuard<'a> {
    store: MutexGuard<'a, Store>,
    stored: &'a AtomicUsize,
}

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        self.stored.store(self.store.len, Ordering::Release);
    }
}

impl Default for Jar {
    fn default() -> Jar {
        Jar::new()
    }
}

impl fmt::Debug for Jar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jar")
            .field("stored", &self.stored.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// A plain-http response cannot push a `Secure` cookie out with throwaway ones and then put its
    /// own in its place: cookies that are not `Secure` are evicted first (RFC 6265bis 5.7).
    #[test]
    fn secure_cookies_are_evicted_last() {
        let jar = Jar::new();
        let https = Url::parse("https://shop.test/").unwrap();
        let http = Url::parse("http://shop.test/").unwrap();
        jar.add_cookie_str("session=real; Secure; Path=/", &https);
        let mut lines: Vec<http::HeaderValue> = (0..MAX_COOKIES_PER_DOMAIN)
            .map(|i| http::HeaderValue::from_str(&format!("junk{i}=x; Path=/junk")).unwrap())
            .collect();
        lines.push(http::HeaderValue::from_static("session=attacker; Path=/"));
        super::super::CookieStore::set_cookies(&jar, &mut lines.iter(), &http);
        let sent = jar.cookie_header(&Url::parse("https://shop.test/account").unwrap());
        assert_eq!(sent.unwrap(), "session=real");
        // The throwaway ones were kept up to the cap, the newest in place of the oldest.
        let junk = jar
            .cookies_for(&Url::parse("http://shop.test/junk").unwrap())
            .len();
        assert_eq!(junk, MAX_COOKIES_PER_DOMAIN - 1);
    }

    /// An IPv6 host's cookies go to and from Netscape files as curl writes them: `::1`, no brackets.
    #[test]
    fn netscape_files_spell_ipv6_hosts_as_curl() {
        let url = Url::parse("http://[::1]:8080/").unwrap();
        let jar = Jar::new();
        jar.add_cookie_str("a=1; Path=/", &url);
        let mut out = Vec::new();
        jar.save_netscape(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\n::1\tFALSE\t/\tFALSE\t0\ta\t1\n"), "{text}");
        // What curl wrote, read back.
        let curls = "::1\tFALSE\t/\tFALSE\t0\ta\t1\n::1\tFALSE\t/\tFALSE\t0\ts\t2\n";
        let loaded = Jar::new();
        assert_eq!(loaded.load_netscape(curls.as_bytes()).unwrap(), 2);
        assert_eq!(loaded.cookie_header(&url).unwrap(), "a=1; s=2");
    }

    /// Past the total cap the least recently used cookie goes, `Secure` or not: a jar full of
    /// `Secure` cookies still takes a new one that is not.
    #[test]
    fn the_total_cap_evicts_the_least_recently_used_secure_or_not() {
        let jar = Jar::new();
        for site in 0..MAX_COOKIES / MAX_COOKIES_PER_DOMAIN {
            let url = Url::parse(&format!("https://site{site}.test/")).unwrap();
            for i in 0..MAX_COOKIES_PER_DOMAIN {
                jar.add_cookie_str(&format!("s{i}=1; Secure"), &url);
            }
        }
        let other = Url::parse("https://other.test/").unwrap();
        jar.add_cookie_str("csrf=tok", &other);
        assert_eq!(jar.cookie_header(&other).unwrap(), "csrf=tok");
        let first = Url::parse("https://site0.test/").unwrap();
        assert_eq!(jar.cookies_for(&first).len(), MAX_COOKIES_PER_DOMAIN - 1);
    }

    /// Cookies read from a file are held to the 400 days too; an IPv6 host a file spells otherwise
    /// (`::ffff:127.0.0.1`, as curl writes a mapped address) is the URL's host.
    #[test]
    fn loaded_cookies_are_capped_and_their_ipv6_hosts_normalised() {
        const NOW: u64 = 1_700_000_000;
        let jar = Jar::with_clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
        let file = "127.0.0.1\tFALSE\t/\tFALSE\t253402300799\tfar\t1\n\
                    ::ffff:127.0.0.1\tFALSE\t/\tFALSE\t0\tmapped\t1\n";
        assert_eq!(jar.load_netscape(file.as_bytes()).unwrap(), 2);
        let far = jar.cookies_for(&Url::parse("http://127.0.0.1/").unwrap());
        let at = far[0].expires_datetime().unwrap().unix_timestamp();
        assert_eq!(at, NOW as i64 + 400 * 86_400);
        let mapped = Url::parse("http://[::ffff:127.0.0.1]/").unwrap();
        assert_eq!(jar.cookie_header(&mapped).unwrap(), "mapped=1");
    }

    /// No cookie lives past 400 days, whatever it asks (RFC 6265bis 5.6.1).
    #[test]
    fn lifetimes_are_capped_at_400_days() {
        const NOW: u64 = 1_700_000_000;
        let jar = Jar::with_clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
        let url = Url::parse("https://example.test/").unwrap();
        jar.add_cookie_str("a=1; Max-Age=999999999999", &url);
        jar.add_cookie_str("b=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", &url);
        jar.add_cookie_str("c=1; Max-Age=60", &url);
        let limit = NOW as i64 + 400 * 86_400;
        let mut expiries: Vec<(String, i64)> = jar
            .cookies_for(&url)
            .iter()
            .map(|c| {
                let at = c.expires_datetime().unwrap().unix_timestamp();
                (c.name().to_owned(), at)
            })
            .collect();
        expiries.sort();
        assert_eq!(
            expiries,
            [
                ("a".to_owned(), limit),
                ("b".to_owned(), limit),
                ("c".to_owned(), NOW as i64 + 60)
            ]
        );
    }

    const START: u64 = 1_700_000_000;

    /// A jar whose clock the test moves.
    fn jar_with_clock() -> (Jar, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(START));
        let clock = now.clone();
        let jar =
            Jar::with_clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)));
        (jar, now)
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn header(jar: &Jar, u: &str) -> Option<String> {
        jar.cookie_header(&url(u))
            .map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn host_only_and_domain_cookies() {
        let jar = Jar::new();
        let u = url("http://www.example.com/");
        jar.add_cookie_str("host=1", &u);
        jar.add_cookie_str("dom=1; Domain=example.com", &u);
        jar.add_cookie_str("self=1; Domain=www.example.com", &u);
        assert_eq!(
            header(&jar, "http://www.example.com/").as_deref(),
            Some("host=1; dom=1; self=1")
        );
        assert_eq!(
            header(&jar, "http://a.www.example.com/").as_deref(),
            Some("dom=1; self=1")
        );
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("dom=1")
        );
        assert_eq!(
            header(&jar, "http://other.example.com/").as_deref(),
            Some("dom=1")
        );
        assert_eq!(header(&jar, "http://example.org/"), None);
        assert_eq!(header(&jar, "http://wwwexample.com/"), None);
    }

    #[test]
    fn domain_attribute_rejections() {
        let jar = Jar::new();
        let u = url("http://a.b.example.co.uk/");
        for rejected in [
            "x=1; Domain=co.uk",               // public suffix
            "x=1; Domain=uk",                  // public suffix
            "x=1; Domain=other.co.uk",         // does not domain-match
            "x=1; Domain=c.a.b.example.co.uk", // a subdomain of the host
            "x=1; Domain=example.co.uk.",      // trailing dot
            "x=1; Domain=\"example.co.uk\"",   // quotes are not stripped
        ] {
            jar.add_cookie_str(rejected, &u);
        }
        assert!(jar.is_empty());
        jar.add_cookie_str("x=1; Domain=.EXAMPLE.co.uk", &u);
        assert_eq!(
            header(&jar, "http://example.co.uk/").as_deref(),
            Some("x=1")
        );
    }

    #[test]
    fn domain_must_stay_within_the_registrable_domain() {
        // `kawasaki.jp` is not itself a public suffix, but `*.kawasaki.jp` are.
        let jar = Jar::new();
        let u = url("http://www.foo.kawasaki.jp/");
        jar.add_cookie_str("x=1; Domain=kawasaki.jp", &u);
        assert!(jar.is_empty());
        jar.add_cookie_str("x=1; Domain=www.foo.kawasaki.jp", &u);
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn public_suffix_domain_equal_to_the_host_is_host_only() {
        let jar = Jar::new();
        jar.add_cookie_str("x=1; Domain=localhost", &url("http://localhost:8080/"));
        jar.add_cookie_str("y=1; Domain=github.io", &url("https://github.io/"));
        assert_eq!(header(&jar, "http://localhost/").as_deref(), Some("x=1"));
        assert_eq!(header(&jar, "http://sub.localhost/"), None);
        assert_eq!(header(&jar, "https://github.io/").as_deref(), Some("y=1"));
        assert_eq!(header(&jar, "https://user.github.io/"), None);
        assert!(jar.cookies_for(&url("http://localhost/"))[0]
            .domain()
            .is_none());
    }

    #[test]
    fn plain_http_neither_sets_nor_shadows_secure_cookies() {
        let jar = Jar::new();
        let http = url("http://shop.example/");
        let https = url("https://shop.example/");
        jar.add_cookie_str("planted=1; Secure", &http);
        assert_eq!(jar.len(), 0, "a Secure cookie from plain http is ignored");

        jar.add_cookie_str("session=real; Secure; Path=/", &https);
        // Same name, a path within the secure cookie's, a domain matching it: would shadow it.
        jar.add_cookie_str("session=attacker; Path=/", &http);
        jar.add_cookie_str("session=attacker; Path=/account", &http);
        jar.add_cookie_str("session=attacker; Domain=shop.example", &http);
        assert_eq!(
            header(&jar, "https://shop.example/account").as_deref(),
            Some("session=real")
        );
        // Another name is fine, and https may replace its own cookie.
        jar.add_cookie_str("theme=dark", &http);
        jar.add_cookie_str("session=renewed; Path=/", &https);
        assert_eq!(
            header(&jar, "https://shop.example/").as_deref(),
            Some("session=renewed; theme=dark")
        );

        // A local development server counts as a secure origin for setting them, as in browsers (they
        // are still sent over https only).
        for local in [
            "http://localhost:8080/",
            "http://127.0.0.1:8080/",
            "http://[::1]/",
        ] {
            jar.add_cookie_str("dev=1; Secure", &url(local));
            assert_eq!(header(&jar, local), None, "{local}");
        }
        assert_eq!(jar.len(), 5);

        // An expired Secure cookie (still in the store: expiry is lazy) shadows nothing.
        let (jar, now) = jar_with_clock();
        jar.add_cookie_str("old=1; Secure; Max-Age=10", &https);
        now.store(START + 20, Ordering::SeqCst);
        jar.add_cookie_str("old=plain", &http);
        assert_eq!(
            header(&jar, "http://shop.example/").as_deref(),
            Some("old=plain")
        );
    }

    #[test]
    fn a_netscape_file_never_has_a_line_it_cannot_read_back() {
        let jar = Jar::new();
        let site = url("http://127.0.0.1/a/");
        jar.add_cookie_str("tab=b\tc; Max-Age=3600", &site);
        jar.add_cookie_str("path=1; Path=/x\ty", &site);
        jar.add_cookie_str("ok=1; Path=/", &site);
        assert_eq!(jar.len(), 3);
        let mut file = Vec::new();
        jar.save_netscape(&mut file).unwrap();
        let text = String::from_utf8(file).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(lines, ["127.0.0.1\tFALSE\t/\tFALSE\t0\tok\t1"]);
        let restored = Jar::new();
        assert_eq!(restored.load_netscape(text.as_bytes()).unwrap(), 1);
        assert_eq!(
            header(&restored, "http://127.0.0.1/a/").as_deref(),
            Some("ok=1")
        );
    }

    #[test]
    fn name_prefixes_are_enforced_case_insensitively() {
        let jar = Jar::new();
        let https = url("https://shop.example/a/b");
        for line in [
            "__Secure-no=1",
            "__secure-no=2",
            "__Host-no=1; Secure",
            "__Host-no=2; Secure; Path=/; Domain=shop.example",
            "__HOST-no=3; Path=/",
            "__Host-no=4; Secure; Path=/a",
        ] {
            jar.add_cookie_str(line, &https);
        }
        assert_eq!(jar.len(), 0);
        // The path must be sent as `Path=/`, not come out `/` by default; and no `Domain` at all,
        // even one that a public-suffix host makes host-only.
        jar.add_cookie_str("__Host-no=5; Secure", &url("https://shop.example/login"));
        jar.add_cookie_str(
            "__Host-no=6; Secure; Path=/; Domain=localhost",
            &url("https://localhost/"),
        );
        assert_eq!(jar.len(), 0);
        jar.add_cookie_str(
            "__Secure-yes=1; Secure; Domain=shop.example; Path=/",
            &https,
        );
        jar.add_cookie_str("__Host-yes=1; Secure; Path=/", &https);
        assert_eq!(
            header(&jar, "https://www.shop.example/").as_deref(),
            Some("__Secure-yes=1")
        );
        assert_eq!(
            header(&jar, "https://shop.example/").as_deref(),
            Some("__Secure-yes=1; __Host-yes=1")
        );
    }

    #[test]
    fn ip_hosts_match_only_themselves() {
        let jar = Jar::new();
        let u = url("http://127.0.0.1:8080/");
        jar.add_cookie_str("a=1", &u);
        jar.add_cookie_str("b=1; Domain=127.0.0.1", &u);
        jar.add_cookie_str("c=1; Domain=0.0.1", &u);
        jar.add_cookie_str("d=1; Domain=localhost", &u);
        assert_eq!(
            header(&jar, "http://127.0.0.1:9999/").as_deref(),
            Some("a=1; b=1")
        );
        assert_eq!(header(&jar, "http://localhost:8080/"), None);
        assert_eq!(header(&jar, "http://127.0.0.2:8080/"), None);

        let v6 = url("http://[::1]/");
        jar.add_cookie_str("e=1", &v6);
        assert_eq!(header(&jar, "http://[0:0::1]/").as_deref(), Some("e=1"));
        assert_eq!(jar.len(), 3);
    }

    #[test]
    fn internationalized_domain_attribute() {
        let jar = Jar::new();
        let u = url("http://www.bücher.example/");
        assert_eq!(u.host_str(), Some("www.xn--bcher-kva.example"));
        jar.add_cookie_str("x=1; Domain=BÜCHER.example", &u);
        jar.add_cookie_str("y=1; Domain=b%C3%BCcher.example", &u);
        assert_eq!(
            header(&jar, "http://bücher.example/").as_deref(),
            Some("x=1")
        );
    }

    #[test]
    fn paths() {
        let jar = Jar::new();
        let u = url("http://example.com/docs/guide/intro.html");
        jar.add_cookie_str("default=1", &u); // Path=/docs/guide
        jar.add_cookie_str("root=1; Path=/", &u);
        jar.add_cookie_str("docs=1; Path=/docs", &u);
        jar.add_cookie_str("relative=1; Path=docs", &u); // not absolute: default path
        assert_eq!(
            header(&jar, "http://example.com/docs/guide/x").as_deref(),
            Some("default=1; relative=1; docs=1; root=1")
        );
        assert_eq!(
            header(&jar, "http://example.com/docs").as_deref(),
            Some("docs=1; root=1")
        );
        assert_eq!(
            header(&jar, "http://example.com/docsx").as_deref(),
            Some("root=1")
        );
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("root=1")
        );
    }

    #[test]
    fn secure_cookies_only_over_secure_channels_and_http_only_is_sent() {
        let jar = Jar::new();
        // Set over https (plain http may not set one); only sent over https.
        jar.add_cookie_str("s=1; Secure", &url("https://example.com/"));
        jar.add_cookie_str("h=1; HttpOnly", &url("https://example.com/"));
        assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("h=1"));
        assert_eq!(
            header(&jar, "https://example.com/").as_deref(),
            Some("s=1; h=1")
        );
        assert_eq!(
            header(&jar, "wss://example.com/").as_deref(),
            Some("s=1; h=1")
        );
        assert_eq!(header(&jar, "ws://example.com/").as_deref(), Some("h=1"));
    }

    #[test]
    fn replacement_keeps_creation_order() {
        let jar = Jar::new();
        let u = url("http://example.com/");
        jar.add_cookie_str("a=1", &u);
        jar.add_cookie_str("b=1", &u);
        jar.add_cookie_str("a=2", &u);
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("a=2; b=1")
        );
        // Same name, other path: a different cookie.
        jar.add_cookie_str("a=3; Path=/x", &u);
        assert_eq!(
            header(&jar, "http://example.com/x/y").as_deref(),
            Some("a=3; a=2; b=1")
        );
        // Same name, domain (the host's, though no longer host-only: RFC 6265 §5.3 step 11 compares
        // the domain string only) and path: replaced.
        jar.add_cookie_str("a=4; Domain=example.com", &u);
        assert_eq!(jar.len(), 3);
        assert_eq!(
            header(&jar, "http://example.com/x/y").as_deref(),
            Some("a=3; a=4; b=1")
        );
        assert_eq!(
            header(&jar, "http://sub.example.com/").as_deref(),
            Some("a=4")
        );
        // Another domain: a different cookie.
        jar.add_cookie_str("a=5", &url("http://sub.example.com/"));
        assert_eq!(
            header(&jar, "http://sub.example.com/").as_deref(),
            Some("a=4; a=5")
        );
    }

    #[test]
    fn many_equal_timestamps_keep_their_order() {
        let (jar, _) = jar_with_clock();
        let u = url("http://example.com/");
        let names: Vec<String> = (0..MAX_COOKIES_PER_DOMAIN)
            .map(|i| format!("c{}", 49 - i))
            .collect();
        for name in &names {
            jar.add_cookie_str(&format!("{name}=v"), &u);
        }
        let sent: Vec<String> = jar
            .cookies_for(&u)
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        assert_eq!(sent, names);
    }

    #[test]
    fn expiry_and_deletion() {
        let (jar, now) = jar_with_clock();
        let u = url("http://example.com/");
        jar.add_cookie_str("short=1; Max-Age=10", &u);
        jar.add_cookie_str(
            "long=1; Max-Age=1000; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            &u,
        );
        jar.add_cookie_str("session=1", &u);
        jar.add_cookie_str("past=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", &u);
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("short=1; long=1; session=1")
        );

        now.store(START + 10, Ordering::SeqCst);
        assert_eq!(
            header(&jar, "http://example.com/").as_deref(),
            Some("long=1; session=1")
        );
        assert_eq!(jar.len(), 2);

        jar.add_cookie_str("long=gone; Max-Age=0", &u);
        jar.add_cookie_str("session=gone; Max-Age=-5", &u);
        assert_eq!(header(&jar, "http://example.com/"), None);
        assert!(jar.is_empty());
        assert!(!jar.may_have_cookies());
    }

    #[test]
    fn deleting_needs_the_same_domain_and_path() {
        let jar = Jar::new();
        let u = url("http://www.example.com/a/b");
        jar.add_cookie_str("x=1; Path=/a", &u);
        jar.add_cookie_str("x=; Max-Age=0; Path=/", &u);
        jar.add_cookie_str("x=; Max-Age=0; Path=/a; Domain=example.com", &u);
        jar.add_cookie_str("x=; Max-Age=0; Path=/a", &url("http://example.com/"));
        assert_eq!(jar.len(), 1);
        jar.add_cookie_str("x=; Max-Age=0; Path=/a", &u);
        assert!(jar.is_empty());
    }

    #[test]
    fn per_domain_cap_evicts_least_recently_used() {
        let jar = Jar::new();
        let u = url("http://example.com/");
        for i in 0..MAX_COOKIES_PER_DOMAIN {
            jar.add_cookie_str(&format!("c{i}=v; Domain=example.com"), &u);
        }
        // Using c0 makes c1 the least recently used.
        jar.add_cookie_str("c0=used; Domain=example.com", &u);
        jar.add_cookie_str("new=1", &url("http://sub.example.com/"));
        assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN);
        let names: Vec<String> = jar
            .cookies_for(&url("http://sub.example.com/"))
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        assert!(names.contains(&"c0".to_owned()) && names.contains(&"new".to_owned()));
        assert!(!names.contains(&"c1".to_owned()));

        // Other registrable domains are counted separately.
        jar.add_cookie_str("other=1", &url("http://example.org/"));
        assert_eq!(jar.len(), MAX_COOKIES_PER_DOMAIN + 1);
    }

    #[test]
    fn sending_counts_as_use() {
        let jar = Jar::new();
        for i in 0..MAX_COOKIES_PER_DOMAIN {
            let path = if i == 0 { "/old" } else { "/" };
            jar.add_cookie_str(&format!("c{i}=v; Path={path}"), &url("http://example.com/"));
        }
        assert!(jar.cookie_header(&url("http://example.com/old")).is_some()); // touches all
        jar.add_cookie_str("c1=v2", &url("http://example.com/")); // touches c1 again
        jar.cookie_header(&url("http://example.com/old")); // c0 is now the most recent with c1...
        jar.cookie_header(&url("http://example.com/")); // ... and c0 is now the oldest use
        jar.add_cookie_str("new=1", &url("http://example.com/"));
        assert!(jar
            .cookies_for(&url("http://example.com/old"))
            .iter()
            .all(|c| c.name() != "c0"));
    }

    #[test]
    fn total_cap_holds() {
        let jar = Jar::new();
        let hosts = MAX_COOKIES / MAX_COOKIES_PER_DOMAIN + 2;
        for h in 0..hosts {
            let u = url(&format!("http://host{h}.example{h}.com/"));
            for i in 0..MAX_COOKIES_PER_DOMAIN {
                jar.add_cookie_str(&format!("c{i}=v"), &u);
            }
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        // The least recently used went first: the first hosts' cookies.
        assert_eq!(header(&jar, "http://host0.example0.com/"), None);
        let last = format!("http://host{0}.example{0}.com/", hosts - 1);
        assert_eq!(jar.cookies_for(&url(&last)).len(), MAX_COOKIES_PER_DOMAIN);
    }

    #[test]
    fn total_cap_drops_expired_first() {
        let (jar, now) = jar_with_clock();
        jar.add_cookie_str("old=1; Max-Age=5", &url("http://old.com/"));
        // Fill the jar up to the cap, the expired cookie included.
        for n in 1..MAX_COOKIES {
            let (h, i) = (n / MAX_COOKIES_PER_DOMAIN, n % MAX_COOKIES_PER_DOMAIN);
            jar.add_cookie_str(&format!("c{i}=v"), &url(&format!("http://example{h}.com/")));
        }
        now.store(START + 5, Ordering::SeqCst);
        jar.add_cookie_str("new=1", &url("http://new.com/"));
        // The expired cookie made room; the least recently used (c1 of example0.com) stayed.
        assert_eq!(
            header(&jar, "http://example0.com/").map(|h| h.starts_with("c1=v")),
            Some(true)
        );
        assert_eq!(header(&jar, "http://new.com/").as_deref(), Some("new=1"));
        assert_eq!(jar.len(), MAX_COOKIES);
    }

    #[test]
    fn oversized_cookies_are_ignored() {
        let jar = Jar::new();
        let u = url("http://example.com/");
        jar.add_cookie_str(&format!("big={}", "x".repeat(MAX_COOKIE_BYTES)), &u);
        assert!(jar.is_empty());
        jar.add_cookie_str(&format!("big={}", "x".repeat(MAX_COOKIE_BYTES - 3)), &u);
        assert_eq!(jar.len(), 1);
    }

    #[test]
    fn only_http_urls() {
        let jar = Jar::new();
        jar.add_cookie_str("a=1", &url("file:///tmp/x"));
        jar.add_cookie_str("a=1", &url("ftp://example.com/"));
        assert!(jar.is_empty());
        jar.add_cookie_str("a=1", &url("http://example.com/"));
        assert_eq!(jar.cookie_header(&url("ftp://example.com/")), None);
        assert!(jar.cookies_for(&url("data:,x")).is_empty());
    }

    #[test]
    fn public_cookie_representation() {
        // Half a year before the cookie expires (a later date is cut to 400 days from now).
        let jar = Jar::with_clock(|| UNIX_EPOCH + Duration::from_secs(4_100_000_000));
        let u = url("https://example.com/a/b");
        jar.add_cookie_str(
            "a=\"1\"; Domain=example.com; Path=/a; Secure; HttpOnly; Expires=Wed, 09 Jun 2100 10:18:14 GMT",
            &u,
        );
        jar.add_cookie_str("b=2", &u);
        let cookies = jar.cookies_for(&u);
        assert_eq!(cookies.len(), 2);
        let a = &cookies[0];
        assert_eq!(a.name_value(), ("a", "\"1\""));
        assert_eq!(a.domain(), Some("example.com"));
        assert_eq!(a.path(), Some("/a"));
        assert_eq!((a.secure(), a.http_only()), (Some(true), Some(true)));
        assert_eq!(
            a.expires_datetime().map(|t| t.unix_timestamp()),
            Some(4_116_219_494)
        );
        let b = &cookies[1];
        assert_eq!(
            (b.name_value(), b.domain(), b.path()),
            (("b", "2"), None, Some("/a"))
        );
        assert_eq!((b.secure(), b.http_only(), b.expires()), (None, None, None));
    }

    #[test]
    fn clear_empties() {
        let jar = Jar::new();
        jar.add_cookie_str("a=1", &url("http://example.com/"));
        assert!(jar.may_have_cookies());
        jar.clear();
        assert!(jar.is_empty() && !jar.may_have_cookies());
        assert_eq!(header(&jar, "http://example.com/"), None);
    }

    #[test]
    fn json_round_trip() {
        let (jar, now) = jar_with_clock();
        let u = url("https://www.example.com/app/page");
        jar.add_cookie_str(
            "p1=1; Max-Age=100; Secure; HttpOnly; Domain=example.com; Path=/",
            &u,
        );
        jar.add_cookie_str("session=1", &u);
        jar.add_cookie_str("p2=2; Expires=Wed, 09 Jun 2100 10:18:14 GMT", &u);
        jar.add_cookie_str("p3=3; Max-Age=5", &u);

        let mut saved = Vec::new();
        jar.save_json(&mut saved).unwrap();
        let mut with_session = Vec::new();
        jar.save_json_incl_session(&mut with_session).unwrap();

        now.store(START + 5, Ordering::SeqCst); // p3 has expired by now
        let restored = Jar::with_clock(move || UNIX_EPOCH + Duration::from_secs(START + 5));
        assert_eq!(restored.load_json(saved.as_slice()).unwrap(), 2);
        assert_eq!(restored.cookie_header(&u).unwrap(), "p2=2; p1=1");
        assert_eq!(
            restored.cookie_header(&url("http://example.com/")),
            None,
            "still Secure"
        );
        assert_eq!(
            restored.cookies_for(&u),
            jar.cookies_for(&u)
                .into_iter()
                .filter(|c| c.name() != "session")
                .collect::<Vec<_>>()
        );

        let restored = Jar::with_clock(move || UNIX_EPOCH + Duration::from_secs(START));
        assert_eq!(restored.load_json(with_session.as_slice()).unwrap(), 4);
        assert_eq!(
            restored.cookie_header(&u).unwrap(),
            "session=1; p2=2; p3=3; p1=1"
        );
    }

    #[test]
    fn json_rejects_impossible_cookies() {
        let jar = Jar::new();
        let entry = |name: &str, value: &str, domain: &str, path: &str| {
            serde_json::json!({
                "name": name, "value": value, "domain": domain, "path": path,
                "host_only": true, "secure": false, "http_only": false, "expires": null, "creation": 0
            })
        };
        let input = serde_json::Value::Array(vec![
            entry("ok", "1", "example.com", "/"),
            entry("", "1", "example.com", "/"),
            entry("a;b", "1", "example.com", "/"),
            entry("a=b", "1", "example.com", "/"),
            entry("a", "x;y", "example.com", "/"),
            entry("a", "x\r\ny", "example.com", "/"),
            entry(" a", "1", "example.com", "/"),
            entry("a", "1", "EXAMPLE.com", "/"),
            entry("a", "1", "", "/"),
            entry("a", "1", "example.com", "nope"),
            entry("a", "1", "example.com", "/\n"),
        ]);
        assert_eq!(jar.load_json(input.to_string().as_bytes()).unwrap(), 1);
        assert_eq!(header(&jar, "http://example.com/").as_deref(), Some("ok=1"));

        assert!(jar.load_json(&b"{not json"[..]).is_err());
        assert!(jar.load_json(&b"{\"name\": 1}"[..]).is_err());
    }

    #[test]
    fn debug_does_not_lock_or_leak_values() {
        let jar = Jar::new();
        jar.add_cookie_str("secret=hunter2", &url("http://example.com/"));
        let debug = format!("{jar:?}");
        assert!(
            debug.contains("stored: 1") && !debug.contains("hunter2"),
            "{debug}"
        );
    }
}
