//! `Set-Cookie` handling in the jar: store arbitrary header bytes for a URL, then ask for the `Cookie`
//! header and the cookies of related URLs, and persist the jar. Must never panic; the caps must hold; a
//! save/load round trip must send the same `Cookie` headers.
//!
//! Input: byte 0 picks the URL the cookies come from, byte 1 how far the clock moves before the
//! lookups, the rest is `Set-Cookie` values separated by `\n`.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use courier_core::cookie::{Jar, MAX_COOKIES, MAX_COOKIES_PER_DOMAIN, MAX_COOKIE_BYTES};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use url::Url;

const URLS: &[&str] = &[
    "http://example.com/",
    "https://www.example.com/a/b/c?q=1",
    "http://sub.example.co.uk/path/",
    "https://co.uk/",
    "http://127.0.0.1:8080/x",
    "http://[::1]/",
    "http://localhost/",
    "https://xn--bcher-kva.example/dir/file",
    "ws://example.com/socket",
    "http://example.com./trailing-dot",
    "ftp://example.com/",
    "https://a.b.c.d.e.example.com/",
];

fn jar_at(clock: &Arc<AtomicU64>) -> Jar {
    let clock = clock.clone();
    Jar::with_clock(move || {
        SystemTime::UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst))
    })
}

fn check_jar(jar: &Jar, urls: &[Url]) -> Vec<Option<HeaderValue>> {
    assert!(jar.len() <= MAX_COOKIES);
    urls.iter()
        .map(|url| {
            let cookies = jar.cookies(url);
            assert!(
                cookies.len() <= MAX_COOKIES_PER_DOMAIN,
                "{} cookies for {url}",
                cookies.len()
            );
            for cookie in &cookies {
                let (name, value) = cookie.name_value();
                assert!(!name.is_empty());
                assert!(name.len() + value.len() <= MAX_COOKIE_BYTES);
            }
            let header = jar.cookie_header(url);
            assert_eq!(header.is_some(), !cookies.is_empty(), "{url}");
            header
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [origin, advance, rest @ ..] = data else {
        return;
    };
    let urls: Vec<Url> = URLS.iter().map(|u| Url::parse(u).unwrap()).collect();
    let origin = &urls[usize::from(*origin) % urls.len()];

    let clock = Arc::new(AtomicU64::new(1_700_000_000));
    let jar = jar_at(&clock);
    for line in rest.split(|&b| b == b'\n') {
        match HeaderValue::from_bytes(line) {
            Ok(value) => jar.store_response_cookies(origin, [&value]),
            Err(_) => jar.add_cookie_str(&String::from_utf8_lossy(line), origin),
        }
    }
    // Up to about 8.5 years ahead, so that Max-Age and Expires matter.
    clock.fetch_add(u64::from(*advance).pow(4) * 64, Ordering::SeqCst);
    let headers = check_jar(&jar, &urls);

    let mut json = Vec::new();
    jar.save_json_incl_session(&mut json).unwrap();
    let restored = jar_at(&clock);
    let loaded = restored.load_json(json.as_slice()).unwrap();
    assert_eq!(loaded, restored.len());
    assert_eq!(restored.len(), jar.len());
    assert_eq!(check_jar(&restored, &urls), headers);
});
