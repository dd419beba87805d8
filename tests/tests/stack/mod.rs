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

/// The two headers a Stack client sends, with this project's id and key.
const HEADERS: [(&str, &str); 2] = [
    ("x-stack-project-id", PROJECT),
    ("x-stack-publishable-client-key", KEY),
];

/// The dialect's settings with one key, for the full resets on a store backend.
const ONE_KEY: [(&str, &str); 2] = [
    ("STACK_PROJECT_ID", PROJECT),
    ("STACK_PUBLISHABLE_CLIENT_KEYS", KEY),
];

mod full_reset;
mod outside;
mod refusals;
