//! The API contract at the HTTP edge, on the memory store with a fixed clock: the whole flow,
//! enumeration safety, the cap, expiry, revocation, every kind of bad input, server callers,
//! IP limits, the response-time floor and the races.

use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use integration_tests::edge::*;
use serde_json::json;
use shared::password;
use shared::service::Operation::{Check, Consume, Request};

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
    let app = EdgeApp::new();
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
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"eve@example.com","email":"ada@example.com"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "email given twice (parsers disagree on which wins)",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com","locale":{"a":1,"a":2}}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("locale"),
            "a key repeated inside a field",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(
                r#"{{"code":"{good_code}","password":"a fine passphrase","password":"another one"}}"#
            ),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "password given twice",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com\r\nBcc: eve@example.com"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "CR LF in email",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"ada@example.com\n"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "trailing newline in email",
        ),
        (
            Request,
            Method::POST,
            Some(json_ct),
            r#"{"email":"\u0000ada@example.com"}"#.into(),
            400,
            "VALIDATION_FAILED",
            Some("email"),
            "NUL in email",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(
                r#"{{"code":"{good_code}","password":"{}"}}"#,
                "\\u0000".repeat(8)
            ),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "password of 8 NULs",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(
                r#"{{"code":"{good_code}","password":"{}"}}"#,
                "\\u200b\\u200d\\ufeff\\u2060".repeat(3)
            ),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "password of zero-width characters",
        ),
        (
            Consume,
            Method::POST,
            Some(json_ct),
            format!(
                r#"{{"code":"{good_code}","password":"{}"}}"#,
                "\\u0001\\u001b\\u007f\\u00ad\\u202e".repeat(2)
            ),
            400,
            "VALIDATION_FAILED",
            Some("password"),
            "password of control and format characters",
        ),
    ];
    let before = app.snapshot();
    for (op, method, ct, body, status, code, field, why) in cases {
        let mut req = EdgeApp::request(&body);
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
async fn an_unknown_field_error_stays_small_whatever_the_body_holds() {
    let app = EdgeApp::new();
    let before = app.snapshot();
    // ~16 KiB of short unknown names; then a few huge ones.
    let many: serde_json::Map<String, serde_json::Value> = (0..1400)
        .map(|i| (format!("f{i:05}"), json!(0)))
        .chain([("email".to_owned(), json!(ADA))])
        .collect();
    let long: serde_json::Map<String, serde_json::Value> = (0..3)
        .map(|i| (format!("{i}{}", "x".repeat(5000)), json!(0)))
        .collect();
    for (body, why) in [
        (serde_json::Value::Object(many).to_string(), "1400 names"),
        (
            serde_json::Value::Object(long).to_string(),
            "3 names of 5000",
        ),
    ] {
        assert!(
            body.len() <= shared::http::MAX_BODY_BYTES,
            "{why}: fits the limit"
        );
        let r = app.post(Request, &body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "VALIDATION_FAILED"),
            "{why}"
        );
        assert!(
            r.raw.len() <= shared::http::MAX_ERROR_BODY_BYTES,
            "{why}: {} bytes answered to {} sent",
            r.raw.len(),
            body.len()
        );
        let named = r.json["field_errors"].as_object().expect("field_errors");
        assert!(!named.is_empty(), "{why}: still names some");
        assert!(
            named.len() <= shared::http::MAX_LISTED_UNKNOWN_FIELDS,
            "{why}"
        );
        assert!(named.keys().all(|k| k.chars().count() <= 64), "{why}");
        assert_eq!(
            r.json["issues"].as_array().unwrap().len(),
            named.len(),
            "{why}"
        );
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn bad_server_input_gets_a_structured_400_and_changes_nothing() {
    let app = EdgeApp::new();
    let before = app.snapshot();
    let cases = [
        (
            json!({"user_id": "user-ada\u{0}"}),
            "user_id",
            "NUL in user_id",
        ),
        (
            json!({"user_id": "user\nada"}),
            "user_id",
            "newline in user_id",
        ),
        (
            json!({"user_id": "\u{1b}[31muser-ada"}),
            "user_id",
            "escape in user_id",
        ),
        (
            json!({"user_id": "user-ada\u{85}"}),
            "user_id",
            "C1 control in user_id",
        ),
        (
            json!({"user_id": ADA_ID, "url_template": "https://app.example.com/r?c={{.Code}}&x=a b"}),
            "url_template",
            "space in url_template",
        ),
        (
            json!({"user_id": ADA_ID, "url_template": "https://app.example.com\\@evil.example.net/?c={{.Code}}"}),
            "url_template",
            "backslash in url_template",
        ),
        (
            json!({"user_id": ADA_ID, "url_template": "https://app.example.com/r\t?c={{.Code}}"}),
            "url_template",
            "tab in url_template",
        ),
    ];
    for (body, field, why) in cases {
        let r = app.post_as_server(Request, &body.to_string()).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, "VALIDATION_FAILED"),
            "{why}: {}",
            r.raw
        );
        assert!(r.json["error"].is_string(), "{why}");
        assert!(
            r.json["field_errors"][field].is_string(),
            "{why}: {}",
            r.raw
        );
        assert_eq!(app.snapshot(), before, "{why}: changed state");
    }
}

