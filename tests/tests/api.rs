//! The API contract at the HTTP edge, on the memory store with a fixed clock: the whole flow,
//! enumeration safety, the cap, expiry, revocation, every kind of bad input, server callers,
//! IP limits, the response-time floor and the races.

mod common;

use std::time::Duration;

use common::*;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;
use shared::password;
use shared::service::Operation::{Check, Consume, Request};

#[tokio::test]
async fn the_whole_flow_sets_the_password_and_spends_the_code() {
    let app = TestApp::new();
    let code = app.code_for_ada().await;

    let check = app.check(&code).await;
    assert_eq!(check.status, StatusCode::OK);
    assert_eq!(check.json["is_valid"], true);
    assert_eq!(check.json["expires_at"], "2026-11-23T01:00:00Z");

    let consumed = app.consume(&code, "a brand new passphrase").await;
    assert_eq!(
        (consumed.status, &consumed.json),
        (StatusCode::OK, &json!({"ok": true}))
    );
    let hash = app.ada_hash().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(password::verify("a brand new passphrase", &hash));
    assert!(!password::verify(ADA_OLD_PASSWORD, &hash));
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
    assert!(password::verify(
        "a brand new passphrase",
        &app.ada_hash().unwrap()
    ));
}

#[tokio::test]
async fn mail_goes_to_the_stored_address_with_a_link_on_the_callback() {
    let app = TestApp::new();
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
    let app = TestApp::new();
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
    let app = TestApp::new();
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
    let app = TestApp::with_env(&[
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
    let app = TestApp::new();
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
    let app = TestApp::new();
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
    assert!(password::verify(ADA_OLD_PASSWORD, &app.ada_hash().unwrap()));
    assert_eq!(app.consume(&code, "12345678").await.status, StatusCode::OK);
}

/// (operation, method, content-type, body, status, code, field that must be named, why)
type Case<'a> = (
    shared::service::Operation,
    Method,
    Option<&'a str>,
    String,
    u16,
    &'a str,
    Option<&'a str>,
    &'a str,
);

#[tokio::test]
async fn bad_input_gets_a_structured_4xx_and_changes_nothing() {
    let app = TestApp::new();
    let live = app.code_for_ada().await;
    let good_code = &live;
    let json_ct = "application/json";
    let big = format!(
        r#"{{"email":"ada@example.com","locale":"{}"}}"#,
        "a".repeat(17 * 1024)
    );
    let wrong_alphabet = format!("{}!", &live[..42]);
    // (operation, method, content-type, body, status, code, field that must be named)
    let cases: Vec<Case> = vec![
        (
            Request,
            Method::POST,
            Some(json_ct),
            "{\"email\":".into(),
            400,
            "MALFORMED_JSON",
            None,
            "malformed JSON",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            "[\"ada@example.com\"]".into(),
            400,
            "INVALID_BODY",
            None,
            "array body",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            "\"ada@example.com\"".into(),
            400,
            "INVALID_BODY",
            None,
            "string body",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            "{}".into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "missing email",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":42}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "email not a string",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","admin":true}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("admin"),
            "unknown field",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"not-an-email"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "invalid email",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","callback_url":"/reset"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("callback_url"),
            "relative callback",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","callback_url":"javascript:alert(1)"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("callback_url"),
            "javascript callback",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","callback_url":"http://app.example.com/reset"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("callback_url"),
            "http to a public host",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","callback_url":"https://evil.example.net/reset"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("callback_url"),
            "origin not allowed",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","locale":"<script>"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("locale"),
            "junk locale",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","callback_url":false}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("callback_url"),
            "callback wrong type",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            big,
            413,
            "PAYLOAD_TOO_LARGE",
            None,
            "body over 16 KiB",
        ),
        (
            Request,
            Method::POST,
            None,
            r#"{"email":"ada@example.com"}"#.into(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
            "no content-type",
        ),
        (
            Request,
            Method::POST,
            Some("text/plain"),
            r#"{"email":"ada@example.com"}"#.into(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
            "text/plain",
        ),
        (
            Request,
            Method::GET,
            Some(json_ct),
            r#"{"email":"ada@example.com"}"#.into(),
            405,
            "METHOD_NOT_ALLOWED",
            None,
            "GET",
        ),
        (
            Request,
            Method::PUT,
            Some(json_ct),
            r#"{"email":"ada@example.com"}"#.into(),
            405,
            "METHOD_NOT_ALLOWED",
            None,
            "PUT",
        ),
        (
            Check,
            Method::POST,
            Some(json_ct),
            "{}".into(),
            400,
            "VALIDATION_FAILED",
            Some("code"),
            "check without code",
        ),
        (
            Check,
            Method::POST,
            Some(json_ct),
            r#"{"code":123}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("code"),
            "numeric code",
        ),
        (
            Check,
            Method::POST,
            Some(json_ct),
            format!(r#"{{"code":"{good_code}","x":1}}"#),
            400,
            "VALIDATION_FAILED",
            Some("x"),
            "check unknown field",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(r#"{{"code":"{good_code}"}}"#),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "missing password",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(r#"{{"code":"{good_code}","password":"1234567"}}"#),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "7-char password",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(
                r#"{{"code":"{good_code}","password":"{}"}}"#,
                "p".repeat(129)
            ),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "129-char password",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(r#"{{"code":"{good_code}","password":"          "}}"#),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "whitespace password",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            r#"{"code":"short","password":"a fine passphrase"}"#.into(),
            400,
            "INVALID_CODE",
            None,
            "code of wrong length",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(r#"{{"code":"{wrong_alphabet}","password":"a fine passphrase"}}"#),
            400,
            "INVALID_CODE",
            None,
            "code of wrong alphabet",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            r#"{"password":"a fine passphrase"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("code"),
            "missing code",
        ),
    ];
    let before = app.snapshot();
    for (op, method, ct, body, status, code, field, why) in cases {
        let mut req = TestApp::request(&body);
        req.method = method;
        req.headers.remove("content-type");
        if let Some(ct) = ct {
            req.headers
                .insert("content-type", HeaderValue::from_str(ct).unwrap());
        }
        let r = app.send(op, req).await;
        assert_eq!(r.status.as_u16(), status, "{why}: {}", r.raw);
        assert_eq!(r.code(), code, "{why}");
        assert!(
            r.json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{why}: error sentence"
        );
        if let Some(field) = field {
            assert!(
                r.json["field_errors"][field].is_string(),
                "{why}: names {field}: {}",
                r.raw
            );
        }
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/json",
            "{why}"
        );
        assert!(!r.raw.contains(&live), "{why}: no code echoed");
        assert_eq!(app.snapshot(), before, "{why}: changed state");
    }
    // A malformed code answers check like any invalid code.
    for bad in ["short", &format!("{}!", &live[..42])] {
        assert_eq!(app.check(bad).await.json, json!({"is_valid": false}));
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn a_public_caller_may_not_use_server_only_fields() {
    let app = TestApp::new();
    let before = app.snapshot();
    for (field, value) in [
        ("user_id", json!(ADA_ID)),
        (
            "url_template",
            json!("https://app.example.com/r?c={{.Code}}"),
        ),
        ("return_code", json!(true)),
        ("send_email", json!(false)),
        ("max_concurrent_requests", json!(1)),
    ] {
        let mut body = json!({"email": ADA});
        body[field] = value;
        let r = app.post(Request, &body.to_string()).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{field}"
        );
        assert!(
            r.json["field_errors"][field].is_string(),
            "{field}: {}",
            r.raw
        );
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn wrong_missing_or_short_server_keys_are_401() {
    let app = TestApp::new();
    for auth in [
        "Bearer wrong-key-wrong-key-wrong-key",
        "Bearer ",
        "Bearer x",
        "Basic abc",
        SERVER_KEY,
        "bearer test-server-key-0123456789abcdef",
    ] {
        let mut req = TestApp::request(r#"{"email":"ada@example.com"}"#);
        req.headers
            .insert("authorization", HeaderValue::from_str(auth).unwrap());
        let r = app.send(Request, req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{auth}"
        );
    }
    let unconfigured = TestApp::with_env(&[("SERVER_KEY_SHA256", "")]);
    let mut req = TestApp::request(r#"{"email":"ada@example.com"}"#);
    req.headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {SERVER_KEY}")).unwrap(),
    );
    assert_eq!(
        unconfigured.send(Request, req).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(app.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_server_caller_can_get_the_code_back_without_any_mail() {
    let app = TestApp::new();
    let r = app
        .post_as_server(
            Request,
            &json!({"user_id": ADA_ID, "return_code": true, "send_email": false}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.json["user_id"], ADA_ID);
    assert_eq!(r.json["expires_at"], "2026-11-23T01:00:00Z");
    let code = r.json["code"].as_str().unwrap().to_owned();
    assert!(app.mailer.sent().is_empty());
    assert_eq!(app.check(&code).await.json["is_valid"], true);
    assert_eq!(
        app.consume(&code, "set by the app").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_server_caller_can_template_the_link_and_lower_the_cap() {
    let app = TestApp::new();
    let body = json!({"email": ADA, "url_template": "https://app.example.com/u/{{.UserID}}/reset?c={{.Code}}", "max_concurrent_requests": 1});
    assert_eq!(
        app.post_as_server(Request, &body.to_string()).await.status,
        StatusCode::OK
    );
    let link = app.mailer.sent()[0].link.clone().unwrap();
    assert!(
        link.starts_with("https://app.example.com/u/user-ada/reset?c="),
        "{}",
        link.len()
    );
    assert_eq!(
        app.post_as_server(Request, &body.to_string()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let bad = json!({"email": ADA, "url_template": "https://evil.example.net/?c={{.Code}}"});
    let r = app.post_as_server(Request, &bad.to_string()).await;
    assert!(
        r.json["field_errors"]["url_template"].is_string(),
        "{}",
        r.raw
    );
}

#[tokio::test]
async fn a_server_caller_learns_that_a_user_does_not_exist() {
    let app = TestApp::new();
    for body in [
        json!({"user_id": "user-nobody"}),
        json!({"email": "nobody@example.com"}),
    ] {
        let r = app.post_as_server(Request, &body.to_string()).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    }
}

#[tokio::test]
async fn the_ip_limit_answers_429_and_forged_forwarding_headers_change_nothing() {
    let app = TestApp::with_env(&[("RATE_LIMIT_CHECK", "3/600")]);
    let attacker: std::net::IpAddr = "198.51.100.9".parse().unwrap();
    for i in 0..3 {
        let mut req = TestApp::request(r#"{"code":"x"}"#);
        req.client_ip = Some(attacker);
        req.headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(&format!("10.0.0.{i}")).unwrap(),
        );
        assert_eq!(app.send(Check, req).await.status, StatusCode::OK);
    }
    let mut req = TestApp::request(r#"{"code":"x"}"#);
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
async fn public_requests_answer_no_sooner_than_the_floor_and_server_calls_do_not_wait() {
    let app = TestApp::with_env(&[("MIN_REQUEST_RESPONSE_MS", "400")]);
    app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    assert_eq!(app.clock.slept(), Duration::from_millis(400));
    app.post(Request, r#"{"email":"ada@example.com"}"#).await;
    assert_eq!(app.clock.slept(), Duration::from_millis(800));
    app.post_as_server(Request, r#"{"email":"ada@example.com"}"#)
        .await;
    assert_eq!(app.clock.slept(), Duration::from_millis(800));
}

#[tokio::test]
async fn a_failed_delivery_releases_the_slot_and_still_answers_the_public_opaquely() {
    let app = TestApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "1")]);
    app.mailer.fail_with(Some("MessageRejected"));
    let public = app.post(Request, r#"{"email":"ada@example.com"}"#).await;
    let unknown = app.post(Request, r#"{"email":"nobody@example.com"}"#).await;
    assert_eq!((public.status, &public.raw), (unknown.status, &unknown.raw));
    assert!(app.store.all_tokens().is_empty());
    let server = app
        .post_as_server(Request, r#"{"email":"ada@example.com"}"#)
        .await;
    assert_eq!(
        (server.status, server.code()),
        (StatusCode::BAD_GATEWAY, "EMAIL_DELIVERY_FAILED")
    );
    app.mailer.fail_with(None);
    app.code_for_ada().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_for_one_email_issue_exactly_three_codes() {
    let app = std::sync::Arc::new(TestApp::new());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(Request, r#"{"email":"ada@example.com"}"#)
                    .await
                    .status
            })
        })
        .collect();
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, limited), (3, 47));
    assert_eq!(app.store.all_tokens().len(), 3);
    assert_eq!(app.mailer.sent().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_consumes_of_one_code_have_exactly_one_winner() {
    let app = std::sync::Arc::new(TestApp::new());
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
    assert!(password::verify(
        &format!("racer number {}", winners[0]),
        &hash
    ));
}

#[tokio::test]
async fn a_user_deleted_before_consume_leaves_nothing_half_applied() {
    let app = TestApp::new();
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
    let app = TestApp::new();
    let code = app.code_for_ada().await;
    assert_eq!(
        app.consume(&code, "a brand new passphrase").await.status,
        StatusCode::OK
    );
    let notice = app.mailer.sent().pop().unwrap();
    assert_eq!(notice.to.as_str(), ADA_STORED);
    assert_eq!(notice.subject, "Your Example App password was changed");
    assert!(notice.link.is_none());

    let quiet = TestApp::with_env(&[("NOTIFY_PASSWORD_CHANGED", "false")]);
    let code = quiet.code_for_ada().await;
    assert_eq!(
        quiet.consume(&code, "a brand new passphrase").await.status,
        StatusCode::OK
    );
    assert_eq!(quiet.mailer.sent().len(), 1, "only the reset mail");

    let failing = TestApp::new();
    let code = failing.code_for_ada().await;
    failing.mailer.fail_with(Some("MessageRejected"));
    assert_eq!(
        failing
            .consume(&code, "a brand new passphrase")
            .await
            .status,
        StatusCode::OK
    );
    assert!(password::verify(
        "a brand new passphrase",
        &failing.ada_hash().unwrap()
    ));
    assert_eq!(failing.check(&code).await.json, json!({"is_valid": false}));
}
