//! No secret reaches a function's logs at TRACE, through the real `lambda_runtime` loop and the
//! real SDK: the `request` and `consume` binaries run as Lambda would run them (a Runtime API
//! stand-in on 127.0.0.1, `AWS_LAMBDA_LOG_LEVEL=TRACE`, `RUST_LOG` asking for the runtime's and
//! the SDK's TRACE lines), DynamoDB and SES on moto. A server caller asks for a reset (a mail
//! with the link goes through SES), then consume spends the mailed code with a new password
//! (argon2id hash written with UpdateItem). Every byte the two processes write to stdout and
//! stderr is searched for the code, the new password, the server key, the token key and the
//! PHC prefix `$argon2id$`.
//!
//! Without the cap of `shared::logging`, `lambda_runtime` logs each raw event ("raw JSON event
//! received from Lambda": the bearer key, the code, the password) and `aws_smithy_runtime`
//! each request ("transmitting request": the SES body with the link, the UpdateItem with the
//! hash).

use std::time::Duration;

use integration_tests::app::{ALLOWED_ORIGIN, Backend, CALLBACK, Dynamo, SERVER_KEY, TOKEN_KEY};
use integration_tests::moto;
use integration_tests::runtime_api::{Answer, Function, RuntimeApi, function_binary, lambda_env};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "runtime-logs brand new passphrase 7f3a";
const WITHIN: Duration = Duration::from_secs(60);

/// An API Gateway v2 event for `file` of tests/events with `body` (and a server key if asked).
fn event(file: &str, body: &Value, server: bool) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{file}")).unwrap()).unwrap();
    let body = body.to_string();
    event["headers"]["content-length"] = body.len().to_string().into();
    event["body"] = body.into();
    if server {
        event["headers"]["authorization"] = format!("Bearer {SERVER_KEY}").into();
    }
    event
}

/// The API Gateway v2 response a function posted: (status, JSON body).
fn response(answer: Option<Answer>, logs: impl FnOnce() -> String) -> (u64, Value) {
    match answer {
        Some(Answer::Response(r)) => {
            let status = r["statusCode"].as_u64().expect("a statusCode");
            let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap();
            (status, body)
        }
        other => panic!("the function answered {other:?}; its logs:\n{}", logs()),
    }
}

