//! The Supabase-style dialect (issue 12, point 3; seed 003): `POST /auth/send-password-reset`
//! replayed as the seed documents it, the one opaque answer for known and unknown addresses,
//! `callback_origin` held to the allowed origins (nothing written or mailed otherwise), the
//! seed's camelCase errors with `Retry-After` on 429, the IP limit and the floor of the native
//! public route, and the whole reset (ask here, finish on the reset page's native routes) on
//! the memory store, DynamoDB on moto and SES on moto.

use http::{Method, StatusCode};
use integration_tests::app::{Backend, TestApp, code_in};
use integration_tests::edge::*;
use serde_json::{Value, json};
use shared::hashing;
use shared::http::REQUEST_ACCEPTED_MESSAGE;
use shared::http::dialect::supabase::SEND_PASSWORD_RESET_PATH as PATH;
use shared::service::Operation;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The dialect's settings: listed with native (the reset page finishes on the native routes),
/// a default callback (the reset page, whose path every `callback_origin` keeps) and a second
/// allowed origin.
const ENV: [(&str, &str); 3] = [
    ("API_DIALECTS", "native,supabase"),
    (
        "ALLOWED_CALLBACK_ORIGINS",
        "https://app.example.com,https://admin.example.com",
    ),
    (
        "DEFAULT_CALLBACK_URL",
        "https://app.example.com/reset?from=mail",
    ),
];

fn app() -> EdgeApp {
    EdgeApp::with_env(&ENV)
}

async fn post(app: &EdgeApp, body: Value) -> Reply {
    app.send_path(PATH, EdgeApp::request(&body.to_string()))
        .await
}

