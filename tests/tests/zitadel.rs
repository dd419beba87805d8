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

fn add_bob(app: &EdgeApp) {
    app.store.put_user(
        UserId::parse("user-bob").unwrap(),
        EmailAddress::parse("bob@example.com").unwrap(),
        None,
    );
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
async fn an_unknown_user_is_a_404_in_zitadels_shape_and_nothing_is_written_or_mailed() {
    let app = app();
    let before = app.snapshot();
    for body in [json!({"returnCode": {}}), json!({})] {
        let r = post(&app, &reset_path("user-nobody"), body).await;
        assert_zitadel_error(&r, StatusCode::NOT_FOUND, 5);
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn no_or_a_wrong_key_is_a_401_before_any_lookup_on_both_routes() {
    let app = app();
    let before = app.snapshot();
    let wrong = "Bearer not-the-server-key".to_owned();
    let raw_key = SERVER_KEY.to_owned();
    for path in [reset_path(ADA_ID), password_path(ADA_ID)] {
        for auth in [None, Some(&wrong), Some(&raw_key)] {
            // Even a body that is not JSON: the key is judged first.
            for body in [r#"{"returnCode":{}}"#, "not json"] {
                let mut req = EdgeApp::request(body);
                if let Some(a) = auth {
                    req.headers
                        .insert("authorization", HeaderValue::from_str(a).unwrap());
                }
                let r = app.send_path(&path, req).await;
                assert_zitadel_error(&r, StatusCode::UNAUTHORIZED, 16);
                assert!(!r.raw.contains(SERVER_KEY), "no key echoed");
            }
        }
    }
    assert_eq!(app.snapshot(), before);
    assert!(app.events.events().is_empty());
}

#[tokio::test]
async fn sms_is_a_clear_400_and_nothing_is_written_or_mailed() {
    let app = app();
    let before = app.snapshot();
    for kind in [json!("NOTIFICATION_TYPE_SMS"), json!(2)] {
        let body = json!({"sendLink": {"notificationType": kind, "urlTemplate": SEED_TEMPLATE}});
        let r = post(&app, &reset_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(
            r.json["message"]
                .as_str()
                .unwrap()
                .contains("no SMS channel"),
            "{}",
            r.raw
        );
    }
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn a_template_off_the_allowed_origins_or_without_its_org_is_a_400_and_changes_nothing() {
    let app = app();
    let no_org = EdgeApp::with_env(&[ENV[0], ENV[1], ENV[2]]);
    let before = (app.snapshot(), no_org.snapshot());
    for (app, template, says) in [
        (
            &app,
            "https://evil.example.net/r?c={{.Code}}",
            "origin is not allowed",
        ),
        (
            &app,
            "https://{{.UserID}}.example.com/r?c={{.Code}}",
            "origin is not allowed",
        ),
        (&app, "https://example.com/r?user={{.UserID}}", "{{.Code}}"),
        (&app, "javascript:alert('{{.Code}}')", "https"),
        (&no_org, SEED_TEMPLATE, "ZITADEL_ORG_ID"),
    ] {
        let body = json!({"sendLink": {"urlTemplate": template}});
        let r = post(app, &reset_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        let message = r.json["message"].as_str().unwrap();
        assert!(
            message.contains("sendLink.urlTemplate"),
            "{template}: {message}"
        );
        assert!(message.contains(says), "{template}: {message}");
    }
    assert_eq!((app.snapshot(), no_org.snapshot()), before);
}

#[tokio::test]
async fn bad_bodies_are_400s_in_zitadels_shape_and_change_nothing() {
    let app = app();
    let before = app.snapshot();
    for (path, body) in [
        (reset_path(ADA_ID), json!({"email": ADA})),
        (reset_path(ADA_ID), json!({"returnCode": true})),
        (reset_path(ADA_ID), json!({"returnCode": {"x": 1}})),
        (reset_path(ADA_ID), json!({"sendLink": {"urlTemplate": 7}})),
        (
            reset_path(ADA_ID),
            json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Fax"}}),
        ),
        (
            reset_path(ADA_ID),
            json!({"returnCode": {}, "return_code": {}}),
        ),
        (password_path(ADA_ID), json!({})),
        (
            password_path(ADA_ID),
            json!({"newPassword": {"password": NEW_PASSWORD}}),
        ),
        (password_path(ADA_ID), json!({"verificationCode": "x"})),
        (
            password_path(ADA_ID),
            json!({"newPassword": "x", "verificationCode": "x"}),
        ),
    ] {
        let r = post(&app, &path, body.clone()).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(!r.raw.contains(NEW_PASSWORD), "no password echoed");
        let _ = body;
    }
    let r = post(&app, &reset_path("%ZZ"), json!({})).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    let mut req = EdgeApp::request("{}");
    req.headers
        .insert("authorization", HeaderValue::from_str(&bearer()).unwrap());
    req.method = Method::GET;
    let r = app.send_path(&reset_path(ADA_ID), req).await;
    assert_zitadel_error(&r, StatusCode::METHOD_NOT_ALLOWED, 12);
    assert_eq!(r.headers["allow"], "POST");
    assert_eq!(app.snapshot(), before);
}

#[tokio::test]
async fn the_cap_is_a_429_with_retry_after_in_zitadels_shape() {
    let app = EdgeApp::with_env(&[
        ENV[0],
        ENV[1],
        ENV[2],
        ENV[3],
        ("MAX_CONCURRENT_REQUESTS", "1"),
    ]);
    returned_code(&app).await;
    let r = post(&app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
    assert_zitadel_error(&r, StatusCode::TOO_MANY_REQUESTS, 8);
    assert_eq!(r.headers["retry-after"], "3600");
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
async fn another_users_code_is_refused_and_stays_usable_by_its_owner() {
    let app = app();
    add_bob(&app);
    let ada_code = returned_code(&app).await;
    let before = app.snapshot();
    let body =
        |code: &str| json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let r = post(&app, &password_path("user-bob"), body(&ada_code)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert!(!r.raw.contains(&ada_code), "no code echoed");
    let r = post(&app, &password_path("user-nobody"), body(&ada_code)).await;
    assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
    assert_eq!(app.snapshot(), before, "nothing written");
    // Ada's code still works, for Ada.
    assert_eq!(app.check(&ada_code).await.json["is_valid"], true);
    let r = post(&app, &password_path(ADA_ID), body(&ada_code)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
}

#[tokio::test]
async fn change_required_and_weak_passwords_are_refused_and_the_code_stays_valid() {
    let app = app();
    let code = returned_code(&app).await;
    let before = app.snapshot();
    for (password, change_required, says) in [
        (NEW_PASSWORD, true, "changeRequired"),
        ("short", false, "newPassword.password"),
        ("ada@example.com1", false, "newPassword.password"),
    ] {
        let body = json!({
            "newPassword": {"password": password, "changeRequired": change_required},
            "verificationCode": code
        });
        let r = post(&app, &password_path(ADA_ID), body).await;
        assert_zitadel_error(&r, StatusCode::BAD_REQUEST, 3);
        assert!(
            r.json["message"].as_str().unwrap().contains(says),
            "{}",
            r.raw
        );
        assert!(!r.raw.contains(&code) && !r.raw.contains(password));
    }
    assert_eq!(app.snapshot(), before);
    assert_eq!(app.check(&code).await.json["is_valid"], true);
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

#[tokio::test]
async fn without_api_dialects_zitadel_or_the_server_key_the_routes_are_not_there() {
    for app in [
        EdgeApp::with_env(&[("API_DIALECTS", "native")]),
        EdgeApp::with_env(&[ENV[0], ("SERVER_KEY_SHA256", "")]),
    ] {
        let r = post(&app, &reset_path(ADA_ID), json!({"returnCode": {}})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
        assert!(app.mailer.sent().is_empty());
    }
}

/// The whole reset through the Zitadel routes alone (`API_DIALECTS=zitadel`): ask by user id,
/// take the code (returned, or from the mailed link), set the password, sign in with it.
async fn the_full_zitadel_reset_sets_the_password<B: Backend>(medium: &str) {
    let app = TestApp::<B>::with_user("zitadel-flow", &ENV, "ada@example.com").await;
    let auth = bearer();
    let headers = [("authorization", auth.as_str())];
    let body = match medium {
        "returnCode" => json!({"returnCode": {}}),
        _ => json!({"sendLink": {"urlTemplate": SEED_TEMPLATE}}),
    };
    let r = app
        .call_path(&reset_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = match r.body["verificationCode"].as_str() {
        Some(c) => c.to_owned(),
        None => app.last_code().expose().to_owned(),
    };
    let body = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let r = app
        .call_path(&password_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["details"]["changeDate"].is_string());
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(
        hashing::verify(NEW_PASSWORD, &hash),
        "signs in with the new password"
    );
}

mod memory {
    #[tokio::test]
    async fn the_full_zitadel_reset_with_return_code_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Memory>(
            "returnCode",
        )
        .await;
    }

    #[tokio::test]
    async fn the_full_zitadel_reset_with_send_link_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Memory>(
            "sendLink",
        )
        .await;
    }
}

mod dynamodb {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_zitadel_reset_with_return_code_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Dynamo>(
            "returnCode",
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_full_zitadel_reset_with_send_link_sets_the_password() {
        super::the_full_zitadel_reset_sets_the_password::<integration_tests::app::Dynamo>(
            "sendLink",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_link_mails_through_ses_on_moto_to_the_stored_address_and_return_code_mails_nothing() {
    let crate::ses::Setup { app, stored, .. } =
        crate::ses::setup_named("zitadel-ses", "Example App", &ENV).await;
    let auth = bearer();
    let headers = [("authorization", auth.as_str())];
    let r = app
        .call_path(
            &reset_path("user-ada"),
            json!({"returnCode": {}}),
            &headers,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["verificationCode"].is_string());
    assert!(
        crate::ses::mail_to_any_case(&stored).await.is_empty(),
        "returnCode mails nothing"
    );

    let body = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": SEED_TEMPLATE}});
    let r = app
        .call_path(&reset_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["details"]["resourceOwner"], ORG);
    let sent = crate::ses::mail_to_any_case(&stored).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].to,
        vec![stored.clone()],
        "to the stored address only"
    );
    let link = sent[0].link();
    assert!(
        link.starts_with("https://example.com/password/changey?userID=user-ada&code="),
        "{link}"
    );
    let code = code_in(&link);
    let body =
        json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code.expose()});
    let r = app
        .call_path(&password_path("user-ada"), body, &headers, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hash = app.backend.password_hash("user-ada").await.expect("a hash");
    assert!(hashing::verify(NEW_PASSWORD, &hash));
}

/// An API Gateway v2 event for `path` with the server key (the `sam local` fixture, re-pointed).
fn v2_event(
    path: &str,
    body: &Value,
) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/events/check-ok.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let route = if path.ends_with("_reset") {
        shared::http::dialect::zitadel::PASSWORD_RESET_ROUTE
    } else {
        shared::http::dialect::zitadel::PASSWORD_ROUTE
    };
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {route}").into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["routeKey"] = format!("POST {route}").into();
    event["headers"]["authorization"] = bearer().into();
    event["body"] = body.to_string().into();
    event["isBase64Encoded"] = false.into();
    serde_json::from_value(event).unwrap()
}

#[tokio::test]
async fn the_lambda_edge_reads_the_user_id_from_the_raw_path_on_the_function_of_each_operation() {
    use lambda_http::aws_lambda_events::encodings::Body;
    use shared::http::lambda::handle_v2_event;
    use shared::service::Operation;
    let app = app();
    let text = |r: &lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse| match &r.body {
        Some(Body::Text(t)) => serde_json::from_str::<Value>(t).unwrap(),
        other => panic!("a text body, not {other:?}"),
    };
    let issued = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(&reset_path(ADA_ID), &json!({"returnCode": {}})),
    )
    .await;
    assert_eq!(issued.status_code, 200);
    let code = text(&issued)["verificationCode"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = handle_v2_event(
        &app.service,
        Operation::Request,
        v2_event(&reset_path("user-nobody"), &json!({"returnCode": {}})),
    )
    .await;
    assert_eq!(
        (unknown.status_code, text(&unknown)["code"].as_i64()),
        (404, Some(5))
    );
    let body = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let set = handle_v2_event(
        &app.service,
        Operation::Consume,
        v2_event(&password_path(ADA_ID), &body),
    )
    .await;
    assert_eq!(set.status_code, 200, "{:?}", set.body);
    assert_details(&text(&set)["details"]);
    assert!(hashing::verify(NEW_PASSWORD, &app.ada_hash().unwrap()));
}
