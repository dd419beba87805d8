//! The ProductFlame dialect (issue 12, point 2; seed 002): the seed's documented request replayed
//! with its headers and body, each documented answer asserted field by field (`activation`,
//! `{"message": "ok"}` for an unknown user, the three errors with the seed's sentences), the raw
//! server key in `Authorization` judged before the body, `preventEmailSending`, `maxRequests`
//! and the 429's `Retry-After`, and the whole reset from the ProductFlame route's activation
//! alone, on the memory store and on DynamoDB and SES on moto.

use http::{HeaderValue, Method, StatusCode};
use integration_tests::app::{Backend, SERVER_KEY, TestApp, code_in};
use integration_tests::edge::*;
use serde_json::{Value, json};
use shared::hashing;
use shared::http::dialect::productflame::{
    BAD_REQUEST_MESSAGE, RESET_PASSWORD_PATH, TOO_MANY_REQUESTS_MESSAGE, USER_NOT_FOUND_MESSAGE,
};
use shared::service::Operation;

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The seed's headers: `Content-Type` and the raw secret key as `Authorization`.
const HEADERS: [(&str, &str); 1] = [("authorization", SERVER_KEY)];

/// A JSON POST with the seed's `Authorization: <your_secret_api_key>` (the raw server key).
fn pf_request(body: &str) -> shared::http::ApiRequest {
    let mut req = EdgeApp::request(body);
    req.headers
        .insert("authorization", HeaderValue::from_static(SERVER_KEY));
    req
}

async fn post(app: &EdgeApp, body: Value) -> Reply {
    app.send_path(RESET_PASSWORD_PATH, pf_request(&body.to_string()))
        .await
}

/// The seed's body, for `email`.
fn seed_body(email: &str) -> Value {
    json!({"email": email, "maxRequests": 3, "preventEmailSending": false})
}

/// Asserts one of the seed's error answers: `status`, and `{"error", "message"}` and nothing else.
fn assert_pf_error(r: &Reply, status: StatusCode, error: &str) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.json["error"], error, "{}", r.raw);
    assert!(r.json["message"].as_str().is_some_and(|m| !m.is_empty()));
    let fields: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["error", "message"],
        "the seed's error shape, nothing else"
    );
    assert_eq!(r.headers["content-type"], "application/json");
}

/// The activation of a 200 `{"activation": ...}`, whose only field it is.
fn activation(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let fields: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["activation"], "{}", r.raw);
    r.json["activation"].as_str().expect("a string").to_owned()
}

#[tokio::test]
async fn the_seeds_request_answers_200_with_an_activation_that_is_the_mailed_code() {
    let app = EdgeApp::new();
    // Seed 002's request, headers and body as documented (with Ada's address).
    let r = post(&app, seed_body(ADA)).await;
    let activation = activation(&r);
    assert_eq!(r.headers["content-type"], "application/json");
    let mail = app.mailer.sent().pop().expect("one mail");
    assert_eq!(mail.to.as_str(), ADA_STORED, "to the stored address");
    let link = mail.link.expect("a link");
    assert!(
        link.starts_with("http://127.0.0.1:3000/reset"),
        "the default callback: {link}"
    );
    assert_eq!(
        code_in(&link).expose(),
        activation,
        "the activation id is the reset code"
    );
    assert_eq!(app.check(&activation).await.json["is_valid"], true);
}

