//! The local API serves the ProductFlame dialect (issue 12, point 2) as soon as a server key is
//! set, next to the native API, through the same router as every other route
//! (`LocalApi::respond`), and answers 404 on its route without one.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use local_api::options::SeedUser;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

const ADA: &str = "ada@example.com";
const KEY: &str = "sk_local_productflame";

async fn api(with_key: bool) -> LocalApi {
    let digest: String = Sha256::digest(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        "SERVER_KEY_SHA256" if with_key => Some(digest.clone()),
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
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000");
    // The raw key is ProductFlame's; the native routes here are called as the public.
    if path == "/v1/auth/reset-password" {
        req = req.header("authorization", KEY);
    }
    let req = req.body(Bytes::from(body.to_string())).unwrap();
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let response = api.respond(req, peer).await;
    let status = response.status().as_u16();
    (status, serde_json::from_str(response.body()).unwrap())
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
