//! [`TlsInfo`]: what the TLS handshake showed, in a response's extensions when `tls_info(true)`.

use std::fmt;
use std::sync::Arc;

/// The server's side of a TLS connection, in the response's extensions when the client was built
/// with `tls_info(true)`.
///
/// ```no_run
/// use courier_core::transport::tls::TlsInfo;
/// # fn check(response: http::Response<()>) {
/// if let Some(info) = response.extensions().get::<TlsInfo>() {
///     println!("server certificate: {} bytes", info.peer_certificate().map_or(0, |c| c.len()));
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct TlsInfo {
    pub(crate) peer_certificate: Option<Arc<[u8]>>,
}

impl TlsInfo {
    /// The server's (leaf) certificate, DER-encoded.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.peer_certificate.as_deref()
    }
}

impl fmt::Debug for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field(
                "peer_certificate_len",
                &self.peer_certificate.as_ref().map(|c| c.len()),
            )
            .finish()
    }
}
