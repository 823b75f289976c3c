//! The `CONNECT` handshake (RFC 9110 §9.3.6) that turns a connection to an HTTP(S) proxy into a
//! tunnel to the destination, answering the proxy's Digest challenge (RFC 7616).
//!
//! The proxy's credentials (from its URL or `Proxy::basic_auth`) go in the first `CONNECT` as Basic,
//! as before. A `407` with a `Digest` challenge is answered with one more `CONNECT` carrying
//! `Proxy-Authorization: Digest ...` for method `CONNECT` and `uri="host:port"`: on the same
//! connection when the proxy keeps it open and the 407's body is short and has a `Content-Length`,
//! else on a new connection. The answer is made by the auth layer's code ([`Party`]), with the
//! connector's own sessions: later tunnels to the same proxy with the same credentials answer the
//! remembered nonce before being asked (`nc` going up), and a `stale=true` nonce is answered again,
//! once. Credentials the proxy refuses give its `407` back as a connect error with that status
//! (`Error::proxy_status`): no loop, and no retry (a 4xx refusal is not sent again; 408, 429 and 5xx
//! are). Errors never quote what was sent.

use std::fmt;
use std::future::Future;
use std::io;

use http::header::{HeaderName, CONTENT_LENGTH, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Target;
use crate::auth::{Challenge, Party, Sessions};
use crate::error::Error;
use crate::transport::checkout::{connection_close, says_close};

/// The most bytes of a `CONNECT` response head read before giving up on the proxy.
const MAX_TUNNEL_HEAD: usize = 16 * 1024;

/// The longest `407` body read through to answer on the same connection; past it, a new connection
/// costs less.
const MAX_SKIPPED_BODY: u64 = 64 * 1024;

/// The most answers to one tunnel's challenges: a fresh one, and one more for a stale nonce.
const MAX_ANSWERS: u8 = 2;

const PROXY_AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("proxy-authentication-info");

/// Asks the proxy at the other end of `stream` for a tunnel to `host:port` and reads its answer; a
/// 2xx gives back a stream connected to the destination: `stream`, or a new connection from
/// `reconnect` when the proxy closed it after a challenge. `proxy.headers` (its credentials and
/// `Proxy::headers`) go in the `CONNECT` request only; a remembered Digest session in `sessions`
/// answers before being asked. `user_agent` goes too, unless `proxy.headers` has one (reqwest sends
/// the client's: proxies filter on it).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn tunnel<S, F, Fut>(
    mut stream: S,
    proxy: &Target,
    host: &str,
    port: u16,
    user_agent: Option<&http::HeaderValue>,
    sessions: &Sessions,
    reconnect: F,
) -> Result<S, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<S, Error>>,
{
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut party = proxy.digest.as_ref().map(|(origin, credentials)| {
        let mut party = Party::proxy(origin.clone(), credentials.clone(), sessions);
        party.answer_remembered(true);
        party
    });
    let mut answers = 0;
    // The connection carried a refusal before this CONNECT: the proxy may close it at any moment
    // after its 407 (a keep-alive timeout, a per-connection limit) even though it did not say so.
    let mut reused = false;
    loop {
        let mut headers = proxy.headers.clone();
        if let Some(user_agent) = user_agent {
            if !headers.contains_key(http::header::USER_AGENT) {
                headers.insert(http::header::USER_AGENT, user_agent.clone());
            }
        }
        if let Some(answer) = party
            .as_ref()
            .and_then(|p| p.header_value("CONNECT", &authority, None))
        {
            headers.insert(PROXY_AUTHORIZATION, answer);
        }
        let exchanged = async {
            send_connect(&mut stream, &authority, &headers).await?;
            read_reply(&mut stream).await
        }
        .await;
        let (reply, past_head) = match exchanged {
            Ok(reply) => reply,
            // No tunnel exists yet, so the same CONNECT goes again on a new connection, once.
            Err(_) if reused => {
                reused = false;
                stream = reconnect().await?;
                continue;
            }
            Err(err) => return Err(Error::connect(err)),
        };
        if reply.status.is_success() {
            // After a 2xx the proxy sends nothing until we speak (TLS).
            if past_head != 0 {
                return Err(Error::connect(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "proxy sent data after its CONNECT response",
                )));
            }
            if let Some(party) = &party {
                party.accepted(reply.headers.get(PROXY_AUTHENTICATION_INFO));
            }
            return Ok(stream);
        }
        let refused = Refused {
            status: reply.status,
            reason: reply.reason.clone(),
            sent_credentials: headers.contains_key(PROXY_AUTHORIZATION),
        };
        let answer = reply.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
            && party.as_mut().is_some_and(|party| {
                let challenges = Challenge::parse_all(reply.headers.get_all(PROXY_AUTHENTICATE));
                party.challenged(&challenges, true, answers < MAX_ANSWERS)
            });
        if !answer {
            return Err(Error::connect(refused).with_proxy_status(reply.status));
        }
        answers += 1;
        (stream, reused) = match reply.reusable_after(past_head) {
            Some(rest) if skip(&mut stream, rest).await => (stream, true),
            _ => (reconnect().await?, false),
        };
    }
}