#[tokio::test]
async fn a_templated_link_is_mailed_re_serialised() {
    let app = EdgeApp::new();
    let body = json!({"user_id": ADA_ID, "url_template": "HTTPS://App.Example.com:443/a/../u/{{.UserID}}/reset?c={{.Code}}"});
    let r = app.post_as_server(Request, &body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let link = app.mailer.sent()[0].link.clone().unwrap();
    assert!(
        link.starts_with("https://app.example.com/u/user-ada/reset?c="),
        "the URL as parsed, not the raw template: {}",
        link.len()
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let app = EdgeApp::new();
        let mut req = EdgeApp::request(
            &json!({"user_id": ADA_ID, "return_code": true, "send_email": false}).to_string(),
        );
        req.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("{scheme} {SERVER_KEY}")).unwrap(),
        );
        let r = app.send(Request, req).await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.raw);
        assert!(r.json["code"].is_string(), "{scheme}: a server caller");
    }
}

#[tokio::test]
async fn an_event_body_that_is_not_base64_answers_a_structured_400_and_changes_nothing() {
    let app = EdgeApp::new();
    let before = app.snapshot();
    let good = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        json!({"email": ADA}).to_string(),
    );
    let event = |body: &str| {
        json!({
            "version": "2.0",
            "routeKey": "POST /password-reset/request",
            "rawPath": "/password-reset/request",
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.example.com",
                "requestId": "id",
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 0,
                "http": {"method": "POST", "path": "/password-reset/request", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.7", "userAgent": "test"}
            },
            "body": body,
            "isBase64Encoded": true
        })
    };
    for garbage in ["%%% not base64 %%%", "eyJlbWFpbCI6", "=", "e30"] {
        let event = serde_json::from_value(event(garbage)).expect("a v2 event");
        let r = shared::http::lambda::handle_v2_event(&app.service, Request, event).await;
        assert_eq!(r.status_code, 400, "{garbage}");
        let Some(lambda_http::Body::Text(text)) = r.body else {
            panic!("{garbage}: a text body");
        };
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "MALFORMED_JSON", "{garbage}: {text}");
        assert!(body["error"].is_string(), "{garbage}");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(app.snapshot(), before, "{garbage}: changed state");
    }
    // The same path decodes a good body.
    let event = serde_json::from_value(event(&good)).unwrap();
    let r = shared::http::lambda::handle_v2_event(&app.service, Request, event).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_public_caller_may_not_use_server_only_fields() {
    let app = EdgeApp::new();
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
    let app = EdgeApp::new();
    for auth in [
        "Bearer wrong-key-wrong-key-wrong-key",
        "Bearer ",
        "Bearer x",
        "Basic abc",
        SERVER_KEY,
        format!("Bearer{SERVER_KEY}").as_str(),
    ] {
        let mut req = EdgeApp::request(r#"{"email":"ada@example.com"}"#);
        req.headers
            .insert("authorization", HeaderValue::from_str(auth).unwrap());
        let r = app.send(Request, req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{auth}"
        );
    }
    let unconfigured = EdgeApp::with_env(&[("SERVER_KEY_SHA256", "")]);
    let mut req = EdgeApp::request(r#"{"email":"ada@example.com"}"#);
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
    let app = EdgeApp::new();
    let r = app
        .post_as_server(
            Request,
            &json!({"user_id": ADA_ID, "return_code": true, "send_email": false}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.json["user_id"], ADA_ID);
    assert_eq!(r.json["expires_at"], "2027-01-15T09:00:00Z");
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
    let app = EdgeApp::new();
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
    let app = EdgeApp::new();
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
    assert!(password::verify(
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
    assert!(password::verify(
        "a brand new passphrase",
        &failing.ada_hash().unwrap()
    ));
    assert_eq!(failing.check(&code).await.json, json!({"is_valid": false}));
}
