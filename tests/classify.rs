//! One classification of failures, read by all three places that resend requests: the transport's
//! own single replay, `RetryLayer`, and the downloader. Each failure kind is produced by a real server
//! that fails every attempt the same way and counts the attempts; every path must agree with
//! `Fate::allows_resend`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use courier::download::{Downloader, Job};
use courier::retry::RetryPolicy;
use courier::{Client, Fate};
use courier_testkit::client::within;
use courier_testkit::{read_request_head, respond, RawServer, TestServer};
use http::Method;
use tokio::io::AsyncWriteExt;

/// A way every attempt fails, and how to count attempts server-side.
enum Failing {
    Raw(RawServer),
    Tls(TestServer),
    H2 {
        addr: std::net::SocketAddr,
        streams: Arc<AtomicUsize>,
    },
}

impl Failing {
    fn url(&self) -> String {
        match self {
            Failing::Raw(s) => s.url("/f"),
            Failing::Tls(s) => format!("https://localhost:{}/f", s.addr().port()),
            Failing::H2 { addr, .. } => format!("http://{addr}/f"),
        }
    }

    fn attempts(&self) -> usize {
        match self {
            Failing::Raw(s) => s.connections(),
            Failing::Tls(s) => s.connections(),
            Failing::H2 { streams, .. } => streams.load(Ordering::SeqCst),
        }
    }

    fn h2(&self) -> bool {
        matches!(self, Failing::H2 { .. })
    }
}

/// An untrusted certificate: the TLS handshake fails, so the request is never sent.
async fn not_sent() -> Failing {
    let server = TestServer::builder()
        .tls()
        .start(|_| async { respond(200, "unreachable") })
        .await;
    Failing::Tls(server)
}

/// HTTP/2 `REFUSED_STREAM` on every stream.
async fn not_processed() -> Failing {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let streams = Arc::new(AtomicUsize::new(0));
    let counter = streams.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = conn.accept().await {
                    let respond: &mut h2::server::SendResponse<Bytes> = &mut respond;
                    counter.fetch_add(1, Ordering::SeqCst);
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                }
            });
        }
    });
    Failing::H2 { addr, streams }
}

/// Reads the request and closes the (fresh) connection without a byte of response.
async fn lost() -> Failing {
    Failing::Raw(
        RawServer::start(|mut stream, _| async move {
            let _ = read_request_head(&mut stream).await;
        })
        .await,
    )
}

/// Answers with a malformed status line: the server did read the request.
async fn maybe_processed() -> Failing {
    Failing::Raw(
        RawServer::start(|mut stream, _| async move {
            let _ = read_request_head(&mut stream).await;
            let _ = stream.write_all(b"HTTP/1.1 abc Nope\r\n\r\n").await;
        })
        .await,
    )
}

fn client(h2: bool, policy: RetryPolicy) -> Client {
    let builder = Client::builder().retry(policy);
    let builder = if h2 {
        builder.http2_prior_knowledge()
    } else {
        builder
    };
    builder.build().unwrap()
}

/// Sends `method` to the failing server through a client with `policy`; the error it must end in.
async fn send_failing(server: &Failing, policy: RetryPolicy, method: &Method) -> courier::Error {
    within(
        10,
        client(server.h2(), policy)
            .request(method.clone(), server.url())
            .body("x")
            .send(),
    )
    .await
    .unwrap_err()
}

/// How many times the transport sends a request for one call: twice where it replays on its own.
fn transport_sends(fate: Fate) -> usize {
    match fate {
        Fate::NotProcessed => 2,
        _ => 1,
    }
}

/// How many times a request reaches the server with `retries` allowed above the transport: every
/// call is retried exactly when the fate allows it for the method.
fn expected_sends(fate: Fate, method: &Method, retries: u32) -> usize {
    let calls = if fate.allows_resend(method) {
        1 + retries as usize
    } else {
        1
    };
    calls * transport_sends(fate)
}

