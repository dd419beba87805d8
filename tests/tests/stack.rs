//! The Stack Auth dialect (issue 12, point 1; seeds 000 and 001): the seed's documented requests
//! replayed field by field, the same answer for known and unknown addresses, the project and
//! publishable-key headers refused before any lookup, the shared use cases' errors in Stack's
//! shape, and the whole reset through the Stack routes alone, on the memory store and on
//! DynamoDB and SES on moto.

use http::{HeaderValue, Method, StatusCode};
use integration_tests::app::{Backend, TestApp, code_in};
use integration_tests::edge::*;
use serde_json::{Value, json};
use shared::hashing;
use shared::http::dialect::stack::{
    CHECK_CODE_PATH, RESET_PATH, SEND_RESET_CODE_PATH, SEND_RESET_CODE_SUCCESS,
};

const PROJECT: &str = "stack-project-1";
const KEY: &str = "pck_integration_tests";
/// The seed's callback (`https://example.com/handler/password-reset`), allowed here.
const SEED_CALLBACK: &str = "https://example.com/handler/password-reset";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The settings that turn the dialect on, plus the seed's callback origin.
const STACK_ENV: [(&str, &str); 3] = [
    ("STACK_PROJECT_ID", PROJECT),
    (
        "STACK_PUBLISHABLE_CLIENT_KEYS",
        "pck_old, pck_integration_tests",
    ),
    (
        "ALLOWED_CALLBACK_ORIGINS",
        "https://app.example.com,https://example.com,http://127.0.0.1:3000",
    ),
];

fn app() -> EdgeApp {
    EdgeApp::with_env(&STACK_ENV)
}

/// A JSON POST with the seed's headers (`X-Stack-Project-Id`, `X-Stack-Publishable-Client-Key`).
fn stack_request(body: &Value) -> shared::http::ApiRequest {
    let mut req = EdgeApp::request(&body.to_string());
    req.headers
        .insert("x-stack-project-id", HeaderValue::from_static(PROJECT));
    req.headers.insert(
        "x-stack-publishable-client-key",
        HeaderValue::from_static(KEY),
    );
    req
}

async fn post(app: &EdgeApp, path: &str, body: Value) -> Reply {
    app.send_path(path, stack_request(&body)).await
}

/// Asks for Ada's reset on `send-reset-code` and returns the code of the mailed link.
async fn stack_code_for_ada(app: &EdgeApp) -> String {
    let r = post(
        app,
        SEND_RESET_CODE_PATH,
        json!({"email": ADA, "callback_url": SEED_CALLBACK}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let link = app.mailer.sent().pop().unwrap().link.unwrap();
    code_in(&link).expose().to_owned()
}

fn assert_stack_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.json["code"], code, "{}", r.raw);
    assert!(r.json["error"].as_str().is_some_and(|e| !e.is_empty()));
    let fields: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["code", "error"],
        "Stack's error shape, nothing else"
    );
    assert_eq!(r.headers["x-stack-known-error"], code);
}

#[tokio::test]
async fn the_seeds_send_reset_code_call_answers_200_with_a_success_sentence_and_mails_the_callback_with_code()
 {
    let app = app();
    // Seed 000's cURL example, headers and body as documented (with Ada's address).
    let r = post(
        &app,
        SEND_RESET_CODE_PATH,
        json!({"email": ADA, "callback_url": SEED_CALLBACK}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json, json!({"success": SEND_RESET_CODE_SUCCESS}));
    assert!(
        r.json["success"].is_string(),
        "`success` is a string (seed)"
    );
    assert_eq!(r.headers["content-type"], "application/json");

    let mail = app.mailer.sent().pop().expect("one mail");
    assert_eq!(mail.to.as_str(), ADA_STORED, "to the stored address");
    let link = url::Url::parse(mail.link.as_deref().unwrap()).unwrap();
    assert_eq!(
        link.as_str().split('?').next().unwrap(),
        SEED_CALLBACK,
        "the callback, unchanged"
    );
    let params: Vec<String> = link.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(params, ["code"], "a query parameter `code` appended");
}

#[tokio::test]
async fn the_mailed_link_carries_code_in_its_query_even_with_link_code_in_fragment() {
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("LINK_CODE_IN", "fragment"),
    ]);
    let r = post(
        &app,
        SEND_RESET_CODE_PATH,
        json!({"email": ADA, "callback_url": SEED_CALLBACK}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let link = url::Url::parse(&app.mailer.sent().pop().unwrap().link.unwrap()).unwrap();
    assert_eq!(link.fragment(), None);
    assert!(link.query_pairs().any(|(k, _)| k == "code"), "{link}");
    // The native route still follows LINK_CODE_IN.
    app.post(
        shared::service::Operation::Request,
        &json!({"email": ADA}).to_string(),
    )
    .await;
    let native = url::Url::parse(&app.mailer.sent().pop().unwrap().link.unwrap()).unwrap();
    assert!(native.fragment().is_some_and(|f| f.starts_with("code=")));
}

#[tokio::test]
async fn the_seeds_check_code_call_answers_is_valid_and_nothing_else() {
    let app = app();
    // Seed 001's cURL example: its placeholder code is no code.
    let r = post(&app, CHECK_CODE_PATH, json!({"code": "RESET_CODE_HERE"})).await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::OK, &json!({"is_valid": false}))
    );

    let code = stack_code_for_ada(&app).await;
    let r = post(&app, CHECK_CODE_PATH, json!({"code": code})).await;
    // Seed 001's 200 response, byte for byte.
    assert_eq!(
        (r.status, r.raw.as_str()),
        (StatusCode::OK, r#"{"is_valid":true}"#)
    );
}

