//! What the Stack routes refuse and how: the same answer for known and unknown addresses, the
//! project and key headers before any lookup, schema and password errors, the cap and the IP
//! limit as Stack 429s, other methods, and the dialect switch.

use super::*;

#[tokio::test]
async fn send_reset_code_for_an_unknown_address_answers_the_same_status_headers_and_body() {
    let app = app();
    let known = post(
        &app,
        SEND_RESET_CODE_PATH,
        json!({"email": ADA, "callback_url": SEED_CALLBACK}),
    )
    .await;
    let unknown = post(
        &app,
        SEND_RESET_CODE_PATH,
        json!({"email": "nobody@example.com", "callback_url": SEED_CALLBACK}),
    )
    .await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.headers, unknown.headers);
    assert_eq!(known.raw, unknown.raw);
    assert_eq!(
        app.mailer.sent().len(),
        1,
        "only the known address got mail"
    );
}

/// What a case is, the project and key headers it sends, and the status and code it gets.
type HeaderCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn wrong_or_missing_project_or_key_headers_are_refused_before_any_lookup() {
    let app = app();
    let body = json!({"email": ADA, "callback_url": SEED_CALLBACK}).to_string();
    let cases: [HeaderCase; 5] = [
        (
            "no project",
            None,
            Some(KEY),
            StatusCode::BAD_REQUEST,
            "CURRENT_PROJECT_NOT_FOUND",
        ),
        (
            "another project",
            Some("other"),
            Some(KEY),
            StatusCode::BAD_REQUEST,
            "CURRENT_PROJECT_NOT_FOUND",
        ),
        (
            "no key",
            Some(PROJECT),
            None,
            StatusCode::UNAUTHORIZED,
            "CLIENT_AUTHENTICATION_REQUIRED",
        ),
        (
            "an empty key",
            Some(PROJECT),
            Some(" "),
            StatusCode::UNAUTHORIZED,
            "CLIENT_AUTHENTICATION_REQUIRED",
        ),
        (
            "a wrong key",
            Some(PROJECT),
            Some("pck_wrong"),
            StatusCode::UNAUTHORIZED,
            "INVALID_PUBLISHABLE_CLIENT_KEY",
        ),
    ];
    let before = app.snapshot();
    for path in [SEND_RESET_CODE_PATH, CHECK_CODE_PATH, RESET_PATH] {
        for (what, project, key, status, code) in cases {
            // Even a body that is not JSON: the headers are judged first.
            for body in [body.as_str(), "not json"] {
                let mut req = EdgeApp::request(body);
                if let Some(p) = project {
                    req.headers
                        .insert("x-stack-project-id", HeaderValue::from_str(p).unwrap());
                }
                if let Some(k) = key {
                    req.headers.insert(
                        "x-stack-publishable-client-key",
                        HeaderValue::from_str(k).unwrap(),
                    );
                }
                let r = app.send_path(path, req).await;
                assert_eq!(r.status, status, "{path}, {what}: {}", r.raw);
                assert_stack_error(&r, status, code);
            }
        }
    }
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
    assert!(app.events.events().is_empty(), "no event either");
}

