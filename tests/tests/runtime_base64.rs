//! A body marked `isBase64Encoded` that is not base64 is a 400 from the real function binary
//! under the real `lambda_runtime` loop, and the process goes on serving. `lambda_http`'s own
//! conversion decodes such bodies with an `expect`: a panic, which release builds
//! (`panic = "abort"`) turn into the death of the sandbox.
//!
//! Nothing here reaches a store: the function's init priming fails fast against a closed port,
//! and every event is refused before any read.

use std::time::Duration;

use integration_tests::app::{ALLOWED_ORIGIN, CALLBACK, TOKEN_KEY};
use integration_tests::runtime_api::{Answer, Function, RuntimeApi, function_binary, lambda_env};
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(60);

fn event(body: &str, base64: bool, content_type: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"]["content-type"] = content_type.into();
    event["body"] = body.into();
    event["isBase64Encoded"] = base64.into();
    event
}

#[tokio::test]
async fn a_garbage_base64_body_is_a_400_and_the_function_keeps_serving() {
    let binary = function_binary("check");
    let api = RuntimeApi::start().await;
    // A closed port as the endpoint: init's priming calls fail at once.
    let mut env = lambda_env("check", &api.address(), "http://127.0.0.1:9");
    env.extend([
        ("TOKEN_HMAC_KEY", TOKEN_KEY.into()),
        ("ALLOWED_CALLBACK_ORIGINS", ALLOWED_ORIGIN.into()),
        ("DEFAULT_CALLBACK_URL", CALLBACK.into()),
        ("RESET_TABLE_NAME", "unused-reset".into()),
        ("USERS_TABLE_NAME", "unused-users".into()),
        ("MAIL_FROM", "reset@example.com".into()),
        ("MIN_REQUEST_RESPONSE_MS", "0".into()),
    ]);
    let function = Function::start(&binary, &env);

    let good_json = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        json!({"code": "x"}).to_string(),
    );
    // (event, status, code): the garbage twice, then an event that proves the process lives.
    let cases = [
        (
            event("%%% not base64 %%%", true, "application/json"),
            400,
            "MALFORMED_JSON",
        ),
        (
            event("e30", true, "application/json"),
            400,
            "MALFORMED_JSON",
        ),
        (
            event(&good_json, true, "text/plain"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    let mut answers = Vec::new();
    for (event, status, code) in &cases {
        let answer = api.invoke(event, WITHIN).await;
        answers.push((answer, *status, *code));
    }
    let logs = function.stop();
    for (answer, status, code) in answers {
        let Some(Answer::Response(r)) = answer else {
            panic!(
                "wanted a {status} response, the function answered {answer:?}; init errors {:?}; logs:\n{logs}",
                api.init_errors()
            );
        };
        assert_eq!(r["statusCode"], status, "{r}");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }
    assert!(!logs.contains("panicked"), "{logs}");
}
