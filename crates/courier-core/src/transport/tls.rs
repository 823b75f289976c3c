//! TLS settings for the transport: which roots to trust, built into a rustls `ClientConfig`.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::Error;

/// A trusted root certificate, added with `TransportBuilder::add_root_certificate`.
///
/// ```
/// let pem = b"not a certificate";
/// assert!(courier_core::transport::Certificate::from_pem(pem).unwrap_err().is_builder());
/// ```
#[derive(Clone)]
pub struct Certificate {
    der: CertificateDer<'static>,
}

impl Certificate {
    /// A certificate from DER bytes.
    pub fn from_der(der: &[u8]) -> Result<Certificate, Error> {
        Ok(Certificate {
            der: CertificateDer::from(der.to_vec()),
        })
    }

    /// The first certificate in a PEM document.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, Error> {
        let der = CertificateDer::from_pem_slice(pem).map_err(|e| Error::builder(PemError(e)))?;
        Ok(Certificate { der })
    }

    /// Every certificate in a PEM bundle.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<Certificate>, Error> {
        CertificateDer::pem_slice_iter(pem)
            .map(|der| {
                der.map(|der| Certificate { der })
                    .map_err(|e| Error::builder(PemError(e)))
            })
            .collect()
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("der_len", &self.der.len())
            .finish()
    }
}

/// The PEM parser's error, wrapped so it can be an error's cause.
#[derive(Debug)]
struct PemError(rustls_pki_types::pem::Error);

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid PEM certificate: {:?}", self.0)
    }
}

impl std::error::Error for PemError {}

/// Which roots the TLS client trusts.
#[derive(Clone, Debug)]
pub(crate) struct TlsOptions {
    pub(crate) built_in_roots: bool,
    pub(crate) native_roots: bool,
    pub(crate) extra_roots: Vec<Certificate>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            built_in_roots: true,
            native_roots: false,
            extra_roots: Vec::new(),
        }
    }
}

impl TlsOptions {
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let mut roots = rustls::RootCertStore::empty();
        if self.built_in_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native_roots {
            // Unreadable system certificates are skipped, as browsers do; the rest are still trusted.
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
        for cert in &self.extra_roots {
            roots.add(cert.der.clone()).map_err(Error::builder)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(Error::builder)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(config)
    }
}
