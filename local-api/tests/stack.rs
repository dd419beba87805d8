//! The local API serves the Stack Auth dialect (issue 12) as soon as its settings exist, next to
//! the native API, through the same router as every other route (`LocalApi::respond`), and
//! answers 404 on its routes without them.

mod support;

use serde_json::{Value, json};

use local_api::LocalApi;
use support::ADA;

async fn api(stack: bool) -> LocalApi {
    let vars = [
        ("STACK_PROJECT_ID", "local-project".to_owned()),
        ("STACK_PUBLISHABLE_CLIENT_KEYS", "pck_local".to_owned()),
    ];
    support::api_with(if stack { &vars } else { &[] }).await
}

async fn post(api: &LocalApi, path: &str, body: Value) -> (u16, Value) {
    let headers = [
        ("x-stack-project-id", "local-project".to_owned()),
        ("x-stack-publishable-client-key", "pck_local".to_owned()),
    ];
    support::post(api, path, &headers, &body).await
}

#[tokio::test]
async fn the_local_api_serves_the_whole_stack_reset_when_its_settings_exist() {
    let api = api(true).await;
    let (status, body) = post(
        &api,
        "/api/v1/auth/password/send-reset-code",
        json!({"email": ADA, "callback_url": "http://127.0.0.1:3000/reset"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["success"].is_string());
    let link = api.mailbox().pop().expect("one mail").link.expect("a link");
    let code = link
        .strip_prefix("http://127.0.0.1:3000/reset?code=")
        .expect("the callback with code appended")
        .to_owned();
    let (_, body) = post(
        &api,
        "/api/v1/auth/password/reset/check-code",
        json!({"code": code}),
    )
    .await;
    assert_eq!(body, json!({"is_valid": true}));
    let (status, body) = post(
        &api,
        "/api/v1/auth/password/reset",
        json!({"code": code, "password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
    // The native API is served too.
    let (status, _) = post(&api, "/password-reset/check", json!({"code": code})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn without_stack_settings_the_local_api_answers_404_on_the_stack_routes() {
    let api = api(false).await;
    let (status, body) = post(
        &api,
        "/api/v1/auth/password/reset/check-code",
        json!({"code": "x"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
}
