//! The in-process test-server toolkit shared by Courier's tests, examples and benchmarks, one module
//! per kind of server (everything is re-exported here):
//!
//! - [`plain`]: [`TestServer`], a hyper server on `127.0.0.1:0` (HTTP/1.1, HTTP/2 or both) that runs a
//!   handler and records every request it saw; [`responses`] has what handlers answer with.
//! - [`raw`]: [`RawServer`], a TCP listener that hands each connection to a closure, for hand-written
//!   bytes.
//! - [`tls`]: generated CA + server certificates (valid, expired, wrong host), and the [`TestServer`]
//!   builder's TLS options.
//! - [`proxy`]: [`ProxyServer`], an HTTP proxy (plain or TLS) forwarding everything to one upstream,
//!   optionally asking `CONNECT`s for Digest credentials; [`socks::SocksServer`]: a SOCKS4/4a/5 proxy.
//! - [`digest::DigestServer`]: the server side of HTTP Digest (RFC 7616), for origins and proxies.
//! - [`frames`]: HTTP/2 frames by hand, for servers that misbehave frame by frame.
//! - [`client`]: client-side helpers for tests of the `Client` facade (hang guard, trusting client,
//!   one-line GETs).

pub mod client;
pub mod digest;
pub mod frames;
pub mod plain;
pub mod proxy;
pub mod raw;
pub mod responses;
pub mod socks;
pub mod tls;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;

pub use plain::{Protocol, Recorded, TestServer, TestServerBuilder};
pub use proxy::ProxyServer;
pub use raw::{read_request, read_request_head, RawRequest, RawServer, Then};
pub use responses::{
    echo, empty, failing, full, redirect, respond, serve_ranges, slow, stalling,
    status_with_retry_after,
};

/// How long a process using the kit may run before [`arm_watchdog`] ends it: far longer than any test
/// binary takes, far shorter than CI's limit.
const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Ends the process with a message once it has run [`WATCHDOG`] after the first server started. Every
/// server of the kit arms it, so a test awaiting something that never comes (a regression that hangs
/// rather than fails, where no [`client::within`] guard was put) fails its binary in minutes instead of
/// holding CI until its own limit.
pub fn arm_watchdog() {
    static ARMED: std::sync::Once = std::sync::Once::new();
    ARMED.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(WATCHDOG);
            eprintln!(
                "courier_testkit: still running {} s after the first test server started: a test hung",
                WATCHDOG.as_secs()
            );
            std::process::abort();
        });
    });
}

/// A boxed error, for server bodies that fail on purpose.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type handlers answer with.
pub type ServerBody = BoxBody<Bytes, BoxError>;