#[tokio::test]
async fn the_seeds_user_not_found_answer_is_200_message_ok_and_changes_nothing() {
    let app = EdgeApp::new();
    let before = app.snapshot();
    let r = post(&app, seed_body("user@example.com")).await;
    assert_eq!(r.status, StatusCode::OK);
    // Seed 002's "200 OK (User Not Found)", byte for byte.
    assert_eq!(r.raw, r#"{"message":"ok"}"#);
    assert_eq!(r.json, json!({"message": USER_NOT_FOUND_MESSAGE}));
    assert_eq!(app.snapshot(), before, "no slot, no code, no mail");
}

#[tokio::test]
async fn prevent_email_sending_returns_the_activation_and_sends_nothing() {
    let app = EdgeApp::new();
    let r = post(
        &app,
        json!({"email": ADA, "maxRequests": 3, "preventEmailSending": true}),
    )
    .await;
    let activation = activation(&r);
    assert!(app.mailer.sent().is_empty(), "no mail");
    assert_eq!(app.check(&activation).await.json["is_valid"], true);
    // Only the email is required: the seed's options are optional.
    let r = post(&app, json!({"email": ADA})).await;
    activation_is_new(&r, &activation);
    assert_eq!(app.mailer.sent().len(), 1, "mailed by default");
}

fn activation_is_new(r: &Reply, other: &str) {
    assert_ne!(activation(r), other);
}

#[tokio::test]
async fn every_invalid_body_is_the_seeds_bad_request_and_changes_nothing() {
    let app = EdgeApp::new();
    let before = app.snapshot();
    let cases: [(&str, String); 13] = [
        ("no email", json!({"maxRequests": 3}).to_string()),
        ("email null", json!({"email": null}).to_string()),
        (
            "email not an address",
            json!({"email": "not an address"}).to_string(),
        ),
        ("email a number", json!({"email": 7}).to_string()),
        (
            "maxRequests 0",
            json!({"email": ADA, "maxRequests": 0}).to_string(),
        ),
        (
            "maxRequests negative",
            json!({"email": ADA, "maxRequests": -1}).to_string(),
        ),
        (
            "maxRequests a fraction",
            json!({"email": ADA, "maxRequests": 2.5}).to_string(),
        ),
        (
            "maxRequests a string",
            json!({"email": ADA, "maxRequests": "3"}).to_string(),
        ),
        (
            "preventEmailSending a string",
            json!({"email": ADA, "preventEmailSending": "yes"}).to_string(),
        ),
        (
            "a field the seed does not have",
            json!({"email": ADA, "return_code": false}).to_string(),
        ),
        ("not JSON", "not json".to_owned()),
        ("not an object", "[1]".to_owned()),
        (
            "a field given twice",
            format!(r#"{{"email":"{ADA}","email":"{ADA}"}}"#),
        ),
    ];
    for (what, body) in cases {
        let r = app.send_path(RESET_PASSWORD_PATH, pf_request(&body)).await;
        assert_pf_error(&r, StatusCode::BAD_REQUEST, "BAD_REQUEST");
        // Seed 002's 400 body, field by field.
        assert_eq!(
            r.json,
            json!({"error": "BAD_REQUEST", "message": BAD_REQUEST_MESSAGE}),
            "{what}"
        );
    }
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
}

#[tokio::test]
async fn a_missing_or_wrong_authorization_is_refused_before_the_body_and_changes_nothing() {
    let app = EdgeApp::new();
    let bearer = format!("Bearer {SERVER_KEY}");
    let upper = SERVER_KEY.to_ascii_uppercase();
    let cases: [(&str, Option<&str>); 5] = [
        ("no Authorization", None),
        ("an empty one", Some(" ")),
        ("a wrong key", Some("sk_wrong")),
        (
            "the key as a bearer token (the seed sends it raw)",
            Some(&bearer),
        ),
        ("the key in other capitals", Some(&upper)),
    ];
    let before = app.snapshot();
    for (what, value) in cases {
        // Even a body that is not JSON: the key is judged first.
        for body in [seed_body(ADA).to_string(), "not json".to_owned()] {
            let mut req = EdgeApp::request(&body);
            if let Some(v) = value {
                req.headers
                    .insert("authorization", HeaderValue::from_str(v).unwrap());
            }
            let r = app.send_path(RESET_PASSWORD_PATH, req).await;
            assert_pf_error(&r, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
            assert!(!r.raw.contains(SERVER_KEY), "{what}: no key in the answer");
        }
    }
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
    assert!(app.events.events().is_empty(), "no event either");
}

#[tokio::test]
async fn max_requests_caps_the_address_for_that_call_never_above_the_configured_cap() {
    let app = EdgeApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "2")]);
    let with_max = |n: u64| json!({"email": ADA, "maxRequests": n, "preventEmailSending": true});
    activation(&post(&app, with_max(1)).await);
    // One request holds Ada's one slot that this call allows.
    let r = post(&app, with_max(1)).await;
    assert_pf_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    // A higher cap for the next call: a second slot.
    activation(&post(&app, with_max(2)).await);
    // More than MAX_CONCURRENT_REQUESTS is clamped to it: no third slot.
    let r = post(&app, with_max(50)).await;
    assert_pf_error(&r, StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    assert_eq!(app.store.all_tokens().len(), 2);
}

#[tokio::test]
async fn the_seeds_too_many_requests_answer_keeps_retry_after() {
    let app = EdgeApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "1")]);
    activation(&post(&app, seed_body(ADA)).await);
    let r = post(&app, seed_body(ADA)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Seed 002's 429 body, field by field (its spelling kept).
    assert_eq!(
        r.json,
        json!({"error": "TOO_MANY_REQUESTS", "message": TOO_MANY_REQUESTS_MESSAGE})
    );
    assert_eq!(r.headers["retry-after"], "3600", "until the slot frees");
    assert_eq!(app.mailer.sent().len(), 1, "one mail only");
}

