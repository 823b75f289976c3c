//! The `CONNECT` handshake (RFC 9110 §9.3.6) that turns a connection to an HTTP(S) proxy into a
//! tunnel to the destination.

use std::io;

use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most bytes of a `CONNECT` response head read before giving up on the proxy.
const MAX_TUNNEL_HEAD: usize = 16 * 1024;

/// Asks the proxy at the other end of `stream` for a tunnel to `host:port` and reads its answer; a
/// 2xx leaves `stream` connected to the destination. `headers` (the proxy's credentials and
/// `Proxy::headers`) go in the `CONNECT` request only. Errors never quote what was sent.
pub(crate) async fn tunnel<S>(
    stream: &mut S,
    host: &str,
    port: u16,
    headers: &HeaderMap,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::with_capacity(128);
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    head.extend_from_slice(b"CONNECT ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(authority.as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.write_all(&head).await?;
    stream.flush().await?;

    // Read byte runs until the blank line. After a 2xx the proxy sends nothing until we speak (TLS),
    // so nothing of the tunnel is consumed here; a refusal may come with a body (Squid's HTML page),
    // which is ignored: the status is the answer.
    let mut buf = Vec::with_capacity(256);
    let head_end = loop {
        let mut chunk = [0u8; 512];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed the connection during CONNECT",
            ));
        }
        // Search from just before the new bytes: the blank line may straddle two reads.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            break from + at + 4;
        }
        if buf.len() > MAX_TUNNEL_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy CONNECT response head too large",
            ));
        }
    };
    let status_line = buf.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/1.") && (200..300).contains(&code) => {
            if head_end != buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "proxy sent data after its CONNECT response",
                ));
            }
            Ok(())
        }
        Some(407) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "proxy authentication required (407)",
        )),
        _ => Err(io::Error::other(format!(
            "proxy refused the tunnel: {status_line:?}"
        ))),
    }
}