/// The seed's error shape: `error` (required, a sentence), `code`, and where they apply
/// `fieldErrors` (field -> message), `issues` ([{path, message}]) and `retryAfter`; nothing
/// else, and never the native snake_case names.
fn assert_seed_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.headers["content-type"], "application/json");
    let obj = r.json.as_object().expect("a JSON object");
    assert!(obj["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(obj["code"], code);
    for key in obj.keys() {
        assert!(
            ["error", "code", "fieldErrors", "issues", "retryAfter"].contains(&key.as_str()),
            "{key} is not in the seed's error shape: {}",
            r.raw
        );
    }
    if let Some(fields) = obj.get("fieldErrors") {
        let fields = fields.as_object().unwrap();
        let issues = obj["issues"].as_array().unwrap();
        assert_eq!(fields.len(), issues.len());
        for issue in issues {
            let path = issue["path"].as_str().unwrap();
            assert_eq!(issue["message"], fields[path], "issues mirror fieldErrors");
        }
    }
}

#[tokio::test]
async fn the_seeds_request_answers_ok_and_the_message_and_mails_the_reset_page_on_the_origin() {
    let app = app();
    // Seed 003's body with an origin this service allows (the seed's "example" is refused below).
    let r = post(
        &app,
        json!({"email": ADA, "callback_origin": "https://admin.example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    // The seed: `ok` (required boolean) and `message` (required string), nothing else.
    assert_eq!(
        r.json,
        json!({"ok": true, "message": REQUEST_ACCEPTED_MESSAGE})
    );
    assert_eq!(r.headers["content-type"], "application/json");

    let mail = app.mailer.sent().pop().expect("one mail");
    assert_eq!(mail.to.as_str(), ADA_STORED, "to the stored address");
    let link = url::Url::parse(mail.link.as_deref().unwrap()).unwrap();
    assert_eq!(
        link.origin().ascii_serialization(),
        "https://admin.example.com"
    );
    assert_eq!(link.path(), "/reset", "DEFAULT_CALLBACK_URL's path");
    let params: Vec<String> = link.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(params, ["from", "code"], "its query kept, the code added");
}

#[tokio::test]
async fn without_callback_origin_the_link_is_the_default_callback() {
    let app = app();
    let r = post(&app, json!({"email": ADA})).await;
    assert_eq!(r.status, StatusCode::OK);
    let link = app.mailer.sent().pop().unwrap().link.unwrap();
    assert!(
        link.starts_with("https://app.example.com/reset?from=mail&code="),
        "{link}"
    );
}

#[tokio::test]
async fn the_seeds_example_callback_origin_is_not_an_origin_and_is_a_400_in_the_seeds_shape() {
    let app = app();
    let before = app.snapshot();
    // Seed 003's documented request, byte for byte.
    let seed = r#"{"email":"hello@example.com","callback_origin":"example"}"#;
    let r = app.send_path(PATH, EdgeApp::request(seed)).await;
    assert_seed_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert!(
        r.json["fieldErrors"]["callback_origin"]
            .as_str()
            .unwrap()
            .starts_with("must be an origin"),
        "{}",
        r.raw
    );
    assert_eq!(r.json["issues"][0]["path"], "callback_origin");
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
}

#[tokio::test]
async fn a_disallowed_or_malformed_callback_origin_is_a_400_and_nothing_is_written_or_mailed() {
    let app = app();
    let before = app.snapshot();
    for (origin, says) in [
        (json!("https://evil.example.net"), "origin is not allowed"),
        (json!("http://app.example.com"), "origin is not allowed"),
        (
            json!("https://app.example.com/elsewhere"),
            "must be an origin",
        ),
        (json!("https://app.example.com?x=1"), "must be an origin"),
        (
            json!("https://user:pw@app.example.com"),
            "must be an origin",
        ),
        (json!("javascript:alert(1)"), "must be an origin"),
        (json!(""), "must be an origin"),
        (json!(42), "must be a string"),
    ] {
        for email in [ADA, "nobody@example.com"] {
            let r = post(&app, json!({"email": email, "callback_origin": origin})).await;
            assert_seed_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
            let message = r.json["fieldErrors"]["callback_origin"].as_str().unwrap();
            assert!(message.starts_with(says), "{origin}: {message}");
        }
    }
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
    assert!(app.events.events().is_empty());
}

#[tokio::test]
async fn with_allowed_callback_urls_the_origins_reset_page_must_be_one_of_them() {
    let app = EdgeApp::with_env(&[
        ENV[0],
        ENV[1],
        ENV[2],
        (
            "ALLOWED_CALLBACK_URLS",
            "https://app.example.com/reset?from=mail",
        ),
    ]);
    let before = app.snapshot();
    let r = post(
        &app,
        json!({"email": ADA, "callback_origin": "https://admin.example.com"}),
    )
    .await;
    assert_seed_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert!(
        r.json["fieldErrors"]["callback_origin"].is_string(),
        "{}",
        r.raw
    );
    assert_eq!(app.snapshot(), before);
    let r = post(
        &app,
        json!({"email": ADA, "callback_origin": "https://app.example.com"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_status_headers_and_body_as_a_known_one() {
    let app = app();
    let mut answers = Vec::new();
    for email in [ADA, "nobody@example.com"] {
        for body in [
            json!({"email": email}),
            json!({"email": email, "callback_origin": "https://admin.example.com"}),
        ] {
            let r = post(&app, body).await;
            answers.push((r.status, r.headers, r.raw));
        }
    }
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[1], answers[3]);
    assert_eq!(
        app.mailer.sent().len(),
        2,
        "only the known address got mail"
    );
}

#[tokio::test]
async fn bad_bodies_are_400s_in_the_seeds_shape_naming_the_field_and_change_nothing() {
    let app = app();
    let before = app.snapshot();
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": "not an address"}), "email"),
        (json!({"email": ADA, "password": "x"}), "password"),
        // Server-only native fields are not the seed's: unknown here.
        (json!({"email": ADA, "return_code": true}), "return_code"),
        (
            json!({"email": ADA, "callback_url": "https://app.example.com/x"}),
            "callback_url",
        ),
    ] {
        let r = post(&app, body.clone()).await;
        assert_seed_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
        assert!(
            r.json["fieldErrors"][field].is_string(),
            "{body}: {}",
            r.raw
        );
    }
    for (raw, code) in [("not json", "MALFORMED_JSON"), ("[1]", "INVALID_BODY")] {
        let r = app.send_path(PATH, EdgeApp::request(raw)).await;
        assert_seed_error(&r, StatusCode::BAD_REQUEST, code);
    }
    let mut req = EdgeApp::request("{}");
    req.headers.remove("content-type");
    let r = app.send_path(PATH, req).await;
    assert_seed_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
    );
    let mut req = EdgeApp::request("{}");
    req.method = Method::GET;
    let r = app.send_path(PATH, req).await;
    assert_seed_error(&r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn the_cap_is_a_429_with_retry_after_and_retry_after_in_the_body_alike_for_every_address() {
    let app = EdgeApp::with_env(&[ENV[0], ENV[1], ENV[2], ("MAX_CONCURRENT_REQUESTS", "1")]);
    let mut answers = Vec::new();
    for email in [ADA, "nobody@example.com"] {
        assert_eq!(
            post(&app, json!({"email": email})).await.status,
            StatusCode::OK
        );
        let r = post(&app, json!({"email": email})).await;
        assert_seed_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
        assert_eq!(r.headers["retry-after"], "3600");
        assert_eq!(
            r.json["retryAfter"], 3600,
            "the seed's retryAfter (a number)"
        );
        answers.push((r.headers, r.raw));
    }
    assert_eq!(
        answers[0], answers[1],
        "a 429 says nothing about the account"
    );
}

#[tokio::test]
async fn the_ip_limit_counts_this_route_in_the_native_requests_bucket() {
    let app = EdgeApp::with_env(&[ENV[0], ENV[1], ENV[2], ("RATE_LIMIT_REQUEST", "2/600")]);
    for _ in 0..2 {
        let r = post(&app, json!({"email": "nobody@example.com"})).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = post(&app, json!({"email": ADA})).await;
    assert_seed_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    assert!(r.headers.contains_key("retry-after"));
    assert!(r.json["retryAfter"].is_number());
    assert!(app.mailer.sent().is_empty());
    // The native public route shares the bucket.
    let native = app
        .post(Operation::Request, &json!({"email": ADA}).to_string())
        .await;
    assert_eq!(native.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_route_answers_no_sooner_than_the_floor_for_known_and_unknown_addresses() {
    use shared::clock::Clock;
    let app = EdgeApp::with_env(&[ENV[0], ENV[1], ENV[2], ("MIN_REQUEST_RESPONSE_MS", "400")]);
    for email in [ADA, "nobody@example.com"] {
        let started = app.clock.now_ms();
        let r = post(&app, json!({"email": email})).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(app.clock.now_ms() - started, 400, "{email}");
    }
}

#[tokio::test]
async fn a_server_key_gives_no_privilege_here() {
    let app = app();
    let mut req = EdgeApp::request(&json!({"email": "nobody@example.com"}).to_string());
    req.headers.insert(
        "authorization",
        http::HeaderValue::from_str(&format!("Bearer {SERVER_KEY}")).unwrap(),
    );
    let r = app.send_path(PATH, req).await;
    // Public whatever it sends: an unknown address is still the opaque 200, not a 404.
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["ok"], true);
}

#[tokio::test]
async fn without_supabase_in_api_dialects_the_route_is_not_there() {
    // (Without DEFAULT_CALLBACK_URL on Lambda it is off too: shared's config tests.)
    for list in ["native", "native,stack,zitadel"] {
        let app = EdgeApp::with_env(&[("API_DIALECTS", list), ENV[1], ENV[2]]);
        let r = post(&app, json!({"email": ADA})).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
        assert!(app.mailer.sent().is_empty());
    }
}

mod full_reset;