/// Writes `CONNECT authority HTTP/1.1` with `Host` and `headers`.
async fn send_connect<S>(stream: &mut S, authority: &str, headers: &HeaderMap) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(b"CONNECT ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b"\r\n");
    crate::headers::write_lines(&mut head, headers);
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await?;
    stream.flush().await
}

/// A `CONNECT` response head.
struct Reply {
    status: StatusCode,
    reason: String,
    headers: HeaderMap,
    /// HTTP/1.1 without `Connection: close`: the proxy reads another request on the connection.
    keep_alive: bool,
}

impl Reply {
    /// Parses a whole head (up to and with its blank line).
    fn parse(head: &[u8]) -> io::Result<Reply> {
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy sent an invalid CONNECT response",
            )
        };
        // One slot per line: a head within the size limit never has too many headers.
        let lines = head.iter().filter(|&&b| b == b'\n').count();
        let mut slots = vec![httparse::EMPTY_HEADER; lines];
        let mut response = httparse::Response::new(&mut slots);
        // As lenient as a CONNECT reply has always been read here (only the status line mattered):
        // a header line that does not parse is skipped, not a failed tunnel.
        let parsed = httparse::ParserConfig::default()
            .allow_spaces_after_header_name_in_responses(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .ignore_invalid_headers_in_responses(true)
            .parse_response(&mut response, head);
        if !parsed.map_err(|_| invalid())?.is_complete() {
            return Err(invalid());
        }
        let status = response
            .code
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(invalid)?;
        let mut headers = HeaderMap::new();
        for header in response.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_bytes(header.value),
            ) {
                headers.append(name, value);
            }
        }
        Ok(Reply {
            status,
            reason: response.reason.unwrap_or_default().to_owned(),
            keep_alive: response.version == Some(1)
                && !connection_close(&headers)
                // The non-standard `Proxy-Connection` some proxies still send, meaning the same.
                && !says_close(&headers, "proxy-connection"),
            headers,
        })
    }

    /// How many bytes of this (refusal's) body are still to be read before the connection can carry
    /// another request, `past_head` of them being read already; `None` when it cannot: the proxy
    /// closes it, or the body has no length (close-delimited or chunked), is too long, or was
    /// followed by more than it.
    fn reusable_after(&self, past_head: usize) -> Option<u64> {
        if !self.keep_alive || self.headers.contains_key(http::header::TRANSFER_ENCODING) {
            return None;
        }
        let mut lengths = self
            .headers
            .get_all(CONTENT_LENGTH)
            .iter()
            .map(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let length = lengths.next()??;
        if lengths.any(|other| other != Some(length)) {
            return None;
        }
        let past_head = u64::try_from(past_head).ok()?;
        if length > MAX_SKIPPED_BODY || past_head > length {
            return None;
        }
        Some(length - past_head)
    }
}

