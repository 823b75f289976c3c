//! TCP connections: socket options, and Happy Eyeballs (RFC 8305) over a name's addresses.
//!
//! A name often resolves to several addresses, some of which may not answer (a dead IPv6 route, a
//! server that left one of its addresses). Trying them one after another makes the client wait a
//! whole connect timeout per dead address; trying them all at once floods the network. RFC 8305 §5
//! starts the next attempt 250 ms after the previous one unless that one already failed, keeps the
//! earlier attempts running, and takes whichever connects first. Addresses are tried with the
//! families interleaved (§4), starting with the family of the first address the resolver returned.
//!
//! What it does not do: resolve names (the `resolve` module), or bound the whole attempt (the
//! connector's `connect_timeout` covers TCP, proxy tunnel and TLS together).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpSocket, TcpStream};

/// The delay before the next address is tried while the previous attempt is still pending (RFC 8305 §5
/// recommends 250 ms).
pub(crate) const CONNECTION_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Socket options for new connections.
#[derive(Clone, Debug)]
pub(crate) struct TcpOptions {
    pub(crate) nodelay: bool,
    /// Idle time before the first keepalive probe.
    pub(crate) keepalive: Option<Duration>,
    /// Time between keepalive probes.
    pub(crate) keepalive_interval: Option<Duration>,
    /// Unanswered probes before the connection is dropped.
    pub(crate) keepalive_retries: Option<u32>,
    /// `TCP_USER_TIMEOUT` (Linux): how long sent data may stay unacknowledged.
    pub(crate) user_timeout: Option<Duration>,
    /// `SO_BINDTODEVICE` (Linux): the interface to send through.
    pub(crate) interface: Option<String>,
    pub(crate) local_address: Option<IpAddr>,
    pub(crate) attempt_delay: Duration,
    /// The connector's `connect_timeout`, which bounds all the attempts together: they are spread
    /// over it, so every address gets one before it passes (as hyper-util gives each address its
    /// share).
    pub(crate) connect_timeout: Option<Duration>,
}

/// reqwest's defaults: the first keepalive probe after 15 s idle, then one every 15 s, and the
/// connection dropped after 3 unanswered (so a dead peer is noticed within a minute).
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);
const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
const DEFAULT_KEEPALIVE_RETRIES: u32 = 3;
/// reqwest's default `TCP_USER_TIMEOUT` where the option exists: data unacknowledged for 30 s drops
/// the connection.
const DEFAULT_USER_TIMEOUT: Option<Duration> = if cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "fuchsia"
)) {
    Some(Duration::from_secs(30))
} else {
    None
};

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            keepalive_interval: Some(DEFAULT_KEEPALIVE_INTERVAL),
            keepalive_retries: Some(DEFAULT_KEEPALIVE_RETRIES),
            user_timeout: DEFAULT_USER_TIMEOUT,
            interface: None,
            local_address: None,
            attempt_delay: CONNECTION_ATTEMPT_DELAY,
            connect_timeout: None,
        }
    }
}

/// Connects to the first of `addrs` that answers, Happy Eyeballs style; with a `local_address`,
/// only to addresses of its family (as hyper-util's connector). The error, when all fail, names
/// every attempt (with the last one's kind).
pub(crate) async fn connect(
    mut addrs: Vec<SocketAddr>,
    opts: &TcpOptions,
) -> io::Result<TcpStream> {
    if let Some(local) = opts.local_address {
        addrs.retain(|addr| addr.is_ipv4() == local.is_ipv4());
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("the name has no address of the family of the local address {local}"),
            ));
        }
    }
    let gap = attempt_gap(opts, addrs.len());
    let mut pending = interleave(addrs).into_iter();
    let mut attempts = FuturesUnordered::new();
    let mut failed = Vec::new();
    match pending.next() {
        Some(addr) => attempts.push(attempt(addr, opts)),
        None => {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the name resolved to no address",
            ))
        }
    }
    loop {
        let delay = tokio::time::sleep(gap);
        tokio::pin!(delay);
        let more = pending.len() > 0;
        tokio::select! {
            result = attempts.next(), if !attempts.is_empty() => match result {
                Some(Ok(stream)) => return Ok(stream),
                Some(Err(err)) => {
                    tracing::debug!(error = %err, "connection attempt failed");
                    failed.push(err);
                    // A failure starts the next attempt at once rather than after the delay.
                    if let Some(addr) = pending.next() {
                        attempts.push(attempt(addr, opts));
                    } else if attempts.is_empty() {
                        return Err(all_failed(failed));
                    }
                }
                None => unreachable!("polled only while attempts are pending"),
            },
            () = &mut delay, if more => {
                if let Some(addr) = pending.next() {
                    attempts.push(attempt(addr, opts));
                }
            }
        }
    }
}

/// The delay before the next address's attempt (RFC 8305 5's Connection Attempt Delay): with a
/// connect timeout shorter than the delays of `addrs` addresses add up to, shorter, so a first
/// address that hangs does not use up the whole of it; never below the RFC's floor of 10 ms.
fn attempt_gap(opts: &TcpOptions, addrs: usize) -> Duration {
    const FLOOR: Duration = Duration::from_millis(10);
    match opts.connect_timeout {
        Some(limit) => opts
            .attempt_delay
            .min((limit / addrs.max(1) as u32).max(FLOOR)),
        None => opts.attempt_delay,
    }
}

async fn attempt(addr: SocketAddr, opts: &TcpOptions) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    set_options(&SockRef::from(&socket), opts)?;
    // `connect` kept only addresses of the local address's family.
    if let Some(local) = opts.local_address {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .map_err(|err| io::Error::new(err.kind(), AttemptError { addr, source: err }))?;
    stream.set_nodelay(opts.nodelay)?;
    Ok(stream)
}