#[tokio::test]
async fn transport_retry_layer_and_downloader_agree_on_every_failure_kind() {
    const RETRIES: u32 = 2;
    let kinds: [(&str, Fate, Failing); 4] = [
        ("not sent", Fate::NotSent, not_sent().await),
        ("not processed", Fate::NotProcessed, not_processed().await),
        ("lost", Fate::Lost { reused: false }, lost().await),
        (
            "maybe processed",
            Fate::MaybeProcessed,
            maybe_processed().await,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("courier-classify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, fate, server) in &kinds {
        let url = server.url();
        for method in [Method::GET, Method::POST] {
            // The transport alone (no RetryLayer): the fate, and its own replay only.
            let before = server.attempts();
            let err = send_failing(server, RetryPolicy::disabled(), &method).await;
            assert_eq!(err.fate(), Some(*fate), "{name} {method}: {err:?}");
            assert_eq!(
                courier_core::retry::may_resend(&err, &method),
                fate.allows_resend(&method),
                "{name} {method}"
            );
            assert_eq!(
                server.attempts() - before,
                transport_sends(*fate),
                "{name} {method}: transport"
            );

            // RetryLayer: retried exactly when the fate allows it for this method.
            let policy = RetryPolicy::default()
                .max_retries(RETRIES)
                .backoff(Duration::from_millis(1), Duration::from_millis(5))
                .no_budget();
            let before = server.attempts();
            let err = send_failing(server, policy, &method).await;
            assert_eq!(err.fate(), Some(*fate), "{name} {method}: {err:?}");
            assert_eq!(
                server.attempts() - before,
                expected_sends(*fate, &method, RETRIES),
                "{name} {method}: RetryLayer"
            );
        }

        // The downloader (GETs): retried exactly when the fate allows a GET again.
        let before = server.attempts();
        let summary = within(
            20,
            Downloader::builder(client(server.h2(), RetryPolicy::disabled()))
                .retries(RETRIES)
                .backoff(Duration::from_millis(1), Duration::from_millis(5))
                .build()
                .run([Job::new(&url, dir.join(name.replace(' ', "-"))).unwrap()]),
        )
        .await;
        assert_eq!(summary.failures.len(), 1, "{name}");
        assert_eq!(
            server.attempts() - before,
            expected_sends(*fate, &Method::GET, RETRIES),
            "{name}: downloader"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reused connection reset after the server began to answer (a `100 Continue`, half a status
/// line) loses the request: an idempotent GET may go again, processed or not (RFC 9110 §9.2.2), and
/// does, on another connection; a POST never does, and its error says it was lost on a reused
/// connection.
#[tokio::test]
async fn a_reset_after_part_of_the_answer_resends_a_get_but_never_a_post() {
    for partial in [
        &b"HTTP/1.1 100 Continue\r\n\r\n"[..],
        &b"HTTP/1.1 200 OK\r\nContent-Type: text/pl"[..],
    ] {
        for method in [Method::GET, Method::POST] {
            let requests = Arc::new(AtomicUsize::new(0));
            let counter = requests.clone();
            let server = RawServer::start(move |mut stream, index| {
                let counter = counter.clone();
                async move {
                    let mut served = 0;
                    while let Ok(head) = read_request_head(&mut stream).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                        if head.starts_with("POST") {
                            // Its body (two bytes) is read with the head or just after: drain it.
                            let mut body = [0u8; 2];
                            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut body).await;
                        }
                        if index == 0 && served == 1 {
                            let _ = stream.write_all(partial).await;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            return;
                        }
                        served += 1;
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await;
                    }
                }
            })
            .await;
            let client = Client::new();
            let first = within(10, client.get(server.url("/1")).send())
                .await
                .unwrap();
            assert_eq!(within(10, first.text()).await.unwrap(), "ok");
            let second = within(
                10,
                client
                    .request(method.clone(), server.url("/2"))
                    .body("hi")
                    .send(),
            )
            .await;
            if method == Method::GET {
                assert_eq!(within(10, second.unwrap().text()).await.unwrap(), "ok");
                assert_eq!(requests.load(Ordering::SeqCst), 3);
                assert_eq!(server.connections(), 2);
            } else {
                let err = second.unwrap_err();
                assert_eq!(err.fate(), Some(Fate::Lost { reused: true }), "{err:?}");
                assert_eq!(requests.load(Ordering::SeqCst), 2);
                assert_eq!(server.connections(), 1);
            }
        }
    }
}
