//! The API contract at the HTTP edge, on the memory store with a fixed clock: the whole flow,
//! enumeration safety, the cap, expiry, revocation, IP limits, failed deliveries, the
//! changed-password notice and the races. Bad input is in `api_input.rs`, server callers in
//! `api_server.rs`.

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use integration_tests::edge::*;
use serde_json::json;
use shared::hashing;
use shared::service::Operation::{Check, Request};

#[tokio::test]
async fn the_whole_flow_sets_the_password_and_spends_the_code() {
    let app = EdgeApp::new();
    let code = app.code_for_ada().await;

    let check = app.check(&code).await;
    assert_eq!(check.status, StatusCode::OK);
    assert_eq!(check.json["is_valid"], true);
    assert_eq!(check.json["expires_at"], "2027-01-15T09:00:00Z");

    let consumed = app.consume(&code, "a brand new passphrase").await;
    assert_eq!(
        (consumed.status, &consumed.json),
        (StatusCode::OK, &json!({"ok": true}))
    );
    let hash = app.ada_hash().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(hashing::verify("a brand new passphrase", &hash));
    assert!(!hashing::verify(ADA_OLD_PASSWORD, &hash));
    assert_eq!(
        app.store
            .password_changed_at(&shared::domain::UserId::parse(ADA_ID).unwrap()),
        Some(T0)
    );

    assert_eq!(app.check(&code).await.json, json!({"is_valid": false}));
    let again = app.consume(&code, "another new passphrase").await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::BAD_REQUEST, "INVALID_CODE")
    );
    assert!(hashing::verify(
        "a brand new passphrase",
        &app.ada_hash().unwrap()
    ));
}

#[tokio::test]
async fn mail_goes_to_the_stored_address_with_a_link_on_the_callback() {
    let app = EdgeApp::new();
    let body = json!({"email": "  ADA@example.COM ", "callback_url": "https://app.example.com/reset?lang=de&code=old"});
    assert_eq!(
        app.post(Request, &body.to_string()).await.status,
        StatusCode::OK
    );
    let mail = app.mailer.sent().pop().unwrap();
    assert_eq!(mail.to.as_str(), ADA_STORED);
    let link = url::Url::parse(mail.link.as_deref().unwrap()).unwrap();
    assert_eq!(
        link.origin().ascii_serialization(),
        "https://app.example.com"
    );
    assert_eq!(link.path(), "/reset");
    let pairs: Vec<_> = link.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(pairs, ["lang", "code"]);
    assert!(mail.text.contains(mail.link.as_deref().unwrap()));
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_status_headers_and_body_and_no_mail() {
    let app = EdgeApp::new();
    let known = app.post(Request, r#"{"email":"ada@example.com"}"#).await;
    let unknown = app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.headers, unknown.headers);
    assert_eq!(known.raw, unknown.raw);
    assert_eq!(app.mailer.sent().len(), 1);
    // The table never holds the unknown address, only keyed hashes.
    let slots = app.store.all_slots();
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().all(|(k, _)| !k.as_str().contains("nobody")));
}