/// Keepalive, user timeout and interface, on a socket not yet connected.
fn set_options(socket: &SockRef<'_>, opts: &TcpOptions) -> io::Result<()> {
    // No idle time, no keepalive: the interval and retries (set by default) only shape the probes.
    if let Some(time) = opts.keepalive {
        let mut keepalive = TcpKeepalive::new().with_time(time);
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "fuchsia",
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            windows
        ))]
        if let Some(interval) = opts.keepalive_interval {
            keepalive = keepalive.with_interval(interval);
        }
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "fuchsia",
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd"
        ))]
        if let Some(retries) = opts.keepalive_retries {
            keepalive = keepalive.with_retries(retries);
        }
        socket.set_tcp_keepalive(&keepalive)?;
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
    {
        if let Some(timeout) = opts.user_timeout {
            socket.set_tcp_user_timeout(Some(timeout))?;
        }
        if let Some(interface) = &opts.interface {
            socket
                .bind_device(Some(interface.as_bytes()))
                .map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        format!("cannot bind to interface {interface:?}: {err}"),
                    )
                })?;
        }
    }
    Ok(())
}

/// A failed attempt, naming the address.
#[derive(Debug)]
struct AttemptError {
    addr: SocketAddr,
    source: io::Error,
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tcp connect to {} failed: {}", self.addr, self.source)
    }
}

impl std::error::Error for AttemptError {}

/// The error of a connect whose every attempt failed: the only one's, or one naming them all.
fn all_failed(mut failed: Vec<io::Error>) -> io::Error {
    if failed.len() == 1 {
        return failed.remove(0);
    }
    let kind = failed.last().map_or(io::ErrorKind::Other, io::Error::kind);
    let each: Vec<String> = failed.iter().map(ToString::to_string).collect();
    io::Error::new(kind, format!("every address failed: {}", each.join("; ")))
}

/// Orders addresses with the families alternating, starting with the first address's (RFC 8305 §4).
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v4 = first.is_ipv4();
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv4() == first_v4);
    let mut out = Vec::with_capacity(preferred.len() + other.len());
    preferred.reverse();
    other.reverse();
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connect timeout shorter than the attempts' delay spreads them over it: with 2 s between
    /// attempts and 1 s for the whole, the second address is tried at 0.5 s and connects, where it
    /// would otherwise come after the timeout. The first address never answers: a loopback listener
    /// whose accept queue is full.
    #[tokio::test]
    async fn a_connect_timeout_spreads_the_attempts_over_it() {
        use socket2::{Domain, Socket, Type};
        let dead = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        dead.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        dead.listen(0).unwrap();
        let dead_addr = dead.local_addr().unwrap().as_socket().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let filler = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            filler.set_nonblocking(true).unwrap();
            let _ = filler.connect(&dead_addr.into());
            fillers.push(filler);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        let opts = TcpOptions {
            attempt_delay: Duration::from_secs(2),
            connect_timeout: Some(Duration::from_secs(1)),
            ..TcpOptions::default()
        };
        let stream = tokio::time::timeout(
            Duration::from_secs(1),
            connect(vec![dead_addr, live_addr], &opts),
        )
        .await
        .expect("the second address was not tried within the connect timeout")
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live_addr);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn socket_options_are_set_before_connecting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let opts = TcpOptions {
            keepalive: Some(Duration::from_secs(30)),
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_retries: Some(3),
            user_timeout: Some(Duration::from_secs(7)),
            interface: Some("lo".to_owned()),
            ..TcpOptions::default()
        };
        let stream = connect(vec![addr], &opts).await.unwrap();
        let socket = SockRef::from(&stream);
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 3);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(socket.device().unwrap().as_deref(), Some(&b"lo"[..]));
        assert!(stream.nodelay().unwrap());

        // The defaults are reqwest's.
        let plain = connect(vec![addr], &TcpOptions::default()).await.unwrap();
        let socket = SockRef::from(&plain);
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(15)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(15)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 3);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(socket.device().unwrap(), None);

        let opts = TcpOptions {
            interface: Some("courier-nope0".to_owned()),
            ..TcpOptions::default()
        };
        let err = connect(vec![addr], &opts).await.unwrap_err();
        assert!(err.to_string().contains("courier-nope0"), "{err}");
    }

    #[test]
    fn the_gap_between_attempts_spreads_them_over_the_connect_timeout_down_to_10_ms() {
        let opts = |timeout: Option<u64>| TcpOptions {
            connect_timeout: timeout.map(Duration::from_millis),
            ..TcpOptions::default()
        };
        let ms = |opts: &TcpOptions, n| attempt_gap(opts, n).as_millis();
        assert_eq!(ms(&opts(None), 64), 250);
        assert_eq!(ms(&opts(Some(10_000)), 4), 250);
        assert_eq!(ms(&opts(Some(500)), 4), 125);
        assert_eq!(ms(&opts(Some(500)), 64), 10);
        assert_eq!(ms(&opts(Some(500)), 0), 250);
    }

    #[test]
    fn families_alternate_starting_with_the_first() {
        let v6 = |p| SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], p));
        let v4 = |p| SocketAddr::from(([127, 0, 0, 1], p));
        assert_eq!(
            interleave(vec![v6(1), v6(2), v6(3), v4(4), v4(5)]),
            vec![v6(1), v4(4), v6(2), v4(5), v6(3)]
        );
        assert_eq!(
            interleave(vec![v4(1), v6(2), v4(3)]),
            vec![v4(1), v6(2), v4(3)]
        );
        assert_eq!(interleave(vec![]), vec![]);
    }
}
