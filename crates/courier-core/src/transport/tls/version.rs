//! [`Version`]: a TLS protocol version, for `min_tls_version` and `max_tls_version`.

/// A TLS protocol version. rustls speaks TLS 1.2 and 1.3; a range that leaves neither fails when the
/// client is built.
///
/// ```
/// use courier_core::transport::tls::Version;
///
/// assert!(Version::TLS_1_2 < Version::TLS_1_3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(Inner);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Inner {
    Tls1_0,
    Tls1_1,
    Tls1_2,
    Tls1_3,
}

impl Version {
    /// TLS 1.0 (not spoken by rustls).
    pub const TLS_1_0: Version = Version(Inner::Tls1_0);
    /// TLS 1.1 (not spoken by rustls).
    pub const TLS_1_1: Version = Version(Inner::Tls1_1);
    /// TLS 1.2.
    pub const TLS_1_2: Version = Version(Inner::Tls1_2);
    /// TLS 1.3.
    pub const TLS_1_3: Version = Version(Inner::Tls1_3);

    pub(crate) fn from_rustls(version: rustls::ProtocolVersion) -> Option<Version> {
        match version {
            rustls::ProtocolVersion::TLSv1_0 => Some(Version::TLS_1_0),
            rustls::ProtocolVersion::TLSv1_1 => Some(Version::TLS_1_1),
            rustls::ProtocolVersion::TLSv1_2 => Some(Version::TLS_1_2),
            rustls::ProtocolVersion::TLSv1_3 => Some(Version::TLS_1_3),
            _ => None,
        }
    }
}
