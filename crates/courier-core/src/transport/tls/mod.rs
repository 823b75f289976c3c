//! TLS for the transport (rustls, with ring as the crypto provider): what to trust, what to show,
//! which versions to speak; built once into a rustls `ClientConfig` when the transport is built.
//!
//! Which verifier checks the server's certificate:
//!
//! | configuration | verifier |
//! | --- | --- |
//! | default, or extra roots added with `add_root_certificate` / `tls_certs_merge` | the operating system's ([rustls-platform-verifier]: on Linux, webpki over the system store, e.g. `/etc/ssl/certs`), with the extra roots; so a corporate CA installed on the machine is trusted |
//! | `tls_certs_only(roots)` | webpki over exactly those roots (and the CRLs given with `add_crl`) |
//! | `tls_built_in_root_certs(true)` | webpki over the Mozilla roots compiled in (webpki-roots), plus any extra roots |
//! | `tls_native_root_certs(true)` | webpki over the system store read with rustls-native-certs, plus any extra roots |
//! | `tls_built_in_root_certs(false)` | the system's store is off: webpki over the extra roots (and the Mozilla roots if turned on again), as reqwest's `tls_built_in_root_certs(false)` means "trust only the roots I add" |
//! | `danger_accept_invalid_hostnames(true)` | webpki as above (the system store unless `tls_certs_only`), any name accepted |
//! | `danger_accept_invalid_certs(true)` | none: any certificate is accepted |
//! | `use_preconfigured_tls(config)` | whatever `config` says; only ALPN is filled in, when empty |
//!
//! When the system has no certificate store at all, the default falls back to the Mozilla roots
//! (with a `warn` event) rather than making every client fail to build; extra roots are then trusted
//! besides the Mozilla roots, as they would be besides the system's.
//!
//! ```
//! use courier_core::transport::tls::{Certificate, Version};
//! use courier_core::transport::Transport;
//!
//! # fn run(ca_pem: &[u8]) -> Result<(), courier_core::Error> {
//! let transport: Transport = Transport::builder()
//!     .tls_certs_only(Certificate::from_pem_bundle(ca_pem)?)
//!     .min_tls_version(Version::TLS_1_3)
//!     .build()?;
//! # drop(transport);
//! # Ok(())
//! # }
//! ```
//!
//! [rustls-platform-verifier]: https://docs.rs/rustls-platform-verifier

mod certs;
mod info;
mod verify;
mod version;

use std::any::Any;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::RootCertStore;

pub use certs::{Certificate, CertificateRevocationList, Identity};
pub use info::TlsInfo;
pub use version::Version;

use crate::error::Error;

/// What the TLS client trusts and shows; see the [module docs](self) for which verifier results.
#[derive(Clone, Debug)]
pub(crate) struct TlsOptions {
    /// Trust the Mozilla roots compiled in, instead of the platform verifier.
    pub(crate) built_in_roots: bool,
    /// Trust the system store read with rustls-native-certs, instead of the platform verifier.
    pub(crate) native_roots: bool,
    /// Trust exactly `extra_roots`.
    pub(crate) certs_only: bool,
    /// Trust the system's store (through the platform verifier by default); turned off by
    /// `tls_built_in_root_certs(false)`.
    pub(crate) system_roots: bool,
    pub(crate) extra_roots: Vec<Certificate>,
    pub(crate) crls: Vec<CertificateRevocationList>,
    pub(crate) identity: Option<Identity>,
    pub(crate) verify_certs: bool,
    pub(crate) verify_hostnames: bool,
    pub(crate) min_version: Option<Version>,
    pub(crate) max_version: Option<Version>,
    pub(crate) sni: bool,
    /// Log session keys to the file named by `SSLKEYLOGFILE` (when set at run time).
    pub(crate) keylog: bool,
    /// Put a [`TlsInfo`] in each response's extensions.
    pub(crate) info: bool,
    pub(crate) preconfigured: Option<Arc<rustls::ClientConfig>>,
    /// `use_preconfigured_tls` was given something other than a rustls `ClientConfig`.
    pub(crate) unknown_preconfigured: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            built_in_roots: false,
            native_roots: false,
            certs_only: false,
            system_roots: true,
            extra_roots: Vec::new(),
            crls: Vec::new(),
            identity: None,
            verify_certs: true,
            verify_hostnames: true,
            min_version: None,
            max_version: None,
            sni: true,
            keylog: false,
            info: false,
            preconfigured: None,
            unknown_preconfigured: false,
        }
    }
}

impl TlsOptions {
    /// Takes a preconfigured TLS backend: a `rustls::ClientConfig` (or an `Arc` of one).
    pub(crate) fn set_preconfigured(&mut self, tls: impl Any) {
        let tls: Box<dyn Any> = Box::new(tls);
        let config = match tls.downcast::<rustls::ClientConfig>() {
            Ok(config) => Some(Arc::new(*config)),
            Err(tls) => tls.downcast::<Arc<rustls::ClientConfig>>().ok().map(|c| *c),
        };
        self.unknown_preconfigured = config.is_none();
        self.preconfigured = config;
    }

