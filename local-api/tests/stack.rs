//! The local API serves the Stack Auth dialect (issue 12) as soon as its settings exist, next to
//! the native API, through the same router as every other route (`LocalApi::respond`), and
//! answers 404 on its routes without them.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};

use local_api::options::SeedUser;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

const ADA: &str = "ada@example.com";

async fn api(stack: bool) -> LocalApi {
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        "STACK_PROJECT_ID" if stack => Some("local-project".into()),
        "STACK_PUBLISHABLE_CLIENT_KEYS" if stack => Some("pck_local".into()),
        _ => None,
    })
    .unwrap();
    let options = Options {
        users: vec![SeedUser {
            email: ADA.into(),
            password: "an old passphrase".into(),
        }],
        ..Options::default()
    };
    LocalApi::build(&options, config).await.unwrap()
}

async fn post(api: &LocalApi, path: &str, body: Value) -> (u16, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000")
        .header("x-stack-project-id", "local-project")
        .header("x-stack-publishable-client-key", "pck_local")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let response = api.respond(req, peer).await;
    let status = response.status().as_u16();
    (status, serde_json::from_str(response.body()).unwrap())
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
