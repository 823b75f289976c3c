//! A WebSocket conversation over a connection Courier opened: the HTTP/1.1 `Upgrade` handshake with
//! `client.get(..).header("upgrade", "websocket")...send()`, then `Response::upgrade()` hands the
//! connection to tokio-tungstenite. The client's side of the handshake's checks (RFC 6455 4.1: a
//! fresh random key, then the server's `Sec-WebSocket-Accept` and tokens) is the caller's, as
//! here. Starts its own echo server on 127.0.0.1; runs offline.
//!
//! ```sh
//! cargo run --example websocket
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = echo_server().await?;

    // A fresh random 16-byte key for every handshake (RFC 6455 4.1).
    let key = generate_key();
    let response = courier::Client::new()
        .get(format!("http://{addr}/chat"))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", &key)
        .send()
        .await?;
    println!("{} {}", response.status(), response.url());
    // Fail the connection unless the server switched to WebSocket and proved it read the key.
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let has_token = |value: String, token: &str| {
        value
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if response.status() != courier::StatusCode::SWITCHING_PROTOCOLS
        || !has_token(header("upgrade"), "websocket")
        || !has_token(header("connection"), "upgrade")
        || header("sec-websocket-accept") != derive_accept_key(key.as_bytes())
    {
        return Err(format!("not a WebSocket handshake: {}", response.status()).into());
    }
    let upgraded = response.upgrade().await?;

    let mut ws = WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await;
    for line in ["hello", "how are you?"] {
        ws.send(Message::text(line)).await?;
        if let Some(reply) = ws.next().await {
            println!("> {line}\n< {}", reply?.into_text()?);
        }
    }
    ws.close(None).await?;
    Ok(())
}

/// A WebSocket echo server: answers the handshake with `101 Switching Protocols`, then echoes.
async fn echo_server() -> Result<std::net::SocketAddr, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(
                |mut req: hyper::Request<hyper::body::Incoming>| async move {
                    let key = req.headers()["sec-websocket-key"].clone();
                    let on_upgrade = hyper::upgrade::on(&mut req);
                    tokio::spawn(async move {
                        let Ok(upgraded) = on_upgrade.await else {
                            return;
                        };
                        let mut ws = WebSocketStream::from_raw_socket(
                            TokioIo::new(upgraded),
                            Role::Server,
                            None,
                        )
                        .await;
                        while let Some(Ok(message)) = ws.next().await {
                            if message.is_close() || ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    });
                    let response = hyper::Response::builder()
                        .status(101)
                        .header("connection", "Upgrade")
                        .header("upgrade", "websocket")
                        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
                        .body(Empty::<Bytes>::new())
                        .expect("a valid response");
                    Ok::<_, Infallible>(response)
                },
            );
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    Ok(addr)
}