/// Reads the response head: byte runs until the blank line. Returns it with how many bytes past it
/// were read (the start of a refusal's body, such as Squid's HTML page). Interim (1xx) heads before
/// it are read past (RFC 9110 §15.2), and a bare LF ends a line as CRLF does (RFC 9112 §2.2):
/// waiting for a CRLF that never comes would hang both sides.
async fn read_reply<S>(stream: &mut S) -> io::Result<(Reply, usize)>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(256);
    // Where the blank line's search resumes: just before the newest bytes, since it may straddle
    // two reads.
    let mut from = 0;
    loop {
        while let Some(end) = head_end(&buf, from) {
            let reply = Reply::parse(&buf[..end])?;
            if !reply.status.is_informational() {
                return Ok((reply, buf.len() - end));
            }
            buf.drain(..end);
            from = 0;
        }
        if buf.len() > MAX_TUNNEL_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy CONNECT response head too large",
            ));
        }
        let mut chunk = [0u8; 512];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection during CONNECT",
            ));
        }
        from = buf.len().saturating_sub(2);
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The end of the first blank line in `buf` at or after `from` (`\n\n` or `\n\r\n`, the second
/// `\n` included), the first `\n` of it at `from` or later.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(offset) = buf.get(at..)?.iter().position(|&b| b == b'\n') {
        let newline = at + offset;
        match &buf[newline + 1..] {
            [b'\n', ..] => return Some(newline + 2),
            [b'\r', b'\n', ..] => return Some(newline + 3),
            _ => at = newline + 1,
        }
    }
    None
}

/// How long the rest of a refusal's body may take to arrive before a new connection is cheaper.
/// Its own deadline: `connect_timeout` may be unset, and a proxy that announces a body and stalls
/// must not hang the request.
const SKIP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and drops `len` bytes; false if the stream ends (or fails, or stalls) first.
async fn skip<S>(stream: &mut S, len: u64) -> bool
where
    S: AsyncRead + Unpin,
{
    let mut body = (&mut *stream).take(len);
    let mut sink = tokio::io::sink();
    let copied = tokio::time::timeout(SKIP_DEADLINE, tokio::io::copy(&mut body, &mut sink)).await;
    matches!(copied, Ok(Ok(n)) if n == len)
}

