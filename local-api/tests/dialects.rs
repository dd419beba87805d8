//! The local API serves the Supabase-style and Zitadel v2 dialects (issue 12) through the same
//! router as every other route (`LocalApi::respond`): Supabase-style always (its reset page is
//! the local one), Zitadel as soon as a server key is set; the whole reset through each, ending
//! with a sign-in on the dev sign-in route.

mod support;

use serde_json::{Value, json};

use local_api::LocalApi;
use support::ADA;

const SERVER_KEY: &str = "local-dialects-server-key";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn api(server_key: bool) -> LocalApi {
    let vars = [("SERVER_KEY_SHA256", support::sha256_hex(SERVER_KEY))];
    support::api_with(if server_key { &vars } else { &[] }).await
}

async fn post(api: &LocalApi, path: &str, body: Value, bearer: bool) -> (u16, Value) {
    let key = [("authorization", format!("Bearer {SERVER_KEY}"))];
    support::post(api, path, if bearer { &key } else { &[] }, &body).await
}

async fn signs_in(api: &LocalApi, password: &str) -> bool {
    let body = json!({"email": ADA, "password": password});
    post(api, "/_dev/sign-in", body, false).await.0 == 200
}

#[tokio::test]
async fn the_local_api_serves_the_supabase_route_and_its_link_finishes_on_the_reset_page_routes() {
    let api = api(false).await;
    let body = json!({"email": ADA, "callback_origin": "http://localhost:3000"});
    let (status, answer) = post(&api, "/auth/send-password-reset", body, false).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true);
    let link = api.mailbox().pop().expect("one mail").link.expect("a link");
    let code = link
        .strip_prefix("http://localhost:3000/reset?code=")
        .unwrap_or_else(|| panic!("the local reset page on the asked origin: {link}"))
        .to_owned();
    let body = json!({"code": code, "password": NEW_PASSWORD});
    let (status, _) = post(&api, "/password-reset/consume", body, false).await;
    assert_eq!(status, 200);
    assert!(signs_in(&api, NEW_PASSWORD).await);
}

#[tokio::test]
async fn the_local_api_serves_the_whole_zitadel_reset_with_a_server_key() {
    let api = api(true).await;
    // The seeded user's id, as the app's backend knows it (the native server answer names it).
    let body = json!({"email": ADA, "return_code": true, "send_email": false});
    let (_, native) = post(&api, "/password-reset/request", body, true).await;
    let user = native["user_id"].as_str().expect("the user id").to_owned();

    let (status, answer) = post(
        &api,
        &format!("/v2/users/{user}/password_reset"),
        json!({"returnCode": {}}),
        true,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["verificationCode"].as_str().unwrap().to_owned();
    assert!(api.mailbox().is_empty(), "returnCode mails nothing");
    let body = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let (status, answer) = post(&api, &format!("/v2/users/{user}/password"), body, true).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["details"]["changeDate"].is_string());
    assert!(signs_in(&api, NEW_PASSWORD).await);
}

#[tokio::test]
async fn without_a_server_key_the_local_api_answers_404_on_the_zitadel_routes() {
    let api = api(false).await;
    let (status, body) = post(
        &api,
        "/v2/users/anyone/password_reset",
        json!({"returnCode": {}}),
        true,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
}
