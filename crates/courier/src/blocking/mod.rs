//! A blocking client, for programs without an async runtime: reqwest's `blocking` API
//! (`Client::new().get(url).send()?.text()?`), behind the `blocking` Cargo feature.
//!
//! Each [`Client`] drives the async [`crate::Client`] on a runtime of its own, with one background
//! thread that does the I/O; calls from any number of threads wait on it. Inside a multi-threaded
//! tokio runtime it works as reqwest's does from `tokio::task::spawn_blocking`, and from a task too
//! (through `block_in_place`, so the worker's other tasks move to another thread while it waits; the
//! async [`crate::Client`] is still the better choice there). What it does not do: run inside a
//! current-thread runtime, whose only thread it would block (or deadlock, when the server is a task
//! of the same runtime); every call made there fails at once with a builder error that says so. From
//! a task, `block_in_place` still holds up that task's own other futures (`join!`, `select!`) and a
//! `LocalSet` run on that thread: a server among those would not answer until the request times out.
//!
//! As in reqwest, a blocking client has a 30-second timeout by default on each wait: for the response
//! head, for each read of the body, for the whole of `bytes()`/`text()`/`json()`; a large download that
//! keeps arriving is not cut ([`ClientBuilder::timeout`] changes or removes it).
//!
//! ```no_run
//! # fn main() -> Result<(), courier::Error> {
//! let client = courier::blocking::Client::new();
//! let body = client.get("http://127.0.0.1:8080/").send()?.error_for_status()?.text()?;
//! println!("{body}");
//! # Ok(())
//! # }
//! ```

mod body;
mod client;
pub mod multipart;
mod request;
mod response;

/// A request for the blocking [`Client`]: the async [`crate::Request`] itself (its body a
/// [`crate::Body`]; a blocking [`Body`] is given to [`RequestBuilder::body`]), which
/// [`Client::execute`] sends.
pub use crate::Request;
pub use body::Body;
pub use client::{Client, ClientBuilder};
pub use request::RequestBuilder;
pub use response::Response;

/// GETs `url` with a fresh client (for one-off requests; keep a [`Client`] for more).
pub fn get<U: crate::IntoUrl>(url: U) -> Result<Response, crate::Error> {
    Client::builder().build()?.get(url).send()
}
