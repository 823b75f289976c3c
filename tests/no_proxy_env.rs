//! `NoProxy::from_env`, alone in its binary: it sets environment variables, which no other test may
//! read at the same time (`set_var` racing a read is undefined behaviour).

use courier::NoProxy;

#[test]
fn no_proxy_from_env_skips_an_empty_no_proxy() {
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    assert!(NoProxy::from_env().is_none());

    std::env::set_var("no_proxy", "lower.test");
    assert_eq!(
        format!("{:?}", NoProxy::from_env().unwrap()),
        r#"NoProxy("lower.test")"#
    );
    // Set but empty, NO_PROXY does not hide no_proxy.
    std::env::set_var("NO_PROXY", " ");
    assert_eq!(
        format!("{:?}", NoProxy::from_env().unwrap()),
        r#"NoProxy("lower.test")"#
    );
    // Uppercase first when it names something.
    std::env::set_var("NO_PROXY", "upper.test:8080");
    assert_eq!(
        format!("{:?}", NoProxy::from_env().unwrap()),
        r#"NoProxy("upper.test:8080")"#
    );
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
}
