//! `tls_sslkeylogfile`, alone in its binary: it sets `SSLKEYLOGFILE`, which no other test may read
//! at the same time (`set_var` racing a read is undefined behaviour).

use courier::ClientBuilder;
use courier_testkit::client::{get_text, trusting, within};
use courier_testkit::tls::{ServerTls, TestCerts};
use courier_testkit::{respond, TestServer};

#[tokio::test]
async fn session_keys_are_logged_only_when_asked_for() {
    let server = TestServer::builder()
        .tls_certs(TestCerts::generate(&["localhost"]))
        .tls_options(ServerTls::default())
        .start(|_| async { respond(200, "secret") })
        .await;
    let dir = std::env::temp_dir().join(format!("courier-keylog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.log");
    let _ = std::fs::remove_file(&path);
    std::env::set_var("SSLKEYLOGFILE", &path);

    let get = |builder: ClientBuilder| async {
        let client = builder.build().unwrap();
        assert_eq!(
            within(10, get_text(&client, &server.url("/"))).await,
            "secret"
        );
    };
    get(trusting(&server)).await;
    assert!(!path.exists(), "keys logged without the opt-in");

    get(trusting(&server).tls_sslkeylogfile(true)).await;
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(log.contains("CLIENT_HANDSHAKE_TRAFFIC_SECRET "), "{log}");
    std::env::remove_var("SSLKEYLOGFILE");
    let _ = std::fs::remove_dir_all(&dir);
}
