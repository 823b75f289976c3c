//! [`AuthLayer`].

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::credentials::{CredentialStore, Credentials};
use super::service::Auth;
use super::session::Sessions;
use crate::transport::ProxyRoutes;

/// A [`Layer`] that wraps a service in [`Auth`]; see the [module docs](super).
///
/// Services made by one layer (and their clones) share the Digest sessions: a nonce is answered
/// before being asked on later requests, with its count going up.
///
/// ```
/// use courier_core::auth::{AuthLayer, CredentialStore, Credentials};
/// use courier_core::transport::{Proxy, Transport};
/// use tower_layer::Layer;
///
/// let transport: Transport = Transport::builder()
///     .proxy(Proxy::http("http://127.0.0.1:3128").unwrap())
///     .build()
///     .unwrap();
/// let layer = AuthLayer::new(
///     CredentialStore::new().host("127.0.0.1", Credentials::new("ada", "lovelace")),
/// )
/// .proxy_credentials(
///     Credentials::new("proxy-user", "proxy-pass"),
///     transport.proxy_routes(),
/// );
/// let client = layer.layer(transport);
/// # drop(client);
/// ```
#[derive(Clone, Default)]
pub struct AuthLayer {
    config: Arc<Config>,
}

/// What every service of one layer shares.
#[derive(Default)]
pub(super) struct Config {
    pub(super) store: CredentialStore,
    pub(super) proxy: Option<(Credentials, ProxyRoutes)>,
    pub(super) sessions: Sessions,
}

impl AuthLayer {
    /// Answers challenges with the credentials of `store` (and those a request carries).
    pub fn new(store: CredentialStore) -> AuthLayer {
        AuthLayer {
            config: Arc::new(Config {
                store,
                ..Config::default()
            }),
        }
    }

    /// Answers `407` challenges from a proxy with `credentials`, for the requests `routes` says are
    /// forwarded to an HTTP proxy in absolute form (take them from the transport below:
    /// [`Transport::proxy_routes`](crate::transport::Transport::proxy_routes)). Other requests (`https`
    /// through a tunnel, `NO_PROXY` hosts, no proxy at all) reach the origin, which gets neither a
    /// `Proxy-Authorization` nor an answer to a `407`. Digest sessions are kept per proxy.
    pub fn proxy_credentials(self, credentials: Credentials, routes: ProxyRoutes) -> AuthLayer {
        AuthLayer {
            config: Arc::new(Config {
                store: self.config.store.clone(),
                proxy: Some((credentials, routes)),
                sessions: self.config.sessions.clone(),
            }),
        }
    }

    /// True when the layer has no credentials of its own (it still answers for requests that carry
    /// [`RequestCredentials`](super::RequestCredentials)).
    pub fn is_empty(&self) -> bool {
        self.config.store.is_empty() && self.config.proxy.is_none()
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth::from_config(inner, self.config.clone())
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("credentials", &self.config.store.len())
            .field("proxy", &self.config.proxy.is_some())
            .finish()
    }
}
