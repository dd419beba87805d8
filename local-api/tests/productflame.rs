//! The local API serves the ProductFlame dialect (issue 12, point 2) as soon as a server key is
//! set, next to the native API, through the same router as every other route
//! (`LocalApi::respond`), and answers 404 on its route without one.

mod support;

use serde_json::{Value, json};

use local_api::LocalApi;
use support::ADA;

const KEY: &str = "sk_local_productflame";

async fn api(with_key: bool) -> LocalApi {
    let vars = [("SERVER_KEY_SHA256", support::sha256_hex(KEY))];
    support::api_with(if with_key { &vars } else { &[] }).await
}

/// The raw key is ProductFlame's; the native routes here are called as the public.
async fn post(api: &LocalApi, path: &str, body: Value) -> (u16, Value) {
    let key = [("authorization", KEY.to_owned())];
    let headers: &[(&str, String)] = if path == "/v1/auth/reset-password" {
        &key
    } else {
        &[]
    };
    support::post(api, path, headers, &body).await
}

#[tokio::test]
async fn the_local_api_serves_the_productflame_reset_when_a_server_key_is_set() {
    let api = api(true).await;
    let (status, body) = post(
        &api,
        "/v1/auth/reset-password",
        json!({"email": ADA, "maxRequests": 3, "preventEmailSending": false}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let activation = body["activation"]
        .as_str()
        .expect("an activation")
        .to_owned();
    let link = api.mailbox().pop().expect("one mail").link.expect("a link");
    assert!(
        link.ends_with(&format!("code={activation}")),
        "the mailed code is the activation: {link}"
    );
    let (status, body) = post(
        &api,
        "/v1/auth/reset-password",
        json!({"email": "nobody@example.com"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"message": "ok"})));
    let (status, body) = post(
        &api,
        "/password-reset/consume",
        json!({"code": activation, "password": "a brand new passphrase"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ok": true})));
}

#[tokio::test]
async fn without_a_server_key_the_local_api_answers_404_on_the_productflame_route() {
    let api = api(false).await;
    let (status, body) = post(&api, "/v1/auth/reset-password", json!({"email": ADA})).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
}