/// The proxy refused the tunnel.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    reason: String,
    /// The refused `CONNECT` carried `Proxy-Authorization`.
    sent_credentials: bool,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            f.write_str("proxy authentication required (407)")?;
            if self.sent_credentials {
                f.write_str(": the proxy refused the credentials")?;
            }
            return Ok(());
        }
        // "unsuccessful tunnel", as hyper-util words it: what reqwest users' code looks for.
        write!(
            f,
            "unsuccessful tunnel: the proxy refused it: {} {:?}",
            self.status.as_u16(),
            self.reason
        )
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(head: &str) -> Reply {
        Reply::parse(head.as_bytes()).unwrap()
    }

    #[test]
    fn a_refusal_is_reusable_only_with_a_short_counted_body_and_no_close() {
        let head = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\nContent-Length: 10\r\n\r\n";
        let r = reply(head);
        assert_eq!(r.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        assert_eq!(r.reason, "Proxy Authentication Required");
        assert_eq!(
            r.headers[PROXY_AUTHENTICATE],
            "Digest realm=\"r\", nonce=\"n\""
        );
        assert_eq!(r.reusable_after(0), Some(10));
        assert_eq!(r.reusable_after(4), Some(6));
        assert_eq!(r.reusable_after(11), None, "more than the body came");

        for head in [
            "HTTP/1.1 407 X\r\nContent-Length: 10\r\nConnection: keep-alive, Close\r\n\r\n",
            "HTTP/1.1 407 X\r\nContent-Length: 10\r\nProxy-Connection: close\r\n\r\n",
            "HTTP/1.0 407 X\r\nContent-Length: 10\r\n\r\n",
            "HTTP/1.1 407 X\r\n\r\n",
            "HTTP/1.1 407 X\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 407 X\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n",
            "HTTP/1.1 407 X\r\nContent-Length: 99999999\r\n\r\n",
            "HTTP/1.1 407 X\r\nContent-Length: -1\r\n\r\n",
        ] {
            assert_eq!(reply(head).reusable_after(0), None, "{head}");
        }
        assert_eq!(
            reply("HTTP/1.1 407 X\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")
                .reusable_after(0),
            Some(3)
        );
    }

    #[test]
    fn header_lines_that_do_not_parse_are_skipped_as_before() {
        let r = reply("HTTP/1.1 200 Connection established\r\nProxy-agent : X\r\nbad\x01line\r\nVia: 1.1 p\r\n\r\n");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["via"], "1.1 p");
    }

    #[test]
    fn a_refusal_is_retried_only_when_the_proxy_might_say_yes_later() {
        use crate::transport::Fate;
        let refused = |status| Error::connect(io::Error::other("no")).with_proxy_status(status);
        let forbidden = refused(StatusCode::FORBIDDEN);
        assert_eq!(forbidden.status(), None);
        assert_eq!(forbidden.proxy_status(), Some(StatusCode::FORBIDDEN));
        assert_eq!(forbidden.fate(), None);
        assert_eq!(
            refused(StatusCode::PROXY_AUTHENTICATION_REQUIRED).fate(),
            None
        );
        assert_eq!(refused(StatusCode::BAD_GATEWAY).fate(), Some(Fate::NotSent));
        assert_eq!(
            refused(StatusCode::TOO_MANY_REQUESTS).fate(),
            Some(Fate::NotSent)
        );
    }

    /// `read_reply` of `parts`, each written (and read) separately.
    async fn read_in_parts(parts: &[&'static [u8]]) -> io::Result<(Reply, usize)> {
        use tokio::io::AsyncWriteExt;
        let (mut proxy, mut client) = tokio::io::duplex(1024);
        let parts = parts.to_vec();
        let writer = tokio::spawn(async move {
            for part in parts {
                proxy.write_all(part).await.unwrap();
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            proxy
        });
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), read_reply(&mut client))
            .await
            .expect("read_reply hung");
        drop(writer);
        read
    }

    #[tokio::test]
    async fn bare_line_feeds_and_interim_replies_end_heads_as_they_should() {
        let cases: [(&[&'static [u8]], u16, usize); 6] = [
            (&[b"HTTP/1.1 200 Connection established\n\n"], 200, 0),
            (&[b"HTTP/1.1 200 OK\r\nVia: p\n\r\n"], 200, 0),
            (&[b"HTTP/1.1 200 OK\r\n", b"\r", b"\n"], 200, 0),
            (&[b"HTTP/1.1 200 OK\r\n\r\n"], 200, 0),
            (
                &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"],
                200,
                0,
            ),
            (
                &[
                    b"HTTP/1.1 100 Continue\n",
                    b"\nHTTP/1.1 407 No\r\n",
                    b"Content-Length: 2\r\n\r\nab",
                ],
                407,
                2,
            ),
        ];
        for (parts, status, past) in cases {
            let (reply, past_head) = read_in_parts(parts).await.unwrap();
            assert_eq!(
                (reply.status.as_u16(), past_head),
                (status, past),
                "{parts:?}"
            );
        }
    }

    #[test]
    fn heads_that_do_not_parse_are_invalid_data() {
        for head in ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 99999 X\r\n\r\n"] {
            let err = Reply::parse(head.as_bytes()).err().unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{head}");
        }
    }

    #[test]
    fn refusals_name_the_status_never_what_was_sent() {
        let refused = |status: u16, sent_credentials| {
            Refused {
                status: StatusCode::from_u16(status).unwrap(),
                reason: "Forbidden".to_owned(),
                sent_credentials,
            }
            .to_string()
        };
        assert_eq!(refused(407, false), "proxy authentication required (407)");
        assert_eq!(
            refused(407, true),
            "proxy authentication required (407): the proxy refused the credentials"
        );
        assert_eq!(
            refused(403, true),
            "unsuccessful tunnel: the proxy refused it: 403 \"Forbidden\""
        );
    }
}
