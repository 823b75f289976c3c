//! Certificates for TLS test servers, generated with `rcgen`: a CA, a server certificate it signed, and
//! client certificates it signs on request (mutual TLS).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::{Protocol, TestServer, TestServerBuilder};

/// A CA and a server certificate signed by it.
#[derive(Clone)]
pub struct TestCerts {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    /// The server certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivatePkcs8KeyDer<'static>>,
    ca: Arc<(rcgen::Certificate, KeyPair)>,
}

/// The serial number of every server certificate (what a CRL names to revoke it).
const SERVER_SERIAL: &[u8] = &[0x10, 0x92];

/// How a TLS test server differs from the default (both versions, no client certificate).
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerTls {
    /// Speak only TLS 1.2.
    pub tls12_only: bool,
    /// Require a client certificate signed by the test CA.
    pub require_client_cert: bool,
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
        params.serial_number = Some(rcgen::SerialNumber::from_slice(SERVER_SERIAL));
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        TestCerts {
            ca_pem: ca.pem(),
            chain: vec![cert.der().clone()],
            key: Arc::new(PrivatePkcs8KeyDer::from(key.serialize_der())),
            ca: Arc::new((ca, ca_key)),
        }
    }

    /// A CRL from this CA, PEM, revoking the server certificate (`revoke`) or nothing.
    pub fn crl_pem(&self, revoke: bool) -> String {
        let revoked_certs = if revoke {
            vec![rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(SERVER_SERIAL),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            }]
        } else {
            Vec::new()
        };
        let (ca, ca_key) = &*self.ca;
        rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(ca, ca_key)
        .unwrap()
        .pem()
        .unwrap()
    }

    /// A client certificate signed by this CA, with its key, as one PEM (for `Identity::from_pem`).
    pub fn client_identity_pem(&self) -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "courier test client");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let (ca, ca_key) = &*self.ca;
        let cert = params.signed_by(&key, ca, ca_key).unwrap();
        format!("{}{}", cert.pem(), key.serialize_pem())
    }

    /// A rustls acceptor serving this certificate with ALPN for `protocol`.
    pub fn acceptor(&self, protocol: Protocol) -> TlsAcceptor {
        self.acceptor_with(protocol, ServerTls::default())
    }

    /// A rustls acceptor serving this certificate with ALPN for `protocol`, as `options` say.
    pub fn acceptor_with(&self, protocol: Protocol, options: ServerTls) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config(protocol, options))
    }

    /// The rustls server configuration behind [`TestCerts::acceptor_with`].
    pub fn server_config(
        &self,
        protocol: Protocol,
        options: ServerTls,
    ) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if options.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            rustls::ALL_VERSIONS
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .unwrap();
        let builder = if options.require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.0.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
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
        Arc::new(config)
    }
}

/// The DER bytes of the first certificate in `pem`.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

impl TestServerBuilder {
    /// Serve TLS with a certificate for `localhost` and `127.0.0.1` signed by a fresh CA.
    pub fn tls(self) -> Self {
        self.tls_certs(TestCerts::generate(&["localhost", "127.0.0.1"]))
    }

    /// Serve TLS with the given certificates.
    pub fn tls_certs(mut self, certs: TestCerts) -> Self {
        self.tls = Some(certs);
        self
    }

    /// Serve TLS as `options` say (TLS 1.2 only, client certificate required).
    pub fn tls_options(mut self, options: ServerTls) -> Self {
        self.tls_options = options;
        self
    }
}

impl TestServer {
    /// The certificates, for TLS servers.
    pub fn certs(&self) -> Option<&TestCerts> {
        self.tls.as_ref()
    }

    /// The CA certificate that signed this TLS server's certificate, as PEM.
    pub fn ca_pem(&self) -> String {
        self.tls.as_ref().expect("not a TLS server").ca_pem.clone()
    }
}
