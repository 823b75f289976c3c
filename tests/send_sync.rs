//! The public types are `Send + Sync`, as reqwest's are: they can be shared between tasks and threads.

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<courier::Client>();
    assert_send_sync::<courier::ClientBuilder>();
    assert_send_sync::<courier::Request>();
    assert_send_sync::<courier::RequestBuilder>();
    assert_send_sync::<courier::Response>();
    assert_send_sync::<courier::Body>();
    assert_send_sync::<courier::Error>();
}
