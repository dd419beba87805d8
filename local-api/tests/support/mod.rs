//! What the local API's dialect tests share: a `LocalApi` with Ada seeded, built from settings,
//! and one JSON POST through its router (`LocalApi::respond`) with the headers a dialect needs.
// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};
use serde_json::Value;
use sha2::{Digest, Sha256};

use local_api::options::SeedUser;
use local_api::{LocalApi, Options};
use shared::config::{Config, Profile};

/// The seeded user's address.
pub const ADA: &str = "ada@example.com";

/// Hex SHA-256, as `SERVER_KEY_SHA256` holds a key.
pub fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The local API with Ada seeded, no response floor, and `vars` over the local profile's
/// defaults.
pub async fn api_with(vars: &[(&str, String)]) -> LocalApi {
    let config = Config::from_lookup(Profile::Local { port: 3000 }, |k| match k {
        "MIN_REQUEST_RESPONSE_MS" => Some("0".into()),
        _ => vars.iter().find(|(v, _)| *v == k).map(|(_, x)| x.clone()),
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

/// POSTs `body` as JSON to `path` with `headers`, from 127.0.0.1: the status and JSON answer.
pub async fn post(
    api: &LocalApi,
    path: &str,
    headers: &[(&str, String)],
    body: &Value,
) -> (u16, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .header("host", "127.0.0.1:3000");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let req = req.body(Bytes::from(body.to_string())).unwrap();
    let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let response = api.respond(req, peer).await;
    let status = response.status().as_u16();
    (status, serde_json::from_str(response.body()).unwrap())
}