#[tokio::test]
async fn every_configured_publishable_key_is_accepted() {
    let app = app();
    let mut req = stack_request(&json!({"code": "x"}));
    req.headers.insert(
        "x-stack-publishable-client-key",
        HeaderValue::from_static("pck_old"),
    );
    assert_eq!(
        app.send_path(CHECK_CODE_PATH, req).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_bodies_are_stack_schema_errors_and_change_nothing() {
    let app = app();
    let before = app.snapshot();
    let cases = [
        (SEND_RESET_CODE_PATH, json!({"email": ADA}), "callback_url"),
        (
            SEND_RESET_CODE_PATH,
            json!({"callback_url": SEED_CALLBACK}),
            "email",
        ),
        (
            SEND_RESET_CODE_PATH,
            json!({"email": ADA, "callback_url": "https://evil.example.net/reset"}),
            "callback_url",
        ),
        (
            SEND_RESET_CODE_PATH,
            json!({"email": "not an address", "callback_url": SEED_CALLBACK}),
            "email",
        ),
        (
            SEND_RESET_CODE_PATH,
            json!({"email": ADA, "callback_url": SEED_CALLBACK, "user_id": ADA_ID}),
            "user_id",
        ),
        (CHECK_CODE_PATH, json!({}), "code"),
        (RESET_PATH, json!({"code": "abc"}), "password"),
    ];
    for (path, body, field) in cases {
        let r = post(&app, path, body.clone()).await;
        assert_stack_error(&r, StatusCode::BAD_REQUEST, "SCHEMA_ERROR");
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .contains(&format!("body.{field} ")),
            "{path} {body}: {}",
            r.raw
        );
    }
    let r = app
        .send_path(CHECK_CODE_PATH, {
            let mut req = stack_request(&json!({}));
            req.body = "[1]".into();
            req
        })
        .await;
    assert_stack_error(&r, StatusCode::BAD_REQUEST, "BODY_PARSING_ERROR");
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn a_weak_password_is_named_in_stacks_codes_and_does_not_spend_the_code() {
    let app = app();
    let code = stack_code_for_ada(&app).await;
    let short = post(&app, RESET_PATH, json!({"code": code, "password": "short"})).await;
    assert_stack_error(&short, StatusCode::BAD_REQUEST, "PASSWORD_TOO_SHORT");
    let long = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": "x".repeat(129)}),
    )
    .await;
    assert_stack_error(&long, StatusCode::BAD_REQUEST, "PASSWORD_TOO_LONG");
    let blank = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": " ".repeat(12)}),
    )
    .await;
    assert_stack_error(
        &blank,
        StatusCode::BAD_REQUEST,
        "PASSWORD_REQUIREMENTS_NOT_MET",
    );
    // Built on the address: known only once the code's user is read (the use case's rule).
    let context = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": "ada@example.com1"}),
    )
    .await;
    assert_stack_error(
        &context,
        StatusCode::BAD_REQUEST,
        "PASSWORD_REQUIREMENTS_NOT_MET",
    );
    for r in [&short, &long, &blank, &context] {
        assert!(!r.raw.contains(&code), "no code in an error body");
    }
    assert_eq!(
        post(&app, CHECK_CODE_PATH, json!({"code": code}))
            .await
            .json["is_valid"],
        true
    );
}

#[tokio::test]
async fn the_cap_is_a_stack_429_with_retry_after_alike_for_known_and_unknown_addresses() {
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("MAX_CONCURRENT_REQUESTS", "1"),
    ]);
    let mut answers = Vec::new();
    for email in [ADA, "nobody@example.com"] {
        let body = json!({"email": email, "callback_url": SEED_CALLBACK});
        assert_eq!(
            post(&app, SEND_RESET_CODE_PATH, body.clone()).await.status,
            StatusCode::OK
        );
        let r = post(&app, SEND_RESET_CODE_PATH, body).await;
        assert_stack_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
        answers.push((r.headers.clone(), r.raw.clone()));
    }
    assert_eq!(answers[0].0["retry-after"], "3600");
    assert_eq!(
        answers[0], answers[1],
        "a 429 says nothing about the account"
    );
}

#[tokio::test]
async fn the_ip_limit_counts_the_stack_routes_as_the_native_ones() {
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("RATE_LIMIT_CHECK", "2/600"),
    ]);
    for _ in 0..2 {
        assert_eq!(
            post(&app, CHECK_CODE_PATH, json!({"code": "x"}))
                .await
                .status,
            StatusCode::OK
        );
    }
    let r = post(&app, CHECK_CODE_PATH, json!({"code": "x"})).await;
    assert_stack_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    assert!(r.headers.contains_key("retry-after"));
    // The same bucket as the native route's.
    assert_eq!(app.check("x").await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn other_methods_get_a_stack_405_with_allow_post() {
    let app = app();
    let mut req = stack_request(&json!({}));
    req.method = Method::GET;
    let r = app.send_path(CHECK_CODE_PATH, req).await;
    assert_stack_error(&r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(r.headers["allow"], "POST");
}

#[tokio::test]
async fn without_its_settings_the_stack_dialect_is_not_there() {
    let app = EdgeApp::new();
    let r = post(
        &app,
        SEND_RESET_CODE_PATH,
        json!({"email": ADA, "callback_url": SEED_CALLBACK}),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    assert!(app.mailer.sent().is_empty());
}

#[tokio::test]
async fn with_api_dialects_stack_alone_the_native_routes_are_not_there() {
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("API_DIALECTS", "stack"),
    ]);
    let r = app
        .send_path(
            "/password-reset/request",
            EdgeApp::request(&json!({"email": ADA}).to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(app.mailer.sent().is_empty());
    stack_code_for_ada(&app).await;
}
