//! `get -v`: curl's verbose log on stderr, from the client's [`Exchange`]s: `*` lines for the
//! connection (the address, reuse, TLS version and cipher, the protocol) and for redirects followed,
//! `>` lines for the request head as written, `<` lines for the response head. Every exchange on the
//! network is shown, redirect hops, retries and authentication round trips included; bodies are not,
//! nor a request that got no response head (the error printed after says what happened).

use std::fmt::Write;
use std::sync::Mutex;

use courier::header::{HeaderMap, LOCATION};
use courier::{Exchange, Version};

use crate::get::{status_line, version_text};

/// The log of one run.
#[derive(Default)]
pub(crate) struct Log {
    /// The last response was a redirect: the next request follows it.
    after_redirect: Mutex<bool>,
}

impl Log {
    /// Writes the lines of `exchange` to stderr at once.
    pub(crate) fn exchange(&self, exchange: &Exchange<'_>) {
        let mut after_redirect = self
            .after_redirect
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let response = exchange.response();
        let text = render(exchange, *after_redirect);
        *after_redirect =
            response.status().is_redirection() && response.headers().contains_key(LOCATION);
        err!("{text}");
    }
}

/// The lines of one exchange; `after_redirect` when it follows a redirect.
fn render(exchange: &Exchange<'_>, after_redirect: bool) -> String {
    let mut out = String::new();
    if after_redirect {
        let _ = writeln!(
            out,
            "* Issue another request to this URL: '{}'",
            exchange.uri()
        );
    }
    let connection = exchange.connection();
    let id = connection.connection_id();
    let address = |addr: Option<std::net::SocketAddr>| match addr {
        Some(addr) => format!("{} port {}", addr.ip(), addr.port()),
        None => "a Unix socket".to_owned(),
    };
    let remote = address(connection.remote_addr());
    if connection.reused() {
        let _ = writeln!(out, "* Re-using existing connection #{id} to {remote}");
    } else {
        let local = address(connection.local_addr());
        let _ = writeln!(out, "* Connected to {remote} from {local} (#{id})");
        if let (Some(version), Some(cipher)) = (connection.tls_version(), connection.cipher_suite())
        {
            let _ = writeln!(out, "* SSL connection using {version} / {cipher}");
        }
        let _ = writeln!(out, "* using {}", version_text(connection.version()));
    }

    let request = exchange.request();
    let uri = request.uri();
    if request.version() == Version::HTTP_2 {
        // Sent as pseudo-headers: the target as curl shows it, then the authority.
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let _ = writeln!(out, "> {} {path} HTTP/2", request.method());
        if let Some(authority) = uri.authority() {
            let _ = writeln!(out, "> :authority: {authority}");
        }
    } else {
        let version = version_text(request.version());
        let _ = writeln!(out, "> {} {uri} {version}", request.method());
    }
    headers(&mut out, '>', request.headers());

    let response = exchange.response();
    let status = status_line(response.version(), response.status(), exchange.reason());
    let _ = writeln!(out, "< {}", printable(&status));
    headers(&mut out, '<', response.headers());
    out
}

/// `text` with control characters (C0 but tab, DEL, C1: a server's `ESC [` or `U+009B` would drive
/// the terminal) shown as `\u{..}` escapes.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// `> name: value` for each header, then `> ` for the blank line that ends the head.
fn headers(out: &mut String, marker: char, headers: &HeaderMap) {
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        let _ = writeln!(out, "{marker} {name}: {}", printable(&value));
    }
    let _ = writeln!(out, "{marker} ");
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_from_a_server_are_escaped() {
        assert_eq!(printable("text/html; q=1\tx"), "text/html; q=1\tx");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
    }
}
