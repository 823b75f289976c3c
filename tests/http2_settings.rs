//! The HTTP/2 builder knobs, seen from the wire: a raw h2c server reads the client's frames as they
//! arrive (SETTINGS, WINDOW_UPDATE, PING) and answers just enough HTTP/2 for a request to complete.
//!
//! hyper's own server would hide exactly what these tests look at (the client's SETTINGS values, its
//! connection WINDOW_UPDATE, when it pings), so the frames are read by hand here.

use std::time::{Duration, Instant};

use courier_testkit::frames::{
    read_frame, write_frame, ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE,
    SETTINGS, WINDOW_UPDATE,
};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// The protocol's initial window (RFC 9113, 6.9.2).
const SPEC_WINDOW: u32 = 65_535;

/// One frame the client sent, or the end of its connection.
#[derive(Debug, Clone)]
enum Seen {
    Frame {
        connection: usize,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: Vec<u8>,
        at: Instant,
    },
    Closed {
        connection: usize,
        at: Instant,
    },
}

/// How the raw server answers.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Answer the client's PINGs.
    answer_pings: bool,
    /// Before ending a response, send one DATA frame of this many bytes and wait for the client's
    /// next PING (the BDP probe of an adaptive window), then end the stream.
    data_then_wait_for_ping: Option<usize>,
}

const PLAIN: Behaviour = Behaviour {
    answer_pings: true,
    data_then_wait_for_ping: None,
};

/// Starts a raw h2c server; every frame it reads is sent down the channel.
async fn raw_h2c_server(behaviour: Behaviour) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = serve(socket, connection, behaviour, &tx).await;
                let _ = tx.send(Seen::Closed {
                    connection,
                    at: Instant::now(),
                });
            });
        }
    });
    (url, rx)
}