#[tokio::test]
async fn the_whole_reset_through_the_stack_routes_alone_sets_the_password_and_spends_the_code() {
    let app = app();
    let code = stack_code_for_ada(&app).await;
    let r = post(&app, CHECK_CODE_PATH, json!({"code": code})).await;
    assert_eq!(r.json, json!({"is_valid": true}));

    let r = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::OK, &json!({"success": true}))
    );
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
    assert!(!hashing::verify(ADA_OLD_PASSWORD, &app.ada_hash().unwrap()));

    let r = post(&app, CHECK_CODE_PATH, json!({"code": code})).await;
    assert_eq!(r.json, json!({"is_valid": false}), "spent");
    let again = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": "another passphrase"}),
    )
    .await;
    assert_stack_error(&again, StatusCode::NOT_FOUND, "VERIFICATION_CODE_NOT_FOUND");
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
}

#[tokio::test]
async fn a_code_from_the_stack_route_works_on_the_native_routes_and_back() {
    let app = app();
    let code = stack_code_for_ada(&app).await;
    assert_eq!(app.check(&code).await.json["is_valid"], true);
    let native = app.code_for_ada().await;
    let r = post(
        &app,
        RESET_PATH,
        json!({"code": native, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Consume revoked the user's other codes, the Stack one included.
    assert_eq!(app.check(&code).await.json["is_valid"], false);
}

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

/// The full reset through the Stack routes on a store backend (memory, DynamoDB on moto):
/// send -> mail -> check-code -> reset -> the stored hash changed.
async fn the_full_stack_reset_changes_the_stored_hash<B: Backend>() {
    let overrides = [
        ("STACK_PROJECT_ID", PROJECT),
        ("STACK_PUBLISHABLE_CLIENT_KEYS", KEY),
    ];
    let app = TestApp::<B>::with_user("stack-flow", &overrides, "ada@example.com").await;
    let headers = [
        ("x-stack-project-id", PROJECT),
        ("x-stack-publishable-client-key", KEY),
    ];
    let ip = Some("203.0.113.9".parse().unwrap());
    let r = app
        .call_path(
            SEND_RESET_CODE_PATH,
            json!({"email": "Ada@Example.com", "callback_url": "https://app.example.com/reset"}),
            &headers,
            ip,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"success": SEND_RESET_CODE_SUCCESS}));
    let code = app.last_code();
    let r = app
        .call_path(
            CHECK_CODE_PATH,
            json!({"code": code.expose()}),
            &headers,
            ip,
        )
        .await;
    assert_eq!(r.body, json!({"is_valid": true}));
    let before = app.backend.password_hash("user-ada").await;
    let r = app
        .call_path(
            RESET_PATH,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
            &headers,
            ip,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"success": true}))
    );
    let after = app.backend.password_hash("user-ada").await.expect("a hash");
    assert_ne!(Some(&after), before.as_ref());
    assert!(hashing::verify(NEW_PASSWORD, &after));
}

