//! Certificates for TLS test servers, generated with `rcgen`: a CA and a server certificate it signed.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::Protocol;

/// A CA and a server certificate signed by it.
#[derive(Clone)]
pub struct TestCerts {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    /// The server certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivatePkcs8KeyDer<'static>>,
}

impl TestCerts {
    /// A valid certificate for `names` (DNS names or IP addresses).
    pub fn generate(names: &[&str]) -> TestCerts {
        TestCerts::build(names, false)
    }

    /// A certificate for `names` that expired in 2020.
    pub fn expired(names: &[&str]) -> TestCerts {
        TestCerts::build(names, true)
    }

    fn build(names: &[&str], expired: bool) -> TestCerts {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Courier Test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "courier test server");
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        TestCerts {
            ca_pem: ca.pem(),
            chain: vec![cert.der().clone()],
            key: Arc::new(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// A rustls acceptor serving this certificate with ALPN for `protocol`.
    pub fn acceptor(&self, protocol: Protocol) -> TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.as_ref().clone_key()),
            )
            .unwrap();
        config.alpn_protocols = match protocol {
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
            Protocol::Http2 => vec![b"h2".to_vec()],
            Protocol::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        TlsAcceptor::from(Arc::new(config))
    }
}
