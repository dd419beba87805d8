//! The Zitadel v2 dialect (issue 12, point 4; seed 004): `POST /v2/users/{userId}/password_reset`
//! replayed as the seed documents it and with each medium alone (`sendLink` mails the filled
//! `urlTemplate` to the stored address, `returnCode` answers the code and mails nothing), the
//! `details` answer field by field, Zitadel's `{code, message, details}` errors (401 without the
//! server key before any lookup, 404 for an unknown user, 400 for SMS and for a template off
//! the allowed origins, 429 with `Retry-After`), `POST /v2/users/{userId}/password` refusing
//! another user's code (which stays usable by its owner), and the whole reset through the
//! Zitadel routes alone on the memory store, DynamoDB on moto and SES on moto.

use http::{HeaderValue, Method, StatusCode};
use integration_tests::app::{Backend, TestApp, code_in};
use integration_tests::edge::*;
use serde_json::{Value, json};
use shared::domain::{EmailAddress, UserId};
use shared::hashing;
use shared::service::rfc3339;

const NEW_PASSWORD: &str = "a brand new passphrase";
const ORG: &str = "69629023906488334";
/// Seed 004's `urlTemplate`, on an origin this service allows.
const SEED_TEMPLATE: &str =
    "https://example.com/password/changey?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}";

/// The dialect alone, the seed's origin allowed, the organisation set.
const ENV: [(&str, &str); 4] = [
    ("API_DIALECTS", "zitadel"),
    (
        "ALLOWED_CALLBACK_ORIGINS",
        "https://app.example.com,https://example.com",
    ),
    ("DEFAULT_CALLBACK_URL", "https://app.example.com/reset"),
    ("ZITADEL_ORG_ID", ORG),
];

fn app() -> EdgeApp {
    EdgeApp::with_env(&ENV)
}

fn reset_path(user: &str) -> String {
    format!("/v2/users/{user}/password_reset")
}

fn password_path(user: &str) -> String {
    format!("/v2/users/{user}/password")
}

fn bearer() -> String {
    format!("Bearer {SERVER_KEY}")
}

/// A JSON POST as the seed's cURL sends it (`Authorization: Bearer <TOKEN>`, the server key).
async fn post(app: &EdgeApp, path: &str, body: Value) -> Reply {
    let mut req = EdgeApp::request(&body.to_string());
    req.headers
        .insert("authorization", HeaderValue::from_str(&bearer()).unwrap());
    req.headers
        .insert("accept", HeaderValue::from_static("application/json"));
    app.send_path(path, req).await
}

/// Zitadel's error shape (seed 004's 403/404/default schema): `code` (int32), `message`
/// (string), `details` (array; empty here), nothing else.
fn assert_zitadel_error(r: &Reply, status: StatusCode, grpc: i64) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.headers["content-type"], "application/json");
    let obj = r.json.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "message"], "{}", r.raw);
    assert_eq!(obj["code"].as_i64(), Some(grpc), "{}", r.raw);
    assert!(obj["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(obj["details"], json!([]));
}

/// Seed 004's `details`, field by field, as this service fills them on the fixed clock.
fn assert_details(details: &Value) {
    let at = rfc3339(T0);
    assert_eq!(
        details,
        &json!({
            "sequence": T0.get().to_string(),
            "changeDate": at,
            "creationDate": at,
            "resourceOwner": ORG,
        })
    );
}

/// Ada's code through `returnCode`.
async fn returned_code(app: &EdgeApp) -> String {
    let r = post(app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    r.json["verificationCode"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_seeds_request_naming_both_media_is_a_400_in_zitadels_shape_and_changes_nothing() {
    let app = app();
    let before = app.snapshot();
    // Seed 004's cURL body, as documented: sendLink AND returnCode (one oneof in Zitadel).
    let seed = json!({
        "sendLink": {
            "notificationType": "NOTIFICATION_TYPE_Unspecified",
            "urlTemplate": SEED_TEMPLATE
        },
        "returnCode": {}
    });
    let r = post(&app, &reset_path(ADA_ID), seed).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert!(r.json["message"].as_str().unwrap().contains("returnCode"));
    assert_eq!(app.snapshot(), before, "nothing written, nothing mailed");
}

#[tokio::test]
async fn send_link_mails_the_seeds_filled_template_to_the_stored_address_and_answers_details() {
    let app = app();
    let body = json!({
        "sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": SEED_TEMPLATE}
    });
    let r = post(&app, &reset_path(ADA_ID), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        r.json.as_object().unwrap().len(),
        1,
        "details only: {}",
        r.raw
    );
    assert_details(&r.json["details"]);

    let mail = app.mailer.sent().pop().expect("one mail");
    assert_eq!(
        mail.to.as_str(),
        ADA_STORED,
        "to the address stored on the account"
    );
    let link = url::Url::parse(mail.link.as_deref().unwrap()).unwrap();
    assert_eq!(
        link.as_str().split('?').next().unwrap(),
        "https://example.com/password/changey"
    );
    let params: Vec<(String, String)> = link.query_pairs().into_owned().collect();
    assert_eq!(params[0], ("userID".to_owned(), ADA_ID.to_owned()));
    assert_eq!(params[1].0, "code");
    assert_eq!(params[2], ("orgID".to_owned(), ORG.to_owned()));
    // The mailed code works.
    assert_eq!(app.check(&params[1].1).await.json["is_valid"], true);
}

#[tokio::test]
async fn the_seeds_unspecified_type_and_an_empty_body_mail_a_link_as_zitadel_does() {
    let app = app();
    let unspecified = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Unspecified"}});
    for body in [
        json!({}),
        unspecified,
        json!({"send_link": {"notification_type": 1}}),
    ] {
        let r = post(&app, &reset_path(ADA_ID), body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.raw);
        assert!(r.json.get("verificationCode").is_none());
        let link = app.mailer.sent().pop().unwrap().link.unwrap();
        assert!(
            link.starts_with("https://app.example.com/reset?code="),
            "{link}"
        );
    }
}

#[tokio::test]
async fn return_code_answers_the_verification_code_with_details_and_mails_nothing() {
    let app = app();
    let r = post(&app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_details(&r.json["details"]);
    let code = r.json["verificationCode"]
        .as_str()
        .expect("the code, a string");
    assert!(app.mailer.sent().is_empty(), "returnCode sends no mail");
    assert_eq!(app.check(code).await.json["is_valid"], true);
}

#[tokio::test]
async fn password_with_the_code_sets_it_answers_details_and_spends_the_code() {
    let app = app();
    let code = returned_code(&app).await;
    let body = json!({
        "newPassword": {"password": NEW_PASSWORD, "changeRequired": false},
        "verificationCode": code
    });
    let r = post(&app, &password_path(ADA_ID), body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        r.json.as_object().unwrap().len(),
        1,
        "details only: {}",
        r.raw
    );
    assert_details(&r.json["details"]);
    assert!(
        hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()),
        "signs in"
    );
    let again = post(&app, &password_path(ADA_ID), body).await;
    assert_zitadel_error(&again, StatusCode::BAD_REQUEST, 3);
}

#[tokio::test]
async fn a_percent_encoded_user_id_names_the_user_it_encodes() {
    let app = app();
    app.store.put_user(
        UserId::parse("org/7 ü").unwrap(),
        EmailAddress::parse("odd@example.com").unwrap(),
        None,
    );
    let r = post(&app, &reset_path("org%2F7%20%C3%BC"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(
        app.mailer.sent().pop().unwrap().to.as_str(),
        "odd@example.com"
    );
}

mod full_reset;
mod org;
mod refusals;