#[tokio::test]
async fn the_cap_answers_429_identically_for_known_and_unknown_addresses() {
    let app = EdgeApp::new();
    for minute in 0..3 {
        assert_eq!(
            app.post(Request, r#"{"email":"ada@example.com"}"#)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            app.post(Request, r#"{"email":"nobody@example.com"}"#)
                .await
                .status,
            StatusCode::OK
        );
        if minute < 2 {
            app.clock.advance(Duration::from_secs(60));
        }
    }
    let known = app.post(Request, r#"{"email":"ada@example.com"}"#).await;
    let unknown = app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    assert_eq!(known.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(known.code(), "TOO_MANY_REQUESTS");
    // The first slot was taken 120 s ago and lives 3600 s.
    assert_eq!(known.json["retry_after"], 3480);
    assert_eq!(known.headers.get("retry-after").unwrap(), "3480");
    assert_eq!(
        (known.status, &known.headers, &known.raw),
        (unknown.status, &unknown.headers, &unknown.raw)
    );
    assert_eq!(app.mailer.sent().len(), 3);
}

#[tokio::test]
async fn expired_codes_are_invalid_and_their_slots_are_free_again() {
    let app = EdgeApp::with_env(&[
        ("MAX_CONCURRENT_REQUESTS", "1"),
        ("TOKEN_TTL_SECONDS", "600"),
    ]);
    let code = app.code_for_ada().await;
    assert_eq!(
        app.post(Request, r#"{"email":"ada@example.com"}"#)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::from_secs(600));
    assert_eq!(app.check(&code).await.json, json!({"is_valid": false}));
    let consumed = app.consume(&code, "a brand new passphrase").await;
    assert_eq!(consumed.code(), "INVALID_CODE");
    app.clock.advance(Duration::from_secs(1));
    let fresh = app.code_for_ada().await;
    assert_eq!(app.check(&fresh).await.json["is_valid"], true);
}

#[tokio::test]
async fn consuming_one_code_revokes_the_users_other_codes_and_frees_the_cap() {
    let app = EdgeApp::new();
    let first = app.code_for_ada().await;
    let second = app.code_for_ada().await;
    let third = app.code_for_ada().await;
    assert_eq!(
        app.consume(&second, "a brand new passphrase").await.status,
        StatusCode::OK
    );
    for code in [&first, &third] {
        assert_eq!(app.check(code).await.json, json!({"is_valid": false}));
    }
    assert!(app.store.all_tokens().is_empty());
    assert!(app.store.all_slots().is_empty());
    app.code_for_ada().await;
}

#[tokio::test]
async fn a_refused_password_leaves_the_code_valid() {
    let app = EdgeApp::new();
    let code = app.code_for_ada().await;
    for weak in ["1234567", "        ", &"x".repeat(129)] {
        let r = app.consume(&code, weak).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
        );
        assert!(r.json["field_errors"]["password"].is_string());
        assert_eq!(r.json["issues"][0]["path"], "password");
    }
    assert_eq!(app.check(&code).await.json["is_valid"], true);
    assert!(hashing::verify(ADA_OLD_PASSWORD, &app.ada_hash().unwrap()));
    assert_eq!(app.consume(&code, "12345678").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_ip_limit_answers_429_and_forged_forwarding_headers_change_nothing() {
    let app = EdgeApp::with_env(&[("RATE_LIMIT_CHECK", "3/600")]);
    let attacker: std::net::IpAddr = "198.51.100.9".parse().unwrap();
    for i in 0..3 {
        let mut req = EdgeApp::request(r#"{"code":"x"}"#);
        req.client_ip = Some(attacker);
        req.headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(&format!("10.0.0.{i}")).unwrap(),
        );
        assert_eq!(app.send(Check, req).await.status, StatusCode::OK);
    }
    let mut req = EdgeApp::request(r#"{"code":"x"}"#);
    req.client_ip = Some(attacker);
    req.headers
        .insert("x-forwarded-for", HeaderValue::from_static("192.0.2.1"));
    let limited = app.send(Check, req).await;
    assert_eq!(
        (limited.status, limited.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")
    );
    assert_eq!(limited.headers.get("retry-after").unwrap(), "600");
    assert_eq!(limited.json["retry_after"], 600);
    // Another client is unaffected; the window ends and the attacker may try again.
    assert_eq!(
        app.post_from(Check, r#"{"code":"x"}"#, "198.51.100.10".parse().unwrap())
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(600));
    assert_eq!(
        app.post_from(Check, r#"{"code":"x"}"#, attacker)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_failed_delivery_keeps_a_public_slot_like_an_unknown_address_and_frees_a_server_one() {
    let app = EdgeApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "1")]);
    app.mailer.fail_with(Some("MessageRejected"));
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..2 {
        let k = app.post(Request, r#"{"email":"ada@example.com"}"#).await;
        let u = app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
        known.push((k.status, format!("{:?}", k.headers), k.raw));
        unknown.push((u.status, format!("{:?}", u.headers), u.raw));
    }
    assert_eq!(
        known, unknown,
        "the cap looks the same whatever the mailer does"
    );
    assert_eq!(known[1].0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.store.all_tokens().len(),
        1,
        "the unsent code keeps its slot"
    );

    // A server caller may learn the account exists: 502, and its slot back.
    let app = EdgeApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "1")]);
    app.mailer.fail_with(Some("MessageRejected"));
    let server = app
        .post_as_server(Request, r#"{"email":"ada@example.com"}"#)
        .await;
    assert_eq!(
        (server.status, server.code()),
        (StatusCode::BAD_GATEWAY, "EMAIL_DELIVERY_FAILED")
    );
    assert!(app.store.all_tokens().is_empty());
    assert!(app.store.all_slots().is_empty());
    app.mailer.fail_with(None);
    app.code_for_ada().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_consumes_of_one_code_have_exactly_one_winner() {
    let app = std::sync::Arc::new(EdgeApp::new());
    let code = app.code_for_ada().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, code) = (app.clone(), code.clone());
            tokio::spawn(async move { (i, app.consume(&code, &format!("racer number {i}")).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r.status {
            StatusCode::OK => winners.push(i),
            StatusCode::BAD_REQUEST => assert_eq!(r.code(), "INVALID_CODE"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let hash = app.ada_hash().unwrap();
    assert!(hashing::verify(
        &format!("racer number {}", winners[0]),
        &hash
    ));
}

#[tokio::test]
async fn a_user_deleted_before_consume_leaves_nothing_half_applied() {
    let app = EdgeApp::new();
    let code = app.code_for_ada().await;
    let tokens = app.store.all_tokens();
    app.store
        .delete_user(&shared::domain::UserId::parse(ADA_ID).unwrap());
    let r = app.consume(&code, "a brand new passphrase").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "INVALID_CODE")
    );
    assert_eq!(app.store.all_tokens(), tokens);
    assert_eq!(app.store.all_slots().len(), 1);
}

#[tokio::test]
async fn consume_sends_the_changed_notice_unless_turned_off_and_its_failure_changes_nothing() {
    let app = EdgeApp::new();
    let code = app.code_for_ada().await;
    assert_eq!(
        app.consume(&code, "a brand new passphrase").await.status,
        StatusCode::OK
    );
    let notice = app.mailer.sent().pop().unwrap();
    assert_eq!(notice.to.as_str(), ADA_STORED);
    assert_eq!(notice.subject, "Your Example App password was changed");
    assert!(notice.link.is_none());

    let quiet = EdgeApp::with_env(&[("NOTIFY_PASSWORD_CHANGED", "false")]);
    let code = quiet.code_for_ada().await;
    assert_eq!(
        quiet.consume(&code, "a brand new passphrase").await.status,
        StatusCode::OK
    );
    assert_eq!(quiet.mailer.sent().len(), 1, "only the reset mail");

    let failing = EdgeApp::new();
    let code = failing.code_for_ada().await;
    failing.mailer.fail_with(Some("MessageRejected"));
    assert_eq!(
        failing
            .consume(&code, "a brand new passphrase")
            .await
            .status,
        StatusCode::OK
    );
    assert!(hashing::verify(
        "a brand new passphrase",
        &failing.ada_hash().unwrap()
    ));
    assert_eq!(failing.check(&code).await.json, json!({"is_valid": false}));
}
