//! What TLS is configured with, read from DER or PEM: trusted roots ([`Certificate`]), a client
//! certificate and its key ([`Identity`]), and revocation lists ([`CertificateRevocationList`]).

use std::fmt;

use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::Error;

/// A certificate to trust as a root, added with `add_root_certificate`, `tls_certs_merge` or
/// `tls_certs_only`.
///
/// ```
/// use courier_core::transport::tls::Certificate;
///
/// assert!(Certificate::from_pem(b"not a certificate").unwrap_err().is_builder());
/// assert!(Certificate::from_pem_bundle(b"").unwrap().is_empty());
/// ```
#[derive(Clone)]
pub struct Certificate {
    pub(crate) der: CertificateDer<'static>,
}

impl Certificate {
    /// A certificate from DER bytes. The bytes are checked when the client is built.
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

    /// Every certificate in a PEM bundle (e.g. a corporate CA file), in order.
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

/// A client certificate chain and its private key, for servers that ask for one (mutual TLS).
///
/// ```
/// use courier_core::transport::tls::Identity;
///
/// // A certificate without its key is not an identity.
/// assert!(Identity::from_pem(b"").unwrap_err().is_builder());
/// ```
pub struct Identity {
    pub(crate) certs: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Identity {
    /// The certificate chain (leaf first) and the private key (PKCS#8, PKCS#1 or SEC1), all in one PEM
    /// buffer.
    pub fn from_pem(pem: &[u8]) -> Result<Identity, Error> {
        let mut certs = Vec::new();
        let mut key = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section.map_err(|e| Error::builder(PemError(e)))?;
            match kind {
                SectionKind::Certificate => certs.push(CertificateDer::from(der)),
                SectionKind::PrivateKey => key = Some(PrivateKeyDer::Pkcs8(der.into())),
                SectionKind::RsaPrivateKey => key = Some(PrivateKeyDer::Pkcs1(der.into())),
                SectionKind::EcPrivateKey => key = Some(PrivateKeyDer::Sec1(der.into())),
                _ => {}
            }
        }
        match key {
            Some(key) if !certs.is_empty() => Ok(Identity { certs, key }),
            _ => Err(Error::builder(
                "identity PEM needs a certificate and a private key",
            )),
        }
    }
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            certs: self.certs.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The key is never printed.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certs", &self.certs.len())
            .finish_non_exhaustive()
    }
}

/// A certificate revocation list, checked with the roots given by `tls_certs_only`.
///
/// ```
/// use courier_core::transport::tls::CertificateRevocationList;
///
/// assert!(CertificateRevocationList::from_pem(b"").unwrap_err().is_builder());
/// ```
#[derive(Clone)]
pub struct CertificateRevocationList {
    pub(crate) der: CertificateRevocationListDer<'static>,
}

impl CertificateRevocationList {
    /// The first CRL in a PEM document.
    pub fn from_pem(pem: &[u8]) -> Result<CertificateRevocationList, Error> {
        let der = CertificateRevocationListDer::from_pem_slice(pem)
            .map_err(|e| Error::builder(PemError(e)))?;
        Ok(CertificateRevocationList { der })
    }

    /// Every CRL in a PEM bundle.
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Vec<CertificateRevocationList>, Error> {
        CertificateRevocationListDer::pem_slice_iter(pem)
            .map(|der| {
                der.map(|der| CertificateRevocationList { der })
                    .map_err(|e| Error::builder(PemError(e)))
            })
            .collect()
    }
}

impl fmt::Debug for CertificateRevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRevocationList")
            .field("der_len", &self.der.len())
            .finish()
    }
}

/// The PEM parser's error, wrapped so it can be an error's cause.
#[derive(Debug)]
struct PemError(rustls_pki_types::pem::Error);

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid PEM: {:?}", self.0)
    }
}

impl std::error::Error for PemError {}
