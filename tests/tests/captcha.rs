//! The CAPTCHA on public requests, through the real HTTP edge and the real siteverify client,
//! against a fake provider on 127.0.0.1 that records what it received: a missing token is a
//! 400 naming `captcha_token` and asks nobody; a refused one is a 400 and looks nothing up; an
//! accepted one lets the request through, answered alike for known and unknown addresses; an
//! unreachable or slow provider is a 503 with `Retry-After`; server callers are never asked.

use std::time::Instant;

use http::StatusCode;

use integration_tests::edge::{ADA, ADA_STORED, EdgeApp};
use integration_tests::fake_api::{FakeApi, Reply};
use shared::http::{CAPTCHA_REFUSED_MESSAGE, THIRD_PARTY_RETRY_AFTER_SECS};
use shared::service::Operation;
use shared::wiring::CAPTCHA_TIMEOUT;

const SECRET: &str = "captcha-test-secret";
const TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";

fn app_against(url: &str) -> EdgeApp {
    EdgeApp::with_env(&[
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SECRET", SECRET),
        ("CAPTCHA_VERIFY_URL", url),
    ])
}

fn accepted() -> Reply {
    Reply::Body(
        200,
        r#"{"success": true, "challenge_ts": "2026-12-04T22:00:00Z"}"#.to_owned(),
    )
}

fn refused() -> Reply {
    Reply::Body(
        200,
        r#"{"success": false, "error-codes": ["invalid-input-response"]}"#.to_owned(),
    )
}

fn body(email: &str, token: Option<&str>) -> String {
    match token {
        Some(t) => serde_json::json!({"email": email, "captcha_token": t}).to_string(),
        None => serde_json::json!({"email": email}).to_string(),
    }
}

#[tokio::test]
async fn a_public_request_without_a_captcha_token_is_refused_naming_it() {
    let provider = FakeApi::start(accepted()).await;
    let app = app_against(&format!("{}/siteverify", provider.url()));
    let before = app.snapshot();
    for token in [None, Some(""), Some("   ")] {
        let reply = app.post(Operation::Request, &body(ADA, token)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{token:?}: {}",
            reply.raw
        );
        assert_eq!(reply.code(), "VALIDATION_FAILED");
        assert!(
            reply.json["field_errors"]["captcha_token"].is_string(),
            "{}",
            reply.raw
        );
    }
    assert!(provider.received().is_empty(), "nobody was asked");
    assert!(app.mailer.sent().is_empty());
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn a_refused_captcha_is_a_400_and_nothing_is_looked_up_or_mailed() {
    let provider = FakeApi::start(refused()).await;
    let app = app_against(&format!("{}/siteverify", provider.url()));
    let before = app.snapshot();
    let reply = app.post(Operation::Request, &body(ADA, Some(TOKEN))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.raw);
    assert_eq!(reply.code(), "VALIDATION_FAILED");
    assert_eq!(
        reply.json["field_errors"]["captcha_token"],
        CAPTCHA_REFUSED_MESSAGE
    );
    assert!(app.mailer.sent().is_empty());
    assert_eq!(app.snapshot(), before, "no slot taken, no window counted");

    let received = provider.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/siteverify")
    );
    assert_eq!(
        sent.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(sent.form("secret").as_deref(), Some(SECRET));
    assert_eq!(sent.form("response").as_deref(), Some(TOKEN));
    assert!(
        !sent.everything().contains(ADA_STORED),
        "the address is not sent"
    );
}

#[tokio::test]
async fn an_accepted_captcha_lets_the_request_through_alike_for_known_and_unknown_addresses() {
    let provider = FakeApi::start(accepted()).await;
    let app = app_against(&format!("{}/siteverify", provider.url()));
    let known = app.post(Operation::Request, &body(ADA, Some(TOKEN))).await;
    let unknown = app
        .post(Operation::Request, &body("nobody@example.com", Some(TOKEN)))
        .await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.raw);
    assert_eq!((known.status, &known.raw), (unknown.status, &unknown.raw));
    assert_eq!(
        app.mailer.sent().len(),
        1,
        "a mail for the real account only"
    );
    assert_eq!(provider.received().len(), 2, "each request verified once");
}

#[tokio::test]
async fn an_unreachable_or_slow_provider_is_a_503_with_retry_after() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = app_against(&format!("http://127.0.0.1:{port}/siteverify"));
    let slow_provider = FakeApi::start(Reply::Slow(CAPTCHA_TIMEOUT * 4, 200, String::new())).await;
    let slow = app_against(&format!("{}/siteverify", slow_provider.url()));
    for (app, what) in [(&closed, "unreachable"), (&slow, "slow")] {
        let started = Instant::now();
        let reply = app.post(Operation::Request, &body(ADA, Some(TOKEN))).await;
        let took = started.elapsed();
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {}",
            reply.raw
        );
        assert_eq!(
            reply.headers["retry-after"],
            THIRD_PARTY_RETRY_AFTER_SECS.to_string(),
            "{what}"
        );
        assert!(
            took < CAPTCHA_TIMEOUT * 3,
            "{what}: bounded by the timeout: {took:?}"
        );
        assert!(app.mailer.sent().is_empty(), "{what}");
    }
    assert_eq!(slow_provider.received().len(), 1);
}

#[tokio::test]
async fn server_callers_are_never_asked_for_a_captcha() {
    let provider = FakeApi::start(refused()).await;
    let app = app_against(&format!("{}/siteverify", provider.url()));
    let reply = app
        .post_as_server(Operation::Request, &body(ADA, None))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    let opaque = serde_json::json!({"email": ADA, "opaque": true}).to_string();
    let reply = app.post_as_server(Operation::Request, &opaque).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    assert!(provider.received().is_empty());
    assert_eq!(app.mailer.sent().len(), 2);
}

#[tokio::test]
async fn without_a_provider_the_token_is_optional_and_ignored() {
    let app = EdgeApp::new();
    let reply = app.post(Operation::Request, &body(ADA, Some(TOKEN))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    let reply = app.post(Operation::Request, &body(ADA, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
}