    /// The rustls configuration, ALPN left to the caller.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        if self.unknown_preconfigured {
            return Err(Error::builder(
                "use_preconfigured_tls: not a rustls::ClientConfig (the only TLS backend)",
            ));
        }
        if let Some(config) = &self.preconfigured {
            return Ok(config.as_ref().clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = self.versions()?;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(Error::builder)?
            .dangerous()
            .with_custom_certificate_verifier(self.verifier(&provider)?);
        let mut config = match &self.identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.certs.clone(), identity.key.clone_key())
                .map_err(Error::builder)?,
            None => builder.with_no_client_auth(),
        };
        config.enable_sni = self.sni;
        if self.keylog {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(config)
    }

    /// The versions between `min_version` and `max_version` that rustls speaks.
    fn versions(&self) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, Error> {
        let versions: Vec<_> = rustls::ALL_VERSIONS
            .iter()
            .copied()
            .filter(|v| match Version::from_rustls(v.version) {
                Some(version) => {
                    self.min_version.is_none_or(|min| version >= min)
                        && self.max_version.is_none_or(|max| version <= max)
                }
                None => false,
            })
            .collect();
        if versions.is_empty() {
            return Err(Error::builder(
                "no TLS version rustls speaks (1.2, 1.3) is within min_tls_version..=max_tls_version",
            ));
        }
        Ok(versions)
    }

    fn verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Arc<dyn ServerCertVerifier>, Error> {
        let algorithms = provider.signature_verification_algorithms;
        if !self.verify_certs {
            return Ok(Arc::new(verify::NoVerifier { algorithms }));
        }
        let platform = self.system_roots
            && !self.certs_only
            && !self.built_in_roots
            && !self.native_roots
            && self.verify_hostnames
            && self.crls.is_empty();
        if platform {
            if let Some(verifier) = self.platform_verifier(provider)? {
                return Ok(verifier);
            }
        }
        let roots = Arc::new(self.root_store(|| rustls_native_certs::load_native_certs().certs)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
            .with_crls(self.crls.iter().map(|crl| crl.der.clone()))
            .build()
            .map_err(Error::builder)?;
        if self.verify_hostnames {
            Ok(webpki)
        } else {
            Ok(Arc::new(verify::IgnoreHostname::new(
                webpki, roots, algorithms,
            )))
        }
    }

    /// The operating system's verifier with the extra roots; `None` when the system has no store and
    /// no extra roots were given (the caller falls back to the Mozilla roots).
    fn platform_verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Option<Arc<dyn ServerCertVerifier>>, Error> {
        // Reading the system store takes milliseconds: without extra roots, one verifier serves the
        // whole process.
        static DEFAULT: OnceLock<Option<Arc<rustls_platform_verifier::Verifier>>> = OnceLock::new();
        let default = DEFAULT.get_or_init(|| {
            match rustls_platform_verifier::Verifier::new(provider.clone()) {
                Ok(verifier) => Some(Arc::new(verifier)),
                Err(err) => {
                    tracing::warn!(error = %err, "no system certificate store; trusting the built-in Mozilla roots");
                    None
                }
            }
        });
        // With no system store, the verifier made with extra roots would trust those alone: adding a
        // root must widen trust, so the caller's webpki fallback (extra roots + Mozilla) serves.
        if default.is_none() || self.extra_roots.is_empty() {
            return Ok(default.clone().map(|v| v as Arc<dyn ServerCertVerifier>));
        }
        let extra = self.extra_roots.iter().map(|c| c.der.clone());
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(Error::builder)?;
        Ok(Some(Arc::new(verifier)))
    }

    /// The roots for a webpki verifier: the extra roots; the Mozilla roots when asked for; the system
    /// store (`native`, read when needed) when asked for, or in place of the platform verifier
    /// (unless `tls_certs_only`). The Mozilla roots stand in for a missing system store only in that
    /// last case: a caller who asked for the system's store and not the Mozilla roots gets no more
    /// than it holds (as reqwest), an error when that is nothing.
    fn root_store(
        &self,
        native: impl FnOnce() -> Vec<rustls_pki_types::CertificateDer<'static>>,
    ) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        for cert in &self.extra_roots {
            roots.add(cert.der.clone()).map_err(Error::builder)?;
        }
        if self.built_in_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native_roots || (self.system_roots && !(self.certs_only || self.built_in_roots)) {
            // Unreadable system certificates are skipped, as browsers do; the rest are still trusted.
            let (added, _) = roots.add_parsable_certificates(native());
            if added == 0 && !self.certs_only && !self.native_roots {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
        if roots.is_empty() {
            return Err(Error::builder("no root certificate to trust"));
        }
        Ok(roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_store_asked_for_is_all_that_is_trusted() {
        let none = Vec::new;
        // Asked for the system's store alone, which is empty: nothing to trust, an error (the
        // Mozilla roots were not asked for).
        let asked = TlsOptions {
            native_roots: true,
            ..TlsOptions::default()
        };
        assert!(asked.root_store(none).is_err());
        // Asked for both: the Mozilla roots.
        let both = TlsOptions {
            native_roots: true,
            built_in_roots: true,
            ..TlsOptions::default()
        };
        assert_eq!(
            both.root_store(none).unwrap().len(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
        // Neither asked for (the system store standing in for the platform verifier): the Mozilla
        // roots stand in for a missing system store.
        let default = TlsOptions::default();
        assert_eq!(
            default.root_store(none).unwrap().len(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
    }
}
