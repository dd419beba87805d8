//! The local API serves the Supabase-style and Zitadel v2 dialects (issue 12) through the same
//! router as every other route (`LocalApi::respond`): Supabase-style always (its reset page is
//! the local one), Zitadel as soon as a server key is set; the whole reset through each, ending
//! with a sign-in on the dev sign-in route.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use local_api::options::SeedUser;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

const ADA: &str = "ada@example.com";
const SERVER_KEY: &str = "local-dialects-server-key";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn api(server_key: bool) -> LocalApi {
    let digest: String = Sha256::digest(SERVER_KEY)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        "SERVER_KEY_SHA256" if server_key => Some(digest.clone()),
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

async fn post(api: &LocalApi, path: &str, body: Value, bearer: bool) -> (u16, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000");
    if bearer {
        req = req.header("authorization", format!("Bearer {SERVER_KEY}"));
    }
    let req = req.body(Bytes::from(body.to_string())).unwrap();
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let response = api.respond(req, peer).await;
    let status = response.status().as_u16();
    (status, serde_json::from_str(response.body()).unwrap())
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