async fn serve(
    mut socket: TcpStream,
    connection: usize,
    behaviour: Behaviour,
    tx: &mpsc::UnboundedSender<Seen>,
) -> std::io::Result<()> {
    let mut preface = [0u8; 24];
    socket.read_exact(&mut preface).await?;
    assert_eq!(&preface[..], PREFACE, "client preface");
    write_frame(&mut socket, SETTINGS, 0, 0, &[]).await?;
    // A response waiting for the client's next PING before it ends: the stream it is on.
    let mut waiting_for_ping: Option<u32> = None;
    loop {
        let (kind, flags, stream, payload) = read_frame(&mut socket).await?;
        let _ = tx.send(Seen::Frame {
            connection,
            kind,
            flags,
            stream,
            payload: payload.clone(),
            at: Instant::now(),
        });
        match kind {
            SETTINGS if flags & ACK == 0 => write_frame(&mut socket, SETTINGS, ACK, 0, &[]).await?,
            PING if flags & ACK == 0 => {
                if behaviour.answer_pings {
                    write_frame(&mut socket, PING, ACK, 0, &payload).await?;
                }
                if let Some(stream) = waiting_for_ping.take() {
                    write_frame(&mut socket, DATA, END_STREAM, stream, &[]).await?;
                }
            }
            HEADERS if flags & END_HEADERS != 0 => {
                // 0x88: `:status: 200` from HPACK's static table.
                match behaviour.data_then_wait_for_ping {
                    None => {
                        write_frame(
                            &mut socket,
                            HEADERS,
                            END_HEADERS | END_STREAM,
                            stream,
                            &[0x88],
                        )
                        .await?
                    }
                    Some(len) => {
                        write_frame(&mut socket, HEADERS, END_HEADERS, stream, &[0x88]).await?;
                        write_frame(&mut socket, DATA, 0, stream, &vec![b'x'; len]).await?;
                        waiting_for_ping = Some(stream);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The values of a SETTINGS payload, by identifier.
fn settings(payload: &[u8]) -> Vec<(u16, u32)> {
    payload
        .chunks_exact(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect()
}

fn setting(values: &[(u16, u32)], id: u16) -> Option<u32> {
    values.iter().rev().find(|(i, _)| *i == id).map(|(_, v)| *v)
}

/// Everything seen so far, without waiting.
fn drain(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Vec<Seen> {
    let mut seen = Vec::new();
    while let Ok(s) = rx.try_recv() {
        seen.push(s);
    }
    seen
}

/// The client's first SETTINGS (not an ACK) and the increments of its connection-level
/// WINDOW_UPDATEs, of the frames seen.
fn opening(seen: &[Seen]) -> (Vec<(u16, u32)>, Vec<u32>) {
    let mut first_settings = None;
    let mut increments = Vec::new();
    for s in seen {
        if let Seen::Frame {
            kind,
            flags,
            stream,
            payload,
            ..
        } = s
        {
            match *kind {
                SETTINGS if flags & ACK == 0 && first_settings.is_none() => {
                    first_settings = Some(settings(payload))
                }
                WINDOW_UPDATE if *stream == 0 => increments.push(
                    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff,
                ),
                _ => {}
            }
        }
    }
    (
        first_settings.expect("the client sent SETTINGS"),
        increments,
    )
}

fn pings(seen: &[Seen]) -> Vec<Instant> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Frame {
                kind: PING,
                flags,
                at,
                ..
            } if flags & ACK == 0 => Some(*at),
            _ => None,
        })
        .collect()
}

async fn get_ok(client: &courier::Client, url: &str) {
    let response = tokio::time::timeout(Duration::from_secs(10), client.get(url).send())
        .await
        .expect("the request hung")
        .expect("the request failed");
    assert_eq!(response.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), response.bytes())
        .await
        .expect("the body hung")
        .expect("the body failed");
    assert!(body.iter().all(|&b| b == b'x'), "{body:?}");
}

#[tokio::test]
async fn window_frame_and_header_list_sizes_are_announced_as_configured() {
    let (url, mut rx) = raw_h2c_server(PLAIN).await;
    let client = courier::Client::builder()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(1_000_000)
        .http2_initial_connection_window_size(3_000_000)
        .http2_max_frame_size(32_768)
        .http2_max_header_list_size(8_192)
        .build()
        .unwrap();
    get_ok(&client, &url).await;
    let (values, increments) = opening(&drain(&mut rx));
    assert_eq!(
        setting(&values, SETTINGS_INITIAL_WINDOW_SIZE),
        Some(1_000_000)
    );
    assert_eq!(setting(&values, SETTINGS_MAX_FRAME_SIZE), Some(32_768));
    assert_eq!(setting(&values, SETTINGS_MAX_HEADER_LIST_SIZE), Some(8_192));
    assert_eq!(increments, vec![3_000_000 - SPEC_WINDOW]);
}

#[tokio::test]
async fn default_windows_are_reqwests() {
    // reqwest (through hyper) opens with a 2 MiB stream window and a 5 MiB connection window.
    let (url, mut rx) = raw_h2c_server(PLAIN).await;
    let client = courier::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    get_ok(&client, &url).await;
    let (values, increments) = opening(&drain(&mut rx));
    assert_eq!(
        setting(&values, SETTINGS_INITIAL_WINDOW_SIZE),
        Some(2 * 1024 * 1024)
    );
    assert_eq!(increments, vec![5 * 1024 * 1024 - SPEC_WINDOW]);
}

#[tokio::test]
async fn adaptive_window_starts_at_the_spec_window_and_probes_with_a_ping_on_data() {
    let (url, mut rx) = raw_h2c_server(Behaviour {
        answer_pings: true,
        data_then_wait_for_ping: Some(1_000),
    })
    .await;
    let client = courier::Client::builder()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(1_000_000)
        .http2_adaptive_window(true)
        .build()
        .unwrap();
    // The response ends only once the client pinged after the first DATA frame: without the BDP
    // probe this request would hang (and the timeout in get_ok fail the test).
    get_ok(&client, &url).await;
    let seen = drain(&mut rx);
    let (values, increments) = opening(&seen);
    assert!(
        matches!(
            setting(&values, SETTINGS_INITIAL_WINDOW_SIZE),
            None | Some(SPEC_WINDOW)
        ),
        "{values:?}"
    );
    assert!(increments.iter().all(|&i| i != 1_000_000 - SPEC_WINDOW));
    assert!(!pings(&seen).is_empty());
}

#[tokio::test]
async fn keep_alive_pings_an_idle_connection_only_when_asked_to() {
    for while_idle in [true, false] {
        let (url, mut rx) = raw_h2c_server(PLAIN).await;
        let client = courier::Client::builder()
            .http2_prior_knowledge()
            .http2_keep_alive_interval(Duration::from_millis(100))
            .http2_keep_alive_while_idle(while_idle)
            .build()
            .unwrap();
        get_ok(&client, &url).await;
        let idle_since = Instant::now();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let idle_pings = pings(&drain(&mut rx))
            .into_iter()
            .filter(|at| *at > idle_since)
            .count();
        if while_idle {
            // Every 100 ms over 800 ms of idleness: several, whatever the scheduling.
            assert!(idle_pings >= 3, "{idle_pings} pings while idle");
        } else {
            assert_eq!(idle_pings, 0, "pinged an idle connection");
        }
    }
}

#[tokio::test]
async fn an_unanswered_keep_alive_ping_closes_the_connection_and_the_next_request_opens_another() {
    let (url, mut rx) = raw_h2c_server(Behaviour {
        answer_pings: false,
        data_then_wait_for_ping: None,
    })
    .await;
    let client = courier::Client::builder()
        .http2_prior_knowledge()
        .http2_keep_alive_interval(Duration::from_millis(100))
        .http2_keep_alive_timeout(Duration::from_millis(200))
        .http2_keep_alive_while_idle(true)
        .build()
        .unwrap();
    get_ok(&client, &url).await;
    let start = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await.expect("server gone") {
                Seen::Closed { connection: 0, at } => return at,
                Seen::Frame {
                    connection: 0,
                    kind: GOAWAY,
                    at,
                    ..
                } => return at,
                _ => {}
            }
        }
    })
    .await
    .expect("the client kept a connection whose pings went unanswered");
    // Not before a ping had time to go unanswered.
    assert!(closed.duration_since(start) >= Duration::from_millis(200));
    get_ok(&client, &url).await;
    let second = drain(&mut rx).into_iter().any(|s| {
        matches!(
            s,
            Seen::Frame {
                connection: 1,
                kind: HEADERS,
                ..
            }
        )
    });
    assert!(second, "the next request did not go on a new connection");
}