/// Runs request then consume through their binaries with `log_env`; returns every line both
/// wrote, and the secrets of the flow.
async fn flow(label: &str, log_env: &[(&str, &str)]) -> (String, Vec<String>) {
    let request_bin = function_binary("request");
    let consume_bin = function_binary("consume");

    let prefix = moto::unique_prefix(label);
    let sender = format!("reset.{prefix}@example.com");
    moto::verify_sender(&sender).await;
    let backend = Dynamo::start(label, &[("MAIL_FROM", &sender)]).await;
    let stored = format!("ada.{prefix}@example.com");
    backend.put_user("user-ada", &stored).await;

    let server_key_sha256 = integration_tests::app::server_key_sha256();
    let env = |function: &str, api: &RuntimeApi| {
        let mut env = lambda_env(function, &api.address(), &moto::endpoint());
        env.extend([
            ("TOKEN_HMAC_KEY", TOKEN_KEY.into()),
            ("SERVER_KEY_SHA256", server_key_sha256.clone()),
            ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN.into()),
            ("DEFAULT_CALLBACK_URL", CALLBACK.into()),
            ("RESET_TABLE_NAME", backend.reset_table().to_owned()),
            ("USERS_TABLE_NAME", backend.users_table().to_owned()),
            ("MAIL_FROM", sender.clone()),
            ("MIN_REQUEST_RESPONSE_MS", "0".into()),
        ]);
        env.extend(log_env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        env
    };

    // request, as a server caller: the code goes out in a mail through SES.
    let stop = |f: Option<Function>| f.map(Function::stop).unwrap_or_default();
    let api = RuntimeApi::start().await;
    let mut function = Some(Function::start(&request_bin, &env("request", &api)));
    let answer = api
        .invoke(
            &event("request-ok.json", &json!({"email": stored}), true),
            WITHIN,
        )
        .await;
    let (status, body) = response(answer, || stop(function.take()));
    assert_eq!(status, 200, "request answered {body}");
    assert!(api.init_errors().is_empty(), "{:?}", api.init_errors());
    assert!(api.unexpected_requests().is_empty());
    let mut logs = stop(function.take());
    drop(api);

    let mail = moto::mail_to(&stored).await;
    assert_eq!(mail.len(), 1, "one mail to {stored}");
    let code = integration_tests::app::code_in(&mail[0].link())
        .expose()
        .to_owned();

    // consume, with the mailed code and a new password: the hash goes out in an UpdateItem.
    let api = RuntimeApi::start().await;
    let mut function = Some(Function::start(&consume_bin, &env("consume", &api)));
    let answer = api
        .invoke(
            &event(
                "consume-invalid-code.json",
                &json!({"code": code, "password": NEW_PASSWORD}),
                false,
            ),
            WITHIN,
        )
        .await;
    let (status, body) = response(answer, || stop(function.take()));
    assert_eq!(status, 200, "consume answered {body}");
    assert_eq!(body, json!({"ok": true}));
    assert!(api.init_errors().is_empty(), "{:?}", api.init_errors());
    assert!(api.unexpected_requests().is_empty());
    logs.push_str(&stop(function.take()));

    let hash = backend
        .password_hash("user-ada")
        .await
        .expect("consume wrote a password hash");
    assert!(hash.starts_with("$argon2id$"), "an argon2id PHC string");

    let secrets = vec![
        code,
        NEW_PASSWORD.to_owned(),
        SERVER_KEY.to_owned(),
        TOKEN_KEY.to_owned(),
        "$argon2id$".to_owned(),
        hash,
    ];
    (logs, secrets)
}

fn assert_no_secret(logs: &str, secrets: &[String]) {
    let names = [
        "the code",
        "the new password",
        "the server key",
        "the token key",
        "the PHC prefix",
        "the hash",
    ];
    let mut report = String::new();
    for (secret, name) in secrets.iter().zip(names) {
        // As text, and as `Debug` of its bytes (`[36, 97, ...]`, how a `&[u8]` body prints).
        let as_bytes = secret.bytes().map(|b| b.to_string()).collect::<Vec<_>>();
        let as_bytes = as_bytes.join(", ");
        let leaks: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret.as_str()) || l.contains(&as_bytes))
            .collect();
        if let Some(first) = leaks.first() {
            let first: String = first.chars().take(400).collect();
            report.push_str(&format!(
                "{name} is in {} lines, the first: {first}\n",
                leaks.len()
            ));
        }
    }
    assert!(report.is_empty(), "secrets reached the logs:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_function_logs_at_trace_through_the_lambda_runtime() {
    let (logs, secrets) = flow(
        "runtime-logs-trace",
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("RUST_LOG", "trace"),
        ],
    )
    .await;
    // The logs were captured, at TRACE, as JSON.
    assert!(logs.contains("reset code issued"), "{logs}");
    assert!(logs.contains("password changed by reset"), "{logs}");
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<Value>(line).expect("JSON lines");
    }
    assert_no_secret(&logs, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_directives_for_the_runtime_and_the_sdk_do_not_lift_the_cap() {
    let (logs, secrets) = flow(
        "runtime-logs-directives",
        &[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            (
                "RUST_LOG",
                "shared=trace,aws_smithy_runtime=trace,lambda_runtime=trace,aws_sigv4=trace,hyper=trace,h2=trace",
            ),
            // The SDK's switch that makes aws_sigv4 print each request body it signs at TRACE
            // (the SES mail with the link, the UpdateItem with the hash): capped too.
            ("LOG_SIGNABLE_BODY", "true"),
        ],
    )
    .await;
    assert!(logs.contains("reset code issued"), "{logs}");
    assert_no_secret(&logs, &secrets);
}
