use super::*;
use std::collections::HashMap;

fn settings(vars: &[(&str, &str)]) -> Settings {
    let vars: HashMap<_, _> = vars.iter().copied().collect();
    Settings::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()))
}

/// Every line written while `emit` runs under the subscriber for `vars`.
fn logged(vars: &[(&str, &str)], emit: impl FnOnce()) -> String {
    let capture = Capture::default();
    let sub = subscriber(&settings(vars), capture.clone());
    tracing::subscriber::with_default(sub, emit);
    capture.text()
}

/// One line per level for a target (the macros need a literal target).
macro_rules! each_level {
    ($target:literal) => {{
        tracing::trace!(target: $target, concat!($target, " trace"));
        tracing::debug!(target: $target, concat!($target, " debug"));
        tracing::info!(target: $target, concat!($target, " info"));
        tracing::warn!(target: $target, concat!($target, " warn"));
    }};
}

fn emit_all() {
    each_level!("aws_smithy_runtime::client::orchestrator");
    each_level!("aws_smithy_runtime_api::client::interceptors");
    each_level!("aws_smithy_http_client::client");
    each_level!("aws_sdk_sesv2::operation::send_email");
    each_level!("aws_sdk_dynamodb::operation::update_item");
    each_level!("aws_sigv4::http_request::sign");
    each_level!("aws_config::meta");
    each_level!("hyper::proto::h1::io");
    each_level!("hyper_util::client::legacy");
    each_level!("h2::codec");
    each_level!("rustls::client");
    each_level!("lambda_runtime::layers::api_response");
    each_level!("lambda_runtime_api_client");
    each_level!("lambda_http::request");
    each_level!("some_future_dependency");
    each_level!("shared::service::request");
}

const CAPPED: &[&str] = &[
    "aws_smithy_runtime::client::orchestrator",
    "aws_smithy_runtime_api::client::interceptors",
    "aws_smithy_http_client::client",
    "aws_sdk_sesv2::operation::send_email",
    "aws_sdk_dynamodb::operation::update_item",
    "aws_sigv4::http_request::sign",
    "aws_config::meta",
    "hyper::proto::h1::io",
    "hyper_util::client::legacy",
    "h2::codec",
    "rustls::client",
    "lambda_runtime::layers::api_response",
    "lambda_runtime_api_client",
    "lambda_http::request",
    "some_future_dependency",
];

#[test]
fn no_level_or_directive_lifts_a_dependency_above_info() {
    // (settings, whether they enable everything: bare directives like
    // `aws_smithy_runtime=trace` replace the default level, as in lambda_http)
    for (vars, all) in [
        (&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")][..], true),
        (
            &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "trace")],
            true,
        ),
        (&[("RUST_LOG", "trace")], true),
        (
            &[(
                "RUST_LOG",
                "aws_smithy_runtime=trace,lambda_runtime=trace,hyper=trace,h2=trace",
            )],
            false,
        ),
        (
            &[
                ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
                (
                    "RUST_LOG",
                    "trace,aws_smithy_runtime=trace,lambda_runtime=trace",
                ),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ],
            true,
        ),
    ] {
        let logs = logged(vars, emit_all);
        for target in CAPPED {
            for level in ["trace", "debug"] {
                assert!(
                    !logs.contains(&format!("{target} {level}")),
                    "{vars:?}: {target} logged at {level}:\n{logs}"
                );
            }
            if all {
                assert!(
                    logs.contains(&format!("{target} info")),
                    "{vars:?}: {target} keeps INFO"
                );
            }
        }
        assert!(logs.contains("aws_smithy_runtime::client::orchestrator info"));
        assert!(logs.contains("lambda_runtime::layers::api_response info"));
    }
}

#[test]
fn our_own_lines_follow_the_configured_level() {
    let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "TRACE")], emit_all);
    assert!(logs.contains("shared::service::request trace"), "{logs}");
    let logs = logged(&[("RUST_LOG", "shared=debug")], emit_all);
    assert!(logs.contains("shared::service::request debug"), "{logs}");
    assert!(!logs.contains("shared::service::request trace"), "{logs}");
    let logs = logged(&[], emit_all);
    assert!(!logs.contains("shared::service::request debug"), "{logs}");
    assert!(logs.contains("shared::service::request info"), "{logs}");
    let logs = logged(&[("RUST_LOG", "aws_smithy_runtime=trace")], emit_all);
    assert!(
        !logs.contains("shared::"),
        "directives replace the default level, as in lambda_http: {logs}"
    );
    let logs = logged(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")], emit_all);
    assert!(!logs.contains(" info"), "{logs}");
    assert!(logs.contains("shared::service::request warn"), "{logs}");
    assert!(logs.contains("aws_smithy_runtime::client::orchestrator warn"));
}

#[test]
fn the_level_and_format_come_from_lambdas_logging_controls_first() {
    let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "warn")]);
    assert_eq!(s.level, LevelFilter::DEBUG);
    assert_eq!(settings(&[("RUST_LOG", "warn")]).level, LevelFilter::WARN);
    assert_eq!(
        settings(&[("RUST_LOG", "shared=debug")]).level,
        LevelFilter::INFO,
        "directives are not a level"
    );
    assert_eq!(settings(&[]).level, LevelFilter::INFO);
    assert_eq!(
        settings(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).level,
        LevelFilter::ERROR
    );
    assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]).json);
    assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);

    let logs = logged(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")], || {
        tracing::info!(target: "shared::x", user_id = "u-1", "reset code issued");
    });
    let line: serde_json::Value = serde_json::from_str(logs.trim()).expect("one JSON line");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["message"], "reset code issued");
    assert_eq!(line["fields"]["user_id"], "u-1");
    assert!(line.get("target").is_none() && line.get("timestamp").is_none());
}

#[test]
fn metric_lines_are_bare_emf_objects_at_every_level_and_never_log_lines() {
    let levels: [&[(&str, &str)]; 3] = [
        &[("AWS_LAMBDA_LOG_LEVEL", "ERROR")],
        &[("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON"), ("RUST_LOG", "trace")],
    ];
    for vars in levels {
        let text = logged(vars, || {
            crate::metrics::count("NS", crate::metrics::Metric::Issued, "request", "native", 5);
        });
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{vars:?}: {text}");
        let emf: serde_json::Value = serde_json::from_str(lines[0]).expect("a bare JSON line");
        assert_eq!(emf["CodesIssued"], 1, "{vars:?}: {text}");
        assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "NS");
    }
}