#[tokio::test]
async fn the_route_uses_the_server_callers_slots_so_the_public_cannot_block_it() {
    let app = EdgeApp::with_env(&[("MAX_CONCURRENT_REQUESTS", "1")]);
    app.code_for_ada().await;
    // The public's one slot is taken; the backend's own is free.
    activation(&post(&app, seed_body(ADA)).await);
}

#[tokio::test]
async fn the_activation_is_accepted_by_the_native_consume_and_spends_like_a_mailed_code() {
    let app = EdgeApp::new();
    let activation = activation(&post(&app, seed_body(ADA)).await);
    let r = app.consume(&activation, NEW_PASSWORD).await;
    assert_eq!((r.status, &r.json), (StatusCode::OK, &json!({"ok": true})));
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
    assert!(!hashing::verify(ADA_OLD_PASSWORD, &app.ada_hash().unwrap()));
    let again = app.consume(&activation, "another passphrase").await;
    assert_eq!(again.code(), "INVALID_CODE", "spent");
}

#[tokio::test]
async fn the_activation_is_accepted_by_stacks_reset_too() {
    use shared::http::dialect::stack::RESET_PATH;
    let app = EdgeApp::with_env(&[
        ("STACK_PROJECT_ID", "p1"),
        ("STACK_PUBLISHABLE_CLIENT_KEYS", "pck_1"),
    ]);
    let activation = activation(&post(&app, seed_body(ADA)).await);
    let mut req =
        EdgeApp::request(&json!({"code": activation, "password": NEW_PASSWORD}).to_string());
    req.headers
        .insert("x-stack-project-id", HeaderValue::from_static("p1"));
    req.headers.insert(
        "x-stack-publishable-client-key",
        HeaderValue::from_static("pck_1"),
    );
    let r = app.send_path(RESET_PATH, req).await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::OK, &json!({"success": true}))
    );
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
}

#[tokio::test]
async fn other_methods_get_the_seeds_shape_with_allow_post() {
    let app = EdgeApp::new();
    let mut req = pf_request(&seed_body(ADA).to_string());
    req.method = Method::GET;
    let r = app.send_path(RESET_PASSWORD_PATH, req).await;
    assert_pf_error(&r, StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert_eq!(r.headers["allow"], "POST");
}

#[tokio::test]
async fn without_a_server_key_or_when_not_listed_the_productflame_route_is_not_there() {
    for app in [
        EdgeApp::with_env(&[("SERVER_KEY_SHA256", "")]),
        EdgeApp::with_env(&[("API_DIALECTS", "native,stack")]),
    ] {
        let r = post(&app, seed_body(ADA)).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
        assert!(app.mailer.sent().is_empty());
    }
}

#[tokio::test]
async fn the_raw_key_is_not_a_server_key_on_the_native_route() {
    let app = EdgeApp::new();
    let mut req = EdgeApp::request(&json!({"email": ADA, "return_code": true}).to_string());
    req.headers
        .insert("authorization", HeaderValue::from_static(SERVER_KEY));
    let r = app.send(Operation::Request, req).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the native route wants Bearer"
    );
}

/// The full reset from the ProductFlame route alone, on a store backend (memory, DynamoDB on
/// moto): ask -> activation -> consume with it -> the new password signs in.
async fn the_full_reset_from_the_activation_sets_the_password<B: Backend>() {
    let app = TestApp::<B>::with_user("pf-flow", &[], "ada@example.com").await;
    let r = app
        .call_path(
            RESET_PASSWORD_PATH,
            json!({"email": "Ada@Example.com", "maxRequests": 3, "preventEmailSending": true}),
            &HEADERS,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let activation = r.body["activation"]
        .as_str()
        .expect("an activation")
        .to_owned();
    assert!(app.inbox.sent().is_empty(), "preventEmailSending");
    let before = app.backend.password_hash("user-ada").await;
    let r = app
        .call(
            Operation::Consume,
            json!({"code": activation, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &json!({"ok": true})));
    let after = app.backend.password_hash("user-ada").await.expect("a hash");
    assert_ne!(Some(&after), before.as_ref());
    assert!(
        hashing::verify(NEW_PASSWORD, &after),
        "signs in with the new one"
    );
    let r = app
        .call_path(
            RESET_PASSWORD_PATH,
            json!({"email": "nobody@example.com"}),
            &HEADERS,
            None,
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"message": "ok"}))
    );
}

