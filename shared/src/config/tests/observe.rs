//! The observability settings (issue 13): events off unless a bus is named, the source and the
//! metrics namespace defaulted, and the values EventBridge and CloudWatch would refuse at
//! runtime refused at init instead, naming their variable.

use super::*;

/// A valid token key, so the Lambda profile parses and only the setting under test can fail.
const KEY: (&str, &str) = (
    "TOKEN_HMAC_KEY",
    "a-current-key-0123456789abcdef-0123456789",
);

#[test]
fn events_are_off_without_a_bus_and_the_source_and_namespace_have_defaults() {
    let c = cfg(Profile::Lambda, &[KEY]).unwrap();
    assert_eq!(c.observe.event_bus, None);
    assert_eq!(c.observe.event_source, "password-reset");
    assert_eq!(c.observe.metrics_namespace, "PasswordReset");
    assert_eq!(c.store.users.session_version_attribute, None);

    let c = cfg(
        Profile::Lambda,
        &[
            KEY,
            ("EVENT_BUS_NAME", "reset-events"),
            ("EVENT_SOURCE", "com.example.reset"),
            ("METRICS_NAMESPACE", "Example/Reset"),
            ("USERS_SESSION_VERSION_ATTRIBUTE", "session_version"),
        ],
    )
    .unwrap();
    assert_eq!(c.observe.event_bus.as_deref(), Some("reset-events"));
    assert_eq!(c.observe.event_source, "com.example.reset");
    assert_eq!(c.observe.metrics_namespace, "Example/Reset");
    assert_eq!(
        c.store.users.session_version_attribute.as_deref(),
        Some("session_version")
    );
}

#[test]
fn sources_and_namespaces_aws_would_refuse_are_refused_at_init_naming_their_variable() {
    let long_source = "s".repeat(257);
    let long_namespace = "n".repeat(256);
    for (var, value) in [
        ("EVENT_SOURCE", "aws.ses"),
        ("EVENT_SOURCE", long_source.as_str()),
        ("METRICS_NAMESPACE", "AWS/Lambda"),
        ("METRICS_NAMESPACE", long_namespace.as_str()),
        ("METRICS_NAMESPACE", "Reset\u{e9}"),
    ] {
        let e = cfg(Profile::Lambda, &[KEY, (var, value)]).unwrap_err();
        assert_eq!(e.var, var, "{value}");
    }
}
