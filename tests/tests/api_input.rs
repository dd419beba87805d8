//! Bad input at the HTTP edge, on the memory store with a fixed clock: the table of bad
//! requests (one case a line), bounded error bodies, bad server input, bodies that are not
//! base64 and server-only fields from a public caller; each gets a structured 4xx and changes
//! nothing.

use http::{HeaderValue, Method, StatusCode};
use integration_tests::edge::*;
use serde_json::json;
use shared::service::Operation::{Check, Consume, Request};

/// One bad input and the answer it must get.
struct Bad {
    /// The operation it is sent to.
    op: shared::service::Operation,
    /// What is wrong with it (every assertion message starts with this).
    why: &'static str,
    /// The request body.
    body: String,
    /// The method: POST unless [`Bad::sent_as`] says otherwise.
    method: Method,
    /// The content-type: `application/json` unless [`Bad::sent_as`] says otherwise.
    content_type: Option<&'static str>,
    /// The status of the answer.
    status: u16,
    /// The `code` of the answer.
    code: &'static str,
    /// The field `field_errors` must name, if any.
    field: Option<&'static str>,
}

impl Bad {
    /// A JSON POST answered 400 `VALIDATION_FAILED` naming `field`.
    fn field(
        op: shared::service::Operation,
        field: &'static str,
        why: &'static str,
        body: impl Into<String>,
    ) -> Self {
        Self::answer(op, 400, "VALIDATION_FAILED", why, body).naming(field)
    }

    /// A JSON POST answered `status` and `code`, naming no field.
    fn answer(
        op: shared::service::Operation,
        status: u16,
        code: &'static str,
        why: &'static str,
        body: impl Into<String>,
    ) -> Self {
        Self {
            op,
            why,
            body: body.into(),
            method: Method::POST,
            content_type: Some("application/json"),
            status,
            code,
            field: None,
        }
    }

    /// The answer names `field` in `field_errors`.
    fn naming(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Sent with another method or content-type (`None`: no content-type header).
    fn sent_as(mut self, method: Method, content_type: Option<&'static str>) -> Self {
        self.method = method;
        self.content_type = content_type;
        self
    }
}

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
    // One case a line: operation, [field named,] why, body; then the answer if not 400
    // VALIDATION_FAILED naming the field, and the method and content-type if not a JSON POST.
    #[rustfmt::skip]
    let cases = [
        Bad::answer(Request, 400, "MALFORMED_JSON", "malformed JSON", "{\"email\":"),
        Bad::answer(Request, 400, "INVALID_BODY", "array body", "[\"ada@example.com\"]"),
        Bad::answer(Request, 400, "INVALID_BODY", "string body", "\"ada@example.com\""),
        Bad::field(Request, "email", "missing email", "{}"),
        Bad::field(Request, "email", "email not a string", r#"{"email":42}"#),
        Bad::field(Request, "admin", "unknown field", r#"{"email":"ada@example.com","admin":true}"#),
        Bad::field(Request, "email", "invalid email", r#"{"email":"not-an-email"}"#),
        Bad::field(Request, "callback_url", "relative callback", r#"{"email":"ada@example.com","callback_url":"/reset"}"#),
        Bad::field(Request, "callback_url", "javascript callback", r#"{"email":"ada@example.com","callback_url":"javascript:alert(1)"}"#),
        Bad::field(Request, "callback_url", "http to a public host", r#"{"email":"ada@example.com","callback_url":"http://app.example.com/reset"}"#),
        Bad::field(Request, "callback_url", "origin not allowed", r#"{"email":"ada@example.com","callback_url":"https://evil.example.net/reset"}"#),
        Bad::field(Request, "locale", "junk locale", r#"{"email":"ada@example.com","locale":"<script>"}"#),
        Bad::field(Request, "callback_url", "callback wrong type", r#"{"email":"ada@example.com","callback_url":false}"#),
        Bad::answer(Request, 413, "PAYLOAD_TOO_LARGE", "body over 16 KiB", big),
        Bad::answer(Request, 415, "UNSUPPORTED_MEDIA_TYPE", "no content-type", r#"{"email":"ada@example.com"}"#).sent_as(Method::POST, None),
        Bad::answer(Request, 415, "UNSUPPORTED_MEDIA_TYPE", "text/plain", r#"{"email":"ada@example.com"}"#).sent_as(Method::POST, Some("text/plain")),
        Bad::answer(Request, 405, "METHOD_NOT_ALLOWED", "GET", r#"{"email":"ada@example.com"}"#).sent_as(Method::GET, Some(json_ct)),
        Bad::answer(Request, 405, "METHOD_NOT_ALLOWED", "PUT", r#"{"email":"ada@example.com"}"#).sent_as(Method::PUT, Some(json_ct)),
        Bad::field(Check, "code", "check without code", "{}"),
        Bad::field(Check, "code", "numeric code", r#"{"code":123}"#),
        Bad::field(Check, "x", "check unknown field", format!(r#"{{"code":"{good_code}","x":1}}"#)),
        Bad::field(Consume, "password", "missing password", format!(r#"{{"code":"{good_code}"}}"#)),
        Bad::field(Consume, "password", "7-char password", format!(r#"{{"code":"{good_code}","password":"1234567"}}"#)),
        Bad::field(Consume, "password", "129-char password", format!(r#"{{"code":"{good_code}","password":"{}"}}"#, "p".repeat(129))),
        Bad::field(Consume, "password", "whitespace password", format!(r#"{{"code":"{good_code}","password":"          "}}"#)),
        Bad::answer(Consume, 400, "INVALID_CODE", "code of wrong length", r#"{"code":"short","password":"a fine passphrase"}"#),
        Bad::answer(Consume, 400, "INVALID_CODE", "code of wrong alphabet", format!(r#"{{"code":"{wrong_alphabet}","password":"a fine passphrase"}}"#)),
        Bad::field(Consume, "code", "missing code", r#"{"password":"a fine passphrase"}"#),
        Bad::field(Request, "email", "email given twice (parsers disagree on which wins)", r#"{"email":"eve@example.com","email":"ada@example.com"}"#),
        Bad::field(Request, "locale", "a key repeated inside a field", r#"{"email":"ada@example.com","locale":{"a":1,"a":2}}"#),
        Bad::field(Consume, "password", "password given twice", format!(r#"{{"code":"{good_code}","password":"a fine passphrase","password":"another one"}}"#)),
        Bad::field(Request, "email", "CR LF in email", r#"{"email":"ada@example.com\r\nBcc: eve@example.com"}"#),
        Bad::field(Request, "email", "trailing newline in email", r#"{"email":"ada@example.com\n"}"#),
        Bad::field(Request, "email", "NUL in email", r#"{"email":"\u0000ada@example.com"}"#),
        Bad::field(Consume, "password", "password of 8 NULs", format!(r#"{{"code":"{good_code}","password":"{}"}}"#, "\\u0000".repeat(8))),
        Bad::field(Consume, "password", "password of zero-width characters", format!(r#"{{"code":"{good_code}","password":"{}"}}"#, "\\u200b\\u200d\\ufeff\\u2060".repeat(3))),
        Bad::field(Consume, "password", "password of control and format characters", format!(r#"{{"code":"{good_code}","password":"{}"}}"#, "\\u0001\\u001b\\u007f\\u00ad\\u202e".repeat(2))),
    ];
    let before = app.snapshot();
    for Bad {
        op,
        why,
        body,
        method,
        content_type,
        status,
        code,
        field,
    } in cases
    {
        let mut req = EdgeApp::request(&body);
        req.method = method;
        req.headers.remove("content-type");
        if let Some(ct) = content_type {
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