mod memory {
    #[tokio::test]
    async fn the_full_reset_from_the_activation_sets_the_password() {
        super::the_full_reset_from_the_activation_sets_the_password::<integration_tests::app::Memory>()
            .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_reset_from_the_activation_sets_the_password() {
        super::the_full_reset_from_the_activation_sets_the_password::<integration_tests::app::Dynamo>()
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_seeds_answers_and_the_cap_hold_on_dynamodb() {
        use super::*;
        let app = TestApp::<integration_tests::app::Dynamo>::with_user(
            "pf-cap",
            &[("MAX_CONCURRENT_REQUESTS", "1")],
            "ada@example.com",
        )
        .await;
        let ask = |email: &'static str| {
            app.call_path(
                RESET_PASSWORD_PATH,
                json!({"email": email, "preventEmailSending": true}),
                &HEADERS,
                None,
            )
        };
        let r = ask("ada@example.com").await;
        assert!(r.body["activation"].is_string(), "{}", r.body);
        let r = ask("ada@example.com").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            r.body,
            json!({"error": "TOO_MANY_REQUESTS", "message": TOO_MANY_REQUESTS_MESSAGE})
        );
        assert!(r.headers.contains_key("retry-after"));
        let r = ask("nobody@example.com").await;
        assert_eq!(
            (r.status, &r.body),
            (StatusCode::OK, &json!({"message": "ok"}))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_request_mails_through_ses_on_moto_and_its_activation_resets_the_password() {
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("pf-ses", "Example App", &[]).await;
    let r = app
        .call_path(
            RESET_PASSWORD_PATH,
            json!({"email": stored.to_ascii_uppercase(), "maxRequests": 3, "preventEmailSending": false}),
            &HEADERS,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let activation = r.body["activation"].as_str().unwrap().to_owned();
    let link = crate::ses::the_one_link_mailed_to(&stored).await;
    assert_eq!(code_in(&link).expose(), activation);
    let r = app
        .call(
            Operation::Consume,
            json!({"code": activation, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));

    // preventEmailSending: true sends nothing through SES either.
    let r = app
        .call_path(
            RESET_PASSWORD_PATH,
            json!({"email": stored, "preventEmailSending": true}),
            &HEADERS,
            None,
        )
        .await;
    assert!(r.body["activation"].is_string());
    assert_eq!(
        crate::ses::mail_to_any_case(&stored).await.len(),
        2,
        "the reset mail and the changed mail, nothing more"
    );
}

#[tokio::test]
async fn events_from_the_productflame_route_name_its_dialect_route_and_the_server_caller() {
    let app = EdgeApp::new();
    activation(&post(&app, seed_body(ADA)).await);
    let details: Vec<Value> = app.events.events().iter().map(|e| e.detail()).collect();
    assert_eq!(details.len(), 1, "requested: {details:?}");
    assert_eq!(details[0]["dialect"], "productflame");
    assert_eq!(details[0]["route"], RESET_PASSWORD_PATH);
    assert_eq!(details[0]["caller"], "server");
    let text = details[0].to_string();
    assert!(!text.contains(SERVER_KEY), "no key in the event");
}

#[tokio::test]
async fn the_lambda_request_function_answers_the_productflame_path_in_its_dialect() {
    use lambda_http::aws_lambda_events::encodings::Body;
    use shared::http::lambda::handle_v2_event;
    let app = EdgeApp::new();
    let event = |key: &str| {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/events/request-ok.json");
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        event["rawPath"] = RESET_PASSWORD_PATH.into();
        event["routeKey"] = format!("POST {RESET_PASSWORD_PATH}").into();
        event["requestContext"]["http"]["path"] = RESET_PASSWORD_PATH.into();
        event["requestContext"]["routeKey"] = format!("POST {RESET_PASSWORD_PATH}").into();
        event["headers"]["authorization"] = key.into();
        event["body"] = seed_body(ADA).to_string().into();
        event["isBase64Encoded"] = false.into();
        serde_json::from_value(event).unwrap()
    };
    let text = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse| match &r.body {
        Some(Body::Text(t)) => serde_json::from_str::<Value>(t).unwrap(),
        other => panic!("a text body, not {other:?}"),
    };
    let ok = handle_v2_event(&app.service, Operation::Request, event(SERVER_KEY)).await;
    assert_eq!(ok.status_code, 200);
    assert!(text(&ok)["activation"].is_string(), "{:?}", text(&ok));
    assert_eq!(app.mailer.sent().len(), 1);
    let refused = handle_v2_event(&app.service, Operation::Request, event("sk_wrong")).await;
    assert_eq!(refused.status_code, 401);
    assert_eq!(text(&refused)["error"], "UNAUTHORIZED");
}