mod memory {
    #[tokio::test]
    async fn the_full_stack_reset_changes_the_stored_hash() {
        super::the_full_stack_reset_changes_the_stored_hash::<integration_tests::app::Memory>()
            .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_stack_reset_changes_the_stored_hash() {
        super::the_full_stack_reset_changes_the_stored_hash::<integration_tests::app::Dynamo>()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_stack_reset_mails_through_ses_on_moto_to_the_stored_address() {
    let overrides = [
        ("STACK_PROJECT_ID", PROJECT),
        ("STACK_PUBLISHABLE_CLIENT_KEYS", KEY),
    ];
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("stack-ses", "Example App", &overrides).await;
    let headers = [
        ("x-stack-project-id", PROJECT),
        ("x-stack-publishable-client-key", KEY),
    ];
    let r = app
        .call_path(
            SEND_RESET_CODE_PATH,
            json!({"email": stored.to_ascii_uppercase(), "callback_url": "https://app.example.com/reset"}),
            &headers,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let sent = crate::ses::mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].to,
        vec![stored.clone()],
        "to the stored address only"
    );
    let code = code_in(&sent[0].link());
    let r = app
        .call_path(
            CHECK_CODE_PATH,
            json!({"code": code.expose()}),
            &headers,
            None,
        )
        .await;
    assert_eq!(r.body, json!({"is_valid": true}));
    let r = app
        .call_path(
            RESET_PATH,
            json!({"code": code.expose(), "password": NEW_PASSWORD}),
            &headers,
            None,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"success": true}))
    );
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));
    assert_eq!(
        crate::ses::mail_to_any_case(&stored).await.len(),
        2,
        "and the changed mail"
    );
}

