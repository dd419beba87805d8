//! No secret reaches the logs: every line the service emits at TRACE level during full flows
//! (success, refusals, failures, server callers) is captured and searched for codes,
//! passwords, the token key and the server key. Its own test binary, because it installs a
//! global subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use http::{HeaderValue, StatusCode};
use serde_json::json;
use shared::service::Operation::{Check, Consume, Request};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_password_or_key_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = TestApp::new();
    let mut secrets = vec![
        "test-token-key-0123456789-abcdefghij".to_owned(),
        SERVER_KEY.to_owned(),
        ADA_OLD_PASSWORD.to_owned(),
    ];

    // Success path, with the notice mail.
    let code = app.code_for_ada().await;
    secrets.push(code.clone());
    app.check(&code).await;
    app.consume(&code, "weak").await;
    secrets.push("weak".to_owned());
    let new_password = "the new secret passphrase";
    secrets.push(new_password.to_owned());
    assert_eq!(
        app.consume(&code, new_password).await.status,
        StatusCode::OK
    );
    // Spent code, unknown email, cap.
    app.consume(&code, "another secret passphrase").await;
    secrets.push("another secret passphrase".to_owned());
    for _ in 0..4 {
        app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    }
    // Server caller with return_code, then a failing mailer (error logs).
    let r = app
        .post_as_server(
            Request,
            &json!({"email": ADA, "return_code": true}).to_string(),
        )
        .await;
    secrets.push(r.json["code"].as_str().unwrap().to_owned());
    app.mailer.fail_with(Some("MessageRejected"));
    let r = app
        .post_as_server(
            Request,
            &json!({"email": ADA, "return_code": true}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    app.post(Request, &json!({"email": ADA}).to_string()).await;
    // A wrong server key.
    let mut req = TestApp::request(r#"{"email":"ada@example.com"}"#);
    let wrong_key = "Bearer a-wrong-but-secret-server-key";
    req.headers
        .insert("authorization", HeaderValue::from_static(wrong_key));
    app.send(Request, req).await;
    secrets.push("a-wrong-but-secret-server-key".to_owned());
    app.post(
        Consume,
        &json!({"code": code, "password": new_password}).to_string(),
    )
    .await;
    app.post(Check, &json!({"code": code}).to_string()).await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("password changed by reset"),
        "logs were captured"
    );
    assert!(
        logs.contains("reset mail not sent"),
        "error paths were logged"
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !logs.contains(secret.as_str()),
            "secret #{i} appears in the logs"
        );
    }
    // Debug output of the configuration redacts the key too.
    let config = format!("{:?}", app.service.config());
    assert!(
        !config.contains("test-token-key"),
        "config Debug shows the token key"
    );
}
