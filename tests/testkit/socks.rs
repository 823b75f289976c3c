//! A SOCKS proxy for tests: SOCKS4, SOCKS4a and SOCKS5 (no authentication, or username and password),
//! `CONNECT` only. It records what each client asked for, resolves names only from the table it was
//! given (never DNS), and connects only to loopback addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::RawServer;

/// The destination a client asked the proxy for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksTarget {
    /// An address (SOCKS4, SOCKS5 with the client resolving).
    Addr(SocketAddr),
    /// A name for the proxy to resolve (SOCKS4a, SOCKS5h).
    Domain(String, u16),
}

/// One `CONNECT` a client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocksRequest {
    /// 4 or 5.
    pub version: u8,
    /// Where to.
    pub target: SocksTarget,
    /// SOCKS5: the username and password the client sent, if it authenticated; SOCKS4: the user id,
    /// if not empty (with an empty password).
    pub auth: Option<(String, String)>,
}

/// A running SOCKS proxy on `127.0.0.1:0`.
pub struct SocksServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<SocksRequest>>>,
    raw: RawServer,
}

impl SocksServer {
    /// A proxy resolving names from `names`, requiring `password` (username, password) for SOCKS5
    /// when given.
    pub async fn start(
        names: HashMap<String, SocketAddr>,
        password: Option<(&str, &str)>,
    ) -> SocksServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let names = Arc::new(names);
        let password = password.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let raw = RawServer::start(move |client, _| {
            let log = log.clone();
            let names = names.clone();
            let password = password.clone();
            async move {
                let _ = serve(client, &names, password.as_ref(), &log).await;
            }
        })
        .await;
        SocksServer {
            addr: raw.addr(),
            seen,
            raw,
        }
    }

    /// `scheme://127.0.0.1:PORT`, e.g. `socks5h`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.addr.port())
    }

    /// How many connections the proxy accepted.
    pub fn connections(&self) -> usize {
        self.raw.connections()
    }

    /// Every `CONNECT` received, in order.
    pub fn seen(&self) -> Vec<SocksRequest> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut client: TcpStream,
    names: &HashMap<String, SocketAddr>,
    password: Option<&(String, String)>,
    log: &Mutex<Vec<SocksRequest>>,
) -> std::io::Result<()> {
    let version = client.read_u8().await?;
    let (request, reply_ok, reply_fail): (SocksRequest, Vec<u8>, Vec<u8>) = match version {
        4 => {
            let _command = client.read_u8().await?;
            let port = client.read_u16().await?;
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            let user_id = read_c_string(&mut client).await?;
            // 0.0.0.x (x != 0): SOCKS4a, a name follows.
            let target = if ip[..3] == [0, 0, 0] && ip[3] != 0 {
                SocksTarget::Domain(read_c_string(&mut client).await?, port)
            } else {
                SocksTarget::Addr(SocketAddr::new(Ipv4Addr::from(ip).into(), port))
            };
            let request = SocksRequest {
                version,
                target,
                auth: (!user_id.is_empty()).then(|| (user_id, String::new())),
            };
            (
                request,
                vec![0, 0x5a, 0, 0, 0, 0, 0, 0],
                vec![0, 0x5b, 0, 0, 0, 0, 0, 0],
            )
        }
        5 => {
            let count = client.read_u8().await?;
            let mut methods = vec![0u8; count as usize];
            client.read_exact(&mut methods).await?;
            let wanted = if password.is_some() { 2 } else { 0 };
            if !methods.contains(&wanted) {
                client.write_all(&[5, 0xff]).await?;
                return Ok(());
            }
            client.write_all(&[5, wanted]).await?;
            let mut auth = None;
            if let Some(expected) = password {
                let _sub_version = client.read_u8().await?;
                let user = read_short(&mut client).await?;
                let pass = read_short(&mut client).await?;
                let accepted = (&user, &pass) == (&expected.0, &expected.1);
                client.write_all(&[1, if accepted { 0 } else { 1 }]).await?;
                if !accepted {
                    return Ok(());
                }
                auth = Some((user, pass));
            }
            let mut head = [0u8; 4];
            client.read_exact(&mut head).await?;
            let target = match head[3] {
                1 => {
                    let mut ip = [0u8; 4];
                    client.read_exact(&mut ip).await?;
                    SocksTarget::Addr(SocketAddr::new(
                        Ipv4Addr::from(ip).into(),
                        client.read_u16().await?,
                    ))
                }
                4 => {
                    let mut ip = [0u8; 16];
                    client.read_exact(&mut ip).await?;
                    SocksTarget::Addr(SocketAddr::new(
                        Ipv6Addr::from(ip).into(),
                        client.read_u16().await?,
                    ))
                }
                _ => {
                    let name = read_short(&mut client).await?;
                    SocksTarget::Domain(name, client.read_u16().await?)
                }
            };
            let request = SocksRequest {
                version,
                target,
                auth,
            };
            let ok = vec![5, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            // 4: host unreachable.
            let fail = vec![5, 4, 0, 1, 0, 0, 0, 0, 0, 0];
            (request, ok, fail)
        }
        _ => return Ok(()),
    };
    log.lock().unwrap().push(request.clone());
    let destination = match &request.target {
        SocksTarget::Addr(addr) => Some(*addr),
        SocksTarget::Domain(name, port) => names
            .get(name)
            .map(|addr| SocketAddr::new(addr.ip(), *port)),
    };
    // Loopback only: this proxy never reaches off the machine.
    let destination = destination.filter(|addr| is_loopback(addr.ip()));
    let Some(Ok(mut server)) = (match destination {
        Some(addr) => Some(TcpStream::connect(addr).await),
        None => None,
    }) else {
        client.write_all(&reply_fail).await?;
        return Ok(());
    };
    client.write_all(&reply_ok).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

async fn read_c_string(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    loop {
        match stream.read_u8().await? {
            0 => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
            b if bytes.len() < 255 => bytes.push(b),
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        }
    }
}

async fn read_short(stream: &mut TcpStream) -> std::io::Result<String> {
    let len = stream.read_u8().await?;
    let mut bytes = vec![0u8; len as usize];
    stream.read_exact(&mut bytes).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