#[tokio::test]
async fn send_reset_code_answers_no_sooner_than_the_floor_for_known_and_unknown_addresses() {
    use shared::clock::Clock;
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("MIN_REQUEST_RESPONSE_MS", "400"),
    ]);
    for email in [ADA, "nobody@example.com"] {
        let started = app.clock.now_ms();
        let r = post(
            &app,
            SEND_RESET_CODE_PATH,
            json!({"email": email, "callback_url": SEED_CALLBACK}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        // The fixed clock moves only by the service's own wait: exactly the floor, both times.
        assert_eq!(app.clock.now_ms() - started, 400, "{email}");
    }
}

mod captcha {
    //! The CAPTCHA (issue 14) on the public `send-reset-code`, against a fake provider.

    use super::*;
    use integration_tests::fake_api::{FakeApi, Reply as Fake};

    const TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";

    fn app_against(url: &str) -> EdgeApp {
        EdgeApp::with_env(&[
            STACK_ENV[0],
            STACK_ENV[1],
            STACK_ENV[2],
            ("CAPTCHA_PROVIDER", "turnstile"),
            ("CAPTCHA_SECRET", "captcha-test-secret"),
            ("CAPTCHA_VERIFY_URL", url),
        ])
    }

    fn verdict(success: bool) -> Fake {
        Fake::Body(200, json!({"success": success}).to_string())
    }

    #[tokio::test]
    async fn send_reset_code_without_a_captcha_token_is_a_schema_error_and_asks_nobody() {
        let provider = FakeApi::start(verdict(true)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let before = app.snapshot();
        let r = post(
            &app,
            SEND_RESET_CODE_PATH,
            json!({"email": ADA, "callback_url": SEED_CALLBACK}),
        )
        .await;
        assert_stack_error(&r, StatusCode::BAD_REQUEST, "SCHEMA_ERROR");
        assert!(
            r.json["error"]
                .as_str()
                .unwrap()
                .contains("body.captcha_token ")
        );
        assert!(provider.received().is_empty());
        assert_eq!(app.snapshot(), before);
    }

    #[tokio::test]
    async fn a_refused_captcha_token_is_a_schema_error_and_nothing_is_looked_up() {
        let provider = FakeApi::start(verdict(false)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let before = app.snapshot();
        let body = json!({"email": ADA, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
        let r = post(&app, SEND_RESET_CODE_PATH, body).await;
        assert_stack_error(&r, StatusCode::BAD_REQUEST, "SCHEMA_ERROR");
        assert_eq!(provider.received().len(), 1);
        assert_eq!(app.snapshot(), before);
    }

    #[tokio::test]
    async fn an_accepted_captcha_token_lets_send_reset_code_through_alike_for_every_address() {
        let provider = FakeApi::start(verdict(true)).await;
        let app = app_against(&format!("{}/siteverify", provider.url()));
        let mut answers = Vec::new();
        for email in [ADA, "nobody@example.com"] {
            let body =
                json!({"email": email, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
            let r = post(&app, SEND_RESET_CODE_PATH, body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
            answers.push((r.headers, r.raw));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(app.mailer.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_provider_that_does_not_answer_is_a_stack_503_with_retry_after() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let app = app_against(&format!("http://127.0.0.1:{port}/siteverify"));
        let before = app.snapshot();
        let body = json!({"email": ADA, "callback_url": SEED_CALLBACK, "captcha_token": TOKEN});
        let r = post(&app, SEND_RESET_CODE_PATH, body).await;
        assert_stack_error(&r, StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
        assert_eq!(
            r.headers["retry-after"],
            shared::http::THIRD_PARTY_RETRY_AFTER_SECS
                .to_string()
                .as_str()
        );
        assert_eq!(app.snapshot(), before);
    }
}

/// An API Gateway v2 event for `path` (the `sam local` fixture, re-pointed), with Stack's headers.
fn v2_event(
    path: &str,
    body: &Value,
    key: &str,
) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["routeKey"] = format!("POST {path}").into();
    event["headers"]["x-stack-project-id"] = PROJECT.into();
    event["headers"]["x-stack-publishable-client-key"] = key.into();
    event["body"] = body.to_string().into();
    event["isBase64Encoded"] = false.into();
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn the_lambda_edge_answers_a_stack_path_in_stacks_dialect_on_the_function_of_its_operation() {
    use lambda_http::aws_lambda_events::encodings::Body;
    use shared::http::lambda::handle_v2_event;
    use shared::service::Operation;
    let app = app();
    let text = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse| match &r.body {
        Some(Body::Text(t)) => serde_json::from_str::<Value>(t).unwrap(),
        other => panic!("a text body, not {other:?}"),
    };
    let ok = handle_v2_event(
        &app.service,
        Operation::Check,
        v2_event(CHECK_CODE_PATH, &json!({"code": "RESET_CODE_HERE"}), KEY),
    )
    .await;
    assert_eq!(ok.status_code, 200);
    assert_eq!(text(&ok), json!({"is_valid": false}));
    let refused = handle_v2_event(
        &app.service,
        Operation::Check,
        v2_event(CHECK_CODE_PATH, &json!({"code": "x"}), "pck_wrong"),
    )
    .await;
    assert_eq!(refused.status_code, 401);
    assert_eq!(text(&refused)["code"], "INVALID_PUBLISHABLE_CLIENT_KEY");
    assert_eq!(
        refused.headers["x-stack-known-error"],
        "INVALID_PUBLISHABLE_CLIENT_KEY"
    );
    // The request function answers send-reset-code in Stack's shape too.
    let sent = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(
            SEND_RESET_CODE_PATH,
            &json!({"email": ADA, "callback_url": SEED_CALLBACK}),
            KEY,
        ),
    )
    .await;
    assert_eq!(sent.status_code, 200);
    assert_eq!(text(&sent), json!({"success": SEND_RESET_CODE_SUCCESS}));
    assert_eq!(app.mailer.sent().len(), 1);
}

#[tokio::test]
async fn events_from_the_stack_routes_name_the_stack_dialect_and_route() {
    let app = app();
    let code = stack_code_for_ada(&app).await;
    post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": NEW_PASSWORD}),
    )
    .await;
    let details: Vec<Value> = app.events.events().iter().map(|e| e.detail()).collect();
    assert_eq!(details.len(), 2, "requested and completed: {details:?}");
    assert_eq!(details[0]["dialect"], "stack");
    assert_eq!(details[0]["route"], SEND_RESET_CODE_PATH);
    assert_eq!(details[1]["dialect"], "stack");
    assert_eq!(details[1]["route"], RESET_PATH);
    // The native route's events stay native.
    app.code_for_ada().await;
    let last = app.events.events().pop().unwrap().detail();
    assert_eq!(
        (last["dialect"].as_str(), last["route"].as_str()),
        (Some("native"), Some("/password-reset/request"))
    );
}

#[tokio::test]
async fn a_breached_password_is_stacks_requirements_not_met_and_the_code_stays_valid() {
    use integration_tests::fake_api::{FakeApi, Reply as Fake};
    use sha1::{Digest, Sha1};
    let breached = "correct horse battery staple";
    let sha1: String = Sha1::digest(breached.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let range = FakeApi::start(Fake::Body(200, format!("{}:42", &sha1[5..]))).await;
    let url = range.url();
    let app = EdgeApp::with_env(&[
        STACK_ENV[0],
        STACK_ENV[1],
        STACK_ENV[2],
        ("PWNED_PASSWORDS_URL", url.as_str()),
    ]);
    let code = stack_code_for_ada(&app).await;
    let r = post(
        &app,
        RESET_PATH,
        json!({"code": code, "password": breached}),
    )
    .await;
    assert_stack_error(&r, StatusCode::BAD_REQUEST, "PASSWORD_REQUIREMENTS_NOT_MET");
    assert!(
        r.json["error"].as_str().unwrap().contains("breach"),
        "{}",
        r.raw
    );
    assert_eq!(
        post(&app, CHECK_CODE_PATH, json!({"code": code}))
            .await
            .json,
        json!({"is_valid": true})
    );
}
