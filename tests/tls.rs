//! TLS options end to end, against in-process TLS servers with generated certificates: mutual TLS,
//! invalid certificates and names, version limits, revocation lists, `tls_info`, a preconfigured
//! rustls configuration, and the `SSLKEYLOGFILE` opt-in.

use std::sync::Arc;

use courier::tls::{Certificate, CertificateRevocationList, Identity, TlsInfo, Version};
use courier::{Client, StatusCode};
use courier_testkit::client::{get_text, trusting, within};
use courier_testkit::tls::{ServerTls, TestCerts};
use courier_testkit::{respond, Protocol, RawServer, TestServer};

async fn tls_server(certs: TestCerts, options: ServerTls) -> TestServer {
    TestServer::builder()
        .tls_certs(certs)
        .tls_options(options)
        .start(|_| async { respond(200, "secret") })
        .await
}

/// The error of a GET that must fail to connect; the server must have seen no request.
async fn connect_error(client: &Client, server: &TestServer) -> courier::Error {
    let err = within(10, client.get(server.url("/")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(server.requests().is_empty());
    err
}

fn ca_of(server: &TestServer) -> Certificate {
    Certificate::from_pem(server.ca_pem().as_bytes()).unwrap()
}

#[tokio::test]
async fn mutual_tls_is_accepted_with_the_identity_and_refused_without() {
    let certs = TestCerts::generate(&["localhost", "127.0.0.1"]);
    let identity_pem = certs.client_identity_pem();
    let options = ServerTls {
        require_client_cert: true,
        ..ServerTls::default()
    };
    let server = tls_server(certs, options).await;

    let identity = Identity::from_pem(identity_pem.as_bytes()).unwrap();
    let client = trusting(&server).identity(identity).build().unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "secret");
    assert_eq!(server.requests().len(), 1);

    // Without a certificate the server ends the handshake (TLS 1.3: once the client has sent its
    // Finished, so the failure may show on the first read).
    let client = trusting(&server).build().unwrap();
    let err = within(10, client.get(server.url("/")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    assert_eq!(server.requests().len(), 1);

    // A key without its certificate, or a certificate without its key, is no identity.
    let key_only = identity_pem[identity_pem.find("-----BEGIN PRIVATE KEY").unwrap()..].to_owned();
    assert!(Identity::from_pem(key_only.as_bytes())
        .unwrap_err()
        .is_builder());
    assert!(Identity::from_pem(server.ca_pem().as_bytes())
        .unwrap_err()
        .is_builder());
    assert!(
        !format!("{:?}", Identity::from_pem(identity_pem.as_bytes()).unwrap()).contains("PRIVATE")
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_unless_invalid_certs_are_accepted() {
    let server = tls_server(TestCerts::generate(&["localhost"]), ServerTls::default()).await;
    // The test CA is in neither the system's store nor the Mozilla roots.
    for builder in [
        Client::builder(),
        Client::builder().tls_built_in_root_certs(true),
    ] {
        let err = connect_error(&builder.build().unwrap(), &server).await;
        assert!(format!("{err:#}").contains("UnknownIssuer"), "{err:#}");
    }

    let client = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "secret");

    // Expired, and for another name: still accepted.
    for certs in [
        TestCerts::expired(&["localhost"]),
        TestCerts::generate(&["other.test"]),
    ] {
        let server = tls_server(certs, ServerTls::default()).await;
        assert_eq!(get_text(&client, &server.url("/")).await, "secret");
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_needs_danger_accept_invalid_hostnames() {
    let server = tls_server(TestCerts::generate(&["other.test"]), ServerTls::default()).await;
    let ca = ca_of(&server);

    let strict = Client::builder()
        .tls_certs_only([ca.clone()])
        .build()
        .unwrap();
    let err = connect_error(&strict, &server).await;
    assert!(format!("{err:#}").contains("not valid for name"), "{err:#}");

    let lenient = Client::builder()
        .tls_certs_only([ca.clone()])
        .danger_accept_invalid_hostnames(true)
        .build()
        .unwrap();
    assert_eq!(get_text(&lenient, &server.url("/")).await, "secret");
    let lenient_013 = Client::builder()
        .tls_certs_only([ca.clone()])
        .tls_danger_accept_invalid_hostnames(true)
        .build()
        .unwrap();
    assert_eq!(get_text(&lenient_013, &server.url("/")).await, "secret");

    // The chain is still checked: another CA's certificate is refused even for any name, and an
    // expired one too.
    let foreign = tls_server(TestCerts::generate(&["localhost"]), ServerTls::default()).await;
    // (Both test CAs are named alike, so the foreign signature is found bad rather than unknown.)
    let err = connect_error(&lenient, &foreign).await;
    assert!(format!("{err:#}").contains("BadSignature"), "{err:#}");
    let certs = TestCerts::expired(&["other.test"]);
    let expired_ca = Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    let expired = tls_server(certs, ServerTls::default()).await;
    let client = Client::builder()
        .tls_certs_only([expired_ca])
        .danger_accept_invalid_hostnames(true)
        .build()
        .unwrap();
    let err = connect_error(&client, &expired).await;
    assert!(format!("{err:#}").contains("expired"), "{err:#}");
}

#[tokio::test]
async fn a_tls12_only_server_is_refused_with_min_tls_version_13() {
    let options = ServerTls {
        tls12_only: true,
        ..ServerTls::default()
    };
    let server = tls_server(TestCerts::generate(&["localhost"]), options).await;

    // reqwest 0.12's name and 0.13's.
    for client in [
        trusting(&server).min_tls_version(Version::TLS_1_3),
        trusting(&server).tls_version_min(Version::TLS_1_3),
    ] {
        connect_error(&client.build().unwrap(), &server).await;
    }

    let client = trusting(&server)
        .max_tls_version(Version::TLS_1_2)
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(
        response.connection_info().unwrap().tls_version(),
        Some("TLSv1.2")
    );

    // Nothing rustls speaks lies in 1.0..=1.1, nor in 1.3..=1.2.
    for (min, max) in [
        (Version::TLS_1_0, Version::TLS_1_1),
        (Version::TLS_1_3, Version::TLS_1_2),
    ] {
        let err = Client::builder()
            .min_tls_version(min)
            .max_tls_version(max)
            .build()
            .unwrap_err();
        assert!(err.is_builder(), "{err:?}");
    }
}

#[tokio::test]
async fn tls_info_gives_the_server_certificate() {
    let certs = TestCerts::generate(&["localhost"]);
    let leaf = certs.chain[0].to_vec();
    let server = tls_server(certs, ServerTls::default()).await;

    let client = trusting(&server).tls_info(true).build().unwrap();
    for _ in 0..2 {
        // Fresh and reused connections alike.
        let response = within(10, client.get(server.url("/")).send())
            .await
            .unwrap();
        let info = response.extensions().get::<TlsInfo>().unwrap();
        assert_eq!(info.peer_certificate(), Some(&leaf[..]));
        assert_eq!(response.text().await.unwrap(), "secret");
    }
    assert_eq!(server.connections(), 1);

    let client = trusting(&server).build().unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert!(response.extensions().get::<TlsInfo>().is_none());
}

#[tokio::test]
async fn a_revoked_server_certificate_is_refused() {
    let certs = TestCerts::generate(&["localhost"]);
    let revoking = certs.crl_pem(true);
    let empty = certs.crl_pem(false);
    let server = tls_server(certs, ServerTls::default()).await;

    let with_crl = |crl: &str| -> Client {
        trusting(&server)
            .add_crl(CertificateRevocationList::from_pem(crl.as_bytes()).unwrap())
            .build()
            .unwrap()
    };
    let err = connect_error(&with_crl(&revoking), &server).await;
    assert!(format!("{err:#}").contains("Revoked"), "{err:#}");

    // The first list from the certificate's issuer is the one consulted.
    let crls = CertificateRevocationList::from_pem_bundle(format!("{revoking}{empty}").as_bytes())
        .unwrap();
    assert_eq!(crls.len(), 2);
    let client = trusting(&server).add_crls(crls).build().unwrap();
    connect_error(&client, &server).await;

    assert_eq!(
        get_text(&with_crl(&empty), &server.url("/")).await,
        "secret"
    );

    // tls_crls_only replaces the lists added before; add_crls adds to them.
    let crl = |pem: &str| CertificateRevocationList::from_pem(pem.as_bytes()).unwrap();
    let replaced = trusting(&server)
        .add_crl(crl(&revoking))
        .tls_crls_only([crl(&empty)])
        .build()
        .unwrap();
    assert_eq!(
        within(10, get_text(&replaced, &server.url("/"))).await,
        "secret"
    );
    let added = trusting(&server)
        .tls_crls_only([crl(&revoking)])
        .add_crls([crl(&empty)])
        .build()
        .unwrap();
    let err = within(10, added.get(server.url("/")).send())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(format!("{err:#}").contains("Revoked"), "{err:#}");
}

#[tokio::test]
async fn a_preconfigured_rustls_config_is_used_as_it_is() {
    let server = tls_server(TestCerts::generate(&["localhost"]), ServerTls::default()).await;
    let mut roots = rustls::RootCertStore::empty();
    let ca =
        rustls_pki_types::CertificateDer::from(courier_testkit::tls::pem_to_der(&server.ca_pem()));
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    // The other TLS options do not apply: the configuration trusts the test CA.
    let client = Client::builder()
        .tls_built_in_root_certs(true)
        .use_preconfigured_tls(config)
        .tls_backend_rustls()
        .build()
        .unwrap();
    let response = within(10, client.get(server.url("/")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.version(),
        courier::Version::HTTP_2,
        "ALPN was filled in"
    );

    let err = Client::builder()
        .use_preconfigured_tls("not a TLS configuration")
        .build()
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
}

#[tokio::test]
async fn certificates_read_from_pem_bundles_and_der() {
    let server = tls_server(TestCerts::generate(&["localhost"]), ServerTls::default()).await;
    let other = TestCerts::generate(&["localhost"]);
    let bundle = format!("{}{}", other.ca_pem, server.ca_pem());
    let roots = Certificate::from_pem_bundle(bundle.as_bytes()).unwrap();
    assert_eq!(roots.len(), 2);
    let client = Client::builder().tls_certs_only(roots).build().unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "secret");

    let der = courier_testkit::tls::pem_to_der(&server.ca_pem());
    let client = Client::builder()
        .tls_certs_only([Certificate::from_der(&der).unwrap()])
        .build()
        .unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "secret");

    // Merged with the system's store (the platform verifier), the extra root is trusted too.
    let client = Client::builder()
        .tls_certs_merge([ca_of(&server)])
        .build()
        .unwrap();
    assert_eq!(get_text(&client, &server.url("/")).await, "secret");

    // Bytes that are no certificate fail when the client is built.
    let err = Client::builder()
        .tls_certs_only([Certificate::from_der(b"garbage").unwrap()])
        .build()
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
}

#[tokio::test]
async fn tls_sni_sends_the_server_name_unless_turned_off() {
    let certs = TestCerts::generate(&["localhost", "127.0.0.1"]);
    let config = certs.server_config(Protocol::Http1, ServerTls::default());
    let names = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = names.clone();
    // Records the ClientHello's server name, then serves one response.
    let server = RawServer::start(move |stream, _| {
        let config = config.clone();
        let seen = seen.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            let acceptor = rustls::server::Acceptor::default();
            let Ok(start) = tokio_rustls::LazyConfigAcceptor::new(acceptor, stream).await else {
                return;
            };
            let name = start.client_hello().server_name().map(str::to_owned);
            seen.lock().unwrap().push(name);
            let Ok(mut tls) = start.into_stream(config).await else {
                return;
            };
            let _ = courier_testkit::read_request_head(&mut tls).await;
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
            let _ = tls.shutdown().await;
        }
    })
    .await;
    let ca = Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    let port = server.addr().port();
    let by_name = format!("https://localhost:{port}/");
    let by_ip = format!("https://127.0.0.1:{port}/");

    let client = Client::builder()
        .tls_certs_only([ca.clone()])
        .build()
        .unwrap();
    assert_eq!(within(10, get_text(&client, &by_name)).await, "ok");
    // An IP address is never sent as a server name.
    assert_eq!(within(10, get_text(&client, &by_ip)).await, "ok");
    let client = Client::builder()
        .tls_certs_only([ca])
        .tls_sni(false)
        .build()
        .unwrap();
    // Without SNI the certificate is still checked against the name.
    assert_eq!(within(10, get_text(&client, &by_name)).await, "ok");
    assert_eq!(
        *names.lock().unwrap(),
        vec![Some("localhost".to_owned()), None, None]
    );
}

/// Set in the child process of [`a_system_store_is_trusted_unless_built_in_roots_are_off`].
const SYSTEM_STORE_CHILD: &str = "COURIER_TEST_SYSTEM_STORE_CHILD";

/// reqwest's idiom for "trust only my CA", `tls_built_in_root_certs(false)` with
/// `add_root_certificate`, turns the system's store off. The system's store is `SSL_CERT_FILE`
/// holding the server's CA (read by the platform verifier on Linux), in a child process: it must be
/// set before the first client reads the store, and must not reach the other tests.
#[test]
fn a_system_store_is_trusted_unless_built_in_roots_are_off() {
    if std::env::var_os(SYSTEM_STORE_CHILD).is_some() {
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "system_store_child", "--ignored", "--nocapture"])
        .env(SYSTEM_STORE_CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The child's side of [`a_system_store_is_trusted_unless_built_in_roots_are_off`].
#[test]
#[ignore = "run by a_system_store_is_trusted_unless_built_in_roots_are_off in a child process"]
fn system_store_child() {
    assert!(
        std::env::var_os(SYSTEM_STORE_CHILD).is_some(),
        "run as a child only"
    );
    let certs = TestCerts::generate(&["localhost"]);
    let dir = std::env::temp_dir().join(format!("courier-system-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("system.pem");
    std::fs::write(&store, &certs.ca_pem).unwrap();
    // Only this test runs in this process, and no thread has started yet.
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::set_var("SSL_CERT_DIR", &dir);
    let other_ca =
        Certificate::from_pem(TestCerts::generate(&["other.test"]).ca_pem.as_bytes()).unwrap();
    let own_ca = Certificate::from_pem(certs.ca_pem.as_bytes()).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let server = tls_server(certs.clone(), ServerTls::default()).await;
        // A second server with the same certificate, for the refusals: it must see no request.
        let refusing = tls_server(certs, ServerTls::default()).await;
        // By default the system's store is trusted, with or without an extra root beside it; the
        // other switches' `false` is their default and changes nothing.
        for builder in [
            Client::builder(),
            Client::builder().add_root_certificate(other_ca.clone()),
            Client::builder().tls_built_in_webpki_certs(false),
            Client::builder().tls_built_in_native_certs(false),
            Client::builder().tls_native_root_certs(false),
        ] {
            assert_eq!(
                get_text(&builder.build().unwrap(), &server.url("/")).await,
                "secret"
            );
        }
        // Turned off: only the roots added are trusted.
        let only_other = Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(other_ca.clone());
        let err = connect_error(&only_other.build().unwrap(), &refusing).await;
        // The test CAs share one name: the added one is found as the issuer and fails to verify.
        assert!(
            format!("{err:#}").contains("invalid peer certificate"),
            "{err:#}"
        );
        let own = Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(own_ca);
        assert_eq!(
            get_text(&own.build().unwrap(), &server.url("/")).await,
            "secret"
        );
        // Nothing left to trust: an error when building, not a client that refuses everything.
        let err = Client::builder()
            .tls_built_in_root_certs(false)
            .build()
            .unwrap_err();
        assert!(err.is_builder(), "{err:?}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
